"""The one reader of the kernel log: follows `--path.kmsg` for the life of the process.

`KmsgFollower` reads raw records, accounts their sequence numbers (records lost to ring-buffer
overruns, records already counted before a reopen), drops what is not kernel-made, and hands each
trusted record, parsed (exporter/parsers/kmsg.py), with its wall-clock time to a sink (the link
tracker, exporter/parsers/qla2xxx_links.py). `snapshot()` is its own counters and state.
`--path.kmsg` is one of:
- the character device /dev/kmsg: non-blocking reads, one record per read() (devkmsg_read() in
  kernel/printk/printk.c fails with EINVAL if the buffer is smaller than the record, so reads use
  READ_SIZE >= 8192); EAGAIN -> wait for readability with loop.add_reader; EPIPE -> records were
  overwritten before we read them: the seq gap of the next record is the number lost;
- a FIFO (tests, demos): several records may arrive in one read, split on line boundaries;
- a regular file (a saved `cat /dev/kmsg`, or a log another process appends to): read it
  all, then poll for appended data like `tail -f` (epoll does not work on regular files).
Errors never end the follower: it reports them, waits (exponential backoff) and reopens. A reopen
of the device or a file replays records: those up to the last sequence number counted are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from exporter.logsetup import RateLimitedLog
from exporter.parsers.kmsg import FACILITY_KERNEL, KmsgRecord, RecordSplitter, parse_record
from exporter.readers.boottime import monotonic_boot_time, read_btime
from exporter.readers.kmsg_pace import SCRAPE_WINDOW, Throttle

LOG = logging.getLogger("fctarget_exporter.kmsg")

READ_SIZE = 64 * 1024  # >= 8192 for /dev/kmsg; larger helps FIFOs and files
CHUNK = 32  # records between clock checks

KIND_DEVICE = "device"
KIND_FIFO = "fifo"
KIND_FILE = "file"

# Problems key (exporter/readers/problems.py, `<source>:<object>:<what>`) of a follower failure.
SOURCE = "kmsg"
OBJECT = "follower"

ReadFn = Callable[[int, int], bytes]
OpenFn = Callable[[str, int], int]
Sink = Callable[[KmsgRecord, float], None]  # a trusted record and its wall-clock time


@dataclass(frozen=True)
class FollowerConfig:
    path: str
    procfs: str = "/proc"
    accept_user_records: bool = False  # trust facility != 0 (tests and demos only)
    poll_interval: float = 1.0  # regular file: how often to look for appended records
    backoff_min: float = 1.0
    backoff_max: float = 60.0


@dataclass(frozen=True)
class FollowerIO:
    """The follower's read/open calls, replaceable to inject errors in tests."""

    read: ReadFn = os.read
    opener: OpenFn = os.open


@dataclass(frozen=True)
class FollowerError:
    what: str  # the last part of the problem key: an errno name, or bug-<exception>
    message: str

    @property
    def key(self) -> str:
        return f"{SOURCE}:{OBJECT}:{self.what}"


@dataclass(frozen=True)
class KmsgState:
    """The reader's own counters and state."""

    records: int  # parsed records of all facilities
    lost: int  # sequence gaps
    malformed: int
    overruns: int  # EPIPE seen
    user_ignored: int
    up: bool  # open and followed without a current error
    error: FollowerError | None


class KmsgFollower:
    def __init__(
        self,
        config: FollowerConfig,
        sink: Sink,
        errlog: RateLimitedLog | None = None,
        io: FollowerIO | None = None,
    ) -> None:
        self.config = config
        self.path = config.path
        self.poll_interval = config.poll_interval
        self._sink = sink
        self.errlog = errlog if errlog is not None else RateLimitedLog(LOG)
        self._io = io if io is not None else FollowerIO()
        # counters (KmsgState)
        self.records = 0
        self.lost = 0
        self.malformed = 0
        self.overruns = 0
        self.user_ignored = 0
        self.boot_time = 0.0  # wall-clock seconds at usec == 0
        self.last_seq: int | None = None
        # After a reopen the device (and a file) replay records: skip what was already counted.
        self._skip_through: int | None = None
        self.kind: str | None = None
        self.up = False
        self.error: FollowerError | None = None  # current failure, None while following fine
        self.opens = 0
        self.initial_sync = asyncio.Event()  # set once the records present at start are read
        self._task: asyncio.Task[None] | None = None
        self._fd: int | None = None
        self._file_lock = asyncio.Lock()
        self._splitter = RecordSplitter()
        self._file_offset = 0
        self._file_ino: tuple[int, int] | None = None
        self.scrape_until = 0.0  # perf_counter() time until which a scrape may be running

    def snapshot(self) -> KmsgState:
        return KmsgState(
            records=self.records,
            lost=self.lost,
            malformed=self.malformed,
            overruns=self.overruns,
            user_ignored=self.user_ignored,
            up=self.up and self.error is None,
            error=self.error,
        )

    def feed_raw(self, raw: bytes) -> None:
        """One raw record: parse it, account its sequence number, hand it on if trusted."""
        try:
            rec = parse_record(raw)
        except ValueError:
            self.malformed += 1
            return
        seq = rec.seq
        skip = self._skip_through
        if skip is not None:
            if seq <= skip:
                return
            self._skip_through = None
        last = self.last_seq
        if last is not None and seq > last + 1:
            self.lost += seq - last - 1
        # seq going backwards: a new boot or a rewritten file; restart the baseline, lose nothing
        self.last_seq = seq
        self.records += 1
        if rec.facility != FACILITY_KERNEL and not self.config.accept_user_records:
            # Anything written to /dev/kmsg from user space has facility >= 1 (devkmsg_write()):
            # trusting it would let any local process fake link events.
            self.user_ignored += 1
            return
        # usec <= 2^64-1 (parse_record): the float is finite
        self._sink(rec, self.boot_time + rec.usec / 1e6)

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
        backoff = self.config.backoff_min
        while True:
            seen = self.records + self.malformed
            try:
                fd = await self._open_source()
                self.up = True
                self.error = None
                await self._follow(fd)
            except asyncio.CancelledError:
                self._close()
                raise
            except OSError as exc:
                self._report(exc)
            except Exception as exc:  # noqa: BLE001 - a bug must not end the follower for good
                self._report_bug(exc)
            self._close()
            self.initial_sync.set()  # whatever state we have is all we will get for now
            if self.error is None:
                # a FIFO writer went away: reopen at once, poll() blocks until the next writer
                backoff = self.config.backoff_min
                continue
            if self.records + self.malformed > seen:
                backoff = self.config.backoff_min  # it worked for a while: a new failure
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.config.backoff_max)

    def _report(self, exc: OSError) -> None:
        code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        if exc.errno in (errno.EPERM, errno.EACCES):
            message = (
                f"cannot read the kernel log {self.path}: {exc.strerror}. Reading /dev/kmsg needs "
                "CAP_SYSLOG when kernel.dmesg_restrict=1 (and fails for everyone with "
                "kernel.printk_devkmsg=off); grant the exporter CAP_SYSLOG (systemd: "
                "AmbientCapabilities=CAP_SYSLOG) or run with --no-collector.kmsg. Link events are "
                "not collected until this is fixed; all other collectors keep running"
            )
        elif exc.errno == errno.ENOENT:
            message = f"kernel log {self.path} does not exist; retrying"
        else:
            message = f"kernel log {self.path}: {exc.strerror or exc}; reopening"
        self.error = FollowerError(code, message)
        self.errlog.error(self.error.key, message, collector="kmsg", path=self.path)

    def _report_bug(self, exc: Exception) -> None:
        # Rate-limited like any failure (it may repeat on every restart); where it happened is
        # enough to find it, the restart resumes after the last record counted.
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{os.path.basename(frame.filename)}:{frame.lineno}"
        self.error = FollowerError(
            f"bug-{type(exc).__name__}", f"kmsg follower failed: {exc!r} at {where}; restarting"
        )
        self.errlog.error(self.error.key, self.error.message, collector="kmsg", path=self.path)

    async def _open_source(self) -> int:
        fd = self._io.opener(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
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
        if self.kind == KIND_DEVICE and os.path.realpath(self.config.procfs) == "/proc":
            self.boot_time = monotonic_boot_time()
        else:
            btime = await asyncio.to_thread(read_btime, self.config.procfs)
            self.boot_time = btime if btime is not None else monotonic_boot_time()
        if self.kind != KIND_FIFO:
            # The device starts again at the oldest record it holds, a file at its first: resume
            # after the last one counted (a FIFO never replays).
            self._skip_through = self.last_seq
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
        splitter = self._splitter
        if not device:
            # A FIFO without a writer reads as EOF at once: wait for a writer's data first.
            self.initial_sync.set()
            await self._wait_readable(fd)
        throttle = Throttle(self)
        while True:
            try:
                data = self._io.read(fd, READ_SIZE)
            except BlockingIOError:
                for r in splitter.flush():
                    self.feed_raw(r)
                self.initial_sync.set()
                await self._wait_readable(fd)
                throttle.reset()
                continue
            except OSError as exc:
                if exc.errno == errno.EPIPE:
                    # The kernel moved our position to the oldest record still there; the seq gap
                    # of the next record counts what was lost.
                    self.overruns += 1
                    continue
                if exc.errno == errno.EINTR:
                    continue
                raise
            if not data:
                if device:
                    raise OSError(errno.ENODEV, "end of file on the kernel log device")
                for r in splitter.flush_all():
                    self.feed_raw(r)
                return
            if device:
                # One read() is one whole record, continuation lines included.
                self.feed_raw(data)
                await throttle.tick()
            else:
                await self._feed_all(splitter.feed(data), throttle)

    async def _feed_all(self, recs: list[bytes], throttle: Throttle) -> None:
        feed = self.feed_raw
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
                LOG.info("kernel log file replaced or truncated; rereading it")
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
            throttle = Throttle(self)
            while True:
                data = await asyncio.to_thread(os.pread, fd, READ_SIZE, self._file_offset)
                if not data:
                    break
                grew = True
                self._file_offset += len(data)
                await self._feed_all(self._splitter.feed(data), throttle)
            tail = self._splitter.flush_all() if final else self._splitter.flush()
            for r in tail:
                self.feed_raw(r)
            return grew
