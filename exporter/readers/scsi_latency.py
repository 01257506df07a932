"""The scsi_latency reader: loads the compiled CO-RE object exporter/bpf/scsi_latency.bpf.o
through libbpf.so.1 (exporter/readers/libbpf.py), attaches its two tp_btf programs, and reads its
maps on each scrape into the pure parser (exporter/parsers/scsi_latency.py) — the unit tests
feed recorded map contents through `Tracer.read_maps`'s same parse path.

Requirements, checked before loading so the error names what is missing: libbpf.so.1 (Debian
package libbpf1 >= 1.0), the compiled object (`make bpf`; the .deb ships it), kernel BTF
(/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF) and target_core_mod's module BTF
(/sys/kernel/btf/target_core_mod: the tracepoints and struct se_cmd live there;
CONFIG_DEBUG_INFO_BTF_MODULES), and CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN): libbpf's EPERM /
EACCES is reported as that. Closing the object destroys the links: the programs detach.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exporter import fsread
from exporter.parsers.scsi_latency import MAPS, RawDump, parse_maps
from exporter.paths import HostPaths
from exporter.readers import libbpf

CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 21, 38, 39
OBJECT_NAME = "scsi_latency.bpf.o"
# next to the package (make bpf, the wheel and the .deb put it there)
DEFAULT_OBJECT = str(Path(__file__).resolve().parent.parent / "bpf" / OBJECT_NAME)
MAX_ENTRIES = {"lat": 4096, "status": 4096, "nexus": 1024, "tpgs": 1024, "inis": 1024}
PRIVILEGE = (
    "needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN, e.g. root) to load and attach eBPF programs"
)


@dataclass(frozen=True)
class TracerConfig:
    object_path: str = DEFAULT_OBJECT
    max_in_flight: int = 16384  # entries of the LRU start map


@dataclass(frozen=True)
class TracerState:
    running: bool
    dump: RawDump | None  # the maps as of this read; None when not attached
    attach_seconds: float | None  # open -> both programs attached
    error: tuple[str, str] | None  # (what, message) of the last failure


def capabilities(status: bytes) -> int | None:
    """CapEff from /proc/self/status, or None when it is not there."""
    for line in status.splitlines():
        if line.startswith(b"CapEff:"):
            try:
                return int(line.split()[1], 16)
            except (IndexError, ValueError):
                return None
    return None


def _privilege_message(paths: HostPaths) -> str:
    try:
        caps = capabilities(fsread.read_bytes(os.path.join(paths.procfs, "self", "status")))
    except OSError:
        caps = None
    return f"{PRIVILEGE}; running as uid {os.geteuid()} with effective capabilities {caps or 0:#x}"


def requirement_problem(paths: HostPaths, object_path: str) -> tuple[str, str] | None:
    """(what, message) naming the first missing requirement, or None when all are there."""
    try:
        libbpf.library()
    except OSError as exc:
        return ("libbpf", f"{libbpf.LIBBPF} not loadable (Debian package libbpf1): {exc}")
    if not os.path.isfile(object_path):
        return ("object", f"the compiled eBPF object {object_path} is missing (make bpf)")
    btf = os.path.join(paths.sysfs, "kernel", "btf")
    if not os.path.exists(os.path.join(btf, "vmlinux")):
        return ("btf", "the kernel has no BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF")
    if not os.path.exists(os.path.join(btf, "target_core_mod")):
        return (
            "target_core_mod",
            "no BTF for target_core_mod (/sys/kernel/btf/target_core_mod): the module is not "
            "loaded (no LIO target) or the kernel lacks CONFIG_DEBUG_INFO_BTF_MODULES",
        )
    try:
        caps = capabilities(fsread.read_bytes(os.path.join(paths.procfs, "self", "status")))
    except OSError:
        caps = None
    have = caps or 0
    if not ((have >> CAP_BPF & 1 and have >> CAP_PERFMON & 1) or have >> CAP_SYS_ADMIN & 1):
        return ("privilege", _privilege_message(paths))
    return None


class Tracer:
    """The loaded object and its links; `read()` dumps the maps."""

    def __init__(
        self, paths: HostPaths, config: TracerConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.paths = paths
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._obj: libbpf.BpfObject | None = None
        self._attach: float | None = None
        self._error: tuple[str, str] | None = None
        self._last_try: float | None = None

    def ensure_running(self, retry_after: float) -> None:
        """Load and attach unless attached, at most once per `retry_after` seconds."""
        with self._lock:
            if self._obj is not None:
                return
            now = self.clock()
            if self._last_try is not None and now - self._last_try < retry_after:
                return
            self._last_try = now
            missing = requirement_problem(self.paths, self.config.object_path)
            if missing is not None:
                self._error = missing
                return
            self._load(now)

    def _load(self, t0: float) -> None:
        obj = None
        try:
            obj = libbpf.BpfObject(self.config.object_path)
            obj.set_max_entries("starts", self.config.max_in_flight)
            for name, n in MAX_ENTRIES.items():
                obj.set_max_entries(name, n)
            obj.load()
            obj.attach_all()
        except libbpf.BpfError as exc:
            if obj is not None:
                obj.close()
            self._error = _explain(exc, self.paths)
            return
        self._obj, self._attach, self._error = obj, self.clock() - t0, None

    def read(self) -> TracerState:
        """The maps now (parsed), or the reason there are none."""
        with self._lock:
            obj = self._obj
            if obj is None:
                return TracerState(False, None, self._attach, self._error)
            try:
                dump = read_maps(obj)
            except (libbpf.BpfError, ValueError) as exc:
                return TracerState(True, None, self._attach, ("maps", f"reading the maps: {exc}"))
            return TracerState(True, dump, self._attach, None)

    def program_ids(self) -> list[int]:
        with self._lock:
            return self._obj.program_ids() if self._obj is not None else []

    def stop(self) -> None:
        """Detach both programs and free the maps."""
        with self._lock:
            obj, self._obj = self._obj, None
        if obj is not None:
            obj.close()


def read_maps(obj: libbpf.BpfObject) -> RawDump:
    """Every entry of every map of MAPS, parsed."""
    limit = {**MAX_ENTRIES, "starts": 1 << 22}
    return parse_maps({m: obj.dump(m, limit[m]) for m in MAPS})


def _explain(exc: libbpf.BpfError, paths: HostPaths) -> tuple[str, str]:
    if exc.errno in (errno.EPERM, errno.EACCES):
        return ("privilege", f"{exc.what}: {_privilege_message(paths)}")
    if exc.what == "load" and exc.errno in (errno.ESRCH, errno.ENOENT, errno.EINVAL):
        hint = (
            " (CO-RE relocation or verification failed: is this kernel's LIO missing a "
            "member the program reads?)"
        )
        return ("load", f"loading {OBJECT_NAME}: {os.strerror(exc.errno or 0)}{hint}")
    return (exc.what.split()[0], f"{OBJECT_NAME}: {exc}")
