"""Dashboard row "SCSI latency and status" (the scsi_latency collector: eBPF on LIO's target
tracepoints, off by default; empty panels where it is not enabled)."""

from __future__ import annotations

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards import queries as q
from dashboards.panels import heatmap, query, stacked, timeseries

Panels = list[cogbuilder.Builder[dm.Panel]]
LUN = "{{target}} LUN {{lun}}"


def scsi() -> Panels:
    return [
        heatmap(
            "Command latency (selected LUNs)",
            "Commands per second by the time LIO took to answer them (CDB received to status "
            "sent), log2 buckets from 16 us to 17 s; a band moving up is the backstore slowing.",
            "s",
            query(q.SCSI_LATENCY_BUCKETS, "{{le}}").format(PromQueryFormat.HEATMAP),
            ("latency (le)", "commands/s"),
        )
        .span(12)
        .height(9),
        timeseries(
            "p99 latency per LUN",
            "99th percentile of the command latency per LUN (from the histogram buckets). "
            "FCTargetSCSILatencyHigh fires above fctarget:scsi_p99_latency_threshold_seconds.",
            "s",
            [query(q.SCSI_P99, LUN)],
        )
        .span(12)
        .height(9),
        stacked(
            timeseries(
                "Non-GOOD status per LUN",
                "Commands answered with another status than GOOD, per second: CHECK CONDITION "
                "(with its sense key), BUSY, TASK SET FULL, RESERVATION CONFLICT, TASK ABORTED.",
                "cps",
                [query(q.SCSI_STATUS, LUN + " {{status}} {{sense_key}}")],
            )
        )
        .span(12)
        .height(8),
        timeseries(
            "Commands in flight and untimed",
            "Commands received and not yet answered, per target; commands whose latency was "
            "not measured (evicted from the bounded start map, lost, unmatched) per second.",
            "short",
            [
                query(q.SCSI_IN_FLIGHT, "{{target}} in flight"),
                query(q.SCSI_UNTIMED, "untimed: {{reason}}"),
                query(q.SCSI_TRACER_UP, "tracer up"),
            ],
        )
        .span(12)
        .height(8),
    ]
