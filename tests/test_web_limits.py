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

import pytest

from exporter.logsetup import RateLimitedLog
from exporter.server import (
    BACKLOG,
    MAX_CONNECTIONS,
    MIN_CONNECTIONS,
    RESERVED_FDS,
    connection_limit,
    loop_exception_handler,
)
from tests.test_web_certs import Exporter, basic, bcrypt_hash, running_exporter, write

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
            assert fds < NOFILE
        finally:
            for s in slow:
                s.finish()
            for sock in idle:
                sock.close()
        lines = new_log_lines(exp, before)
        print(f"log lines written under abuse: {len(lines)}")
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


def test_requests_over_max_requests_get_503_at_once(tmp_path: Path) -> None:
    # One request in flight for ~0.5 s (a cost-13 bcrypt check, not cached yet); with
    # --web.max-requests=1 a second request meanwhile is answered 503 without waiting.
    cfg = write(
        tmp_path / "web.yml",
        f"basic_auth_users:\n  prometheus: {bcrypt_hash('s3cret', cost=13)}\n"
        "basic_auth_excluded_paths: [/-/healthy]\n",
    )
    for flag, expected in (("1", 503), ("0", 200)):
        with running_exporter(tmp_path, cfg, [f"--web.max-requests={flag}"]) as exp:
            slow: list[tuple[int, float]] = []

            def log_in(port: int, out: list[tuple[int, float]]) -> None:
                out.append(timed_get(port, headers=basic("prometheus", "s3cret"), timeout=10))

            login = threading.Thread(target=log_in, args=(exp.port, slow))
            login.start()
            time.sleep(0.15)
            status, took = timed_get(exp.port, "/-/healthy")
            login.join(15)
            assert slow and slow[0][0] == 200
            assert slow[0][1] > 0.3  # it really was in flight meanwhile
            assert (status, took < 0.2) == (expected, True), (flag, status, took)
            if expected == 503:
                assert timed_get(exp.port, "/-/healthy")[0] == 200  # nothing in flight now


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
