"""What the configfs reader (readers/configfs.py) returns: a frozen snapshot of <configfs>/target.

Objects follow the configfs layout (drivers/target/target_core_fabric_configfs.c,
target_core_configfs.c): fabrics hold targets, targets hold TPGs, TPGs hold LUNs and ACLs, ACLs
hold mapped LUNs; backstores live under target/core. A field is None when its file could not be
read (the problem is recorded) or does not exist on this kernel or fabric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from exporter.parsers import lio as p
from exporter.parsers.lio_alua import LunAlua


def _always(_name: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What to read: filters (applied before any file of a filtered object is opened) and the
    optional statistics."""

    target_ok: Callable[[str], bool] = _always  # called with the normalised target name
    initiator_ok: Callable[[str], bool] = _always  # normalised initiator name
    backstore_ok: Callable[[str], bool] = _always  # device directory name
    initiator_stats: bool = True  # read acls/*/lun_*/statistics/scsi_auth_intr
    # scsi_tgt_port/hs_in_cmds and scsi_port/busy_count: every kernel prints a constant 0
    # (FIXME in target_core_stat.c), so they are read only on request.
    zero_stats: bool = False
    sysfs: str | None = None  # to size iblock backstores from <sysfs>/class/block/<dev>/size


@dataclass
class ReadCache:
    """What one read learns for the next (kept by the collector; one read at a time)."""

    lun_links: dict[str, str] = field(default_factory=dict)  # LUN dir -> its symlink's name
    escaped_names: int = 0  # names served escaped (not UTF-8), summed over every read


@dataclass(frozen=True, slots=True)
class LunPort:
    """tpgt_T/lun/lun_N: one LUN of a TPG (a "port" in the SCSI MIB's terms)."""

    lun: int
    hba: str | None  # core HBA dir; None: no backstore linked (stats then fail with ENODEV)
    dev: str | None
    in_cmds: int | None
    read_mbytes: int | None
    write_mbytes: int | None
    hs_in_cmds: int | None = None  # read only with ReadOptions.zero_stats
    busy_count: int | None = None
    alua: LunAlua | None = None  # lun_N/alua_tg_pt_gp; None: no group or unreadable


@dataclass(frozen=True, slots=True)
class MappedLun:
    """acls/<initiator>/lun_M: a LUN mapped to one initiator, with its scsi_auth_intr stats."""

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
    dynamic_sessions: tuple[str, ...]  # initiator names as the kernel prints them


@dataclass(frozen=True, slots=True)
class Target:
    fabric: str
    name: str  # as configfs spells it
    target: str  # normalised (p.normalize_wwn): FC WWPNs in colon form, others as spelt
    tpgs: tuple[Tpg, ...]


@dataclass(frozen=True, slots=True)
class AluaGroup:
    """core/<hba>/<dev>/alua/<tg_pt_gp>: one ALUA target port group of a device."""

    name: str
    group_id: int | None  # None: no valid id yet (tg_pt_gp_id never set; the group is unused)
    state: str | None  # parsers.lio_alua.ALUA_STATES label
    status: str | None  # parsers.lio_alua.ALUA_STATUSES label
    preferred: bool | None
    members: int | None  # LUNs in the group (lines of `members`)


@dataclass(frozen=True, slots=True)
class UserDevice:
    """What only tcmu (`user_<n>`) devices have: action/block_dev and attrib/ time-outs."""

    blocked: bool | None
    cmd_time_out: int | None  # seconds; 0: commands never time out
    qfull_time_out: int | None  # seconds a command waits for ring space (-1 resolved)
    max_data_area_mb: int | None


@dataclass(frozen=True, slots=True)
class Backstore:
    """target/core/<hba>/<dev>: one backstore device with its statistics."""

    hba: str  # the core HBA directory (<plugin>_<index>), not an FC HBA
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
    luns: int | None  # statistics/scsi_dev/ports: the LUNs exporting the device
    alua_groups: tuple[AluaGroup, ...] = ()
    # Acknowledged writes may sit in a volatile cache: fileio Buffered-WCE (the target's page
    # cache) or, for iblock, the block device's queue/write_cache is "write back".
    volatile_cache: bool | None = None
    user: UserDevice | None = None

    @property
    def backstore_type(self) -> str:
        return p.BACKSTORE_TYPES.get(self.plugin, self.plugin)

    @property
    def read_only(self) -> bool | None:
        return self.info.read_only if self.info is not None else None

    @property
    def naa(self) -> str:
        """VPD 0x83 NAA id; pscsi passes the real device's VPD through, so none is derived."""
        if not self.serial or self.plugin == "pscsi":
            return ""
        cid = p.DEFAULT_COMPANY_ID if self.company_id is None else self.company_id
        return p.naa_wwn(self.serial, cid)


@dataclass(frozen=True, slots=True)
class ConfigfsSnapshot:
    present: bool  # target/ exists (configfs mounted and target_core_mod loaded)
    targets: tuple[Target, ...] = ()
    backstores: tuple[Backstore, ...] = ()
    escaped_names: int = 0  # ReadCache.escaped_names after this read
