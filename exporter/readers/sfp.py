"""The qla2xxx SFP reader: `class/scsi_host/hostN/device/sfp`, the only code that opens it.

Each read of the file makes the firmware read the module's EEPROM over I2C in eight 64-byte
mailbox commands (qla_mbx.c qla2x00_read_sfp_dev; layout in exporter/parsers/sff8472.py), so
`SfpCache` reads a port's module no more often than its `min_interval` (minutes, by flag) and
serves the last snapshot, successful or failed, in between.

Privileges (qla_attr.c qla2x00_sysfs_read_sfp): the file is mode 0600 root, and the driver
returns 0 bytes unless the reader has CAP_SYS_ADMIN (capable()); it also returns 0 bytes while
the chip is down, and -EIO when a firmware read fails (no module, I2C error). The attribute
exists only on ISP24xx and later physical ports (IS_FWI2_CAPABLE; NPIV vport hosts have none):
a missing file is a documented absence, not an error.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from exporter import fsread
from exporter.parsers import sff8472
from exporter.parsers.pci import bdf_above_host
from exporter.paths import HostPaths
from exporter.readers.fc_sysfs import list_hosts, read_port_names
from exporter.readers.problems import Problem, Problems

_EMPTY_HINT = (
    "0 bytes: qla2xxx returns nothing without CAP_SYS_ADMIN, and while the chip is down "
    "(see docs/collectors.md, SFP optics)"
)
_PERM_HINT = (
    " (the file is 0600 root and the driver wants CAP_SYS_ADMIN: install "
    "packaging/systemd/fctarget-exporter-sfp.conf, see docs/security.md)"
)


@dataclass(frozen=True)
class SfpRead:
    """One read of one port's `sfp` file."""

    taken: float  # clock() when read
    port_key: str  # the port's wwpn: a snapshot belongs to one port
    module: sff8472.SfpModule | None  # None: absent file or failed read
    present: bool  # False: no `sfp` attribute on this host
    problems: tuple[Problem, ...] = ()  # replayed while the snapshot is served


@dataclass(frozen=True)
class SfpPort:
    host: str
    pci: str
    wwpn: str
    read: SfpRead


@dataclass(frozen=True)
class SfpSnapshot:
    ports: tuple[SfpPort, ...]
    taken: float


def sfp_path(paths: HostPaths, host: str) -> str:
    return paths.sys("class", "scsi_host", host, "device", "sfp")


def read_sfp_file(path: str, host: str, port_key: str, now: float) -> SfpRead:
    """Read and decode one `sfp` file (eight firmware reads on a real HBA)."""
    problems = Problems("sfp")
    obj = f"{host}/device/sfp"
    try:
        # One read() call of more than SFP_DEV_SIZE bytes at offset 0: the driver answers a
        # smaller first read with 0 bytes.
        data = fsread.read_bytes(path, limit=2 * sff8472.SFP_DEV_SIZE)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return SfpRead(now, port_key, None, False)
        problems.os_error(obj, path, exc)
        if exc.errno in (errno.EACCES, errno.EPERM):
            problems.items[-1] = Problem(
                problems.items[-1].key, problems.items[-1].message + _PERM_HINT
            )
        return SfpRead(now, port_key, None, True, tuple(problems.items))
    if not data:
        problems.add(obj, "empty", f"{path}: {_EMPTY_HINT}")
        return SfpRead(now, port_key, None, True, tuple(problems.items))
    try:
        module = sff8472.parse_sfp(data)
    except ValueError as exc:
        problems.add(obj, "parse", f"{path}: {exc}")
        return SfpRead(now, port_key, None, True, tuple(problems.items))
    return SfpRead(now, port_key, module, True)


@dataclass
class SfpCache:
    """The last read per host, re-read at most every `min_interval` seconds, or at once when the
    host is another port now. `reads` counts the file reads (each costs eight firmware
    commands); the collector owns the cache."""

    min_interval: float
    clock: Callable[[], float] = time.monotonic
    snapshots: dict[str, SfpRead] = field(default_factory=dict)
    reads: int = 0

    def get(self, path: str, host: str, port_key: str, now: float) -> SfpRead:
        cached = self.snapshots.get(host)
        if cached is None or cached.port_key != port_key or now - cached.taken >= self.min_interval:
            self.reads += 1
            cached = read_sfp_file(path, host, port_key, now)
        return cached


def read_sfp(paths: HostPaths, problems: Problems, cache: SfpCache) -> SfpSnapshot:
    """Every FC host's module through `cache`; hosts without an `sfp` file are left out."""
    now = cache.clock()
    ports: list[SfpPort] = []
    kept: dict[str, SfpRead] = {}
    for host in list_hosts(paths, problems):
        wwpn, _ = read_port_names(paths, host, problems)
        read = cache.get(sfp_path(paths, host), host, wwpn, now)
        kept[host] = read
        if not read.present:
            continue
        problems.items.extend(read.problems)  # a cached failure still fails this scrape
        link = paths.sys("class", "fc_host", host)
        pci = bdf_above_host(fsread.realpath(link), host) or ""
        ports.append(SfpPort(host, pci, wwpn, read))
    cache.snapshots = kept
    return SfpSnapshot(tuple(ports), now)


def explain_sfp(paths: HostPaths) -> list[str]:
    """`--check`: whether each host's `sfp` file can be read here, and why not (one read each:
    eight firmware commands per port, once)."""
    problems = Problems("sfp")
    hosts = list_hosts(paths, problems)
    out = ["SFP optics (class/scsi_host/hostN/device/sfp, the sfp collector):"]
    if not hosts:
        out.append("  no FC hosts")
    for host in hosts:
        path = sfp_path(paths, host)
        read = read_sfp_file(path, host, "", 0.0)
        if not read.present:
            out.append(f"  {host}: no sfp attribute (not a qla2xxx ISP24xx+ port, or a vport)")
        elif read.module is not None:
            m = read.module
            diag = "external" if m.external_calibration else "internal"
            has = f"diagnostics ({diag} calibration)" if m.diagnostics else "no diagnostics"
            name = f"{m.vendor} {m.part_number} sn {m.serial_number}"
            out.append(f"  {host}: readable: {name}, {has}")
        else:
            why = "; ".join(p.message for p in read.problems)
            euid = os.geteuid()
            out.append(f"  {host}: NOT readable (euid {euid}): {why}")
    return out
