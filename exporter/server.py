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
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import gzip
import hashlib
import heapq
import html
import ipaddress
import itertools
import logging
import math
import resource
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bcrypt
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from aiohttp.web_server import Server

from exporter import __version__
from exporter.logsetup import RateLimitedLog, one_line
from exporter.scrape import Scraper
from exporter.webconfig import RateLimit, WebConfig, dummy_hash, parse_basic_auth
from exporter.weblimits import WebLimits

LOG = logging.getLogger("fctarget_exporter.server")

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

# A client gets this long to complete its TLS handshake; then the connection is dropped.
TLS_HANDSHAKE_TIMEOUT = 10.0
# A TLS connection closed gracefully (idle timeout) waits this long for the client's
# close_notify, keeping its descriptor meanwhile (asyncio's default is 30 s).
TLS_SHUTDOWN_TIMEOUT = 2.0

# Listen backlog: also how many connections asyncio accepts in one go, before any of them can be
# closed, so that many descriptors are kept free beyond the connection limit.
BACKLOG = 128
# Descriptors kept for everything but connections: collectors' files, /dev/kmsg, the udev
# netlink socket, the listening sockets, Python itself.
RESERVED_FDS = 64
MIN_CONNECTIONS = 16
MAX_CONNECTIONS = 1024

# Web errors (client garbage, resource exhaustion) are logged once per key per this interval.
WEB_LOG_INTERVAL = 60.0


def connection_limit(listeners: int = 1, backlog: int = BACKLOG, nofile: int | None = None) -> int:
    """How many connections fit in RLIMIT_NOFILE (or `nofile`): each listener may accept
    `backlog` at once before any can be closed, and RESERVED_FDS stay for the rest."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0] if nofile is None else nofile
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, soft - listeners * backlog - RESERVED_FDS))


SCRAPER_KEY: web.AppKey[Scraper] = web.AppKey("scraper", Scraper)


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


class AuthResult(enum.Enum):
    OK = "ok"
    DENIED = "denied"  # 401
    THROTTLED = "throttled"  # 429: too many failures from this client, not checked


def client_key(remote: str | None) -> str:
    """Whom failed logins are counted against: the client's IPv4 address, or its IPv6 /64
    (one host usually holds a whole /64)."""
    try:
        addr = ipaddress.ip_address(remote or "")
    except ValueError:
        return remote or ""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


class _Client:
    """One client's failed logins (a token bucket) and its bcrypt check in flight."""

    __slots__ = ("at", "check", "tokens", "waiting")

    def __init__(self, burst: float) -> None:
        self.tokens = burst
        self.at = time.monotonic()
        self.check: asyncio.Future[bool] | None = None
        self.waiting = 0

    def budget(self, burst: float, refill: float) -> float:
        now = time.monotonic()
        self.tokens = min(burst, self.tokens + (now - self.at) / refill)
        self.at = now
        return self.tokens


class BasicAuthChecker:
    """bcrypt checks off the event loop, with successful checks cached, failures bounded per
    client.

    bcrypt at cost 10 takes ~50-70 ms of CPU: paying it on every scrape would dominate the
    exporter's own cost, so (like exporter-toolkit) a success is remembered, keyed by a digest of
    user, hash and password (the password itself is never stored). Failures are not cached.
    The checks run in their own two threads so a flood of bad passwords cannot take the worker
    threads the collectors need.

    A cached success is answered at once, whatever the client did before. Otherwise each client
    (`client_key`) has at most one bcrypt check in flight (a few more requests may wait for it,
    any beyond are throttled) and a budget of FAILED_LOGIN_BURST failures, regained at one per
    FAILED_LOGIN_REFILL seconds; once spent, its requests are throttled without hashing. So a
    flood from a few addresses keeps at most one check each in the queue, and a real login from
    elsewhere waits for those at most.
    """

    CACHE_SIZE = 256
    FAILED_LOGIN_BURST = 10
    FAILED_LOGIN_REFILL = 6.0  # seconds per failed login regained: 10 a minute
    MAX_WAITING_PER_CLIENT = 2
    MAX_CLIENTS = 4096

    THREADS = 2

    def __init__(self) -> None:
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=self.THREADS, thread_name_prefix="bcrypt")
        # Checks waiting for a thread, clients with the fewest recent failures first:
        # (failures, arrival, future set when the check may start).
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._running = 0
        self.bcrypt_calls = 0

    def clear(self) -> None:
        self._ok.clear()

    def _client(self, key: str) -> _Client:
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = _Client(self.FAILED_LOGIN_BURST)
            while len(self._clients) > self.MAX_CLIENTS:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(key)
        return client

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again (for a 429's Retry-After)."""
        state = self._clients.get(client)
        if state is None:
            return 1
        missing = 1.0 - state.budget(self.FAILED_LOGIN_BURST, self.FAILED_LOGIN_REFILL)
        return max(1, math.ceil(missing * self.FAILED_LOGIN_REFILL))

    async def check(
        self, users: Mapping[str, bytes], user: str, password: str, dummy: bytes = b""
    ) -> bool:
        return await self.verify(users, user, password, dummy) is AuthResult.OK

    async def verify(
        self,
        users: Mapping[str, bytes],
        user: str,
        password: str,
        dummy: bytes = b"",
        client: str = "",
    ) -> AuthResult:
        """`dummy` (WebConfig.dummy_hash) is checked when `user` is unknown, so that it takes
        as long as a wrong password; made from `users` if not given. `client` is the
        client_key() failures are counted against."""
        hashed = users.get(user)
        key = hashlib.sha256(b"\0".join((user.encode(), hashed or b"", password.encode()))).digest()
        if hashed is not None and key in self._ok:
            self._ok.move_to_end(key)
            return AuthResult.OK
        state = self._client(client)
        burst, refill = self.FAILED_LOGIN_BURST, self.FAILED_LOGIN_REFILL
        # One check per client at a time: wait for the one in flight (it may be this same
        # login, now cached), then look again.
        while state.check is not None and not state.check.done():
            if state.waiting >= self.MAX_WAITING_PER_CLIENT:
                return AuthResult.THROTTLED
            state.waiting += 1
            try:
                await asyncio.wait([state.check])
            finally:
                state.waiting -= 1
            if hashed is not None and key in self._ok:
                return AuthResult.OK
        if state.budget(burst, refill) < 1.0:
            return AuthResult.THROTTLED
        check = asyncio.ensure_future(
            self._bcrypt(
                password.encode(),
                hashed if hashed is not None else (dummy or dummy_hash(users)),
                failures=math.ceil(burst - state.tokens),  # not yet regained
            )
        )
        state.check = check
        # Shielded: a cancelled request does not end the check, which stays this client's one
        # in flight until it is done.
        ok = await asyncio.shield(check)
        if not ok or hashed is None:
            state.budget(burst, refill)
            state.tokens -= 1.0
            return AuthResult.DENIED
        self._ok[key] = None
        while len(self._ok) > self.CACHE_SIZE:
            self._ok.popitem(last=False)
        return AuthResult.OK

    async def _bcrypt(self, password: bytes, hashed: bytes, failures: int) -> bool:
        """One bcrypt check on a bcrypt thread. When both are busy, checks queue by the number
        of their client's recent failures, then by arrival: a client that has not failed
        waits for the checks running, not for those a flood has queued."""
        if self._running >= self.THREADS or self._queue:
            turn = asyncio.get_running_loop().create_future()
            heapq.heappush(self._queue, (failures, next(self._arrivals), turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._next()  # given a thread just as it was cancelled: pass it on
                raise
        else:
            self._running += 1
        try:
            self.bcrypt_calls += 1
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, _checkpw, password, hashed)
        finally:
            self._next()

    def _next(self) -> None:
        """A thread is free: hand it to the first check queued, or count it free."""
        while self._queue:
            _, _, turn = heapq.heappop(self._queue)
            if not turn.done():
                turn.set_result(None)
                return
        self._running -= 1

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

_HandlerFunc = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(
    scraper: Scraper,
    telemetry_path: str = "/metrics",
    state: WebState | None = None,
    max_requests: int = 0,
) -> web.Application:
    """The application; `max_requests` (0: no limit) caps the scrapes handled at once, more
    are answered 503 at once (node_exporter's --web.max-requests). Like there, it counts
    requests to the telemetry path that passed authentication: failed logins are bounded by
    BasicAuthChecker and cannot take the scrapes' places."""
    state = state or WebState()
    in_flight = 0

    @web.middleware
    async def guard(request: web.Request, handler: _HandlerFunc) -> web.StreamResponse:
        cfg = state.config
        if not state.allow_request():
            return web.Response(status=429, text="Too Many Requests\n")
        if cfg.users and request.path not in cfg.auth_excluded_paths:
            creds = parse_basic_auth(request.headers.get("Authorization", ""))
            client = client_key(request.remote)
            result = AuthResult.DENIED
            if creds is not None:
                result = await state.auth.verify(cfg.users, *creds, cfg.dummy_hash, client)
            if result is AuthResult.THROTTLED:
                return web.Response(
                    status=429,
                    text="Too many failed logins\n",
                    headers={"Retry-After": str(state.auth.retry_after(client))},
                )
            if result is not AuthResult.OK:
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
        nonlocal in_flight
        if max_requests and in_flight >= max_requests:
            return web.Response(
                status=503, text="Too many scrapes in flight\n", headers={"Retry-After": "1"}
            )
        in_flight += 1
        try:
            return await render(request)
        finally:
            in_flight -= 1

    async def render(request: web.Request) -> web.StreamResponse:
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


class _Slot:
    """One open connection's place in `Connections`."""

    __slots__ = ("_pool", "closer", "is_open")

    def __init__(self, pool: Connections, closer: Callable[[], None]) -> None:
        self._pool = pool
        self.closer = closer
        self.is_open = True

    def busy(self) -> None:
        self._pool.busy(self)

    def idle(self) -> None:
        self._pool.idle(self)

    def release(self) -> None:
        self._pool.release(self)

    def evict(self) -> None:
        self._pool.release(self)
        self.closer()


class Connections:
    """Counts the open connections of every listener and knows which are idle (no request being
    handled: a TLS handshake, no request yet, headers still arriving, keep-alive), oldest first."""

    def __init__(self, limit: int, errlog: RateLimitedLog) -> None:
        self.limit = limit
        self.open = 0
        self.evicted = 0
        self.refused = 0
        self._idle: OrderedDict[_Slot, None] = OrderedDict()
        self._errlog = errlog

    def admit(self, closer: Callable[[], None]) -> _Slot | None:
        """A slot for a new connection, or None if it must be refused."""
        if self.limit and self.open >= self.limit:
            if not self._idle:
                self.refused += 1
                self._errlog.warning(
                    "connections-refused",
                    "connection limit reached and every connection is busy: refusing new ones",
                    limit=self.limit,
                )
                return None
            victim = next(iter(self._idle))
            self.evicted += 1
            self._errlog.warning(
                "connections-evicted",
                "connection limit reached: closing the longest-idle connections",
                limit=self.limit,
            )
            victim.evict()
        slot = _Slot(self, closer)
        self.open += 1
        self._idle[slot] = None
        return slot

    def busy(self, slot: _Slot) -> None:
        self._idle.pop(slot, None)

    def idle(self, slot: _Slot) -> None:
        if slot.is_open:
            self._idle[slot] = None
            self._idle.move_to_end(slot)

    def release(self, slot: _Slot) -> None:
        if slot.is_open:
            slot.is_open = False
            self.open -= 1
            self._idle.pop(slot, None)


class _Handler(RequestHandler):
    """aiohttp's request handler with a request-header deadline, its connection slot kept
    current (busy while a request is handled, idle otherwise), and client garbage logged on one
    rate-limited line instead of an error with a traceback per request."""

    def __init__(
        self,
        manager: Server,
        *,
        slot: _Slot,
        read_header_timeout: float,
        errlog: RateLimitedLog,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._slot = slot
        self._read_header_timeout = read_header_timeout
        self._header_deadline: asyncio.TimerHandle | None = None
        self._in_request = False
        self._errlog = errlog

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._slot.closer = self.abort
        # The first request's headers are due from the start (or the end of the TLS handshake).
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        # The first byte of a new request starts its header deadline.
        if data and not self._in_request and self._header_deadline is None:
            self._arm_header_deadline()
        super().data_received(data)

    async def _handle_request(
        self,
        request: BaseRequest,
        start_time: float | None,
        request_handler: Callable[[BaseRequest], Awaitable[StreamResponse]],
    ) -> tuple[StreamResponse, bool]:
        self._in_request = True
        self._disarm_header_deadline()
        self._slot.busy()
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            self._in_request = False
            self._slot.idle()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_header_deadline()
        self._slot.release()
        super().connection_lost(exc)

    def abort(self) -> None:
        """Closes the connection at once: no TLS close_notify exchange, which would keep the
        descriptor until the client answers (up to TLS_SHUTDOWN_TIMEOUT)."""
        if self.transport is not None:
            self.transport.abort()
        self.force_close()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = asyncio.get_running_loop().call_later(
            self._read_header_timeout, self._header_deadline_passed
        )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if not self._in_request:
            LOG.debug("request headers not complete in time; closing the connection")
            self.abort()

    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc_info = kw.get("exc_info")
        exc = exc_info if isinstance(exc_info, BaseException) else None
        # aiohttp calls this as ("Error handling request from %s", remote, exc_info=exc) for
        # requests it cannot parse, and with other messages for errors of its own or ours.
        client = str(args[1]) if len(args) > 1 else ""
        if isinstance(exc, HttpProcessingError):
            self._errlog.warning(
                f"bad-request:{type(exc).__name__}",
                "malformed HTTP request",
                client=client,
                err=one_line(exc),
            )
            return
        message = str(args[0]) if args else "error"
        self._errlog.error(
            f"handler:{message}:{type(exc).__name__}",
            "error handling a request",
            detail=message,
            err=one_line(exc),
        )


def loop_exception_handler(
    errlog: RateLimitedLog,
) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """For loop.set_exception_handler: asyncio's errors (e.g. "socket.accept() out of system
    resource", raised on every accept attempt at the descriptor limit) on one rate-limited line
    each instead of a traceback per occurrence."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "unhandled error in the event loop")
        first = message.splitlines()[0] if message else message
        exc = context.get("exception")
        err = one_line(exc) if isinstance(exc, BaseException) else ""
        errlog.error(f"loop:{first}:{type(exc).__name__}", f"event loop: {first}", err=err)

    return handle


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
        *,
        backlog: int = BACKLOG,
        limits: WebLimits | None = None,
        connections: Connections | None = None,
        errlog: RateLimitedLog | None = None,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._state = state
        self._pending: set[asyncio.Task[None]] = set()
        self._limits = limits or WebLimits()
        self._errlog = errlog or RateLimitedLog(LOG, WEB_LOG_INTERVAL)
        self._connections = connections or Connections(connection_limit(1, backlog), self._errlog)

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

    def _new_handler(self, slot: _Slot) -> RequestHandler:
        server = self._runner.server
        assert server is not None
        return _Handler(
            server,
            slot=slot,
            read_header_timeout=self._limits.read_header_timeout,
            errlog=self._errlog,
            loop=asyncio.get_running_loop(),
            keepalive_timeout=self._limits.idle_timeout,
            access_log=None,
        )

    def hand_over(self, transport: asyncio.Transport) -> None:
        slot = self._connections.admit(transport.abort)
        if slot is None:
            transport.abort()
            return
        cfg = self._state.config
        if cfg.tls is None:
            handler = self._new_handler(slot)
            transport.set_protocol(handler)
            handler.connection_made(transport)
            transport.resume_reading()
            return
        task = asyncio.ensure_future(self._handshake(transport, cfg, slot))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

        def close() -> None:
            # abort() as well: a task cancelled before its first step never runs its handlers
            task.cancel()
            transport.abort()

        slot.closer = close

    async def _handshake(self, transport: asyncio.Transport, cfg: WebConfig, slot: _Slot) -> None:
        handed_over = False
        try:
            handed_over = await self._tls_hand_over(transport, cfg, slot)
        finally:
            if not handed_over:  # once aiohttp has it, its connection_lost releases the slot
                slot.release()

    async def _tls_hand_over(
        self, transport: asyncio.Transport, cfg: WebConfig, slot: _Slot
    ) -> bool:
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
                ssl_shutdown_timeout=TLS_SHUTDOWN_TIMEOUT,
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
            return False
        if tls_transport is None:
            transport.abort()
            return False
        if cfg.client_allowed_sans and not _san_matches(
            tls_transport.get_extra_info("peercert"), cfg.client_allowed_sans
        ):
            LOG.debug("client certificate has no allowed SAN; closing")
            tls_transport.abort()
            return False
        handler = self._new_handler(slot)
        tls_transport.set_protocol(handler)
        handler.connection_made(tls_transport)
        for chunk in gate.data:
            handler.data_received(chunk)
        if gate.lost is not None:
            handler.connection_lost(gate.lost[0])
        elif gate.eof:
            with contextlib.suppress(Exception):
                handler.eof_received()
        return True
