"""Dashboard rows "FC ports" and "Interrupts" of the selected instance and SCSI hosts."""

from __future__ import annotations

from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards import queries as q
from dashboards.panels import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    bargauge,
    bars,
    heatmap,
    instant,
    organize,
    query,
    stacked,
    state_timeline,
    steps,
    table,
    thresholds,
    timeseries,
    value_map,
    with_runbook,
)
from dashboards.rows_host import Panels


def fc_ports() -> Panels:
    return [
        with_runbook(
            state_timeline(
                "Link state",
                "fc_host port_state per port: Online or not (Linkdown, Offline, Blocked, ...).",
                "bool_on_off",
                [query(q.LINK_STATE, "{{host}} {{wwpn}}")],
                value_map((0, "down", RED), (1, "online", GREEN)),
            )
        )
        .span(12)
        .height(8),
        steps(
            timeseries(
                "Negotiated speed",
                "fc_host speed (absent while the link is down), in bits per second as FC quotes "
                "it (the metric is in bytes per second).",
                "bps",
                [query(q.SPEED_FC_HOST, "{{host}}")],
            )
        )
        .min(0)
        .span(12)
        .height(8),
        stacked(
            bars(
                timeseries(
                    "Link events (kernel log)",
                    "qla2xxx messages per event: loop_up, loop_down, link_down, lip, lip_reset, "
                    "rscn, isp_abort, isp_error, fw_dump, ... (LIP messages are debug-only on "
                    "kernels >= 3.1).",
                    "short",
                    [query(q.LINK_EVENTS, "{{host}} {{event}}")],
                    calcs=("sum",),
                )
            )
        )
        .span(8)
        .height(8),
        bars(
            timeseries(
                "LIPs and ISP aborts (HBA counters)",
                "fc_host statistics/lip_count and qla2xxx total_isp_aborts (chip resets) per "
                "interval: the authoritative counts, independent of kernel log levels.",
                "short",
                [query(q.LIPS, "{{host}} LIP"), query(q.ISP_ABORTS, "{{host}} ISP abort")],
                calcs=("sum",),
            )
        )
        .span(8)
        .height(8),
        timeseries(
            "FC link errors per minute",
            "fc_host statistics error counters. A burst of loss of sync/signal comes with every "
            "link down; a steady CRC or invalid TX word rate means a bad cable, SFP or "
            "switch port.",
            "cpm",
            [query(expr, f"{{{{host}}}} {text}") for expr, text in q.FC_ERRORS],
            calcs=("max", "sum"),
        )
        .span(8)
        .height(8),
        timeseries(
            "Port utilisation",
            "FC words received and sent (fc_host statistics rx_words, tx_words; 4 bytes each) "
            "per second against the negotiated speed (fc_host speed in bytes per second). An "
            "approximation: words count whole frames (headers and CRC included), while the "
            "speed is the nominal rate; the line encoding (8b/10b up to 8GFC, 64b/66b from "
            "16GFC) and framing overhead mean a saturated link stays below 100 % (about 80-85 "
            "%). The exporter re-reads these statistics at most every "
            "--collector.fc_host.stats-min-interval (5 s by default): short rate windows step.",
            "percentunit",
            [query(expr, f"{{{{host}}}} {text}") for expr, text in q.PORT_UTILISATION],
        )
        .min(0)
        .max(1)
        .span(12)
        .height(8),
        bars(
            timeseries(
                "FPIN notifications",
                "Fabric Performance Impact Notifications the port received per interval (fc_host "
                "statistics fpin_cn, fpin_li): congestion (the fabric asks this port to slow "
                "down, or reports it as a slow drain) and link integrity (the fabric sees errors "
                "on a link of this port's path). Absent when the driver or fabric has no FPIN.",
                "short",
                [
                    query(q.FPIN_CONGESTION, "{{host}} congestion"),
                    query(q.FPIN_LINK_INTEGRITY, "{{host}} link integrity"),
                ],
                calcs=("sum",),
            )
        )
        .span(12)
        .height(8),
        table(
            "Ports",
            "qla2xxx ports: PCI function, SCSI host, WWPN, NUMA node of the HBA (hba collector), "
            "model, firmware and driver version (fc_host adapter info, when available).",
            "string",
            [instant(q.PORT_INFO, "{{host}}", PromQueryFormat.TABLE)],
            organize(),
        )
        .span(24)
        .height(6),
    ]


def interrupts() -> Panels:
    return [
        heatmap(
            "Interrupts per CPU",
            "Interrupts per second of the selected ports' qla2xxx vectors, one row per CPU: a "
            "single hot row while the others stay dark is an imbalance.",
            "cps",
            query(q.IRQ_PER_CPU, "{{cpu}}").format(PromQueryFormat.HEATMAP),
            ("CPU", "interrupts/s"),
        )
        .span(12)
        .height(9),
        bargauge(
            "Interrupts per vector and CPU (last 5 minutes)",
            "Each bar is one vector on one CPU. Compare with the vector's effective CPU "
            "(table below).",
            "cps",
            [instant(q.IRQ_PER_VECTOR_CPU, "{{host}} {{vector}} CPU {{cpu}}")],
            thresholds((None, BLUE)),
        )
        .span(12)
        .height(9),
        bargauge(
            "Busiest CPU's share per vector (last 5 minutes)",
            "Share of a vector's interrupts that its busiest CPU handled. On x86 one vector is "
            "delivered to one CPU at a time, so 100 % per vector is normal; a problem is many "
            "vectors of a port on the same CPU (next panel).",
            "percentunit",
            [instant(q.IRQ_VECTOR_SHARE, "{{host}} {{vector}} (irq {{irq}})")],
            thresholds((None, GREEN), (0.5, YELLOW), (0.8, RED)),
        )
        .max(1)
        .span(8)
        .height(9),
        timeseries(
            "Busiest CPU's share per port",
            "Share of all of a port's interrupts (all vectors) handled by one CPU over 5 "
            "minutes. FCTargetIRQImbalance fires above 80 %.",
            "percentunit",
            [query(q.IRQ_PORT_SHARE, "{{host}}")],
        )
        .min(0)
        .max(1)
        .span(8)
        .height(9),
        timeseries(
            "Interrupts off the HBA's NUMA node",
            "Share of each port's interrupts handled on CPUs of another NUMA node than the "
            "HBA's PCI device. FCTargetIRQRemoteNUMA fires above 50 %.",
            "percentunit",
            [query(q.IRQ_REMOTE_NUMA_SHARE, "{{host}}")],
        )
        .min(0)
        .max(1)
        .span(8)
        .height(9),
        stacked(
            timeseries(
                "Interrupts per NUMA node",
                "Interrupts per second of the selected ports by the NUMA node of the CPU that "
                "handled them.",
                "cps",
                [query(q.IRQ_PER_NUMA_NODE, "node {{numa_node}}")],
            )
        )
        .span(12)
        .height(8),
        table(
            "IRQ affinity",
            "Each qla2xxx vector: IRQ number and the CPU the kernel delivers it to now (the "
            "first CPU of /proc/irq/N/effective_affinity_list).",
            "none",
            [instant(q.IRQ_EFFECTIVE_CPU, "{{host}} {{vector}}", PromQueryFormat.TABLE)],
            organize(
                hide=("Time", "__name__", "job", "instance"), rename={"Value": "effective CPU"}
            ),
        )
        .span(12)
        .height(8),
    ]
