"""FC transport sysfs: per-port identity, state, speed and statistics, plus qla2xxx extras.

Reads `<sysfs>/class/fc_host/hostN/` (drivers/scsi/scsi_transport_fc.c) for every FC host of any
driver, the qla2xxx attributes in `<sysfs>/class/scsi_host/hostN/` (drivers/scsi/qla2xxx/
qla_attr.c) and `<sysfs>/module/qla2xxx/parameters/qlini_mode` (qla_target.c).

On qla2xxx every read of a `statistics/*` file issues a firmware mailbox command
(qla24xx_get_isp_stats), so each host's statistics are read once per scrape at most and no more
often than `--collector.fc_host.stats-min-interval`; in between the last snapshot is served and
`fctarget_fc_host_stats_age_seconds` says how old it is.

One missing or unreadable file costs only the series built from it (node_exporter's
fibrechannel collector drops every host when a single attribute is absent).
"""

from __future__ import annotations

import argparse
import errno
import functools
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from exporter import fsread
from exporter.collector import CollectorContext, Family, Output, ThreadedCollector, register
from exporter.parsers import fc_host as p

T = TypeVar("T")

DEFAULT_STATS_MIN_INTERVAL = 5.0

_HOST_RE = re.compile(r"^host[0-9]+$")
_BDF_RE = re.compile(r"^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")

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
)

BASE_LABELS = ("pci", "host", "wwpn")
INFO_LABELS = (
    *BASE_LABELS,
    "wwnn",
    "port_id",
    "port_type",
    "fabric_name",
    "symbolic_name",
    "system_hostname",
    "supported_speeds",
    "supported_classes",
    "tgtid_bind_type",
)
ADAPTER_LABELS = (
    *BASE_LABELS,
    "driver",
    "model",
    "model_description",
    "serial_number",
    "firmware_version",
    "driver_version",
)

M_INFO = "fctarget_fc_host_info"
M_ADAPTER = "fctarget_fc_host_adapter_info"
M_UP = "fctarget_fc_port_up"
M_STATE = "fctarget_fc_port_state"
M_SPEED = "fctarget_fc_port_speed_bytes_per_second"
M_LINK_STATE = "fctarget_fc_host_link_state"
M_ISP_ABORTS = "fctarget_fc_host_isp_aborts"
M_TARGET_ACTIVE = "fctarget_fc_host_target_mode_active"
M_INITIATOR_ACTIVE = "fctarget_fc_host_initiator_mode_active"
M_DEV_LOSS = "fctarget_fc_host_dev_loss_tmo_seconds"
M_NPIV_MAX = "fctarget_fc_host_npiv_vports_max"
M_NPIV_INUSE = "fctarget_fc_host_npiv_vports_inuse"
M_STATS_AGE = "fctarget_fc_host_stats_age_seconds"
M_QLINI = "fctarget_qla2xxx_target_mode"
M_QLINI_ENABLED = "fctarget_qla2xxx_target_mode_enabled"

# Families with fixed meanings: a statistics file whose generic name would land on one of these
# is exported as fctarget_fc_host_statistics_<name> instead.
_RESERVED = frozenset(
    {
        M_INFO,
        M_ADAPTER,
        M_LINK_STATE,
        M_ISP_ABORTS,
        M_TARGET_ACTIVE,
        M_INITIATOR_ACTIVE,
        M_DEV_LOSS,
        M_NPIV_MAX,
        M_NPIV_INUSE,
        M_STATS_AGE,
    }
)

H_INFO = (
    "FC host port identity from fc_host/hostN (port_name, node_name, port_id, port_type, "
    "fabric_name, symbolic_name, system_hostname, supported_speeds, supported_classes, "
    "tgtid_bind_type as its first word); value 1. fabric_name is empty when no switch is known "
    "(all ones)."
)
H_ADAPTER = (
    "HBA identity from scsi_host/hostN (qla2xxx: model_name, model_desc, serial_num, fw_version, "
    "driver_version) or fc_host/hostN for other drivers; driver is scsi_host proc_name; value 1."
)
H_UP = "1 if fc_host port_state is Online, else 0."
H_STATE = (
    "fc_host port_state, one series per state the FC transport defines (1 for the current one); "
    "a state this exporter does not know is added with value 1."
)
H_SPEED = (
    "Negotiated port speed in bytes per second from fc_host speed, nominal "
    "(16 Gbit = 16e9 / 8 = 2e9); absent while the speed is unknown (link down)."
)
H_LINK_STATE = (
    "qla2xxx scsi_host link_state (Link Down, Unknown Link State, Link Up - <topology>), "
    "one series per known value (1 for the current one)."
)
H_ISP_ABORTS = (
    "qla2xxx ISP aborts (chip resets) since the driver loaded (scsi_host total_isp_aborts)."
)
H_TARGET_ACTIVE = "1 if scsi_host active_mode includes Target (the port serves as a SCSI target)."
H_INITIATOR_ACTIVE = "1 if scsi_host active_mode includes Initiator."
H_DEV_LOSS = "fc_host dev_loss_tmo: seconds a lost remote port is kept before removal."
H_NPIV_MAX = "fc_host max_npiv_vports: NPIV virtual ports the HBA supports."
H_NPIV_INUSE = "fc_host npiv_vports_inuse: NPIV virtual ports in use."
H_STATS_AGE = (
    "Age in seconds of the fc_host statistics served (0 when read in this scrape; up to "
    "--collector.fc_host.stats-min-interval when a cached snapshot is served)."
)
H_QLINI = (
    "qla2xxx module parameter qlini_mode (/sys/module/qla2xxx/parameters/qlini_mode); value 1."
)
H_QLINI_ENABLED = (
    "1 if the qla2xxx qlini_mode lets ports run in target mode (exclusive, disabled, dual); 0 for "
    "'enabled' (initiator only: tcm_qla2xxx cannot serve LUNs)."
)


@dataclass(frozen=True)
class _StatsSnapshot:
    taken: float  # time.monotonic()
    port_key: bytes
    values: dict[str, int | None]  # file name -> value; None = all ones (unsupported / down)
    errors: tuple[tuple[str, str], ...]
    files: int  # statistics files that gave a value (all ones included)


@dataclass
class _HostRaw:
    """Everything read for one host, before parsing."""

    host: str
    pci: str
    port_key: bytes  # raw port_name: a cached statistics snapshot belongs to one port
    fc: dict[str, bytes | OSError]
    scsi: dict[str, bytes | OSError]
    port_speed: bytes | OSError | None
    stats: dict[str, bytes | OSError] | None  # None: served from cache
    fc_dir: str
    scsi_dir: str


def pci_from_device_path(path: str, host: str) -> str:
    """The PCI function the SCSI host hangs off: the nearest path component above `host`
    (e.g. `/sys/devices/pci0000:80/0000:80:03.0/0000:83:00.1/host7/fc_host/host7`) that is a
    PCI address; NPIV vports (`.../0000:83:00.1/host7/vport-7:0-0/host8/...`) resolve to their
    physical port's function. '' when there is none."""
    parts = path.split("/")
    end = parts.index(host) if host in parts else len(parts)
    for part in reversed(parts[:end]):
        if _BDF_RE.match(part):
            return part
    return ""


@dataclass
class _Ctx:
    """Per-host parsing helper: turns read results into values, reporting failures."""

    out: Output
    host: str
    errors: list[tuple[str, str]] = field(default_factory=list)

    def report(self, key: str, msg: str) -> None:
        self.errors.append((key, msg))
        self.out.error(key, msg)

    def text(
        self, raw: dict[str, bytes | OSError], name: str, d: str, required: bool = False
    ) -> str | None:
        r = raw.get(name)
        if r is None:
            return None
        if isinstance(r, OSError):
            if r.errno == errno.ENOENT and not required:
                return None  # optional attribute the driver or kernel does not provide
            self.report(
                f"fc_host:{self.host}:{name}:{_errname(r)}",
                f"cannot read {os.path.join(d, name)}: {r.strerror or r}",
            )
            return None
        return r.decode("utf-8", "replace")

    def parse(
        self,
        raw: dict[str, bytes | OSError],
        name: str,
        d: str,
        fn: Callable[[str], T],
        required: bool = False,
    ) -> T | None:
        t = self.text(raw, name, d, required)
        if t is None:
            return None
        try:
            return fn(t)
        except ValueError as exc:
            self.report(f"fc_host:{self.host}:{name}:garbage", f"{os.path.join(d, name)}: {exc}")
            return None


@register
class FcHostCollector(ThreadedCollector):
    name = "fc_host"
    description = (
        "FC ports from fc_host sysfs: identity, state, speed, statistics; qla2xxx link state, "
        "ISP aborts and qlini_mode"
    )

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--collector.fc_host.stats-min-interval",
            dest="fc_host_stats_min_interval",
            type=float,
            default=DEFAULT_STATS_MIN_INTERVAL,
            metavar="SECONDS",
            help=(
                "re-read a port's fc_host statistics (one firmware mailbox command per file on "
                "qla2xxx) at most this often; scrapes in between get the cached snapshot "
                f"(default {DEFAULT_STATS_MIN_INTERVAL:g}; 0 = every scrape)"
            ),
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        interval = getattr(self.ctx.args, "fc_host_stats_min_interval", None)
        self.stats_min_interval = DEFAULT_STATS_MIN_INTERVAL if interval is None else interval
        self._stats: dict[str, _StatsSnapshot] = {}
        self.clock: Callable[[], float] = time.monotonic

    # ---------------------------------------------------------------- reading

    def _read_host(self, host: str, now: float) -> _HostRaw | None:
        paths = self.ctx.paths
        link = paths.sys("class", "fc_host", host)
        fc_dir = fsread.realpath(link)
        scsi_dir = paths.sys("class", "scsi_host", host)
        fc = fsread.read_many(os.path.join(link, a) for a in FC_ATTRS)
        fc = {os.path.basename(k): v for k, v in fc.items()}
        scsi = fsread.read_many(os.path.join(scsi_dir, a) for a in SCSI_ATTRS)
        scsi = {os.path.basename(k): v for k, v in scsi.items()}
        port_speed: bytes | OSError | None = None
        speed = fc.get("speed")
        if isinstance(speed, OSError) and speed.errno == errno.ENOENT:
            port_speed = fsread.read_many([os.path.join(scsi_dir, "port_speed")]).popitem()[1]
        stats: dict[str, bytes | OSError] | None = None
        cached = self._stats.get(host)
        port_key = _port_key(fc.get("port_name"))
        if (
            cached is None
            or cached.port_key != port_key
            or now - cached.taken >= self.stats_min_interval
        ):
            stats_dir = os.path.join(link, "statistics")
            listing = _listdir(stats_dir)
            if isinstance(listing, OSError):
                stats = {"statistics": listing}
            else:
                names = [n for n in listing if n not in p.STATS_SKIP]
                read = fsread.read_many(os.path.join(stats_dir, n) for n in names)
                stats = {"statistics/" + os.path.basename(k): v for k, v in read.items()}
        if not os.path.isdir(link):
            # The host went away while we read it (module unload, vport delete): not an error.
            self.ctx.log.debug("fc_host %s vanished during the scrape", host)
            return None
        pci = pci_from_device_path(fc_dir, host)
        return _HostRaw(host, pci, port_key, fc, scsi, port_speed, stats, link, scsi_dir)

    def collect_blocking(self, out: Output) -> None:
        now = self.clock()
        self._qlini_mode(out)
        base = self.ctx.paths.sys("class", "fc_host")
        listing = _listdir(base)
        if isinstance(listing, OSError):
            out.error(f"fc_host:list:{_errname(listing)}", f"cannot list {base}: {listing}")
            listing = []
        hosts = [h for h in listing if _HOST_RE.match(h)]
        hosts.sort(key=lambda h: int(h[4:]))
        seen: set[str] = set()
        for host in hosts:
            raw = self._read_host(host, now)
            if raw is None:
                continue
            seen.add(host)
            self._emit_host(out, raw, now)
        for gone in set(self._stats) - seen:
            del self._stats[gone]

    # ---------------------------------------------------------------- emitting

    def _qlini_mode(self, out: Output) -> None:
        d = self.ctx.paths.sys("module", "qla2xxx", "parameters")
        raw = {"qlini_mode": fsread.read_many([os.path.join(d, "qlini_mode")]).popitem()[1]}
        mode = _Ctx(out, "qla2xxx").parse(raw, "qlini_mode", d, p.parse_qlini_mode)
        if mode is None:
            return  # module not loaded: no qla2xxx ports to speak of
        out.gauge(M_QLINI, H_QLINI, ["mode"]).add([mode], 1)
        allowed = p.target_mode_allowed(mode)
        if allowed is not None:
            out.gauge(M_QLINI_ENABLED, H_QLINI_ENABLED).add([], 1 if allowed else 0)

    def _emit_host(self, out: Output, raw: _HostRaw, now: float) -> None:
        c = _Ctx(out, raw.host)
        fc, fd, sd = raw.fc, raw.fc_dir, raw.scsi_dir

        wwpn = c.parse(fc, "port_name", fd, p.parse_wwn, required=True) or ""
        labels = [raw.pci, raw.host, wwpn]

        wwnn = c.parse(fc, "node_name", fd, lambda t: p.parse_wwn(t, "node_name")) or ""
        port_id = c.parse(fc, "port_id", fd, p.parse_port_id) or ""
        port_type = c.parse(fc, "port_type", fd, lambda t: p.parse_name(t, "port_type")) or ""
        fabric = c.parse(fc, "fabric_name", fd, p.parse_fabric_name) or ""
        symbolic = c.parse(fc, "symbolic_name", fd, lambda t: p.parse_text(t, "symbolic_name"))
        speeds = c.parse(fc, "supported_speeds", fd, p.parse_speed_list)
        classes = c.parse(fc, "supported_classes", fd, lambda t: p.parse_text(t, "classes"))
        sysname = c.parse(fc, "system_hostname", fd, lambda t: p.parse_text(t, "system_hostname"))
        bind = c.parse(fc, "tgtid_bind_type", fd, p.parse_tgtid_bind_type)
        out.info(M_INFO, H_INFO, INFO_LABELS).add(
            [
                *labels,
                wwnn,
                port_id,
                port_type,
                fabric,
                symbolic or "",
                sysname or "",
                ", ".join(speeds or ()),
                classes or "",
                bind or "",
            ],
            1,
        )

        state = c.parse(fc, "port_state", fd, lambda t: p.parse_name(t, "port_state"))
        if state is not None:
            out.gauge(M_UP, H_UP, BASE_LABELS).add(labels, 1 if state == "Online" else 0)
            _one_hot(
                out.gauge(M_STATE, H_STATE, (*BASE_LABELS, "state")), labels, p.PORT_STATES, state
            )

        if raw.port_speed is None:
            bits = c.parse(fc, "speed", fd, p.parse_speed)
        else:  # no fc_host speed attribute: qla2xxx's own (costs a mailbox command)
            bits = c.parse({"port_speed": raw.port_speed}, "port_speed", sd, p.parse_qla_port_speed)
        if bits is not None:  # Prometheus base unit is bytes (as node_network_speed_bytes)
            out.gauge(M_SPEED, H_SPEED, BASE_LABELS).add(labels, bits / 8)

        for attr, metric, doc in (
            ("dev_loss_tmo", M_DEV_LOSS, H_DEV_LOSS),
            ("max_npiv_vports", M_NPIV_MAX, H_NPIV_MAX),
            ("npiv_vports_inuse", M_NPIV_INUSE, H_NPIV_INUSE),
        ):
            n = c.parse(fc, attr, fd, functools.partial(_parse_int_attr, what=attr))
            if n is not None:
                out.gauge(metric, doc, BASE_LABELS).add(labels, n)

        self._emit_scsi_host(out, c, raw, labels)
        self._emit_stats(out, c, raw, labels, now)

    def _emit_scsi_host(self, out: Output, c: _Ctx, raw: _HostRaw, labels: list[str]) -> None:
        fc, fd, scsi, sd = raw.fc, raw.fc_dir, raw.scsi, raw.scsi_dir

        def txt(raw: dict[str, bytes | OSError], name: str, d: str) -> str:
            return c.parse(raw, name, d, lambda t: p.parse_text(t, name)) or ""

        # qla2xxx names first, then the fc_host attributes other drivers (bfa, fnic, libfc) fill.
        identity = [
            txt(scsi, "proc_name", sd),
            txt(scsi, "model_name", sd) or txt(fc, "model", fd),
            txt(scsi, "model_desc", sd) or txt(fc, "model_description", fd),
            txt(scsi, "serial_num", sd) or txt(fc, "serial_number", fd),
            txt(scsi, "fw_version", sd) or txt(fc, "firmware_version", fd),
            txt(scsi, "driver_version", sd) or txt(fc, "driver_version", fd),
        ]
        if any(identity):
            out.info(M_ADAPTER, H_ADAPTER, ADAPTER_LABELS).add([*labels, *identity], 1)

        link = c.parse(scsi, "link_state", sd, p.parse_link_state)
        if link is not None:
            fam = out.gauge(M_LINK_STATE, H_LINK_STATE, (*BASE_LABELS, "state"))
            _one_hot(fam, labels, p.LINK_STATES, link)

        aborts = c.parse(scsi, "total_isp_aborts", sd, lambda t: p.parse_int(t, "total_isp_aborts"))
        if aborts is not None:
            out.counter(M_ISP_ABORTS, H_ISP_ABORTS, BASE_LABELS).add(labels, aborts)

        mode = c.parse(scsi, "active_mode", sd, p.parse_active_mode)
        if mode is not None:
            out.gauge(M_TARGET_ACTIVE, H_TARGET_ACTIVE, BASE_LABELS).add(labels, int(mode.target))
            out.gauge(M_INITIATOR_ACTIVE, H_INITIATOR_ACTIVE, BASE_LABELS).add(
                labels, int(mode.initiator)
            )

    def _emit_stats(
        self, out: Output, c: _Ctx, raw: _HostRaw, labels: list[str], now: float
    ) -> None:
        if raw.stats is not None:
            snap = self._parse_stats(out, raw, now)
            self._stats[raw.host] = snap
        else:
            snap = self._stats[raw.host]
            for key, msg in snap.errors:  # a cached failure still fails this scrape
                c.out.error(key, msg)
        if not snap.files:
            return
        out.gauge(M_STATS_AGE, H_STATS_AGE, BASE_LABELS).add(labels, max(0.0, now - snap.taken))
        for name in sorted(snap.values):
            value = snap.values[name]
            if value is None:
                continue
            spec = p.stat_spec(name)
            metric = spec.metric
            if metric in _RESERVED:
                metric = metric.replace(p.STATS_PREFIX, p.STATS_PREFIX + "statistics_", 1)
            if spec.counter:
                fam = out.counter(metric, p.stat_help(name), BASE_LABELS)
            else:
                fam = out.gauge(metric, p.stat_help(name), BASE_LABELS)
            fam.add(labels, value * spec.scale)

    def _parse_stats(self, out: Output, raw: _HostRaw, now: float) -> _StatsSnapshot:
        stats = raw.stats or {}
        c = _Ctx(out, raw.host)
        values: dict[str, int | None] = {}
        for key in sorted(stats):
            r = stats[key]
            if isinstance(r, OSError) and r.errno == errno.ENOENT:
                # ENOENT from a listed file: the LLD has no get_fc_host_stats (or it failed).
                continue
            text = c.text(stats, key, raw.fc_dir)
            if text is None:
                continue
            name = key.removeprefix("statistics/")
            try:
                values[name] = p.parse_statistic(text, name)
            except ValueError as exc:
                c.report(f"fc_host:{raw.host}:{key}:garbage", f"{raw.fc_dir}/{key}: {exc}")
        return _StatsSnapshot(now, raw.port_key, values, tuple(c.errors), len(values))


def _listdir(path: str) -> list[str] | OSError:
    """Sorted entries; [] when the directory does not exist; the OSError when unreadable."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []
    except OSError as exc:
        return exc


def _errname(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def _parse_int_attr(text: str, what: str) -> int:
    return p.parse_int(text, what)


def _port_key(r: bytes | OSError | None) -> bytes:
    return r if isinstance(r, bytes) else b""


def _one_hot(fam: Family, labels: Sequence[str], known: Sequence[str], current: str) -> None:
    for s in known:
        fam.add([*labels, s], 1 if s == current else 0)
    if current not in known:
        fam.add([*labels, current], 1)
