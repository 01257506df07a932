"""The LIO configfs reader: one direct walk of `<configfs>/target` into a ConfigfsSnapshot.

Blocking: run it in a worker thread. Why not rtslib-fb here: its object model stats every
attribute on the way (a 4 target x 64 LUN x 16 ACL tree took ~4 s and 449k stat calls) and has no
statistics API. This walk lists only the directories whose entries are not known in advance
(fabrics, targets, TPGs, LUNs, ACLs, mapped LUNs, backstores) with os.scandir (d_type, no stat),
and opens exactly the attribute files it exports: one open/read/close each.

Layout (drivers/target/target_core_fabric_configfs.c, target_core_configfs.c, 6.1):
  target/<fabric>/<wwn>/tpgt_<T>/{enable,dynamic_sessions,nexus}
  target/<fabric>/<wwn>/tpgt_<T>/lun/lun_<N>/<link -> ../../../../../../target/core/<hba>/<dev>>
  target/<fabric>/<wwn>/tpgt_<T>/lun/lun_<N>/statistics/{scsi_port,scsi_tgt_port}/...
  target/<fabric>/<wwn>/tpgt_<T>/acls/<initiator>/[info]            (iSCSI only)
  target/<fabric>/<wwn>/tpgt_<T>/acls/<initiator>/lun_<M>/statistics/{scsi_auth_intr,
                                                                   scsi_att_intr_port}/...
  target/core/<plugin>_<idx>/<dev>/{info,enable,attrib/,wwn/,statistics/{scsi_dev,scsi_tgt_dev,
                                                                          scsi_lu}/}
Failed reads never raise: each becomes a problem keyed `<source>:<file kind>:<errno name>` (one
key per kind of file, so a host with 4096 unreadable LUNs logs one line, not 4096) and the rest
of the tree is still read. Only an unreadable `target/` itself is a ReadError.
"""

from __future__ import annotations

import errno
import os

from exporter.parsers import lio as p
from exporter.parsers.lio_alua import LunAlua, parse_lun_alua
from exporter.readers.configfs_backstores import backstores
from exporter.readers.configfs_files import Attr, Files, Vanished
from exporter.readers.configfs_model import (
    Acl,
    Backstore,
    ConfigfsSnapshot,
    LunPort,
    MappedLun,
    ReadCache,
    ReadOptions,
    Target,
    Tpg,
)
from exporter.readers.problems import Problems, ReadError

# Directories under target/ that are not fabrics.
NOT_FABRICS = frozenset({"core"})
# Entries of a fabric directory that are not target WWNs (rtslib-fb's target_names_excludes).
NOT_TARGETS = frozenset({"discovery_auth"})

TPG_ENABLE = Attr("/enable", "tpgt/enable")
# Demo-mode sessions: listed in dynamic_sessions (qla2xxx, iscsi); tcm_loop, vhost, xen-scsiback
# and usb_gadget have instead the TPG's one I_T nexus, a file that fails with ENODEV while there
# is none (tcm_loop.c tcm_loop_tpg_nexus_show, vhost/scsi.c).
TPG_SESSIONS = (
    Attr("/dynamic_sessions", "tpgt/dynamic_sessions"),
    Attr("/nexus", "tpgt/nexus", enodev_ok=True),
)
# Stats of a LUN without a backing device fail with ENODEV (target_core_stat.c).
LUN_IN_CMDS = Attr("/statistics/scsi_tgt_port/in_cmds", "scsi_tgt_port/in_cmds", enodev_ok=True)
LUN_READ = Attr(
    "/statistics/scsi_tgt_port/read_mbytes", "scsi_tgt_port/read_mbytes", enodev_ok=True
)
LUN_WRITE = Attr(
    "/statistics/scsi_tgt_port/write_mbytes", "scsi_tgt_port/write_mbytes", enodev_ok=True
)
# Only with --collector.lio.always-zero-stats; optional: not every kernel has them.
LUN_HS = Attr(
    "/statistics/scsi_tgt_port/hs_in_cmds",
    "scsi_tgt_port/hs_in_cmds",
    enodev_ok=True,
    optional=True,
)
LUN_BUSY = Attr(
    "/statistics/scsi_port/busy_count", "scsi_port/busy_count", enodev_ok=True, optional=True
)
# The LUN's ALUA group with its primary and secondary state (target_core_alua.c
# core_alua_show_tg_pt_gp_info): one read instead of alua_tg_pt_offline + alua_tg_pt_status.
LUN_ALUA = Attr("/alua_tg_pt_gp", "lun alua_tg_pt_gp", enodev_ok=True, optional=True)
# ENODEV: the mapping (deve) is gone (target_core_stat.c).
ML_CMDS = Attr("/statistics/scsi_auth_intr/num_cmds", "scsi_auth_intr/num_cmds", enodev_ok=True)
ML_READ = Attr(
    "/statistics/scsi_auth_intr/read_mbytes", "scsi_auth_intr/read_mbytes", enodev_ok=True
)
ML_WRITE = Attr(
    "/statistics/scsi_auth_intr/write_mbytes", "scsi_auth_intr/write_mbytes", enodev_ok=True
)
# iSCSI: iscsi_target_configfs.c prints the session state in the ACL's `info`.
ACL_INFO = Attr("/info", "acl info")
PORT_IDENT = "/statistics/scsi_att_intr_port/port_ident"


class _Walker(Files):
    def __init__(self, opts: ReadOptions, cache: ReadCache) -> None:
        super().__init__()
        self.opts = opts
        self.cache = cache
        self.links: dict[str, str] = {}  # this read's LUN link names

    # -- fabrics, targets, TPGs ------------------------------------------------------------

    def targets(self, fabric_entries: list[os.DirEntry[str]]) -> tuple[Target, ...]:
        out: list[Target] = []
        for fab in sorted(fabric_entries, key=lambda e: e.name):
            if fab.name in NOT_FABRICS or not fab.is_dir(follow_symlinks=False):
                continue
            fabric = self.label(fab.name)
            wwns = self.scan(fab.path, "fabric dir")
            for ent in sorted(wwns or (), key=lambda e: e.name):
                if ent.name in NOT_TARGETS or not ent.is_dir(follow_symlinks=False):
                    continue
                spelt = self.label(ent.name)
                name = p.normalize_wwn(spelt, fabric)
                if not self.opts.target_ok(name):
                    continue
                tpgs = self.tpgs(fabric, ent.path)
                if tpgs is not None:
                    out.append(Target(fabric, spelt, name, tpgs))
        return tuple(out)

    def tpgs(self, fabric: str, wwn_dir: str) -> tuple[Tpg, ...] | None:
        entries = self.scan(wwn_dir, "target dir")
        if entries is None:
            return None
        out: list[Tpg] = []
        for ent in entries:
            tag = p.parse_tpgt_dir(ent.name)
            if tag is None or not ent.is_dir(follow_symlinks=False):
                continue
            try:
                out.append(self.tpg(fabric, tag, ent.path))
            except Vanished:
                continue
        out.sort(key=lambda t: t.tag)
        return tuple(out)

    def tpg(self, fabric: str, tag: int, tdir: str) -> Tpg:
        entries = self.scan(tdir, "tpg dir")
        if entries is None:
            raise Vanished(tdir)
        names = {e.name for e in entries}
        enabled = self.flag(tdir, TPG_ENABLE) if "enable" in names else None
        dyn: tuple[str, ...] = ()
        listing = next((a for a in TPG_SESSIONS if a.rel[1:] in names), None)
        if listing is not None:
            v = self.value(tdir, listing, p.parse_dynamic_sessions)
            if isinstance(v, tuple):
                dyn = tuple(str(x) for x in v)
        luns = self.luns(tdir + "/lun") if "lun" in names else ()
        acls = self.acls(fabric, tdir + "/acls") if "acls" in names else ()
        if not os.path.isdir(tdir):
            raise Vanished(tdir)  # removed while its LUNs and ACLs were read
        return Tpg(tag, enabled, luns, acls, dyn)

    # -- LUNs ------------------------------------------------------------------------------

    def luns(self, lun_root: str) -> tuple[LunPort, ...]:
        out: list[LunPort] = []
        for ent in self.scan(lun_root, "lun dir") or ():
            n = p.parse_lun_dir(ent.name)
            if n is None:
                continue
            try:
                out.append(self.lun(n, ent.path))
            except Vanished:
                continue
        out.sort(key=lambda x: x.lun)
        return tuple(out)

    def lun(self, n: int, ldir: str) -> LunPort:
        link = self.lun_link(ldir)
        hba = dev = None
        if link is not None:
            try:
                hba, dev = map(self.label, p.parse_lun_link(link))
            except ValueError as exc:
                self.problem("lun link", ldir, str(exc))
        cmds, rd, wr = (
            self.uint(ldir, LUN_IN_CMDS),
            self.uint(ldir, LUN_READ),
            self.uint(ldir, LUN_WRITE),
        )
        alua = self.value(ldir, LUN_ALUA, parse_lun_alua)
        al = alua if isinstance(alua, LunAlua) else None
        if not self.opts.zero_stats:
            return LunPort(n, hba, dev, cmds, rd, wr, alua=al)
        return LunPort(
            n, hba, dev, cmds, rd, wr, self.uint(ldir, LUN_HS), self.uint(ldir, LUN_BUSY), al
        )

    def lun_link(self, ldir: str) -> str | None:
        """Target of the LUN's backstore symlink; None if unlinked; Vanished if the LUN went.

        The link's name is arbitrary (targetcli: a random hex id) but fixed while the LUN
        exists, so it is remembered across reads: one readlink instead of listing the LUN
        directory (which holds only the link, four alua_* attributes and statistics/).
        """
        name = self.cache.lun_links.get(ldir)
        if name is not None:
            try:
                target = os.readlink(ldir + "/" + name)
            except OSError:
                pass  # relinked or gone: list the directory again
            else:
                self.links[ldir] = name
                return target
        entries = self.scan(ldir, "lun dir")
        if entries is None:
            raise Vanished(ldir)
        link = next((e for e in entries if e.is_symlink()), None)
        if link is None:
            return None
        try:
            target = os.readlink(link.path)
        except FileNotFoundError:
            if not os.path.isdir(ldir):
                raise Vanished(ldir) from None
            return None
        except OSError as exc:
            self.problem("lun link", link.path, exc)
            return None
        self.links[ldir] = link.name
        return target

    # -- ACLs ------------------------------------------------------------------------------

    def acls(self, fabric: str, acl_root: str) -> tuple[Acl, ...]:
        out: list[Acl] = []
        for ent in self.scan(acl_root, "acls dir") or ():
            if not ent.is_dir(follow_symlinks=False):
                continue
            name = self.label(ent.name)
            if not self.opts.initiator_ok(p.normalize_wwn(name, fabric)):
                continue
            try:
                acl = self.acl(name, ent.path)
            except Vanished:
                continue
            if acl is not None:
                out.append(acl)
        out.sort(key=lambda a: a.name)
        return tuple(out)

    def acl(self, name: str, adir: str) -> Acl | None:
        entries = self.scan(adir, "acl dir")
        if entries is None:
            return None
        has_info = False
        numbers: list[tuple[int, str]] = []
        for e in entries:
            if e.name == "info":
                has_info = True
                continue
            m = p.parse_lun_dir(e.name)
            if m is not None:
                numbers.append((m, e.path))
        numbers.sort()
        mapped, lost = self.mapped_luns(numbers)
        session: bool | None
        if has_info:
            v = self.value(adir, ACL_INFO, p.parse_iscsi_acl_info)
            session = v if isinstance(v, bool) else None
        else:
            session = self.session_by_port_ident(numbers)
        if lost and not os.path.isdir(adir):
            raise Vanished(adir)  # the whole ACL went, not just a mapping
        return Acl(name, session, mapped)

    def mapped_luns(self, numbers: list[tuple[int, str]]) -> tuple[tuple[MappedLun, ...], bool]:
        """The mapped LUNs' stats, and whether one of them vanished meanwhile."""
        if not self.opts.initiator_stats:
            return tuple(MappedLun(m, None, None, None) for m, _ in numbers), False
        out: list[MappedLun] = []
        lost = False
        for m, mdir in numbers:
            try:
                out.append(
                    MappedLun(
                        m,
                        self.uint(mdir, ML_CMDS),
                        self.uint(mdir, ML_READ),
                        self.uint(mdir, ML_WRITE),
                    )
                )
            except Vanished:
                lost = True
        return tuple(out), lost

    # Probing stops after this many ENODEV answers: every mapped LUN answers alike for a
    # session-less initiator; more than one only guards against a mapping being removed.
    MAX_SESSION_PROBES = 3

    def session_by_port_ident(self, mapped: list[tuple[int, str]]) -> bool | None:
        """qla2xxx and other fabrics without an ACL `info` file.

        target_core_stat.c: scsi_att_intr_port/port_ident of a mapped LUN fails with ENODEV
        while the ACL has no session (nacl->nacl_sess is NULL) and prints `<name>+i+<sid>`
        while it has one.
        """
        result: bool | None = None
        probes = 0
        for _m, mdir in mapped:
            path = mdir + PORT_IDENT
            data = self.read(path)
            if isinstance(data, OSError):
                if data.errno == errno.ENOENT and not os.path.isdir(mdir):
                    continue  # mapped LUN removed meanwhile
                if data.errno != errno.ENODEV:  # ENODEV: the kernel's answer without a session
                    self.problem("scsi_att_intr_port/port_ident", path, data)
                    return None
                result = False
                probes += 1
                if probes >= self.MAX_SESSION_PROBES:
                    break
                continue
            if data.strip(b"\x00\n "):
                return True
            result = False
        return result


def read_configfs(
    target_root: str,
    problems: Problems,
    opts: ReadOptions | None = None,
    cache: ReadCache | None = None,
) -> ConfigfsSnapshot:
    """Everything the lio collector exports from `target_root` (= `<configfs>/target`).

    Partial failures go into `problems`; an unreadable `target_root` raises ReadError. A
    missing one is a host serving no target (configfs not mounted or target_core_mod not
    loaded), not a failure: `present` is False.
    """
    w = _Walker(opts or ReadOptions(), cache if cache is not None else ReadCache())
    try:
        with os.scandir(target_root) as it:
            top = list(it)
    except (FileNotFoundError, NotADirectoryError):
        return ConfigfsSnapshot(present=False, escaped_names=w.cache.escaped_names)
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        raise ReadError(
            f"{problems.source}:target dir:{name}",
            f"cannot use target dir: {exc.strerror or exc} ({target_root})",
        ) from exc
    targets = w.targets(top)
    stores: tuple[Backstore, ...] = ()
    if any(e.name == "core" for e in top):
        stores = backstores(w, target_root + "/core", w.opts)
    w.cache.lun_links = w.links  # only LUNs that still exist
    w.cache.escaped_names += w.escaped
    w.flush(problems)
    return ConfigfsSnapshot(True, targets, stores, w.cache.escaped_names)
