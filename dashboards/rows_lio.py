"""Dashboard rows "Target I/O", "Sessions and backstores" and "Exporter health"."""

from __future__ import annotations

from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards import queries as q
from dashboards.panels import (
    BLUE,
    GREEN,
    RED,
    bars,
    instant,
    organize,
    query,
    state_timeline,
    steps,
    table,
    timeseries,
    value_map,
    with_runbook,
)
from dashboards.rows_host import Panels


def target_io() -> Panels:
    return [
        timeseries(
            "Throughput per port",
            "Data read and written by initiators through each target port (sum of its LUNs' "
            "statistics; LIO counts whole MiB).",
            "Bps",
            [query(q.PORT_READ, "{{target}} read"), query(q.PORT_WRITE, "{{target}} write")],
        )
        .span(12)
        .height(8),
        timeseries(
            "IOPS per port",
            "SCSI commands per second received on each target port.",
            "iops",
            [query(q.PORT_IOPS, "{{target}}")],
        )
        .span(12)
        .height(8),
        timeseries(
            "Throughput per LUN",
            "Data read and written per LUN of each TPG.",
            "Bps",
            [
                query(q.LUN_READ, "{{target}} LUN {{lun}} read"),
                query(q.LUN_WRITE, "{{target}} LUN {{lun}} write"),
            ],
        )
        .span(12)
        .height(8),
        timeseries(
            "IOPS per LUN",
            "SCSI commands per second per LUN of each TPG.",
            "iops",
            [query(q.LUN_IOPS, "{{target}} LUN {{lun}}")],
        )
        .span(12)
        .height(8),
        timeseries(
            "Throughput per initiator",
            "Data read and written by each configured initiator (ACL), summed over its mapped "
            "LUNs.",
            "Bps",
            [
                query(q.INITIATOR_READ, "{{initiator}} read"),
                query(q.INITIATOR_WRITE, "{{initiator}} write"),
            ],
        )
        .span(12)
        .height(8),
        timeseries(
            "IOPS per initiator",
            "SCSI commands per second from each configured initiator (ACL).",
            "iops",
            [query(q.INITIATOR_IOPS, "{{initiator}}")],
        )
        .span(12)
        .height(8),
    ]


def sessions_and_backstores() -> Panels:
    return [
        steps(
            timeseries(
                "Sessions: configured vs logged in",
                "Per TPG: initiator ACLs configured, and sessions now (ACLs with a session plus "
                "demo-mode sessions).",
                "short",
                [
                    query(q.TPG_ACLS, "{{target}} tpg {{tpgt}} configured"),
                    query(q.TPG_SESSIONS, "{{target}} tpg {{tpgt}} logged in"),
                ],
            )
        )
        .min(0)
        .span(12)
        .height(8),
        with_runbook(
            state_timeline(
                "Initiator sessions",
                "Each configured initiator (ACL): logged in or not.",
                "bool_on_off",
                [query(q.SESSION_ACTIVE, "{{initiator}} → {{target}}")],
                value_map((0, "no session", RED), (1, "logged in", GREEN)),
            )
        )
        .span(12)
        .height(8),
        state_timeline(
            "TPG enabled",
            "Each target portal group: enabled (tpgt_N/enable = 1) or disabled "
            "(`targetcli /<fabric>/<target>/tpgN disable`). A disabled TPG serves no initiator; "
            "its port being down and its ACLs without session are expected. Loopback TPGs have "
            "no enable attribute and are not shown.",
            "bool_on_off",
            [query(q.TPG_ENABLED, "{{fabric}} {{target}} tpg {{tpgt}}")],
            value_map((0, "disabled", BLUE), (1, "enabled", GREEN)),
        )
        .span(12)
        .height(8),
        bars(
            timeseries(
                "Backstore aborts and resets",
                "Per backstore and interval: task aborts completed, task aborts that found no "
                "task (statistics/scsi_tgt_dev aborts_complete, aborts_no_task; kernels >= 5.x) "
                "and LUN resets (resets). Initiators abort commands that time out: a slow or "
                "stuck backing device shows here first.",
                "short",
                [
                    query(q.BACKSTORE_ABORTS, "{{backstore}} aborts"),
                    query(q.BACKSTORE_ABORTS_NO_TASK, "{{backstore}} aborts, no task"),
                    query(q.BACKSTORE_RESETS, "{{backstore}} LUN resets"),
                ],
                calcs=("sum",),
            )
        )
        .span(12)
        .height(8),
        table(
            "Backstores",
            "Every backstore device: type, name, size, unit serial and the NAA id initiators "
            "see (VPD page 0x83).",
            "bytes",
            [instant(q.BACKSTORES, "{{backstore}}", PromQueryFormat.TABLE)],
            organize(hide=("Time", "__name__", "job", "instance"), rename={"Value": "size"}),
        )
        .span(12)
        .height(8),
        table(
            "LUNs",
            "LUN to backstore mapping of each TPG.",
            "string",
            [instant(q.LUN_INFO, "{{target}} LUN {{lun}}", PromQueryFormat.TABLE)],
            organize(),
        )
        .span(12)
        .height(8),
    ]


def exporter_health() -> Panels:
    return [
        state_timeline(
            "Collector success",
            "Each collector's result in every scrape: ok, or failed (fully or partly).",
            "bool_on_off",
            [query(q.COLLECTOR_SUCCESS, "{{collector}}")],
            value_map((0, "failed", RED), (1, "ok", GREEN)),
        )
        .span(8)
        .height(8),
        timeseries(
            "Collector duration",
            "Time each collector took per scrape, and the whole scrape as Prometheus saw it.",
            "s",
            [
                query(q.COLLECTOR_DURATION, "{{collector}}"),
                query(q.SCRAPE_DURATION, "scrape (Prometheus)"),
            ],
        )
        .span(8)
        .height(8),
        timeseries(
            "Kernel log records",
            "Records per second read from /dev/kmsg, those from qla2xxx, and records lost "
            "(overwritten before they were read) or ignored (written from user space).",
            "cps",
            [
                query(q.KMSG_READ, "read"),
                query(q.KMSG_QLA2XXX, "qla2xxx"),
                query(q.KMSG_LOST, "lost"),
                query(q.KMSG_IGNORED, "ignored"),
            ],
        )
        .span(8)
        .height(8),
    ]
