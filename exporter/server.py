"""The HTTP side: landing page, /metrics (text or OpenMetrics, gzip on request), /-/healthy.

With `--web.config.file` the same server does TLS, basic auth and extra headers
(`exporter.webconfig`). TLS is negotiated per connection, not by the listening socket: each
accepted TCP connection is upgraded with `loop.start_tls()` using the context of the web config
current at that moment, so a SIGHUP reload swaps certificates and client-auth settings for new
handshakes without closing the listener. Every handshake is an independent coroutine with a
timeout, so a client that connects and never speaks stalls nobody else (prometheus-client's
threaded TLS server handshakes in its accept loop, where one idle client blocks everybody).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import html
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from exporter import __version__
from exporter.scrape import Scraper
from exporter.webconfig import RateLimit, WebConfig, parse_basic_auth

LOG = logging.getLogger("fctarget_exporter.server")

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

# A client gets this long to complete its TLS handshake; then the connection is dropped.
TLS_HANDSHAKE_TIMEOUT = 10.0

SCRAPER_KEY: web.AppKey[Scraper] = web.AppKey("scraper", Scraper)

# Checked against when the user name is unknown, so that a wrong user name costs as much time as
# a wrong password and does not reveal which users exist.
_DUMMY_HASH = b"$2b$10$wBwQmQS1wto1jO7uJI0rN.8LO3ql512zs8oOIvMiL3A37v/qtCoV2"


def wants_openmetrics(accept: str) -> bool:
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media == "application/openmetrics-text":
            return True
    return False


def wants_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if pieces[0].lower() != "gzip":
            continue
        for param in pieces[1:]:
            if param.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
                return False
        return True
    return False


def landing_page(telemetry_path: str, collectors: list[str]) -> str:
    items = "".join(f"<li>{html.escape(c)}</li>" for c in collectors)
    path = html.escape(telemetry_path)
    return (
        "<!DOCTYPE html><html><head><title>fctarget-exporter</title></head><body>"
        "<h1>fctarget-exporter</h1>"
        "<p>Prometheus exporter for LIO SCSI targets on QLogic qla2xxx Fibre Channel HBAs.</p>"
        f"<p>Version {html.escape(__version__)}</p>"
        f'<p><a href="{path}">Metrics</a> &middot; <a href="/-/healthy">Health</a></p>'
        f"<h2>Enabled collectors</h2><ul>{items}</ul></body></html>"
    )


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bool(bcrypt.checkpw(password, hashed))
    except ValueError:  # e.g. a password over bcrypt's 72-byte limit
        return False


class BasicAuthChecker:
    """bcrypt checks off the event loop, with successful checks cached.

    bcrypt at cost 10 takes ~50-70 ms of CPU: paying it on every scrape would dominate the
    exporter's own cost, so (like exporter-toolkit) a success is remembered, keyed by a digest of
    user, hash and password (the password itself is never stored). Failures are not cached.
    The checks run in their own two threads so a flood of bad passwords cannot take the worker
    threads the collectors need.
    """

    CACHE_SIZE = 256

    def __init__(self) -> None:
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bcrypt")
        self.bcrypt_calls = 0

    def clear(self) -> None:
        self._ok.clear()

    async def check(self, users: Mapping[str, bytes], user: str, password: str) -> bool:
        hashed = users.get(user)
        key = hashlib.sha256(b"\0".join((user.encode(), hashed or b"", password.encode()))).digest()
        if hashed is not None and key in self._ok:
            self._ok.move_to_end(key)
            return True
        self.bcrypt_calls += 1
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(
            self._pool, _checkpw, password.encode(), hashed if hashed is not None else _DUMMY_HASH
        )
        if not ok or hashed is None:
            return False
        self._ok[key] = None
        while len(self._ok) > self.CACHE_SIZE:
            self._ok.popitem(last=False)
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _TokenBucket:
    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        rate = 1.0 / self.limit.interval
        self._tokens = min(float(self.limit.burst), self._tokens + (now - self._at) * rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class WebState:
    """The web config in force; `replace()` swaps it atomically (all on the event loop)."""

    def __init__(self, config: WebConfig | None = None) -> None:
        self.config = config or WebConfig()
        self.auth = BasicAuthChecker()
        self._bucket = _TokenBucket(self.config.rate_limit) if self.config.rate_limit else None

    def replace(self, config: WebConfig) -> None:
        self.config = config
        self.auth.clear()
        if config.rate_limit is None:
            self._bucket = None
        elif self._bucket is None or self._bucket.limit != config.rate_limit:
            self._bucket = _TokenBucket(config.rate_limit)

    def allow_request(self) -> bool:
        return self._bucket is None or self._bucket.take()


WEB_STATE_KEY: web.AppKey[WebState] = web.AppKey("web_state", WebState)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(
    scraper: Scraper, telemetry_path: str = "/metrics", state: WebState | None = None
) -> web.Application:
    state = state or WebState()

    @web.middleware
    async def guard(request: web.Request, handler: _Handler) -> web.StreamResponse:
        cfg = state.config
        if not state.allow_request():
            return web.Response(status=429, text="Too Many Requests\n")
        if cfg.users and request.path not in cfg.auth_excluded_paths:
            creds = parse_basic_auth(request.headers.get("Authorization", ""))
            if creds is None or not await state.auth.check(cfg.users, *creds):
                return web.Response(
                    status=401,
                    text="Unauthorized\n",
                    headers={"WWW-Authenticate": 'Basic realm="fctarget-exporter"'},
                )
        return await handler(request)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in state.config.headers.items():
            response.headers[name] = value

    app = web.Application(middlewares=[guard])
    app.on_response_prepare.append(add_headers)
    app[SCRAPER_KEY] = scraper
    app[WEB_STATE_KEY] = state
    names = [c.name for c in scraper.collectors]

    async def metrics(request: web.Request) -> web.StreamResponse:
        om = wants_openmetrics(request.headers.get("Accept", ""))
        body = await scraper.render(openmetrics=om)
        headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if om else TEXT_CONTENT_TYPE}
        if wants_gzip(request.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept, Accept-Encoding"
        return web.Response(body=body, headers=headers)

    async def index(request: web.Request) -> web.StreamResponse:
        return web.Response(text=landing_page(telemetry_path, names), content_type="text/html")

    async def healthy(request: web.Request) -> web.StreamResponse:
        return web.Response(text="Healthy\n")

    app.router.add_get(telemetry_path, metrics)
    app.router.add_get("/-/healthy", healthy)
    if telemetry_path != "/":
        app.router.add_get("/", index)
    return app


def _san_matches(peercert: object, allowed: frozenset[str]) -> bool:
    """Go's client_allowed_sans: one of the certificate's DNS/IP/email/URI SANs is listed."""
    if not isinstance(peercert, dict):
        return False
    wanted = {_canonical_ip(a) or a for a in allowed}
    for kind, raw in peercert.get("subjectAltName", ()):
        value = (_canonical_ip(raw) or raw) if kind == "IP Address" else raw
        if kind in ("DNS", "IP Address", "email", "URI") and value in wanted:
            return True
    return False


def _canonical_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


class _Gate(asyncio.Protocol):
    """Holds what TLS decrypts between the end of the handshake and the hand-over to aiohttp.

    asyncio's start_tls() starts reading application data as soon as the handshake completes,
    before its caller can attach the real protocol; a client that sends its request in the same
    flight as its Finished message would otherwise lose it.
    """

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.eof = False
        self.lost: tuple[BaseException | None] | None = None

    def data_received(self, data: bytes) -> None:
        self.data.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        return True

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = (exc,)


class _Acceptor(asyncio.Protocol):
    def __init__(self, site: ReloadableSite) -> None:
        self._site = site

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        # Nothing may be read before the connection has its real protocol (TLS or aiohttp).
        transport.pause_reading()
        self._site.hand_over(transport)


class ReloadableSite(web.BaseSite):
    """A TCP site whose TLS settings come from `state` at each new connection."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        state: WebState,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._state = state
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        scheme = "https" if self._state.config.tls is not None else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Acceptor(self),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )

    async def stop(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await super().stop()

    def _new_handler(self) -> RequestHandler:
        server = self._runner.server
        assert server is not None
        return server()

    def hand_over(self, transport: asyncio.Transport) -> None:
        cfg = self._state.config
        if cfg.tls is None:
            handler = self._new_handler()
            transport.set_protocol(handler)
            handler.connection_made(transport)
            transport.resume_reading()
            return
        task = asyncio.ensure_future(self._handshake(transport, cfg))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _handshake(self, transport: asyncio.Transport, cfg: WebConfig) -> None:
        assert cfg.tls is not None
        loop = asyncio.get_running_loop()
        gate = _Gate()
        try:
            tls_transport = await loop.start_tls(
                transport,
                gate,
                cfg.tls,
                server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        except asyncio.CancelledError:
            transport.abort()
            raise
        except Exception as exc:  # noqa: BLE001 - one client's failure must not escape the task
            # Plain HTTP on the TLS port, a client that gave up, a rejected client certificate:
            # the client's problem, worth a debug line at most.
            LOG.debug(
                "TLS handshake failed", extra={"fields": {"err": str(exc) or type(exc).__name__}}
            )
            transport.abort()
            return
        if tls_transport is None:
            transport.abort()
            return
        if cfg.client_allowed_sans and not _san_matches(
            tls_transport.get_extra_info("peercert"), cfg.client_allowed_sans
        ):
            LOG.debug("client certificate has no allowed SAN; closing")
            tls_transport.abort()
            return
        handler = self._new_handler()
        tls_transport.set_protocol(handler)
        handler.connection_made(tls_transport)
        for chunk in gate.data:
            handler.data_received(chunk)
        if gate.lost is not None:
            handler.connection_lost(gate.lost[0])
        elif gate.eof:
            with contextlib.suppress(Exception):
                handler.eof_received()
