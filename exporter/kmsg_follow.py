"""Follow the kernel log for the life of the process and keep per-port FC link state from it.

`LinkTracker` is the state (pure computation, no I/O): it takes raw records and keeps counters,
the last link event per port and the last LOOP UP speed. `KmsgFollower` feeds it from
`--path.kmsg`, which is one of:
- the character device /dev/kmsg: non-blocking reads, one record per read() (devkmsg_read() in
  kernel/printk/printk.c fails with EINVAL if the buffer is smaller than the record, so reads use
  READ_SIZE >= 8192); EAGAIN -> wait for readability with loop.add_reader; EPIPE -> records were
  overwritten before we read them: the seq gap of the next record is the number lost;
- a FIFO (tests, demos): several records may arrive in one read, split on line boundaries;
- a regular file (a saved `cat /dev/kmsg`, or the simulated host's log, which grows): read it
  all, then poll for appended data like `tail -f` (epoll does not work on regular files).
Errors never end the follower: it reports them, waits (exponential backoff) and reopens.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from exporter.logsetup import RateLimitedLog
from exporter.parsers.kmsg import FACILITY_KERNEL, KmsgRecord, RecordSplitter, parse_record
from exporter.parsers.qla2xxx_log import (
    EVENTS,
    LINK_EFFECT,
    LOOP_UP,
    QlaEvent,
    classify,
    parse_prefix,
)

READ_SIZE = 64 * 1024  # >= 8192 for /dev/kmsg; larger helps FIFOs and files
MESSAGE_CACHE = 4096  # distinct qla2xxx texts remembered (cleared when full)
# Flood control. The follower runs on the event-loop thread; while records keep coming it works
# for at most FLOOD_SLICE seconds, then sleeps FLOOD_PAUSE in epoll. Merely yielding
# (asyncio.sleep(0)) would keep the GIL on this thread, and a scrape's worker threads would wait
# for the interpreter's 5 ms switch interval at every hop; sleeping hands them the GIL at once.
# This caps the follower at FLOOD_SLICE / (FLOOD_SLICE + FLOOD_PAUSE) of one core during a flood;
# the kernel ring buffer holds the backlog and overruns are counted.
FLOOD_SLICE = 0.0005
FLOOD_PAUSE = 0.0005
# While a scrape is running (from its start until every collector is done, at most SCRAPE_WINDOW
# seconds) back off to ~1% duty, so a LIP storm costs the scrape almost nothing
# (bench/bench_kmsg.py: +16% scrape time at 10% duty, +1% at 1%). Scrapes take a small part of
# the scrape interval, so the drain rate between scrapes is what bounds the backlog.
SCRAPE_SLICE = 0.0001
SCRAPE_PAUSE = 0.01
SCRAPE_WINDOW = 1.0
CHUNK = 32  # records between clock checks
MAX_PORTS = 4096  # bound on per-port state; real hosts have a handful of ports

KIND_DEVICE = "device"
KIND_FIFO = "fifo"
KIND_FILE = "file"

ReadFn = Callable[[int, int], bytes]
OpenFn = Callable[[str, int], int]


@dataclass
class PortState:
    events: dict[str, int] = field(default_factory=dict)
    last_ts: dict[str, float] = field(default_factory=dict)
    up: bool | None = None  # from the last event that says something about the link
    speed_gbps: int | None = None  # from the last LOOP UP; None when it printed "?"
    speed_seen: bool = False

    def copy(self) -> PortState:
        return PortState(
            dict(self.events), dict(self.last_ts), self.up, self.speed_gbps, self.speed_seen
        )


@dataclass
class TrackerSnapshot:
    records: int
    lost: int
    malformed: int
    overruns: int
    user_ignored: int
    qla2xxx_records: int
    unparsed: dict[str, int]
    ports: dict[tuple[str, int | None], PortState]


class LinkTracker:
    """Counters and per-port link state built from kmsg records. No I/O; not thread-safe."""

    def __init__(self, accept_user_records: bool = False) -> None:
        self.accept_user_records = accept_user_records
        self.boot_time = 0.0  # wall-clock seconds at usec == 0
        self.records = 0
        self.lost = 0
        self.malformed = 0
        self.overruns = 0  # EPIPE seen
        self.user_ignored = 0
        self.qla2xxx_records = 0
        self.unparsed: dict[str, int] = {"prefix": 0, "message": 0, "too_many_ports": 0}
        self.ports: dict[tuple[str, int | None], PortState] = {}
        self.last_seq: int | None = None
        # After reopening the device the kernel starts again at the oldest record: skip what was
        # already counted.
        self.skip_through: int | None = None
        # A LIP storm repeats the same few texts: remember what each text meant.
        self._seen: dict[str, str | tuple[tuple[str, int | None], QlaEvent]] = {}

    def feed_raw(self, raw: bytes) -> None:
        try:
            rec = parse_record(raw)
        except ValueError:
            self.malformed += 1
            return
        self.feed(rec)

    def feed(self, rec: KmsgRecord) -> None:
        seq = rec.seq
        skip = self.skip_through
        if skip is not None:
            if seq <= skip:
                return
            self.skip_through = None
        last = self.last_seq
        if last is not None and seq > last + 1:
            self.lost += seq - last - 1
        # seq going backwards: a new boot or a rewritten file; restart the baseline, lose nothing
        self.last_seq = seq
        self.records += 1
        if rec.facility != FACILITY_KERNEL and not self.accept_user_records:
            # Anything written to /dev/kmsg from user space has facility >= 1 (devkmsg_write()):
            # trusting it would let any local process fake link events.
            self.user_ignored += 1
            return
        msg = rec.message
        if not msg.startswith("qla2xxx "):
            return
        self.qla2xxx_records += 1
        cached = self._seen.get(msg)
        if cached is None:
            cached = self._interpret(msg)
            if len(self._seen) >= MESSAGE_CACHE:
                self._seen.clear()
            self._seen[msg] = cached
        if isinstance(cached, str):
            self.unparsed[cached] += 1
            return
        key, ev = cached
        port = self.ports.get(key)
        if port is None:
            if len(self.ports) >= MAX_PORTS:
                self.unparsed["too_many_ports"] += 1
                return
            port = self.ports[key] = PortState()
        name = ev.event
        port.events[name] = port.events.get(name, 0) + 1
        port.last_ts[name] = self.boot_time + rec.usec / 1e6
        effect = LINK_EFFECT.get(name)
        if effect is not None:
            port.up = effect
        if name == LOOP_UP:
            port.speed_gbps = ev.speed_gbps
            port.speed_seen = True

    @staticmethod
    def _interpret(msg: str) -> str | tuple[tuple[str, int | None], QlaEvent]:
        """(port, event) of a qla2xxx message, or the `unparsed` reason."""
        try:
            qm = parse_prefix(msg)
        except ValueError:
            return "prefix"
        ev = classify(qm.text)
        if ev is None:
            return "message"
        return (qm.pci, qm.host), ev

    def snapshot(self) -> TrackerSnapshot:
        return TrackerSnapshot(
            records=self.records,
            lost=self.lost,
            malformed=self.malformed,
            overruns=self.overruns,
            user_ignored=self.user_ignored,
            qla2xxx_records=self.qla2xxx_records,
            unparsed=dict(self.unparsed),
            ports={k: v.copy() for k, v in self.ports.items()},
        )


assert set(LINK_EFFECT) <= set(EVENTS)


def read_btime(procfs: str) -> float | None:
    """`btime` (boot time, epoch seconds) from <procfs>/stat (fs/proc/stat.c), or None."""
    try:
        with open(os.path.join(procfs, "stat"), "rb") as f:
            data = f.read(1 << 20)
    except OSError:
        return None
    for line in data.split(b"\n"):
        if line.startswith(b"btime "):
            value = line[6:].strip()
            if value.isdigit():
                return float(value)
    return None


def _monotonic_boot_time() -> float:
    # The record timestamp is local_clock() since boot, which tracks CLOCK_MONOTONIC (both stop
    # during suspend) more closely than btime does.
    return time.time() - time.monotonic()


class _Throttle:
    """Sleeps after every slice of work during a flood (see FLOOD_SLICE)."""

    __slots__ = ("deadline", "owner")

    def __init__(self, owner: KmsgFollower) -> None:
        self.owner = owner
        self.deadline = 0.0
        self.reset()

    def reset(self) -> None:
        now = time.perf_counter()
        self.deadline = now + (SCRAPE_SLICE if now < self.owner.scrape_until else FLOOD_SLICE)

    async def tick(self) -> None:
        now = time.perf_counter()
        if now >= self.deadline:
            await asyncio.sleep(SCRAPE_PAUSE if now < self.owner.scrape_until else FLOOD_PAUSE)
            self.reset()


class KmsgFollower:
    def __init__(
        self,
        path: str,
        tracker: LinkTracker,
        *,
        log: logging.Logger,
        errlog: RateLimitedLog | None = None,
        procfs: str = "/proc",
        poll_interval: float = 1.0,
        backoff_min: float = 1.0,
        backoff_max: float = 60.0,
        read: ReadFn = os.read,
        opener: OpenFn = os.open,
    ) -> None:
        self.path = path
        self.tracker = tracker
        self.log = log
        self.errlog = errlog if errlog is not None else RateLimitedLog(log)
        self.procfs = procfs
        self.poll_interval = poll_interval
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self._read = read
        self._open = opener
        self.kind: str | None = None
        self.up = False
        self.error: str | None = None  # current failure, None while following fine
        self.error_key: str | None = None
        self.opens = 0
        self.initial_sync = asyncio.Event()  # set once the records present at start are read
        self._task: asyncio.Task[None] | None = None
        self._fd: int | None = None
        self._file_lock = asyncio.Lock()
        self._splitter = RecordSplitter()
        self._file_offset = 0
        self._file_ino: tuple[int, int] | None = None
        self.scrape_until = 0.0  # perf_counter() time until which a scrape may be running

    def scrape_started(self) -> None:
        """A scrape began: leave it the interpreter for a while (see SCRAPE_SLICE)."""
        self.scrape_until = time.perf_counter() + SCRAPE_WINDOW

    def scrape_finished(self) -> None:
        """The scrape's collectors are done: back to the flood pace."""
        self.scrape_until = 0.0

    # lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kmsg-follower")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._close()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.up = False

    # main loop ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = self.backoff_min
        while True:
            seen = self.tracker.records + self.tracker.malformed
            try:
                fd = await self._open_source()
                self.up = True
                self.error = self.error_key = None
                await self._follow(fd)
            except asyncio.CancelledError:
                self._close()
                raise
            except OSError as exc:
                self._report(exc)
            except Exception as exc:  # a bug must not end the follower for good
                self.error_key = f"kmsg:bug:{type(exc).__name__}"
                self.error = f"kmsg follower failed: {exc!r}"
                self.log.exception("kmsg follower failed; restarting it")
            self._close()
            self.initial_sync.set()  # whatever state we have is all we will get for now
            if self.error is None:
                # a FIFO writer went away: reopen at once, poll() blocks until the next writer
                backoff = self.backoff_min
                continue
            if self.tracker.records + self.tracker.malformed > seen:
                backoff = self.backoff_min  # it worked for a while: a new failure, start over
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    def _report(self, exc: OSError) -> None:
        code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        self.error_key = f"kmsg:{code}"
        if exc.errno in (errno.EPERM, errno.EACCES):
            self.error = (
                f"cannot read the kernel log {self.path}: {exc.strerror}. Reading /dev/kmsg needs "
                "CAP_SYSLOG when kernel.dmesg_restrict=1 (and fails for everyone with "
                "kernel.printk_devkmsg=off); grant the exporter CAP_SYSLOG (systemd: "
                "AmbientCapabilities=CAP_SYSLOG) or run with --no-collector.kmsg. Link events are "
                "not collected until this is fixed; all other collectors keep running"
            )
        elif exc.errno == errno.ENOENT:
            self.error = f"kernel log {self.path} does not exist; retrying"
        else:
            self.error = f"kernel log {self.path}: {exc.strerror or exc}; reopening"
        self.errlog.error(self.error_key, self.error, collector="kmsg", path=self.path)

    async def _open_source(self) -> int:
        fd = self._open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self._fd = fd
        self.opens += 1
        st = os.fstat(fd)
        if stat.S_ISCHR(st.st_mode):
            self.kind = KIND_DEVICE
        elif stat.S_ISFIFO(st.st_mode):
            self.kind = KIND_FIFO
        elif stat.S_ISREG(st.st_mode):
            self.kind = KIND_FILE
            self._file_ino = (st.st_dev, st.st_ino)
            self._file_offset = 0
        else:
            raise OSError(errno.EINVAL, "not a character device, FIFO or regular file")
        if self.kind == KIND_DEVICE and os.path.realpath(self.procfs) == "/proc":
            self.tracker.boot_time = _monotonic_boot_time()
        else:
            btime = await asyncio.to_thread(read_btime, self.procfs)
            self.tracker.boot_time = btime if btime is not None else _monotonic_boot_time()
        if self.kind == KIND_DEVICE and self.tracker.last_seq is not None:
            self.tracker.skip_through = self.tracker.last_seq
        self._splitter = RecordSplitter()
        return fd

    async def _follow(self, fd: int) -> None:
        """Returns when the source must be reopened (FIFO writer gone, file replaced)."""
        if self.kind == KIND_FILE:
            await self._follow_file(fd)
        else:
            await self._follow_stream(fd)

    async def _wait_readable(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def ready() -> None:
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await fut
        finally:
            loop.remove_reader(fd)

    async def _follow_stream(self, fd: int) -> None:
        """/dev/kmsg or a FIFO; returns when a FIFO's writer has closed."""
        device = self.kind == KIND_DEVICE
        tracker = self.tracker
        splitter = self._splitter
        if not device:
            # A FIFO without a writer reads as EOF at once: wait for a writer's data first.
            self.initial_sync.set()
            await self._wait_readable(fd)
        throttle = _Throttle(self)
        while True:
            try:
                data = self._read(fd, READ_SIZE)
            except BlockingIOError:
                for r in splitter.flush():
                    tracker.feed_raw(r)
                self.initial_sync.set()
                await self._wait_readable(fd)
                throttle.reset()
                continue
            except OSError as exc:
                if exc.errno == errno.EPIPE:
                    # The kernel moved our position to the oldest record still there; the seq gap
                    # of the next record counts what was lost.
                    tracker.overruns += 1
                    continue
                if exc.errno == errno.EINTR:
                    continue
                raise
            if not data:
                if device:
                    raise OSError(errno.ENODEV, "end of file on the kernel log device")
                for r in splitter.flush_all():
                    tracker.feed_raw(r)
                return
            if device:
                # One read() is one whole record, continuation lines included.
                tracker.feed_raw(data)
                await throttle.tick()
            else:
                await self._feed_all(splitter.feed(data), throttle)

    async def _feed_all(self, recs: list[bytes], throttle: _Throttle) -> None:
        feed = self.tracker.feed_raw
        for i in range(0, len(recs), CHUNK):
            for r in recs[i : i + CHUNK]:
                feed(r)
            await throttle.tick()

    async def _follow_file(self, fd: int) -> None:
        await self.catch_up(final=True)
        self.initial_sync.set()
        idle_ticks = 0
        while True:
            await asyncio.sleep(self.poll_interval)
            st = await asyncio.to_thread(os.stat, self.path)
            if (st.st_dev, st.st_ino) != self._file_ino or st.st_size < self._file_offset:
                # replaced or truncated: start over on the new content
                self.log.info("kernel log file replaced or truncated; rereading it")
                return
            grew = await self.catch_up(final=idle_ticks >= 1)
            idle_ticks = 0 if grew else idle_ticks + 1

    async def catch_up(self, final: bool = False) -> bool:
        """Regular file only: process what was appended since the last read. True if it grew.

        `final` also takes a last line without its newline as complete (the file is at rest).
        """
        if self.kind != KIND_FILE or self._fd is None:
            return False
        async with self._file_lock:
            fd = self._fd
            if fd is None:
                return False
            grew = False
            throttle = _Throttle(self)
            while True:
                data = await asyncio.to_thread(os.pread, fd, READ_SIZE, self._file_offset)
                if not data:
                    break
                grew = True
                self._file_offset += len(data)
                await self._feed_all(self._splitter.feed(data), throttle)
            tail = self._splitter.flush_all() if final else self._splitter.flush()
            for r in tail:
                self.tracker.feed_raw(r)
            return grew
