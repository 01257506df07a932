"""The lio collector on the simulated qla2xxx host: values equal the simulator's own state."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import run_exporter
from tests.test_lio_collector import enodev
from tests.test_lio_dumptree import Scrape, run_lio

MIB = 2**20
U32 = 0xFFFFFFFF
TYPES = {"fileio": "fileio", "iblock": "block", "rd_mcp": "ramdisk"}


@pytest.fixture
def sim(tmp_path: Path) -> SimulatedHost:
    host = SimulatedHost(
        str(tmp_path / "host"),
        SimParams(ports=2, luns=9, initiators=3, mapped_luns_per_initiator=3, dynamic_sessions=2),
    )
    host.build()
    host.advance(30.0)
    return host


def kernel_like(sim: SimulatedHost) -> None:
    """Give the simulated tree the kernel's answer for an initiator without a session.

    The simulator (unprivileged, so without device nodes) removes a mapped LUN's
    scsi_att_intr_port/port_ident while the initiator is logged out; the kernel keeps the file
    and fails its read with ENODEV (target_core_stat.c). The reader follows the kernel only.
    """
    for ident_dir in Path(sim.paths.configfs).glob(
        "target/*/*/tpgt_*/acls/*/lun_*/statistics/scsi_att_intr_port"
    ):
        if not (ident_dir / "port_ident").exists():
            enodev(ident_dir / "port_ident")


def scrape(sim: SimulatedHost, *flags: str) -> Scrape:
    kernel_like(sim)
    return run_lio(Path(sim.paths.configfs), *flags, sysfs=Path(sim.paths.sysfs))


def tpg_labels(sim: SimulatedHost, port: int) -> dict[str, str]:
    return {"fabric": "qla2xxx", "target": sim.port(port).wwpn_colon, "tpgt": "1"}


def test_lun_counters_and_mapping_equal_the_simulator(sim: SimulatedHost) -> None:
    s = scrape(sim)
    assert s.errors == []
    seen = 0
    for port in sim.ports:
        tl = tpg_labels(sim, port.index)
        assert s.value("fctarget_lio_tpg_enabled", **tl) == 1.0
        assert s.value("fctarget_lio_tpg_luns", **tl) == len(port.luns)
        for lun in port.luns:
            cmds, rb, wb = sim.expected_lun_totals(port.index, lun.lun)
            ll = {**tl, "lun": str(lun.lun)}
            assert cmds > 0
            assert s.value("fctarget_lio_lun_commands_total", **ll) == cmds
            # the kernel prints (u32)(bytes >> 20)
            assert s.value("fctarget_lio_lun_read_bytes_total", **ll) == ((rb >> 20) & U32) * MIB
            assert s.value("fctarget_lio_lun_write_bytes_total", **ll) == ((wb >> 20) & U32) * MIB
            bs = lun.backstore
            info = {**ll, "backstore_type": TYPES[bs.plugin], "backstore": bs.name}
            assert s.value("fctarget_lio_lun_info", **info) == 1.0
            seen += 1
    assert seen == 9


def test_initiators_and_sessions_equal_the_simulator(sim: SimulatedHost) -> None:
    sim.logout(1, 2)
    agg = scrape(sim)
    per = scrape(sim, "--collector.lio.initiator-luns")
    for port in sim.ports:
        tl = tpg_labels(sim, port.index)
        assert agg.value("fctarget_lio_tpg_acls", **tl) == len(port.acls)
        active = sum(1 for a in port.acls if a.session)
        assert agg.value("fctarget_lio_tpg_sessions", **tl) == active + len(port.dynamic)
        for d in port.dynamic:
            assert agg.value("fctarget_lio_dynamic_session_info", initiator=d.name, **tl) == 1.0
        for acl in port.acls:
            al = {**tl, "initiator": acl.name}
            assert agg.value("fctarget_lio_acl_session_active", **al) == (
                1.0 if acl.session else 0.0
            )
            assert agg.value("fctarget_lio_acl_mapped_luns", **al) == len(acl.mapped)
            for m in acl.mapped:
                ml = {**al, "mapped_lun": str(m.mapped_lun)}
                assert per.value("fctarget_lio_acl_mapped_lun_commands_total", **ml) == m.cmds
                assert per.value("fctarget_lio_acl_mapped_lun_read_bytes_total", **ml) == (
                    ((m.read_bytes >> 20) & U32) * MIB
                )
            assert agg.value("fctarget_lio_acl_commands_total", **al) == sum(
                m.cmds for m in acl.mapped
            )
            assert agg.value("fctarget_lio_acl_write_bytes_total", **al) == MIB * sum(
                (m.write_bytes >> 20) & U32 for m in acl.mapped
            )
    assert (
        agg.value(
            "fctarget_lio_acl_session_active", initiator=sim.acl(1, 2).name, **tpg_labels(sim, 1)
        )
        == 0
    )
    sim.login(1, 2)
    again = scrape(sim)
    assert (
        again.value(
            "fctarget_lio_acl_session_active", initiator=sim.acl(1, 2).name, **tpg_labels(sim, 1)
        )
        == 1.0
    )


def test_backstores_equal_the_simulator(sim: SimulatedHost) -> None:
    s = scrape(sim)
    info = {dict(k)["backstore"]: dict(k) for k in s.series("fctarget_lio_backstore_info")}
    assert len(info) == len(sim.backstores)
    for bs in sim.backstores:
        bl = {"backstore_type": TYPES[bs.plugin], "backstore": bs.name}
        assert s.value("fctarget_lio_backstore_commands_total", **bl) == bs.cmds
        assert (
            s.value("fctarget_lio_backstore_read_bytes_total", **bl) == (bs.read_bytes >> 20) * MIB
        )
        assert s.value("fctarget_lio_backstore_write_bytes_total", **bl) == (
            (bs.write_bytes >> 20) * MIB
        )
        assert s.value("fctarget_lio_backstore_luns", **bl) == bs.export_count
        assert s.value("fctarget_lio_backstore_write_cache_enabled", **bl) == float(bs.write_cache)
        assert info[bs.name]["serial"] == bs.serial
        assert info[bs.name]["core_hba"] == bs.hba_dir
        assert info[bs.name]["naa"].startswith("naa.6001405" + bs.serial[:8])
        # iblock: from <sysfs>/class/block/<bdev>/size (sectors); the others from `info`
        assert s.get("fctarget_lio_backstore_size_bytes", **bl) == bs.size


def test_removed_lun_and_link_down(sim: SimulatedHost) -> None:
    sim.remove_lun(0, 1)
    sim.link_down(1)
    s = scrape(sim)
    assert s.errors == []
    t0 = tpg_labels(sim, 0)
    assert s.get("fctarget_lio_lun_commands_total", lun="1", **t0) is None
    assert s.value("fctarget_lio_tpg_luns", **t0) == len(
        [x for x in sim.ports[0].luns if x.present]
    )
    t1 = tpg_labels(sim, 1)
    assert s.value("fctarget_lio_tpg_sessions", **t1) == 0.0  # no session while the link is down
    for acl in sim.ports[1].acls:
        assert s.value("fctarget_lio_acl_session_active", initiator=acl.name, **t1) == 0.0


def test_exposition_passes_promtool_with_every_option(sim: SimulatedHost) -> None:
    """Names, types and HELP of every lio family (all options on) satisfy `promtool check`."""
    sim.logout(0, 0)
    kernel_like(sim)
    p = sim.paths
    r = run_exporter(
        "--once",
        "--collector.disable-defaults",
        "--collector.lio",
        "--collector.lio.always-zero-stats",
        "--collector.lio.initiator-luns",
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
    )
    assert r.returncode == 0, r.stderr
    assert "fctarget_lio_lun_busy_statuses_total{" in r.stdout
    assert "fctarget_lio_acl_mapped_lun_commands_total{" in r.stdout
    check = subprocess.run(
        ["promtool", "check", "metrics"],
        input=r.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
