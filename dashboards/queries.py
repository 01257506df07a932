"""The dashboard's PromQL: readers of its JSON (first half) and every expression it ships.

The readers are used by the tests (lint, end-to-end run on a real Prometheus) and by the PNG
renderer, so that all of them look at exactly the expressions the dashboard ships. The expressions
(second half) are what dashboards/rows_*.py put in the panels: renaming a metric is an edit here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Metric names in an expression: fctarget_*, not the parts of a recording rule's level:name:op.
METRIC_RE = re.compile(r"(?<![\w:])fctarget_[a-zA-Z0-9_]+(?![\w:])")
VARIABLE_RE = re.compile(r"\$(__[a-z_]+|[a-zA-Z_][a-zA-Z0-9_]*)|\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
LABEL_VALUES_RE = re.compile(r"^label_values\((?P<selector>.*),\s*(?P<label>[a-zA-Z_]+)\)$")


@dataclass(frozen=True)
class Query:
    """One query of the dashboard: where it is (panel title or annotation/variable name)."""

    where: str
    kind: str  # "panel", "annotation" or "variable"
    expr: str
    legend: str
    instant: bool


def panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every panel, including those nested in collapsed rows; rows themselves excluded."""
    for p in dashboard.get("panels", []):
        if p.get("type") == "row":
            yield from (q for q in p.get("panels", []) if q.get("type") != "row")
        else:
            yield p


def queries(dashboard: Mapping[str, Any]) -> Iterator[Query]:
    for p in panels(dashboard):
        for t in p.get("targets", []):
            yield Query(
                p["title"], "panel", t["expr"], t.get("legendFormat", ""), bool(t.get("instant"))
            )
    for a in dashboard.get("annotations", {}).get("list", []):
        if "expr" in a:
            yield Query(a["name"], "annotation", a["expr"], a.get("titleFormat", ""), False)
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            yield Query(v["name"], "variable", q, "", True)


def metric_names(expr: str) -> set[str]:
    return set(METRIC_RE.findall(expr))


def variables(expr: str) -> set[str]:
    return {a or b for a, b in VARIABLE_RE.findall(expr)}


def expand(expr: str, values: Mapping[str, str]) -> str:
    """Replace `$name` / `${name}` with values[name] (a KeyError names a variable not given)."""

    def sub(m: re.Match[str]) -> str:
        return values[m.group(1) or m.group(2)]

    return VARIABLE_RE.sub(sub, expr)


def label_values(expr: str) -> tuple[str, str]:
    """`label_values(selector, label)` -> (selector, label); ValueError for anything else."""
    m = LABEL_VALUES_RE.match(expr.strip())
    if not m:
        raise ValueError(f"not a label_values() query: {expr!r}")
    return m.group("selector").strip(), m.group("label")


# --------------------------------------------------------------------------- the dashboard's PromQL
# Every expression that dashboards/generate.py ships, with metric names spelled out in full so that
# renaming a metric is one mechanical edit of this section. Label selectors are built from the
# template variables: a host view shows one instance, the fleet row every instance of the job.

JOB = 'job=~"$job"'
HOST = f'{JOB}, instance=~"$instance"'
PORT = f'{HOST}, host=~"$host"'  # fc_host, kernel log and interrupt metrics: SCSI host
# LIO metrics: the target's name on every fabric (an FC WWPN in colon form, the same string as
# fc_host's `wwpn`; an IQN; a loopback naa.), independent of the FC port variable `$host`.
TARGET = f'{HOST}, target=~"$target"'
LUN = f'{TARGET}, lun=~"$lun"'
INITIATOR = f'{TARGET}, initiator=~"$initiator"'
RATE_INTERVAL = "$__rate_interval"


def rate(metric: str, selector: str, window: str = RATE_INTERVAL) -> str:
    return f"rate({metric}{{{selector}}}[{window}])"


def increase(metric: str, selector: str, window: str = RATE_INTERVAL) -> str:
    return f"increase({metric}{{{selector}}}[{window}])"


# Template variables (label_values queries) and the link-down annotation.
VAR_JOB = "label_values(fctarget_exporter_build_info, job)"
VAR_INSTANCE = f"label_values(fctarget_exporter_build_info{{{JOB}}}, instance)"
VAR_HOST = f"label_values(fctarget_fc_host_link_up{{{HOST}}}, host)"
# Every TPG of every fabric has tpg_luns (tpg_enabled is absent on loopback); LIO only, so the
# list does not depend on the fc_host collector.
VAR_TARGET = f"label_values(fctarget_lio_tpg_luns{{{HOST}}}, target)"
VAR_INITIATOR = f"label_values(fctarget_lio_acl_info{{{TARGET}}}, initiator)"
VAR_LUN = f"label_values(fctarget_lio_lun_info{{{TARGET}}}, lun)"
LINK_DOWN = f"(1 - fctarget_fc_host_link_up{{{PORT}}}) > 0"

# Fleet: every host of the job, aggregated by instance.
_IRQ_RATE_5M_FLEET = rate("fctarget_irq_interrupts_total", JOB, "5m")
# 0 for an instance with nothing to count (rather than no bar at all).
_ZERO_PER_INSTANCE = f"or sum by (instance) (0 * fctarget_exporter_build_info{{{JOB}}})"
# A port in service has an enabled TPG on its WWPN (like the FCTargetPortLinkDown alert): ports
# without a TPG or with only disabled TPGs are administratively down and not counted.
ENABLED_TPG_WWPN = (
    "label_replace(max by (job, instance, target) (fctarget_lio_tpg_enabled{%s}) == 1, "
    '"wwpn", "$1", "target", "(.*)")'
)
FLEET_PORTS_DOWN = (
    "sum by (instance) (\n"
    f"  (1 - fctarget_fc_host_link_up{{{JOB}}})\n"
    f"  and on (job, instance, wwpn) {ENABLED_TPG_WWPN % JOB}\n"
    f")\n{_ZERO_PER_INSTANCE}"
)
# ACLs of a disabled TPG are not expected to log in (loopback has no tpg_enabled: kept).
FLEET_NO_SESSION = (
    "sum by (instance) (\n"
    f"  (1 - fctarget_lio_acl_session_active{{{JOB}}})\n"
    "  unless on (job, instance, fabric, target, tpgt)\n"
    f"  (fctarget_lio_tpg_enabled{{{JOB}}} == 0)\n"
    f")\n{_ZERO_PER_INSTANCE}"
)
FLEET_IRQ_SHARE = (
    "max by (instance) (\n"
    f"  max by (instance, host) (sum by (instance, host, cpu) ({_IRQ_RATE_5M_FLEET}))\n"
    "  /\n"
    f"  sum by (instance, host) ({_IRQ_RATE_5M_FLEET})\n"
    ")"
)
FLEET_FAILING = f"sum by (instance) (1 - fctarget_scrape_collector_success{{{JOB}}})"
FLEET_THROUGHPUT = (
    f"sum by (instance) ({rate('fctarget_lio_lun_read_bytes_total', JOB)})\n+\n"
    f"sum by (instance) ({rate('fctarget_lio_lun_write_bytes_total', JOB)})"
)
FLEET_IOPS = f"sum by (instance) ({rate('fctarget_lio_lun_commands_total', JOB)})"
FLEET_UP = f"up{{{JOB}}}"

# Host overview.
PORTS_ONLINE = f"sum(fctarget_fc_host_link_up{{{HOST}}})"
PORTS_COUNT = f"count(fctarget_fc_host_link_up{{{HOST}}})"
PORTS_TARGET_MODE = f"sum(fctarget_fc_host_target_mode_active{{{HOST}}})"
SESSIONS_LOGGED_IN = f"sum(fctarget_lio_tpg_sessions{{{HOST}}})"
SESSIONS_CONFIGURED = f"sum(fctarget_lio_tpg_acls{{{HOST}}})"
HOST_THROUGHPUT = (
    f"sum({rate('fctarget_lio_lun_read_bytes_total', HOST)})"
    f" + sum({rate('fctarget_lio_lun_write_bytes_total', HOST)})"
)
HOST_IOPS = f"sum({rate('fctarget_lio_lun_commands_total', HOST)})"
HOST_FAILING = f"sum(1 - fctarget_scrape_collector_success{{{HOST}}})"

# FC ports.
LINK_STATE = f"fctarget_fc_host_link_up{{{PORT}}}"
SPEED_FC_HOST = f"8 * fctarget_fc_host_speed_bytes_per_second{{{PORT}}}"
LINK_EVENTS = f"sum by (host, event) ({increase('fctarget_kmsg_link_events_total', PORT)})"
LIPS = f"sum by (host) ({increase('fctarget_fc_host_lip_total', PORT)})"
ISP_ABORTS = f"sum by (host) ({increase('fctarget_fc_host_isp_aborts_total', PORT)})"
# fc_host/statistics error counters per minute, with the legend's name for each.
FC_ERRORS: tuple[tuple[str, str], ...] = tuple(
    (f"60 * sum by (host) ({rate(metric, PORT)})", text)
    for metric, text in (
        ("fctarget_fc_host_invalid_crc_total", "invalid CRC"),
        ("fctarget_fc_host_loss_of_sync_total", "loss of sync"),
        ("fctarget_fc_host_loss_of_signal_total", "loss of signal"),
        ("fctarget_fc_host_link_failure_total", "link failure"),
        ("fctarget_fc_host_invalid_tx_word_total", "invalid TX word"),
        ("fctarget_fc_host_prim_seq_protocol_err_total", "primitive sequence protocol error"),
    )
)
# model, firmware and driver are labels of fc_host's adapter_info; a port without it still shows.
# Port utilisation: FC words are 4 bytes (frame headers and CRC included, not the 8b/10b or
# 64b/66b line encoding) against the negotiated speed in bytes per second.
PORT_UTILISATION: tuple[tuple[str, str], ...] = tuple(
    (
        f"4 * {rate(words, PORT)}\n"
        "/ on (job, instance, host)\n"
        f"(fctarget_fc_host_speed_bytes_per_second{{{PORT}}} > 0)",
        text,
    )
    for words, text in (
        ("fctarget_fc_host_rx_words_total", "received"),
        ("fctarget_fc_host_tx_words_total", "sent"),
    )
)
# FPIN (Fabric Performance Impact Notifications) the port received, per interval.
FPIN_CONGESTION = f"sum by (host) ({increase('fctarget_fc_host_fpin_cn_total', PORT)})"
FPIN_LINK_INTEGRITY = f"sum by (host) ({increase('fctarget_fc_host_fpin_li_total', PORT)})"
PORT_INFO = (
    f"fctarget_hba_info{{{PORT}}}\n"
    "* on (job, instance, host) group_left (model, firmware_version, driver_version)\n"
    f"fctarget_fc_host_adapter_info{{{PORT}}}\n"
    f"or on (job, instance, host) fctarget_hba_info{{{PORT}}}"
)

# Interrupts of the selected ports.
_IRQ = "fctarget_irq_interrupts_total"
IRQ_PER_CPU = f"sum by (cpu) ({rate(_IRQ, PORT)})"
IRQ_PER_VECTOR_CPU = f"sum by (host, vector, cpu) ({rate(_IRQ, PORT, '5m')})"
IRQ_VECTOR_SHARE = (
    f"max by (host, irq, vector) ({rate(_IRQ, PORT, '5m')})\n/\n"
    f"sum by (host, irq, vector) ({rate(_IRQ, PORT, '5m')})"
)
IRQ_PORT_SHARE = (
    f"max by (host) (sum by (host, cpu) ({rate(_IRQ, PORT, '5m')}))\n/\n"
    f"sum by (host) ({rate(_IRQ, PORT, '5m')})"
)
IRQ_REMOTE_NUMA_SHARE = (
    f"sum by (host) ({rate('fctarget_irq_remote_numa_interrupts_total', PORT, '5m')})\n/\n"
    f"sum by (host) ({rate(_IRQ, PORT, '5m')})"
)
IRQ_PER_NUMA_NODE = (
    f"sum by (numa_node) (\n  {rate(_IRQ, PORT)}\n"
    "  * on (job, instance, cpu) group_left (numa_node)\n"
    f"  fctarget_irq_cpu_info{{{HOST}}}\n)"
)
IRQ_EFFECTIVE_CPU = f"fctarget_irq_effective_cpu{{{PORT}}}"

# Target I/O (LIO): per port, per LUN, per initiator.
PORT_READ = f"sum by (target) ({rate('fctarget_lio_lun_read_bytes_total', TARGET)})"
PORT_WRITE = f"sum by (target) ({rate('fctarget_lio_lun_write_bytes_total', TARGET)})"
PORT_IOPS = f"sum by (target) ({rate('fctarget_lio_lun_commands_total', TARGET)})"
LUN_READ = f"sum by (target, tpgt, lun) ({rate('fctarget_lio_lun_read_bytes_total', LUN)})"
LUN_WRITE = f"sum by (target, tpgt, lun) ({rate('fctarget_lio_lun_write_bytes_total', LUN)})"
LUN_IOPS = f"sum by (target, tpgt, lun) ({rate('fctarget_lio_lun_commands_total', LUN)})"
INITIATOR_READ = f"sum by (initiator) ({rate('fctarget_lio_acl_read_bytes_total', INITIATOR)})"
INITIATOR_WRITE = f"sum by (initiator) ({rate('fctarget_lio_acl_write_bytes_total', INITIATOR)})"
INITIATOR_IOPS = f"sum by (initiator) ({rate('fctarget_lio_acl_commands_total', INITIATOR)})"

# Sessions and backstores.
TPG_ENABLED = f"fctarget_lio_tpg_enabled{{{TARGET}}}"
TPG_ACLS = f"sum by (target, tpgt) (fctarget_lio_tpg_acls{{{TARGET}}})"
TPG_SESSIONS = f"sum by (target, tpgt) (fctarget_lio_tpg_sessions{{{TARGET}}})"
SESSION_ACTIVE = f"fctarget_lio_acl_session_active{{{INITIATOR}}}"
BACKSTORES = (
    f"fctarget_lio_backstore_size_bytes{{{HOST}}}\n"
    "* on (job, instance, backstore_type, backstore)\n"
    "  group_left (serial, naa, vendor, product)\n"
    f"fctarget_lio_backstore_info{{{HOST}}}"
)
BACKSTORE_ABORTS = (
    f"sum by (backstore) ({increase('fctarget_lio_backstore_aborts_completed_total', HOST)})"
)
BACKSTORE_ABORTS_NO_TASK = (
    f"sum by (backstore) ({increase('fctarget_lio_backstore_aborts_no_task_total', HOST)})"
)
BACKSTORE_RESETS = f"sum by (backstore) ({increase('fctarget_lio_backstore_resets_total', HOST)})"
LUN_INFO = f"fctarget_lio_lun_info{{{LUN}}}"

# Exporter health.
COLLECTOR_SUCCESS = f"fctarget_scrape_collector_success{{{HOST}}}"
COLLECTOR_DURATION = f"fctarget_scrape_collector_duration_seconds{{{HOST}}}"
SCRAPE_DURATION = f"scrape_duration_seconds{{{HOST}}}"
KMSG_READ = rate("fctarget_kmsg_records_total", HOST)
KMSG_QLA2XXX = rate("fctarget_kmsg_qla2xxx_records_total", HOST)
KMSG_LOST = rate("fctarget_kmsg_records_lost_total", HOST)
KMSG_IGNORED = rate("fctarget_kmsg_user_records_ignored_total", HOST)

# Optics, firmware dumps and NPIV (dashboards/rows_optics.py; sfp collector off by default).
SFP_RX_POWER = f"fctarget_sfp_rx_power_watts{{{PORT}}}"
SFP_RX_LOW_WARNING = f'fctarget_sfp_rx_power_threshold_watts{{{PORT}, threshold="low_warning"}}'
SFP_TX_POWER = f"fctarget_sfp_tx_power_watts{{{PORT}}}"
SFP_TEMPERATURE = f"fctarget_sfp_temperature_celsius{{{PORT}}}"
SFP_TEMP_HIGH_WARNING = (
    f'fctarget_sfp_temperature_threshold_celsius{{{PORT}, threshold="high_warning"}}'
)
SFP_BIAS = f"fctarget_sfp_tx_bias_amperes{{{PORT}}}"
SFP_INFO = f"fctarget_sfp_info{{{PORT}}}"
FW_DUMP_SIZE = f"fctarget_fc_host_firmware_dump_size_bytes{{{PORT}}}"
VPORT_ACTIVE = f"fctarget_fc_vport_active{{{PORT}}}"
# qla2xxx target engine (debugfs; the qla2xxx collector is opt-in).
QLA_QUEUE_FULL = f"sum by (host) ({rate('fctarget_qla2xxx_queue_full_sent_total', PORT)})"
QLA_TERMINATED = f"sum by (host) ({rate('fctarget_qla2xxx_exchanges_terminated_total', PORT)})"
QLA_IOCB_FAILURES = f"sum by (host) ({rate('fctarget_qla2xxx_iocb_alloc_failures_total', PORT)})"
QLA_DIF_ERRORS = f"sum by (host, check) ({increase('fctarget_qla2xxx_dif_errors_total', PORT)})"
QLA_RESOURCE_USED = (
    f"1 - fctarget_qla2xxx_fw_resource_free{{{PORT}}}\n"
    f"  / (fctarget_qla2xxx_fw_resource_limit{{{PORT}}} > 0)"
)
QLA_LOGINS = (
    f"sum by (host, initiator) ({increase('fctarget_qla2xxx_initiator_logins_total', PORT)})"
)
QLA_LOGGED_IN = f"fctarget_qla2xxx_initiator_logged_in{{{PORT}}}"
# ALUA and backstore risks (dashboards/rows_lio_risks.py). A group "serves LUNs" while it has
# members; only active_optimized and active_nonoptimized serve I/O.
_GP_BY = "job, instance, backstore_type, backstore, tg_pt_gp"
_ACTIVE = 'state=~"active_optimized|active_nonoptimized"'
ALUA_GROUPS = (
    f"(fctarget_lio_alua_tg_pt_gp_state{{{HOST}}} == 1)\n"
    f"* on ({_GP_BY}) group_left ()\n"
    f"fctarget_lio_alua_tg_pt_gp_members{{{HOST}}}"
)
ALUA_SERVING_ACTIVE = (
    f"max by ({_GP_BY}) (fctarget_lio_alua_tg_pt_gp_state{{{HOST}, {_ACTIVE}}})\n"
    f"and on ({_GP_BY}) fctarget_lio_alua_tg_pt_gp_members{{{HOST}}} > 0"
)
LUN_ALUA_OFFLINE = f"fctarget_lio_lun_alua_offline{{{HOST}}} == 1"
BACKSTORE_VOLATILE = f"fctarget_lio_backstore_volatile_write_cache{{{HOST}}}"
BACKSTORE_READ_ONLY = f"fctarget_lio_backstore_read_only{{{HOST}}}"
BACKSTORE_RESETS = f"sum by (backstore) ({increase('fctarget_lio_backstore_resets_total', HOST)})"
BACKSTORE_ABORTS = (
    f"sum by (backstore) ({increase('fctarget_lio_backstore_aborts_completed_total', HOST)})"
)
BACKSTORE_ABORTS_NO_TASK = (
    f"sum by (backstore) ({increase('fctarget_lio_backstore_aborts_no_task_total', HOST)})"
)
# SCSI command latency and status (scsi_latency collector, off by default; dashboards/rows_scsi.py).
# Its LUNs are (fabric, target, tpgt, lun); the $lun variable narrows them.
SCSI = f'{HOST}, lun=~"$lun"'
SCSI_LATENCY_BUCKETS = (
    f"sum by (le) ({rate('fctarget_scsi_command_duration_seconds_bucket', SCSI)})"
)
SCSI_P99 = (
    "histogram_quantile(0.99, sum by (fabric, target, lun, le) "
    f"({rate('fctarget_scsi_command_duration_seconds_bucket', SCSI)}))"
)
SCSI_NOT_GOOD = f'{SCSI}, status!="good"'
SCSI_STATUS = (
    "sum by (fabric, target, lun, status, sense_key) "
    f"({rate('fctarget_scsi_completions_total', SCSI_NOT_GOOD)})"
)
SCSI_IN_FLIGHT = f"sum by (fabric, target) (fctarget_scsi_commands_in_flight{{{HOST}}})"
SCSI_UNTIMED = f"sum by (reason) ({rate('fctarget_scsi_untimed_commands_total', HOST)})"
SCSI_TRACER_UP = f"fctarget_scsi_tracer_up{{{HOST}}}"
