"""Dashboard rows "Fleet" (every host of the job) and "Host overview" (one instance)."""

from __future__ import annotations

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import queries as q
from dashboards.panels import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    alert_list,
    bargauge,
    query,
    stat,
    state_timeline,
    thresholds,
    timeseries,
    value_map,
    with_runbook,
)

Panels = list[cogbuilder.Builder[dm.Panel]]
BY_INSTANCE = "{{instance}}"


def fleet() -> Panels:
    return [
        with_runbook(
            bargauge(
                "FC ports down per host",
                "FC ports in service (LIO has an enabled TPG on the port's WWPN) whose fc_host "
                "port_state is not Online, per exporter instance. Ports without a TPG or with "
                "only disabled TPGs are administratively down and not counted, as in the "
                "FCTargetPortLinkDown alert.",
                "short",
                [query(q.FLEET_PORTS_DOWN, BY_INSTANCE)],
                thresholds((None, GREEN), (1, RED)),
            )
        )
        .span(6)
        .height(8),
        with_runbook(
            bargauge(
                "Initiators without a session per host",
                "Configured initiator ACLs that have no session now, on enabled TPGs only (the "
                "ACLs of a disabled TPG cannot log in and are not counted).",
                "short",
                [query(q.FLEET_NO_SESSION, BY_INSTANCE)],
                thresholds((None, GREEN), (1, YELLOW)),
            )
        )
        .span(6)
        .height(8),
        bargauge(
            "Busiest CPU's share of a port's interrupts (worst port per host)",
            "For each FC port, the share of its interrupts over 5 minutes that the busiest CPU "
            "handled; the worst port of each host. 1 = one CPU does everything.",
            "percentunit",
            [query(q.FLEET_IRQ_SHARE, BY_INSTANCE)],
            thresholds((None, GREEN), (0.5, YELLOW), (0.8, RED)),
        )
        .max(1)
        .span(6)
        .height(8),
        bargauge(
            "Failing collectors per host",
            "Collectors that failed (fully or partly) in the last scrape.",
            "short",
            [query(q.FLEET_FAILING, BY_INSTANCE)],
            thresholds((None, GREEN), (1, RED)),
        )
        .span(6)
        .height(8),
        timeseries(
            "Target throughput per host",
            "Data read plus written by initiators through LIO, all ports (LIO counts whole MiB).",
            "Bps",
            [query(q.FLEET_THROUGHPUT, BY_INSTANCE)],
        )
        .span(8)
        .height(8),
        timeseries(
            "Target IOPS per host",
            "SCSI commands received by LIO per second, all LUNs.",
            "iops",
            [query(q.FLEET_IOPS, BY_INSTANCE)],
        )
        .span(8)
        .height(8),
        state_timeline(
            "Exporter reachable",
            "Prometheus' scrape result for each exporter (`up`).",
            "bool_on_off",
            [query(q.FLEET_UP, BY_INSTANCE)],
            value_map((0, "down", RED), (1, "up", GREEN)),
        )
        .span(8)
        .height(8),
        alert_list(
            "FCTarget alerts",
            "Firing and pending alerts named FCTarget* (the shipped rules), from Grafana's "
            'alerting: Prometheus rules show when the Prometheus data source has "Manage alerts '
            'via Alerting UI" on (the default). The link opens the runbooks.',
            "FCTarget",
        )
        .span(24)
        .height(6),
    ]


def overview() -> Panels:
    return [
        stat(
            "FC ports online",
            "FC ports whose fc_host port_state is Online, all FC ports, and those the qla2xxx "
            "driver runs in target mode (scsi_host active_mode).",
            "short",
            [
                query(q.PORTS_ONLINE, "online"),
                query(q.PORTS_COUNT, "ports"),
                query(q.PORTS_TARGET_MODE, "target mode"),
            ],
            thresholds((None, BLUE)),
        )
        .span(6)
        .height(5),
        stat(
            "Sessions now",
            "Sessions on all TPGs now (ACL and demo-mode) and configured initiator ACLs.",
            "short",
            [
                query(q.SESSIONS_LOGGED_IN, "logged in"),
                query(q.SESSIONS_CONFIGURED, "configured"),
            ],
            thresholds((None, BLUE)),
        )
        .span(6)
        .height(5),
        stat(
            "Target I/O",
            "Throughput (read + write) and SCSI commands per second over all LUNs.",
            "Bps",
            [query(q.HOST_THROUGHPUT, "throughput")],
            thresholds((None, BLUE)),
        )
        .span(4)
        .height(5),
        stat(
            "IOPS",
            "SCSI commands per second over all LUNs.",
            "iops",
            [query(q.HOST_IOPS, "IOPS")],
            thresholds((None, BLUE)),
        )
        .span(4)
        .height(5),
        stat(
            "Failing collectors",
            "Collectors that failed (fully or partly) in the last scrape; the exporter's log "
            "names the reason.",
            "short",
            [query(q.HOST_FAILING, "failing")],
            thresholds((None, GREEN), (1, RED)),
        )
        .span(4)
        .height(5),
    ]
