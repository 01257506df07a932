"""Writer: the LIO core in configfs, `<configfs>/target/{version,dbroot}` and `target/core/`.

The backstores (`core/<plugin>_<n>/<name>`: info, attrib, pr, wwn, ALUA groups, statistics)
as drivers/target/target_core_configfs.c, target_core_alua.c and target_core_stat.c print them;
the values mirror the real 6.1 dump (shared/reference/real-kernel-6.1/configfs-dump.txt).
An iblock backstore also gets its device-mapper volume under `devices/virtual/block`.
"""

from __future__ import annotations

from exporter.parsers.lio import DEFAULT_COMPANY_ID, UNIT_SERIAL_PREFIX
from exporter.simulate import configfs_alua
from exporter.simulate.model import KERNEL_RELEASE, TARGET_VERSION, Backstore, HostModel
from exporter.simulate.tree import Tree

TARGET = "sys/kernel/config/target"

# Backstore attrib/* defaults as in the real 6.1 dump (target_core_configfs.c), per plugin.
_ATTRIB_COMMON: dict[str, str] = {
    "alua_support": "1",
    "block_size": "512",
    "emulate_3pc": "1",
    "emulate_caw": "1",
    "emulate_dpo": "1",
    "emulate_fua_read": "1",
    "emulate_fua_write": "1",
    "emulate_model_alias": "1",
    "emulate_pr": "1",
    "emulate_rest_reord": "0",
    "emulate_tas": "1",
    "emulate_tpu": "0",
    "emulate_tpws": "0",
    "emulate_ua_intlck_ctrl": "0",
    "emulate_write_cache": "0",
    "enforce_pr_isids": "1",
    "force_pr_aptpl": "0",
    "hw_block_size": "512",
    "hw_max_sectors": "248",
    "hw_pi_prot_type": "0",
    "hw_queue_depth": "128",
    "is_nonrot": "1",
    "max_unmap_block_desc_count": "0",
    "max_unmap_lba_count": "0",
    "max_write_same_len": "65535",
    "optimal_sectors": "248",
    "pgr_support": "1",
    "pi_prot_format": "0",
    "pi_prot_type": "0",
    "pi_prot_verify": "0",
    "queue_depth": "128",
    "unmap_granularity": "0",
    "unmap_granularity_alignment": "0",
    "unmap_zeroes_data": "0",
}
_ATTRIB_PLUGIN: dict[str, dict[str, str]] = {
    "iblock": {},
    "fileio": {
        "emulate_write_cache": "1",
        "hw_max_sectors": "16384",
        "is_nonrot": "0",
        "max_unmap_block_desc_count": "1",
        "max_unmap_lba_count": "8192",
        "max_write_same_len": "4096",
        "optimal_sectors": "16384",
        "unmap_granularity": "1",
    },
    "rd_mcp": {
        "hw_max_sectors": "4294967288",
        "max_write_same_len": "0",
        "optimal_sectors": "4294967288",
    },
    "user": {"hw_max_sectors": "128", "optimal_sectors": "128"},
}
_PR_FILES: dict[str, str] = {
    "res_aptpl_active": "APTPL Bit Status: Disabled\n",
    "res_aptpl_metadata": "Ready to process PR APTPL metadata..\n",
    "res_holder": "No SPC-3 Reservation holder\n",
    "res_pr_all_tgt_pts": "No SPC-3 Reservation holder\n",
    "res_pr_generation": "0x00000000\n",
    "res_pr_holder_tg_port": "No SPC-3 Reservation holder\n",
    "res_pr_registered_i_pts": "SPC-3 PR Registrations:\nNone\n",
    "res_pr_type": "No SPC-3 Reservation holder\n",
    "res_type": "SPC3_PERSISTENT_RESERVATIONS\n",
}


def backstore_dir(bs: Backstore) -> str:
    return f"{TARGET}/core/{bs.path}"


def build_core(tree: Tree, model: HostModel) -> None:
    """`target/version`, `target/dbroot`, the default LU group and every backstore."""
    tree.files(
        TARGET,
        {
            "version": (
                f"Target Engine Core ConfigFS Infrastructure {TARGET_VERSION} on "
                f"Linux/x86_64 on {KERNEL_RELEASE}\n"
            ),
            "dbroot": "/etc/target\n",
        },
    )
    members = "".join(f"{bs.path}\n" for bs in model.backstores)
    tree.files(f"{TARGET}/core/alua/lu_gps/default_lu_gp", {"lu_gp_id": "0\n", "members": members})
    for bs in model.backstores:
        build_backstore(tree, model, bs)


def build_backstore(tree: Tree, model: HostModel, bs: Backstore) -> None:
    # target_core_configfs.c target_hba_info_show(): "HBA Index: %d plugin: %s version: %s\n"
    tree.files(
        f"{TARGET}/core/{bs.hba_dir}",
        {
            "hba_info": f"HBA Index: {bs.hba_id} plugin: {bs.plugin} version: {TARGET_VERSION}\n",
            "hba_mode": "0\n",
        },
    )
    d = backstore_dir(bs)
    attrib = dict(_ATTRIB_COMMON)
    attrib.update(_ATTRIB_PLUGIN[bs.plugin])
    attrib["emulate_write_cache"] = "1" if bs.write_cache else "0"
    tree.files(
        d,
        {
            "alias": "",
            "alua_lu_gp": "LU Group Alias: default_lu_gp\nLU Group ID: 0\n",
            "enable": "1\n",
            "info": _info(bs, attrib["hw_max_sectors"], bs.index in model.lio.read_only),
            "lba_map": "",
            "udev_path": f"{bs.udev_path}\n" if bs.udev_path else "",
        },
    )
    if bs.plugin == "iblock":
        _build_dm_volume(tree, bs)
    tree.mkdir(f"{d}/action")
    tree.files(f"{d}/attrib", {k: v + "\n" for k, v in attrib.items()})
    user = model.lio.user(bs.index)
    if user is not None:
        tree.files(f"{d}/attrib", configfs_alua.user_attrib(user, bs))
        configfs_alua.write_user_action(tree, user, bs)
    tree.files(f"{d}/pr", _PR_FILES)
    tree.files(f"{d}/wwn", _wwn_files(bs))
    configfs_alua.write_groups(tree, model, bs)
    _build_statistics(tree, bs)


def _info(bs: Backstore, hw_max: str, read_only: bool) -> str:
    """transport_dump_dev_state() line, then the backend's show_configfs_dev_params()."""
    head = (
        f"Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: {hw_max}\n        "
    )
    if bs.plugin == "iblock":
        return (
            head
            + f"iBlock device: dm-{bs.index}  UDEV PATH: {bs.udev_path}  "
            + f"readonly: {int(read_only)}\n"
            + f"        Major: 253 Minor: {bs.index}  CLAIMED: IBLOCK\n"
        )
    if bs.plugin == "fileio":
        return (
            head
            + f"TCM FILEIO ID: 0        File: {bs.udev_path}  Size: {bs.size}  "
            + "Mode: Buffered-WCE Async: 0\n"
        )
    if bs.plugin == "user":  # target_core_user.c tcmu_show_configfs_dev_params()
        return (
            head
            + f"Config: file/{bs.name} Size: {bs.size} MaxDataAreaMB: 1024 DataPagesPerBlk: 256\n"
        )
    return (
        head
        + "TCM RamDisk ID: 0  RamDisk Makeup: rd_mcp\n"
        + "        PAGES/PAGE_SIZE: 8192*4096  SG_table_count: 5  nullio: 0 dummy: 0\n"
    )


def _build_dm_volume(tree: Tree, bs: Backstore) -> None:
    """The device-mapper volume behind an iblock backstore (genhd.c: `size` in 512-byte
    sectors)."""
    bdev = f"sys/devices/virtual/block/dm-{bs.index}"
    tree.files(bdev, {"size": f"{bs.size // 512}\n", "dev": f"253:{bs.index}\n"})
    # blk-sysfs.c queue_wc_show(): the demo's volumes sit on a battery-backed array
    tree.files(f"{bdev}/queue", {"write_cache": "write through\n"})
    tree.mkdir("sys/class/block")
    tree.symlink(f"sys/class/block/dm-{bs.index}", f"../../devices/virtual/block/dm-{bs.index}")


def _wwn_files(bs: Backstore) -> dict[str, str]:
    return {
        "company_id": f"{DEFAULT_COMPANY_ID:#08x}\n",
        "product_id": f"{bs.name}\n",
        "revision": "4.0\n",
        "vendor_id": "LIO-ORG\n",
        "vpd_assoc_logical_unit": "",
        "vpd_assoc_scsi_target_device": "",
        "vpd_assoc_target_port": "",
        "vpd_protocol_identifier": "",
        "vpd_unit_serial": f"{UNIT_SERIAL_PREFIX} {bs.serial}\n",
    }


def _build_statistics(tree: Tree, bs: Backstore) -> None:
    """target_core_stat.c: the constant parts of scsi_dev / scsi_tgt_dev / scsi_lu."""
    sd = f"{backstore_dir(bs)}/statistics"
    tree.files(
        f"{sd}/scsi_dev",
        {"inst": f"{bs.hba_index}\n", "indx": f"{bs.dev_index}\n", "role": "Target\n"},
    )
    tree.files(
        f"{sd}/scsi_tgt_dev",
        {
            "inst": f"{bs.hba_index}\n",
            "indx": f"{bs.dev_index}\n",
            "num_lus": "1\n",
            "status": "activated",  # printed without a newline
            "non_access_lus": "0\n",
            "resets": "0\n",
            "aborts_complete": "0\n",
            "aborts_no_task": "0\n",
        },
    )
    tree.files(
        f"{sd}/scsi_lu",
        {
            "inst": f"{bs.hba_index}\n",
            "dev": f"{bs.dev_index}\n",
            "indx": "1\n",
            "lun": "0\n",
            "lu_name": f"{bs.serial}\n",
            "vend": f"{'LIO-ORG':<8s}\n",
            "prod": f"{bs.name:<16s}\n",
            "rev": f"{'4.0':<4s}\n",
            "dev_type": "0\n",
            "status": "available\n",
            "state_bit": "exposed\n",
            "resets": "0\n",
            "full_stat": "0\n",
            "hs_num_cmds": "0\n",
            "creation_time": f"{bs.creation_time}\n",
        },
    )


def write_backstore_stats(tree: Tree, bs: Backstore) -> None:
    """The counters of one backstore: exports (scsi_dev/ports) and its I/O (scsi_lu)."""
    sd = f"{backstore_dir(bs)}/statistics"
    tree.put(f"{sd}/scsi_dev/ports", f"{bs.export_count}\n")
    tree.put(f"{sd}/scsi_lu/num_cmds", f"{bs.cmds}\n")
    tree.put(f"{sd}/scsi_lu/read_mbytes", f"{bs.read_bytes >> 20}\n")
    tree.put(f"{sd}/scsi_lu/write_mbytes", f"{bs.write_bytes >> 20}\n")
