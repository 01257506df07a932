"""Writer: LIO ALUA target port groups, each LUN's ALUA files, and the tcmu-only files.

Formats as drivers/target/target_core_configfs.c (target_tg_pt_gp_*_show), target_core_alua.c
(core_alua_show_tg_pt_gp_info, core_alua_dump_state/status) and target_core_user.c
(tcmu_block_dev_show, tcmu_*_time_out_show, tcmu_max_data_area_mb_show) print them (6.1).
"""

from __future__ import annotations

from exporter.simulate.model import Backstore, HostModel, Lun, Port
from exporter.simulate.model_lio import TgPtGp, UserDevice
from exporter.simulate.tree import Tree

TARGET = "sys/kernel/config/target"

# core_alua_dump_state() / core_alua_dump_status() text.
_STATE_TEXT = {
    0x0: "Active/Optimized",
    0x1: "Active/NonOptimized",
    0x2: "Standby",
    0x3: "Unavailable",
    0x4: "LBA Dependent",
    0xE: "Offline",
    0xF: "Transitioning",
}
_STATUS_TEXT = ("None", "Altered by Explicit STPG", "Altered by Implicit ALUA")
# The attributes every group has whose values the simulator never changes.
_GP_FIXED: dict[str, str] = {
    "alua_access_type": "Implicit and Explicit",
    "alua_support_active_nonoptimized": "1",
    "alua_support_active_optimized": "1",
    "alua_support_lba_dependent": "0",
    "alua_support_offline": "1",
    "alua_support_standby": "1",
    "alua_support_transitioning": "1",
    "alua_support_unavailable": "1",
    "alua_write_metadata": "0",
    "implicit_trans_secs": "0",
    "nonop_delay_msecs": "100",
    "trans_delay_msecs": "0",
}


def _members(model: HostModel, bs: Backstore, group: str) -> list[tuple[Port, Lun]]:
    return [
        (port, lun)
        for port in model.ports
        for lun in port.luns
        if lun.backstore is bs and lun.present and model.lio.group_of(port.index, lun.lun) == group
    ]


def write_groups(tree: Tree, model: HostModel, bs: Backstore) -> None:
    """Every ALUA group of `bs`: members `"%s/%s/tpgt_%hu/%s\\n"` + NUL per LUN (the fabric's
    name, tpg_get_wwn, the tag, the LUN's configfs name)."""
    for g in model.lio.groups_of(bs.index):
        members = "".join(
            f"qla2xxx/{port.wwpn_colon}/tpgt_1/lun_{lun.lun}\n\0"
            for port, lun in _members(model, bs, g.name)
        )
        files = {k: v + "\n" for k, v in _GP_FIXED.items()}
        files.update(
            alua_access_state=f"{g.state}\n",
            alua_access_status=f"{_STATUS_TEXT[g.status]}\n",
            preferred=f"{int(g.preferred)}\n",
            tg_pt_gp_id="" if g.gp_id is None else f"{g.gp_id}\n",
            members=members,
        )
        tree.files(f"{TARGET}/core/{bs.path}/alua/{g.name}", files)


def lun_alua_files(model: HostModel, port: Port, lun: Lun) -> dict[str, str]:
    """lun_N/alua_tg_pt_{gp,offline,status,write_md} of one LUN."""
    g: TgPtGp = model.lio.group(lun.backstore.index, model.lio.group_of(port.index, lun.lun))
    offline = (port.index, lun.lun) in model.lio.lun_offline
    status = 2 if offline else 0  # set through configfs: "altered by implicit ALUA"
    return {
        "alua_tg_pt_gp": (
            f"TG Port Alias: {g.name}\nTG Port Group ID: {g.gp_id or 0}\n"
            f"TG Port Primary Access State: {_STATE_TEXT[g.state]}\n"
            f"TG Port Primary Access Status: {_STATUS_TEXT[g.status]}\n"
            f"TG Port Secondary Access State: {'Offline' if offline else 'None'}\n"
            f"TG Port Secondary Access Status: {_STATUS_TEXT[status]}\n"
        ),
        "alua_tg_pt_offline": f"{int(offline)}\n",
        "alua_tg_pt_status": f"{status}\n",
        "alua_tg_pt_write_md": "0\n",
    }


def write_alua(tree: Tree, model: HostModel, bs: Backstore) -> None:
    """After an ALUA change on `bs`: its groups and the files of every LUN exporting it."""
    write_groups(tree, model, bs)
    for port in model.ports:
        for lun in port.luns:
            if lun.backstore is bs and lun.present:
                d = f"{TARGET}/qla2xxx/{port.wwpn_colon}/tpgt_1/lun/lun_{lun.lun}"
                tree.files(d, lun_alua_files(model, port, lun))


def user_attrib(ud: UserDevice, bs: Backstore) -> dict[str, str]:
    """The tcmu-only attrib/ files (tcmu_attrib_attrs[])."""
    return {
        "cmd_time_out": f"{ud.cmd_time_out}\n",
        "qfull_time_out": f"{ud.qfull_time_out}\n",
        "max_data_area_mb": f"{ud.max_data_area_mb}\n",
        "data_pages_per_blk": "256\n",
        "dev_config": f"file/{bs.name}\n",
        "dev_size": f"{bs.size}\n",
        "nl_reply_supported": "0\n",
    }


def write_user_action(tree: Tree, ud: UserDevice, bs: Backstore) -> None:
    tree.put(
        f"{TARGET}/core/{bs.path}/action/block_dev",
        "blocked\n" if ud.blocked else "unblocked\n",
    )
