"""The FC transport and qla2xxx sysfs reader: `class/fc_host/hostN`, `class/scsi_host/hostN` and
`module/qla2xxx/parameters/qlini_mode`. The only code that opens these files.

Sources (formats in exporter/parsers/fc_host.py): drivers/scsi/scsi_transport_fc.c (fc_host
attributes and statistics, any driver), drivers/scsi/qla2xxx/qla_attr.c (scsi_host extras),
drivers/scsi/qla2xxx/qla_target.c (qlini_mode).

On qla2xxx every read of a `statistics/*` file issues a firmware mailbox command
(qla24xx_get_isp_stats), so `StatsCache` reads a port's statistics no more often than its
`min_interval` and serves the last snapshot in between.

One missing or unreadable file costs only the values parsed from it (node_exporter's fibrechannel
collector drops every host when a single attribute is absent).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from exporter import fsread
from exporter.parsers import fc_host as p
from exporter.parsers import qla_host as q
from exporter.parsers.pci import bdf_above_host, host_number
from exporter.paths import HostPaths
from exporter.readers.names import label_name
from exporter.readers.problems import Problem, Problems

T = TypeVar("T")

# fc_host attributes read every scrape (cheap: served from the transport's cached copy or a
# driver field, no mailbox command). The last five exist only for drivers other than qla2xxx.
FC_ATTRS: tuple[str, ...] = (
    "port_name",
    "node_name",
    "port_id",
    "port_type",
    "port_state",
    "speed",
    "supported_speeds",
    "supported_classes",
    "fabric_name",
    "symbolic_name",
    "system_hostname",
    "tgtid_bind_type",
    "dev_loss_tmo",
    "max_npiv_vports",
    "npiv_vports_inuse",
    "model",
    "model_description",
    "serial_number",
    "firmware_version",
    "driver_version",
)
# scsi_host attributes: qla2xxx (qla_attr.c) plus the SCSI midlayer's proc_name/active_mode.
# `port_speed` is not here: reading it issues a mailbox command; it is read only when the
# fc_host has no `speed` attribute.
SCSI_ATTRS: tuple[str, ...] = (
    "proc_name",
    "active_mode",
    "link_state",
    "total_isp_aborts",
    "model_name",
    "model_desc",
    "fw_version",
    "serial_num",
    "driver_version",
    "fw_dump_size",
    "min_supported_speed",
    "max_supported_speed",
)
# scsi_host attributes that cost a firmware command: read with the statistics (StatsCache).
FIRMWARE_ATTRS: tuple[str, ...] = ("fw_state", "thermal_temp")

Raw = dict[str, bytes | OSError]


@dataclass(frozen=True)
class Adapter:
    """HBA identity: qla2xxx scsi_host names first, else the fc_host ones other drivers fill."""

    driver: str = ""
    model: str = ""
    model_description: str = ""
    serial_number: str = ""
    firmware_version: str = ""
    driver_version: str = ""


@dataclass(frozen=True)
class FcStats:
    """One read of a port's `statistics/` directory."""

    taken: float  # clock() when read
    port_key: bytes  # raw port_name: a snapshot belongs to one port
    values: Mapping[str, int | None]  # file name -> value; None = all ones (unsupported / down)
    problems: tuple[Problem, ...] = ()  # replayed while the snapshot is served
    fw_state: int | None = None  # scsi_host fw_state word 0; None: absent or command failed
    thermal_temp: int | None = None  # scsi_host thermal_temp, degC; None: absent or no reading
    escaped_names: int = 0  # file names that were not UTF-8 (keys of `values` are escaped)


@dataclass(frozen=True)
class FcPort:
    host: str  # "host7"
    pci: str  # the PCI function above it; "" when none
    wwpn: str  # colon form; "" when unreadable
    wwnn: str = ""
    port_id: int | None = None
    port_type: str = ""
    port_state: str | None = None
    fabric_name: str = ""  # "" when no switch is known
    symbolic_name: str = ""
    system_hostname: str = ""
    supported_speeds: tuple[str, ...] = ()
    supported_classes: str = ""
    tgtid_bind_type: str = ""
    speed_bits: float | None = None  # bits/s; None while unknown
    dev_loss_tmo: int | None = None
    max_npiv_vports: int | None = None
    npiv_vports_inuse: int | None = None
    adapter: Adapter = field(default_factory=Adapter)
    topology: str | None = None  # qla2xxx link_state "Link Up - <topology>"; None while not up
    isp_aborts: int | None = None
    active_mode: p.ActiveMode | None = None
    fw_dump_size: int | None = None
    min_speed_bits: float | None = None  # min_supported_speed, bits/s
    max_speed_bits: float | None = None
    fw_state: int | None = None  # from the statistics snapshot (cached)
    thermal_temp: int | None = None
    stats: FcStats | None = None


@dataclass(frozen=True)
class FcSnapshot:
    qlini_mode: str | None  # None: qla2xxx not loaded
    ports: tuple[FcPort, ...]
    taken: float  # clock() at the start of the read
    fw_dump_events: Mapping[str, int] | None = None  # by host; None: no uevent monitor
    escaped_names: int = 0  # StatsCache.escaped_names: names served escaped, over every read


class _Attrs:
    """One directory's attributes as read; parse failures become problems keyed by object."""

    def __init__(self, d: str, obj: str, raw: Raw, problems: Problems) -> None:
        self.d, self.obj, self.raw, self.problems = d, obj, raw, problems

    def text(self, name: str, required: bool = False) -> str | None:
        r = self.raw.get(name)
        if r is None:
            return None
        if isinstance(r, OSError):
            if r.errno != errno.ENOENT or required:  # ENOENT: attribute this driver lacks
                self.problems.os_error(f"{self.obj}/{name}", os.path.join(self.d, name), r)
            return None
        return r.decode("utf-8", "replace")

    def get(self, name: str, parse: Callable[[str], T], required: bool = False) -> T | None:
        t = self.text(name, required)
        if t is None:
            return None
        try:
            return parse(t)
        except ValueError as exc:
            self.problems.add(f"{self.obj}/{name}", "parse", f"{os.path.join(self.d, name)}: {exc}")
            return None

    def label(self, name: str) -> str:
        return self.get(name, lambda t: p.parse_text(t, name)) or ""


def _read_dir(d: str, names: tuple[str, ...]) -> Raw:
    read = fsread.read_many(os.path.join(d, n) for n in names)
    return {os.path.basename(k): v for k, v in read.items()}


def _listdir(path: str) -> list[str] | OSError:
    """Sorted entries; [] when the directory does not exist; the OSError when unreadable."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []
    except OSError as exc:
        return exc


def read_qlini_mode(paths: HostPaths, problems: Problems) -> str | None:
    """The qla2xxx module parameter; None when the module is not loaded."""
    d = paths.sys("module", "qla2xxx", "parameters")
    raw = _read_dir(d, ("qlini_mode",))
    params = _Attrs(d, "module/qla2xxx/parameters", raw, problems)
    return params.get("qlini_mode", p.parse_qlini_mode)


def list_hosts(paths: HostPaths, problems: Problems) -> list[str]:
    """`hostN` entries of class/fc_host, by host number."""
    base = paths.sys("class", "fc_host")
    listing = _listdir(base)
    if isinstance(listing, OSError):
        problems.os_error("class/fc_host", base, listing)
        return []
    hosts = [h for h in listing if host_number(h) is not None]
    return sorted(hosts, key=lambda h: host_number(h) or 0)


def read_port_names(paths: HostPaths, host: str, problems: Problems) -> tuple[str, str]:
    """(wwpn, wwnn) in colon form ("" when unreadable): what the HBA map needs of fc_host."""
    d = paths.sys("class", "fc_host", host)
    a = _Attrs(d, host, _read_dir(d, ("port_name", "node_name")), problems)
    wwpn = a.get("port_name", p.parse_wwn) or ""
    return wwpn, a.get("node_name", lambda t: p.parse_wwn(t, "node_name")) or ""


def _adapter(scsi: _Attrs, fc: _Attrs) -> Adapter:
    return Adapter(
        scsi.label("proc_name"),
        scsi.label("model_name") or fc.label("model"),
        scsi.label("model_desc") or fc.label("model_description"),
        scsi.label("serial_num") or fc.label("serial_number"),
        scsi.label("fw_version") or fc.label("firmware_version"),
        scsi.label("driver_version") or fc.label("driver_version"),
    )


def _speed(fc: _Attrs, scsi_dir: str, problems: Problems) -> float | None:
    speed = fc.raw.get("speed")
    if isinstance(speed, OSError) and speed.errno == errno.ENOENT:
        # No fc_host speed attribute: qla2xxx's own (costs a mailbox command).
        scsi = _Attrs(scsi_dir, fc.obj, _read_dir(scsi_dir, ("port_speed",)), problems)
        return scsi.get("port_speed", p.parse_qla_port_speed)
    return fc.get("speed", p.parse_speed)


def _port(host: str, pci: str, fc: _Attrs, scsi: _Attrs, problems: Problems) -> FcPort:
    def count(name: str) -> int | None:
        return fc.get(name, lambda t: p.parse_int(t, name))

    fabric: str | None = fc.get("fabric_name", p.parse_fabric_name)
    return FcPort(
        host=host,
        pci=pci,
        wwpn=fc.get("port_name", p.parse_wwn, required=True) or "",
        wwnn=fc.get("node_name", lambda t: p.parse_wwn(t, "node_name")) or "",
        port_id=fc.get("port_id", p.parse_port_id),
        port_type=fc.get("port_type", lambda t: p.parse_name(t, "port_type")) or "",
        port_state=fc.get("port_state", lambda t: p.parse_name(t, "port_state")),
        fabric_name=fabric or "",
        symbolic_name=fc.label("symbolic_name"),
        system_hostname=fc.label("system_hostname"),
        supported_speeds=fc.get("supported_speeds", p.parse_speed_list) or (),
        supported_classes=fc.get("supported_classes", lambda t: p.parse_text(t, "classes")) or "",
        tgtid_bind_type=fc.get("tgtid_bind_type", p.parse_tgtid_bind_type) or "",
        speed_bits=_speed(fc, scsi.d, problems),
        dev_loss_tmo=count("dev_loss_tmo"),
        max_npiv_vports=count("max_npiv_vports"),
        npiv_vports_inuse=count("npiv_vports_inuse"),
        adapter=_adapter(scsi, fc),
        topology=scsi.get("link_state", p.parse_link_topology),
        isp_aborts=scsi.get("total_isp_aborts", lambda t: p.parse_int(t, "total_isp_aborts")),
        active_mode=scsi.get("active_mode", p.parse_active_mode),
        fw_dump_size=scsi.get("fw_dump_size", q.parse_fw_dump_size),
        min_speed_bits=scsi.get(
            "min_supported_speed", lambda t: q.parse_supported_speed(t, "min_supported_speed")
        ),
        max_speed_bits=scsi.get(
            "max_supported_speed", lambda t: q.parse_supported_speed(t, "max_supported_speed")
        ),
    )


def _firmware(fc_dir: str, host: str, problems: Problems) -> tuple[int | None, int | None]:
    """scsi_host fw_state and thermal_temp (one firmware command each on qla2xxx)."""
    scsi_dir = os.path.join(os.path.dirname(os.path.dirname(fc_dir)), "scsi_host", host)
    a = _Attrs(scsi_dir, host, _read_dir(scsi_dir, FIRMWARE_ATTRS), problems)
    return a.get("fw_state", q.parse_fw_state), a.get("thermal_temp", q.parse_thermal_temp)


def read_stats(fc_dir: str, host: str, port_key: bytes, now: float) -> FcStats:
    """Every `statistics/*` file of one port (one mailbox command each on qla2xxx), and the
    scsi_host attributes that cost a firmware command."""
    problems = Problems("fc_host")
    fw_state, thermal = _firmware(fc_dir, host, problems)
    stats_dir = os.path.join(fc_dir, "statistics")
    listing = _listdir(stats_dir)
    if isinstance(listing, OSError):
        problems.os_error(f"{host}/statistics", stats_dir, listing)
        return FcStats(now, port_key, {}, tuple(problems.items), fw_state, thermal)
    names = [n for n in listing if n not in p.STATS_SKIP]
    raw = _read_dir(stats_dir, tuple(names))
    files = _Attrs(stats_dir, f"{host}/statistics", raw, problems)
    values: dict[str, int | None] = {}
    escaped = 0
    for name in names:
        # ENOENT from a listed file: the LLD has no get_fc_host_stats (or it failed).
        text = files.text(name)
        if text is None:
            continue
        label, bad = label_name(name)  # the file name is a label value (other_statistic)
        escaped += bad
        try:
            values[label] = p.parse_statistic(text, label)
        except ValueError as exc:
            problems.add(f"{host}/statistics/{label}", "parse", f"{stats_dir}/{label}: {exc}")
    return FcStats(now, port_key, values, tuple(problems.items), fw_state, thermal, escaped)


@dataclass
class StatsCache:
    """The last statistics snapshot per host, re-read at most every `min_interval` seconds or
    when the host is another port now (driver reload renumbered hosts). The collector owns it."""

    min_interval: float
    clock: Callable[[], float] = time.monotonic
    snapshots: dict[str, FcStats] = field(default_factory=dict)
    escaped_names: int = 0  # summed over the reads of statistics/, not the cached replays

    def get(self, fc_dir: str, host: str, port_key: bytes, now: float) -> FcStats:
        cached = self.snapshots.get(host)
        if cached is None or cached.port_key != port_key or now - cached.taken >= self.min_interval:
            cached = read_stats(fc_dir, host, port_key, now)
            self.escaped_names += cached.escaped_names
        return cached


def read_port(
    paths: HostPaths, host: str, problems: Problems, cache: StatsCache, now: float
) -> tuple[FcPort, FcStats] | None:
    """One FC host and its statistics snapshot; None when it went away while being read
    (module unload, vport delete)."""
    link = paths.sys("class", "fc_host", host)
    scsi_dir = paths.sys("class", "scsi_host", host)
    fc_raw = _read_dir(link, FC_ATTRS)
    scsi_raw = _read_dir(scsi_dir, SCSI_ATTRS)
    name = fc_raw.get("port_name")
    stats = cache.get(link, host, name if isinstance(name, bytes) else b"", now)
    if not os.path.isdir(link):
        return None  # vanished: not an error
    problems.items.extend(stats.problems)  # a cached failure still fails this scrape
    pci = bdf_above_host(fsread.realpath(link), host) or ""
    fc = _Attrs(link, host, fc_raw, problems)
    port = _port(host, pci, fc, _Attrs(scsi_dir, host, scsi_raw, problems), problems)
    # No statistics file gave a value: the LLD has none (or the directory is unreadable).
    port = replace(port, stats=stats if stats.values else None)
    return replace(port, fw_state=stats.fw_state, thermal_temp=stats.thermal_temp), stats


def read_fc_sysfs(paths: HostPaths, problems: Problems, cache: StatsCache) -> FcSnapshot:
    """qlini_mode and every FC host of any driver, with statistics through `cache`."""
    now = cache.clock()
    qlini = read_qlini_mode(paths, problems)
    ports: list[FcPort] = []
    kept: dict[str, FcStats] = {}
    for host in list_hosts(paths, problems):
        read = read_port(paths, host, problems, cache, now)
        if read is not None:
            ports.append(read[0])
            kept[host] = read[1]
    cache.snapshots = kept  # hosts that went away lose their snapshot
    return FcSnapshot(qlini, tuple(ports), now, escaped_names=cache.escaped_names)
