"""The qla2xxx target engine from debugfs: target counters (QUEUE FULL, terminated exchanges,
IOCB allocation failures, DIF), per-initiator sessions and login state, firmware resources.

Disabled by default: debugfs is root-only (mount mode 0700, files 0400), so the collector needs
root or CAP_DAC_READ_SEARCH (packaging/systemd/fctarget-exporter.service.d/
qla2xxx-debugfs.conf). All reading is exporter/readers/qla_debugfs.py. fw_resource_count costs
a firmware mailbox command per read: it is read only with --collector.qla2xxx.fw-resource, at
most every --collector.qla2xxx.fw-resource-min-interval seconds per HBA.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from exporter.catalogue import qla2xxx as C
from exporter.collector import CollectorContext, Output, SnapshotCollector, register
from exporter.flagtypes import positive_seconds
from exporter.parsers.qla_debugfs import FW_LOGIN_PRLI_COMPLETE, FW_LOGIN_STATES
from exporter.readers.problems import Problems
from exporter.readers.qla_debugfs import (
    FwResourceCache,
    FwSnapshot,
    QlaPort,
    QlaSnapshot,
    read_qla_debugfs,
)


@dataclass(frozen=True)
class Qla2xxxOptions:
    fw_resource: bool = False  # read fw_resource_count (a firmware mailbox command)
    fw_resource_min_interval: float = 60.0  # seconds between two reads per HBA

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Qla2xxxOptions:
        return cls(
            fw_resource=bool(args.qla2xxx_fw_resource),
            fw_resource_min_interval=float(args.qla2xxx_fw_resource_min_interval),
        )


@register
class Qla2xxxCollector(SnapshotCollector[QlaSnapshot]):
    name = "qla2xxx"
    description = (
        "qla2xxx target engine from debugfs: QUEUE FULL, terminated exchanges, IOCB and DIF "
        "errors, initiator sessions and logins, firmware resources; needs root or "
        "CAP_DAC_READ_SEARCH"
    )
    default_enabled = False

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--collector.qla2xxx.fw-resource",
            dest="qla2xxx_fw_resource",
            action="store_true",
            default=Qla2xxxOptions.fw_resource,
            help=(
                "also read fw_resource_count (exchanges and IOCBs against their limits); each "
                "read issues a firmware mailbox command (default off)"
            ),
        )
        default = Qla2xxxOptions.fw_resource_min_interval
        group.add_argument(
            "--collector.qla2xxx.fw-resource-min-interval",
            dest="qla2xxx_fw_resource_min_interval",
            type=positive_seconds,
            default=default,
            metavar="SECONDS",
            help=(
                "read an HBA's fw_resource_count at most this often; scrapes in between get the "
                f"cached snapshot (default {default:g})"
            ),
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.options = Qla2xxxOptions.from_args(ctx.args)
        self.fw = (
            FwResourceCache(self.options.fw_resource_min_interval)
            if self.options.fw_resource
            else None
        )

    def read(self, problems: Problems) -> QlaSnapshot:
        return read_qla_debugfs(self.ctx.paths, problems, self.fw)

    def emit(self, snapshot: QlaSnapshot, out: Output) -> None:
        for port in snapshot.ports:
            labels = [port.pci, port.host, port.wwpn]
            for source in sorted(port.readable):
                out.family(C.SOURCE_READABLE).add([*labels, source], int(port.readable[source]))
            _emit_counters(out, port, labels)
            _emit_sessions(out, port, labels)
            _emit_rports(out, port, labels)
            if port.fw is not None:
                _emit_fw(out, port.fw, labels, snapshot.taken)


def _emit_counters(out: Output, port: QlaPort, labels: list[str]) -> None:
    if port.counters is None:
        return
    for key, value in port.counters.values.items():
        known = C.TGT_COUNTER_KEYS.get(key)
        if known is None:
            out.family(C.OTHER_COUNTER).add([*labels, key], value)
        else:
            out.family(known.metric).add([*labels, *known.labels], value)


def _emit_sessions(out: Output, port: QlaPort, labels: list[str]) -> None:
    sess = port.sessions
    if sess is None or not sess.target_mode:
        return
    out.family(C.SESSIONS).add(labels, len(sess.sessions))
    for s in sess.sessions:
        out.family(C.SESSION_PORT_ID).add([*labels, s.wwpn], s.port_id)
        out.family(C.SESSION_LOOP_ID).add([*labels, s.wwpn], s.loop_id)


def _emit_rports(out: Output, port: QlaPort, labels: list[str]) -> None:
    for r in port.rports or ():
        ident = [*labels, r.wwpn]
        f = r.fields
        state = f.get("fw_login_state")
        if state is not None:
            out.family(C.INITIATOR_LOGGED_IN).add(ident, int(state == FW_LOGIN_PRLI_COMPLETE))
            fam = out.family(C.INITIATOR_FW_LOGIN_STATE)
            for value, name in FW_LOGIN_STATES.items():
                fam.add([*ident, name], int(value == state))
            if state not in FW_LOGIN_STATES:
                fam.add([*ident, str(state)], 1)
        for metric, name in (
            (C.INITIATOR_DISC_STATE, "disc_state"),
            (C.INITIATOR_LOGINS, "login_gen"),
            (C.INITIATOR_RSCNS, "rscn_gen"),
        ):
            if name in f:
                out.family(metric).add(ident, f[name])


def _emit_fw(out: Output, fw: FwSnapshot, labels: list[str], now: float) -> None:
    res = fw.resources
    if res is None:
        return
    out.family(C.FW_RESOURCE_AGE).add(labels, max(0.0, now - fw.taken))
    for metric, values in (
        (C.FW_RESOURCE_LIMIT, res.limit),
        (C.FW_RESOURCE_FREE, res.free),
        (C.FW_RESOURCE_OTHER, res.other),
        (C.DRIVER_ESTIMATE_USED, res.estimate_used),
        (C.DRIVER_ESTIMATE_LIMIT, res.estimate_limit),
    ):
        for key in sorted(values):
            out.family(metric).add([*labels, key], values[key])
