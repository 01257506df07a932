"""The configfs reader's part for ALUA groups and backstore risks of `target/core/<hba>/<dev>`.

ALUA target port groups (target_core_configfs.c, target_tg_pt_gp_*_show): every device has
`alua/default_tg_pt_gp` plus the groups made with mkdir; per group five attributes are read
(state, status, preferred, id, members). tcmu devices (target_core_user.c): action/block_dev
and three attrib/ values. The volatile write cache of an iblock device comes from sysfs
(block/blk-sysfs.c queue_wc_show) of the block device the `info` file names.
"""

from __future__ import annotations

import os

from exporter.parsers import lio_alua as a
from exporter.parsers.lio import BackstoreInfo
from exporter.readers.configfs_files import Attr, Files, Vanished
from exporter.readers.configfs_model import AluaGroup, UserDevice

GP_STATE = Attr("/alua_access_state", "tg_pt_gp/alua_access_state")
GP_STATUS = Attr("/alua_access_status", "tg_pt_gp/alua_access_status")
GP_PREFERRED = Attr("/preferred", "tg_pt_gp/preferred")
GP_ID = Attr("/tg_pt_gp_id", "tg_pt_gp/tg_pt_gp_id")
GP_MEMBERS = Attr("/members", "tg_pt_gp/members")
# action/block_dev appeared in 4.18; cmd_time_out / qfull_time_out / max_data_area_mb 4.x.
USER_BLOCKED = Attr("/action/block_dev", "user action/block_dev", optional=True)
USER_CMD_TIMEOUT = Attr("/attrib/cmd_time_out", "user attrib/cmd_time_out", optional=True)
USER_QFULL_TIMEOUT = Attr("/attrib/qfull_time_out", "user attrib/qfull_time_out", optional=True)
USER_MAX_DATA_AREA = Attr("/attrib/max_data_area_mb", "user attrib/max_data_area_mb", optional=True)


def alua_groups(files: Files, dev_dir: str) -> tuple[AluaGroup, ...]:
    """Every target port group of the device whose directory is `dev_dir`, by name."""
    out: list[AluaGroup] = []
    for ent in sorted(files.scan(dev_dir + "/alua", "alua dir") or (), key=lambda e: e.name):
        if not ent.is_dir(follow_symlinks=False):
            continue
        try:
            out.append(_group(files, ent.name, ent.path))
        except Vanished:
            continue  # the group was removed meanwhile
    return tuple(out)


def _group(files: Files, name: str, g: str) -> AluaGroup:
    state = files.value(g, GP_STATE, a.parse_alua_state)
    status = files.value(g, GP_STATUS, a.parse_alua_status)
    gid = files.value(g, GP_ID, a.parse_tg_pt_gp_id)
    members = files.value(g, GP_MEMBERS, a.parse_members)
    return AluaGroup(
        name=name,
        group_id=gid if isinstance(gid, int) else None,
        state=state if isinstance(state, str) else None,
        status=status if isinstance(status, str) else None,
        preferred=files.flag(g, GP_PREFERRED),
        members=len(members) if isinstance(members, tuple) else None,
    )


def user_device(files: Files, dev_dir: str) -> UserDevice:
    blocked = files.value(dev_dir, USER_BLOCKED, a.parse_block_dev)
    cmd = files.uint(dev_dir, USER_CMD_TIMEOUT)
    qfull = files.value(dev_dir, USER_QFULL_TIMEOUT, a.parse_int)
    return UserDevice(
        blocked=blocked if isinstance(blocked, bool) else None,
        cmd_time_out=cmd,
        qfull_time_out=a.qfull_seconds(qfull, cmd) if isinstance(qfull, int) else None,
        max_data_area_mb=files.uint(dev_dir, USER_MAX_DATA_AREA),
    )


def volatile_cache(
    files: Files, plugin: str, info: BackstoreInfo | None, sysfs: str | None
) -> bool | None:
    """Whether acknowledged writes can sit in a volatile cache until the initiator flushes.

    fileio: `Mode: Buffered-WCE` in `info` (writes land in the target's page cache;
    fd_execute_sync_cache flushes them). iblock: the kernel takes WCE from the block device
    (iblock_get_write_cache -> bdev_write_cache), whose `queue/write_cache` says `write back`
    for a volatile cache; a partition's queue is its disk's (`<bdev>/../queue`). Whether such
    a cache is battery-backed is not visible to Linux (an admin can declare it with `write
    through`). Other backstores: None (ramdisk is volatile as a whole; pscsi and user devices
    report their own cache to the initiator).
    """
    if info is None:
        return None
    if plugin == "fileio":
        return info.buffered
    if plugin != "iblock" or not info.block_device or not sysfs:
        return None
    base = os.path.join(sysfs, "class", "block", info.block_device)
    for rel in ("queue/write_cache", "../queue/write_cache"):
        path = os.path.join(base, rel)
        data = files.read(path)
        if isinstance(data, OSError):
            continue  # not ours to fail on: the bdev may live in another namespace
        try:
            return a.parse_queue_write_cache(data)
        except ValueError as exc:
            files.problem("block device queue/write_cache", path, str(exc))
            return None
    return None
