"""Families of the lio collector for ALUA and backstore risks (read from `<configfs>/target`).

ALUA target port groups belong to a backstore device (`core/<hba>/<dev>/alua/<tg_pt_gp>/`);
every LUN exporting the device is in one of its groups (`default_tg_pt_gp` unless moved).
"""

from __future__ import annotations

from exporter.catalogue import declare
from exporter.catalogue.lio import BS, LUN
from exporter.catalogue.spec import Metric, gauge, info


def _d(m: Metric) -> Metric:
    return declare("lio", m)


GP = (*BS, "tg_pt_gp")
_DEV = "<configfs>/target/core/<hba>/<dev>"
_GP = f"{_DEV}/alua/<tg_pt_gp>"
_LUN = "<configfs>/target/<fabric>/<target>/tpgt_<T>/lun/lun_<N>/alua_tg_pt_gp"

# -- ALUA target port groups -----------------------------------------------------------------

ALUA_GP_INFO = _d(
    info(
        "fctarget_lio_alua_tg_pt_gp_info",
        "An ALUA target port group of a backstore device (alua/<tg_pt_gp>), with its target "
        "port group id as initiators see it in REPORT TARGET PORT GROUPS (empty while no id "
        "is set).",
        (*GP, "tg_pt_gp_id"),
        (f"{_GP}/tg_pt_gp_id",),
    )
)
ALUA_GP_STATE = _d(
    gauge(
        "fctarget_lio_alua_tg_pt_gp_state",
        "Primary ALUA access state of the group (alua_access_state), one series per SPC-4 "
        "state (1 for the current one): active_optimized, active_nonoptimized, standby, "
        "unavailable, lba_dependent, offline, transitioning. Only the two active states "
        "serve I/O on the group's LUNs.",
        (*GP, "state"),
        (f"{_GP}/alua_access_state",),
    )
)
ALUA_GP_STATUS = _d(
    gauge(
        "fctarget_lio_alua_tg_pt_gp_status",
        "Why the group's state last changed (alua_access_status), one series per status (1 "
        "for the current one): none, explicit_stpg (an initiator's SET TARGET PORT GROUPS), "
        "implicit_alua (the target, e.g. through configfs).",
        (*GP, "status"),
        (f"{_GP}/alua_access_status",),
    )
)
ALUA_GP_PREFERRED = _d(
    gauge(
        "fctarget_lio_alua_tg_pt_gp_preferred",
        "1 if the group reports the PREF bit (preferred), the path initiators should favour.",
        GP,
        (f"{_GP}/preferred",),
    )
)
ALUA_GP_MEMBERS = _d(
    gauge(
        "fctarget_lio_alua_tg_pt_gp_members",
        "LUNs in the group (lines of members, across all fabrics; the kernel lists at most "
        "one page, about 80 qla2xxx LUNs).",
        GP,
        (f"{_GP}/members",),
    )
)

# -- the LUN's side ------------------------------------------------------------------------

LUN_ALUA_INFO = _d(
    info(
        "fctarget_lio_lun_alua_tg_pt_gp_info",
        "The ALUA target port group a LUN is in (alua_tg_pt_gp TG Port Alias), with the "
        "backstore it exports, to join with fctarget_lio_alua_tg_pt_gp_*.",
        (*LUN, *GP),
        (_LUN,),
    )
)
LUN_ALUA_OFFLINE = _d(
    gauge(
        "fctarget_lio_lun_alua_offline",
        "1 if the LUN's target port is in the secondary ALUA state Offline (alua_tg_pt_offline; "
        "read from the Secondary Access State line of alua_tg_pt_gp): commands on it fail.",
        LUN,
        (_LUN,),
    )
)
LUN_ALUA_STATUS = _d(
    gauge(
        "fctarget_lio_lun_alua_status",
        "Secondary ALUA access status of the LUN's target port (alua_tg_pt_status; read from "
        "alua_tg_pt_gp), one series per status: none, explicit_stpg, implicit_alua.",
        (*LUN, "status"),
        (_LUN,),
    )
)

# -- backstore risks -------------------------------------------------------------------------

BACKSTORE_VOLATILE_CACHE = _d(
    gauge(
        "fctarget_lio_backstore_volatile_write_cache",
        "1 if writes the backstore acknowledges can sit in a volatile cache until an initiator "
        "flushes: fileio in Buffered-WCE mode (the target's page cache; info Mode), or a block "
        "backstore whose block device reports queue/write_cache 'write back' (the kernel "
        "advertises WCE from it, not from attrib/emulate_write_cache). 0: O_DSYNC fileio or "
        "'write through'. Absent for other types. A battery-backed cache is invisible here.",
        BS,
        (f"{_DEV}/info", "<sysfs>/class/block/<bdev>/queue/write_cache"),
    )
)
BACKSTORE_READ_ONLY = _d(
    gauge(
        "fctarget_lio_backstore_read_only",
        "1 if the block backstore was opened read-only (info readonly; writes fail with DATA "
        "PROTECT). Only block backstores have it.",
        BS,
        (f"{_DEV}/info",),
    )
)
USER_BLOCKED = _d(
    gauge(
        "fctarget_lio_backstore_user_blocked",
        "1 if the tcmu (user) device is blocked (action/block_dev): new commands wait until "
        "the handler (tcmu-runner) unblocks it.",
        BS,
        (f"{_DEV}/action/block_dev",),
    )
)
USER_CMD_TIMEOUT = _d(
    gauge(
        "fctarget_lio_backstore_user_cmd_timeout_seconds",
        "tcmu attrib/cmd_time_out: how long the user-space handler may take per command "
        "before the kernel fails it; 0 means never.",
        BS,
        (f"{_DEV}/attrib/cmd_time_out",),
        unit="seconds",
    )
)
USER_QFULL_TIMEOUT = _d(
    gauge(
        "fctarget_lio_backstore_user_qfull_timeout_seconds",
        "How long a tcmu command waits for ring space before it fails (attrib/qfull_time_out; "
        "its default -1 resolved to cmd_time_out, or 30 s when that is 0); 0: fails at once.",
        BS,
        (f"{_DEV}/attrib/qfull_time_out", f"{_DEV}/attrib/cmd_time_out"),
        unit="seconds",
    )
)
USER_MAX_DATA_AREA = _d(
    gauge(
        "fctarget_lio_backstore_user_max_data_area_bytes",
        "Size of the tcmu data area shared with the handler (attrib/max_data_area_mb, MiB * "
        "2^20): the data in flight on the device cannot exceed it.",
        BS,
        (f"{_DEV}/attrib/max_data_area_mb",),
        unit="bytes",
    )
)
