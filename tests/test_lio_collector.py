"""The lio collector on qla2xxx trees and on bad input: sessions, filters, wraps, failures.

The trees are the real 6.1 dump (its backstores) plus a qla2xxx fabric written in tcm_qla2xxx's
formats (KERNEL-FORMATS.md section 3). Failures are real: ENODEV comes from a character device
node whose driver answers ENODEV (misc major 10 with an unregistered minor: misc_open()), EISDIR
from a directory in a file's place, EACCES from a child process that dropped root, ELOOP from a
symlink loop.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exporter.flags import build_parser
from exporter.readers import configfs, configfs_files
from exporter.readers.configfs_model import ReadCache
from exporter.readers.problems import Problems
from tests.test_lio_dumptree import DUMP_AFTER, Scrape, load_dump, run_lio

MIB = 2**20
WWPN = "21:00:00:24:ff:31:4c:48"
INIT_ON = "21:00:00:24:ff:aa:bb:cc"
INIT_OFF = "21:00:00:24:ff:aa:bb:cd"
INIT_NOLUN = "21:00:00:24:ff:aa:bb:ce"
DYN = "21:00:00:24:ff:dd:ee:ff"
QLA = {"fabric": "qla2xxx", "target": WWPN, "tpgt": "1"}


def _free_misc_minor() -> int:
    used = {int(line.split()[0]) for line in Path("/proc/misc").read_text().splitlines()}
    for minor in range(250, 100, -1):
        if minor not in used:
            return minor
    raise RuntimeError("no free misc minor")


def enodev(path: Path) -> None:
    """Make `path` a node whose open() fails with ENODEV, like an attribute without a session."""
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mknod(path, 0o444 | stat.S_IFCHR, os.makedev(10, _free_misc_minor()))


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def add_qla_target(root: Path) -> Path:
    """A tcm_qla2xxx target on the dump's backstores; returns its tpgt_1 directory."""
    tpg = root / "target/qla2xxx" / WWPN / "tpgt_1"
    write(root / "target/qla2xxx/version", b"TCM QLOGIC QLA2XXX NPIV capable fabric module\n")
    (root / "target/qla2xxx/discovery_auth").mkdir()
    write(tpg / "enable", b"1\n")
    # dynamic_sessions: "%s\n" then a NUL per demo-mode session (section 3.4)
    write(tpg / "dynamic_sessions", DYN.encode() + b"\n\x00")
    for n, (hba, dev, cmds, rd, wr) in enumerate(
        (("fileio_0", "disk0", 1000, 300, 200), ("rd_mcp_1", "rd0", 2000, 10, 5))
    ):
        lun = tpg / "lun" / f"lun_{n}"
        lun.mkdir(parents=True)
        os.symlink(f"../../../../../../target/core/{hba}/{dev}", lun / f"{n:010x}")
        st = lun / "statistics"
        write(st / "scsi_tgt_port/in_cmds", f"{cmds}\n".encode())
        write(st / "scsi_tgt_port/read_mbytes", f"{rd}\n".encode())
        write(st / "scsi_tgt_port/write_mbytes", f"{wr}\n".encode())
        write(st / "scsi_tgt_port/hs_in_cmds", b"0\n")
        write(st / "scsi_tgt_port/port_index", f"naa.{WWPN.replace(':', '')}+t+1\n".encode())
        write(st / "scsi_port/busy_count", b"0\n")
    for init, luns in ((INIT_ON, 2), (INIT_OFF, 2), (INIT_NOLUN, 0)):
        acl = tpg / "acls" / init
        for d in ("attrib", "auth", "param", "fabric_statistics"):
            (acl / d).mkdir(parents=True)
        for m in range(luns):
            ml = acl / f"lun_{m}"
            ml.mkdir()
            os.symlink(f"../../../../../../target/qla2xxx/{WWPN}/tpgt_1/lun/lun_{m}", ml / "x")
            write(ml / "write_protect", b"0\n")
            ai = ml / "statistics/scsi_auth_intr"
            write(ai / "num_cmds", f"{100 * (m + 1)}\n".encode())
            write(ai / "read_mbytes", f"{10 * (m + 1)}\n".encode())
            write(ai / "write_mbytes", f"{m + 1}\n".encode())
            ident = ml / "statistics/scsi_att_intr_port/port_ident"
            ident.parent.mkdir(parents=True)
            if init == INIT_ON:
                ident.write_bytes(f"{init}+i+\n".encode())  # qla2xxx: no session id
            else:
                enodev(ident)  # no session: nacl->nacl_sess is NULL
    return tpg


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Path]:
    load_dump(DUMP_AFTER, tmp_path)
    add_qla_target(tmp_path)
    yield tmp_path


def test_qla2xxx_sessions_by_port_ident_and_dynamic_sessions(host: Path) -> None:
    s = run_lio(host)
    assert s.errors == []  # ENODEV on port_ident is "no session", not a failure
    assert s.value("fctarget_lio_acl_session_active", initiator=INIT_ON, **QLA) == 1.0
    assert s.value("fctarget_lio_acl_session_active", initiator=INIT_OFF, **QLA) == 0.0
    # nothing to probe: unknown, so no series (not a false "session lost")
    assert s.get("fctarget_lio_acl_session_active", initiator=INIT_NOLUN, **QLA) is None
    assert s.value("fctarget_lio_acl_info", initiator=INIT_NOLUN, **QLA) == 1.0
    assert s.value("fctarget_lio_dynamic_session_info", initiator=DYN, **QLA) == 1.0
    assert s.value("fctarget_lio_tpg_sessions", **QLA) == 2.0  # one ACL session + one dynamic
    assert s.value("fctarget_lio_tpg_acls", **QLA) == 3.0
    assert s.value("fctarget_lio_tpg_luns", **QLA) == 2.0
    assert s.value("fctarget_lio_tpg_enabled", **QLA) == 1.0


def test_loopback_nexus_is_a_session_and_enodev_is_none(host: Path) -> None:
    loop = {"fabric": "loopback", "target": "naa.50014050000000a1", "tpgt": "1"}
    s = run_lio(host)
    assert (
        s.value("fctarget_lio_dynamic_session_info", initiator="naa.5001405bfc0f809d", **loop) == 1
    )
    assert s.value("fctarget_lio_tpg_sessions", **loop) == 1.0
    # tcm_loop_tpg_nexus_show(): ENODEV while the TPG has no I_T nexus
    enodev(host / "target/loopback/naa.50014050000000a1/tpgt_1/nexus")
    s = run_lio(host)
    assert s.errors == []
    assert s.value("fctarget_lio_tpg_sessions", **loop) == 0.0
    assert [
        lab
        for lab in s.series("fctarget_lio_dynamic_session_info")
        if ("fabric", "loopback") in lab
    ] == []


def test_qla2xxx_lun_and_initiator_counters(host: Path) -> None:
    s = run_lio(host)
    lun0 = {**QLA, "lun": "0"}
    assert s.value("fctarget_lio_lun_commands_total", **lun0) == 1000
    assert s.value("fctarget_lio_lun_read_bytes_total", **lun0) == 300 * MIB
    assert s.value("fctarget_lio_lun_write_bytes_total", **lun0) == 200 * MIB
    assert s.value(
        "fctarget_lio_lun_info", backstore_type="ramdisk", backstore="rd0", lun="1", **QLA
    )
    # summed over the two mapped LUNs: 100 + 200 commands, 10 + 20 MiB read, 1 + 2 MiB written
    on = {**QLA, "initiator": INIT_ON}
    assert s.value("fctarget_lio_acl_commands_total", **on) == 300
    assert s.value("fctarget_lio_acl_read_bytes_total", **on) == 30 * MIB
    assert s.value("fctarget_lio_acl_write_bytes_total", **on) == 3 * MIB
    assert s.value("fctarget_lio_acl_mapped_luns", **on) == 2
    per = run_lio(host, "--collector.lio.initiator-luns")
    assert per.value("fctarget_lio_acl_mapped_lun_commands_total", mapped_lun="1", **on) == 200
    assert per.value("fctarget_lio_acl_mapped_lun_read_bytes_total", mapped_lun="1", **on) == (
        20 * MIB
    )
    assert per.value("fctarget_lio_acl_mapped_lun_write_bytes_total", mapped_lun="0", **on) == MIB
    assert "fctarget_lio_acl_commands_total" not in per.samples


def test_initiator_names_from_naa_spelling_are_normalised(host: Path) -> None:
    tpg = host / "target/qla2xxx" / WWPN / "tpgt_1"
    (tpg / "dynamic_sessions").write_bytes(b"naa.21000024ffddeeff\n\x00")
    s = run_lio(host)
    assert s.value("fctarget_lio_dynamic_session_info", initiator=DYN, **QLA) == 1.0


def test_u32_wrap_is_published_raw(host: Path) -> None:
    st = host / "target/qla2xxx" / WWPN / "tpgt_1/lun/lun_0/statistics/scsi_tgt_port"
    (st / "in_cmds").write_bytes(b"4294967295\n")
    before = run_lio(host).value("fctarget_lio_lun_commands_total", lun="0", **QLA)
    (st / "in_cmds").write_bytes(b"7\n")  # a 6.16-6.18 u32 counter wrapped
    after = run_lio(host)
    assert before == 4294967295
    assert after.value("fctarget_lio_lun_commands_total", lun="0", **QLA) == 7
    assert after.errors == []


@pytest.mark.parametrize(
    ("damage", "key"),
    [
        (lambda p: p.write_bytes(b"garbage\n"), "lio:scsi_tgt_port/in_cmds:EINVAL"),
        (lambda p: (p.unlink(), p.mkdir()), "lio:scsi_tgt_port/in_cmds:EISDIR"),
        (lambda p: p.unlink(), "lio:scsi_tgt_port/in_cmds:ENOENT"),
    ],
    ids=["garbage", "eisdir", "missing"],
)
def test_one_bad_stats_file_costs_one_series(
    host: Path, damage: Callable[[Path], object], key: str
) -> None:
    bad = host / "target/qla2xxx" / WWPN / "tpgt_1/lun/lun_0/statistics/scsi_tgt_port/in_cmds"
    damage(bad)
    s = run_lio(host)
    assert s.errors == [key]
    assert s.get("fctarget_lio_lun_commands_total", lun="0", **QLA) is None
    # everything else is still there
    assert s.value("fctarget_lio_lun_read_bytes_total", lun="0", **QLA) == 300 * MIB
    assert s.value("fctarget_lio_lun_commands_total", lun="1", **QLA) == 2000
    assert s.value(
        "fctarget_lio_backstore_commands_total", backstore_type="fileio", backstore="disk0"
    )


def test_many_bad_files_are_one_error_key(host: Path) -> None:
    for n in (0, 1):
        p = host / f"target/qla2xxx/{WWPN}/tpgt_1/lun/lun_{n}/statistics/scsi_tgt_port/in_cmds"
        p.write_bytes(b"x\n")
    s = run_lio(host)
    assert s.errors == ["lio:scsi_tgt_port/in_cmds:EINVAL"]


def test_unbacked_lun_enodev_is_not_an_error(host: Path) -> None:
    lun = host / "target/qla2xxx" / WWPN / "tpgt_1/lun/lun_7"
    (lun / "statistics/scsi_tgt_port").mkdir(parents=True)
    (lun / "statistics/scsi_port").mkdir(parents=True)
    for f in ("in_cmds", "read_mbytes", "write_mbytes", "hs_in_cmds"):
        enodev(lun / "statistics/scsi_tgt_port" / f)
    enodev(lun / "statistics/scsi_port/busy_count")
    s = run_lio(host)
    assert s.errors == []
    assert s.value("fctarget_lio_tpg_luns", **QLA) == 3.0
    assert s.get("fctarget_lio_lun_commands_total", lun="7", **QLA) is None
    assert not [k for k in s.series("fctarget_lio_lun_info") if ("lun", "7") in k]


def _vanish_on_first_read(monkeypatch: pytest.MonkeyPatch, inside: Path, victim: Path) -> list[str]:
    """Remove `victim` the moment the walk first reads a file inside `inside` (a forced race)."""
    real = configfs_files.Files.read
    removed: list[str] = []

    def read(path: str) -> bytes | OSError:
        if not removed and path.startswith(str(inside) + "/"):
            shutil.rmtree(victim)
            removed.append(path)
        return real(path)

    monkeypatch.setattr(configfs_files.Files, "read", staticmethod(read))
    return removed


def test_lun_removed_mid_walk(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lun1 = host / "target/qla2xxx" / WWPN / "tpgt_1/lun/lun_1"
    removed = _vanish_on_first_read(monkeypatch, lun1, lun1)
    s = run_lio(host)
    assert removed
    assert s.errors == []
    assert s.get("fctarget_lio_lun_commands_total", lun="1", **QLA) is None
    assert s.value("fctarget_lio_lun_commands_total", lun="0", **QLA) == 1000
    assert s.value("fctarget_lio_tpg_luns", **QLA) == 1.0


def test_acl_removed_mid_walk(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    acl = host / "target/qla2xxx" / WWPN / "tpgt_1/acls" / INIT_OFF
    removed = _vanish_on_first_read(monkeypatch, acl, acl)
    s = run_lio(host)
    assert removed
    assert s.errors == []
    assert s.get("fctarget_lio_acl_info", initiator=INIT_OFF, **QLA) is None
    assert s.value("fctarget_lio_acl_session_active", initiator=INIT_ON, **QLA) == 1.0


def test_backstore_removed_mid_walk(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = host / "target/core/rd_mcp_1/rd0"
    removed = _vanish_on_first_read(monkeypatch, dev, dev)
    s = run_lio(host)
    assert removed
    assert s.errors == []
    assert len(s.series("fctarget_lio_backstore_info")) == 2


def test_configfs_not_mounted_is_a_normal_state(tmp_path: Path) -> None:
    s = run_lio(tmp_path)  # no target/ below the configfs root
    assert s.errors == []
    assert s.value("fctarget_lio_up") == 0.0
    assert set(s.samples) == {"fctarget_lio_up"}


def test_unreadable_target_dir_fails_the_collector(tmp_path: Path) -> None:
    os.symlink("target", tmp_path / "target")  # ELOOP: fails for root too
    s = run_lio(tmp_path)
    assert s.errors == ["lio:target dir:ELOOP"]
    assert s.value("fctarget_lio_up") == 0.0


def _child_scrape(root: str, conn: multiprocessing.connection.Connection) -> None:
    os.setgid(65534)
    os.setuid(65534)
    s = run_lio(Path(root))
    conn.send((s.errors, s.samples))
    conn.close()


def test_eacces_as_unprivileged_user() -> None:
    """The exporter runs unprivileged: EACCES on one file costs that file's series only."""
    top = tempfile.mkdtemp(prefix="lio-eacces-")
    try:
        os.chmod(top, 0o755)
        root = Path(top)
        load_dump(DUMP_AFTER, root)
        add_qla_target(root)
        for dirpath, _dirs, _files in os.walk(root):
            os.chmod(dirpath, 0o755)
        bad = root / "target/core/fileio_0/disk0/statistics/scsi_lu/num_cmds"
        os.chmod(bad, 0)
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child_scrape, args=(str(root), child))
        proc.start()
        errors, samples = parent.recv()
        proc.join(10)
    finally:
        shutil.rmtree(top)
    s = Scrape(samples=samples, errors=errors)
    assert errors == ["lio:scsi_lu/num_cmds:EACCES"]
    disk0 = {"backstore_type": "fileio", "backstore": "disk0"}
    assert s.get("fctarget_lio_backstore_commands_total", **disk0) is None
    assert s.value("fctarget_lio_backstore_read_bytes_total", **disk0) == 16 * MIB
    assert s.value("fctarget_lio_acl_session_active", initiator=INIT_ON, **QLA) == 1.0


def test_old_kernel_without_optional_attributes(host: Path) -> None:
    dev = host / "target/core/fileio_0/disk0"
    (dev / "statistics/scsi_tgt_dev/aborts_complete").unlink()
    (dev / "statistics/scsi_tgt_dev/aborts_no_task").unlink()
    (dev / "wwn/company_id").unlink()
    (dev / "enable").unlink()
    s = run_lio(host)
    assert s.errors == []
    disk0 = {"backstore_type": "fileio", "backstore": "disk0"}
    assert s.get("fctarget_lio_backstore_aborts_completed_total", **disk0) is None
    # the enabled state then comes from info "Status: ACTIVATED"
    assert s.value("fctarget_lio_backstore_enabled", **disk0) == 1.0
    wwns = {dict(k)["backstore"]: dict(k)["naa"] for k in s.series("fctarget_lio_backstore_info")}
    assert wwns["disk0"] == "naa.6001405294326df4c714100b552bcd57"  # default OUI 00 14 05


def test_filters(host: Path) -> None:
    s = run_lio(host, f"--collector.lio.wwpn-include={WWPN}")
    assert {dict(k)["fabric"] for k in s.series("fctarget_lio_tpg_luns")} == {"qla2xxx"}
    s = run_lio(host, "--collector.lio.wwpn-exclude=21:00:.*")
    assert {dict(k)["fabric"] for k in s.series("fctarget_lio_tpg_luns")} == {"iscsi", "loopback"}
    s = run_lio(host, "--collector.lio.initiator-exclude=.*:cd")
    inits = {dict(k)["initiator"] for k in s.series("fctarget_lio_acl_info")}
    assert INIT_OFF not in inits
    assert INIT_ON in inits
    s = run_lio(host, "--collector.lio.initiator-include=.*:cc")
    inits = {dict(k)["initiator"] for k in s.series("fctarget_lio_acl_info")}
    assert inits == {INIT_ON}
    s = run_lio(host, "--collector.lio.backstore-include=disk.*")
    names = {dict(k)["backstore"] for k in s.series("fctarget_lio_backstore_info")}
    assert names == {"disk0"}
    # full match: "disk" alone matches nothing
    s = run_lio(host, "--collector.lio.backstore-include=disk")
    assert s.series("fctarget_lio_backstore_info") == {}


def test_invalid_filter_regex_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--collector.lio.wwpn-include=("])
    assert exc.value.code == 2


def test_duplicate_device_names_across_hbas_stay_distinct(host: Path) -> None:
    shutil.copytree(host / "target/core/fileio_0", host / "target/core/fileio_9", symlinks=True)
    s = run_lio(host)
    names = {dict(k)["backstore"] for k in s.series("fctarget_lio_backstore_info")}
    assert {"fileio_0/disk0", "fileio_9/disk0", "rd0", "blk0"} == names
    assert s.value(
        "fctarget_lio_lun_info", backstore_type="fileio", backstore="fileio_0/disk0", lun="0", **QLA
    )


def test_lun_link_names_are_remembered_and_relinks_seen(host: Path) -> None:
    cache = ReadCache()
    target = str(host / "target")
    problems = Problems("lio")
    first = configfs.read_configfs(target, problems, cache=cache)
    lun0 = host / "target/qla2xxx" / WWPN / "tpgt_1/lun/lun_0"
    assert cache.lun_links[str(lun0)] == f"{0:010x}"
    qla = next(t for t in first.targets if t.fabric == "qla2xxx")
    assert (qla.tpgs[0].luns[0].hba, qla.tpgs[0].luns[0].dev) == ("fileio_0", "disk0")
    # the LUN is re-created on another backstore under another link name
    (lun0 / f"{0:010x}").unlink()
    os.symlink("../../../../../../target/core/iblock_2/blk0", lun0 / "feedbeef00")
    second = configfs.read_configfs(target, problems, cache=cache)
    qla = next(t for t in second.targets if t.fabric == "qla2xxx")
    assert (qla.tpgs[0].luns[0].hba, qla.tpgs[0].luns[0].dev) == ("iblock_2", "blk0")
    assert cache.lun_links[str(lun0)] == "feedbeef00"
    # a removed LUN leaves the cache
    shutil.rmtree(host / "target/qla2xxx" / WWPN / "tpgt_1/lun/lun_1")
    configfs.read_configfs(target, problems, cache=cache)
    assert str(host / "target/qla2xxx" / WWPN / "tpgt_1/lun/lun_1") not in cache.lun_links
    assert not problems
