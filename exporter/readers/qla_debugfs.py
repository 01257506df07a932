"""The qla2xxx debugfs reader: `<debugfs>/qla2xxx/qla2xxx_<N>/{tgt_counters,tgt_sess,
fw_resource_count,rports/pn-*/*}`. The only code that opens these files (formats and kernel
versions in exporter/parsers/qla_debugfs.py).

debugfs is root-only: the kernel mounts it mode 0700 and qla2xxx creates every file 0400, so a
reader needs root or CAP_DAC_READ_SEARCH (packaging/systemd/fctarget-exporter.service.d/
qla2xxx-debugfs.conf). Kernel lockdown (any mode) refused every 0400 debugfs file from v5.4
(5496197f9b08) until v5.17 (358fcf5ddbec, also in later stable releases), which allows read-only
files without ioctl/mmap; an EPERM is reported with the lockdown mode in /sys/kernel/security/
lockdown.

A missing `qla2xxx` directory (module not loaded, or an ISP without debugfs support), a file an
older kernel lacks (tgt_counters before v4.5, rports/ before v5.11) and an empty tgt_counters
(the chip is down) are documented absences; an unmounted or unreadable debugfs, an unreadable or
garbled file are problems. Reading `fw_resource_count` costs a firmware mailbox command, so
`FwResourceCache` reads it at most every `min_interval` seconds per host.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from exporter import fsread
from exporter.parsers import qla_debugfs as q
from exporter.parsers.fc_host import parse_wwn
from exporter.parsers.pci import bdf_above_host
from exporter.paths import HostPaths
from exporter.readers.problems import Problem, Problems

T = TypeVar("T")
SOURCES = ("tgt_counters", "tgt_sess", "rports", "fw_resource_count")
DROP_IN = "packaging/systemd/fctarget-exporter.service.d/qla2xxx-debugfs.conf"


@dataclass(frozen=True)
class Rport:
    wwpn: str  # colon form
    fields: dict[str, int]  # RPORT_FIELDS that were readable


@dataclass(frozen=True)
class FwSnapshot:
    taken: float
    resources: q.FwResources | None  # None: unreadable or garbled (see problems)
    problems: tuple[Problem, ...] = ()  # replayed while the snapshot is served


@dataclass(frozen=True)
class QlaPort:
    host: str  # "host7"
    pci: str
    wwpn: str
    counters: q.TgtCounters | None = None  # None: absent or unreadable
    sessions: q.TgtSess | None = None
    rports: tuple[Rport, ...] | None = None  # None: no rports/ (before v5.11) or unreadable
    fw: FwSnapshot | None = None  # None: fw_resource_count not enabled or absent
    readable: dict[str, bool] = field(default_factory=dict)  # source -> read and parsed


@dataclass(frozen=True)
class QlaSnapshot:
    ports: tuple[QlaPort, ...]
    taken: float


@dataclass
class FwResourceCache:
    """fw_resource_count snapshots per debugfs host directory, re-read at most every
    `min_interval` seconds; `reads` counts the file reads (each one a mailbox command)."""

    min_interval: float
    clock: Callable[[], float] = time.monotonic
    snapshots: dict[str, FwSnapshot] = field(default_factory=dict)
    reads: int = 0

    def get(self, path: str, obj: str, now: float, lockdown: Callable[[], str]) -> FwSnapshot:
        cached = self.snapshots.get(path)
        if cached is not None and now - cached.taken < self.min_interval:
            return cached
        self.reads += 1
        problems = Problems("qla2xxx")
        raw = _read(path, obj, problems, lockdown)
        res = None
        if isinstance(raw, str):
            res = _parse(raw, path, obj, q.parse_fw_resource_count, problems)
            if res is not None and res.mailbox_error:
                problems.add(obj, "mailbox", f"{path}: {res.mailbox_error}")
                res = None
        snap = FwSnapshot(now, res, tuple(problems.items))
        if raw is not None:
            self.snapshots[path] = snap
        return snap


def lockdown_mode(paths: HostPaths) -> str:
    """The active mode in /sys/kernel/security/lockdown (`none [integrity] confidentiality`);
    "" when the file is absent or unreadable."""
    try:
        text = fsread.read_text(paths.sys("kernel", "security", "lockdown"))
    except OSError:
        return ""
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else ""


def _explain(exc: OSError, lockdown: Callable[[], str]) -> str:
    if exc.errno == errno.EACCES:
        return (
            "permission denied: debugfs is root-only (mount mode 0700, files 0400); run as root "
            f"or grant CAP_DAC_READ_SEARCH ({DROP_IN})"
        )
    if exc.errno == errno.EPERM:
        mode = lockdown() or "unknown"
        return (
            f"refused (EPERM); kernel lockdown is {mode!r}: kernels 5.4 to 5.16 refuse 0400 "
            "debugfs files under any lockdown mode"
        )
    return exc.strerror or str(exc)


def _read(path: str, obj: str, problems: Problems, lockdown: Callable[[], str]) -> str | None:
    """The file's text; None when it does not exist (documented absence) or is unreadable."""
    try:
        return fsread.read_text(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.add(obj, _errno(exc), f"{path}: {_explain(exc, lockdown)}", _depth=2)
        return None


def _parse(
    text: str, path: str, obj: str, parse: Callable[[str], T], problems: Problems
) -> T | None:
    try:
        value = parse(text)
    except ValueError as exc:
        problems.add(obj, "parse", f"{path}: {exc}", _depth=2)
        return None
    garbled = getattr(value, "garbled", ())
    if garbled:
        problems.add(
            obj, "garbled", f"{path}: {len(garbled)} line(s) not understood: {garbled[0]!r}"
        )
    return value


def _errno(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def _read_rport(
    d: str, obj: str, problems: Problems, lockdown: Callable[[], str]
) -> dict[str, int]:
    """The RPORT_FIELDS of one `rports/pn-*` directory that could be read."""
    values: dict[str, int] = {}
    for path, content in fsread.read_many(os.path.join(d, f) for f in q.RPORT_FIELDS).items():
        f = os.path.basename(path)
        if isinstance(content, FileNotFoundError):
            continue  # the initiator's fc_port went away while being read
        if isinstance(content, OSError):
            problems.add(obj, _errno(content), f"{path}: {_explain(content, lockdown)}")
            continue
        text = content.decode("utf-8", "replace")
        v = _parse(text, path, f"{obj}/{f}", partial(q.parse_rport_value, field=f), problems)
        if v is not None:
            values[f] = v
    return values


def _read_rports(
    d: str, obj: str, problems: Problems, lockdown: Callable[[], str]
) -> tuple[Rport, ...] | None:
    try:
        names = sorted(os.listdir(d))
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.add(obj, _errno(exc), f"{d}: {_explain(exc, lockdown)}")
        return None
    out: list[Rport] = []
    for name in names:
        wwpn = q.rport_wwpn(name)
        if wwpn is None:
            continue
        values = _read_rport(os.path.join(d, name), f"{obj}/{name}", problems, lockdown)
        if values:
            out.append(Rport(wwpn, values))
    return tuple(out)


def _identity(paths: HostPaths, host: str) -> tuple[str, str]:
    """(pci, wwpn) of a SCSI host from fc_host sysfs; "" where unknown."""
    link = paths.sys("class", "fc_host", host)
    pci = bdf_above_host(fsread.realpath(link), host) or ""
    try:
        wwpn = parse_wwn(fsread.read_text(os.path.join(link, "port_name")))
    except (OSError, ValueError):
        wwpn = ""
    return pci, wwpn


def _source(
    d: str, source: str, parse: Callable[[str], T], problems: Problems, lockdown: Callable[[], str]
) -> tuple[T | None, bool | None]:
    """(parsed value, readable) of one file; readable None when the file does not exist."""
    host_str = os.path.basename(d)
    before = len(problems.items)
    path = os.path.join(d, source)
    text = _read(path, f"{host_str}/{source}", problems, lockdown)
    if text is None:
        return None, (False if len(problems.items) > before else None)
    value = _parse(text, path, f"{host_str}/{source}", parse, problems)
    return value, len(problems.items) == before


def read_host(
    paths: HostPaths, host_str: str, problems: Problems, fw: FwResourceCache | None, now: float
) -> QlaPort:
    """One `qla2xxx_<N>` directory."""
    d = paths.debug(q.DRIVER_DIR, host_str)
    host = f"host{q.host_number(host_str)}"
    pci, wwpn = _identity(paths, host)

    def lockdown() -> str:
        return lockdown_mode(paths)

    readable: dict[str, bool] = {}
    counters, ok = _source(d, "tgt_counters", q.parse_tgt_counters, problems, lockdown)
    if ok is not None:
        readable["tgt_counters"] = ok
    sessions, ok = _source(d, "tgt_sess", q.parse_tgt_sess, problems, lockdown)
    if ok is not None:
        readable["tgt_sess"] = ok
    before = len(problems.items)
    rports = _read_rports(os.path.join(d, "rports"), f"{host_str}/rports", problems, lockdown)
    if rports is not None or len(problems.items) > before:
        readable["rports"] = rports is not None and len(problems.items) == before
    snap = None
    if fw is not None:
        path = os.path.join(d, "fw_resource_count")
        snap = fw.get(path, f"{host_str}/fw_resource_count", now, lockdown)
        problems.items.extend(snap.problems)
        if snap.resources is None and not snap.problems:
            snap = None  # no such file: a kernel without it
        else:
            readable["fw_resource_count"] = snap.resources is not None
    return QlaPort(host, pci, wwpn, counters, sessions, rports, snap, readable)


def read_qla_debugfs(
    paths: HostPaths, problems: Problems, fw: FwResourceCache | None
) -> QlaSnapshot:
    """Every qla2xxx debugfs host directory; `fw` None leaves fw_resource_count unread."""
    now = fw.clock() if fw is not None else time.monotonic()
    root = paths.debug()
    try:
        top = os.listdir(root)
    except FileNotFoundError:
        top = []
    except OSError as exc:
        problems.add(
            "debugfs", _errno(exc), f"{root}: {_explain(exc, lambda: lockdown_mode(paths))}"
        )
        return QlaSnapshot((), now)
    if not top:
        problems.add(
            "debugfs",
            "not_mounted",
            f"{root}: debugfs is not mounted (mount -t debugfs none {root}; the kernel "
            "parameter debugfs=off or CONFIG_DEBUG_FS=n also leave it empty)",
        )
        return QlaSnapshot((), now)
    base = paths.debug(q.DRIVER_DIR)
    try:
        hosts = [h for h in os.listdir(base) if q.host_number(h) is not None]
    except FileNotFoundError:
        return QlaSnapshot((), now)  # qla2xxx not loaded, or no ISP with debugfs support
    except OSError as exc:
        problems.add(
            q.DRIVER_DIR, _errno(exc), f"{base}: {_explain(exc, lambda: lockdown_mode(paths))}"
        )
        return QlaSnapshot((), now)
    hosts.sort(key=lambda h: q.host_number(h) or 0)
    ports = tuple(read_host(paths, h, problems, fw, now) for h in hosts)
    if fw is not None:
        keep = {paths.debug(q.DRIVER_DIR, h, "fw_resource_count") for h in hosts}
        fw.snapshots = {k: v for k, v in fw.snapshots.items() if k in keep}
    return QlaSnapshot(ports, now)
