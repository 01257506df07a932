"""FC ports: identity, state, speed and statistics from fc_host sysfs, plus qla2xxx extras.

All reading is exporter/readers/fc_sysfs.py; this module maps its snapshot to the families of
exporter/catalogue/fc_host.py. The statistics cache (`--collector.fc_host.stats-min-interval`)
is owned here and passed to the reader: on qla2xxx each statistics file costs a firmware mailbox
command, so in between re-reads the last snapshot is served and
`fctarget_fc_host_stats_age_seconds` says how old it is.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace

from exporter.catalogue import fc_host as C
from exporter.collector import CollectorContext, Family, Output, SnapshotCollector, register
from exporter.parsers.fc_host import PORT_STATES, TOPOLOGIES, target_mode_allowed
from exporter.parsers.qla_host import FIRMWARE_STATES, firmware_state_name
from exporter.readers.fc_sysfs import FcPort, FcSnapshot, StatsCache, read_fc_sysfs
from exporter.readers.problems import Problems
from exporter.readers.uevents import FwDumpWatcher


@dataclass(frozen=True)
class FcHostOptions:
    stats_min_interval: float = 5.0  # seconds; 0 = every scrape

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FcHostOptions:
        return cls(stats_min_interval=max(0.0, float(args.fc_host_stats_min_interval)))


@register
class FcHostCollector(SnapshotCollector[FcSnapshot]):
    name = "fc_host"
    description = (
        "FC ports from fc_host sysfs: identity, state, speed, statistics; qla2xxx topology, "
        "ISP aborts and qlini_mode"
    )

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        default = FcHostOptions.stats_min_interval
        group.add_argument(
            "--collector.fc_host.stats-min-interval",
            dest="fc_host_stats_min_interval",
            type=float,
            default=default,
            metavar="SECONDS",
            help=(
                "re-read a port's fc_host statistics (one firmware mailbox command per file on "
                "qla2xxx) at most this often; scrapes in between get the cached snapshot "
                f"(default {default:g}; 0 = every scrape)"
            ),
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.options = FcHostOptions.from_args(ctx.args)
        self.stats = StatsCache(self.options.stats_min_interval)
        self.fw_dumps = FwDumpWatcher()

    async def start(self) -> None:
        # uevents are the running kernel's: listened to only when reading the real /sys.
        if self.ctx.paths.sysfs == "/sys":
            self.fw_dumps.start()

    async def stop(self) -> None:
        self.fw_dumps.stop()

    def read(self, problems: Problems) -> FcSnapshot:
        snapshot = read_fc_sysfs(self.ctx.paths, problems, self.stats)
        if not self.fw_dumps.running:
            return snapshot
        return replace(snapshot, fw_dump_events=self.fw_dumps.counts())

    def emit(self, snapshot: FcSnapshot, out: Output) -> None:
        if snapshot.qlini_mode is not None:  # None: module not loaded, no qla2xxx ports
            out.family(C.QLINI_MODE_INFO).add([snapshot.qlini_mode], 1)
            allowed = target_mode_allowed(snapshot.qlini_mode)
            if allowed is not None:
                out.family(C.QLINI_MODE_ALLOWS_TARGET).add([], 1 if allowed else 0)
        for port in snapshot.ports:
            labels = [port.pci, port.host, port.wwpn]
            _emit_transport(out, port, labels)
            _emit_scsi_host(out, port, labels)
            _emit_stats(out, port, labels, snapshot.taken)
            _emit_firmware(out, port, labels)
            if snapshot.fw_dump_events is not None:
                events = snapshot.fw_dump_events.get(port.host, 0)
                out.family(C.FW_DUMP_EVENTS).add(labels, events)
        if snapshot.ports:  # a host without FC ports serves no fc_host family
            out.family(C.ESCAPED_NAMES).add([], snapshot.escaped_names)


def _emit_transport(out: Output, port: FcPort, labels: list[str]) -> None:
    out.family(C.INFO).add(
        [
            *labels,
            port.wwnn,
            port.symbolic_name,
            port.system_hostname,
            ", ".join(port.supported_speeds),
            port.supported_classes,
            port.tgtid_bind_type,
        ],
        1,
    )
    if port.port_id is not None:
        out.family(C.PORT_ID).add(labels, port.port_id)
    if port.port_state == "Online":
        out.family(C.FABRIC_INFO).add([*labels, port.fabric_name, port.port_type], 1)
    if port.port_state is not None:
        out.family(C.LINK_UP).add(labels, 1 if port.port_state == "Online" else 0)
        _one_hot(out.family(C.PORT_STATE), labels, PORT_STATES, port.port_state)
    if port.speed_bits is not None:  # Prometheus base unit is bytes (as node_network_speed_bytes)
        out.family(C.SPEED).add(labels, port.speed_bits / 8)
    for metric, n in (
        (C.DEV_LOSS_TMO, port.dev_loss_tmo),
        (C.NPIV_VPORTS_MAX, port.max_npiv_vports),
        (C.NPIV_VPORTS_INUSE, port.npiv_vports_inuse),
    ):
        if n is not None:
            out.family(metric).add(labels, n)


def _emit_scsi_host(out: Output, port: FcPort, labels: list[str]) -> None:
    a = port.adapter
    identity = [
        a.driver,
        a.model,
        a.model_description,
        a.serial_number,
        a.firmware_version,
        a.driver_version,
    ]
    if any(identity):
        out.family(C.ADAPTER_INFO).add([*labels, *identity], 1)
    if port.topology is not None:
        _one_hot(out.family(C.TOPOLOGY), labels, TOPOLOGIES, port.topology)
    if port.isp_aborts is not None:
        out.family(C.ISP_ABORTS).add(labels, port.isp_aborts)
    if port.active_mode is not None:
        out.family(C.TARGET_MODE_ACTIVE).add(labels, int(port.active_mode.target))
        out.family(C.INITIATOR_MODE_ACTIVE).add(labels, int(port.active_mode.initiator))


def _emit_firmware(out: Output, port: FcPort, labels: list[str]) -> None:
    """qla2xxx scsi_host extras: fw_dump_size, fw_state, thermal_temp, supported speeds."""
    if port.fw_dump_size is not None:
        out.family(C.FW_DUMP_SIZE).add(labels, port.fw_dump_size)
    if port.fw_state is not None:
        current = firmware_state_name(port.fw_state)
        _one_hot(out.family(C.FIRMWARE_STATE), labels, tuple(FIRMWARE_STATES.values()), current)
    if port.thermal_temp is not None:
        out.family(C.THERMAL).add(labels, port.thermal_temp)
    for metric, bits in ((C.MIN_SPEED, port.min_speed_bits), (C.MAX_SPEED, port.max_speed_bits)):
        if bits is not None:
            out.family(metric).add(labels, bits / 8)


def _emit_stats(out: Output, port: FcPort, labels: list[str], now: float) -> None:
    stats = port.stats
    if stats is None:
        return
    out.family(C.STATS_AGE).add(labels, max(0.0, now - stats.taken))
    for name in sorted(stats.values):
        value = stats.values[name]
        if value is None:  # all ones: not supported, or the chip is down
            continue
        known = C.STATISTICS.get(name)
        if known is None:
            out.family(C.OTHER_STATISTIC).add([*labels, name], value)
        else:
            out.family(known.metric).add(labels, value * known.scale)


def _one_hot(fam: Family, labels: Sequence[str], known: Sequence[str], current: str) -> None:
    for s in known:
        fam.add([*labels, s], 1 if s == current else 0)
    if current not in known:
        fam.add([*labels, current], 1)
