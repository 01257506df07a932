"""Families of the lio collector: LIO target objects read from `<configfs>/target`.

The kernel reports data volumes in whole MiB (bytes >> 20, target_core_stat.c); they are served
in bytes (MiB * 2^20), so they move in 1 MiB steps.
"""

from __future__ import annotations

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, counter, gauge, info


def _d(m: Metric) -> Metric:
    return declare("lio", m)


TPG = ("fabric", "target", "tpgt")
LUN = (*TPG, "lun")
ACL = (*TPG, "initiator")
MAPPED_LUN = (*ACL, "mapped_lun")
BS = ("backstore_type", "backstore")

_T = "<configfs>/target/<fabric>/<target>/tpgt_<T>"
_LUN = f"{_T}/lun/lun_<N>"
_ACL = f"{_T}/acls/<initiator>"
_ML = f"{_ACL}/lun_<M>/statistics/scsi_auth_intr"
_DEV = "<configfs>/target/core/<hba>/<dev>"
_MIB_NOTE = "The kernel counts whole MiB (bytes >> 20); exported as MiB * 2^20."
_SUMMED = ", summed over its mapped LUNs"

UP = _d(
    gauge(
        "fctarget_lio_up",
        "1 if the LIO configfs tree (<configfs>/target) exists; 0 when configfs is not mounted "
        "or target_core_mod is not loaded (a host serving no target, not an error).",
        (),
        ("<configfs>/target",),
    )
)

ESCAPED_NAMES = _d(
    counter(
        "fctarget_lio_escaped_names",
        "Names under <configfs>/target (fabric, target, ACL, backstore and hba directories, LUN "
        "link targets) that were not valid UTF-8 and were served escaped (each bad byte as "
        "\\xNN), counted on every read that met them.",
        (),
        ("<configfs>/target",),
    )
)

# -- TPGs ------------------------------------------------------------------------------------

TPG_ENABLED = _d(
    gauge(
        "fctarget_lio_tpg_enabled",
        "1 if the target portal group is enabled (tpgt_N/enable); absent for fabrics without "
        "that attribute (loopback).",
        TPG,
        (f"{_T}/enable",),
    )
)
TPG_LUNS = _d(
    gauge("fctarget_lio_tpg_luns", "LUNs configured in the TPG (tpgt_N/lun/).", TPG, (f"{_T}/lun",))
)
TPG_ACLS = _d(
    gauge("fctarget_lio_tpg_acls", "Initiator ACLs configured in the TPG.", TPG, (f"{_T}/acls",))
)
TPG_SESSIONS = _d(
    gauge(
        "fctarget_lio_tpg_sessions",
        "Initiator sessions on the TPG now: configured ACLs with a session plus demo-mode "
        "(dynamic) sessions.",
        TPG,
        (f"{_T}/acls", f"{_T}/dynamic_sessions", f"{_T}/nexus"),
    )
)

# -- LUNs ------------------------------------------------------------------------------------

LUN_INFO = _d(
    info(
        "fctarget_lio_lun_info",
        "LUN to backstore mapping: the LUN's link into target/core/<hba>/<dev>; "
        "backstore_type is fileio, block, ramdisk, pscsi or user.",
        (*LUN, "backstore_type", "backstore"),
        (f"{_LUN}/<link>",),
    )
)
LUN_COMMANDS = _d(
    counter(
        "fctarget_lio_lun_commands",
        "SCSI commands received on this LUN (statistics/scsi_tgt_port/in_cmds).",
        LUN,
        (f"{_LUN}/statistics/scsi_tgt_port/in_cmds",),
    )
)
LUN_READ_BYTES = _d(
    counter(
        "fctarget_lio_lun_read_bytes",
        f"Data sent to initiators from this LUN (scsi_tgt_port/read_mbytes). {_MIB_NOTE}",
        LUN,
        (f"{_LUN}/statistics/scsi_tgt_port/read_mbytes",),
        unit="bytes",
    )
)
LUN_WRITE_BYTES = _d(
    counter(
        "fctarget_lio_lun_write_bytes",
        f"Data received from initiators for this LUN (scsi_tgt_port/write_mbytes). {_MIB_NOTE}",
        LUN,
        (f"{_LUN}/statistics/scsi_tgt_port/write_mbytes",),
        unit="bytes",
    )
)
# Served only with --collector.lio.always-zero-stats.
LUN_HS_COMMANDS = _d(
    counter(
        "fctarget_lio_lun_hs_commands",
        "High-speed commands on this LUN (scsi_tgt_port/hs_in_cmds; the kernel never counts "
        "them, always 0).",
        LUN,
        (f"{_LUN}/statistics/scsi_tgt_port/hs_in_cmds",),
    )
)
LUN_BUSY_STATUSES = _d(
    counter(
        "fctarget_lio_lun_busy_statuses",
        "BUSY statuses returned on this LUN's port (scsi_port/busy_count, the SCSI MIB's "
        "scsiPortBusyStatuses; always 0 in the kernel).",
        LUN,
        (f"{_LUN}/statistics/scsi_port/busy_count",),
    )
)

# -- ACLs and sessions -----------------------------------------------------------------------

ACL_INFO = _d(
    info(
        "fctarget_lio_acl_info",
        "An initiator ACL configured on the TPG (tpgt_N/acls/<name>).",
        ACL,
        (_ACL,),
    )
)
ACL_MAPPED_LUNS = _d(
    gauge(
        "fctarget_lio_acl_mapped_luns",
        "LUNs mapped to this initiator (acls/<name>/lun_M).",
        ACL,
        (f"{_ACL}/lun_<M>",),
    )
)
ACL_SESSION_ACTIVE = _d(
    gauge(
        "fctarget_lio_acl_session_active",
        "1 if the configured initiator has a session now, else 0. iSCSI: the ACL's info file; "
        "other fabrics (qla2xxx): a mapped LUN's scsi_att_intr_port/port_ident is readable "
        "(ENODEV without a session). Absent when it cannot be told (an ACL without mapped "
        "LUNs on a fabric without info).",
        ACL,
        (f"{_ACL}/info", f"{_ACL}/lun_<M>/statistics/scsi_att_intr_port/port_ident"),
    )
)
DYNAMIC_SESSION_INFO = _d(
    info(
        "fctarget_lio_dynamic_session_info",
        "A demo-mode (dynamic, no ACL) initiator session: listed in tpgt_N/dynamic_sessions "
        "(qla2xxx, iscsi), or the I_T nexus in tpgt_N/nexus (loopback, vhost).",
        ACL,
        (f"{_T}/dynamic_sessions", f"{_T}/nexus"),
    )
)
# Summed over the initiator's mapped LUNs (the default) ...
ACL_COMMANDS = _d(
    counter(
        "fctarget_lio_acl_commands",
        f"SCSI commands from this initiator (acls/<name>/lun_M/statistics/scsi_auth_intr/"
        f"num_cmds){_SUMMED}.",
        ACL,
        (f"{_ML}/num_cmds",),
    )
)
ACL_READ_BYTES = _d(
    counter(
        "fctarget_lio_acl_read_bytes",
        f"Data read by this initiator (scsi_auth_intr/read_mbytes{_SUMMED}). {_MIB_NOTE}",
        ACL,
        (f"{_ML}/read_mbytes",),
        unit="bytes",
    )
)
ACL_WRITE_BYTES = _d(
    counter(
        "fctarget_lio_acl_write_bytes",
        f"Data written by this initiator (scsi_auth_intr/write_mbytes{_SUMMED}). {_MIB_NOTE}",
        ACL,
        (f"{_ML}/write_mbytes",),
        unit="bytes",
    )
)
# ... or per mapped LUN, instead, with --collector.lio.initiator-luns.
ACL_MAPPED_LUN_COMMANDS = _d(
    counter(
        "fctarget_lio_acl_mapped_lun_commands",
        "SCSI commands from this initiator to this mapped LUN (acls/<name>/lun_M/statistics/"
        "scsi_auth_intr/num_cmds). Only with --collector.lio.initiator-luns.",
        MAPPED_LUN,
        (f"{_ML}/num_cmds",),
    )
)
ACL_MAPPED_LUN_READ_BYTES = _d(
    counter(
        "fctarget_lio_acl_mapped_lun_read_bytes",
        f"Data read by this initiator from this mapped LUN (scsi_auth_intr/read_mbytes). "
        f"{_MIB_NOTE} Only with --collector.lio.initiator-luns.",
        MAPPED_LUN,
        (f"{_ML}/read_mbytes",),
        unit="bytes",
    )
)
ACL_MAPPED_LUN_WRITE_BYTES = _d(
    counter(
        "fctarget_lio_acl_mapped_lun_write_bytes",
        f"Data written by this initiator to this mapped LUN (scsi_auth_intr/write_mbytes). "
        f"{_MIB_NOTE} Only with --collector.lio.initiator-luns.",
        MAPPED_LUN,
        (f"{_ML}/write_mbytes",),
        unit="bytes",
    )
)

# -- backstores ------------------------------------------------------------------------------

BACKSTORE_INFO = _d(
    info(
        "fctarget_lio_backstore_info",
        "A backstore device (target/core/<hba>/<dev>): unit serial (wwn/vpd_unit_serial), the "
        "NAA id LIO derives from it for VPD page 0x83 (target_core_spc.c, as the initiator's "
        "wwid shows it), SCSI vendor and product (statistics/scsi_lu).",
        (*BS, "core_hba", "serial", "naa", "vendor", "product"),
        (
            f"{_DEV}/wwn/vpd_unit_serial",
            f"{_DEV}/wwn/company_id",
            f"{_DEV}/statistics/scsi_lu/vend",
            f"{_DEV}/statistics/scsi_lu/prod",
        ),
    )
)
BACKSTORE_SIZE = _d(
    gauge(
        "fctarget_lio_backstore_size_bytes",
        "Backstore size: fileio/user from info Size, ramdisk pages*page size, block from the "
        "block device's sysfs size.",
        BS,
        (f"{_DEV}/info", "<sysfs>/class/block/<bdev>/size"),
        unit="bytes",
    )
)
BACKSTORE_BLOCK_SIZE = _d(
    gauge(
        "fctarget_lio_backstore_block_size_bytes",
        "Logical block size (attrib/block_size).",
        BS,
        (f"{_DEV}/attrib/block_size",),
        unit="bytes",
    )
)
BACKSTORE_ENABLED = _d(
    gauge(
        "fctarget_lio_backstore_enabled",
        "1 if the backstore device is enabled (enable).",
        BS,
        (f"{_DEV}/enable", f"{_DEV}/info"),
    )
)
BACKSTORE_WRITE_CACHE = _d(
    gauge(
        "fctarget_lio_backstore_write_cache_enabled",
        "1 if write cache emulation is on (attrib/emulate_write_cache): the WCE bit fileio, "
        "ramdisk and user backstores report. Block backstores ignore it (always 0) and report "
        "their device's cache: see fctarget_lio_backstore_volatile_write_cache.",
        BS,
        (f"{_DEV}/attrib/emulate_write_cache",),
    )
)
BACKSTORE_EXPORTED = _d(
    gauge(
        "fctarget_lio_backstore_exported",
        "1 if at least one LUN exports the backstore (statistics/scsi_tgt_dev/status "
        "activated); the kernel's non_access_lus is its negation.",
        BS,
        (f"{_DEV}/statistics/scsi_tgt_dev/status",),
    )
)
BACKSTORE_LUNS = _d(
    gauge(
        "fctarget_lio_backstore_luns",
        "LUNs exporting this backstore (statistics/scsi_dev/ports).",
        BS,
        (f"{_DEV}/statistics/scsi_dev/ports",),
    )
)
BACKSTORE_COMMANDS = _d(
    counter(
        "fctarget_lio_backstore_commands",
        "SCSI commands the backstore received (statistics/scsi_lu/num_cmds).",
        BS,
        (f"{_DEV}/statistics/scsi_lu/num_cmds",),
    )
)
BACKSTORE_READ_BYTES = _d(
    counter(
        "fctarget_lio_backstore_read_bytes",
        f"Data read from the backstore (scsi_lu/read_mbytes). {_MIB_NOTE}",
        BS,
        (f"{_DEV}/statistics/scsi_lu/read_mbytes",),
        unit="bytes",
    )
)
BACKSTORE_WRITE_BYTES = _d(
    counter(
        "fctarget_lio_backstore_write_bytes",
        f"Data written to the backstore (scsi_lu/write_mbytes). {_MIB_NOTE}",
        BS,
        (f"{_DEV}/statistics/scsi_lu/write_mbytes",),
        unit="bytes",
    )
)
BACKSTORE_RESETS = _d(
    counter(
        "fctarget_lio_backstore_resets",
        "LUN resets of the backstore (statistics/scsi_tgt_dev/resets).",
        BS,
        (f"{_DEV}/statistics/scsi_tgt_dev/resets",),
    )
)
BACKSTORE_ABORTS_COMPLETED = _d(
    counter(
        "fctarget_lio_backstore_aborts_completed",
        "Task aborts completed (scsi_tgt_dev/aborts_complete; kernels >= 5.x).",
        BS,
        (f"{_DEV}/statistics/scsi_tgt_dev/aborts_complete",),
    )
)
BACKSTORE_ABORTS_NO_TASK = _d(
    counter(
        "fctarget_lio_backstore_aborts_no_task",
        "Task aborts that found no task (scsi_tgt_dev/aborts_no_task; kernels >= 5.x).",
        BS,
        (f"{_DEV}/statistics/scsi_tgt_dev/aborts_no_task",),
    )
)
