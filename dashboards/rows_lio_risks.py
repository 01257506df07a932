"""Dashboard row "ALUA and backstore risks": path states per target port group, LUNs in the
secondary Offline state, volatile write caches, read-only backstores, resets and aborts."""

from __future__ import annotations

from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards import queries as q
from dashboards.panels import (
    GREEN,
    RED,
    bars,
    instant,
    organize,
    query,
    state_timeline,
    table,
    timeseries,
    value_map,
)
from dashboards.rows_host import Panels


def alua_and_risks() -> Panels:
    return [
        state_timeline(
            "ALUA groups serving LUNs",
            "Each ALUA target port group with LUNs in it: active (Active/Optimized or "
            "Active/Non-optimized) or not (Standby, Unavailable, Offline, Transitioning: no I/O "
            "through its ports).",
            "short",
            [query(q.ALUA_SERVING_ACTIVE, "{{backstore}} / {{tg_pt_gp}}")],
            value_map((0, "not active", RED), (1, "active", GREEN)),
        )
        .span(12)
        .height(8),
        table(
            "ALUA target port groups",
            "Every group of every backstore: its current state and the LUNs in it.",
            "short",
            [instant(q.ALUA_GROUPS, "{{backstore}} / {{tg_pt_gp}}", PromQueryFormat.TABLE)],
            organize(hide=("Time", "__name__", "job", "instance"), rename={"Value": "LUNs"}),
        )
        .span(12)
        .height(8),
        state_timeline(
            "Backstore risks",
            "Write-back cache not known to be persistent (fileio Buffered-WCE, or the block "
            "device's queue/write_cache 'write back'), read-only block backstores, and LUNs "
            "whose target port is in the secondary ALUA state Offline.",
            "short",
            [
                query(q.BACKSTORE_VOLATILE, "{{backstore}} volatile write cache"),
                query(q.BACKSTORE_READ_ONLY, "{{backstore}} read-only"),
                query(q.LUN_ALUA_OFFLINE, "{{target}} LUN {{lun}} offline"),
            ],
            value_map((0, "no", GREEN), (1, "yes", RED)),
        )
        .span(12)
        .height(8),
        bars(
            timeseries(
                "LUN resets and task aborts",
                "LUN RESET task management functions and ABORT TASKs per backstore "
                "(statistics/scsi_tgt_dev): initiators giving up on commands.",
                "short",
                [
                    query(q.BACKSTORE_RESETS, "{{backstore}} LUN resets"),
                    query(q.BACKSTORE_ABORTS, "{{backstore}} aborts completed"),
                    query(q.BACKSTORE_ABORTS_NO_TASK, "{{backstore}} aborts, no task"),
                ],
            )
        )
        .span(12)
        .height(8),
    ]
