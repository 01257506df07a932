"""The fc_host collector on the simulated qla2xxx host: exported values equal its files."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import pytest

from exporter.collector import CollectorContext
from exporter.collectors.fc_host import FcHostCollector
from exporter.logsetup import RateLimitedLog
from exporter.simulate import SimParams, SimulatedHost
from tests.collect_helpers import collect, port_labels

LOG = logging.getLogger("test.fc_host.sim")
ALL_ONES = 2**64 - 1


@pytest.fixture
def sim(tmp_path: Path) -> SimulatedHost:
    host = SimulatedHost(
        str(tmp_path), SimParams(ports=2, cpus=4, luns=2, initiators=1, qpairs=1, seed=3)
    )
    host.build()
    host.advance(10.0)
    return host


def collector(sim: SimulatedHost, interval: float = 0.0) -> FcHostCollector:
    args = argparse.Namespace(fc_host_stats_min_interval=interval)
    return FcHostCollector(CollectorContext(sim.paths, args, LOG, RateLimitedLog(LOG)))


def stat_files(sim: SimulatedHost, i: int) -> dict[str, int]:
    """The simulated statistics files, read and decoded here (`0x%llx`), not by the exporter."""
    d = os.path.join(sim.paths.sysfs, "class", "fc_host", sim.port(i).host, "statistics")
    out: dict[str, int] = {}
    for name in os.listdir(d):
        if name == "reset_statistics":
            continue
        with open(os.path.join(d, name)) as f:
            text = f.read()
        assert text.startswith("0x") and text.endswith("\n")
        out[name] = int(text, 16)
    return out


def metric_for(name: str) -> str:
    if name == "seconds_since_last_reset":
        return "fctarget_fc_host_stats_reset_age_seconds"
    if name.endswith("_megabytes"):
        return f"fctarget_fc_host_{name.removesuffix('_megabytes')}_bytes_total"
    return f"fctarget_fc_host_{name.removesuffix('_count')}_total"


def test_values_equal_the_simulated_files(sim: SimulatedHost) -> None:
    got, out = collect(collector(sim))
    assert out.errors == []
    for i in range(2):
        files = stat_files(sim, i)
        assert len(files) >= 8
        for name, raw in files.items():
            key = (metric_for(name), port_labels(sim, i))
            if raw == ALL_ONES:
                assert key not in got, name  # unsupported: omitted
            else:
                scale = 2**20 if name.endswith("_megabytes") else 1
                assert got[key] == raw * scale, name
        assert got[("fctarget_fc_host_link_up", port_labels(sim, i))] == 1
        assert got[("fctarget_fc_host_speed_bytes_per_second", port_labels(sim, i))] == (
            sim.port(i).speed_gbit * 1e9 / 8
        )
        assert got[("fctarget_fc_host_target_mode_active", port_labels(sim, i))] == 1
    assert got[("fctarget_fc_host_qlini_mode_allows_target", frozenset())] == 1


def test_link_down_and_flap(sim: SimulatedHost) -> None:
    c = collector(sim)
    before, _ = collect(c)
    lip = ("fctarget_fc_host_lip_total", port_labels(sim, 1))
    link_failures = ("fctarget_fc_host_link_failure_total", port_labels(sim, 0))

    sim.link_down(0)
    got, out = collect(c)
    assert out.errors == []
    assert got[("fctarget_fc_host_link_up", port_labels(sim, 0))] == 0
    assert got[("fctarget_fc_host_port_state", port_labels(sim, 0, state="Linkdown"))] == 1
    assert got[("fctarget_fc_host_port_state", port_labels(sim, 0, state="Online"))] == 0
    assert ("fctarget_fc_host_speed_bytes_per_second", port_labels(sim, 0)) not in got
    assert [
        k for k in got if k[0] == "fctarget_fc_host_topology" and k[1] >= port_labels(sim, 0)
    ] == []
    assert got[link_failures] == before[link_failures] + 1
    assert (
        got[("fctarget_fc_host_link_up", port_labels(sim, 1))] == 1
    )  # the other port is untouched

    sim.flap(1)
    got, _ = collect(c)
    assert got[lip] == before[lip] + 1
    assert got[("fctarget_fc_host_link_up", port_labels(sim, 1))] == 1

    sim.link_up(0)
    got, _ = collect(c)
    assert got[("fctarget_fc_host_link_up", port_labels(sim, 0))] == 1
    assert got[("fctarget_fc_host_topology", port_labels(sim, 0, topology="F_Port"))] == 1
    assert got[("fctarget_fc_host_topology", port_labels(sim, 0, topology="Loop"))] == 0


def test_counters_grow_with_traffic_and_cache_holds_them(sim: SimulatedHost) -> None:
    clock = [100.0]
    c = collector(sim, interval=5.0)
    c.stats.clock = lambda: clock[0]
    key = ("fctarget_fc_host_rx_frames_total", port_labels(sim, 0))
    first, _ = collect(c)
    sim.advance(30.0)
    clock[0] += 1.0
    cached, _ = collect(c)
    assert cached[key] == first[key]  # inside the interval: no new mailbox reads
    clock[0] += 5.0
    fresh, _ = collect(c)
    assert fresh[key] == stat_files(sim, 0)["rx_frames"]
    assert fresh[key] > first[key]
