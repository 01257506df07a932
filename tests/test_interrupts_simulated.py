"""interrupts and hba collectors on the simulated host, in every irq_names x interrupts_shape
variant: every value must equal what the simulated files say (the simulator's own model)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from exporter.collector import CollectorContext, Output
from exporter.collectors.hba import HbaCollector
from exporter.collectors.interrupts import InterruptsCollector
from exporter.logsetup import RateLimitedLog
from exporter.simulate import SimulatedHost
from exporter.simulate.model import SimParams, Vector

LOG = logging.getLogger("test.interrupts.sim")

Rows = dict[tuple[str, ...], float]


def collect(sim: SimulatedHost, collector: type[InterruptsCollector | HbaCollector]) -> Output:
    ctx = CollectorContext(
        sim.paths, argparse.Namespace(hba_refresh_interval=0.0), LOG, RateLimitedLog(LOG)
    )
    out = Output(collector.name, RateLimitedLog(LOG))
    collector(ctx).collect_blocking(out)
    return out


def rows(out: Output, name: str) -> Rows:
    fam = out.families.get(name.removesuffix("_total"))
    return dict(fam.rows) if fam is not None else {}


def vector_label(sim: SimulatedHost, v: Vector) -> str:
    if v.kind != "qpair":
        return v.kind
    return "multiq" if sim.params.irq_names == "legacy" else f"qpair{v.qpair}"


def expected(sim: SimulatedHost) -> dict[str, Rows]:
    want: dict[str, Rows] = {
        "fctarget_irq_interrupts_total": {},
        "fctarget_irq_remote_numa_interrupts_total": {},
        "fctarget_irq_affinity_cpus": {},
    }
    for port in sim.ports:
        local = set(sim.node_cpus[port.node])
        for v in port.vectors:
            base = (port.pci, port.host, str(v.irq), vector_label(sim, v))
            for cpu, n in enumerate(v.counts):
                if n:
                    want["fctarget_irq_interrupts_total"][(*base, str(cpu))] = n
            far = sum(n for cpu, n in enumerate(v.counts) if cpu not in local)
            want["fctarget_irq_remote_numa_interrupts_total"][base] = far
            want["fctarget_irq_affinity_cpus"][(*base, "allowed")] = len(v.allowed)
            want["fctarget_irq_affinity_cpus"][(*base, "effective")] = 1
    return want


def check(sim: SimulatedHost) -> None:
    out = collect(sim, InterruptsCollector)
    assert out.errors == []
    for name, want in expected(sim).items():
        assert rows(out, name) == want, name
    info = rows(out, "fctarget_irq_info")
    effective_cpu = rows(out, "fctarget_irq_effective_cpu")
    assert len(info) == sum(len(p.vectors) for p in sim.ports)
    by_irq = {key[2]: key for key in info}
    for v in sim.vectors():
        key = by_irq[str(v.irq)]
        assert key[4] == v.name
        assert len(key) == 6  # pci, host, irq, vector, action, chip: no CPU lists
        d = Path(sim.paths.proc("irq", str(v.irq)))
        effective = (d / "effective_affinity_list").read_text().strip()
        first = int(effective.split(",")[0].split("-")[0])
        assert effective_cpu[key[:4]] == first
    assert len(effective_cpu) == len(info)


VARIANTS = [(names, shape) for names in ("modern", "legacy") for shape in ("3.x", "6.1", "6.18")]


@pytest.mark.parametrize(("irq_names", "shape"), VARIANTS)
def test_every_variant_matches_the_simulated_files(
    tmp_path: Path, irq_names: str, shape: str
) -> None:
    sim = SimulatedHost(
        str(tmp_path), SimParams(ports=3, cpus=6, irq_names=irq_names, interrupts_shape=shape)
    )
    sim.build()
    check(sim)
    sim.advance(7.5)
    check(sim)
    # sanity of the fixture itself: traffic happened and reached more than one CPU
    total = rows(collect(sim, InterruptsCollector), "fctarget_irq_interrupts_total")
    assert sum(total.values()) > 0 and len({k[4] for k in total}) > 1


@pytest.mark.parametrize("spread", ["balanced", "skewed", "remote_numa"])
def test_irq_spread_modes(tmp_path: Path, spread: str) -> None:
    sim = SimulatedHost(str(tmp_path), SimParams(irq_spread=spread, cpus=8, numa_nodes=2))
    sim.build()
    sim.advance(5.0)
    check(sim)
    remote = rows(collect(sim, InterruptsCollector), "fctarget_irq_remote_numa_interrupts_total")
    if spread == "remote_numa":
        assert sum(remote.values()) > 0
    else:
        assert sum(remote.values()) == 0


def test_hba_ports_and_cpus(tmp_path: Path) -> None:
    sim = SimulatedHost(str(tmp_path), SimParams(ports=4, cpus=6, numa_nodes=3))
    sim.build()
    out = collect(sim, HbaCollector)
    assert out.errors == []
    want: Rows = {}
    for port in sim.ports:
        want[
            (
                port.pci,
                port.host,
                port.wwpn_colon,
                ":".join(f"{port.wwnn:016x}"[i : i + 2] for i in range(0, 16, 2)),
                str(port.node),
            )
        ] = 1
    assert rows(out, "fctarget_hba_info") == want
    assert "fctarget_irq_cpu_info" not in out.families  # served by interrupts
    out = collect(sim, InterruptsCollector)
    cpus = rows(out, "fctarget_irq_cpu_info")
    assert cpus == {(str(c), str(n)): 1 for n, node in enumerate(sim.node_cpus) for c in node}
