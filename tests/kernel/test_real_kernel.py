"""The exporter on a real Linux 6.1 LIO target, configured by the real targetcli (one boot).

tests/kernel/scenario.sh runs in the guest: fileio, ramdisk and block backstores behind a
loopback target and an iSCSI target with a node ACL and a logged-in open-iscsi initiator; the
exporter itself (`--once` and the HTTP server) around known dd I/O, as root and as an
unprivileged user, through an iSCSI logout, a LUN deleted with targetcli, user-space lines in
/dev/kmsg and a ring-buffer overrun. These tests compare what it published with the configfs
dumps taken at the same moments and with the I/O done.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.kernel.lab import HERE, GuestRun, run_in_guest
from tests.test_lio_dumptree import dump_values

# The first test's setup boots the guest: on a fresh machine that includes fetching the kernel
# package and the guest's Python dependencies, so it gets more than the suite's 300 s default.
pytestmark = [pytest.mark.kernel, pytest.mark.timeout(900)]

MIB = 1 << 20
LOOP = ("loopback", "naa.50014050000000a1")
ISCSI = ("iscsi", "iqn.2003-01.org.linux-iscsi.lab:tgt0")
INITIATOR = "iqn.1994-05.com.example:lab-init"
CFS = "target"  # dump keys are relative to /sys/kernel/config/

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuestRun]:
    if os.geteuid() != 0:
        pytest.fail("the real-kernel stage needs root (mknod for the initramfs, apt for QEMU)")
    run = run_in_guest(HERE / "scenario.sh", tmp_path_factory.mktemp("guest"), timeout=480)
    print(
        f"\nreal-kernel guest: qemu rc {run.qemu_rc}, guest rc {run.guest_rc}, "
        f"{run.wall_s:.1f} s wall"
    )
    log = (run.out / "steps.log").read_text() if (run.out / "steps.log").exists() else ""
    assert run.qemu_rc == 0 and run.guest_rc == 0, f"{log}\n{run.console[-4000:]}"
    yield run


def prom(run: GuestRun, name: str) -> Series:
    out: Series = {}
    for fam in text_string_to_metric_families((run.out / name).read_text()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def get(series: Series, name: str, **labels: str) -> float | None:
    return series.get((name, frozenset(labels.items())))


def named(series: Series, name: str) -> list[tuple[dict[str, str], float]]:
    return [(dict(lab), v) for (n, lab), v in series.items() if n == name]


def dump(run: GuestRun, name: str) -> dict[str, str]:
    """A configfs dump taken in the guest (the reference capture's format), keyed by the path
    under /sys/kernel/config/."""
    return dump_values(run.out / name)


def rc(run: GuestRun, name: str) -> int:
    return int((run.out / f"{name}.rc").read_text())


def lun_key(fabric: str, wwpn: str, lun: str) -> dict[str, str]:
    return {"fabric": fabric, "target": wwpn, "tpgt": "1", "lun": lun}


# Every family the lio collector publishes; check_against_configfs verifies each one, and a
# new family fails test_every_lio_series_equals_configfs until it is verified here too.
LIO_FAMILIES = {
    "fctarget_lio_up",
    "fctarget_lio_tpg_enabled",
    "fctarget_lio_tpg_luns",
    "fctarget_lio_tpg_acls",
    "fctarget_lio_tpg_sessions",
    "fctarget_lio_lun_info",
    "fctarget_lio_lun_commands_total",
    "fctarget_lio_lun_read_bytes_total",
    "fctarget_lio_lun_write_bytes_total",
    "fctarget_lio_acl_info",
    "fctarget_lio_acl_mapped_luns",
    "fctarget_lio_acl_session_active",
    "fctarget_lio_dynamic_session_info",
    "fctarget_lio_acl_commands_total",
    "fctarget_lio_acl_read_bytes_total",
    "fctarget_lio_acl_write_bytes_total",
    "fctarget_lio_backstore_info",
    "fctarget_lio_backstore_size_bytes",
    "fctarget_lio_backstore_block_size_bytes",
    "fctarget_lio_backstore_enabled",
    "fctarget_lio_backstore_write_cache_enabled",
    "fctarget_lio_backstore_exported",
    "fctarget_lio_backstore_luns",
    "fctarget_lio_backstore_commands_total",
    "fctarget_lio_backstore_read_bytes_total",
    "fctarget_lio_backstore_write_bytes_total",
    "fctarget_lio_backstore_resets_total",
    "fctarget_lio_backstore_aborts_completed_total",
    "fctarget_lio_backstore_aborts_no_task_total",
    "fctarget_lio_escaped_names_total",
    "fctarget_lio_alua_tg_pt_gp_info",
    "fctarget_lio_alua_tg_pt_gp_state",
    "fctarget_lio_alua_tg_pt_gp_status",
    "fctarget_lio_alua_tg_pt_gp_preferred",
    "fctarget_lio_alua_tg_pt_gp_members",
    "fctarget_lio_lun_alua_tg_pt_gp_info",
    "fctarget_lio_lun_alua_offline",
    "fctarget_lio_lun_alua_status",
    "fctarget_lio_backstore_volatile_write_cache",
    "fctarget_lio_backstore_read_only",
}
# include/target/target_core_base.h ALUA_ACCESS_STATE_* and ALUA_STATUS_*, as the exporter names
# them; target_core_alua.c prints the group's status as text, the LUN port's as a number.
ALUA_STATE = {
    "0": "active_optimized",
    "1": "active_nonoptimized",
    "2": "standby",
    "3": "unavailable",
    "4": "lba_dependent",
    "14": "offline",
    "15": "transitioning",
}
ALUA_STATUS_TEXT = {
    "None": "none",
    "Altered by Explicit STPG": "explicit_stpg",
    "Altered by Implicit ALUA": "implicit_alua",
}
ALUA_STATUS_NUMBER = {"0": "none", "1": "explicit_stpg", "2": "implicit_alua"}


def subdirs(cfs: dict[str, str], base: str, pattern: str) -> set[str]:
    """Names of the directories right under `base` whose name matches `pattern`."""
    rx = re.compile(re.escape(base) + "(" + pattern + ")/")
    return {m.group(1) for k, v in cfs.items() if v == "<dir>" and (m := rx.fullmatch(k))}


def check_against_configfs(
    s: Series, cfs: dict[str, str], ram0_bytes: int, published: set[str]
) -> int:
    """Every LIO series the exporter published equals the file it comes from; returns how many
    series were compared."""
    assert published & {n for n, _ in s} == published
    lio = {n for n, _ in s if n in LIO_FAMILIES or n.startswith("fctarget_lio_")}
    assert lio <= LIO_FAMILIES, sorted(lio - LIO_FAMILIES)
    assert get(s, "fctarget_lio_up") == 1
    checked = 1
    checked += _check_lun_stats(s, cfs)
    checked += _check_lun_backstores(s, cfs)
    checked += _check_backstores(s, cfs, ram0_bytes)
    checked += _check_acl_stats(s, cfs)
    tpgs = _tpgs(cfs)
    checked += _check_tpgs(s, cfs, tpgs)
    checked += _check_acls(s, cfs)
    checked += _check_sessions(s, cfs, tpgs)
    checked += _check_alua_groups(s, cfs)
    checked += _check_lun_alua(s, cfs)
    checked += _check_backstore_risks(s, cfs)
    assert get(s, "fctarget_lio_escaped_names_total") == 0
    return checked + 1


def _group_dir(cfs: dict[str, str], lab: dict[str, str]) -> str:
    [dev] = [
        k.removesuffix("/alua/" + lab["tg_pt_gp"] + "/")
        for k, v in cfs.items()
        if v == "<dir>" and k.endswith(f"/{lab['backstore']}/alua/{lab['tg_pt_gp']}/")
    ]
    return f"{dev}/alua/{lab['tg_pt_gp']}"


def _check_alua_groups(s: Series, cfs: dict[str, str]) -> int:
    checked = 0
    groups = {
        k
        for k, v in cfs.items()
        if v == "<dir>" and re.search(r"/core/[^/]+/[^/]+/alua/[^/]+/$", k)
    }
    seen = set()
    for lab, value in named(s, "fctarget_lio_alua_tg_pt_gp_state"):
        d = _group_dir(cfs, lab)
        seen.add(d + "/")
        want = ALUA_STATE[cfs[f"{d}/alua_access_state"]]
        assert value == (1 if lab["state"] == want else 0), (lab, want)
        checked += 1
    assert seen == groups, sorted(groups - seen)
    for lab, value in named(s, "fctarget_lio_alua_tg_pt_gp_status"):
        want = ALUA_STATUS_TEXT[cfs[f"{_group_dir(cfs, lab)}/alua_access_status"]]
        assert value == (1 if lab["status"] == want else 0), (lab, want)
        checked += 1
    for lab, value in named(s, "fctarget_lio_alua_tg_pt_gp_preferred"):
        assert value == int(cfs[f"{_group_dir(cfs, lab)}/preferred"]), lab
        checked += 1
    for lab, value in named(s, "fctarget_lio_alua_tg_pt_gp_members"):
        members = cfs[f"{_group_dir(cfs, lab)}/members"].replace("\\x00", "")
        assert value == len([m for m in members.split("\\n") if m]), (lab, members)
        checked += 1
    for lab, _ in named(s, "fctarget_lio_alua_tg_pt_gp_info"):
        assert lab["tg_pt_gp_id"] == cfs[f"{_group_dir(cfs, lab)}/tg_pt_gp_id"], lab
        checked += 1
    return checked


def _check_lun_alua(s: Series, cfs: dict[str, str]) -> int:
    checked = 0
    for lab, _ in named(s, "fctarget_lio_lun_alua_tg_pt_gp_info"):
        port = cfs[f"{_tpg_dir(lab)}/lun/lun_{lab['lun']}/alua_tg_pt_gp"]
        assert port.startswith(f"TG Port Alias: {lab['tg_pt_gp']}\\n"), (lab, port)
        checked += 1
    for lab, value in named(s, "fctarget_lio_lun_alua_offline"):
        assert value == int(cfs[f"{_tpg_dir(lab)}/lun/lun_{lab['lun']}/alua_tg_pt_offline"]), lab
        checked += 1
    for lab, value in named(s, "fctarget_lio_lun_alua_status"):
        raw = cfs[f"{_tpg_dir(lab)}/lun/lun_{lab['lun']}/alua_tg_pt_status"]
        assert value == (1 if lab["status"] == ALUA_STATUS_NUMBER[raw] else 0), (lab, raw)
        checked += 1
    return checked


def _check_backstore_risks(s: Series, cfs: dict[str, str]) -> int:
    checked = 0
    info = {lab["backstore"]: cfs[f"{CFS}/core/{lab['core_hba']}/{lab['backstore']}/info"]
            for lab, _ in named(s, "fctarget_lio_backstore_info")}  # fmt: skip
    for lab, value in named(s, "fctarget_lio_backstore_volatile_write_cache"):
        text = info[lab["backstore"]]
        if lab["backstore_type"] == "fileio":  # fd_show_configfs_dev_params: Mode
            assert value == int("Mode: Buffered-WCE" in text), (lab, text)
        else:  # the guest's block backstore is brd's /dev/ram0: queue/write_cache "write through"
            assert (lab["backstore_type"], value) == ("block", 0), lab
        checked += 1
    for lab, value in named(s, "fctarget_lio_backstore_read_only"):
        m = re.search(
            r"readonly: ([01])", info[lab["backstore"]]
        )  # iblock_show_configfs_dev_params
        assert m is not None and value == int(m.group(1)), lab
        checked += 1
    return checked


def _tpg_dir(lab: dict[str, str]) -> str:
    return f"{CFS}/{lab['fabric']}/{lab['target']}/tpgt_{lab['tpgt']}"


def _check_lun_stats(s: Series, cfs: dict[str, str]) -> int:
    checked = 0
    for name, group, fname in (
        ("fctarget_lio_lun_commands_total", "scsi_tgt_port", "in_cmds"),
        ("fctarget_lio_lun_read_bytes_total", "scsi_tgt_port", "read_mbytes"),
        ("fctarget_lio_lun_write_bytes_total", "scsi_tgt_port", "write_mbytes"),
    ):
        for lab, value in named(s, name):
            base = f"{_tpg_dir(lab)}/lun/lun_{lab['lun']}"
            raw = int(cfs[f"{base}/statistics/{group}/{fname}"])
            assert value == (raw * MIB if "bytes" in name else raw), (name, lab)
            checked += 1
    return checked


def _check_lun_backstores(s: Series, cfs: dict[str, str]) -> int:
    checked = 0
    for lab, _ in named(s, "fctarget_lio_lun_info"):
        base = f"{_tpg_dir(lab)}/lun/lun_{lab['lun']}"
        links = [v for k, v in cfs.items() if k.startswith(base + "/") and v.startswith("-> ")]
        assert len(links) == 1
        hba_kind = {"fileio": "fileio_", "ramdisk": "rd_mcp_", "block": "iblock_"}
        assert re.search(
            f"/core/{hba_kind[lab['backstore_type']]}[0-9]+/{re.escape(lab['backstore'])}$",
            links[0],
        ), (lab, links)
        checked += 1
    return checked


def _check_backstores(s: Series, cfs: dict[str, str], ram0_bytes: int) -> int:
    checked = 0
    hba_of = {}
    for lab, _ in named(s, "fctarget_lio_backstore_info"):
        hba_of[lab["backstore"]] = lab["core_hba"]
        dev = f"{CFS}/core/{lab['core_hba']}/{lab['backstore']}"
        serial = cfs[f"{dev}/wwn/vpd_unit_serial"].removeprefix("T10 VPD Unit Serial Number: ")
        assert lab["serial"] == serial
        # VPD 0x83 NAA IEEE Registered Extended: OUI 00:14:05, then the serial's hex digits
        # (target_core_spc.c, spc_gen_naa_6h_vendor_specific)
        assert lab["naa"] == "naa.6001405" + re.sub("[^0-9a-f]", "", serial)[:25]
        assert lab["vendor"] == cfs[f"{dev}/statistics/scsi_lu/vend"].strip()
        assert lab["product"] == cfs[f"{dev}/statistics/scsi_lu/prod"].strip()
        checked += 1
    sizes = _backstore_sizes(cfs, hba_of, ram0_bytes)
    backstore_checks: list[tuple[str, Callable[[str, str], int]]] = [
        ("fctarget_lio_backstore_size_bytes", lambda d, b: sizes[b]),
        (
            "fctarget_lio_backstore_block_size_bytes",
            lambda d, b: int(cfs[f"{d}/attrib/block_size"]),
        ),
        ("fctarget_lio_backstore_enabled", lambda d, b: int(cfs[f"{d}/enable"])),
        (
            "fctarget_lio_backstore_write_cache_enabled",
            lambda d, b: int(cfs[f"{d}/attrib/emulate_write_cache"]),
        ),
        (
            "fctarget_lio_backstore_exported",
            lambda d, b: int(cfs[f"{d}/statistics/scsi_tgt_dev/status"] == "activated"),
        ),
        ("fctarget_lio_backstore_luns", lambda d, b: int(cfs[f"{d}/statistics/scsi_dev/ports"])),
        (
            "fctarget_lio_backstore_commands_total",
            lambda d, b: int(cfs[f"{d}/statistics/scsi_lu/num_cmds"]),
        ),
        (
            "fctarget_lio_backstore_read_bytes_total",
            lambda d, b: int(cfs[f"{d}/statistics/scsi_lu/read_mbytes"]) * MIB,
        ),
        (
            "fctarget_lio_backstore_write_bytes_total",
            lambda d, b: int(cfs[f"{d}/statistics/scsi_lu/write_mbytes"]) * MIB,
        ),
        (
            "fctarget_lio_backstore_resets_total",
            lambda d, b: int(cfs[f"{d}/statistics/scsi_lu/resets"]),
        ),
        (
            "fctarget_lio_backstore_aborts_completed_total",
            lambda d, b: int(cfs[f"{d}/statistics/scsi_tgt_dev/aborts_complete"]),
        ),
        (
            "fctarget_lio_backstore_aborts_no_task_total",
            lambda d, b: int(cfs[f"{d}/statistics/scsi_tgt_dev/aborts_no_task"]),
        ),
    ]
    for name, value_of in backstore_checks:
        for lab, value in named(s, name):
            b = lab["backstore"]
            assert value == value_of(f"{CFS}/core/{hba_of[b]}/{b}", b), (name, lab)
            checked += 1
    return checked


def _backstore_sizes(
    cfs: dict[str, str], hba_of: dict[str, str], ram0_bytes: int
) -> dict[str, int]:
    sizes = {}
    for b, hba in hba_of.items():
        info = cfs[f"{CFS}/core/{hba}/{b}/info"]
        if m := re.search(r"PAGES/PAGE_SIZE: (\d+)\*(\d+)", info):
            sizes[b] = int(m.group(1)) * int(m.group(2))
        elif m := re.search(r" Size: (\d+)", info):
            sizes[b] = int(m.group(1))
        else:  # iblock: the block device's own size
            assert "UDEV PATH: /dev/ram0" in info
            sizes[b] = ram0_bytes
    return sizes


def _check_acl_stats(s: Series, cfs: dict[str, str]) -> int:
    checked = 0
    for name, fname in (
        ("fctarget_lio_acl_commands_total", "num_cmds"),
        ("fctarget_lio_acl_read_bytes_total", "read_mbytes"),
        ("fctarget_lio_acl_write_bytes_total", "write_mbytes"),
    ):
        for lab, value in named(s, name):
            acl = f"{_tpg_dir(lab)}/acls/{lab['initiator']}/"
            pat = re.compile(re.escape(acl) + r"lun_\d+/statistics/scsi_auth_intr/" + fname + "$")
            total = sum(int(v) for k, v in cfs.items() if pat.match(k))
            assert value == (total * MIB if "bytes" in name else total), (name, lab)
            checked += 1
    return checked


def _tpgs(cfs: dict[str, str]) -> set[tuple[str, str]]:
    return {
        (fabric, wwpn)
        for fabric in ("loopback", "iscsi")
        for wwpn in subdirs(cfs, f"{CFS}/{fabric}/", r"[^/]+")
        if f"{CFS}/{fabric}/{wwpn}/tpgt_1/" in cfs
    }


def _check_tpgs(s: Series, cfs: dict[str, str], tpgs: set[tuple[str, str]]) -> int:
    checked = 0
    assert {(lab["fabric"], lab["target"]) for lab, _ in named(s, "fctarget_lio_tpg_luns")} == tpgs
    # tcm_loop TPGs have no enable attribute: no series rather than a guess
    assert (
        {(lab["fabric"], lab["target"]) for lab, _ in named(s, "fctarget_lio_tpg_enabled")}
        == {t for t in tpgs if f"{CFS}/{t[0]}/{t[1]}/tpgt_1/enable" in cfs}
        == {ISCSI}
    )
    for lab, value in named(s, "fctarget_lio_tpg_enabled"):
        assert value == int(cfs[f"{_tpg_dir(lab)}/enable"])
        checked += 1
    for lab, value in named(s, "fctarget_lio_tpg_luns"):
        assert value == len(subdirs(cfs, f"{_tpg_dir(lab)}/lun/", r"lun_\d+"))
        checked += 1
    return checked


def _check_acls(s: Series, cfs: dict[str, str]) -> int:
    checked = 0
    acls = {}
    for lab, value in named(s, "fctarget_lio_tpg_acls"):
        acls[(lab["fabric"], lab["target"])] = subdirs(cfs, f"{_tpg_dir(lab)}/acls/", r"[^/]+")
        assert value == len(acls[(lab["fabric"], lab["target"])])
        checked += 1
    published_acls = {
        (lab["fabric"], lab["target"], lab["initiator"])
        for lab, _ in named(s, "fctarget_lio_acl_info")
    }
    assert published_acls == {(f, w, i) for (f, w), names in acls.items() for i in names}
    checked += len(published_acls)
    for lab, value in named(s, "fctarget_lio_acl_mapped_luns"):
        assert value == len(subdirs(cfs, f"{_tpg_dir(lab)}/acls/{lab['initiator']}/", r"lun_\d+"))
        checked += 1
    return checked


def _check_sessions(s: Series, cfs: dict[str, str], tpgs: set[tuple[str, str]]) -> int:
    checked = 0
    active: dict[tuple[str, str], int] = {}
    for lab, value in named(s, "fctarget_lio_acl_session_active"):
        # iSCSI: the ACL's info file is the kernel's own word (lio_target_nacl_info_show)
        info = cfs[f"{_tpg_dir(lab)}/acls/{lab['initiator']}/info"]
        assert value == int("No active iSCSI Session" not in info), (lab, info)
        active[(lab["fabric"], lab["target"])] = active.get(
            (lab["fabric"], lab["target"]), 0
        ) + int(value)
        checked += 1
    dynamic: dict[tuple[str, str], set[str]] = {}
    for fabric, wwpn in tpgs:
        tdir = f"{CFS}/{fabric}/{wwpn}/tpgt_1"
        # iscsi: dynamic_sessions ("name\n\0" each, empty here); tcm_loop: the one I_T nexus
        listed = cfs.get(f"{tdir}/dynamic_sessions", cfs.get(f"{tdir}/nexus", ""))
        dynamic[(fabric, wwpn)] = {
            n for n in listed.replace("\\x00", "").split("\\n") if n and not n.startswith("<error")
        }
    assert dynamic[LOOP], "tcm_loop has its nexus"
    published_dyn = {
        (lab["fabric"], lab["target"], lab["initiator"])
        for lab, _ in named(s, "fctarget_lio_dynamic_session_info")
    }
    assert published_dyn == {(f, w, i) for (f, w), names in dynamic.items() for i in names}
    checked += len(published_dyn)
    for lab, value in named(s, "fctarget_lio_tpg_sessions"):
        key = (lab["fabric"], lab["target"])
        assert value == active.get(key, 0) + len(dynamic[key]), lab
        checked += 1
    return checked


def test_guest_ran_every_step(guest: GuestRun) -> None:
    steps = (guest.out / "steps.log").read_text()
    assert "done FAIL=0" in steps
    assert "!!" not in steps
    assert guest.wall_s < 300  # the whole stage, boot to power-off


@pytest.mark.parametrize(
    ("prom_file", "dump_file"),
    [
        ("once-before.prom", "configfs-before.txt"),
        ("once-after.prom", "configfs-after.txt"),
        ("http-3.prom", "configfs-logout.txt"),  # the HTTP server, after the iSCSI logout
        ("http-alua.prom", "configfs-alua.txt"),  # after an ALUA group was set to Standby
    ],
)
def test_every_lio_series_equals_configfs(guest: GuestRun, prom_file: str, dump_file: str) -> None:
    if prom_file.startswith("once-"):
        assert rc(guest, prom_file.removesuffix(".prom")) == 0
    s = prom(guest, prom_file)
    assert get(s, "fctarget_scrape_collector_success", collector="lio") == 1
    ram0 = int((guest.out / "ram0.sectors").read_text()) * 512
    checked = check_against_configfs(s, dump(guest, dump_file), ram0, LIO_FAMILIES)
    # every LIO sample was compared with its file: 4 backstores, 2 TPGs, 3-4 LUNs, 1 ACL
    assert checked == len([n for n, _ in s if n in LIO_FAMILIES]) > 80


def test_deltas_equal_the_io_done(guest: GuestRun) -> None:
    a, b = prom(guest, "once-before.prom"), prom(guest, "once-after.prom")

    def delta(name: str, **labels: str) -> float:
        before, after = get(a, name, **labels), get(b, name, **labels)
        assert before is not None and after is not None, (name, labels)
        return after - before

    # dd: 8 MiB written + 16 read on the fileio LUN, 4 + 4 on the ramdisk, 8 + 16 over iSCSI
    for (fabric, wwpn), lun, wr, rd in ((LOOP, "0", 8, 16), (LOOP, "1", 4, 4), (ISCSI, "0", 8, 16)):
        k = lun_key(fabric, wwpn, lun)
        assert delta("fctarget_lio_lun_write_bytes_total", **k) == wr * MIB
        assert delta("fctarget_lio_lun_read_bytes_total", **k) == rd * MIB
    assert delta("fctarget_lio_lun_read_bytes_total", **lun_key(*LOOP, "2")) == 0
    # commands (NOTES.md): fileio 1 MiB per command, 8 W + 1 SYNCHRONIZE CACHE + 16 R; ramdisk
    # 4 + 4; iblock on brd 124 KiB commands, 72 W + 144 R
    for bs, cmds, wr, rd in (("disk0", 25, 8, 16), ("rd0", 8, 4, 4), ("blk0", 216, 8, 16)):
        t = {"fileio": "disk0", "ramdisk": "rd0", "block": "blk0"}
        kind = next(k for k, v in t.items() if v == bs)
        assert (
            delta("fctarget_lio_backstore_commands_total", backstore=bs, backstore_type=kind)
            == cmds
        )
        assert (
            delta("fctarget_lio_backstore_write_bytes_total", backstore=bs, backstore_type=kind)
            == wr * MIB
        )
        assert (
            delta("fctarget_lio_backstore_read_bytes_total", backstore=bs, backstore_type=kind)
            == rd * MIB
        )
    assert delta("fctarget_lio_lun_commands_total", **lun_key(*LOOP, "0")) == 25
    assert delta("fctarget_lio_lun_commands_total", **lun_key(*LOOP, "1")) == 8
    assert delta("fctarget_lio_lun_commands_total", **lun_key(*ISCSI, "0")) == 216
    ini = {"fabric": ISCSI[0], "target": ISCSI[1], "tpgt": "1", "initiator": INITIATOR}
    assert delta("fctarget_lio_acl_commands_total", **ini) == 216
    assert delta("fctarget_lio_acl_write_bytes_total", **ini) == 8 * MIB
    assert delta("fctarget_lio_acl_read_bytes_total", **ini) == 16 * MIB


def test_backstore_wwn_is_what_the_initiator_sees(guest: GuestRun) -> None:
    # the kernel's SCSI disk on the initiator side reads VPD page 0x83 itself (sysfs wwid)
    wwid = dict(line.split(" ", 1) for line in (guest.out / "wwid.txt").read_text().splitlines())
    s = prom(guest, "once-after.prom")
    wwn = {lab["backstore"]: lab["naa"] for lab, _ in named(s, "fctarget_lio_backstore_info")}
    steps = (guest.out / "steps.log").read_text()
    disks = dict(re.findall(r"(LDISK0|LDISK1|IDISK)=/dev/(sd[a-z]+)", steps))
    assert wwid[disks["LDISK0"]] == wwn["disk0"]
    assert wwid[disks["LDISK1"]] == wwn["rd0"]
    assert wwid[disks["IDISK"]] == wwn["blk0"]


def test_http_exporter_ran_cleanly(guest: GuestRun) -> None:
    # SIGTERM ends the server cleanly; nothing was logged above info through the whole run
    # (logins, logout, a LUN deleted under it, a ring-buffer overrun)
    assert (guest.out / "http.rc").read_text().strip() == "0"
    err = (guest.out / "http.err").read_text()
    assert "Traceback" not in err
    levels = set(re.findall(r"level=(\w+)", err))
    assert levels <= {"info", "warn"}, err
    for n in range(1, 6):
        s = prom(guest, f"http-{n}.prom")
        for c in ("fc_host", "hba", "interrupts", "kmsg", "lio"):
            assert get(s, "fctarget_scrape_collector_success", collector=c) == 1, (n, c)


def test_sessions_follow_login_and_logout(guest: GuestRun) -> None:
    ini = {"fabric": ISCSI[0], "target": ISCSI[1], "tpgt": "1", "initiator": INITIATOR}
    assert get(prom(guest, "once-after.prom"), "fctarget_lio_acl_session_active", **ini) == 1
    assert get(prom(guest, "http-1.prom"), "fctarget_lio_acl_session_active", **ini) == 1
    after = prom(guest, "http-3.prom")
    assert get(after, "fctarget_lio_acl_session_active", **ini) == 0
    assert get(after, "fctarget_lio_acl_info", **ini) == 1  # the ACL stays configured
    tpg = {"fabric": ISCSI[0], "target": ISCSI[1], "tpgt": "1"}
    assert get(after, "fctarget_lio_tpg_sessions", **tpg) == 0
    assert get(after, "fctarget_lio_tpg_acls", **tpg) == 1
    # the iSCSI ACL's info file is what says so in the kernel
    info = dump(guest, "configfs-logout.txt")[
        f"{CFS}/iscsi/{ISCSI[1]}/tpgt_1/acls/{INITIATOR}/info"
    ]
    assert "No active iSCSI Session" in info


def test_lun_deleted_with_targetcli_disappears_without_error(guest: GuestRun) -> None:
    before, after = prom(guest, "http-3.prom"), prom(guest, "http-4.prom")
    k = lun_key(*LOOP, "2")
    assert get(before, "fctarget_lio_lun_commands_total", **k) is not None
    assert not [lab for (_, lab) in after if ("lun", "2") in lab and ("fabric", "loopback") in lab]
    assert get(after, "fctarget_lio_lun_commands_total", **lun_key(*LOOP, "1")) is not None
    assert get(after, "fctarget_lio_tpg_luns", fabric=LOOP[0], target=LOOP[1], tpgt="1") == 2
    assert get(after, "fctarget_scrape_collector_success", collector="lio") == 1


def test_unprivileged_user_sees_what_root_sees(guest: GuestRun) -> None:
    # Debian's kernel is built with CONFIG_SECURITY_DMESG_RESTRICT: dmesg_restrict=1 by default
    assert (guest.out / "dmesg_restrict.default").read_text().strip() == "1"
    root = prom(guest, "once-after.prom")
    nobody = prom(guest, "nobody-open.prom")
    assert rc(guest, "nobody-open") == 0
    lio = {
        k: v
        for k, v in root.items()
        if k[0].startswith(("fctarget_lio_lun_", "fctarget_backstore", "fctarget_lio_acl_"))
    }
    assert lio
    assert {k: nobody.get(k) for k in lio} == lio  # configfs needs no privilege
    assert get(nobody, "fctarget_scrape_collector_success", collector="kmsg") == 1

    restricted = prom(guest, "nobody-restricted.prom")
    assert rc(guest, "nobody-restricted") == 1  # --once reports the failed collector
    assert get(restricted, "fctarget_scrape_collector_success", collector="kmsg") == 0
    assert get(restricted, "fctarget_scrape_collector_success", collector="lio") == 1
    err = (guest.out / "nobody-restricted.err").read_text()
    assert "CAP_SYSLOG" in err
    assert "Traceback" not in err

    # CAP_SYSLOG alone, as the systemd unit grants it, is enough
    assert rc(guest, "nobody-syslog") == 0
    syslog = prom(guest, "nobody-syslog.prom")
    assert get(syslog, "fctarget_scrape_collector_success", collector="kmsg") == 1
    assert (get(syslog, "fctarget_kmsg_records_total") or 0) > 100  # the real boot log


def test_user_space_lines_are_ignored_unless_accepted(guest: GuestRun) -> None:
    s1, s2 = prom(guest, "http-1.prom"), prom(guest, "http-2.prom")
    ignored = "fctarget_kmsg_user_records_ignored_total"
    assert (get(s2, ignored) or 0) - (get(s1, ignored) or 0) == 2
    assert not [
        lab
        for (n, lab) in s2
        if n == "fctarget_kmsg_link_events_total" and ("pci", "0000:02:00.0") in lab
    ]
    acc = prom(guest, "once-accept.prom")
    assert rc(guest, "once-accept") == 0
    port = {"pci": "0000:02:00.0", "host": "host3"}
    assert get(acc, "fctarget_kmsg_link_events_total", event="loop_down", **port) == 1
    assert get(acc, "fctarget_kmsg_link_events_total", event="loop_up", **port) == 1
    assert get(acc, "fctarget_kmsg_link_up", **port) == 1


def test_ring_buffer_overrun_is_counted_and_survived(guest: GuestRun) -> None:
    s4, s5 = prom(guest, "http-4.prom"), prom(guest, "http-5.prom")
    assert get(s4, "fctarget_kmsg_records_lost_total") == 0
    lost = get(s5, "fctarget_kmsg_records_lost_total") or 0
    # 20,000 records of ~150 bytes were written while the follower was stopped: far more than
    # the ring buffer holds, so most are gone and counted from the sequence-number gap
    assert 10_000 < lost < 20_000
    assert (get(s5, "fctarget_kmsg_overruns_total") or 0) >= 1
    assert get(s5, "fctarget_kmsg_follower_up") == 1
    assert get(s5, "fctarget_scrape_collector_success", collector="kmsg") == 1
    seen = (get(s5, "fctarget_kmsg_user_records_ignored_total") or 0) - (
        get(s4, "fctarget_kmsg_user_records_ignored_total") or 0
    )
    assert seen + lost == pytest.approx(20_000, abs=50)  # each record either read or lost


def test_alua_standby_group_and_offline_port(guest: GuestRun) -> None:
    """targetcli set a group to Standby (alua_access_state=2) and one LUN port offline."""
    s = prom(guest, "http-alua.prom")
    bs = {"backstore": "alua0", "backstore_type": "fileio"}
    lun = {"fabric": "loopback", "target": "naa.5001405000000aa1", "tpgt": "1", "lun": "0"}
    assert get(s, "fctarget_lio_alua_tg_pt_gp_state", **bs, tg_pt_gp="ha_b", state="standby") == 1
    assert get(s, "fctarget_lio_alua_tg_pt_gp_members", **bs, tg_pt_gp="ha_b") == 1
    assert get(s, "fctarget_lio_alua_tg_pt_gp_members", **bs, tg_pt_gp="default_tg_pt_gp") == 0
    assert get(s, "fctarget_lio_alua_tg_pt_gp_info", **bs, tg_pt_gp="ha_b", tg_pt_gp_id="5") == 1
    assert get(s, "fctarget_lio_lun_alua_tg_pt_gp_info", **lun, **bs, tg_pt_gp="ha_b") == 1
    assert get(s, "fctarget_lio_lun_alua_offline", **lun) == 1
    assert get(s, "fctarget_lio_backstore_volatile_write_cache", **bs) == 1  # write_back=true
    cfs = dump(guest, "configfs-alua.txt")
    [state] = [v for k, v in cfs.items() if k.endswith("/alua0/alua/ha_b/alua_access_state")]
    assert state == "2"


def test_alua_alert_expression_selects_the_standby_group(guest: GuestRun, tmp_path: Path) -> None:
    """FCTargetALUANoActivePath's expression, evaluated by promtool on the guest's own samples,
    selects alua0 (its only group serving LUNs is Standby) and no other backstore."""
    rules = yaml.safe_load(
        (HERE.parent.parent / "dashboards/rules/lio-risks.rules.yml").read_text()
    )
    [expr] = [
        r["expr"] for g in rules["groups"] for r in g["rules"]
        if r.get("alert") == "FCTargetALUANoActivePath"
    ]  # fmt: skip
    series = []
    for (name, labels), value in prom(guest, "http-alua.prom").items():
        if name.startswith("fctarget_lio_alua_tg_pt_gp_"):
            lab = ",".join(f'{k}="{v}"' for k, v in sorted({**dict(labels), "job": "fctarget",
                           "instance": "guest"}.items()))  # fmt: skip
            series.append({"series": f"{name}{{{lab}}}", "values": f"{value:g}x10"})
    assert len(series) > 10
    (tmp_path / "rule.yml").write_text(yaml.safe_dump(
        {"groups": [{"name": "t", "rules": [{"record": "t:no_active_path", "expr": expr}]}]}
    ))  # fmt: skip
    want = 'backstore="alua0",backstore_type="fileio",instance="guest",job="fctarget"'
    test = {
        "rule_files": ["rule.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "promql_expr_test": [{
                "expr": "t:no_active_path", "eval_time": "5m",
                "exp_samples": [{"labels": f"t:no_active_path{{{want}}}", "value": 1}],
            }],
        }],
    }  # fmt: skip
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    r = subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


# --- scsi_latency: the libbpf CO-RE collector on the real 6.1 kernel ---------------------------

LOOP2 = ("loopback", "naa.50014050000000b2")  # a second initiator on disk0 (scenario.sh)
LAT = "fctarget_scsi_command_duration_seconds"
COMPLETIONS = "fctarget_scsi_completions_total"


def lat_sum(s: Series, name: str, fabric: str, target: str, lun: str, **more: str) -> float:
    """Sum of `name` over the series of one LUN (all ops and initiators)."""
    want = {"fabric": fabric, "target": target, "tpgt": "1", "lun": lun, **more}
    return sum(v for lab, v in named(s, name) if all(lab.get(k) == x for k, x in want.items()))


def test_scsi_latency_attaches_as_root_and_detaches_on_sigterm(guest: GuestRun) -> None:
    s0 = prom(guest, "lat-0.prom")
    assert get(s0, "fctarget_scsi_tracer_up") == 1
    attach = get(s0, "fctarget_scsi_tracer_attach_duration_seconds")
    assert attach is not None and 0 < attach < 30
    before = (guest.out / "lat-progs-before-term.txt").read_text()
    assert "name scsi_start" in before and "name scsi_complete" in before
    assert "tracing" in before  # BPF_PROG_TYPE_TRACING: tp_btf
    after = (guest.out / "lat-progs-after-term.txt").read_text()
    assert "scsi_start" not in after and "scsi_complete" not in after, after
    assert rc(guest, "lat-http") == 0
    assert "Traceback" not in (guest.out / "lat-http.err").read_text()


def test_scsi_latency_histogram_counts_equal_configfs_commands(guest: GuestRun) -> None:
    a, b = prom(guest, "lat-1.prom"), prom(guest, "lat-2.prom")
    ca, cb = dump(guest, "configfs-lat-1.txt"), dump(guest, "configfs-lat-2.txt")
    t0, t1 = (float(x) for x in (guest.out / "lat-io.txt").read_text().split())
    total = 0.0
    for (fabric, wwpn), lun in ((LOOP, "0"), (LOOP, "1"), (ISCSI, "0")):
        f = f"{CFS}/{fabric}/{wwpn}/tpgt_1/lun/lun_{lun}/statistics/scsi_tgt_port/in_cmds"
        cmds = int(cb[f]) - int(ca[f])
        count = lat_sum(b, LAT + "_count", fabric, wwpn, lun) - lat_sum(
            a, LAT + "_count", fabric, wwpn, lun
        )
        inf = lat_sum(b, LAT + "_bucket", fabric, wwpn, lun, le="+Inf") - lat_sum(
            a, LAT + "_bucket", fabric, wwpn, lun, le="+Inf"
        )
        secs = lat_sum(b, LAT + "_sum", fabric, wwpn, lun) - lat_sum(
            a, LAT + "_sum", fabric, wwpn, lun
        )
        print(f"scsi_latency {fabric} lun {lun}: {cmds} commands, histogram {count}, {secs:.4f} s")
        assert cmds > 0 and count == cmds == inf, (fabric, lun, cmds, count)
        assert 1e-6 * cmds < secs
        total += secs
        good = lat_sum(b, COMPLETIONS, fabric, wwpn, lun, status="good") - lat_sum(
            a, COMPLETIONS, fabric, wwpn, lun, status="good"
        )
        assert good == cmds
    # dd runs one command at a time per LUN (iSCSI: at most a few, split requests)
    assert total < 4 * (t1 - t0), (total, t1 - t0)
    for s in (a, b):
        untimed = sum(v for _, v in named(s, "fctarget_scsi_untimed_commands_total"))
        assert untimed == 0


def test_scsi_latency_counts_check_condition_and_reservation_conflict_once(
    guest: GuestRun,
) -> None:
    b, c = prom(guest, "lat-2.prom"), prom(guest, "lat-3.prom")
    assert rc(guest, "lat-sgraw") != 0
    assert "Illegal Request" in (guest.out / "lat-sgraw.txt").read_text()
    ill = {"status": "check_condition", "sense_key": "illegal_request"}
    assert (
        lat_sum(c, COMPLETIONS, *LOOP, "0", **ill) - lat_sum(b, COMPLETIONS, *LOOP, "0", **ill) == 1
    )
    assert rc(guest, "lat-conflict") != 0
    assert "Reservation Conflict" in (guest.out / "lat-conflict.txt").read_text()
    rc_ = {"status": "reservation_conflict"}
    assert lat_sum(b, COMPLETIONS, *LOOP2, "0", **rc_) == 0
    assert lat_sum(c, COMPLETIONS, *LOOP2, "0", **rc_) == 1
    # the holder (initiator 1) saw no conflict; nothing else failed anywhere
    assert lat_sum(c, COMPLETIONS, *LOOP, "0", **rc_) == 0
    bad = [
        (lab, v)
        for lab, v in named(c, COMPLETIONS)
        if lab["status"] not in ("good",) and (lab["status"], lab["sense_key"]) not in (
            ("check_condition", "illegal_request"), ("reservation_conflict", ""),
            ("check_condition", "unit_attention"),
        )
    ]  # fmt: skip
    assert bad == []


def test_scsi_latency_maps_read_by_bpftool_parse_to_what_was_served(guest: GuestRun) -> None:
    """The maps as bpftool dumped them (raw bytes) through the same parser as the exporter."""
    import json

    from exporter.parsers import scsi_latency as p

    maps = {}
    for m in p.MAPS:
        rows = json.loads((guest.out / f"lat-map-{m}.json").read_text())
        maps[m] = [
            (bytes(int(x, 16) for x in e["key"]), bytes(int(x, 16) for x in e["value"]))
            for e in rows
        ]
    snap = p.resolve(p.parse_maps(maps), by_initiator=True)
    c = prom(guest, "lat-3.prom")
    for comp in snap.completions:
        nx = comp.nexus
        assert get(
            c, COMPLETIONS, fabric=nx.fabric, target=nx.target, tpgt=nx.tpgt,
            initiator=nx.initiator, lun=comp.lun, status=comp.status, sense_key=comp.sense_key,
        ) == comp.count  # fmt: skip
    assert len(snap.completions) == len(named(c, COMPLETIONS)) > 3


def test_scsi_latency_unprivileged_fails_with_the_capability_message(guest: GuestRun) -> None:
    err = (guest.out / "lat-nobody.err").read_text()
    assert "needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN" in err, err
    assert "uid 65534" in err and "Traceback" not in err
    assert get(prom(guest, "lat-nobody.prom"), "fctarget_scsi_tracer_up") == 0


def test_scsi_latency_overhead(guest: GuestRun) -> None:
    """Start-up and per-event cost (kernel.bpf_stats_enabled=1), printed for docs/performance.md."""
    import json

    t0, t1 = (float(x) for x in (guest.out / "lat-startup.txt").read_text().split())
    io0, io1 = (float(x) for x in (guest.out / "lat-io.txt").read_text().split())
    progs = {
        p["name"]: p
        for p in json.loads((guest.out / "lat-progs-stats.json").read_text())
        if p.get("name") in ("scsi_start", "scsi_complete")
    }
    assert set(progs) == {"scsi_start", "scsi_complete"}
    for name, p in progs.items():
        assert p["run_cnt"] > 0 and p["run_time_ns"] > 0
        per_run = p["run_time_ns"] / p["run_cnt"]
        print(f"scsi_latency {name}: {p['run_cnt']} runs, {per_run:.0f} ns/run")
    steps = (guest.out / "steps.log").read_text()
    marks = {
        m.group(2): float(m.group(1))
        for m in re.finditer(
            r"^\[([\d.]+)\] (scsi_latency: [^\n]+|unprivileged exporter)", steps, re.M
        )
    }
    added = (
        float((guest.out / "lat-end.txt").read_text())
        - marks["scsi_latency: eBPF collector as root"]
    )
    attach = get(prom(guest, "lat-0.prom"), "fctarget_scsi_tracer_attach_duration_seconds")
    print(
        f"scsi_latency: load+attach {attach:.2f} s, exporter launch to tracer up {t1 - t0:.1f} s "
        f"(overlapping other steps), I/O window {io1 - io0:.2f} s, "
        f"guest time added {added:.1f} s"
    )
    assert t1 - t0 < 120 and added < 60
