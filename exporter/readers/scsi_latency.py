"""The scsi_latency reader: runs bpftrace (Debian package bpftrace, 0.17 in Debian 12) as a child
process with the program of scsi_latency_bt.py, and keeps the last complete dump it printed.

The kernel does the aggregation (histograms, counts); this side only splits the JSON records
into dumps at the program's `end` marker and hands each to the pure parser
(exporter/parsers/scsi_latency.py) — the unit tests feed recorded dumps through `feed_line`, the
same path as the live child's stdout.

Requirements, checked before bpftrace is started so the error names what is missing:
bpftrace on PATH (or --collector.scsi_latency.bpftrace), root (bpftrace 0.17 refuses any other
user) with CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) effective, kernel BTF
(/sys/kernel/btf/vmlinux) and target_core_mod loaded (/sys/kernel/btf/target_core_mod: the
tracepoints and struct se_cmd live there). SIGTERM to bpftrace detaches both programs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from exporter import fsread
from exporter.parsers.btf_offsets import parse_offsets
from exporter.parsers.scsi_latency import RawDump, parse_dump
from exporter.paths import HostPaths
from exporter.readers.scsi_latency_bt import script

CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 21, 38, 39
END_MARKER = '{"type": "printf", "data": "end\\n"}'
MAX_RECORDS = 64  # records per dump before the dump is declared garbage (the program has 13)
MAX_LINE = 16 << 20  # one map printed as one line: bounded by the maps' key limit


@dataclass(frozen=True)
class TracerConfig:
    bpftrace: str = "bpftrace"
    bpftool: str = "bpftool"
    interval: float = 1.0  # seconds between dumps
    slots: int = 4096  # ring entries per CPU (starts remembered for eviction)
    map_keys: int = 65536  # BPFTRACE_MAP_KEYS_MAX: every map's bound


@dataclass(frozen=True)
class TracerState:
    running: bool
    dump: RawDump | None  # the last complete dump; None before the first
    dump_time: float | None  # time.monotonic() when it ended
    started_at: float | None  # monotonic time bpftrace reported its probes attached
    attach_seconds: float | None  # spawn -> "attached_probes"
    error: tuple[str, str] | None  # (what, message) of the last failure
    dumps: int
    bad_dumps: int
    cpu_seconds: float | None  # the bpftrace process's user + system CPU time


def capabilities(status: bytes) -> int | None:
    """CapEff from /proc/self/status, or None when it is not there."""
    for line in status.splitlines():
        if line.startswith(b"CapEff:"):
            try:
                return int(line.split()[1], 16)
            except (IndexError, ValueError):
                return None
    return None


def requirement_problem(
    paths: HostPaths, bpftrace: str, bpftool: str = "bpftool"
) -> tuple[str, str] | None:
    """(what, message) naming the first missing requirement, or None when all are there."""
    if shutil.which(bpftrace) is None:
        return ("bpftrace", f"{bpftrace} not found: install bpftrace (Debian package bpftrace)")
    if shutil.which(bpftool) is None:
        return ("bpftool", f"{bpftool} not found: install bpftool (Debian package bpftool)")
    try:
        caps = capabilities(fsread.read_bytes(os.path.join(paths.procfs, "self", "status")))
    except OSError:
        caps = None
    have = caps or 0
    bpf_caps = have >> CAP_BPF & 1 and have >> CAP_PERFMON & 1
    if os.geteuid() != 0 or not (bpf_caps or have >> CAP_SYS_ADMIN & 1):
        return (
            "privilege",
            "needs root with CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) to attach eBPF programs; "
            f"running as uid {os.geteuid()} with effective capabilities {have:#x} "
            "(bpftrace 0.17 refuses to run as any user but root)",
        )
    btf = os.path.join(paths.sysfs, "kernel", "btf")
    if not os.path.exists(os.path.join(btf, "vmlinux")):
        return ("btf", "the kernel has no BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF")
    if not os.path.exists(os.path.join(btf, "target_core_mod")):
        return ("target_core_mod", "target_core_mod is not loaded (no LIO target, no tracepoints)")
    events = [
        os.path.join(paths.sysfs, "kernel", *sub, "events", "target")
        for sub in (("tracing",), ("debug", "tracing"))
    ]
    if not any(os.path.isdir(e) for e in events):
        return ("tracefs", f"no target tracepoints: tracefs is not mounted ({events[0]} missing)")
    return None


def _proc_cpu_seconds(procfs: str, pid: int) -> float | None:
    try:
        stat = fsread.read_bytes(os.path.join(procfs, str(pid), "stat"))
        fields = stat.rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Tracer:
    """One bpftrace child and the reader thread of its stdout."""

    def __init__(
        self, paths: HostPaths, config: TracerConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.paths = paths
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: list[str] = []
        self._stderr: deque[str] = deque(maxlen=20)
        self._spawned: float | None = None
        self._dump: RawDump | None = None
        self._dump_time: float | None = None
        self._started_at: float | None = None
        self._attach: float | None = None
        self._error: tuple[str, str] | None = None
        self._dumps = 0
        self._bad = 0
        self._last_try: float | None = None
        self._stopping = False
        self._alive = False  # attached_probes seen, and the output has not ended since

    # --- the same path for live output and recorded output -------------------------------

    def feed_line(self, line: str) -> None:
        """One line of bpftrace's stdout."""
        line = line.strip()
        if not line:
            return
        if line.startswith('{"type": "attached_probes"'):
            with self._lock:
                self._alive = True
                self._started_at = self.clock()
                if self._spawned is not None:
                    self._attach = self._started_at - self._spawned
            return
        if line != END_MARKER:
            if len(self._pending) < MAX_RECORDS:
                self._pending.append(line)
            else:
                self._pending = []
                self._count_bad("too many records in one dump")
            return
        lines, self._pending = self._pending, []
        try:
            dump = parse_dump(lines)
        except ValueError as exc:
            self._count_bad(str(exc))
            return
        with self._lock:
            self._dump, self._dump_time = dump, self.clock()
            self._dumps += 1

    def _count_bad(self, message: str) -> None:
        with self._lock:
            self._bad += 1
            self._error = ("parse", f"bpftrace output: {message}")

    # --- the child ---------------------------------------------------------------------

    def ensure_running(self, retry_after: float) -> None:
        """Start bpftrace unless it runs, at most once per `retry_after` seconds."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            now = self.clock()
            if self._last_try is not None and now - self._last_try < retry_after:
                return
            self._last_try = now
        missing = requirement_problem(self.paths, self.config.bpftrace, self.config.bpftool)
        if missing is not None:
            with self._lock:
                self._error = missing
            return
        self._spawn()

    def _offsets(self) -> dict[str, int] | None:
        """This kernel's member offsets, from target_core_mod's BTF through bpftool."""
        btf = os.path.join(self.paths.sysfs, "kernel", "btf", "target_core_mod")
        try:
            r = subprocess.run(
                [self.config.bpftool, "-j", "btf", "dump", "file", btf],
                capture_output=True,
                timeout=120,
                check=False,
            )
            if r.returncode != 0:
                raise ValueError(r.stderr.decode("utf-8", "replace").strip()[-300:])
            return parse_offsets(r.stdout)
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            with self._lock:
                self._error = ("btf", f"cannot read LIO's structure layout from {btf}: {exc}")
            return None

    def _spawn(self) -> None:
        offsets = self._offsets()
        if offsets is None:
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "BPFTRACE_STRLEN": "64",
            "BPFTRACE_MAP_KEYS_MAX": str(self.config.map_keys),
        }
        prog = script(offsets, self.config.slots, max(1, round(self.config.interval * 1000)))
        try:
            proc = subprocess.Popen(
                [self.config.bpftrace, "-f", "json", "-e", prog],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # a terminal's ^C does not reach it before us
            )
        except OSError as exc:
            with self._lock:
                self._error = ("spawn", f"cannot start {self.config.bpftrace}: {exc}")
            return
        with self._lock:
            self._proc, self._spawned, self._pending = proc, self.clock(), []
            self._started_at = self._attach = None
            self._error, self._alive, self._stopping = None, False, False
        threading.Thread(target=self._read_stdout, args=(proc,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(proc,), daemon=True).start()

    def _read_stdout(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in iter(lambda: proc.stdout.readline(MAX_LINE), b""):  # type: ignore[union-attr]
            self.feed_line(raw.decode("utf-8", "replace"))
        rc = proc.wait()
        with self._lock:
            if self._proc is proc or self._proc is None:
                self._alive = False
            if self._proc is proc and not self._stopping:
                detail = " | ".join(self._stderr) or "no message"
                self._error = ("exited", f"bpftrace exited with status {rc}: {detail}")

    def _read_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in iter(proc.stderr.readline, b""):
            text = raw.decode("utf-8", "replace").strip()
            # bpftrace 0.17 warns about RLIMIT_MEMLOCK even where memcg accounting made it moot
            if text and "RLIMIT_MEMLOCK" not in text:
                self._stderr.append(text[:300])

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (bpftrace detaches and exits), SIGKILL after `timeout`; its exit status."""
        with self._lock:
            proc, self._proc = self._proc, None
            self._stopping = True
            self._alive = False
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(timeout)

    def state(self) -> TracerState:
        with self._lock:
            proc = self._proc
            live = proc is not None and proc.poll() is None
            cpu = _proc_cpu_seconds(self.paths.procfs, proc.pid) if live and proc else None
            return TracerState(
                running=self._alive,
                dump=self._dump,
                dump_time=self._dump_time,
                started_at=self._started_at,
                attach_seconds=self._attach,
                error=self._error,
                dumps=self._dumps,
                bad_dumps=self._bad,
                cpu_seconds=cpu,
            )
