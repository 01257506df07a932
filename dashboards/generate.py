"""Generate the Grafana dashboard `dashboards/fctarget.json` from this file (no SDK needed).

    python -m dashboards.generate           # rewrite dashboards/fctarget.json
    python -m dashboards.generate --check   # exit 1 if the committed JSON is not what this makes

Edit the panels here, never the JSON: a test proves the two are identical. The dashboard targets
Grafana 10.4+ (schemaVersion 39). It is importable as is: `__inputs` asks for a Prometheus data
source, every query uses the `$datasource` variable, and no data source uid is hard-coded.
Metric names follow docs/DESIGN.md and the collectors' README sections.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]

OUTPUT = Path(__file__).resolve().parent / "fctarget.json"
DS: Json = {"type": "prometheus", "uid": "${datasource}"}

# Label selectors, built from the template variables. A host view shows one instance; the fleet
# row shows every instance of the job.
JOB = 'job=~"$job"'
HOST = f'{JOB}, instance=~"$instance"'
PORT = f'{HOST}, host=~"$host"'  # fc_host, kernel log and interrupt metrics: SCSI host
TARGET = f'{HOST}, wwpn=~"$wwpn"'  # LIO metrics: target port name
LUN = f'{TARGET}, lun=~"$lun"'
INITIATOR = f'{TARGET}, initiator=~"$initiator"'

# FC link error counters of fc_host/statistics (the exporter adds _total).
FC_ERRORS = (
    ("invalid_crc", "invalid CRC"),
    ("loss_of_sync", "loss of sync"),
    ("loss_of_signal", "loss of signal"),
    ("link_failure", "link failure"),
    ("invalid_tx_word", "invalid TX word"),
    ("prim_seq_protocol_err", "primitive sequence protocol error"),
)

GREEN, YELLOW, RED = "green", "yellow", "red"


# --------------------------------------------------------------------------- queries


def query(expr: str, legend: str, *, instant: bool = False, fmt: str = "time_series") -> Json:
    """One Prometheus query of a panel (refId is assigned by `panel`)."""
    q: Json = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend}
    if instant:
        q["instant"] = True
        q["range"] = False
    else:
        q["range"] = True
    if fmt != "time_series":
        q["format"] = fmt
    return q


def rate(metric: str, selector: str, window: str = "$__rate_interval") -> str:
    return f"rate({metric}{{{selector}}}[{window}])"


def increase(metric: str, selector: str, window: str = "$__rate_interval") -> str:
    return f"increase({metric}{{{selector}}}[{window}])"


# --------------------------------------------------------------------------- panels


def thresholds(*steps: tuple[float | None, str]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


def value_map(*items: tuple[int, str, str]) -> list[Json]:
    """Value mappings for 0/1 state series: (value, text, color)."""
    return [
        {
            "type": "value",
            "options": {str(v): {"text": text, "color": color, "index": i}},
        }
        for i, (v, text, color) in enumerate(items)
    ]


def panel(
    kind: str,
    title: str,
    description: str,
    unit: str,
    targets: list[Json],
    *,
    options: Json | None = None,
    custom: Json | None = None,
    extra_defaults: Json | None = None,
    transformations: list[Json] | None = None,
    overrides: list[Json] | None = None,
) -> Json:
    defaults: Json = {"unit": unit, "color": {"mode": "palette-classic"}}
    if custom is not None:
        defaults["custom"] = custom
    defaults.update(extra_defaults or {})
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    p: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
        "targets": targets,
    }
    if transformations:
        p["transformations"] = transformations
    return p


def legend(*, table: bool = False, calcs: tuple[str, ...] = ()) -> Json:
    return {
        "showLegend": True,
        "displayMode": "table" if table else "list",
        "placement": "right" if table else "bottom",
        "calcs": list(calcs),
    }


def timeseries(
    title: str,
    description: str,
    unit: str,
    targets: list[Json],
    *,
    bars: bool = False,
    stack: bool = False,
    min_value: float | None = None,
    max_value: float | None = None,
    calcs: tuple[str, ...] = ("lastNotNull", "max"),
    step: bool = False,
) -> Json:
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "lineWidth": 1,
        "fillOpacity": 80 if bars else 10,
        "showPoints": "never",
        "lineInterpolation": "stepAfter" if step else "linear",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    extra: Json = {}
    if min_value is not None:
        extra["min"] = min_value
    if max_value is not None:
        extra["max"] = max_value
    return panel(
        "timeseries",
        title,
        description,
        unit,
        targets,
        custom=custom,
        extra_defaults=extra,
        options={
            "legend": legend(table=bool(calcs), calcs=calcs),
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


def state_timeline(
    title: str, description: str, unit: str, targets: list[Json], mappings: list[Json]
) -> Json:
    return panel(
        "state-timeline",
        title,
        description,
        unit,
        targets,
        custom={"fillOpacity": 80, "lineWidth": 0},
        extra_defaults={
            "mappings": mappings,
            "color": {"mode": "thresholds"},
            "thresholds": thresholds((None, RED), (1, GREEN)),
        },
        options={
            "legend": legend(),
            "showValue": "never",
            "mergeValues": True,
            "rowHeight": 0.8,
            "tooltip": {"mode": "single", "sort": "none"},
        },
    )


def stat(title: str, description: str, unit: str, targets: list[Json], steps: Json) -> Json:
    return panel(
        "stat",
        title,
        description,
        unit,
        targets,
        extra_defaults={"color": {"mode": "thresholds"}, "thresholds": steps},
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "textMode": "value_and_name",
            "orientation": "auto",
        },
    )


def bargauge(
    title: str,
    description: str,
    unit: str,
    targets: list[Json],
    steps: Json,
    *,
    min_value: float = 0,
    max_value: float | None = None,
) -> Json:
    extra: Json = {"color": {"mode": "thresholds"}, "thresholds": steps, "min": min_value}
    if max_value is not None:
        extra["max"] = max_value
    return panel(
        "bargauge",
        title,
        description,
        unit,
        targets,
        extra_defaults=extra,
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "displayMode": "gradient",
            "orientation": "horizontal",
            "showUnfilled": True,
            "valueMode": "color",
            "namePlacement": "left",
            "sizing": "auto",
        },
    )


def heatmap(title: str, description: str, unit: str, target: Json) -> Json:
    return panel(
        "heatmap",
        title,
        description,
        unit,
        [target],
        options={
            "calculate": False,
            "cellGap": 1,
            "cellValues": {"unit": unit},
            "color": {
                "mode": "scheme",
                "scheme": "Oranges",
                "scale": "exponential",
                "exponent": 0.5,
                "steps": 64,
                "reverse": False,
                "fill": "dark-orange",
            },
            "rowsFrame": {"layout": "auto", "value": "interrupts/s"},
            "yAxis": {"axisPlacement": "left", "axisLabel": "CPU", "reverse": False},
            "legend": {"show": True},
            "tooltip": {"mode": "single", "yHistogram": False, "showColorScale": True},
            "filterValues": {"le": 1e-9},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
        },
    )


def table(
    title: str,
    description: str,
    unit: str,
    targets: list[Json],
    *,
    hide: tuple[str, ...] = ("Time", "__name__", "job", "instance"),
    rename: dict[str, str] | None = None,
    merge: bool = False,
) -> Json:
    transformations: list[Json] = []
    if merge:
        transformations.append({"id": "merge", "options": {}})
    transformations.append(
        {
            "id": "organize",
            "options": {
                "excludeByName": dict.fromkeys(hide, True),
                "renameByName": rename or {},
                "indexByName": {},
            },
        }
    )
    return panel(
        "table",
        title,
        description,
        unit,
        targets,
        custom={"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True},
        options={"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
        transformations=transformations,
    )


# --------------------------------------------------------------------------- layout


@dataclass
class Layout:
    """Places panels left to right on Grafana's 24-column grid, rows top to bottom."""

    panels: list[Json] = field(default_factory=list)
    x: int = 0
    y: int = 0
    row_height: int = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "panels": [],
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            }
        )
        self.y += 1

    def add(self, p: Json, w: int, h: int) -> None:
        if self.x + w > 24:
            self._newline()
        p["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(p)
        self.x += w
        self.row_height = max(self.row_height, h)

    def _newline(self) -> None:
        self.y += self.row_height
        self.x = 0
        self.row_height = 0

    def numbered(self) -> list[Json]:
        for i, p in enumerate(self.panels, start=1):
            p["id"] = i
        return self.panels


# --------------------------------------------------------------------------- the dashboard


IRQ_RATE_5M_FLEET = rate("fctarget_irq_interrupts_total", JOB, "5m")


def fleet(lay: Layout) -> None:
    lay.row("Fleet: every host of job $job")
    lay.add(
        bargauge(
            "FC ports down per host",
            "FC ports whose fc_host port_state is not Online, per exporter instance (ports "
            "without an enabled TPG included; the FCTargetPortLinkDown alert ignores those).",
            "short",
            [query(f"sum by (instance) (1 - fctarget_fc_port_up{{{JOB}}})", "{{instance}}")],
            thresholds((None, GREEN), (1, RED)),
        ),
        6,
        8,
    )
    lay.add(
        bargauge(
            "Initiators without a session per host",
            "Configured initiator ACLs that have no session now.",
            "short",
            [query(f"sum by (instance) (1 - fctarget_session_active{{{JOB}}})", "{{instance}}")],
            thresholds((None, GREEN), (1, YELLOW)),
        ),
        6,
        8,
    )
    lay.add(
        bargauge(
            "Busiest CPU's share of a port's interrupts (worst port per host)",
            "For each FC port, the share of its interrupts over 5 minutes that the busiest CPU "
            "handled; the worst port of each host. 1 = one CPU does everything.",
            "percentunit",
            [
                query(
                    "max by (instance) (\n"
                    "  max by (instance, host) (sum by (instance, host, cpu) "
                    f"({IRQ_RATE_5M_FLEET}))\n"
                    "  /\n"
                    f"  sum by (instance, host) ({IRQ_RATE_5M_FLEET})\n"
                    ")",
                    "{{instance}}",
                )
            ],
            thresholds((None, GREEN), (0.5, YELLOW), (0.8, RED)),
            max_value=1,
        ),
        6,
        8,
    )
    lay.add(
        bargauge(
            "Failing collectors per host",
            "Collectors that failed (fully or partly) in the last scrape.",
            "short",
            [
                query(
                    f"sum by (instance) (1 - fctarget_scrape_collector_success{{{JOB}}})",
                    "{{instance}}",
                )
            ],
            thresholds((None, GREEN), (1, RED)),
        ),
        6,
        8,
    )
    lay.add(
        timeseries(
            "Target throughput per host",
            "Data read plus written by initiators through LIO, all ports (LIO counts whole MiB).",
            "Bps",
            [
                query(
                    f"sum by (instance) ({rate('fctarget_lun_read_bytes_total', JOB)})\n+\n"
                    f"sum by (instance) ({rate('fctarget_lun_write_bytes_total', JOB)})",
                    "{{instance}}",
                )
            ],
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "Target IOPS per host",
            "SCSI commands received by LIO per second, all LUNs.",
            "iops",
            [
                query(
                    f"sum by (instance) ({rate('fctarget_lun_commands_total', JOB)})",
                    "{{instance}}",
                )
            ],
        ),
        8,
        8,
    )
    lay.add(
        state_timeline(
            "Exporter reachable",
            "Prometheus' scrape result for each exporter (`up`).",
            "bool_on_off",
            [query(f"up{{{JOB}}}", "{{instance}}")],
            value_map((0, "down", RED), (1, "up", GREEN)),
        ),
        8,
        8,
    )


def overview(lay: Layout) -> None:
    lay.row("Host $instance: overview")
    lay.add(
        stat(
            "FC ports online",
            "FC ports whose fc_host port_state is Online, all FC ports, and those the qla2xxx "
            "driver runs in target mode (scsi_host active_mode).",
            "short",
            [
                query(f"sum(fctarget_fc_port_up{{{HOST}}})", "online"),
                query(f"count(fctarget_fc_port_up{{{HOST}}})", "ports"),
                query(f"sum(fctarget_fc_host_target_mode_active{{{HOST}}})", "target mode"),
            ],
            thresholds((None, "blue")),
        ),
        6,
        5,
    )
    lay.add(
        stat(
            "Sessions now",
            "Sessions on all TPGs now (ACL and demo-mode) and configured initiator ACLs.",
            "short",
            [
                query(f"sum(fctarget_tpg_sessions{{{HOST}}})", "logged in"),
                query(f"sum(fctarget_tpg_acls{{{HOST}}})", "configured"),
            ],
            thresholds((None, "blue")),
        ),
        6,
        5,
    )
    lay.add(
        stat(
            "Target I/O",
            "Throughput (read + write) and SCSI commands per second over all LUNs.",
            "Bps",
            [
                query(
                    f"sum({rate('fctarget_lun_read_bytes_total', HOST)})"
                    f" + sum({rate('fctarget_lun_write_bytes_total', HOST)})",
                    "throughput",
                ),
            ],
            thresholds((None, "blue")),
        ),
        4,
        5,
    )
    lay.add(
        stat(
            "IOPS",
            "SCSI commands per second over all LUNs.",
            "iops",
            [query(f"sum({rate('fctarget_lun_commands_total', HOST)})", "IOPS")],
            thresholds((None, "blue")),
        ),
        4,
        5,
    )
    lay.add(
        stat(
            "Failing collectors",
            "Collectors that failed (fully or partly) in the last scrape; the exporter's log "
            "names the reason.",
            "short",
            [
                query(
                    f"sum(1 - fctarget_scrape_collector_success{{{HOST}}})",
                    "failing",
                )
            ],
            thresholds((None, GREEN), (1, RED)),
        ),
        4,
        5,
    )


def fc_ports(lay: Layout) -> None:
    lay.row("FC ports")
    lay.add(
        state_timeline(
            "Link state",
            "fc_host port_state per port: Online or not (Linkdown, Offline, Blocked, ...).",
            "bool_on_off",
            [query(f"fctarget_fc_port_up{{{PORT}}}", "{{host}} {{wwpn}}")],
            value_map((0, "down", RED), (1, "online", GREEN)),
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Negotiated speed",
            "fc_host speed (absent while the link is down) and the speed of the last "
            "`LOOP UP detected (N Gbps)` in the kernel log, in bits per second as FC quotes it "
            "(the metrics are in bytes per second).",
            "bps",
            [
                query(f"8 * fctarget_fc_port_speed_bytes_per_second{{{PORT}}}", "{{host}} fc_host"),
                query(f"8 * fctarget_link_speed_bytes_per_second{{{PORT}}}", "{{host}} LOOP UP"),
            ],
            min_value=0,
            step=True,
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Link events (kernel log)",
            "qla2xxx messages per event: loop_up, loop_down, link_down, lip, lip_reset, rscn, "
            "isp_abort, isp_error, fw_dump, ... (LIP messages are debug-only on kernels >= 3.1).",
            "short",
            [
                query(
                    f"sum by (host, event) ({increase('fctarget_link_events_total', PORT)})",
                    "{{host}} {{event}}",
                )
            ],
            bars=True,
            stack=True,
            calcs=("sum",),
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "LIPs and ISP aborts (HBA counters)",
            "fc_host statistics/lip_count and qla2xxx total_isp_aborts (chip resets) per "
            "interval: the authoritative counts, independent of kernel log levels.",
            "short",
            [
                query(
                    f"sum by (host) ({increase('fctarget_fc_host_lip_total', PORT)})",
                    "{{host}} LIP",
                ),
                query(
                    f"sum by (host) ({increase('fctarget_fc_host_isp_aborts_total', PORT)})",
                    "{{host}} ISP abort",
                ),
            ],
            bars=True,
            calcs=("sum",),
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "FC link errors per minute",
            "fc_host statistics error counters. A burst of loss of sync/signal comes with every "
            "link down; a steady CRC or invalid TX word rate means a bad cable, SFP or "
            "switch port.",
            "cpm",
            [
                query(
                    f"60 * sum by (host) ({rate(f'fctarget_fc_host_{name}_total', PORT)})",
                    f"{{{{host}}}} {text}",
                )
                for name, text in FC_ERRORS
            ],
            calcs=("max", "sum"),
        ),
        8,
        8,
    )
    lay.add(
        table(
            "Ports",
            "qla2xxx ports: PCI function, SCSI host, WWPN, NUMA node of the HBA, model, firmware "
            "and driver version.",
            "string",
            [
                query(
                    f"fctarget_port_info{{{PORT}}}",
                    "{{host}}",
                    instant=True,
                    fmt="table",
                )
            ],
            hide=("Time", "__name__", "job", "instance", "Value"),
        ),
        24,
        6,
    )


def interrupts(lay: Layout) -> None:
    irq = "fctarget_irq_interrupts_total"
    lay.row("Interrupts (selected ports)")
    lay.add(
        heatmap(
            "Interrupts per CPU",
            "Interrupts per second of the selected ports' qla2xxx vectors, one row per CPU: a "
            "single hot row while the others stay dark is an imbalance.",
            "cps",
            query(f"sum by (cpu) ({rate(irq, PORT)})", "{{cpu}}", fmt="heatmap"),
        ),
        12,
        9,
    )
    lay.add(
        bargauge(
            "Interrupts per vector and CPU (last 5 minutes)",
            "Each bar is one vector on one CPU. Compare with the vector's allowed CPUs "
            "(table below).",
            "cps",
            [
                query(
                    f"sum by (host, vector, cpu) ({rate(irq, PORT, '5m')})",
                    "{{host}} {{vector}} CPU {{cpu}}",
                    instant=True,
                )
            ],
            thresholds((None, "blue")),
        ),
        12,
        9,
    )
    lay.add(
        bargauge(
            "Busiest CPU's share per vector (last 5 minutes)",
            "Share of a vector's interrupts that its busiest CPU handled. On x86 one vector is "
            "delivered to one CPU at a time, so 100 % per vector is normal; a problem is many "
            "vectors of a port on the same CPU (next panel).",
            "percentunit",
            [
                query(
                    f"max by (host, irq, vector) ({rate(irq, PORT, '5m')})\n/\n"
                    f"sum by (host, irq, vector) ({rate(irq, PORT, '5m')})",
                    "{{host}} {{vector}} (irq {{irq}})",
                    instant=True,
                )
            ],
            thresholds((None, GREEN), (0.5, YELLOW), (0.8, RED)),
            max_value=1,
        ),
        8,
        9,
    )
    lay.add(
        timeseries(
            "Busiest CPU's share per port",
            "Share of all of a port's interrupts (all vectors) handled by one CPU over 5 "
            "minutes. FCTargetIRQImbalance fires above 80 %.",
            "percentunit",
            [
                query(
                    f"max by (host) (sum by (host, cpu) ({rate(irq, PORT, '5m')}))\n/\n"
                    f"sum by (host) ({rate(irq, PORT, '5m')})",
                    "{{host}}",
                )
            ],
            min_value=0,
            max_value=1,
        ),
        8,
        9,
    )
    lay.add(
        timeseries(
            "Interrupts off the HBA's NUMA node",
            "Share of each port's interrupts handled on CPUs of another NUMA node than the "
            "HBA's PCI device. FCTargetIRQRemoteNUMA fires above 50 %.",
            "percentunit",
            [
                query(
                    "sum by (host) "
                    f"({rate('fctarget_irq_remote_numa_interrupts_total', PORT, '5m')})\n/\n"
                    f"sum by (host) ({rate(irq, PORT, '5m')})",
                    "{{host}}",
                )
            ],
            min_value=0,
            max_value=1,
        ),
        8,
        9,
    )
    lay.add(
        timeseries(
            "Interrupts per NUMA node",
            "Interrupts per second of the selected ports by the NUMA node of the CPU that "
            "handled them.",
            "cps",
            [
                query(
                    f"sum by (numa_node) (\n  {rate(irq, PORT)}\n"
                    "  * on (job, instance, cpu) group_left (numa_node)\n"
                    f"  fctarget_cpu_info{{{HOST}}}\n)",
                    "node {{numa_node}}",
                )
            ],
            stack=True,
        ),
        12,
        8,
    )
    lay.add(
        table(
            "IRQ affinity",
            "Each qla2xxx vector: IRQ number, allowed CPUs (/proc/irq/N/smp_affinity_list) and "
            "effective CPUs (effective_affinity_list).",
            "string",
            [
                query(
                    f"fctarget_irq_info{{{PORT}}}", "{{host}} {{vector}}", instant=True, fmt="table"
                )
            ],
            hide=("Time", "__name__", "job", "instance", "Value"),
        ),
        12,
        8,
    )


def target_io(lay: Layout) -> None:
    lay.row("Target I/O (LIO)")
    rd, wr, cmds = (
        "fctarget_lun_read_bytes_total",
        "fctarget_lun_write_bytes_total",
        "fctarget_lun_commands_total",
    )
    lay.add(
        timeseries(
            "Throughput per port",
            "Data read and written by initiators through each target port (sum of its LUNs' "
            "statistics; LIO counts whole MiB).",
            "Bps",
            [
                query(f"sum by (wwpn) ({rate(rd, TARGET)})", "{{wwpn}} read"),
                query(f"sum by (wwpn) ({rate(wr, TARGET)})", "{{wwpn}} write"),
            ],
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "IOPS per port",
            "SCSI commands per second received on each target port.",
            "iops",
            [query(f"sum by (wwpn) ({rate(cmds, TARGET)})", "{{wwpn}}")],
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Throughput per LUN",
            "Data read and written per LUN of each TPG.",
            "Bps",
            [
                query(f"sum by (wwpn, tpgt, lun) ({rate(rd, LUN)})", "{{wwpn}} LUN {{lun}} read"),
                query(f"sum by (wwpn, tpgt, lun) ({rate(wr, LUN)})", "{{wwpn}} LUN {{lun}} write"),
            ],
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "IOPS per LUN",
            "SCSI commands per second per LUN of each TPG.",
            "iops",
            [query(f"sum by (wwpn, tpgt, lun) ({rate(cmds, LUN)})", "{{wwpn}} LUN {{lun}}")],
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Throughput per initiator",
            "Data read and written by each configured initiator (ACL), summed over its mapped "
            "LUNs.",
            "Bps",
            [
                query(
                    "sum by (initiator) "
                    f"({rate('fctarget_initiator_read_bytes_total', INITIATOR)})",
                    "{{initiator}} read",
                ),
                query(
                    "sum by (initiator) "
                    f"({rate('fctarget_initiator_write_bytes_total', INITIATOR)})",
                    "{{initiator}} write",
                ),
            ],
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "IOPS per initiator",
            "SCSI commands per second from each configured initiator (ACL).",
            "iops",
            [
                query(
                    f"sum by (initiator) ({rate('fctarget_initiator_commands_total', INITIATOR)})",
                    "{{initiator}}",
                )
            ],
        ),
        12,
        8,
    )


def sessions_and_backstores(lay: Layout) -> None:
    lay.row("Sessions and backstores")
    lay.add(
        timeseries(
            "Sessions: configured vs logged in",
            "Per TPG: initiator ACLs configured, and sessions now (ACLs with a session plus "
            "demo-mode sessions).",
            "short",
            [
                query(
                    f"sum by (wwpn, tpgt) (fctarget_tpg_acls{{{TARGET}}})",
                    "{{wwpn}} tpg {{tpgt}} configured",
                ),
                query(
                    f"sum by (wwpn, tpgt) (fctarget_tpg_sessions{{{TARGET}}})",
                    "{{wwpn}} tpg {{tpgt}} logged in",
                ),
            ],
            min_value=0,
            step=True,
        ),
        12,
        8,
    )
    lay.add(
        state_timeline(
            "Initiator sessions",
            "Each configured initiator (ACL): logged in or not.",
            "bool_on_off",
            [
                query(
                    f"fctarget_session_active{{{INITIATOR}}}",
                    "{{initiator}} → {{wwpn}}",
                )
            ],
            value_map((0, "no session", RED), (1, "logged in", GREEN)),
        ),
        12,
        8,
    )
    lay.add(
        table(
            "Backstores",
            "Every backstore device: type, name, size, unit serial and the NAA id initiators "
            "see (VPD page 0x83).",
            "bytes",
            [
                query(
                    f"fctarget_backstore_size_bytes{{{HOST}}}\n"
                    "* on (job, instance, backstore_type, backstore)\n"
                    "  group_left (serial, wwn, vendor, product)\n"
                    f"fctarget_backstore_info{{{HOST}}}",
                    "{{backstore}}",
                    instant=True,
                    fmt="table",
                )
            ],
            rename={"Value": "size"},
        ),
        12,
        8,
    )
    lay.add(
        table(
            "LUNs",
            "LUN to backstore mapping of each TPG.",
            "string",
            [
                query(
                    f"fctarget_lun_info{{{LUN}}}",
                    "{{wwpn}} LUN {{lun}}",
                    instant=True,
                    fmt="table",
                )
            ],
            hide=("Time", "__name__", "job", "instance", "Value"),
        ),
        12,
        8,
    )


def exporter_health(lay: Layout) -> None:
    lay.row("Exporter health")
    lay.add(
        state_timeline(
            "Collector success",
            "Each collector's result in every scrape: ok, or failed (fully or partly).",
            "bool_on_off",
            [query(f"fctarget_scrape_collector_success{{{HOST}}}", "{{collector}}")],
            value_map((0, "failed", RED), (1, "ok", GREEN)),
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "Collector duration",
            "Time each collector took per scrape, and the whole scrape as Prometheus saw it.",
            "s",
            [
                query(
                    f"fctarget_scrape_collector_duration_seconds{{{HOST}}}",
                    "{{collector}}",
                ),
                query(f"scrape_duration_seconds{{{HOST}}}", "scrape (Prometheus)"),
            ],
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "Kernel log records",
            "Records per second read from /dev/kmsg, those from qla2xxx, and records lost "
            "(overwritten before they were read) or ignored (written from user space).",
            "cps",
            [
                query(f"{rate('fctarget_kmsg_records_total', HOST)}", "read"),
                query(f"{rate('fctarget_kmsg_qla2xxx_records_total', HOST)}", "qla2xxx"),
                query(f"{rate('fctarget_kmsg_records_lost_total', HOST)}", "lost"),
                query(f"{rate('fctarget_kmsg_user_records_ignored_total', HOST)}", "ignored"),
            ],
        ),
        8,
        8,
    )


def templating() -> list[Json]:
    def var(name: str, label: str, q: str, *, multi: bool, all_value: str | None) -> Json:
        v: Json = {
            "name": name,
            "label": label,
            "type": "query",
            "datasource": DS,
            "query": {"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": q,
            "refresh": 2,
            "sort": 1,
            "regex": "",
            "multi": multi,
            "includeAll": multi,
            "current": {},
            "options": [],
            "hide": 0,
            "skipUrlSync": False,
        }
        if all_value is not None:
            v["allValue"] = all_value
        return v

    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "options": [],
            "refresh": 1,
            "regex": "",
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "skipUrlSync": False,
        },
        var(
            "job",
            "Job",
            "label_values(fctarget_exporter_build_info, job)",
            multi=False,
            all_value=None,
        ),
        var(
            "instance",
            "Host",
            f"label_values(fctarget_exporter_build_info{{{JOB}}}, instance)",
            multi=False,
            all_value=None,
        ),
        var(
            "host",
            "Port (SCSI host)",
            f"label_values(fctarget_fc_port_up{{{HOST}}}, host)",
            multi=True,
            all_value=".*",
        ),
        # No allValue: "All" expands to the WWPNs of the selected SCSI hosts only.
        var(
            "wwpn",
            "Port (WWPN)",
            f"label_values(fctarget_fc_port_up{{{PORT}}}, wwpn)",
            multi=True,
            all_value=None,
        ),
        var(
            "initiator",
            "Initiator",
            f"label_values(fctarget_acl_info{{{TARGET}}}, initiator)",
            multi=True,
            all_value=".*",
        ),
        var(
            "lun",
            "LUN",
            f"label_values(fctarget_lun_info{{{TARGET}}}, lun)",
            multi=True,
            all_value=".*",
        ),
    ]


def annotation_list() -> list[Json]:
    return [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        },
        {
            "name": "FC link down",
            "datasource": DS,
            "enable": True,
            "hide": False,
            "iconColor": "red",
            "expr": f"(1 - fctarget_fc_port_up{{{PORT}}}) > 0",
            "step": "15s",
            "titleFormat": "{{host}} link down",
            "textFormat": "{{wwpn}}",
            "useValueForTime": False,
        },
    ]


def dashboard() -> Json:
    lay = Layout()
    fleet(lay)
    overview(lay)
    fc_ports(lay)
    interrupts(lay)
    target_io(lay)
    sessions_and_backstores(lay)
    exporter_health(lay)
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "description": "Prometheus that scrapes fctarget-exporter",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__elements": {},
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            *(
                {"type": "panel", "id": kind, "name": name, "version": ""}
                for kind, name in (
                    ("bargauge", "Bar gauge"),
                    ("heatmap", "Heatmap"),
                    ("stat", "Stat"),
                    ("state-timeline", "State timeline"),
                    ("table", "Table"),
                    ("timeseries", "Time series"),
                )
            ),
        ],
        "annotations": {"list": annotation_list()},
        "description": "LIO SCSI target over Fibre Channel (qla2xxx): link state and events, "
        "interrupt spread, FC errors, target I/O, sessions, backstores; from fctarget-exporter.",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "liveNow": False,
        "panels": lay.numbered(),
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["fibre-channel", "lio", "qla2xxx", "storage"],
        "templating": {"list": templating()},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "FC target (LIO / qla2xxx)",
        "uid": "fctarget-exporter",
        "version": 1,
        "weekStart": "",
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="compare, do not write")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python -m dashboards.generate", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
