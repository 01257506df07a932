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
TARGET = f'{HOST}, wwpn=~"$wwpn"'  # LIO metrics: target port name
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
VAR_HOST = f"label_values(fctarget_fc_port_up{{{HOST}}}, host)"
VAR_WWPN = f"label_values(fctarget_fc_port_up{{{PORT}}}, wwpn)"
VAR_INITIATOR = f"label_values(fctarget_acl_info{{{TARGET}}}, initiator)"
VAR_LUN = f"label_values(fctarget_lun_info{{{TARGET}}}, lun)"
LINK_DOWN = f"(1 - fctarget_fc_port_up{{{PORT}}}) > 0"

# Fleet: every host of the job, aggregated by instance.
_IRQ_RATE_5M_FLEET = rate("fctarget_irq_interrupts_total", JOB, "5m")
FLEET_PORTS_DOWN = f"sum by (instance) (1 - fctarget_fc_port_up{{{JOB}}})"
FLEET_NO_SESSION = f"sum by (instance) (1 - fctarget_session_active{{{JOB}}})"
FLEET_IRQ_SHARE = (
    "max by (instance) (\n"
    f"  max by (instance, host) (sum by (instance, host, cpu) ({_IRQ_RATE_5M_FLEET}))\n"
    "  /\n"
    f"  sum by (instance, host) ({_IRQ_RATE_5M_FLEET})\n"
    ")"
)
FLEET_FAILING = f"sum by (instance) (1 - fctarget_scrape_collector_success{{{JOB}}})"
FLEET_THROUGHPUT = (
    f"sum by (instance) ({rate('fctarget_lun_read_bytes_total', JOB)})\n+\n"
    f"sum by (instance) ({rate('fctarget_lun_write_bytes_total', JOB)})"
)
FLEET_IOPS = f"sum by (instance) ({rate('fctarget_lun_commands_total', JOB)})"
FLEET_UP = f"up{{{JOB}}}"

# Host overview.
PORTS_ONLINE = f"sum(fctarget_fc_port_up{{{HOST}}})"
PORTS_COUNT = f"count(fctarget_fc_port_up{{{HOST}}})"
PORTS_TARGET_MODE = f"sum(fctarget_fc_host_target_mode_active{{{HOST}}})"
SESSIONS_LOGGED_IN = f"sum(fctarget_tpg_sessions{{{HOST}}})"
SESSIONS_CONFIGURED = f"sum(fctarget_tpg_acls{{{HOST}}})"
HOST_THROUGHPUT = (
    f"sum({rate('fctarget_lun_read_bytes_total', HOST)})"
    f" + sum({rate('fctarget_lun_write_bytes_total', HOST)})"
)
HOST_IOPS = f"sum({rate('fctarget_lun_commands_total', HOST)})"
HOST_FAILING = f"sum(1 - fctarget_scrape_collector_success{{{HOST}}})"

# FC ports.
LINK_STATE = f"fctarget_fc_port_up{{{PORT}}}"
SPEED_FC_HOST = f"8 * fctarget_fc_port_speed_bytes_per_second{{{PORT}}}"
SPEED_LOOP_UP = f"8 * fctarget_link_speed_bytes_per_second{{{PORT}}}"
LINK_EVENTS = f"sum by (host, event) ({increase('fctarget_link_events_total', PORT)})"
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
PORT_INFO = f"fctarget_port_info{{{PORT}}}"

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
    f"  fctarget_cpu_info{{{HOST}}}\n)"
)
IRQ_INFO = f"fctarget_irq_info{{{PORT}}}"

# Target I/O (LIO): per port, per LUN, per initiator.
PORT_READ = f"sum by (wwpn) ({rate('fctarget_lun_read_bytes_total', TARGET)})"
PORT_WRITE = f"sum by (wwpn) ({rate('fctarget_lun_write_bytes_total', TARGET)})"
PORT_IOPS = f"sum by (wwpn) ({rate('fctarget_lun_commands_total', TARGET)})"
LUN_READ = f"sum by (wwpn, tpgt, lun) ({rate('fctarget_lun_read_bytes_total', LUN)})"
LUN_WRITE = f"sum by (wwpn, tpgt, lun) ({rate('fctarget_lun_write_bytes_total', LUN)})"
LUN_IOPS = f"sum by (wwpn, tpgt, lun) ({rate('fctarget_lun_commands_total', LUN)})"
INITIATOR_READ = f"sum by (initiator) ({rate('fctarget_initiator_read_bytes_total', INITIATOR)})"
INITIATOR_WRITE = f"sum by (initiator) ({rate('fctarget_initiator_write_bytes_total', INITIATOR)})"
INITIATOR_IOPS = f"sum by (initiator) ({rate('fctarget_initiator_commands_total', INITIATOR)})"

# Sessions and backstores.
TPG_ACLS = f"sum by (wwpn, tpgt) (fctarget_tpg_acls{{{TARGET}}})"
TPG_SESSIONS = f"sum by (wwpn, tpgt) (fctarget_tpg_sessions{{{TARGET}}})"
SESSION_ACTIVE = f"fctarget_session_active{{{INITIATOR}}}"
BACKSTORES = (
    f"fctarget_backstore_size_bytes{{{HOST}}}\n"
    "* on (job, instance, backstore_type, backstore)\n"
    "  group_left (serial, wwn, vendor, product)\n"
    f"fctarget_backstore_info{{{HOST}}}"
)
LUN_INFO = f"fctarget_lun_info{{{LUN}}}"

# Exporter health.
COLLECTOR_SUCCESS = f"fctarget_scrape_collector_success{{{HOST}}}"
COLLECTOR_DURATION = f"fctarget_scrape_collector_duration_seconds{{{HOST}}}"
SCRAPE_DURATION = f"scrape_duration_seconds{{{HOST}}}"
KMSG_READ = rate("fctarget_kmsg_records_total", HOST)
KMSG_QLA2XXX = rate("fctarget_kmsg_qla2xxx_records_total", HOST)
KMSG_LOST = rate("fctarget_kmsg_records_lost_total", HOST)
KMSG_IGNORED = rate("fctarget_kmsg_user_records_ignored_total", HOST)

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
