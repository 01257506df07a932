"""The connection table: every open connection of every listener, which of them are idle,
the longest-idle one closed for a new one at the limit (derived from RLIMIT_NOFILE); and the
aiohttp request handler that keeps its connection's place current and closes a connection
whose request headers are not complete in time."""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from aiohttp.web_server import Server

from exporter.logsetup import RateLimitedLog, one_line
from exporter.web.limits import WebLimits

# The web server's modules log under one name.
LOG = logging.getLogger("fctarget_exporter.server")

# Listen backlog: also how many connections asyncio accepts in one go, before any of them can be
# closed, so that many descriptors are kept free beyond the connection limit.
BACKLOG = 128
# Descriptors kept for everything but connections: collectors' files, /dev/kmsg, the udev
# netlink socket, the listening sockets, Python itself.
RESERVED_FDS = 64
MIN_CONNECTIONS = 16
MAX_CONNECTIONS = 1024


def connection_limit(listeners: int = 1, backlog: int = BACKLOG, nofile: int | None = None) -> int:
    """How many connections fit in RLIMIT_NOFILE (or `nofile`): each listener may accept
    `backlog` at once before any can be closed, and RESERVED_FDS stay for the rest."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0] if nofile is None else nofile
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, soft - listeners * backlog - RESERVED_FDS))


class Slot:
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
    handled: a TLS handshake, no request yet, headers still arriving, keep-alive), oldest first.
    Their request handlers (`handler()`) apply the idle and header timeouts of `limits`, and
    log client garbage to `errlog`."""

    def __init__(self, limit: int, errlog: RateLimitedLog, limits: WebLimits | None = None) -> None:
        self.limit = limit
        self.limits = limits or WebLimits()
        self.errlog = errlog
        self.open = 0
        self.evicted = 0
        self.refused = 0
        self._idle: OrderedDict[Slot, None] = OrderedDict()

    def admit(self, closer: Callable[[], None]) -> Slot | None:
        """A slot for a new connection, or None if it must be refused."""
        if self.limit and self.open >= self.limit:
            if not self._idle:
                self.refused += 1
                self.errlog.warning(
                    "connections-refused",
                    "connection limit reached and every connection is busy: refusing new ones",
                    limit=self.limit,
                )
                return None
            victim = next(iter(self._idle))
            self.evicted += 1
            self.errlog.warning(
                "connections-evicted",
                "connection limit reached: closing the longest-idle connections",
                limit=self.limit,
            )
            victim.evict()
        slot = Slot(self, closer)
        self.open += 1
        self._idle[slot] = None
        return slot

    def handler(self, server: Server, slot: Slot) -> RequestHandler:
        """aiohttp's protocol for the connection holding `slot`."""
        return _Handler(
            server,
            slot=slot,
            read_header_timeout=self.limits.read_header_timeout,
            errlog=self.errlog,
            loop=asyncio.get_running_loop(),
            keepalive_timeout=self.limits.idle_timeout,
            access_log=None,
        )

    def busy(self, slot: Slot) -> None:
        self._idle.pop(slot, None)

    def idle(self, slot: Slot) -> None:
        if slot.is_open:
            self._idle[slot] = None
            self._idle.move_to_end(slot)

    def release(self, slot: Slot) -> None:
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
        slot: Slot,
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
        descriptor until the client answers (up to site.TLS_SHUTDOWN_TIMEOUT)."""
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
