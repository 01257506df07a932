"""Basic auth: bcrypt checks off the event loop in a pool of their own, successes cached,
failed logins bounded per client (a token bucket each, one check in flight), unknown users
checked against a dummy hash at the configured cost."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import heapq
import ipaddress
import itertools
import math
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import bcrypt

from exporter.webconfig import dummy_hash


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
