"""LIO target: TPGs, LUNs and their backstores, initiators (ACLs) and sessions, with statistics.

Reads `<configfs>/target` for every fabric present (qla2xxx, iscsi, loopback, ...) through the
configfs reader (exporter/readers/configfs.py) in the collector's worker thread. Counters are
published raw: kernels 6.16 to early 6.18 print some as wrapping u32 values, and Prometheus treats
a decrease as a counter reset. The kernel reports data volumes in whole MiB (bytes >> 20,
target_core_stat.c); they are exported in bytes (MiB * 2^20), so they move in 1 MiB steps.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from exporter.catalogue import lio as m
from exporter.catalogue import lio_alua as ma
from exporter.collector import CollectorContext, Family, Output, SnapshotCollector, register
from exporter.parsers.lio import normalize_wwn, parse_hba_dir
from exporter.parsers.lio_alua import ALUA_STATES, ALUA_STATUSES
from exporter.readers.configfs import read_configfs
from exporter.readers.configfs_model import (
    Acl,
    Backstore,
    ConfigfsSnapshot,
    LunPort,
    ReadCache,
    ReadOptions,
    Target,
)
from exporter.readers.problems import Problem, Problems, ReadError

MIB = 1 << 20
Labels = dict[tuple[str, str], str]  # (core hba, device) -> the backstore label


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


@dataclass(frozen=True)
class LioOptions:
    """Every --collector.lio.* flag; these defaults are the flags' defaults."""

    initiator_luns: bool = False  # per mapped LUN instead of summed per initiator
    always_zero_stats: bool = False  # hs_in_cmds and busy_count: a constant 0 on every kernel
    wwpn_include: str | None = None  # full-match regexes on the normalised target name
    wwpn_exclude: str | None = None
    initiator_include: str | None = None  # ... on the normalised initiator name
    initiator_exclude: str | None = None
    backstore_include: str | None = None  # ... on the backstore device name
    backstore_exclude: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LioOptions:
        return cls(
            initiator_luns=args.lio_initiator_luns,
            always_zero_stats=args.lio_always_zero_stats,
            wwpn_include=args.lio_wwpn_include,
            wwpn_exclude=args.lio_wwpn_exclude,
            initiator_include=args.lio_initiator_include,
            initiator_exclude=args.lio_initiator_exclude,
            backstore_include=args.lio_backstore_include,
            backstore_exclude=args.lio_backstore_exclude,
        )

    def read_options(self, sysfs: str | None) -> ReadOptions:
        return ReadOptions(
            target_ok=_matcher(self.wwpn_include, self.wwpn_exclude),
            initiator_ok=_matcher(self.initiator_include, self.initiator_exclude),
            backstore_ok=_matcher(self.backstore_include, self.backstore_exclude),
            initiator_stats=True,
            zero_stats=self.always_zero_stats,
            sysfs=sysfs,
        )


DEFAULTS = LioOptions()
_DEFAULT = asdict(DEFAULTS)

_FILTERS = (
    ("wwpn", "target ports whose name (the normalised target label)"),
    ("initiator", "initiators whose name (the normalised initiator label)"),
    ("backstore", "backstores whose device name"),
)


@register
class LioCollector(SnapshotCollector[ConfigfsSnapshot]):
    name = "lio"
    description = "LIO target configfs: TPGs, LUNs, backstores, initiators, sessions, statistics"

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--collector.lio.initiator-luns",
            dest="lio_initiator_luns",
            action="store_true",
            default=DEFAULTS.initiator_luns,
            help="export initiator statistics per mapped LUN (label mapped_lun) instead of "
            "summed per initiator (default: summed; per-LUN series multiply fast)",
        )
        group.add_argument(
            "--collector.lio.always-zero-stats",
            dest="lio_always_zero_stats",
            action="store_true",
            default=DEFAULTS.always_zero_stats,
            help="also read and export scsi_tgt_port/hs_in_cmds and scsi_port/busy_count per "
            "LUN, which every kernel prints as a constant 0 (default: skipped)",
        )
        for what, subjects in _FILTERS:
            for kind, verb in (("include", "export only"), ("exclude", "do not export")):
                group.add_argument(
                    f"--collector.lio.{what}-{kind}",
                    dest=f"lio_{what}_{kind}",
                    default=_DEFAULT[f"{what}_{kind}"],
                    type=_regex,
                    metavar="REGEX",
                    help=f"{verb} the {subjects} this regular expression matches in full",
                )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.options = LioOptions.from_args(ctx.args)
        self.read_opts = self.options.read_options(ctx.paths.sysfs)
        self.cache = ReadCache()

    def read(self, problems: Problems) -> ConfigfsSnapshot:
        try:
            return read_configfs(self.ctx.paths.target(), problems, self.read_opts, self.cache)
        except ReadError as exc:
            problems.items.append(Problem(exc.key, exc.message))
            return ConfigfsSnapshot(present=False, escaped_names=self.cache.escaped_names)

    def emit(self, snapshot: ConfigfsSnapshot, out: Output) -> None:
        emit(snapshot, out, self.options)


def emit(snap: ConfigfsSnapshot, out: Output, options: LioOptions = DEFAULTS) -> None:
    """Pure: one configfs snapshot to the lio families (also used by tests)."""
    out.family(m.UP).add((), 1.0 if snap.present else 0.0)
    if not snap.present:
        return
    out.family(m.ESCAPED_NAMES).add((), snap.escaped_names)
    if snap.targets:
        em = _TargetEmitter(out, snap.backstores, options)
        for t in snap.targets:
            em.target(t)
    _emit_backstores(out, snap.backstores)


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


def _type_of(hba: str) -> str:
    parsed = parse_hba_dir(hba)
    return parsed.backstore_type if parsed else hba


def _add(fam: Family | None, labels: tuple[str, ...], value: float | None, scale: int = 1) -> None:
    if fam is not None and value is not None:
        fam.add(labels, value * scale)


def _flag(fam: Family, labels: tuple[str, ...], value: bool | None) -> None:
    if value is not None:
        fam.add(labels, 1.0 if value else 0.0)


class _TargetEmitter:
    """The TPG, LUN, ACL and session families (created in the order they are served)."""

    def __init__(self, out: Output, backstores: tuple[Backstore, ...], opt: LioOptions) -> None:
        self.labels = backstore_labels(backstores)
        self.types = {(b.hba, b.name): b.backstore_type for b in backstores}
        f = out.family
        self.tpg_enabled, self.tpg_luns = f(m.TPG_ENABLED), f(m.TPG_LUNS)
        self.tpg_acls, self.tpg_sessions = f(m.TPG_ACLS), f(m.TPG_SESSIONS)
        self.lun_info, self.lun_cmds = f(m.LUN_INFO), f(m.LUN_COMMANDS)
        self.lun_rd, self.lun_wr = f(m.LUN_READ_BYTES), f(m.LUN_WRITE_BYTES)
        zero = opt.always_zero_stats
        self.lun_hs = f(m.LUN_HS_COMMANDS) if zero else None
        self.lun_busy = f(m.LUN_BUSY_STATUSES) if zero else None
        self.alua_gp, self.alua_off = f(ma.LUN_ALUA_INFO), f(ma.LUN_ALUA_OFFLINE)
        self.alua_status = f(ma.LUN_ALUA_STATUS)
        self.acl_info, self.acl_mapped = f(m.ACL_INFO), f(m.ACL_MAPPED_LUNS)
        self.acl_active, self.dynamic = f(m.ACL_SESSION_ACTIVE), f(m.DYNAMIC_SESSION_INFO)
        self.per_lun = opt.initiator_luns
        if self.per_lun:
            stats = (m.ACL_MAPPED_LUN_COMMANDS, m.ACL_MAPPED_LUN_READ_BYTES)
            self.i_cmds, self.i_rd = map(f, stats)
            self.i_wr = f(m.ACL_MAPPED_LUN_WRITE_BYTES)
        else:
            self.i_cmds, self.i_rd = f(m.ACL_COMMANDS), f(m.ACL_READ_BYTES)
            self.i_wr = f(m.ACL_WRITE_BYTES)

    def target(self, t: Target) -> None:
        for tpg in t.tpgs:
            tl = (t.fabric, t.target, str(tpg.tag))
            _flag(self.tpg_enabled, tl, tpg.enabled)
            self.tpg_luns.add(tl, len(tpg.luns))
            self.tpg_acls.add(tl, len(tpg.acls))
            active = sum(1 for a in tpg.acls if a.session_active)
            self.tpg_sessions.add(tl, active + len(tpg.dynamic_sessions))
            for lun in tpg.luns:
                self.lun(tl, lun)
            for acl in tpg.acls:
                self.acl((*tl, normalize_wwn(acl.name, t.fabric)), acl)
            for name in tpg.dynamic_sessions:
                self.dynamic.add((*tl, normalize_wwn(name, t.fabric)), 1.0)

    def lun(self, tl: tuple[str, ...], lun: LunPort) -> None:
        ll = (*tl, str(lun.lun))
        if lun.hba is not None and lun.dev is not None:
            key = (lun.hba, lun.dev)
            bs = (self.types.get(key, _type_of(lun.hba)), self.labels.get(key, lun.dev))
            self.lun_info.add((*ll, *bs), 1.0)
            if lun.alua is not None:
                self.alua_gp.add((*ll, *bs, lun.alua.group), 1.0)
        if lun.alua is not None:
            self.alua_off.add(ll, 1.0 if lun.alua.offline else 0.0)
            _one_hot(self.alua_status, ll, ALUA_STATUSES, lun.alua.status)
        _add(self.lun_cmds, ll, lun.in_cmds)
        _add(self.lun_rd, ll, lun.read_mbytes, MIB)
        _add(self.lun_wr, ll, lun.write_mbytes, MIB)
        _add(self.lun_hs, ll, lun.hs_in_cmds)
        _add(self.lun_busy, ll, lun.busy_count)

    def acl(self, al: tuple[str, ...], acl: Acl) -> None:
        self.acl_info.add(al, 1.0)
        self.acl_mapped.add(al, len(acl.mapped_luns))
        _flag(self.acl_active, al, acl.session_active)
        if self.per_lun:
            for ml in acl.mapped_luns:
                mll = (*al, str(ml.mapped_lun))
                _add(self.i_cmds, mll, ml.num_cmds)
                _add(self.i_rd, mll, ml.read_mbytes, MIB)
                _add(self.i_wr, mll, ml.write_mbytes, MIB)
            return
        # Summed over the mapped LUNs that could be read; none readable: no series.
        for fam, values, scale in (
            (self.i_cmds, [x.num_cmds for x in acl.mapped_luns], 1),
            (self.i_rd, [x.read_mbytes for x in acl.mapped_luns], MIB),
            (self.i_wr, [x.write_mbytes for x in acl.mapped_luns], MIB),
        ):
            known = [v for v in values if v is not None]
            if known:
                fam.add(al, sum(known) * scale)


def _one_hot(fam: Family, labels: tuple[str, ...], values: tuple[str, ...], cur: str) -> None:
    """One series per known value (1 for `cur`); an unknown `cur` is added with value 1."""
    for v in values:
        fam.add((*labels, v), 1.0 if v == cur else 0.0)
    if cur not in values:
        fam.add((*labels, cur), 1.0)


_STATES = tuple(ALUA_STATES.values())


def _emit_alua(out: Output, backstores: tuple[Backstore, ...], labels: Labels) -> None:
    f = out.family
    gp_info, state, status = f(ma.ALUA_GP_INFO), f(ma.ALUA_GP_STATE), f(ma.ALUA_GP_STATUS)
    preferred, members = f(ma.ALUA_GP_PREFERRED), f(ma.ALUA_GP_MEMBERS)
    for b in backstores:
        for g in b.alua_groups:
            gl = (b.backstore_type, labels[(b.hba, b.name)], g.name)
            gid = "" if g.group_id is None else str(g.group_id)
            gp_info.add((*gl, gid), 1.0)
            if g.state is not None:
                _one_hot(state, gl, _STATES, g.state)
            if g.status is not None:
                _one_hot(status, gl, ALUA_STATUSES, g.status)
            _flag(preferred, gl, g.preferred)
            _add(members, gl, g.members)


def _emit_risks(out: Output, backstores: tuple[Backstore, ...], labels: Labels) -> None:
    f = out.family
    volatile, ro = f(ma.BACKSTORE_VOLATILE_CACHE), f(ma.BACKSTORE_READ_ONLY)
    blocked, cmd_to = f(ma.USER_BLOCKED), f(ma.USER_CMD_TIMEOUT)
    qfull_to, data_area = f(ma.USER_QFULL_TIMEOUT), f(ma.USER_MAX_DATA_AREA)
    for b in backstores:
        bl = (b.backstore_type, labels[(b.hba, b.name)])
        _flag(volatile, bl, b.volatile_cache)
        _flag(ro, bl, b.read_only)
        if b.user is not None:
            _flag(blocked, bl, b.user.blocked)
            _add(cmd_to, bl, b.user.cmd_time_out)
            _add(qfull_to, bl, b.user.qfull_time_out)
            _add(data_area, bl, b.user.max_data_area_mb, MIB)


def _emit_backstores(out: Output, backstores: tuple[Backstore, ...]) -> None:
    f = out.family
    info = f(m.BACKSTORE_INFO)
    size, bsize, enabled = f(m.BACKSTORE_SIZE), f(m.BACKSTORE_BLOCK_SIZE), f(m.BACKSTORE_ENABLED)
    wce, exported = f(m.BACKSTORE_WRITE_CACHE), f(m.BACKSTORE_EXPORTED)
    luns, cmds = f(m.BACKSTORE_LUNS), f(m.BACKSTORE_COMMANDS)
    rd, wr = f(m.BACKSTORE_READ_BYTES), f(m.BACKSTORE_WRITE_BYTES)
    resets = f(m.BACKSTORE_RESETS)
    ab_done, ab_none = f(m.BACKSTORE_ABORTS_COMPLETED), f(m.BACKSTORE_ABORTS_NO_TASK)
    labels = backstore_labels(backstores)
    for b in backstores:
        bl = (b.backstore_type, labels[(b.hba, b.name)])
        ident = (b.hba, b.serial or "", b.naa, b.vendor or "", b.product or "")
        info.add((*bl, *ident), 1.0)
        for fam, val in (
            (size, b.size_bytes),
            (bsize, b.block_size),
            (luns, b.luns),
            (cmds, b.num_cmds),
            (resets, b.resets),
            (ab_done, b.aborts_complete),
            (ab_none, b.aborts_no_task),
        ):
            _add(fam, bl, val)
        for fam, flag in ((enabled, b.enabled), (wce, b.write_cache), (exported, b.exported)):
            _flag(fam, bl, flag)
        _add(rd, bl, b.read_mbytes, MIB)
        _add(wr, bl, b.write_mbytes, MIB)
    _emit_alua(out, backstores, labels)
    _emit_risks(out, backstores, labels)
