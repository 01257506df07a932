"""ALUA groups and backstore risks: parsers from the kernel's format strings, the reader on the
real 6.1 dump and on trees changed the way the kernel changes them, emit, and the simulator.

Formats (6.1, unchanged in 6.6/6.12): target_core_configfs.c target_tg_pt_gp_*_show(),
target_core_alua.c core_alua_show_tg_pt_gp_info()/core_alua_dump_state()/_status(),
target_core_user.c tcmu_block_dev_show()/tcmu_*_show(), blk-sysfs.c queue_wc_show().
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from exporter.catalogue import lio_alua as ma
from exporter.collector import Output
from exporter.collectors.lio import emit
from exporter.logsetup import RateLimitedLog
from exporter.parsers import lio_alua as a
from exporter.parsers.lio import parse_backstore_info
from exporter.readers.configfs import read_configfs
from exporter.readers.configfs_model import (
    AluaGroup,
    Backstore,
    ConfigfsSnapshot,
    LunPort,
    ReadOptions,
    Target,
    Tpg,
    UserDevice,
)
from exporter.readers.problems import Problems
from exporter.simulate import SimParams, SimulatedHost
from tests.test_lio_dumptree import DUMP_AFTER, load_dump, run_lio

MIB = 2**20

# -- parsers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("0\n", "active_optimized"),
        ("1\n", "active_nonoptimized"),
        ("2\n", "standby"),
        ("3\n", "unavailable"),
        ("4\n", "lba_dependent"),
        ("14\n", "offline"),  # ALUA_ACCESS_STATE_OFFLINE 0xe, printed "%d"
        ("15\n", "transitioning"),
    ],
)
def test_alua_state_numbers(text: str, state: str) -> None:
    assert a.parse_alua_state(text.encode()) == state


@pytest.mark.parametrize("bad", [b"", b"5\n", b"0xe\n", b"-1\n", b"Standby\n", b"9" * 5000])
def test_alua_state_garbage(bad: bytes) -> None:
    with pytest.raises(ValueError):
        a.parse_alua_state(bad)


def test_alua_status_text_and_numbers() -> None:
    # alua_access_status: "%s\n" of core_alua_dump_status(); alua_tg_pt_status: "%d\n"
    assert a.parse_alua_status(b"None\n") == "none"
    assert a.parse_alua_status(b"Altered by Explicit STPG\n") == "explicit_stpg"
    assert a.parse_alua_status(b"Altered by Implicit ALUA\n") == "implicit_alua"
    assert a.parse_alua_status(b"Altered by Explict STPG\n") == "explicit_stpg"  # < 3.12
    assert a.parse_alua_status(b"2\n") == "implicit_alua"
    for bad in (b"Unknown\n", b"3\n", b""):
        with pytest.raises(ValueError):
            a.parse_alua_status(bad)


def test_tg_pt_gp_id() -> None:
    assert a.parse_tg_pt_gp_id(b"0\n") == 0
    assert a.parse_tg_pt_gp_id(b"65535\n") == 65535
    assert a.parse_tg_pt_gp_id(b"") is None  # no valid id: the show returns 0 bytes
    for bad in (b"65536\n", b"-1\n", b"x\n"):
        with pytest.raises(ValueError):
            a.parse_tg_pt_gp_id(bad)


def test_members_newline_and_nul_per_entry() -> None:
    data = (
        b"qla2xxx/21:00:00:24:ff:31:4c:48/tpgt_1/lun_0\n\x00"
        b"iSCSI/iqn.2003-01.x:t/tpgt_1/lun_3\n\x00"
    )
    assert a.parse_members(data) == (
        "qla2xxx/21:00:00:24:ff:31:4c:48/tpgt_1/lun_0",
        "iSCSI/iqn.2003-01.x:t/tpgt_1/lun_3",
    )
    assert a.parse_members(b"") == ()
    with pytest.raises(ValueError):
        a.parse_members(b"garbage\n\x00")


LUN_GP = (
    "TG Port Alias: {alias}\nTG Port Group ID: {gid}\nTG Port Primary Access State: {state}\n"
    "TG Port Primary Access Status: None\nTG Port Secondary Access State: {sec}\n"
    "TG Port Secondary Access Status: {sec_status}\n"
)


def test_lun_alua_from_the_kernel_format() -> None:
    text = LUN_GP.format(
        alias="ha_b", gid=7, state="Standby", sec="Offline", sec_status="Altered by Implicit ALUA"
    )
    assert a.parse_lun_alua(text.encode()) == a.LunAlua("ha_b", 7, "standby", True, "implicit_alua")
    text = LUN_GP.format(
        alias="default_tg_pt_gp", gid=0, state="LBA Dependent", sec="None", sec_status="None"
    )
    assert a.parse_lun_alua(text) == a.LunAlua(
        "default_tg_pt_gp", 0, "lba_dependent", False, "none"
    )
    assert a.parse_lun_alua(b"") is None  # LUN in no group (pscsi passthrough ALUA)
    for bad in (
        LUN_GP.format(alias="g", gid=0, state="Unknown", sec="None", sec_status="None"),
        LUN_GP.format(alias="g", gid=0, state="Standby", sec="Maybe", sec_status="None"),
        "TG Port Alias: g\n",
    ):
        with pytest.raises(ValueError):
            a.parse_lun_alua(bad)


def test_tcmu_and_queue_values() -> None:
    assert a.parse_block_dev(b"blocked\n") is True
    assert a.parse_block_dev(b"unblocked\n") is False
    assert a.parse_int(b"-1\n") == -1
    # add_to_qfull_queue(): 0 fails at once, > 0 as set, -1 cmd_time_out or TCMU_TIME_OUT
    assert a.qfull_seconds(0, 30) == 0
    assert a.qfull_seconds(5, 30) == 5
    assert a.qfull_seconds(-1, 45) == 45
    assert a.qfull_seconds(-1, 0) == 30
    assert a.qfull_seconds(-1, None) is None
    assert a.parse_queue_write_cache(b"write back\n") is True
    assert a.parse_queue_write_cache(b"write through\n") is False
    for fn, bad in ((a.parse_block_dev, b"1\n"), (a.parse_int, b"--1\n"), (a.parse_int, b"")):
        with pytest.raises(ValueError):
            fn(bad)


def test_backstore_info_mode_and_readonly() -> None:
    head = "Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 16384\n        "
    fileio = head + "TCM FILEIO ID: 0        File: /a  Size: 10  Mode: O_DSYNC Async: 1\n"
    assert parse_backstore_info(fileio).buffered is False
    iblock = head + "iBlock device: sdb  UDEV PATH: /dev/sdb  readonly: 1\n        Major: 8 Minor"
    info = parse_backstore_info(iblock + ": 16  CLAIMED: IBLOCK\n")
    assert (info.read_only, info.buffered) == (True, None)


# -- reader on real trees --------------------------------------------------------------------


@pytest.fixture
def real(tmp_path: Path) -> Path:
    load_dump(DUMP_AFTER, tmp_path)
    return tmp_path / "target"


def _read(target: Path, sysfs: str | None = None) -> tuple[ConfigfsSnapshot, Problems]:
    problems = Problems("lio")
    return read_configfs(str(target), problems, ReadOptions(sysfs=sysfs)), problems


def test_a_standby_group_made_the_way_targetcli_makes_it(real: Path) -> None:
    """mkdir alua/ha_b; echo 5 > tg_pt_gp_id; echo 2 > alua_access_state; the LUN moved."""
    dev = real / "core/fileio_0/disk0/alua"
    shutil.copytree(dev / "default_tg_pt_gp", dev / "ha_b")
    members = b"loopback/naa.50014050000000a1/tpgt_1/lun_0\n\x00"
    (dev / "ha_b/members").write_bytes(members)
    (dev / "default_tg_pt_gp/members").write_bytes(b"")
    (dev / "ha_b/tg_pt_gp_id").write_bytes(b"5\n")
    (dev / "ha_b/alua_access_state").write_bytes(b"2\n")
    (dev / "ha_b/alua_access_status").write_bytes(b"Altered by Implicit ALUA\n")
    (dev / "ha_b/preferred").write_bytes(b"1\n")
    lun = real / "loopback/naa.50014050000000a1/tpgt_1/lun/lun_0"
    text = LUN_GP.format(
        alias="ha_b", gid=5, state="Standby", sec="Offline", sec_status="Altered by Implicit ALUA"
    )
    (lun / "alua_tg_pt_gp").write_text(text)
    # a group just made: no id yet, the show prints nothing
    shutil.copytree(dev / "default_tg_pt_gp", dev / "fresh")
    (dev / "fresh/tg_pt_gp_id").write_bytes(b"")
    (dev / "fresh/members").write_bytes(b"")
    snap, problems = _read(real)
    assert problems.items == []
    disk0 = next(b for b in snap.backstores if b.name == "disk0")
    assert disk0.alua_groups == (
        AluaGroup("default_tg_pt_gp", 0, "active_optimized", "none", False, 0),
        AluaGroup("fresh", None, "active_optimized", "none", False, 0),
        AluaGroup("ha_b", 5, "standby", "implicit_alua", True, 1),
    )
    loop = next(t for t in snap.targets if t.fabric == "loopback").tpgs[0]
    assert loop.luns[0].alua == a.LunAlua("ha_b", 5, "standby", True, "implicit_alua")
    s = run_lio(real.parent)
    gl = {"backstore_type": "fileio", "backstore": "disk0", "tg_pt_gp": "ha_b"}
    assert s.value("fctarget_lio_alua_tg_pt_gp_state", state="standby", **gl) == 1.0
    assert s.value("fctarget_lio_alua_tg_pt_gp_members", **gl) == 1.0
    assert s.value("fctarget_lio_alua_tg_pt_gp_info", tg_pt_gp_id="5", **gl) == 1.0
    fresh = {**gl, "tg_pt_gp": "fresh"}
    assert s.value("fctarget_lio_alua_tg_pt_gp_info", tg_pt_gp_id="", **fresh) == 1.0
    ll = {"fabric": "loopback", "target": "naa.50014050000000a1", "tpgt": "1", "lun": "0"}
    assert s.value("fctarget_lio_lun_alua_tg_pt_gp_info", **ll, **gl) == 1.0
    assert s.value("fctarget_lio_lun_alua_offline", **ll) == 1.0


def test_unreadable_and_garbled_alua_files_are_problems(real: Path) -> None:
    gp = real / "core/iblock_2/blk0/alua/default_tg_pt_gp"
    (gp / "alua_access_state").unlink()
    (gp / "alua_access_state").mkdir()  # EISDIR even for root
    (gp / "preferred").write_bytes(b"maybe\n")
    lun = real / "iscsi/iqn.2003-01.org.linux-iscsi.kvmlab:tgt0/tpgt_1/lun/lun_0"
    (lun / "alua_tg_pt_gp").write_bytes(b"TG Port Alias: x\n")
    snap, problems = _read(real)
    keys = sorted(p.key for p in problems.items)
    assert keys == [
        "lio:lun alua_tg_pt_gp:EINVAL",
        "lio:tg_pt_gp/alua_access_state:EISDIR",
        "lio:tg_pt_gp/preferred:EINVAL",
    ]
    blk0 = next(b for b in snap.backstores if b.name == "blk0")
    assert blk0.alua_groups == (AluaGroup("default_tg_pt_gp", 0, None, "none", None, 1),)
    assert snap.targets[0].tpgs[0].luns[0].alua is None
    assert len(snap.backstores) == 3  # everything else still read


def test_no_alua_dir_and_a_lun_without_group(real: Path) -> None:
    """pscsi-like: no alua groups, the LUN's alua_tg_pt_gp empty; no problem, no series."""
    shutil.rmtree(real / "core/rd_mcp_1/rd0/alua")
    lun = real / "loopback/naa.50014050000000a1/tpgt_1/lun/lun_1"
    (lun / "alua_tg_pt_gp").write_bytes(b"")
    snap, problems = _read(real)
    assert problems.items == []
    rd0 = next(b for b in snap.backstores if b.name == "rd0")
    assert rd0.alua_groups == ()
    s = run_lio(real.parent)
    ll = {"fabric": "loopback", "target": "naa.50014050000000a1", "tpgt": "1", "lun": "1"}
    assert s.get("fctarget_lio_lun_alua_offline", **ll) is None


def test_iblock_write_cache_from_the_partition_parent_queue(real: Path, tmp_path: Path) -> None:
    """iblock on a partition: <sysfs>/class/block/<part> has no queue/; its disk's has."""
    info = real / "core/iblock_2/blk0/info"
    info.write_text(info.read_text().replace("ram0", "sdb1").replace("readonly: 0", "readonly: 1"))
    disk = tmp_path / "sys/devices/pci0000:00/host0/block/sdb"
    (disk / "sdb1").mkdir(parents=True)
    (disk / "queue").mkdir()
    (disk / "queue/write_cache").write_bytes(b"write back\n")
    (tmp_path / "sys/class/block").mkdir(parents=True)
    os.symlink(disk / "sdb1", tmp_path / "sys/class/block/sdb1")
    snap, problems = _read(real, str(tmp_path / "sys"))
    assert problems.items == []
    blk0 = next(b for b in snap.backstores if b.name == "blk0")
    assert (blk0.volatile_cache, blk0.read_only) == (True, True)


# -- emit ------------------------------------------------------------------------------------


def _bs(hba: str, name: str, **kw: object) -> Backstore:
    fields: dict[str, object] = dict.fromkeys(Backstore.__slots__)
    fields.update(alua_groups=(), hba=hba, plugin=hba.rpartition("_")[0], name=name)
    fields.update(kw)
    return Backstore(**fields)  # type: ignore[arg-type]


def test_emit_groups_luns_and_risks() -> None:
    lun = a.LunAlua("ha_b", 5, "standby", False, "explicit_stpg")
    snap = ConfigfsSnapshot(
        True,
        (
            Target(
                "qla2xxx",
                "21:00:00:24:ff:31:4c:48",
                "21:00:00:24:ff:31:4c:48",
                (Tpg(1, True, (LunPort(3, "user_4", "tcmu0", 1, 1, 1, alua=lun),), (), ()),),
            ),
        ),
        (
            _bs(
                "user_4",
                "tcmu0",
                alua_groups=(AluaGroup("ha_b", 5, "standby", "explicit_stpg", True, 1),),
                user=UserDevice(True, 30, 30, 8),
            ),
            _bs("iblock_0", "blk0", volatile_cache=False),
        ),
    )
    out = Output("lio", RateLimitedLog(logging.getLogger("test.lio.alua")))
    emit(snap, out)
    r = {name: dict(fam.rows) for name, fam in out.families.items()}
    bl, gl = ("user", "tcmu0"), ("user", "tcmu0", "ha_b")
    state = r[ma.ALUA_GP_STATE.name]
    assert {k[-1] for k, v in state.items() if v == 1.0} == {"standby"}
    assert len(state) == 7
    assert r[ma.ALUA_GP_STATUS.name][(*gl, "explicit_stpg")] == 1.0
    assert r[ma.ALUA_GP_INFO.name] == {(*gl, "5"): 1.0}
    assert r[ma.ALUA_GP_PREFERRED.name] == {gl: 1.0}
    assert r[ma.ALUA_GP_MEMBERS.name] == {gl: 1.0}
    ll = ("qla2xxx", "21:00:00:24:ff:31:4c:48", "1", "3")
    assert r[ma.LUN_ALUA_INFO.name] == {(*ll, *gl): 1.0}
    assert r[ma.LUN_ALUA_OFFLINE.name] == {ll: 0.0}
    assert r[ma.LUN_ALUA_STATUS.name][(*ll, "explicit_stpg")] == 1.0
    assert r[ma.USER_BLOCKED.name] == {bl: 1.0}
    assert r[ma.USER_CMD_TIMEOUT.name] == {bl: 30.0}
    assert r[ma.USER_QFULL_TIMEOUT.name] == {bl: 30.0}
    assert r[ma.USER_MAX_DATA_AREA.name] == {bl: 8.0 * MIB}
    assert r[ma.BACKSTORE_VOLATILE_CACHE.name] == {("block", "blk0"): 0.0}
    assert r[ma.BACKSTORE_READ_ONLY.name] == {}  # unknown: no series


# -- simulator -------------------------------------------------------------------------------


def test_simulated_failover_offline_read_only_and_tcmu(tmp_path: Path) -> None:
    h = SimulatedHost(str(tmp_path / "h"), SimParams(ports=2, luns=3, initiators=1))
    h.build()
    h.add_tg_pt_gp(0, "ha_b", 1)
    h.move_lun(0, 0, "ha_b")  # blk0 is exported by port 0 as LUN 0
    h.set_alua_state(0, "ha_b", 2)
    h.set_lun_offline(0, 0, True)
    h.set_read_only(0, True)
    u = h.add_user_backstore("tcmu0")
    h.set_user_blocked(u, True)
    s = run_lio(Path(h.paths.configfs), sysfs=Path(h.paths.sysfs))
    assert s.errors == []
    gl = {"backstore_type": "block", "backstore": "blk0"}
    assert s.value("fctarget_lio_alua_tg_pt_gp_state", tg_pt_gp="ha_b", state="standby", **gl) == 1
    assert s.value("fctarget_lio_alua_tg_pt_gp_members", tg_pt_gp="ha_b", **gl) == 1
    assert s.value("fctarget_lio_alua_tg_pt_gp_members", tg_pt_gp="default_tg_pt_gp", **gl) == 0
    st = {"tg_pt_gp": "ha_b", "status": "implicit_alua", **gl}
    assert s.value("fctarget_lio_alua_tg_pt_gp_status", **st) == 1
    ll = {"fabric": "qla2xxx", "target": h.port(0).wwpn_colon, "tpgt": "1", "lun": "0"}
    assert s.value("fctarget_lio_lun_alua_tg_pt_gp_info", tg_pt_gp="ha_b", **ll, **gl) == 1
    assert s.value("fctarget_lio_lun_alua_offline", **ll) == 1
    assert s.value("fctarget_lio_backstore_read_only", **gl) == 1
    assert s.value("fctarget_lio_backstore_volatile_write_cache", **gl) == 0  # write through
    ul = {"backstore_type": "user", "backstore": "tcmu0"}
    assert s.value("fctarget_lio_backstore_user_blocked", **ul) == 1
    assert s.value("fctarget_lio_backstore_user_cmd_timeout_seconds", **ul) == 30
    assert s.value("fctarget_lio_backstore_user_qfull_timeout_seconds", **ul) == 30  # -1
    assert s.value("fctarget_lio_backstore_user_max_data_area_bytes", **ul) == 1024 * MIB
    assert s.value("fctarget_lio_backstore_size_bytes", **ul) == 1 << 30
    h.set_user_blocked(u, False)
    h.set_alua_state(0, "ha_b", 0)
    s = run_lio(Path(h.paths.configfs), sysfs=Path(h.paths.sysfs))
    assert s.value("fctarget_lio_backstore_user_blocked", **ul) == 0
    state = {"tg_pt_gp": "ha_b", "state": "active_optimized", **gl}
    assert s.value("fctarget_lio_alua_tg_pt_gp_state", **state) == 1


def test_check_explains_groups_and_risks(real: Path) -> None:
    from exporter.check import explain_lio

    text = "\n".join(explain_lio(str(real))[0])
    assert "      ALUA: default_tg_pt_gp (id 0) active_optimized, 1 LUN(s)" in text
    # disk0 is fileio in Buffered-WCE mode
    disk0 = text[text.index("fileio/disk0") :]
    assert disk0.splitlines()[2] == "      risks: volatile write cache"
