"""LIO target: TPGs, LUNs and their backstores, initiators (ACLs) and sessions, with statistics.

Reads `<configfs>/target` for every fabric present (qla2xxx, iscsi, loopback, ...) through one
direct walk (exporter/lio_walk.py) in the collector's worker thread. Counters are published raw:
kernels 6.16 to early 6.18 print some as wrapping u32 values, and Prometheus treats a decrease as
a counter reset. The kernel reports data volumes in whole MiB (bytes >> 20, target_core_stat.c);
they are exported in bytes (MiB * 2^20), so they move in 1 MiB steps.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from exporter.collector import CollectorContext, Output, ThreadedCollector, register
from exporter.lio_walk import Backstore, Snapshot, Target, WalkCache, WalkOptions, walk
from exporter.parsers.lio import normalize_wwn, parse_hba_dir

MIB = 1 << 20

TPG = ("fabric", "wwpn", "tpgt")
LUN = (*TPG, "lun")
ACL = (*TPG, "initiator")
BS = ("backstore_type", "backstore")

_MIB_NOTE = "The kernel counts whole MiB (bytes >> 20); exported as MiB * 2^20."


def _regex(value: str) -> str:
    """argparse type: reject an invalid regular expression with a one-line error."""
    try:
        re.compile(value)
    except re.error as err:
        raise argparse.ArgumentTypeError(f"invalid regular expression {value!r}: {err}") from None
    return value


def _matcher(include: str | None, exclude: str | None) -> Callable[[str], bool]:
    inc = re.compile(include) if include else None
    exc = re.compile(exclude) if exclude else None
    if inc is None and exc is None:
        return lambda _name: True

    def ok(name: str) -> bool:
        if inc is not None and inc.fullmatch(name) is None:
            return False
        return exc is None or exc.fullmatch(name) is None

    return ok


def backstore_labels(backstores: tuple[Backstore, ...]) -> dict[tuple[str, str], str]:
    """(hba, dev) -> the `backstore` label: the device name, as targetcli shows it.

    Two devices of one type with the same name under different hba directories (impossible
    through targetcli, possible by hand) are told apart as `<hba>/<dev>`.
    """
    seen: dict[tuple[str, str], int] = {}
    for b in backstores:
        k = (b.backstore_type, b.name)
        seen[k] = seen.get(k, 0) + 1
    return {
        (b.hba, b.name): b.name if seen[(b.backstore_type, b.name)] == 1 else f"{b.hba}/{b.name}"
        for b in backstores
    }


@register
class LioCollector(ThreadedCollector):
    name = "lio"
    description = "LIO target configfs: TPGs, LUNs, backstores, initiators, sessions, statistics"

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--collector.lio.initiator-luns",
            dest="lio_initiator_luns",
            action="store_true",
            default=False,
            help="export initiator statistics per mapped LUN (label mapped_lun) instead of "
            "summed per initiator (default: summed; per-LUN series multiply fast)",
        )
        group.add_argument(
            "--collector.lio.always-zero-stats",
            dest="lio_always_zero_stats",
            action="store_true",
            default=False,
            help="also read and export scsi_tgt_port/hs_in_cmds and scsi_port/busy_count per "
            "LUN, which every kernel prints as a constant 0 (default: skipped)",
        )
        for what, subjects in (
            ("wwpn", "target ports whose name (the normalised wwpn label)"),
            ("initiator", "initiators whose name (the normalised initiator label)"),
            ("backstore", "backstores whose device name"),
        ):
            for kind, verb in (("include", "export only"), ("exclude", "do not export")):
                group.add_argument(
                    f"--collector.lio.{what}-{kind}",
                    dest=f"lio_{what}_{kind}",
                    default=None,
                    type=_regex,
                    metavar="REGEX",
                    help=f"{verb} the {subjects} this regular expression matches in full",
                )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        a = ctx.args

        def opt(name: str) -> str | None:
            v = getattr(a, name, None)
            return v if isinstance(v, str) else None

        self.per_lun = bool(getattr(a, "lio_initiator_luns", False))
        self.cache = WalkCache()
        zero_stats = bool(getattr(a, "lio_always_zero_stats", False))
        self.opts = WalkOptions(
            wwpn_ok=_matcher(opt("lio_wwpn_include"), opt("lio_wwpn_exclude")),
            initiator_ok=_matcher(opt("lio_initiator_include"), opt("lio_initiator_exclude")),
            backstore_ok=_matcher(opt("lio_backstore_include"), opt("lio_backstore_exclude")),
            initiator_stats=True,
            zero_stats=zero_stats,
            sysfs=ctx.paths.sysfs,
        )

    def collect_blocking(self, out: Output) -> None:
        snap = walk(self.ctx.paths.target(), self.opts, self.cache)
        emit(out, snap, self.per_lun, self.opts.zero_stats)


def emit(out: Output, snap: Snapshot, per_lun: bool, zero_stats: bool = False) -> None:
    """Turn one walk snapshot into metric families (separate from I/O for tests and --check)."""
    up = out.gauge(
        "fctarget_lio_up",
        "1 if the LIO configfs tree (<configfs>/target) exists; 0 when configfs is not mounted "
        "or target_core_mod is not loaded (a host serving no target, not an error).",
    )
    up.add((), 1.0 if snap.present else 0.0)
    for err in snap.errors:
        out.error(err.key, err.message, count=err.count)
    if not snap.present:
        return
    labels = backstore_labels(snap.backstores)
    types = {(b.hba, b.name): b.backstore_type for b in snap.backstores}
    for t in snap.targets:
        _emit_target(out, t, labels, types, per_lun=per_lun, zero_stats=zero_stats)
    _emit_backstores(out, snap.backstores, labels)


def _emit_target(
    out: Output,
    t: Target,
    labels: dict[tuple[str, str], str],
    types: dict[tuple[str, str], str],
    *,
    per_lun: bool,
    zero_stats: bool,
) -> None:
    enabled = out.gauge(
        "fctarget_tpg_enabled",
        "1 if the target portal group is enabled (tpgt_N/enable); absent for fabrics without "
        "that attribute (loopback).",
        TPG,
    )
    n_luns = out.gauge("fctarget_tpg_luns", "LUNs configured in the TPG (tpgt_N/lun/).", TPG)
    n_acls = out.gauge("fctarget_tpg_acls", "Initiator ACLs configured in the TPG.", TPG)
    n_sess = out.gauge(
        "fctarget_tpg_sessions",
        "Initiator sessions on the TPG now: configured ACLs with a session plus demo-mode "
        "(dynamic) sessions.",
        TPG,
    )
    lun_info = out.info(
        "fctarget_lun_info",
        "LUN to backstore mapping: the LUN's link into target/core/<hba>/<dev>; "
        "backstore_type is fileio, block, ramdisk, pscsi or user.",
        (*LUN, "backstore_type", "backstore"),
    )
    cmds = out.counter(
        "fctarget_lun_commands",
        "SCSI commands received on this LUN (statistics/scsi_tgt_port/in_cmds).",
        LUN,
    )
    rd = out.counter(
        "fctarget_lun_read_bytes",
        f"Data sent to initiators from this LUN (scsi_tgt_port/read_mbytes). {_MIB_NOTE}",
        LUN,
    )
    wr = out.counter(
        "fctarget_lun_write_bytes",
        f"Data received from initiators for this LUN (scsi_tgt_port/write_mbytes). {_MIB_NOTE}",
        LUN,
    )
    hs = busy = None
    if zero_stats:
        hs = out.counter(
            "fctarget_lun_hs_commands",
            "High-speed commands on this LUN (scsi_tgt_port/hs_in_cmds; the kernel never counts "
            "them, always 0).",
            LUN,
        )
        busy = out.counter(
            "fctarget_lun_busy_statuses",
            "BUSY statuses returned on this LUN's port (scsi_port/busy_count, the SCSI MIB's "
            "scsiPortBusyStatuses; always 0 in the kernel).",
            LUN,
        )
    acl_info = out.info(
        "fctarget_acl_info", "An initiator ACL configured on the TPG (tpgt_N/acls/<name>).", ACL
    )
    mapped = out.gauge(
        "fctarget_acl_mapped_luns", "LUNs mapped to this initiator (acls/<name>/lun_M).", ACL
    )
    active = out.gauge(
        "fctarget_session_active",
        "1 if the configured initiator has a session now, else 0. iSCSI: the ACL's info file; "
        "other fabrics (qla2xxx): a mapped LUN's scsi_att_intr_port/port_ident is readable "
        "(ENODEV without a session). Absent when it cannot be told (an ACL without mapped "
        "LUNs on a fabric without info).",
        ACL,
    )
    dyn = out.info(
        "fctarget_dynamic_session_info",
        "A demo-mode (dynamic, no ACL) initiator session: listed in tpgt_N/dynamic_sessions "
        "(qla2xxx, iscsi), or the I_T nexus in tpgt_N/nexus (loopback, vhost).",
        ACL,
    )
    ilabels = (*ACL, "mapped_lun") if per_lun else ACL
    icmds = out.counter(
        "fctarget_initiator_commands",
        "SCSI commands from this initiator (acls/<name>/lun_M/statistics/scsi_auth_intr/"
        "num_cmds)" + ("." if per_lun else ", summed over its mapped LUNs."),
        ilabels,
    )
    ird = out.counter(
        "fctarget_initiator_read_bytes",
        "Data read by this initiator (scsi_auth_intr/read_mbytes"
        + (")" if per_lun else ", summed over its mapped LUNs)")
        + f". {_MIB_NOTE}",
        ilabels,
    )
    iwr = out.counter(
        "fctarget_initiator_write_bytes",
        "Data written by this initiator (scsi_auth_intr/write_mbytes"
        + (")" if per_lun else ", summed over its mapped LUNs)")
        + f". {_MIB_NOTE}",
        ilabels,
    )
    fab, wwpn = t.fabric, t.wwpn
    for tpg in t.tpgs:
        tl = (fab, wwpn, str(tpg.tag))
        if tpg.enabled is not None:
            enabled.add(tl, 1.0 if tpg.enabled else 0.0)
        n_luns.add(tl, len(tpg.luns))
        n_acls.add(tl, len(tpg.acls))
        sessions = sum(1 for a in tpg.acls if a.session_active) + len(tpg.dynamic_sessions)
        n_sess.add(tl, sessions)
        for lun in tpg.luns:
            ll = (*tl, str(lun.lun))
            if lun.hba is not None and lun.dev is not None:
                key = (lun.hba, lun.dev)
                lun_info.add(
                    (*ll, types.get(key, _type_of(lun.hba)), labels.get(key, lun.dev)), 1.0
                )
            if lun.in_cmds is not None:
                cmds.add(ll, lun.in_cmds)
            if lun.read_mbytes is not None:
                rd.add(ll, lun.read_mbytes * MIB)
            if lun.write_mbytes is not None:
                wr.add(ll, lun.write_mbytes * MIB)
            if hs is not None and lun.hs_in_cmds is not None:
                hs.add(ll, lun.hs_in_cmds)
            if busy is not None and lun.busy_count is not None:
                busy.add(ll, lun.busy_count)
        for acl in tpg.acls:
            al = (*tl, normalize_wwn(acl.name, fab))
            acl_info.add(al, 1.0)
            mapped.add(al, len(acl.mapped_luns))
            if acl.session_active is not None:
                active.add(al, 1.0 if acl.session_active else 0.0)
            if per_lun:
                for m in acl.mapped_luns:
                    ml = (*al, str(m.mapped_lun))
                    if m.num_cmds is not None:
                        icmds.add(ml, m.num_cmds)
                    if m.read_mbytes is not None:
                        ird.add(ml, m.read_mbytes * MIB)
                    if m.write_mbytes is not None:
                        iwr.add(ml, m.write_mbytes * MIB)
            elif acl.mapped_luns:
                c = [m.num_cmds for m in acl.mapped_luns if m.num_cmds is not None]
                r = [m.read_mbytes for m in acl.mapped_luns if m.read_mbytes is not None]
                w = [m.write_mbytes for m in acl.mapped_luns if m.write_mbytes is not None]
                if c:
                    icmds.add(al, sum(c))
                if r:
                    ird.add(al, sum(r) * MIB)
                if w:
                    iwr.add(al, sum(w) * MIB)
        for name in tpg.dynamic_sessions:
            dyn.add((*tl, normalize_wwn(name, fab)), 1.0)


def _type_of(hba: str) -> str:
    parsed = parse_hba_dir(hba)
    return parsed.backstore_type if parsed else hba


def _emit_backstores(
    out: Output, backstores: tuple[Backstore, ...], labels: dict[tuple[str, str], str]
) -> None:
    info = out.info(
        "fctarget_backstore_info",
        "A backstore device (target/core/<hba>/<dev>): unit serial (wwn/vpd_unit_serial), the "
        "NAA id LIO derives from it for VPD page 0x83 (target_core_spc.c, as the initiator's "
        "wwid shows it), SCSI vendor and product (statistics/scsi_lu).",
        (*BS, "hba", "serial", "wwn", "vendor", "product"),
    )
    size = out.gauge(
        "fctarget_backstore_size_bytes",
        "Backstore size: fileio/user from info Size, ramdisk pages*page size, block from the "
        "block device's sysfs size.",
        BS,
    )
    bsize = out.gauge(
        "fctarget_backstore_block_size_bytes", "Logical block size (attrib/block_size).", BS
    )
    enabled = out.gauge(
        "fctarget_backstore_enabled", "1 if the backstore device is enabled (enable).", BS
    )
    wce = out.gauge(
        "fctarget_backstore_write_cache_enabled",
        "1 if write cache emulation is on (attrib/emulate_write_cache).",
        BS,
    )
    exported = out.gauge(
        "fctarget_backstore_exported",
        "1 if at least one LUN exports the backstore (statistics/scsi_tgt_dev/status "
        "activated); the kernel's non_access_lus is its negation.",
        BS,
    )
    ports = out.gauge(
        "fctarget_backstore_ports",
        "LUNs exporting this backstore (statistics/scsi_dev/ports).",
        BS,
    )
    cmds = out.counter(
        "fctarget_backstore_commands",
        "SCSI commands the backstore received (statistics/scsi_lu/num_cmds).",
        BS,
    )
    rd = out.counter(
        "fctarget_backstore_read_bytes",
        f"Data read from the backstore (scsi_lu/read_mbytes). {_MIB_NOTE}",
        BS,
    )
    wr = out.counter(
        "fctarget_backstore_write_bytes",
        f"Data written to the backstore (scsi_lu/write_mbytes). {_MIB_NOTE}",
        BS,
    )
    resets = out.counter(
        "fctarget_backstore_resets",
        "LUN resets of the backstore (statistics/scsi_tgt_dev/resets).",
        BS,
    )
    ab_done = out.counter(
        "fctarget_backstore_aborts_completed",
        "Task aborts completed (scsi_tgt_dev/aborts_complete; kernels >= 5.x).",
        BS,
    )
    ab_none = out.counter(
        "fctarget_backstore_aborts_no_task",
        "Task aborts that found no task (scsi_tgt_dev/aborts_no_task; kernels >= 5.x).",
        BS,
    )
    for b in backstores:
        bl = (b.backstore_type, labels[(b.hba, b.name)])
        info.add(
            (*bl, b.hba, b.serial or "", b.wwn, b.vendor or "", b.product or ""),
            1.0,
        )
        for fam, val in (
            (size, b.size_bytes),
            (bsize, b.block_size),
            (ports, b.ports),
            (cmds, b.num_cmds),
            (resets, b.resets),
            (ab_done, b.aborts_complete),
            (ab_none, b.aborts_no_task),
        ):
            if val is not None:
                fam.add(bl, val)
        for fam, flag in ((enabled, b.enabled), (wce, b.write_cache), (exported, b.exported)):
            if flag is not None:
                fam.add(bl, 1.0 if flag else 0.0)
        if b.read_mbytes is not None:
            rd.add(bl, b.read_mbytes * MIB)
        if b.write_mbytes is not None:
            wr.add(bl, b.write_mbytes * MIB)
