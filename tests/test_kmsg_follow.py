"""The kmsg follower on real files: FIFOs, a growing regular file, the real /dev/kmsg, and
errno injection (EPIPE, EAGAIN, EPERM) at the follower's read/open boundary."""

from __future__ import annotations

import argparse
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

from exporter.collector import CollectorContext, Output
from exporter.collectors.link import KmsgCollector
from exporter.kmsg_follow import KmsgFollower, LinkTracker
from exporter.logsetup import RateLimitedLog
from exporter.parsers.kmsg import RecordSplitter, parse_record
from exporter.paths import HostPaths
from tests.exporter_proc import parse_samples, run_exporter

FIX = Path(__file__).parent / "fixtures" / "kmsg"
LOG = logging.getLogger("test.kmsg")
BTIME = 1_700_000_000


def procfs(tmp_path: Path) -> str:
    d = tmp_path / "proc"
    d.mkdir(exist_ok=True)
    (d / "stat").write_text(f"cpu  1 2 3 4\nintr 0\nctxt 5\nbtime {BTIME}\nprocesses 9\n")
    return str(d)


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


def check_flap(t: LinkTracker) -> None:
    assert t.records == 5
    assert t.malformed == 0
    assert t.lost == 0
    port = t.ports[KEY]
    assert port.events == {"loop_up": 2, "loop_down": 1, "lip": 1}
    assert port.up is True
    assert port.speed_gbps == 32
    assert port.last_ts["loop_down"] == BTIME + 6.5
    assert port.last_ts["loop_up"] == BTIME + 8.25


@pytest.mark.parametrize("per_write", [1, 5], ids=["one-record-per-write", "all-in-one-write"])
def test_fifo(tmp_path: Path, per_write: int) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)

    async def main() -> None:
        t = LinkTracker()
        f = KmsgFollower(str(fifo), t, log=LOG, procfs=procfs(tmp_path), backoff_min=0.01)
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            for i in range(0, len(LINK_FLAP), per_write):
                os.write(wfd, b"".join(LINK_FLAP[i : i + per_write]))
                if per_write == 1:
                    n = i + 1
                    await until(lambda n=n: t.records >= n - 1)  # type: ignore[misc]
            await until(lambda: t.records == 5)
        finally:
            os.close(wfd)
        check_flap(t)
        # the writer went away: the follower reopens and waits for the next one
        await until(lambda: f.opens >= 2)
        assert f.error is None
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, rec(6, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0)."))
        os.close(wfd)
        await until(lambda: t.records == 6)
        assert t.ports[KEY].up is False
        await f.stop()

    run(main)


def test_fifo_record_split_across_writes(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    data = b"".join(LINK_FLAP)

    async def main() -> None:
        t = LinkTracker()
        f = KmsgFollower(str(fifo), t, log=LOG, procfs=procfs(tmp_path))
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        for i in range(0, len(data), 7):  # cut records (and continuation lines) anywhere
            os.write(wfd, data[i : i + 7])
            await asyncio.sleep(0.001)
        await until(lambda: t.records == 5)
        os.close(wfd)
        check_flap(t)
        await f.stop()

    run(main)


def test_epipe_counts_lost_records_and_resyncs(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    reader = CountingRead()

    async def main() -> None:
        t = LinkTracker()
        f = KmsgFollower(str(fifo), t, log=LOG, procfs=procfs(tmp_path), read=reader)
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, b"".join(LINK_FLAP[:3]))
        await until(lambda: t.records == 3)
        # the kernel overwrote seq 4..9 while we were not reading: EPIPE, then seq 10 next
        reader.errors[reader.calls + 1] = OSError(errno.EPIPE, "Broken pipe")
        os.write(wfd, rec(10, "qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (8 Gbps)."))
        await until(lambda: t.records == 4)
        os.close(wfd)
        assert t.overruns == 1
        assert t.lost == 6
        assert t.ports[KEY].speed_gbps == 8
        assert f.error is None and f.opens == 1  # resynchronised without reopening
        await f.stop()

    run(main)


def test_eagain_waits_without_busy_loop(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    reader = CountingRead({1: BlockingIOError(errno.EAGAIN, "again")})

    async def main() -> None:
        t = LinkTracker()
        f = KmsgFollower(str(fifo), t, log=LOG, procfs=procfs(tmp_path), read=reader)
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, b"".join(LINK_FLAP))
        await until(lambda: t.records == 5)
        calls = reader.calls
        await asyncio.sleep(0.3)  # idle with the writer still open: must sleep in epoll
        assert reader.calls == calls
        os.close(wfd)
        check_flap(t)
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
        t = LinkTracker()
        f = KmsgFollower(
            str(path),
            t,
            log=LOG,
            procfs=procfs(tmp_path),
            opener=opener,
            backoff_min=0.01,
            backoff_max=0.04,
            poll_interval=0.02,
        )
        f.start()
        await until(lambda: len(attempts) >= 4)
        assert f.error is not None
        assert "CAP_SYSLOG" in f.error and "kernel.dmesg_restrict" in f.error
        assert not f.up
        assert f.initial_sync.is_set()  # a scrape does not wait for a log it cannot read
        denied[0] = False
        await until(lambda: t.records == 5)
        assert f.error is None and f.up
        check_flap(t)
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
        t = LinkTracker()
        f = KmsgFollower(
            str(fifo), t, log=LOG, procfs=procfs(tmp_path), read=reader, backoff_min=0.05
        )
        f.start()
        await until(lambda: f.opens >= 1)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, b"".join(LINK_FLAP))
        await until(lambda: f.error is not None)
        assert f.error_key == "kmsg:EIO"
        await until(lambda: t.records == 5)  # reopened; the data was still in the pipe
        os.close(wfd)
        assert f.opens >= 2
        check_flap(t)
        await f.stop()

    run(main)


def test_regular_file_is_read_then_followed(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(LINK_FLAP[:3]))

    async def main() -> None:
        t = LinkTracker()
        f = KmsgFollower(str(path), t, log=LOG, procfs=procfs(tmp_path), poll_interval=0.02)
        f.start()
        await asyncio.wait_for(f.initial_sync.wait(), 5)
        assert t.records == 3 and t.ports[KEY].up is False
        with open(path, "ab") as w:
            w.write(b"".join(LINK_FLAP[3:]))
        await until(lambda: t.records == 5)
        check_flap(t)
        # a scrape catches up at once, without waiting for the poll timer
        with open(path, "ab") as w:
            w.write(rec(6, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0)."))
        f.poll_interval = 3600
        await asyncio.sleep(0.05)
        await f.catch_up()
        assert t.records == 6 and t.ports[KEY].up is False
        await f.stop()

    run(main)


def test_regular_file_vanishing_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "kmsg"
    path.write_bytes(b"".join(LINK_FLAP[:2]))

    async def main() -> None:
        t = LinkTracker()
        f = KmsgFollower(
            str(path),
            t,
            log=LOG,
            procfs=procfs(tmp_path),
            poll_interval=0.02,
            backoff_min=0.02,
        )
        f.start()
        await until(lambda: t.records == 2)
        path.unlink()
        await until(lambda: f.error is not None)
        assert f.error_key == "kmsg:ENOENT"
        path.write_bytes(rec(3, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0)."))
        await until(lambda: t.records == 3)
        assert f.error is None
        assert t.ports[KEY].up is False
        await f.stop()

    run(main)


def test_this_machines_dev_kmsg(tmp_path: Path) -> None:
    """Read-only pass over the real kernel log: format check, or the EPERM path if denied."""

    async def main() -> None:
        t = LinkTracker()
        f = KmsgFollower("/dev/kmsg", t, log=LOG, backoff_min=30)
        f.start()
        await asyncio.wait_for(f.initial_sync.wait(), 10)
        if f.error is not None:
            assert f.error_key in ("kmsg:EPERM", "kmsg:EACCES")
            assert "CAP_SYSLOG" in f.error
        else:
            assert f.kind == "device"
            assert t.records > 0
            assert t.malformed == 0
            assert t.ports == {}  # no FC hardware here
            assert t.qla2xxx_records == 0
            # record timestamps count from boot on the monotonic clock (printk's local_clock)
            assert t.boot_time == pytest.approx(time.time() - time.monotonic(), abs=5)
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
        t = LinkTracker()
        f = KmsgFollower("/dev/kmsg", t, log=LOG, read=read, backoff_min=0.05)
        f.start()
        await asyncio.wait_for(f.initial_sync.wait(), 10)
        assert f.error is None and f.kind == "device"
        first_records, first_seq = t.records, t.last_seq
        assert first_records > 0 and first_seq is not None
        fail_next[0] = True
        # a record of our own makes the follower read (and hit the injected EIO) now
        with open("/dev/kmsg", "w") as w:
            w.write("fctarget-exporter test: reopen marker\n")
        await until(lambda: f.opens >= 2 and t.last_seq is not None and t.last_seq > first_seq)
        await asyncio.sleep(0.3)  # let the reopened device replay what it holds
        assert f.error_key == "kmsg:EIO" or f.error is None
        assert t.lost == 0
        # every record counted once: the first pass plus only those logged since
        last = t.last_seq
        assert last is not None
        assert t.records == first_records + (last - first_seq)
        await f.stop()

    run(main)


def fixture_file(tmp_path: Path, name: str) -> str:
    """Copy a fixture to tmp_path without its `# Source:` line: a plain `cat /dev/kmsg` file."""
    data = (FIX / name).read_bytes()
    if data.startswith(b"#"):
        data = data.split(b"\n", 1)[1]
    out = tmp_path / name
    out.write_bytes(data)
    return str(out)


def make_collector(tmp_path: Path, kmsg: str, accept_user: bool, sysfs: str) -> KmsgCollector:
    args = argparse.Namespace(
        kmsg_accept_user_records=accept_user, kmsg_poll_interval=0.05, collector_timeout=5.0
    )
    paths = HostPaths(procfs=procfs(tmp_path), sysfs=sysfs, configfs="/nonexistent", kmsg=kmsg)
    return KmsgCollector(CollectorContext(paths, args, LOG, RateLimitedLog(LOG)))


def samples(out: Output) -> dict[str, float]:
    got: dict[str, float] = {}
    for fam in out.families.values():
        for s in fam.metric.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            got[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return got


def collect(c: KmsgCollector) -> tuple[dict[str, float], Output]:
    async def main() -> Output:
        await c.start()
        try:
            out = Output(c.name, RateLimitedLog(LOG))
            await c.collect(out)
            return out
        finally:
            await c.stop()

    out = asyncio.run(main())
    return samples(out), out


P3 = 'host="host3",pci="0000:02:00.0"'


@pytest.mark.parametrize("accept_user", [False, True])
def test_collector_on_real_61_guest_log(tmp_path: Path, accept_user: bool) -> None:
    kmsg = fixture_file(tmp_path, "guest-kmsg-6.1.txt")
    got, out = collect(make_collector(tmp_path, kmsg, accept_user, str(tmp_path / "nosys")))
    assert out.errors == []
    assert got["fctarget_kmsg_records_total"] == 430
    assert got["fctarget_kmsg_records_lost_total"] == 0
    assert got["fctarget_kmsg_malformed_records_total"] == 0
    assert got["fctarget_kmsg_follower_up"] == 1
    if not accept_user:
        # the two qla2xxx lines were echoed from user space (facility 1): not trusted
        assert got["fctarget_kmsg_user_records_ignored_total"] == 2
        assert not any(k.startswith("fctarget_link_") for k in got)
        return
    assert got["fctarget_kmsg_user_records_ignored_total"] == 0
    assert got[f'fctarget_link_events_total{{event="loop_up",{P3}}}'] == 1
    assert got[f'fctarget_link_events_total{{event="loop_down",{P3}}}'] == 1
    assert got[f"fctarget_link_up{{{P3}}}"] == 0
    assert got[f"fctarget_link_speed_bytes_per_second{{{P3}}}"] == 1e9
    ts = got[f'fctarget_link_last_event_timestamp_seconds{{event="loop_down",{P3}}}']
    assert ts == pytest.approx(BTIME + 33.115695)


def old_format_kmsg(tmp_path: Path) -> str:
    """The 2.6.35 dmesg sample turned into kernel records (same text, seq, timestamps)."""
    lines = (FIX / "kmsg-qla2xxx-ubuntuforums-2011-2.6.35-oldformat.txt").read_text().splitlines()
    out = []
    for seq, ln in enumerate(ln for ln in lines if not ln.startswith("#")):
        m = re.match(r"\[\s*(\d+)\.(\d{6})\] ?(.*)$", ln)
        assert m is not None
        usec = int(m.group(1)) * 1_000_000 + int(m.group(2))
        out.append(f"6,{seq},{usec},-;{m.group(3)}\n")
    p = tmp_path / "old.kmsg"
    p.write_text("".join(out))
    return str(p)


def test_collector_old_prefix_resolves_host_and_cross_checks_fc_host(tmp_path: Path) -> None:
    sysfs = tmp_path / "sys"
    (sysfs / "bus/pci/devices/0000:0c:00.0/host4").mkdir(parents=True)
    (sysfs / "bus/pci/devices/0000:0c:00.0/power").mkdir()
    fc = sysfs / "class/fc_host/host4"
    fc.mkdir(parents=True)
    (fc / "port_state").write_text("Linkdown\n")
    got, _ = collect(make_collector(tmp_path, old_format_kmsg(tmp_path), False, str(sysfs)))
    p4 = 'host="host4",pci="0000:0c:00.0"'
    assert got[f'fctarget_link_events_total{{event="lip_reset",{p4}}}'] == 1
    assert got[f'fctarget_link_events_total{{event="lip",{p4}}}'] == 1
    assert got[f'fctarget_link_events_total{{event="loop_up",{p4}}}'] == 1
    assert got[f"fctarget_link_speed_bytes_per_second{{{p4}}}"] == 1e9
    # the log says up (LOOP UP last) but fc_host says Linkdown now: sysfs wins, mismatch flagged
    assert got[f"fctarget_link_up{{{p4}}}"] == 0
    assert got[f"fctarget_link_state_mismatch{{{p4}}}"] == 1
    ts = got[f'fctarget_link_last_event_timestamp_seconds{{event="loop_up",{p4}}}']
    assert ts == pytest.approx(BTIME + 2.280910)
    # 5 qla2xxx lines of 0000:0c:00.1 and 1 of 0000:0c:00.0 (MRK-IOCB) are not link events
    assert got['fctarget_kmsg_unparsed_qla2xxx_total{reason="message"}'] == 6
    assert got['fctarget_kmsg_unparsed_qla2xxx_total{reason="prefix"}'] == 0


def test_collector_old_prefix_without_sysfs_keeps_series(tmp_path: Path) -> None:
    got, _ = collect(
        make_collector(tmp_path, old_format_kmsg(tmp_path), False, str(tmp_path / "nosys"))
    )
    p = 'host="",pci="0000:0c:00.0"'
    assert got[f"fctarget_link_up{{{p}}}"] == 1
    assert f"fctarget_link_state_mismatch{{{p}}}" not in got


def test_collector_reports_failure_when_log_unreadable(tmp_path: Path) -> None:
    got, out = collect(
        make_collector(tmp_path, str(tmp_path / "missing"), False, str(tmp_path / "nosys"))
    )
    assert out.errors == ["kmsg:ENOENT"]
    assert got["fctarget_kmsg_follower_up"] == 0
    assert got["fctarget_kmsg_records_total"] == 0


def test_once_replays_a_saved_file(tmp_path: Path) -> None:
    kmsg = fixture_file(tmp_path, "guest-kmsg-6.1.txt")
    sysfs = tmp_path / "sys"
    sysfs.mkdir()
    r = run_exporter(
        "--once",
        "--collector.disable-defaults",
        "--collector.kmsg",
        "--collector.kmsg.accept-user-records",
        f"--path.kmsg={kmsg}",
        f"--path.procfs={procfs(tmp_path)}",
        f"--path.sysfs={sysfs}",
    )
    assert r.returncode == 0, r.stderr
    got = parse_samples(r.stdout)
    assert got[f'fctarget_link_events_total{{event="loop_up",{P3}}}'] == 1
    assert got[f"fctarget_link_up{{{P3}}}"] == 0
    assert got[f"fctarget_link_speed_bytes_per_second{{{P3}}}"] == 1e9
    assert got['fctarget_scrape_collector_success{collector="kmsg"}'] == 1


def test_once_fails_cleanly_when_log_missing(tmp_path: Path) -> None:
    r = run_exporter(
        "--once",
        "--collector.disable-defaults",
        "--collector.kmsg",
        f"--path.kmsg={tmp_path / 'nope'}",
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "does not exist" in r.stderr
    assert parse_samples(r.stdout)['fctarget_scrape_collector_success{collector="kmsg"}'] == 0


_QLA_TEXTS = st.sampled_from(
    [
        "LOOP UP detected (8 Gbps).",
        "LOOP UP detected (? Gbps).",
        "LOOP UP detected (",
        "LOOP DOWN detected (2 7 0 0).",
        "LIP occurred (f7f7).",
        "RSCN database changed -- 0001 0200 0a00.",
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
                st.integers(0, 50),
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
    sp = RecordSplitter()
    for c in chunks:
        for r in sp.feed(c):
            t.feed_raw(r)
    for r in sp.flush_all():
        t.feed_raw(r)
    for port in t.ports.values():
        assert sum(port.events.values()) >= 1
        assert set(port.events) == set(port.last_ts)
    assert t.lost >= 0
