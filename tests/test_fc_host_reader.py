"""readers/fc_sysfs.py on the two-port fixture tree (exact values), and the fc_host collector's
emit on hand-built snapshots (snapshot in, families out)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from exporter.collector import CollectorContext, Output
from exporter.collectors.fc_host import FcHostCollector, FcHostOptions
from exporter.flags import build_parser
from exporter.logsetup import RateLimitedLog
from exporter.parsers.fc_host import ActiveMode
from exporter.paths import HostPaths
from exporter.readers.fc_sysfs import (
    Adapter,
    FcPort,
    FcSnapshot,
    FcStats,
    StatsCache,
    read_fc_sysfs,
    read_port_names,
)
from exporter.readers.problems import Problems
from tests.test_fc_host_collector import FC7, build_tree, load_fixture

LOG = logging.getLogger("test.fc_host.reader")
FIXTURE = Path(__file__).parent / "fixtures" / "fc_host" / "qle2672-two-ports.txt"


@pytest.fixture
def paths(tmp_path: Path) -> HostPaths:
    return build_tree(tmp_path, load_fixture(FIXTURE))


def test_read_fc_sysfs_exact_values(paths: HostPaths) -> None:
    problems = Problems("fc_host")
    snap = read_fc_sysfs(paths, problems, StatsCache(0.0, clock=lambda: 50.0))
    assert problems.items == []
    assert snap.qlini_mode == "disabled" and snap.taken == 50.0
    assert [p.host for p in snap.ports] == ["host6", "host7"]
    host6, host7 = snap.ports
    assert host7.stats is not None
    assert host7.stats.values["lip_count"] == 4
    assert host7.stats.values["fc_xid_busy"] is None  # all ones
    assert "reset_statistics" not in host7.stats.values
    assert len(host7.stats.values) == 51
    assert host7 == FcPort(
        host="host7",
        pci="0000:83:00.1",
        wwpn="21:00:00:24:ff:31:4c:48",
        wwnn="20:00:00:24:ff:31:4c:48",
        port_id=0x010200,
        port_type="NPort (fabric via point-to-point)",
        port_state="Online",
        fabric_name="10:00:00:05:1e:0a:5b:01",
        symbolic_name="QLE2672 FW:v8.07.12 DVR:v10.02.07.900-k",
        system_hostname="",
        supported_speeds=("4 Gbit", "8 Gbit", "16 Gbit"),
        supported_classes="Class 3",
        tgtid_bind_type="wwpn",
        speed_bits=16e9,
        dev_loss_tmo=30,
        max_npiv_vports=254,
        npiv_vports_inuse=0,
        adapter=Adapter(
            "qla2xxx",
            "QLE2672",
            "QLogic 16Gb 2-port FC to PCIe Gen3 x8 Adapter",
            "RFD1419K12345",
            "8.07.12 (d0d5)",
            "10.02.07.900-k",
        ),
        topology="F_Port",
        isp_aborts=3,
        active_mode=ActiveMode(initiator=False, target=True),
        stats=host7.stats,
    )
    # link down: no topology, no speed, no fabric; port id 0
    assert (host6.port_state, host6.topology, host6.speed_bits) == ("Linkdown", None, None)
    assert (host6.port_id, host6.fabric_name) == (0, "")


def test_stats_cache_serves_within_interval_and_replays_problems(
    tmp_path: Path, paths: HostPaths
) -> None:
    lip = tmp_path / "sys" / FC7 / "statistics" / "lip_count"
    bad = tmp_path / "sys" / FC7 / "statistics" / "tx_frames"
    bad.write_text("lots\n")
    now = [100.0]
    cache = StatsCache(5.0, clock=lambda: now[0])
    first = Problems("fc_host")
    read_fc_sysfs(paths, first, cache)
    lip.write_text("0x9\n")
    now[0] += 4.9
    again = Problems("fc_host")
    snap = read_fc_sysfs(paths, again, cache)
    host7 = snap.ports[1].stats
    assert host7 is not None and host7.values["lip_count"] == 4 and host7.taken == 100.0
    want = ["fc_host:host7/statistics/tx_frames:parse"]
    assert [p.key for p in first.items] == [p.key for p in again.items] == want
    now[0] += 0.1
    snap = read_fc_sysfs(paths, Problems("fc_host"), cache)
    fresh = snap.ports[1].stats
    assert fresh is not None and fresh.values["lip_count"] == 9 and fresh.taken == 105.0
    assert set(cache.snapshots) == {"host6", "host7"}


def test_read_port_names(paths: HostPaths) -> None:
    problems = Problems("pci")
    assert read_port_names(paths, "host7", problems) == (
        "21:00:00:24:ff:31:4c:48",
        "20:00:00:24:ff:31:4c:48",
    )
    assert read_port_names(paths, "host99", problems) == ("", "")  # no such host: not a problem
    assert problems.items == []


# ------------------------------------------------------------------------- emit


def collector(interval: float = 5.0) -> FcHostCollector:
    args = argparse.Namespace(fc_host_stats_min_interval=interval)
    return FcHostCollector(CollectorContext(HostPaths(), args, LOG, RateLimitedLog(LOG)))


def rows(out: Output) -> dict[str, dict[tuple[str, ...], float]]:
    return {f.sample_name: dict(f.rows) for f in out.metrics()}


def test_emit_online_port() -> None:
    stats = FcStats(7.0, b"", {"lip_count": 2, "fc_xid_busy": None, "fcp_input_megabytes": 3,
                               "seconds_since_last_reset": 40, "fc_new_thing": 5})  # fmt: skip
    port = FcPort(
        host="host7",
        pci="0000:83:00.1",
        wwpn="w",
        wwnn="n",
        port_id=66048,
        port_type="NPort (fabric via point-to-point)",
        port_state="Online",
        fabric_name="f",
        supported_speeds=("8 Gbit", "16 Gbit"),
        speed_bits=16e9,
        adapter=Adapter("qla2xxx", "QLE2672"),
        topology="F_Port",
        isp_aborts=1,
        active_mode=ActiveMode(initiator=False, target=True),
        stats=stats,
    )
    out = Output("fc_host", RateLimitedLog(LOG))
    collector().emit(FcSnapshot("enabled", (port,), 10.0), out)
    p = ("0000:83:00.1", "host7", "w")
    got = rows(out)
    assert list(got)[:6] == [
        "fctarget_fc_host_qlini_mode_info",
        "fctarget_fc_host_qlini_mode_allows_target",
        "fctarget_fc_host_info",
        "fctarget_fc_host_port_id",
        "fctarget_fc_host_fabric_info",
        "fctarget_fc_host_link_up",
    ]
    assert got["fctarget_fc_host_qlini_mode_info"] == {("enabled",): 1}
    assert got["fctarget_fc_host_qlini_mode_allows_target"] == {(): 0}
    assert got["fctarget_fc_host_info"] == {(*p, "n", "", "", "8 Gbit, 16 Gbit", "", ""): 1}
    assert got["fctarget_fc_host_port_id"] == {p: 66048}
    assert got["fctarget_fc_host_fabric_info"] == {
        (*p, "f", "NPort (fabric via point-to-point)"): 1
    }
    assert got["fctarget_fc_host_link_up"] == {p: 1}
    assert got["fctarget_fc_host_port_state"][(*p, "Online")] == 1
    assert sum(got["fctarget_fc_host_port_state"].values()) == 1
    assert got["fctarget_fc_host_speed_bytes_per_second"] == {p: 2e9}
    assert got["fctarget_fc_host_adapter_info"] == {(*p, "qla2xxx", "QLE2672", "", "", "", ""): 1}
    assert got["fctarget_fc_host_topology"] == {
        (*p, "Loop"): 0,
        (*p, "FL_Port"): 0,
        (*p, "N_Port to N_Port"): 0,
        (*p, "F_Port"): 1,
    }
    assert got["fctarget_fc_host_isp_aborts_total"] == {p: 1}
    assert got["fctarget_fc_host_target_mode_active"] == {p: 1}
    assert got["fctarget_fc_host_initiator_mode_active"] == {p: 0}
    assert got["fctarget_fc_host_stats_age_seconds"] == {p: 3.0}
    assert got["fctarget_fc_host_lip_total"] == {p: 2}
    assert got["fctarget_fc_host_fcp_input_bytes_total"] == {p: 3 * 2**20}
    assert got["fctarget_fc_host_stats_reset_age_seconds"] == {p: 40}
    assert got["fctarget_fc_host_other_statistic_total"] == {(*p, "fc_new_thing"): 5}
    assert "fctarget_fc_host_fc_xid_busy_total" not in got  # all ones: omitted
    assert "fctarget_fc_host_dev_loss_tmo_seconds" not in got  # unknown: no series


def test_emit_port_down_unknown_state_and_no_module() -> None:
    port = FcPort(host="host6", pci="", wwpn="", port_state="Hibernating", port_id=0)
    out = Output("fc_host", RateLimitedLog(LOG))
    collector().emit(FcSnapshot(None, (port,), 0.0), out)
    got = rows(out)
    p = ("", "host6", "")
    assert "fctarget_fc_host_qlini_mode_info" not in got
    assert "fctarget_fc_host_fabric_info" not in got  # not Online
    assert "fctarget_fc_host_topology" not in got  # link not up
    assert "fctarget_fc_host_adapter_info" not in got  # no identity at all
    assert "fctarget_fc_host_stats_age_seconds" not in got
    assert got["fctarget_fc_host_link_up"] == {p: 0}
    assert got["fctarget_fc_host_port_state"][(*p, "Hibernating")] == 1
    assert len(got["fctarget_fc_host_port_state"]) == 13  # the 12 known states + this one
    assert got["fctarget_fc_host_port_id"] == {p: 0}


def test_options_from_flags() -> None:
    assert FcHostOptions.from_args(build_parser().parse_args([])) == FcHostOptions(5.0)
    args = build_parser().parse_args(["--collector.fc_host.stats-min-interval", "0.5"])
    assert FcHostOptions.from_args(args).stats_min_interval == 0.5
    assert collector(2.0).stats.min_interval == 2.0
