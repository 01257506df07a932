"""Dashboard row "Target engine (qla2xxx)": what only the HBA driver knows, from debugfs (the
qla2xxx collector is opt-in; the row stays empty without it)."""

from __future__ import annotations

from dashboards import queries as q
from dashboards.panels import GREEN, RED, bars, query, state_timeline, timeseries, value_map
from dashboards.rows_host import Panels

BY_HOST = "{{host}}"


def target_engine() -> Panels:
    return [
        bars(
            timeseries(
                "QUEUE FULL sent",
                "SCSI QUEUE FULL statuses the target sent per second (tgt_counters): initiators "
                "are being refused.",
                "ops",
                [query(q.QLA_QUEUE_FULL, BY_HOST)],
            )
        )
        .span(8)
        .height(8),
        timeseries(
            "Terminated exchanges (ABTS)",
            "Exchanges the target terminated per second: initiator aborts (ABTS) and some error "
            "paths.",
            "ops",
            [query(q.QLA_TERMINATED, BY_HOST)],
        )
        .span(8)
        .height(8),
        timeseries(
            "IOCB allocation failures and DIF errors",
            "Request-queue IOCB allocation failures per second, and T10-PI check failures per "
            "interval by check.",
            "short",
            [
                query(q.QLA_IOCB_FAILURES, "IOCB failures {{host}}"),
                query(q.QLA_DIF_ERRORS, "DIF {{check}} {{host}}"),
            ],
        )
        .span(8)
        .height(8),
        timeseries(
            "Firmware exchanges and IOCBs in use",
            "Share of the firmware's target exchanges, initiator exchanges and IOCBs in use "
            "(fw_resource_count, opt-in); above 0.9 new commands get busy or QUEUE FULL.",
            "percentunit",
            [query(q.QLA_RESOURCE_USED, "{{host}} {{resource}}")],
        )
        .max(1)
        .span(8)
        .height(8),
        bars(
            timeseries(
                "Initiator logins",
                "Logins per initiator per interval (rports login_gen, kernel 5.11+): a steady "
                "rate is re-login churn.",
                "short",
                [query(q.QLA_LOGINS, "{{initiator}} on {{host}}")],
            )
        )
        .span(8)
        .height(8),
        state_timeline(
            "Initiator firmware login",
            "1 = the firmware login (PLOGI + PRLI) of the initiator is complete.",
            "short",
            [query(q.QLA_LOGGED_IN, "{{initiator}} on {{host}}")],
            value_map((0, "not logged in", RED), (1, "logged in", GREEN)),
        )
        .span(8)
        .height(8),
    ]
