"""The simulated host's LIO ALUA and backstore-risk state (pure data, no I/O).

Every backstore has `default_tg_pt_gp` (id 0, Active/Optimized) holding all its LUNs until a
LUN is moved into another group; groups made with mkdir, LUNs moved, a LUN's secondary Offline
state, read-only block backstores and tcmu (user) devices are kept here. tcmu devices are not
exported by any LUN (they would need a user-space handler to answer commands).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_GP = "default_tg_pt_gp"


@dataclass
class TgPtGp:
    name: str
    gp_id: int | None  # None: tg_pt_gp_id never set
    state: int = 0  # parsers.lio_alua.ALUA_STATES key
    status: int = 0  # 0 none, 1 altered by explicit STPG, 2 altered by implicit ALUA
    preferred: bool = False


@dataclass
class UserDevice:
    """What a tcmu backstore (`user_<n>/<name>`, target_core_user.c) has beyond the others."""

    index: int  # of its Backstore in HostModel.backstores
    blocked: bool = False
    cmd_time_out: int = 30  # seconds (the kernel's default TCMU_TIME_OUT)
    qfull_time_out: int = -1  # -1: use cmd_time_out
    max_data_area_mb: int = 1024


@dataclass
class LioState:
    groups: dict[int, list[TgPtGp]] = field(default_factory=dict)  # backstore index -> groups
    lun_group: dict[tuple[int, int], str] = field(default_factory=dict)  # (port, lun) -> group
    lun_offline: set[tuple[int, int]] = field(default_factory=set)
    read_only: set[int] = field(default_factory=set)  # block backstores opened read-only
    users: list[UserDevice] = field(default_factory=list)

    def groups_of(self, backstore: int) -> list[TgPtGp]:
        """The device's groups, default_tg_pt_gp first (made on first use)."""
        return self.groups.setdefault(backstore, [TgPtGp(DEFAULT_GP, 0)])

    def group(self, backstore: int, name: str) -> TgPtGp:
        return next(g for g in self.groups_of(backstore) if g.name == name)

    def group_of(self, port: int, lun: int) -> str:
        return self.lun_group.get((port, lun), DEFAULT_GP)

    def user(self, backstore: int) -> UserDevice | None:
        return next((u for u in self.users if u.index == backstore), None)
