"""The HTTP side: landing page, /metrics (text or OpenMetrics, gzip on request), /-/healthy.

With `--web.config.file` the same server does TLS, basic auth and extra headers
(`exporter.webconfig`). TLS is negotiated per connection, not by the listening socket: each
accepted TCP connection is upgraded with `loop.start_tls()` using the context of the web config
current at that moment, so a SIGHUP reload swaps certificates and client-auth settings for new
handshakes without closing the listener. Every handshake is an independent coroutine with a
timeout, so a client that connects and never speaks stalls nobody else (prometheus-client's
threaded TLS server handshakes in its accept loop, where one idle client blocks everybody).

Connections are bounded so that idle or slow clients cannot take the file descriptors real
scrapes need: a connection must complete its request headers within `read_header_timeout`, an
idle keep-alive connection is closed after `idle_timeout`, and at most `max_connections` are
open at once (derived from RLIMIT_NOFILE). A new connection over that number closes the
longest-idle one (an idle keep-alive connection may be closed by the server at any time; the
client simply reconnects); only when every connection is busy with a request is the new one
refused. Scrapes in flight are capped separately (`max_requests`, answered 503 at once).

The modules: `app` (routes, /metrics, content negotiation, the access guard), `state` (the web
config in force, the rate limit), `auth` (basic auth: bcrypt off the loop, failed-login budgets),
`site` (the listener and the per-connection TLS upgrade), `connections` (the connection table,
eviction, the header deadline), `limits` and `flags` (the --web.* flags and their defaults).
This package itself imports nothing: the flag parser loads `limits` and `flags` without aiohttp.
"""
