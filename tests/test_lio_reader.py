"""The configfs reader (exporter/readers/configfs.py) on real trees: the whole snapshot, exactly.

The tree is the real Linux 6.1 dump (tests/fixtures/lio/real-kernel-6.1) materialised under
tmp_path; every expected value below is copied from the dump text, not from the code under test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exporter.parsers.lio import BackstoreInfo
from exporter.parsers.lio_alua import LunAlua
from exporter.readers.configfs import read_configfs
from exporter.readers.configfs_model import (
    Acl,
    AluaGroup,
    Backstore,
    ConfigfsSnapshot,
    LunPort,
    MappedLun,
    ReadOptions,
    Target,
    Tpg,
)
from exporter.readers.problems import Problems, ReadError
from tests.test_lio_dumptree import DUMP_AFTER, load_dump

ISCSI = "iqn.2003-01.org.linux-iscsi.kvmlab:tgt0"
LOOP = "naa.50014050000000a1"
INIT = "iqn.1994-05.com.example:kvmlab-init"


def _backstore(
    hba: str, name: str, info: BackstoreInfo, size: int | None, **kw: object
) -> Backstore:
    fields: dict[str, object] = {
        "hba": hba,
        "plugin": hba.rpartition("_")[0],
        "name": name,
        "info": info,
        "size_bytes": size,
        "enabled": True,
        "block_size": 512,
        "write_cache": False,
        "company_id": 0x001405,
        "vendor": "LIO-ORG",
        "product": name,
        "resets": 0,
        "aborts_complete": 0,
        "aborts_no_task": 0,
        "exported": True,
        "luns": 1,
        # every device has alua/default_tg_pt_gp: state 0, status None, id 0, one member
        "alua_groups": (AluaGroup("default_tg_pt_gp", 0, "active_optimized", "none", False, 1),),
    }
    fields.update(kw)
    return Backstore(**fields)  # type: ignore[arg-type]


BLK0 = _backstore(
    "iblock_2",
    "blk0",
    BackstoreInfo(True, 512, 248, None, "ram0", None, read_only=False),
    32 << 20,  # <sysfs>/class/block/ram0/size: 65536 sectors
    volatile_cache=False,  # <sysfs>/class/block/ram0/queue/write_cache: write through
    serial="e5c45c33-302d-4ce0-8115-290b3d10bb27",
    num_cmds=254,
    read_mbytes=16,
    write_mbytes=8,
)
DISK0 = _backstore(
    "fileio_0",
    "disk0",
    BackstoreInfo(True, 512, 16384, 67108864, None, "/tmp/disk0.img", buffered=True),
    67108864,
    write_cache=True,
    volatile_cache=True,  # Mode: Buffered-WCE
    serial="294326df-4c71-4100-b552-bcd575cccbb2",
    num_cmds=63,
    read_mbytes=16,
    write_mbytes=8,
)
RD0 = _backstore(
    "rd_mcp_1",
    "rd0",
    BackstoreInfo(True, 512, 4294967288, 8192 * 4096, None, None),
    8192 * 4096,
    serial="ba26efc2-89e1-4b09-89f0-2446ad8e0e38",
    num_cmds=45,
    read_mbytes=4,
    write_mbytes=4,
)
# lun_N/alua_tg_pt_gp: "TG Port Alias: default_tg_pt_gp\nTG Port Group ID: 0\n
# TG Port Primary Access State: Active/Optimized ... Secondary Access State: None ..."
DEFAULT_GP = LunAlua("default_tg_pt_gp", 0, "active_optimized", False, "none")
EXPECTED = ConfigfsSnapshot(
    present=True,
    targets=(
        Target(
            "iscsi",
            ISCSI,
            ISCSI,
            (
                Tpg(
                    1,
                    True,
                    (LunPort(0, "iblock_2", "blk0", 253, 16, 8, alua=DEFAULT_GP),),
                    (Acl(INIT, True, (MappedLun(0, 254, 16, 8),)),),
                    (),
                ),
            ),
        ),
        Target(
            "loopback",
            LOOP,
            LOOP,
            (
                Tpg(
                    1,
                    None,
                    (
                        LunPort(0, "fileio_0", "disk0", 62, 16, 8, alua=DEFAULT_GP),
                        LunPort(1, "rd_mcp_1", "rd0", 44, 4, 4, alua=DEFAULT_GP),
                    ),
                    (),
                    ("naa.5001405bfc0f809d",),
                ),
            ),
        ),
    ),
    backstores=(DISK0, BLK0, RD0),
)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[str, str]:
    """(<configfs>/target, <sysfs>) of the real 6.1 dump, with /dev/ram0's size in sysfs."""
    load_dump(DUMP_AFTER, tmp_path / "cfs")
    ram0 = tmp_path / "sys/class/block/ram0"
    ram0.mkdir(parents=True)
    (ram0 / "size").write_bytes(b"65536\n")
    (ram0 / "queue").mkdir()
    (ram0 / "queue/write_cache").write_bytes(b"write through\n")
    return str(tmp_path / "cfs/target"), str(tmp_path / "sys")


def test_real_dump_reads_to_the_exact_snapshot(tree: tuple[str, str]) -> None:
    target, sysfs = tree
    problems = Problems("lio")
    snap = read_configfs(target, problems, ReadOptions(sysfs=sysfs))
    assert problems.items == []
    assert snap == EXPECTED
    assert DISK0.naa == "naa.6001405294326df4c714100b552bcd57"


def test_zero_stats_and_no_initiator_stats(tree: tuple[str, str]) -> None:
    target, _ = tree
    problems = Problems("lio")
    snap = read_configfs(target, problems, ReadOptions(zero_stats=True, initiator_stats=False))
    assert problems.items == []
    iscsi = snap.targets[0].tpgs[0]
    # scsi_tgt_port/hs_in_cmds and scsi_port/busy_count: the dump's constant 0
    assert iscsi.luns == (LunPort(0, "iblock_2", "blk0", 253, 16, 8, 0, 0, DEFAULT_GP),)
    # the mapped LUN is still counted, its statistics are not read
    assert iscsi.acls == (Acl(INIT, True, (MappedLun(0, None, None, None),)),)
    # no sysfs: the iblock size is unknown, nothing else changes
    assert snap.backstores[1].size_bytes is None


def test_filters_skip_objects_before_reading_them(tree: tuple[str, str]) -> None:
    target, _ = tree
    opts = ReadOptions(
        target_ok=lambda name: name == LOOP,
        initiator_ok=lambda name: False,
        backstore_ok=lambda name: name.startswith("rd"),
    )
    snap = read_configfs(target, Problems("lio"), opts)
    assert [t.target for t in snap.targets] == [LOOP]
    assert [b.name for b in snap.backstores] == ["rd0"]
    opts = ReadOptions(initiator_ok=lambda name: False)
    snap = read_configfs(target, Problems("lio"), opts)
    assert snap.targets[0].tpgs[0].acls == ()


def test_failures_of_one_kind_are_one_problem(tree: tuple[str, str]) -> None:
    target, sysfs = tree
    for lun in (
        "loopback/naa.50014050000000a1/tpgt_1/lun/lun_0",
        "iscsi/" + ISCSI + "/tpgt_1/lun/lun_0",
    ):
        path = Path(target, lun, "statistics/scsi_tgt_port/in_cmds")
        path.write_bytes(b"garbage\n")
    problems = Problems("lio")
    snap = read_configfs(target, problems, ReadOptions(sysfs=sysfs))
    assert [p.key for p in problems.items] == ["lio:scsi_tgt_port/in_cmds:EINVAL"]
    assert problems.items[0].message.startswith("cannot use scsi_tgt_port/in_cmds: not an unsigned")
    assert problems.items[0].message.endswith(" and 1 more")
    assert snap.targets[0].tpgs[0].luns[0].in_cmds is None
    assert snap.targets[0].tpgs[0].luns[0].read_mbytes == 16


def test_missing_target_dir_is_not_present_without_problem(tmp_path: Path) -> None:
    problems = Problems("lio")
    assert read_configfs(str(tmp_path / "target"), problems) == ConfigfsSnapshot(present=False)
    assert not problems


def test_unreadable_target_dir_is_a_read_error(tmp_path: Path) -> None:
    os.symlink("target", tmp_path / "target")  # ELOOP, for root too
    with pytest.raises(ReadError) as exc:
        read_configfs(str(tmp_path / "target"), Problems("lio"))
    assert exc.value.key == "lio:target dir:ELOOP"
    assert exc.value.message.startswith("cannot use target dir: ")
    assert exc.value.message.endswith(f"({tmp_path / 'target'})")
