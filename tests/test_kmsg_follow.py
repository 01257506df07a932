"""The kmsg reader (the follower) on real files: FIFOs, a growing regular file, the real
/dev/kmsg, errno injection (EPIPE, EAGAIN, EPERM) at its read/open boundary, and the collector
on top of it."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.logsetup import RateLimitedLog
from exporter.parsers.kmsg import KmsgRecord, RecordSplitter, parse_record
from exporter.parsers.qla2xxx_links import LinkTracker
from exporter.readers.boottime import read_btime
from exporter.readers.kmsg import FollowerConfig, FollowerIO, KmsgFollower

FIX = Path(__file__).parent / "fixtures" / "kmsg"
LOG = logging.getLogger("test.kmsg")
BTIME = 1_700_000_000


def procfs(tmp_path: Path) -> str:
    d = tmp_path / "proc"
    d.mkdir(exist_ok=True)
    (d / "stat").write_text(f"cpu  1 2 3 4\nintr 0\nctxt 5\nbtime {BTIME}\nprocesses 9\n")
    return str(d)


def follower(
    path: Path | str, tmp_path: Path, io: FollowerIO | None = None, **config: float
) -> tuple[KmsgFollower, LinkTracker]:
    """A follower of `path` feeding a fresh link tracker; `config`: FollowerConfig fields."""
    t = LinkTracker()
    cfg = FollowerConfig(str(path), procfs=procfs(tmp_path), **config)  # type: ignore[arg-type]
    return KmsgFollower(cfg, t.feed, RateLimitedLog(LOG), io), t


def rec(seq: int, msg: str, prio: int = 4, usec: int = 1_000_000) -> bytes:
    return f"{prio},{seq},{usec},-;{msg}\n".encode()


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 30))


class CountingRead:
    """os.read with scripted errors injected before given calls (1-based call numbers)."""

    def __init__(self, errors: dict[int, OSError] | None = None) -> None:
        self.calls = 0
        self.errors = errors or {}

    def __call__(self, fd: int, n: int) -> bytes:
        self.calls += 1
        err = self.errors.pop(self.calls, None)
        if err is not None:
            raise err
        return os.read(fd, n)


LINK_FLAP = [
    rec(1, "qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (16 Gbps).", usec=5_000_000),
    rec(2, "usb 1-1: new high-speed USB device", prio=6),
    rec(3, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0).", usec=6_500_000),
    rec(4, "qla2xxx [0000:83:00.1]-5809:7: LIP occurred (f7f7).", usec=7_000_000)
    + b" SUBSYSTEM=pci\n DEVICE=+pci:0000:83:00.1\n",
    rec(5, "qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (32 Gbps).", usec=8_250_000),
]
KEY = ("0000:83:00.1", 7)


def check_flap(f: KmsgFollower, t: LinkTracker) -> None:
    assert f.records == 5
    assert f.malformed == 0
    assert f.lost == 0
    port = t.ports[KEY]
    assert port.events == {"loop_up": 2, "loop_down": 1, "lip": 1}
    assert port.up is True
    assert port.last_ts["loop_down"] == BTIME + 6.5
    assert port.last_ts["loop_up"] == BTIME + 8.25


@pytest.mark.parametrize("per_write", [1, 5], ids=["one-record-per-write", "all-in-one-write"])
def test_fifo(tmp_path: Path, per_write: int) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)

    async def main() -> None:
        f, t = follower(fifo, tmp_path, backoff_min=0.01)
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            for i in range(0, len(LINK_FLAP), per_write):
                os.write(wfd, b"".join(LINK_FLAP[i : i + per_write]))
                if per_write == 1:
                    n = i + 1
                    await until(lambda n=n: f.records >= n - 1)  # type: ignore[misc]
            await until(lambda: f.records == 5)
        finally:
            os.close(wfd)
        check_flap(f, t)
        # the writer went away: the follower reopens and waits for the next one
        await until(lambda: f.opens >= 2)
        assert f.error is None
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, rec(6, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0)."))
        os.close(wfd)
        await until(lambda: f.records == 6)
        assert t.ports[KEY].up is False
        await f.stop()

    run(main)


def test_fifo_record_split_across_writes(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    data = b"".join(LINK_FLAP)

    async def main() -> None:
        f, t = follower(fifo, tmp_path)
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        for i in range(0, len(data), 7):  # cut records (and continuation lines) anywhere
            os.write(wfd, data[i : i + 7])
            await asyncio.sleep(0.001)
        await until(lambda: f.records == 5)
        os.close(wfd)
        check_flap(f, t)
        await f.stop()

    run(main)


def test_epipe_counts_lost_records_and_resyncs(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    reader = CountingRead()

    async def main() -> None:
        f, t = follower(fifo, tmp_path, FollowerIO(read=reader))
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, b"".join(LINK_FLAP[:3]))
        await until(lambda: f.records == 3)
        # the kernel overwrote seq 4..9 while we were not reading: EPIPE, then seq 10 next
        reader.errors[reader.calls + 1] = OSError(errno.EPIPE, "Broken pipe")
        os.write(wfd, rec(10, "qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (8 Gbps)."))
        await until(lambda: f.records == 4)
        os.close(wfd)
        assert f.overruns == 1
        assert f.lost == 6
        assert t.ports[KEY].events["loop_up"] == 2
        assert f.error is None and f.opens == 1  # resynchronised without reopening
        await f.stop()

    run(main)


def test_eagain_waits_without_busy_loop(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    reader = CountingRead({1: BlockingIOError(errno.EAGAIN, "again")})

    async def main() -> None:
        f, t = follower(fifo, tmp_path, FollowerIO(read=reader))
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, b"".join(LINK_FLAP))
        await until(lambda: f.records == 5)
        calls = reader.calls
        await asyncio.sleep(0.3)  # idle with the writer still open: must sleep in epoll
        assert reader.calls == calls
        os.close(wfd)
        check_flap(f, t)
        assert f.error is None
        await f.stop()

    run(main)


def test_eperm_one_clear_log_line_failure_then_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(LINK_FLAP))
    attempts: list[int] = []
    denied = [True]

    def opener(p: str, flags: int) -> int:
        attempts.append(1)
        if denied[0]:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return os.open(p, flags)

    async def main() -> None:
        f, t = follower(
            path,
            tmp_path,
            FollowerIO(opener=opener),
            backoff_min=0.01,
            backoff_max=0.04,
            poll_interval=0.02,
        )
        f.start()
        await until(lambda: len(attempts) >= 4)
        assert f.error is not None
        assert "CAP_SYSLOG" in f.error.message and "kernel.dmesg_restrict" in f.error.message
        assert not f.up
        assert f.initial_sync.is_set()  # a scrape does not wait for a log it cannot read
        denied[0] = False
        await until(lambda: f.records == 5)
        assert f.error is None and f.up
        check_flap(f, t)
        await f.stop()

    with caplog.at_level(logging.ERROR):
        run(main)
    lines = [r for r in caplog.records if "CAP_SYSLOG" in r.getMessage()]
    assert len(lines) == 1  # retried several times, logged once


def test_read_error_reopens_with_backoff(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    reader = CountingRead({1: OSError(errno.EIO, "Input/output error")})

    async def main() -> None:
        f, t = follower(fifo, tmp_path, FollowerIO(read=reader), backoff_min=0.05)
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, b"".join(LINK_FLAP))
        await until(lambda: f.error is not None)
        assert f.error is not None and f.error.key == "kmsg:follower:EIO"
        await until(lambda: f.records == 5)  # reopened; the data was still in the pipe
        os.close(wfd)
        assert f.opens >= 2
        check_flap(f, t)
        await f.stop()

    run(main)


def test_regular_file_is_read_then_followed(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(LINK_FLAP[:3]))

    async def main() -> None:
        f, t = follower(path, tmp_path, poll_interval=0.02)
        f.start()
        await asyncio.wait_for(f.initial_sync.wait(), 5)
        assert f.records == 3 and t.ports[KEY].up is False
        with open(path, "ab") as w:
            w.write(b"".join(LINK_FLAP[3:]))
        await until(lambda: f.records == 5)
        check_flap(f, t)
        # a scrape catches up at once, without waiting for the poll timer
        with open(path, "ab") as w:
            w.write(rec(6, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0)."))
        f.poll_interval = 3600
        await asyncio.sleep(0.05)
        await f.catch_up()
        assert f.records == 6 and t.ports[KEY].up is False
        await f.stop()

    run(main)


def test_regular_file_vanishing_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(LINK_FLAP[:2]))

    async def main() -> None:
        f, t = follower(path, tmp_path, poll_interval=0.02, backoff_min=0.02)
        f.start()
        await until(lambda: f.records == 2)
        path.unlink()
        await until(lambda: f.error is not None)
        assert f.error is not None and f.error.key == "kmsg:follower:ENOENT"
        path.write_bytes(rec(3, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0)."))
        await until(lambda: f.records == 3)
        assert f.error is None
        assert t.ports[KEY].up is False
        await f.stop()

    run(main)


def test_this_machines_dev_kmsg(tmp_path: Path) -> None:
    """Read-only pass over the real kernel log: format check, or the EPERM path if denied."""

    async def main() -> None:
        t = LinkTracker()
        f = KmsgFollower(FollowerConfig("/dev/kmsg", backoff_min=30), t.feed, RateLimitedLog(LOG))
        f.start()
        await asyncio.wait_for(f.initial_sync.wait(), 10)
        if f.error is not None:
            assert f.error.key in ("kmsg:follower:EPERM", "kmsg:follower:EACCES")
            assert "CAP_SYSLOG" in f.error.message
        else:
            assert f.kind == "device"
            assert f.records > 0
            assert f.malformed == 0
            assert t.ports == {}  # no FC hardware here
            assert t.qla2xxx_records == 0
            # record timestamps count from boot on the monotonic clock (printk's local_clock)
            assert f.boot_time == pytest.approx(time.time() - time.monotonic(), abs=5)
        await f.stop()

    run(main)
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except PermissionError:
        return
    try:
        with pytest.raises(OSError) as ei:
            os.read(fd, 10)  # smaller than the record: the kernel refuses it
        assert ei.value.errno == errno.EINVAL
        raw = os.read(fd, 8192)
    finally:
        os.close(fd)
    assert re.match(rb"^\d+,\d+,\d+,[-c][^;]*;", raw)
    r = parse_record(raw)
    assert r.facility == 0 and r.seq >= 0


def test_dev_kmsg_reopen_counts_nothing_twice(tmp_path: Path) -> None:
    """On the real device a reopen starts again at the oldest record in the ring buffer: the
    records already counted must be skipped, not counted again."""
    assert os.geteuid() == 0 or Path("/proc/sys/kernel/dmesg_restrict").read_text() == "0\n", (
        "the suite runs as root (CI does); /dev/kmsg is readable then"
    )
    fail_next = [False]

    def read(fd: int, n: int) -> bytes:
        if fail_next[0]:
            fail_next[0] = False
            raise OSError(errno.EIO, "Input/output error")
        return os.read(fd, n)

    async def main() -> None:
        cfg = FollowerConfig("/dev/kmsg", backoff_min=0.05)
        f = KmsgFollower(cfg, LinkTracker().feed, RateLimitedLog(LOG), FollowerIO(read=read))
        f.start()
        await asyncio.wait_for(f.initial_sync.wait(), 10)
        assert f.error is None and f.kind == "device"
        first_records, first_seq = f.records, f.last_seq
        assert first_records > 0 and first_seq is not None
        fail_next[0] = True
        # a record of our own makes the follower read (and hit the injected EIO) now
        with open("/dev/kmsg", "w") as w:
            w.write("fctarget-exporter test: reopen marker\n")
        await until(lambda: f.opens >= 2 and f.last_seq is not None and f.last_seq > first_seq)
        await asyncio.sleep(0.3)  # let the reopened device replay what it holds
        assert f.error is None or f.error.key == "kmsg:follower:EIO"
        assert f.lost == 0
        # every record counted once: the first pass plus only those logged since
        last = f.last_seq
        assert last is not None
        assert f.records == first_records + (last - first_seq)
        await f.stop()

    run(main)


_QLA_TEXTS = st.sampled_from(
    [
        "LOOP UP detected (8 Gbps).",
        "LOOP UP detected (? Gbps).",
        "LOOP UP detected (",
        "LOOP DOWN detected (2 7 0 0).",
        "LIP occurred (f7f7).",
        "RSCN database changed -- 0001 0200 0a00.",
        "PID 346:qla_os.c:6329: ISP abort scheduled.",
        "",
    ]
)


@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.builds(
                lambda prio, seq, pci, host, text, junk: (
                    f"{prio},{seq},5,-;qla2xxx [{pci}]-500a:{host}: {text}{junk}\n".encode()
                ),
                st.integers(0, 15),
                st.one_of(st.integers(0, 50), st.just(10**400)),
                st.sampled_from(["0000:83:00.1", "10000:01:00.0", "zz", ""]),
                st.sampled_from(["7", " ", "", "x"]),
                _QLA_TEXTS,
                st.text(max_size=10),
            ),
        ),
        max_size=30,
    )
)
def test_tracker_never_raises_on_garbage(chunks: list[bytes]) -> None:
    t = LinkTracker()
    f = KmsgFollower(FollowerConfig("/nonexistent"), t.feed, RateLimitedLog(LOG))
    sp = RecordSplitter()
    for c in chunks:
        for r in sp.feed(c):
            f.feed_raw(r)
    for r in sp.flush_all():
        f.feed_raw(r)
    for port in t.ports.values():
        assert sum(port.events.values()) >= 1
        assert set(port.events) == set(port.last_ts)
    assert f.lost >= 0


FOUR_LOOP_UPS = [
    rec(i, "qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (16 Gbps).", usec=i * 1_000_000)
    for i in range(1, 5)
]


def test_bad_record_is_malformed_and_the_follower_keeps_going(tmp_path: Path) -> None:
    """A 400-digit timestamp used to raise OverflowError in the tracker: the follower restarted
    every second, reread the file and counted its events again (loop_up 4 -> 24 -> 44)."""
    path = tmp_path / "kmsg"
    bad = b"4,3," + b"9" * 400 + b",-;qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected.\n"
    path.write_bytes(b"".join(FOUR_LOOP_UPS[:2]) + bad + b"".join(FOUR_LOOP_UPS[2:]))

    async def main() -> None:
        f, t = follower(path, tmp_path, poll_interval=0.01, backoff_min=0.01)
        f.start()
        await asyncio.wait_for(f.initial_sync.wait(), 5)
        await asyncio.sleep(0.3)  # 30 polls: time enough to restart and recount if it did
        assert (f.records, f.malformed, f.lost) == (4, 1, 0)
        assert t.ports[KEY].events == {"loop_up": 4}
        assert f.error is None and f.opens == 1
        await f.stop()

    run(main)


def test_replaced_file_with_the_same_records_counts_nothing_twice(tmp_path: Path) -> None:
    """A restart resumes after the last sequence number counted (it used to count a replayed
    file again: records 16 -> 32 -> 48)."""
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(LINK_FLAP))

    async def main() -> None:
        f, t = follower(path, tmp_path, poll_interval=0.01)
        f.start()
        await until(lambda: f.records == 5)
        for n in range(2, 4):
            new = tmp_path / "kmsg.new"
            new.write_bytes(b"".join(LINK_FLAP))
            os.replace(new, path)
            await until(lambda n=n: f.opens == n)  # type: ignore[misc]
            await asyncio.sleep(0.05)
            check_flap(f, t)
        # what is appended after the replayed part still counts
        with open(path, "ab") as w:
            w.write(rec(6, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0)."))
        await until(lambda: f.records == 6)
        assert t.ports[KEY].up is False and f.lost == 0
        await f.stop()

    run(main)


def test_a_consumer_bug_restarts_once_per_record_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record its consumer cannot take costs a restart, not a loop: the restart resumes after
    it, and the failure is logged once (rate-limited), not once per restart."""
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(LINK_FLAP))
    fed: list[int] = []

    def sink(r: KmsgRecord, ts: float) -> None:
        fed.append(r.seq)
        if r.seq >= 3:
            raise ZeroDivisionError("consumer bug")

    async def main() -> None:
        cfg = FollowerConfig(str(path), procfs=procfs(tmp_path), backoff_min=0.01)
        f = KmsgFollower(cfg, sink, RateLimitedLog(LOG))
        f.start()
        await until(lambda: fed[-1:] == [5] and f.opens == 4)
        await asyncio.sleep(0.1)
        assert fed == [1, 2, 3, 4, 5]  # each record handed over once
        assert f.records == 5 and f.lost == 0
        assert f.error is None or f.error.key == "kmsg:follower:bug-ZeroDivisionError"
        await f.stop()

    with caplog.at_level(logging.ERROR):
        run(main)
    lines = [r for r in caplog.records if "kmsg follower failed" in r.getMessage()]
    assert len(lines) == 1
    assert "ZeroDivisionError" in lines[0].getMessage()
    assert "Traceback" not in caplog.text


def test_read_btime(tmp_path: Path) -> None:
    assert read_btime(procfs(tmp_path)) == BTIME
    (tmp_path / "proc" / "stat").write_text("cpu  1 2 3 4\nbtime " + "9" * 400 + "\n")
    assert read_btime(str(tmp_path / "proc")) is None  # garbled: the caller falls back
    assert read_btime(str(tmp_path / "missing")) is None
