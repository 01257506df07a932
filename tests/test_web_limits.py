"""The web server under abuse, with the real exporter on 127.0.0.1: more idle and slow clients
than it has file descriptors, garbage requests, failed-login floods. Every loop is bounded in
count and time; the numbers measured are printed (pytest -s shows them)."""

from __future__ import annotations

import asyncio
import http.client
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from exporter.logsetup import LibraryLogFilter, RateLimitedLog
from exporter.scrape import Scraper
from exporter.web import auth
from exporter.web.app import build_app
from exporter.web.auth import AuthResult, BasicAuthChecker, client_key
from exporter.web.connections import (
    BACKLOG,
    MAX_CONNECTIONS,
    MIN_CONNECTIONS,
    RESERVED_FDS,
    Connections,
    connection_limit,
)
from exporter.web.site import ReloadableSite, loop_exception_handler
from exporter.web.state import WebState
from tests.test_web_certs import (
    Exporter,
    TestCA,
    basic,
    bcrypt_hash,
    client_context,
    free_port,
    https_get,
    running_exporter,
    write,
)

NOFILE = 256  # the exporter's RLIMIT_NOFILE in the resource test
IDLE_CLIENTS = 300  # more than it has descriptors
SLOW_CLIENTS = 5


def timed_get(
    port: int,
    path: str = "/metrics",
    headers: dict[str, str] | None = None,
    timeout: float = 2.0,
    source: str = "127.0.0.1",
) -> tuple[int, float]:
    """(status, seconds) of one plain-HTTP GET on a new connection; status 0 if it failed."""
    start = time.monotonic()
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
    )
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.monotonic() - start
    except OSError:
        return 0, time.monotonic() - start
    finally:
        conn.close()


def new_log_lines(exp: Exporter, before: int) -> list[str]:
    return exp.log().splitlines()[before:]


def open_idle(port: int, count: int) -> list[socket.socket]:
    """Up to `count` connections that never send anything; stops at the first that cannot
    connect within 3 s (the listen queue of a server that stopped accepting is full; a server
    that accepts more slowly than we connect makes the kernel drop a SYN now and then, which
    the client resends after 1 s)."""
    out = []
    for _ in range(count):
        try:
            out.append(socket.create_connection(("127.0.0.1", port), timeout=3.0))
        except OSError:
            break
    return out


class SlowClient(threading.Thread):
    """Sends a request line and then one header byte every `every` seconds, never finishing
    the headers (slowloris); at most `limit` bytes. `closed_after` is when the server hung up."""

    def __init__(self, port: int, every: float = 0.2, limit: int = 100) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.every = every
        self.limit = limit
        self.stop = threading.Event()
        self.started_at = time.monotonic()
        self.closed_after: float | None = None

    def run(self) -> None:
        try:
            self.sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            for _ in range(self.limit):
                if self.stop.wait(self.every):
                    return
                self.sock.sendall(b"a")
        except OSError:
            self.closed_after = time.monotonic() - self.started_at

    def finish(self) -> None:
        self.stop.set()
        self.join(10)
        self.sock.close()


def settled_fds(exp: Any, bound: int, within: float = 10.0) -> int:
    """The exporter's open descriptors once they are at most `bound`, or after `within` s."""
    deadline = time.monotonic() + within
    fds = exp.open_fds()
    while fds > bound and time.monotonic() < deadline:
        time.sleep(0.2)
        fds = exp.open_fds()
    return int(fds)


def test_idle_and_slow_clients_beyond_the_fd_limit_do_not_stop_scrapes(tmp_path: Path) -> None:
    # Before: every idle connection was kept for an hour; at the descriptor limit accept()
    # failed, asyncio logged a traceback for each attempt and real scrapes timed out.
    with running_exporter(tmp_path, None, ["--log.level=info"], nofile=NOFILE) as exp:
        before = len(exp.log().splitlines())
        idle: list[socket.socket] = []
        slow: list[SlowClient] = []
        try:
            idle = open_idle(exp.port, IDLE_CLIENTS)
            slow = [SlowClient(exp.port) for _ in range(SLOW_CLIENTS)]
            for s in slow:
                s.start()
            time.sleep(1.0)  # the server has accepted what it will accept
            fds = exp.open_fds()
            results = [timed_get(exp.port, timeout=2.0) for _ in range(5)]
            print(
                f"\n{len(idle)} idle + {len(slow)} slow clients, exporter fds {fds}/{NOFILE}, "
                f"scrapes (status, s): {[(st, round(t, 3)) for st, t in results]}"
            )
            assert [st for st, _ in results] == [200] * 5
            assert max(t for _, t in results) < 2.0
            # the connection limit, the exporter's own files, nothing lingering
            # (accepts come in bursts of up to BACKLOG before the oldest are evicted: wait for
            # the steady state)
            assert settled_fds(exp, connection_limit(1, nofile=NOFILE) + 16) <= (
                connection_limit(1, nofile=NOFILE) + 16
            ), fds
        finally:
            for s in slow:
                s.finish()
            for sock in idle:
                sock.close()
        lines = new_log_lines(exp, before)
        print(f"log lines written under abuse: {len(lines)}")
        assert len(lines) <= 5, "\n".join(lines[:20])
        assert "Traceback" not in exp.log()


def test_idle_clients_beyond_the_fd_limit_do_not_stop_tls_scrapes(tmp_path: Path) -> None:
    # The same over TLS: connections that never start a handshake, and connections idle after
    # one, more of them together than the exporter has descriptors.
    ca = TestCA(tmp_path)
    srv = ca.server_cert("limits-server")
    cfg = write(
        tmp_path / "web.yml",
        f"tls_server_config:\n  cert_file: {srv.cert}\n  key_file: {srv.key}\n",
    )
    ctx = client_context(ca)
    with running_exporter(tmp_path, cfg, ["--log.level=info"], nofile=NOFILE) as exp:
        before = len(exp.log().splitlines())
        idle: list[socket.socket] = []
        try:
            idle = open_idle(exp.port, 200)
            for _ in range(100):  # handshake done, then silence (ends early if evicted first)
                sock = socket.create_connection(("127.0.0.1", exp.port), timeout=3)
                try:
                    idle.append(ctx.wrap_socket(sock, server_hostname="127.0.0.1"))
                except OSError:
                    sock.close()
            time.sleep(1.0)
            fds = exp.open_fds()
            results = []
            for _ in range(5):
                start = time.monotonic()
                status = https_get(exp.port, ctx, path="/-/healthy", timeout=2.0).status
                results.append((status, time.monotonic() - start))
            print(
                f"\n{len(idle)} idle TLS-port clients, exporter fds {fds}/{NOFILE}, "
                f"scrapes (status, s): {[(st, round(t, 3)) for st, t in results]}"
            )
            assert [st for st, _ in results] == [200] * 5
            assert max(t for _, t in results) < 2.0
            # the connection limit, the exporter's own files, nothing lingering
            # (accepts come in bursts of up to BACKLOG before the oldest are evicted: wait for
            # the steady state)
            assert settled_fds(exp, connection_limit(1, nofile=NOFILE) + 16) <= (
                connection_limit(1, nofile=NOFILE) + 16
            ), fds
        finally:
            for sock in idle:
                sock.close()
        lines = new_log_lines(exp, before)
        assert len(lines) <= 5, "\n".join(lines[:20])
        assert "Traceback" not in exp.log()


def wait_closed(sock: socket.socket, limit: float) -> float | None:
    """Seconds until the server closes `sock` (reads until EOF or reset), None if it is still
    open after `limit` seconds."""
    start = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - start < limit:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - start
    return None


def test_idle_keepalive_and_silent_connections_are_closed(tmp_path: Path) -> None:
    extra = ["--web.idle-timeout=1", "--web.read-header-timeout=1"]
    with running_exporter(tmp_path, None, extra) as exp:
        # keep-alive after a request: closed after the idle timeout
        kept = socket.create_connection(("127.0.0.1", exp.port), timeout=5)
        silent = socket.create_connection(("127.0.0.1", exp.port), timeout=5)
        try:
            kept.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert b"200 OK" in kept.recv(65536)
            closed = wait_closed(kept, 5.0)
            assert closed is not None and 0.5 < closed < 3.0, closed
            # never sent a byte: closed after the header timeout from connecting
            closed = wait_closed(silent, 5.0)
            assert closed is not None and closed < 3.0, closed
        finally:
            kept.close()
            silent.close()


def test_slow_headers_are_cut_off_at_the_header_timeout(tmp_path: Path) -> None:
    extra = ["--web.idle-timeout=30", "--web.read-header-timeout=1"]
    with running_exporter(tmp_path, None, extra) as exp:
        slow = SlowClient(exp.port, every=0.1, limit=60)  # would trickle for 6 s
        slow.start()
        try:
            slow.join(8)
            assert slow.closed_after is not None, "the server never closed the slow client"
            assert slow.closed_after < 3.0, slow.closed_after
        finally:
            slow.finish()
        assert timed_get(exp.port, "/-/healthy")[0] == 200


class SlowScraper(Scraper):
    """A scraper whose render takes `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__([], 1.0, RateLimitedLog(logging.getLogger("test")))
        self.delay = delay

    async def render(self, openmetrics: bool = False) -> bytes:
        await asyncio.sleep(self.delay)
        return b"# EOF\n"


def test_scrapes_over_max_requests_get_503_at_once() -> None:
    # node_exporter's --web.max-requests: a scrape beyond N in flight is answered 503 without
    # waiting; other paths are not counted; 0 is no limit.
    async def scenario(max_requests: int) -> tuple[list[int], float, int]:
        app = build_app(SlowScraper(0.5), max_requests=max_requests)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:

            async def get(path: str) -> tuple[int, float]:
                start = time.monotonic()
                r = await client.get(path)
                await r.read()
                return r.status, time.monotonic() - start

            first = asyncio.ensure_future(get("/metrics"))
            await asyncio.sleep(0.1)
            second, healthy = await asyncio.gather(get("/metrics"), get("/-/healthy"))
            statuses = [(await first)[0], second[0], healthy[0]]
            after = (await get("/metrics"))[0]
            return statuses, second[1], after

    statuses, took, after = asyncio.run(scenario(1))
    assert statuses == [200, 503, 200]
    assert took < 0.2
    assert after == 200  # nothing in flight any more
    assert asyncio.run(scenario(0))[0] == [200, 200, 200]


def test_loop_errors_are_rate_limited_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What asyncio reports on every accept() attempt at the descriptor limit.
    errlog = RateLimitedLog(logging.getLogger("fctarget_exporter.test"), 60.0)

    async def flood() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(loop_exception_handler(errlog))
        for _ in range(500):
            loop.call_exception_handler(
                {
                    "message": "socket.accept() out of system resource\nsocket: <fd=6>",
                    "exception": OSError(24, "Too many open files"),
                }
            )

    with caplog.at_level(logging.DEBUG, logger="fctarget_exporter.test"):
        asyncio.run(flood())
    records = [r for r in caplog.records if r.name == "fctarget_exporter.test"]
    assert len(records) == 1
    record = records[0]
    assert record.exc_info is None
    assert record.getMessage() == "event loop: socket.accept() out of system resource"
    assert getattr(record, "fields", {})["err"] == "OSError: [Errno 24] Too many open files"


def test_unit_file_limit_leaves_room_for_every_connection() -> None:
    unit = Path(__file__).resolve().parent.parent / "packaging" / "fctarget-exporter.service"
    values = [
        line.partition("=")[2]
        for line in unit.read_text().splitlines()
        if line.startswith("LimitNOFILE=")
    ]
    assert len(values) == 1
    assert connection_limit(1, nofile=int(values[0])) == MAX_CONNECTIONS
    # and the limit is derived from the descriptors there are
    assert connection_limit(1, nofile=256) == 256 - BACKLOG - RESERVED_FDS
    assert connection_limit(2, nofile=256) == MIN_CONNECTIONS


BAD_REQUESTS = {
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "tls-on-plain-port": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32,
    "bad-header": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n",
    "line-too-long": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "binary": b"\x00\xff\xfe garbage \x01\x02\r\n\r\n",
    "bad-version": b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
}


def send_raw(port: int, payload: bytes) -> bytes:
    """Sends `payload` on a new connection; whatever comes back before the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        reply = b""
        try:
            sock.sendall(payload)
            while chunk := sock.recv(65536):
                reply += chunk
        except OSError:
            pass
        return reply


@pytest.mark.parametrize("level", ["info", "debug"])
def test_malformed_requests_are_logged_briefly(tmp_path: Path, level: str) -> None:
    # Before: each malformed request logged an error with a traceback (2,000 HTTP/2 prefaces,
    # 2,000 entries, 1.16 MB), unauthenticated.
    rounds = 50
    with running_exporter(tmp_path, None, [f"--log.level={level}"]) as exp:
        before = len(exp.log().splitlines())
        start = time.monotonic()
        for _ in range(rounds):
            for payload in BAD_REQUESTS.values():
                reply = send_raw(exp.port, payload)
                assert reply == b"" or reply[:10] in (b"HTTP/1.0 4", b"HTTP/1.1 4"), reply[:100]
        took = time.monotonic() - start
        assert timed_get(exp.port, "/-/healthy")[0] == 200
        lines = new_log_lines(exp, before)
        size = sum(len(line) + 1 for line in lines)
    print(
        f"\n{rounds * len(BAD_REQUESTS)} malformed requests in {took:.1f} s at {level}: "
        f"{len(lines)} log lines, {size} bytes"
    )
    assert "Traceback" not in exp.log()
    # one line per kind of error at most (a minute apart per kind)
    assert len(lines) <= len(BAD_REQUESTS), "\n".join(lines[:20])


FLOOD_SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]  # 8 attacking addresses


class WrongPasswordFlood(threading.Thread):
    """One keep-alive connection from `source` sending up to `limit` wrong passwords."""

    def __init__(self, port: int, source: str, stop: threading.Event, limit: int = 30) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.source = source
        self.stop_event = stop
        self.limit = limit
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        for i in range(self.limit):
            if self.stop_event.is_set():
                break
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=10, source_address=(self.source, 0)
                    )
                conn.request("GET", "/metrics", headers=basic("prometheus", f"guess{i}"))
                resp = conn.getresponse()
                resp.read()
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
                if resp.will_close:
                    conn.close()
                    conn = None
            except OSError:
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


def test_wrong_password_flood_does_not_delay_a_real_login(tmp_path: Path) -> None:
    # Before: bcrypt checks ran on two threads for everybody, so under a 100-connection
    # wrong-password flood a first (not yet cached) real login took 4.7 s instead of 0.14 s.
    cfg = write(
        tmp_path / "web.yml",
        f"basic_auth_users:\n  prometheus: {bcrypt_hash('s3cret', cost=10)}\n",
    )
    with running_exporter(tmp_path, cfg, ["--log.level=info"]) as exp:
        stop = threading.Event()
        flood = [
            WrongPasswordFlood(exp.port, FLOOD_SOURCES[i % len(FLOOD_SOURCES)], stop)
            for i in range(100)
        ]
        try:
            for t in flood:
                t.start()
            time.sleep(0.5)  # the flood is on
            status, took = timed_get(exp.port, headers=basic("prometheus", "s3cret"), timeout=10)
            alive = sum(t.is_alive() for t in flood)
        finally:
            stop.set()
            for t in flood:
                t.join(15)
        statuses: dict[int, int] = {}
        for t in flood:
            for code, n in t.statuses.items():
                statuses[code] = statuses.get(code, 0) + n
        print(
            f"\nlegitimate login under a 100-connection flood: {status} in {took:.3f} s "
            f"({alive} flooding connections still running; flood answers {statuses})"
        )
        assert status == 200
        assert took < 1.5
        assert alive > 0  # the flood really was still going on


def test_failed_logins_are_bounded_per_client(monkeypatch: pytest.MonkeyPatch) -> None:
    users = {"prometheus": bcrypt_hash("s3cret").encode()}
    order: list[bytes] = []
    real = auth._checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        order.append(password)
        return real(password, hashed)

    monkeypatch.setattr(auth, "_checkpw", spy)
    checker = BasicAuthChecker()
    clients = [f"192.0.2.{i}" for i in range(4)]
    burst = BasicAuthChecker.FAILED_LOGIN_BURST

    async def flood() -> list[AuthResult]:
        guesses = [
            checker.verify(users, user, f"guess{i}", client=clients[i % len(clients)])
            for i in range(400)
            for user in ("prometheus", "nobody")
        ]
        return await asyncio.gather(*guesses)

    async def first_login_jumps_the_queue() -> AuthResult:
        # every flooding client has failed; their next checks queue behind the two threads
        del order[:]
        queued = [
            asyncio.ensure_future(checker.verify(users, "prometheus", f"again{i}", client=c))
            for i, c in enumerate([f"198.51.100.{i}" for i in range(8)])
        ]
        await asyncio.sleep(0)
        login = await checker.verify(users, "prometheus", "s3cret", client="203.0.113.9")
        await asyncio.gather(*queued)
        return login

    try:
        results = asyncio.run(flood())
        # at most one burst of checks per client, the rest answered without hashing
        assert checker.bcrypt_calls <= len(clients) * burst
        assert results.count(AuthResult.DENIED) == checker.bcrypt_calls
        assert results.count(AuthResult.THROTTLED) == len(results) - checker.bcrypt_calls
        # one after the other: a burst of failures is checked, then no more
        calls = checker.bcrypt_calls
        guesser = "192.0.2.200"

        async def guesses() -> list[AuthResult]:
            return [
                await checker.verify(users, "prometheus", f"g{i}", client=guesser)
                for i in range(burst + 5)
            ]

        assert asyncio.run(guesses()) == [AuthResult.DENIED] * burst + [AuthResult.THROTTLED] * 5
        assert checker.bcrypt_calls == calls + burst
        assert checker.retry_after(guesser) >= 1
        # a real login from elsewhere: checked, and cached
        login = checker.verify(users, "prometheus", "s3cret", client="203.0.113.7")
        assert asyncio.run(login) is AuthResult.OK
        assert checker.bcrypt_calls == calls + burst + 1
        # a cached success is answered even to a client out of failures, without a check
        cached = checker.verify(users, "prometheus", "s3cret", client=guesser)
        assert asyncio.run(cached) is AuthResult.OK
        assert checker.bcrypt_calls == calls + burst + 1

        # clients that failed once queue behind one that has not
        for i in range(8):
            fail = checker.verify(users, "prometheus", "x", client=f"198.51.100.{i}")
            assert asyncio.run(fail) is AuthResult.DENIED
        checker.clear()
        assert asyncio.run(first_login_jumps_the_queue()) is AuthResult.OK
        assert b"s3cret" in order[:3], order
    finally:
        checker.close()


def test_client_key() -> None:
    assert client_key("192.0.2.1") == "192.0.2.1"
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert (
        client_key("2001:db8:1:2:3:4:5:6") == client_key("2001:db8:1:2::9") == "2001:db8:1:2::/64"
    )
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key(None) == ""


def test_library_log_filter() -> None:
    filt = LibraryLogFilter(interval=60.0)

    def record(name: str, msg: str, args: tuple[object, ...] = ()) -> logging.LogRecord:
        try:
            raise ValueError("bad\nbytes")
        except ValueError as exc:
            return logging.LogRecord(
                name, logging.ERROR, __file__, 1, msg, args, (type(exc), exc, exc.__traceback__)
            )

    records = [record("aiohttp.server", "Error from %s", ("x",)) for _ in range(100)]
    kept = [r for r in records if filt.filter(r)]
    assert len(kept) == 1
    assert kept[0].exc_info is None
    assert kept[0].getMessage() == "Error from x"
    assert getattr(kept[0], "fields", {})["err"] == "ValueError: bad bytes"
    # arguments that do not fit the message do not raise from the filter
    odd = record("asyncio", "%d things\nmore", ("not a number",))
    assert filt.filter(odd)
    assert odd.getMessage() == "%d things more"
    # our own records pass untouched
    ours = record("fctarget_exporter.server", "x")
    assert filt.filter(ours) and ours.exc_info is not None


def test_eviction_spares_connections_busy_with_a_request() -> None:
    # At the connection limit the longest-idle connection is closed for a new one; one whose
    # request is being handled (here a 0.5 s scrape) is not, and when every connection is
    # busy the new one is refused. (Busy/idle comes from aiohttp's RequestHandler internals:
    # this fails if an aiohttp upgrade stops calling them.)
    async def scenario() -> dict[str, object]:
        app = build_app(SlowScraper(0.5))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        errlog = RateLimitedLog(logging.getLogger("test"), 60.0)
        conns = Connections(2, errlog)
        port = free_port()
        site = ReloadableSite(runner, "127.0.0.1", port, WebState(), connections=conns)
        await site.start()
        out: dict[str, object] = {}
        try:
            busy_r, busy_w = await asyncio.open_connection("127.0.0.1", port)
            busy_w.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.sleep(0.1)
            idle_r, idle_w = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(0.1)
            new_r, new_w = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(0.1)
            out["idle closed"] = await asyncio.wait_for(idle_r.read(), 2) == b""
            new_w.write(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            out["new"] = (await asyncio.wait_for(new_r.readline(), 2)).strip()
            # both connections busy with a scrape: a third is refused
            new_w.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.sleep(0.1)
            third_r, third_w = await asyncio.open_connection("127.0.0.1", port)
            out["third refused"] = await asyncio.wait_for(third_r.read(), 2) == b""
            out["busy"] = (await asyncio.wait_for(busy_r.readline(), 2)).strip()
            out["evicted, refused"] = (conns.evicted, conns.refused)
            for w in (busy_w, idle_w, new_w, third_w):
                w.close()
        finally:
            await runner.cleanup()
        return out

    assert asyncio.run(scenario()) == {
        "idle closed": True,
        "new": b"HTTP/1.1 200 OK",
        "third refused": True,
        "busy": b"HTTP/1.1 200 OK",
        "evicted, refused": (1, 1),
    }
