"""One direct walk of `<configfs>/target` into a typed snapshot (blocking: run in a worker thread).

Why not rtslib-fb here: its object model stats every attribute on the way (a 4 target x 64 LUN x
16 ACL tree took ~4 s and 449k stat calls) and has no statistics API. This walk lists only the
directories whose entries are not known in advance (fabrics, targets, TPGs, LUNs, ACLs, mapped
LUNs, backstores) with os.scandir (d_type, no stat), and opens exactly the attribute files it
exports: one open/read/close each.

Layout (drivers/target/target_core_fabric_configfs.c, target_core_configfs.c, 6.1):
  target/<fabric>/<wwn>/tpgt_<T>/{enable,dynamic_sessions,nexus}
  target/<fabric>/<wwn>/tpgt_<T>/lun/lun_<N>/<link -> ../../../../../../target/core/<hba>/<dev>>
  target/<fabric>/<wwn>/tpgt_<T>/lun/lun_<N>/statistics/{scsi_port,scsi_tgt_port}/...
  target/<fabric>/<wwn>/tpgt_<T>/acls/<initiator>/[info]            (iSCSI only)
  target/<fabric>/<wwn>/tpgt_<T>/acls/<initiator>/lun_<M>/statistics/{scsi_auth_intr,
                                                                   scsi_att_intr_port}/...
  target/core/<plugin>_<idx>/<dev>/{info,enable,attrib/,wwn/,statistics/{scsi_dev,scsi_tgt_dev,
                                                                          scsi_lu}/}
Errors never raise: each failed read becomes a `WalkError` (grouped by file kind and errno so a
host with 4096 unreadable LUNs logs one line, not 4096) and the rest of the tree is still read.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from exporter.parsers import lio as p

# Directories under target/ that are not fabrics.
NOT_FABRICS = frozenset({"core"})
# Entries of a fabric directory that are not target WWNs (rtslib-fb's target_names_excludes).
NOT_TARGETS = frozenset({"discovery_auth"})

_O_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
_PAGE = 65536


def _always(_name: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class WalkOptions:
    wwpn_ok: Callable[[str], bool] = _always  # called with the normalised wwpn
    initiator_ok: Callable[[str], bool] = _always  # normalised initiator name
    backstore_ok: Callable[[str], bool] = _always  # device directory name
    initiator_stats: bool = True  # read acls/*/lun_*/statistics/scsi_auth_intr
    # scsi_tgt_port/hs_in_cmds and scsi_port/busy_count: every kernel prints a constant 0
    # (FIXME in target_core_stat.c), so they are read only on request.
    zero_stats: bool = False
    sysfs: str | None = None  # to size iblock backstores from <sysfs>/class/block/<dev>/size


@dataclass(frozen=True, slots=True)
class WalkError:
    key: str  # stable: "lio:<file kind>:<errno name>"
    message: str  # with one example path
    count: int


@dataclass(frozen=True, slots=True)
class LunPort:
    """tpgt_T/lun/lun_N: one LUN of a TPG (a "port" in the SCSI MIB's terms)."""

    lun: int
    hba: str | None  # None: no backstore linked (stats then fail with ENODEV in the kernel)
    dev: str | None
    in_cmds: int | None
    read_mbytes: int | None
    write_mbytes: int | None
    hs_in_cmds: int | None
    busy_count: int | None


@dataclass(frozen=True, slots=True)
class MappedLun:
    mapped_lun: int
    num_cmds: int | None
    read_mbytes: int | None
    write_mbytes: int | None


@dataclass(frozen=True, slots=True)
class Acl:
    name: str  # the directory name as configfs spells it
    session_active: bool | None  # None: cannot tell (no info file and no mapped LUN)
    mapped_luns: tuple[MappedLun, ...]


@dataclass(frozen=True, slots=True)
class Tpg:
    tag: int
    enabled: bool | None  # None: the fabric has no `enable` (loopback)
    luns: tuple[LunPort, ...]
    acls: tuple[Acl, ...]
    dynamic_sessions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Target:
    fabric: str
    name: str  # as configfs spells it
    wwpn: str  # normalised (p.normalize_wwn)
    tpgs: tuple[Tpg, ...]


@dataclass(frozen=True, slots=True)
class Backstore:
    hba: str
    plugin: str
    name: str
    info: p.BackstoreInfo | None
    size_bytes: int | None
    enabled: bool | None
    block_size: int | None
    write_cache: bool | None
    serial: str | None
    company_id: int | None
    vendor: str | None
    product: str | None
    num_cmds: int | None
    read_mbytes: int | None
    write_mbytes: int | None
    resets: int | None
    aborts_complete: int | None
    aborts_no_task: int | None
    exported: bool | None
    ports: int | None

    @property
    def backstore_type(self) -> str:
        return p.BACKSTORE_TYPES.get(self.plugin, self.plugin)

    @property
    def wwn(self) -> str:
        """VPD 0x83 NAA id; pscsi passes the real device's VPD through, so none is derived."""
        if not self.serial or self.plugin == "pscsi":
            return ""
        cid = p.DEFAULT_COMPANY_ID if self.company_id is None else self.company_id
        return p.naa_wwn(self.serial, cid)


@dataclass(frozen=True, slots=True)
class Snapshot:
    present: bool  # target/ exists (configfs mounted and target_core_mod loaded)
    targets: tuple[Target, ...] = ()
    backstores: tuple[Backstore, ...] = ()
    errors: tuple[WalkError, ...] = ()


@dataclass
class WalkCache:
    """What one walk learns for the next (kept by the collector; one walk at a time)."""

    lun_links: dict[str, str] = field(default_factory=dict)  # LUN dir -> its symlink's name


class _Vanished(Exception):
    """The object being read (LUN, ACL, device) was removed while the walk ran."""


@dataclass
class _Walker:
    root: str
    opts: WalkOptions
    cache: WalkCache
    _errors: dict[str, tuple[str, int]] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # this walk's LUN link names

    # -- low level -------------------------------------------------------------------------

    def error(self, kind: str, path: str, err: OSError | str) -> None:
        if isinstance(err, OSError):
            name = errno.errorcode.get(err.errno or 0, str(err.errno))
            why = err.strerror or str(err)
        else:
            name, why = "EINVAL", err
        key = f"lio:{kind}:{name}"
        slot = self._errors.get(key)
        if slot is None:
            self._errors[key] = (f"cannot use {kind}: {why} ({path})", 1)
        else:
            self._errors[key] = (slot[0], slot[1] + 1)

    def errors(self) -> tuple[WalkError, ...]:
        out = []
        for key, (msg, n) in sorted(self._errors.items()):
            more = f" and {n - 1} more" if n > 1 else ""
            out.append(WalkError(key, f"{msg}{more}", n))
        return tuple(out)

    @staticmethod
    def read(path: str) -> bytes | OSError:
        try:
            fd = os.open(path, _O_FLAGS)
        except OSError as exc:
            return exc
        try:
            return os.read(fd, _PAGE)
        except OSError as exc:
            return exc
        finally:
            os.close(fd)

    def scan(self, path: str, kind: str) -> list[os.DirEntry[str]] | None:
        """Entries of a directory; None (and no error) if it vanished, None + error otherwise."""
        try:
            with os.scandir(path) as it:
                return list(it)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.error(kind, path, exc)
            return None

    def value(
        self,
        path: str,
        kind: str,
        parse: Callable[[bytes], object],
        owner: str,
        *,
        optional: bool = False,
        enodev_ok: bool = False,
    ) -> object:
        """Read and parse one attribute of the object whose directory is `owner`.

        Raises _Vanished if the file is gone because `owner` is gone (a LUN or ACL removed while
        the walk ran); a missing optional file (an attribute an older kernel lacks) is None
        without error; ENODEV is None without error where the kernel uses it for "no backing
        device / no session" (target_core_stat.c).
        """
        data = self.read(path)
        if isinstance(data, OSError):
            self.failed(data, path, kind, owner, optional=optional, enodev_ok=enodev_ok)
            return None
        try:
            return parse(data)
        except ValueError as exc:
            self.error(kind, path, str(exc))
            return None

    def failed(
        self, exc: OSError, path: str, kind: str, owner: str, *, optional: bool, enodev_ok: bool
    ) -> None:
        if exc.errno == errno.ENOENT:
            if not os.path.isdir(owner):
                raise _Vanished(owner)
            if optional:
                return
        if exc.errno == errno.ENODEV and enodev_ok:
            return
        self.error(kind, path, exc)

    def uint(
        self, path: str, kind: str, owner: str, *, optional: bool = False, enodev_ok: bool = False
    ) -> int | None:
        """`value(..., parse_uint)` with a fast path for the common `digits\n` (hot loop)."""
        data = self.read(path)
        if type(data) is bytes:
            if data[-1:] == b"\n" and data[:-1].isdigit():  # bytes.isdigit: ASCII only
                return int(data[:-1])
            try:
                return p.parse_uint(data)
            except ValueError as exc:
                self.error(kind, path, str(exc))
                return None
        assert isinstance(data, OSError)
        self.failed(data, path, kind, owner, optional=optional, enodev_ok=enodev_ok)
        return None

    def flag(self, path: str, kind: str, owner: str, **kw: bool) -> bool | None:
        v = self.value(path, kind, p.parse_bool, owner, **kw)
        return v if isinstance(v, bool) else None

    # -- fabrics ---------------------------------------------------------------------------

    def targets(self, fabric_entries: list[os.DirEntry[str]]) -> tuple[Target, ...]:
        out: list[Target] = []
        for fab in sorted(fabric_entries, key=lambda e: e.name):
            if fab.name in NOT_FABRICS or not fab.is_dir(follow_symlinks=False):
                continue
            wwns = self.scan(fab.path, "fabric dir")
            for ent in sorted(wwns or (), key=lambda e: e.name):
                if ent.name in NOT_TARGETS or not ent.is_dir(follow_symlinks=False):
                    continue
                wwpn = p.normalize_wwn(ent.name, fab.name)
                if not self.opts.wwpn_ok(wwpn):
                    continue
                tpgs = self.tpgs(fab.name, ent.path)
                if tpgs is not None:
                    out.append(Target(fab.name, ent.name, wwpn, tpgs))
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
            except _Vanished:
                continue
        out.sort(key=lambda t: t.tag)
        return tuple(out)

    def tpg(self, fabric: str, tag: int, tdir: str) -> Tpg:
        entries = self.scan(tdir, "tpg dir")
        if entries is None:
            raise _Vanished(tdir)
        names = {e.name for e in entries}
        enabled = None
        if "enable" in names:
            enabled = self.flag(tdir + "/enable", "tpgt/enable", tdir)
        dyn: tuple[str, ...] = ()
        # Demo-mode sessions: listed in dynamic_sessions (qla2xxx, iscsi); tcm_loop, vhost,
        # xen-scsiback and usb_gadget have instead the TPG's one I_T nexus, a file that fails
        # with ENODEV while there is none (tcm_loop.c tcm_loop_tpg_nexus_show, vhost/scsi.c).
        listing = next((f for f in ("dynamic_sessions", "nexus") if f in names), None)
        if listing is not None:
            v = self.value(
                f"{tdir}/{listing}", f"tpgt/{listing}", p.parse_dynamic_sessions, tdir,
                enodev_ok=listing == "nexus",
            )  # fmt: skip
            if isinstance(v, tuple):
                dyn = tuple(str(x) for x in v)
        luns = self.luns(tdir + "/lun") if "lun" in names else ()
        acls = self.acls(fabric, tdir + "/acls") if "acls" in names else ()
        if not os.path.isdir(tdir):
            raise _Vanished(tdir)  # removed while its LUNs and ACLs were read
        return Tpg(tag, enabled, luns, acls, dyn)

    # -- LUNs ------------------------------------------------------------------------------

    def luns(self, lun_root: str) -> tuple[LunPort, ...]:
        out: list[LunPort] = []
        for ent in self.scan(lun_root, "lun dir") or ():
            n = p.parse_lun_dir(ent.name)
            if n is None:
                continue
            try:
                lun = self.lun(n, ent.path)
            except _Vanished:
                continue
            if lun is not None:
                out.append(lun)
        out.sort(key=lambda x: x.lun)
        return tuple(out)

    def lun(self, n: int, ldir: str) -> LunPort | None:
        link = self.lun_link(ldir)
        hba = dev = None
        if link is not None:
            try:
                hba, dev = p.parse_lun_link(link)
            except ValueError as exc:
                self.error("lun link", ldir, str(exc))
        st = ldir + "/statistics/"
        tp = st + "scsi_tgt_port/"
        # Stats of a LUN without a backing device fail with ENODEV (target_core_stat.c).
        return LunPort(
            lun=n,
            hba=hba,
            dev=dev,
            in_cmds=self.uint(tp + "in_cmds", "scsi_tgt_port/in_cmds", ldir, enodev_ok=True),
            read_mbytes=self.uint(
                tp + "read_mbytes", "scsi_tgt_port/read_mbytes", ldir, enodev_ok=True
            ),
            write_mbytes=self.uint(
                tp + "write_mbytes", "scsi_tgt_port/write_mbytes", ldir, enodev_ok=True
            ),
            hs_in_cmds=self.uint(
                tp + "hs_in_cmds", "scsi_tgt_port/hs_in_cmds", ldir, enodev_ok=True, optional=True
            )
            if self.opts.zero_stats
            else None,
            busy_count=self.uint(
                st + "scsi_port/busy_count",
                "scsi_port/busy_count",
                ldir,
                enodev_ok=True,
                optional=True,
            )
            if self.opts.zero_stats
            else None,
        )

    def lun_link(self, ldir: str) -> str | None:
        """Target of the LUN's backstore symlink; None if unlinked; _Vanished if the LUN went.

        The link's name is arbitrary (targetcli: a random hex id) but fixed while the LUN
        exists, so it is remembered across walks: one readlink instead of listing the LUN
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
            raise _Vanished(ldir)
        for e in entries:
            if e.is_symlink():
                try:
                    target = os.readlink(e.path)
                except FileNotFoundError:
                    if not os.path.isdir(ldir):
                        raise _Vanished(ldir) from None
                    return None
                except OSError as exc:
                    self.error("lun link", e.path, exc)
                    return None
                self.links[ldir] = e.name
                return target
        return None

    # -- ACLs ------------------------------------------------------------------------------

    def acls(self, fabric: str, acl_root: str) -> tuple[Acl, ...]:
        out: list[Acl] = []
        for ent in self.scan(acl_root, "acls dir") or ():
            if not ent.is_dir(follow_symlinks=False):
                continue
            if not self.opts.initiator_ok(p.normalize_wwn(ent.name, fabric)):
                continue
            try:
                acl = self.acl(ent.name, ent.path)
            except _Vanished:
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
        mapped: list[MappedLun] = []
        lost = False
        for m, mdir in numbers:
            if self.opts.initiator_stats:
                try:
                    ml = self.mapped_lun(m, mdir)
                except _Vanished:
                    lost = True
                    continue
                mapped.append(ml)
            else:
                mapped.append(MappedLun(m, None, None, None))
        session: bool | None = None
        if has_info:
            # iSCSI: iscsi_target_configfs.c prints the session state in the ACL's `info`.
            v = self.value(adir + "/info", "acl info", p.parse_iscsi_acl_info, adir)
            session = v if isinstance(v, bool) else None
        else:
            session = self.session_by_port_ident(numbers)
        if lost and not os.path.isdir(adir):
            raise _Vanished(adir)  # the whole ACL went, not just a mapping
        return Acl(name, session, tuple(mapped))

    def mapped_lun(self, m: int, mdir: str) -> MappedLun:
        ai = mdir + "/statistics/scsi_auth_intr/"
        # ENODEV: the mapping (deve) is gone (target_core_stat.c).
        return MappedLun(
            mapped_lun=m,
            num_cmds=self.uint(ai + "num_cmds", "scsi_auth_intr/num_cmds", mdir, enodev_ok=True),
            read_mbytes=self.uint(
                ai + "read_mbytes", "scsi_auth_intr/read_mbytes", mdir, enodev_ok=True
            ),
            write_mbytes=self.uint(
                ai + "write_mbytes", "scsi_auth_intr/write_mbytes", mdir, enodev_ok=True
            ),
        )

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
            path = mdir + "/statistics/scsi_att_intr_port/port_ident"
            data = self.read(path)
            if isinstance(data, OSError):
                if data.errno == errno.ENOENT and not os.path.isdir(mdir):
                    continue  # mapped LUN removed meanwhile
                # ENODEV: the kernel's answer without a session. ENOENT while the mapped LUN
                # is still there: a tree that drops the attribute instead (the simulator,
                # which cannot make device nodes unprivileged) means the same.
                if data.errno in (errno.ENODEV, errno.ENOENT):
                    result = False
                    probes += 1
                    if probes >= self.MAX_SESSION_PROBES:
                        break
                    continue
                self.error("scsi_att_intr_port/port_ident", path, data)
                return None
            if data.strip(b"\x00\n "):
                return True
            result = False
        return result

    # -- backstores ------------------------------------------------------------------------

    def backstores(self, core: str) -> tuple[Backstore, ...]:
        out: list[Backstore] = []
        for hent in sorted(self.scan(core, "core dir") or (), key=lambda e: e.name):
            hba = p.parse_hba_dir(hent.name)
            if hba is None or not hent.is_dir(follow_symlinks=False):
                continue
            for dent in sorted(self.scan(hent.path, "hba dir") or (), key=lambda e: e.name):
                if not dent.is_dir(follow_symlinks=False):
                    continue
                if not self.opts.backstore_ok(dent.name):
                    continue
                try:
                    out.append(self.backstore(hent.name, hba.plugin, dent.name, dent.path))
                except _Vanished:
                    continue
        return tuple(out)

    def backstore(self, hba: str, plugin: str, name: str, d: str) -> Backstore:
        info_v = self.value(d + "/info", "backstore info", p.parse_backstore_info, d)
        info = info_v if isinstance(info_v, p.BackstoreInfo) else None
        serial_v = self.value(
            d + "/wwn/vpd_unit_serial", "wwn/vpd_unit_serial", p.parse_unit_serial, d
        )
        cid_v = self.value(
            d + "/wwn/company_id", "wwn/company_id", p.parse_company_id, d, optional=True
        )
        vend_v = self.value(d + "/statistics/scsi_lu/vend", "scsi_lu/vend", p.parse_text, d)
        prod_v = self.value(d + "/statistics/scsi_lu/prod", "scsi_lu/prod", p.parse_text, d)
        status_v = self.value(
            d + "/statistics/scsi_tgt_dev/status",
            "scsi_tgt_dev/status",
            p.parse_tgt_dev_status,
            d,
        )
        lu = d + "/statistics/scsi_lu/"
        td = d + "/statistics/scsi_tgt_dev/"
        enabled = self.flag(d + "/enable", "backstore enable", d, optional=True)
        if enabled is None and info is not None:
            enabled = info.activated  # kernels without the `enable` attribute
        return Backstore(
            hba=hba,
            plugin=plugin,
            name=name,
            info=info,
            size_bytes=self.size(plugin, info),
            enabled=enabled,
            block_size=self.uint(d + "/attrib/block_size", "attrib/block_size", d),
            write_cache=self.flag(
                d + "/attrib/emulate_write_cache", "attrib/emulate_write_cache", d
            ),
            serial=serial_v if isinstance(serial_v, str) else None,
            company_id=cid_v if isinstance(cid_v, int) else None,
            vendor=vend_v if isinstance(vend_v, str) else None,
            product=prod_v if isinstance(prod_v, str) else None,
            num_cmds=self.uint(lu + "num_cmds", "scsi_lu/num_cmds", d),
            read_mbytes=self.uint(lu + "read_mbytes", "scsi_lu/read_mbytes", d),
            write_mbytes=self.uint(lu + "write_mbytes", "scsi_lu/write_mbytes", d),
            resets=self.uint(td + "resets", "scsi_tgt_dev/resets", d),
            # aborts_* appeared in 5.x: absent on older kernels, which is not an error.
            aborts_complete=self.uint(
                td + "aborts_complete", "scsi_tgt_dev/aborts_complete", d, optional=True
            ),
            aborts_no_task=self.uint(
                td + "aborts_no_task", "scsi_tgt_dev/aborts_no_task", d, optional=True
            ),
            exported=status_v if isinstance(status_v, bool) else None,
            ports=self.uint(d + "/statistics/scsi_dev/ports", "scsi_dev/ports", d),
        )

    def size(self, plugin: str, info: p.BackstoreInfo | None) -> int | None:
        """Bytes: fileio/user/ramdisk from `info`; iblock from the block device's sysfs size.

        iblock's `info` names the bdev (%pg) but not its size; <sysfs>/class/block/<bdev>/size
        counts 512-byte sectors whatever the logical block size (block/genhd.c).
        """
        if info is None:
            return None
        if info.size_bytes is not None:
            return info.size_bytes
        if plugin == "iblock" and info.block_device and self.opts.sysfs:
            path = os.path.join(self.opts.sysfs, "class", "block", info.block_device, "size")
            data = self.read(path)
            if isinstance(data, OSError):
                return None  # not ours to fail on: the bdev may live in another namespace
            try:
                return p.parse_uint(data) * 512
            except ValueError as exc:
                self.error("block device size", path, str(exc))
        return None


def walk(
    target_root: str, opts: WalkOptions | None = None, cache: WalkCache | None = None
) -> Snapshot:
    """Read everything the lio collector exports from `target_root` (= `<configfs>/target`)."""
    w = _Walker(target_root, opts or WalkOptions(), cache if cache is not None else WalkCache())
    try:
        with os.scandir(target_root) as it:
            top = list(it)
    except (FileNotFoundError, NotADirectoryError):
        # configfs not mounted or target_core_mod not loaded: a host serving no target.
        return Snapshot(present=False)
    except OSError as exc:
        w.error("target dir", target_root, exc)
        return Snapshot(present=False, errors=w.errors())
    targets = w.targets(top)
    backstores: tuple[Backstore, ...] = ()
    if any(e.name == "core" for e in top):
        backstores = w.backstores(target_root + "/core")
    w.cache.lun_links = w.links  # only LUNs that still exist
    return Snapshot(True, targets, backstores, w.errors())
