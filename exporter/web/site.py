"""The listener: a TCP site whose connections are admitted to the connection table, then
upgraded to TLS one by one (each handshake a task of its own, under a timeout) with the context
of the web config current when they arrive, and handed to aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from exporter.logsetup import RateLimitedLog, one_line
from exporter.web.connections import BACKLOG, Connections, Slot, connection_limit
from exporter.web.state import WebState
from exporter.webconfig import WebConfig

# The web server's modules log under one name.
LOG = logging.getLogger("fctarget_exporter.server")

# A client gets this long to complete its TLS handshake; then the connection is dropped.
TLS_HANDSHAKE_TIMEOUT = 10.0
# A TLS connection closed gracefully (idle timeout) waits this long for the client's
# close_notify, keeping its descriptor meanwhile (asyncio's default is 30 s).
TLS_SHUTDOWN_TIMEOUT = 2.0

# Web errors (client garbage, resource exhaustion) are logged once per key per this interval.
WEB_LOG_INTERVAL = 60.0


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
    """A TCP site whose TLS settings come from `state` at each new connection. Its connections
    count in `connections` (shared by every listener; one of its own if not given), whose
    limits and error log apply to them."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        state: WebState,
        *,
        connections: Connections | None = None,
    ) -> None:
        super().__init__(runner, backlog=BACKLOG)
        self._host = host
        self._port = port
        self._state = state
        self._pending: set[asyncio.Task[None]] = set()
        if connections is None:
            errlog = RateLimitedLog(LOG, WEB_LOG_INTERVAL)
            connections = Connections(connection_limit(1, BACKLOG), errlog)
        self._connections = connections

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

    def _new_handler(self, slot: Slot) -> RequestHandler:
        server = self._runner.server
        assert server is not None
        return self._connections.handler(server, slot)

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

    async def _handshake(self, transport: asyncio.Transport, cfg: WebConfig, slot: Slot) -> None:
        handed_over = False
        try:
            handed_over = await self._tls_hand_over(transport, cfg, slot)
        finally:
            if not handed_over:  # once aiohttp has it, its connection_lost releases the slot
                slot.release()

    async def _tls_hand_over(
        self, transport: asyncio.Transport, cfg: WebConfig, slot: Slot
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
