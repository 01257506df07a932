"""The configfs reader's part for `target/core/<plugin>_<idx>/<dev>`: backstore devices.

ALUA groups, tcmu state and the volatile write cache: readers/configfs_alua.py.

target_core_configfs.c (info, enable, attrib/, wwn/) and target_core_stat.c (statistics/scsi_dev,
scsi_tgt_dev, scsi_lu), 6.1.
"""

from __future__ import annotations

import os

from exporter.parsers import lio as p
from exporter.readers.configfs_alua import alua_groups, user_device, volatile_cache
from exporter.readers.configfs_files import Attr, Files, Vanished
from exporter.readers.configfs_model import Backstore, ReadOptions

INFO = Attr("/info", "backstore info")
SERIAL = Attr("/wwn/vpd_unit_serial", "wwn/vpd_unit_serial")
# company_id, enable and the aborts_* counters appeared in 5.x: absent on older kernels.
COMPANY_ID = Attr("/wwn/company_id", "wwn/company_id", optional=True)
ENABLE = Attr("/enable", "backstore enable", optional=True)
VENDOR = Attr("/statistics/scsi_lu/vend", "scsi_lu/vend")
PRODUCT = Attr("/statistics/scsi_lu/prod", "scsi_lu/prod")
STATUS = Attr("/statistics/scsi_tgt_dev/status", "scsi_tgt_dev/status")
BLOCK_SIZE = Attr("/attrib/block_size", "attrib/block_size")
WRITE_CACHE = Attr("/attrib/emulate_write_cache", "attrib/emulate_write_cache")
NUM_CMDS = Attr("/statistics/scsi_lu/num_cmds", "scsi_lu/num_cmds")
READ_MBYTES = Attr("/statistics/scsi_lu/read_mbytes", "scsi_lu/read_mbytes")
WRITE_MBYTES = Attr("/statistics/scsi_lu/write_mbytes", "scsi_lu/write_mbytes")
RESETS = Attr("/statistics/scsi_tgt_dev/resets", "scsi_tgt_dev/resets")
ABORTS_COMPLETE = Attr(
    "/statistics/scsi_tgt_dev/aborts_complete", "scsi_tgt_dev/aborts_complete", optional=True
)
ABORTS_NO_TASK = Attr(
    "/statistics/scsi_tgt_dev/aborts_no_task", "scsi_tgt_dev/aborts_no_task", optional=True
)
PORTS = Attr("/statistics/scsi_dev/ports", "scsi_dev/ports")


def backstores(files: Files, core: str, opts: ReadOptions) -> tuple[Backstore, ...]:
    """Every device under `core` (= <configfs>/target/core) that `opts.backstore_ok` admits."""
    out: list[Backstore] = []
    for hent in sorted(files.scan(core, "core dir") or (), key=lambda e: e.name):
        if not hent.is_dir(follow_symlinks=False) or p.parse_hba_dir(hent.name) is None:
            continue
        hba_name = files.label(hent.name)  # escaping keeps the `_<index>` suffix
        hba = p.parse_hba_dir(hba_name)
        if hba is None:
            continue
        for dent in sorted(files.scan(hent.path, "hba dir") or (), key=lambda e: e.name):
            if not dent.is_dir(follow_symlinks=False):
                continue
            name = files.label(dent.name)
            if not opts.backstore_ok(name):
                continue
            try:
                out.append(_backstore(files, (hba_name, name), hba.plugin, dent, opts.sysfs))
            except Vanished:
                continue
    return tuple(out)


def _backstore(
    files: Files, names: tuple[str, str], plugin: str, dent: os.DirEntry[str], sysfs: str | None
) -> Backstore:
    """`names`: the hba and device directory names as labels (escaped if not UTF-8)."""
    d = dent.path
    info_v = files.value(d, INFO, p.parse_backstore_info)
    info = info_v if isinstance(info_v, p.BackstoreInfo) else None
    serial = files.text(d, SERIAL, p.parse_unit_serial)
    cid_v = files.value(d, COMPANY_ID, p.parse_company_id)
    vendor = files.text(d, VENDOR, p.parse_text)
    product = files.text(d, PRODUCT, p.parse_text)
    status_v = files.value(d, STATUS, p.parse_tgt_dev_status)
    enabled = files.flag(d, ENABLE)
    if enabled is None and info is not None:
        enabled = info.activated  # kernels without the `enable` attribute
    return Backstore(
        hba=names[0],
        plugin=plugin,
        name=names[1],
        info=info,
        size_bytes=_size(files, plugin, info, sysfs),
        enabled=enabled,
        block_size=files.uint(d, BLOCK_SIZE),
        write_cache=files.flag(d, WRITE_CACHE),
        serial=serial,
        company_id=cid_v if isinstance(cid_v, int) else None,
        vendor=vendor,
        product=product,
        num_cmds=files.uint(d, NUM_CMDS),
        read_mbytes=files.uint(d, READ_MBYTES),
        write_mbytes=files.uint(d, WRITE_MBYTES),
        resets=files.uint(d, RESETS),
        aborts_complete=files.uint(d, ABORTS_COMPLETE),
        aborts_no_task=files.uint(d, ABORTS_NO_TASK),
        exported=status_v if isinstance(status_v, bool) else None,
        luns=files.uint(d, PORTS),
        alua_groups=alua_groups(files, d),
        volatile_cache=volatile_cache(files, plugin, info, sysfs),
        user=user_device(files, d) if plugin == "user" else None,
    )


def _size(files: Files, plugin: str, info: p.BackstoreInfo | None, sysfs: str | None) -> int | None:
    """Bytes: fileio/user/ramdisk from `info`; iblock from the block device's sysfs size.

    iblock's `info` names the bdev (%pg) but not its size; <sysfs>/class/block/<bdev>/size
    counts 512-byte sectors whatever the logical block size (block/genhd.c).
    """
    if info is None:
        return None
    if info.size_bytes is not None:
        return info.size_bytes
    if plugin == "iblock" and info.block_device and sysfs:
        path = os.path.join(sysfs, "class", "block", info.block_device, "size")
        data = files.read(path)
        if isinstance(data, OSError):
            return None  # not ours to fail on: the bdev may live in another namespace
        try:
            return p.parse_uint(data) * 512
        except ValueError as exc:
            files.problem("block device size", path, str(exc))
    return None
