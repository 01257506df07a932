"""Truth: the lio collector on real Linux 6.1 configfs dumps (before and after known dd I/O).

Expected values are read from the dump text itself (or, where noted, from targetcli's own
listing of the same configuration), never from the code under test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_lio_dumptree import (
    DUMP_AFTER,
    DUMP_BEFORE,
    STATS_DIFF,
    Scrape,
    dump_values,
    load_dump,
    run_lio,
)

MIB = 2**20
TYPES = {"fileio": "fileio", "iblock": "block", "rd_mcp": "ramdisk"}

LUN_STAT = re.compile(
    r"target/(?P<fabric>[^/]+)/(?P<wwn>[^/]+)/tpgt_(?P<tpgt>\d+)/lun/lun_(?P<lun>\d+)/"
    r"statistics/(?P<group>scsi_tgt_port|scsi_port)/(?P<file>\w+)$"
)
LUN_METRIC = {
    "in_cmds": ("fctarget_lio_lun_commands_total", 1),
    "read_mbytes": ("fctarget_lio_lun_read_bytes_total", MIB),
    "write_mbytes": ("fctarget_lio_lun_write_bytes_total", MIB),
    "hs_in_cmds": ("fctarget_lio_lun_hs_commands_total", 1),
    "busy_count": ("fctarget_lio_lun_busy_statuses_total", 1),
}
BS_STAT = re.compile(
    r"target/core/(?P<hba>(?P<plugin>[a-z_]+)_\d+)/(?P<dev>[^/]+)/statistics/"
    r"(?P<group>scsi_lu|scsi_tgt_dev|scsi_dev)/(?P<file>\w+)$"
)
BS_METRIC = {
    ("scsi_lu", "num_cmds"): ("fctarget_lio_backstore_commands_total", 1),
    ("scsi_lu", "read_mbytes"): ("fctarget_lio_backstore_read_bytes_total", MIB),
    ("scsi_lu", "write_mbytes"): ("fctarget_lio_backstore_write_bytes_total", MIB),
    ("scsi_tgt_dev", "resets"): ("fctarget_lio_backstore_resets_total", 1),
    ("scsi_tgt_dev", "aborts_complete"): ("fctarget_lio_backstore_aborts_completed_total", 1),
    ("scsi_tgt_dev", "aborts_no_task"): ("fctarget_lio_backstore_aborts_no_task_total", 1),
    ("scsi_dev", "ports"): ("fctarget_lio_backstore_luns", 1),
}
ACL_STAT = re.compile(
    r"target/(?P<fabric>[^/]+)/(?P<wwn>[^/]+)/tpgt_(?P<tpgt>\d+)/acls/(?P<init>[^/]+)/"
    r"lun_(?P<m>\d+)/statistics/scsi_auth_intr/(?P<file>num_cmds|read_mbytes|write_mbytes)$"
)
ACL_METRIC = {
    "num_cmds": ("fctarget_lio_acl_commands_total", 1),
    "read_mbytes": ("fctarget_lio_acl_read_bytes_total", MIB),
    "write_mbytes": ("fctarget_lio_acl_write_bytes_total", MIB),
}
# with --collector.lio.initiator-luns: per mapped LUN instead of summed
ACL_LUN_METRIC = {
    "num_cmds": ("fctarget_lio_acl_mapped_lun_commands_total", 1),
    "read_mbytes": ("fctarget_lio_acl_mapped_lun_read_bytes_total", MIB),
    "write_mbytes": ("fctarget_lio_acl_mapped_lun_write_bytes_total", MIB),
}
DUMPS = pytest.mark.parametrize("dump", [DUMP_BEFORE, DUMP_AFTER], ids=["before", "after"])


def sysfs_for_ram0(tmp_path: Path) -> Path:
    """The iblock backstore sits on /dev/ram0, 32 MiB (targetcli: `/dev/ram0 (32.0MiB)`).

    Its size lives in sysfs, which the configfs dump does not hold: 65536 512-byte sectors.
    """
    sysfs = tmp_path / "sys"
    (sysfs / "class/block/ram0").mkdir(parents=True)
    (sysfs / "class/block/ram0/size").write_bytes(b"65536\n")
    return sysfs


def scrape_dump(tmp_path: Path, dump: Path, *flags: str) -> Scrape:
    root = tmp_path / dump.stem
    load_dump(dump, root)
    return run_lio(root, *flags, sysfs=sysfs_for_ram0(tmp_path / (dump.stem + "-sys")))


@DUMPS
def test_no_errors_and_up(tmp_path: Path, dump: Path) -> None:
    s = scrape_dump(tmp_path, dump)
    assert s.errors == []
    assert s.value("fctarget_lio_up") == 1.0


@DUMPS
def test_every_lun_port_counter_equals_the_dump(tmp_path: Path, dump: Path) -> None:
    s = scrape_dump(tmp_path, dump, "--collector.lio.always-zero-stats")
    checked = 0
    for path, raw in dump_values(dump).items():
        m = LUN_STAT.fullmatch(path)
        if m is None or m["file"] not in LUN_METRIC:
            continue
        name, scale = LUN_METRIC[m["file"]]
        labels = {k: m[k] for k in ("fabric", "tpgt", "lun")}
        assert s.value(name, target=m["wwn"], **labels) == int(raw) * scale, path
        checked += 1
    assert checked == 3 * 5  # three LUNs (loopback lun_0/1, iscsi lun_0), five files each
    assert len(s.series("fctarget_lio_lun_commands_total")) == 3


def test_always_zero_stats_are_skipped_by_default(tmp_path: Path) -> None:
    s = scrape_dump(tmp_path, DUMP_AFTER)
    assert "fctarget_lio_lun_hs_commands_total" not in s.samples
    assert "fctarget_lio_lun_busy_statuses_total" not in s.samples
    assert len(s.series("fctarget_lio_lun_commands_total")) == 3


@DUMPS
def test_every_backstore_counter_equals_the_dump(tmp_path: Path, dump: Path) -> None:
    s = scrape_dump(tmp_path, dump)
    checked = 0
    for path, raw in dump_values(dump).items():
        m = BS_STAT.fullmatch(path)
        if m is None or (m["group"], m["file"]) not in BS_METRIC:
            continue
        name, scale = BS_METRIC[(m["group"], m["file"])]
        got = s.value(name, backstore_type=TYPES[m["plugin"]], backstore=m["dev"])
        assert got == int(raw) * scale, path
        checked += 1
    assert checked == 3 * len(BS_METRIC)


@DUMPS
@pytest.mark.parametrize("per_lun", [True, False])
def test_initiator_counters_equal_the_dump(tmp_path: Path, dump: Path, per_lun: bool) -> None:
    flags = ("--collector.lio.initiator-luns",) if per_lun else ()
    s = scrape_dump(tmp_path, dump, *flags)
    sums: dict[tuple[str, str], int] = {}
    for path, raw in dump_values(dump).items():
        m = ACL_STAT.fullmatch(path)
        if m is None:
            continue
        name, scale = ACL_METRIC[m["file"]]
        labels = {"fabric": m["fabric"], "target": m["wwn"], "tpgt": m["tpgt"]}
        labels["initiator"] = m["init"]
        if per_lun:
            per_name = ACL_LUN_METRIC[m["file"]][0]
            assert s.value(per_name, mapped_lun=m["m"], **labels) == int(raw) * scale
            assert name not in s.samples  # per mapped LUN instead of summed, not both
        sums[(name, m["init"])] = sums.get((name, m["init"]), 0) + int(raw) * scale
    assert len(sums) == 3
    if not per_lun:
        for (name, init), total in sums.items():
            wwn = "iqn.2003-01.org.linux-iscsi.kvmlab:tgt0"
            got = s.value(name, fabric="iscsi", target=wwn, tpgt="1", initiator=init)
            assert got == total
            assert ACL_LUN_METRIC["num_cmds"][0] not in s.samples


def test_lun_to_backstore_mapping_follows_the_symlinks(tmp_path: Path) -> None:
    s = scrape_dump(tmp_path, DUMP_AFTER)
    want = set()
    for path, raw in dump_values(DUMP_AFTER).items():
        m = re.fullmatch(r"target/([^/]+)/([^/]+)/tpgt_(\d+)/lun/lun_(\d+)/[^/]+", path)
        if m is None or not raw.startswith("-> "):
            continue
        hba, dev = raw.split("/")[-2:]
        plugin = hba.rsplit("_", 1)[0]
        want.add(
            (
                ("backstore", dev),
                ("backstore_type", TYPES[plugin]),
                ("fabric", m[1]),
                ("lun", m[4]),
                ("target", m[2]),
                ("tpgt", m[3]),
            )
        )
    assert set(s.series("fctarget_lio_lun_info")) == want
    assert len(want) == 3  # targetcli: loopback lun0 fileio/disk0, lun1 ramdisk/rd0; iscsi blk0


def test_tpgs_sessions_and_acls(tmp_path: Path) -> None:
    s = scrape_dump(tmp_path, DUMP_AFTER)
    iscsi = {"fabric": "iscsi", "target": "iqn.2003-01.org.linux-iscsi.kvmlab:tgt0", "tpgt": "1"}
    loop = {"fabric": "loopback", "target": "naa.50014050000000a1", "tpgt": "1"}
    assert s.value("fctarget_lio_tpg_enabled", **iscsi) == 1.0  # tpgt_1/enable "1"
    assert s.get("fctarget_lio_tpg_enabled", **loop) is None  # tcm_loop has no enable attribute
    assert s.value("fctarget_lio_tpg_luns", **iscsi) == 1.0
    assert s.value("fctarget_lio_tpg_luns", **loop) == 2.0
    assert s.value("fctarget_lio_tpg_acls", **iscsi) == 1.0
    assert s.value("fctarget_lio_tpg_acls", **loop) == 0.0
    # the open-iscsi login was live during the dump; the ACL info file says so
    init = "iqn.1994-05.com.example:kvmlab-init"
    assert s.value("fctarget_lio_acl_session_active", initiator=init, **iscsi) == 1.0
    assert s.value("fctarget_lio_acl_info", initiator=init, **iscsi) == 1.0
    assert s.value("fctarget_lio_acl_mapped_luns", initiator=init, **iscsi) == 1.0
    assert s.value("fctarget_lio_tpg_sessions", **iscsi) == 1.0
    # tcm_loop's I_T nexus (tpgt_1/nexus) is its one demo-mode session
    assert s.value("fctarget_lio_tpg_sessions", **loop) == 1.0
    assert (
        s.value("fctarget_lio_dynamic_session_info", initiator="naa.5001405bfc0f809d", **loop) == 1
    )
    # iscsi's tpgt_1/dynamic_sessions is empty: the loopback nexus is the only dynamic session
    assert len(s.series("fctarget_lio_dynamic_session_info")) == 1


def test_backstore_facts(tmp_path: Path) -> None:
    s = scrape_dump(tmp_path, DUMP_AFTER)
    values = dump_values(DUMP_AFTER)
    # sizes as targetcli created them: fileio 64M, ramdisk 32M, block /dev/ram0 (32.0MiB)
    sizes = {("fileio", "disk0"): 64 * MIB, ("ramdisk", "rd0"): 32 * MIB}
    sizes[("block", "blk0")] = 32 * MIB
    for (t, b), size in sizes.items():
        assert s.value("fctarget_lio_backstore_size_bytes", backstore_type=t, backstore=b) == size
        assert (
            s.value("fctarget_lio_backstore_block_size_bytes", backstore_type=t, backstore=b) == 512
        )
        assert s.value("fctarget_lio_backstore_enabled", backstore_type=t, backstore=b) == 1.0
        assert s.value("fctarget_lio_backstore_exported", backstore_type=t, backstore=b) == 1.0
    # targetcli: disk0 "write-back", blk0 "write-thru"; attrib/emulate_write_cache agrees
    wce = "fctarget_lio_backstore_write_cache_enabled"
    assert s.value(wce, backstore_type="fileio", backstore="disk0") == 1.0
    assert s.value(wce, backstore_type="block", backstore="blk0") == 0.0
    info = s.series("fctarget_lio_backstore_info")
    assert len(info) == 3
    by_name = {dict(k)["backstore"]: dict(k) for k in info}
    for hba, dev in (("fileio_0", "disk0"), ("iblock_2", "blk0"), ("rd_mcp_1", "rd0")):
        serial = values[f"target/core/{hba}/{dev}/wwn/vpd_unit_serial"].split(": ")[1]
        labels = by_name[dev]
        assert labels["core_hba"] == hba
        assert labels["serial"] == serial
        assert labels["vendor"] == "LIO-ORG"
        assert labels["product"] == dev
    # VPD 0x83 NAA designator: 6 | OUI 001405 | first 25 hex digits of the unit serial
    assert by_name["disk0"]["naa"] == "naa.6001405294326df4c714100b552bcd57"
    assert by_name["blk0"]["naa"] == "naa.6001405e5c45c33302d4ce08115290b3"
    assert by_name["rd0"]["naa"] == "naa.6001405ba26efc289e14b0989f02446a"


def test_before_after_differences_match_stats_diff(tmp_path: Path) -> None:
    """stats-diff.txt: what changed after the dd runs; every change we export must show."""
    before = scrape_dump(tmp_path, DUMP_BEFORE, "--collector.lio.initiator-luns")
    after = scrape_dump(tmp_path, DUMP_AFTER, "--collector.lio.initiator-luns")
    exported = 0
    unexported = []
    for line in STATS_DIFF.read_text().splitlines():
        if line.startswith("#"):
            continue
        path, old, new = line.split("\t")
        rel = path.removeprefix("/sys/kernel/config/")
        delta = int(new) - int(old)
        if m := LUN_STAT.fullmatch(rel):
            name, scale = LUN_METRIC[m["file"]]
            labels = {"fabric": m["fabric"], "target": m["wwn"], "tpgt": m["tpgt"], "lun": m["lun"]}
        elif m := BS_STAT.fullmatch(rel):
            name, scale = BS_METRIC[(m["group"], m["file"])]
            labels = {"backstore_type": TYPES[m["plugin"]], "backstore": m["dev"]}
        elif m := ACL_STAT.fullmatch(rel):
            name, scale = ACL_LUN_METRIC[m["file"]]
            labels = {"fabric": m["fabric"], "target": m["wwn"], "tpgt": m["tpgt"]}
            labels |= {"initiator": m["init"], "mapped_lun": m["m"]}
        else:
            unexported.append(rel)
            continue
        assert after.value(name, **labels) - before.value(name, **labels) == delta * scale, rel
        exported += 1
    assert exported == 21
    # only the iSCSI fabric's own session statistics are not ours (fabric_statistics)
    assert unexported and all("/fabric_statistics/" in u for u in unexported)
    # the headline numbers of the capture, spelled out
    disk0 = {"backstore_type": "fileio", "backstore": "disk0"}
    assert before.value("fctarget_lio_backstore_commands_total", **disk0) == 38
    assert after.value("fctarget_lio_backstore_commands_total", **disk0) == 63
    assert after.value("fctarget_lio_backstore_read_bytes_total", **disk0) == 16 * MIB
    assert after.value("fctarget_lio_backstore_write_bytes_total", **disk0) == 8 * MIB


def test_help_says_the_kernel_counts_whole_mib(tmp_path: Path) -> None:
    s = scrape_dump(tmp_path, DUMP_AFTER)
    for name in (
        "fctarget_lio_lun_read_bytes",
        "fctarget_lio_lun_write_bytes",
        "fctarget_lio_backstore_read_bytes",
        "fctarget_lio_acl_write_bytes",
    ):
        assert "whole MiB" in s.helps[name]
