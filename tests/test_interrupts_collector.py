"""The interrupts and hba collectors on real-layout trees: exact series, failures, exposition."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from exporter.collector import CollectorContext, Output
from exporter.collectors.hba import HbaCollector
from exporter.collectors.interrupts import InterruptsCollector
from exporter.logsetup import RateLimitedLog
from exporter.paths import HostPaths
from exporter.scrape import Scraper
from tests.test_hba_map import Port, Tree, build

LOG = logging.getLogger("test.interrupts")
FIX = Path(__file__).parent / "fixtures" / "interrupts"

# qla-3.10-legacy-2ports.txt: IRQs 74-76 belong to 0000:04:00.0, 77-79 to 0000:04:00.1.
PORT_A = Port("0000:04:00.0", 3, "0x21000024ff314c48", "0x20000024ff314c48", 0, [74, 75, 76])
PORT_B = Port("0000:04:00.1", 4, "0x21000024ff314c49", "0x20000024ff314c49", 1, [77, 78, 79])
A = ("0000:04:00.0", "host3")
B = ("0000:04:00.1", "host4")

Series = set[tuple[str, tuple[tuple[str, str], ...], float]]


def ctx(paths: HostPaths) -> CollectorContext:
    args = argparse.Namespace(hba_refresh_interval=60.0)
    return CollectorContext(paths, args, LOG, RateLimitedLog(LOG))


def series(out: Output) -> Series:
    got: Series = set()
    for fam in out.metrics():
        for key, value in fam.rows.items():
            got.add((fam.sample_name, tuple(zip(fam.labelnames, key, strict=True)), value))
    return got


def irq_files(root: Path, irq: int, **files: str) -> None:
    d = root / "proc" / "irq" / str(irq)
    d.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (d / name).write_text(content + "\n")


def legacy_tree(tmp_path: Path) -> HostPaths:
    paths = build(tmp_path, Tree([PORT_A, PORT_B], nodes={0: "0-1", 1: "2-3"}, online="0-3"))
    shutil.copy(FIX / "qla-3.10-legacy-2ports.txt", tmp_path / "proc" / "interrupts")
    irq_files(tmp_path, 74, smp_affinity_list="0-3", effective_affinity_list="0")
    irq_files(tmp_path, 75, smp_affinity_list="0-3", effective_affinity_list="1")
    irq_files(tmp_path, 76, smp_affinity="f", effective_affinity="4")  # masks only
    irq_files(tmp_path, 77, smp_affinity_list="2-3", effective_affinity_list="2")
    irq_files(tmp_path, 79, smp_affinity_list="0,2")  # no effective affinity; 78: nothing
    return paths


def irq_series(pci: str, host: str, irq: int, vector: str) -> tuple[tuple[str, str], ...]:
    return (("pci", pci), ("host", host), ("irq", str(irq)), ("vector", vector))


def expected_legacy() -> Series:
    want: Series = set()
    # (owner, irq, vector, {cpu: count}, remote, allowed, effective) from the fixture files
    rows = [
        (A, 74, "default", {0: 15}, 0, "0-3", "0"),
        (A, 75, "rsp_q", {1: 5000}, 0, "0-3", "1"),
        (A, 76, "multiq", {2: 321}, 321, "0-3", "2"),
        (B, 77, "default", {0: 11}, 11, "2-3", "2"),
        (B, 78, "rsp_q", {3: 4000}, 0, "", ""),
        (B, 79, "multiq", {2: 77}, 0, "0,2", ""),
    ]
    sizes = {"0-3": 4, "2-3": 2, "0,2": 2, "0": 1, "1": 1, "2": 1}
    for (pci, host), irq, vector, per_cpu, remote, allowed, effective in rows:
        base = irq_series(pci, host, irq, vector)
        for cpu, n in per_cpu.items():
            want.add(("fctarget_irq_interrupts_total", (*base, ("cpu", str(cpu))), n))
        want.add(("fctarget_irq_remote_numa_interrupts_total", base, remote))
        for kind, cpus in (("allowed", allowed), ("effective", effective)):
            if cpus:
                want.add(("fctarget_irq_affinity_cpus", (*base, ("kind", kind)), sizes[cpus]))
        info = (*base, ("action", f"qla2xxx ({vector})"), ("chip", "IR-PCI-MSI"))
        want.add(("fctarget_irq_info", info, 1))
        if effective:
            want.add(("fctarget_irq_effective_cpu", base, int(effective.split("-")[0])))
    return want | CPUS


# devices/system/node: node0 = CPUs 0-1, node1 = CPUs 2-3
CPUS: Series = {
    ("fctarget_irq_cpu_info", (("cpu", str(c)), ("numa_node", str(c // 2))), 1) for c in range(4)
}


def test_interrupts_exact_series_legacy_two_ports(tmp_path: Path) -> None:
    paths = legacy_tree(tmp_path)
    out = Output("interrupts", RateLimitedLog(LOG))
    asyncio.run(InterruptsCollector(ctx(paths)).collect(out))
    assert out.errors == []
    assert series(out) == expected_legacy()


def test_hba_exact_series(tmp_path: Path) -> None:
    paths = legacy_tree(tmp_path)
    out = Output("hba", RateLimitedLog(LOG))
    HbaCollector(ctx(paths)).collect_blocking(out)
    assert out.errors == []
    assert series(out) == {
        (
            "fctarget_hba_info",
            (
                ("pci", "0000:04:00.0"),
                ("host", "host3"),
                ("wwpn", "21:00:00:24:ff:31:4c:48"),
                ("wwnn", "20:00:00:24:ff:31:4c:48"),
                ("numa_node", "0"),
            ),
            1,
        ),
        (
            "fctarget_hba_info",
            (
                ("pci", "0000:04:00.1"),
                ("host", "host4"),
                ("wwpn", "21:00:00:24:ff:31:4c:49"),
                ("wwnn", "20:00:00:24:ff:31:4c:49"),
                ("numa_node", "1"),
            ),
            1,
        ),
    }


def test_cpu_info_is_served_by_interrupts(tmp_path: Path) -> None:
    out = Output("interrupts", RateLimitedLog(LOG))
    InterruptsCollector(ctx(legacy_tree(tmp_path))).collect_blocking(out)
    assert {s for s in series(out) if s[0] == "fctarget_irq_cpu_info"} == CPUS


def test_modern_names_unmapped_and_shared_intx(tmp_path: Path) -> None:
    """4.19 shape, CPU2 offline. host7 has msi_irqs; host8 has none listed (mapped by the host
    number in its names); the shared INTx line 16 has no qla2xxx owner -> empty pci/host."""
    p7 = Port("0000:83:00.0", 7, "0x21", "0x20", 0, list(range(110, 115)))
    p8 = Port("0000:83:00.1", 8, "0x23", "0x22", 1, [])
    paths = build(tmp_path, Tree([p7, p8], nodes={0: "0-1", 1: "3-4"}))
    shutil.copy(FIX / "qla-4.19-modern-noncontig.txt", tmp_path / "proc" / "interrupts")
    out = Output("interrupts", RateLimitedLog(LOG))
    InterruptsCollector(ctx(paths)).collect_blocking(out)
    assert out.errors == []
    got = series(out)
    totals = {
        (dict(lbl)["pci"], dict(lbl)["host"], dict(lbl)["irq"], dict(lbl)["cpu"]): v
        for name, lbl, v in got
        if name == "fctarget_irq_interrupts_total"
    }
    assert totals == {
        ("", "", "16", "1"): 9,
        ("0000:83:00.0", "host7", "110", "0"): 20,
        ("0000:83:00.0", "host7", "111", "1"): 700,
        ("0000:83:00.0", "host7", "112", "3"): 9000,
        ("0000:83:00.0", "host7", "112", "4"): 1,
        ("0000:83:00.0", "host7", "113", "4"): 12345,
        ("0000:83:00.0", "host7", "114", "0"): 4294967295,
        ("0000:83:00.1", "host8", "120", "0"): 8,
        ("0000:83:00.1", "host8", "121", "3"): 600,
        ("0000:83:00.1", "host8", "122", "1"): 55,
        ("0000:83:00.1", "host8", "123", "0"): 2,
        ("0000:83:00.1", "host8", "123", "1"): 2,
        ("0000:83:00.1", "host8", "123", "3"): 2,
        ("0000:83:00.1", "host8", "123", "4"): 2,
    }
    remote = {
        dict(lbl)["irq"]: v
        for name, lbl, v in got
        if name == "fctarget_irq_remote_numa_interrupts_total"
    }
    # host7 on node 0 (CPUs 0-1), host8 on node 1 (CPUs 3-4); IRQ 16 has no known node
    assert remote == {
        "110": 0, "111": 0, "112": 9001, "113": 12345, "114": 0,
        "120": 8, "121": 0, "122": 55, "123": 4,
    }  # fmt: skip
    vectors = {
        dict(lbl)["irq"]: dict(lbl)["vector"] for name, lbl, _ in got if name == "fctarget_irq_info"
    }
    assert vectors["16"] == "legacy" and vectors["113"] == "qpair0" and vectors["122"] == "atio_q"
    assert "124" not in vectors  # freed IRQ, no action


def test_missing_proc_interrupts_fails_only_this_collector(tmp_path: Path) -> None:
    paths = legacy_tree(tmp_path)
    (tmp_path / "proc" / "interrupts").unlink()
    out = Output("interrupts", RateLimitedLog(LOG))
    InterruptsCollector(ctx(paths)).collect_blocking(out)
    assert out.errors == ["interrupts:proc/interrupts:ENOENT"]
    assert series(out) == CPUS  # the CPU topology does not come from /proc/interrupts


def test_garbage_proc_interrupts(tmp_path: Path) -> None:
    paths = legacy_tree(tmp_path)
    (tmp_path / "proc" / "interrupts").write_bytes(b"\x00\xff garbage\n 1: 2 3\n")
    out = Output("interrupts", RateLimitedLog(LOG))
    InterruptsCollector(ctx(paths)).collect_blocking(out)
    assert out.errors == ["interrupts:proc/interrupts:parse"]
    assert series(out) == CPUS


def test_unreadable_affinity_costs_only_its_series(tmp_path: Path) -> None:
    paths = legacy_tree(tmp_path)
    f = tmp_path / "proc" / "irq" / "74" / "smp_affinity_list"
    f.unlink()
    f.mkdir()  # EISDIR on read
    (tmp_path / "proc" / "irq" / "75" / "effective_affinity_list").write_text("1-x\n")
    (tmp_path / "proc" / "interrupts").write_text(
        (FIX / "qla-3.10-legacy-2ports.txt").read_text() + " 99:  1 2  IR-PCI-MSI-edge  qla2xxx\n"
    )
    out = Output("interrupts", RateLimitedLog(LOG))
    InterruptsCollector(ctx(paths)).collect_blocking(out)
    assert sorted(out.errors) == [
        "interrupts:irq/74/smp_affinity_list:EISDIR",
        "interrupts:irq/75/effective_affinity_list:parse",
        "interrupts:proc/interrupts:malformed",
    ]
    want = expected_legacy()
    b74, b75 = irq_series(*A, 74, "default"), irq_series(*A, 75, "rsp_q")
    lost = {
        ("fctarget_irq_affinity_cpus", (*b74, ("kind", "allowed")), 4),
        ("fctarget_irq_affinity_cpus", (*b75, ("kind", "effective")), 1),
        ("fctarget_irq_effective_cpu", b75, 1),
    }
    assert lost <= want
    # only the series built from the bad files are gone; 74's effective CPU is still there
    assert series(out) == want - lost
    assert ("fctarget_irq_effective_cpu", b74, 0) in want


def test_scrape_exposition_is_valid(tmp_path: Path) -> None:
    paths = legacy_tree(tmp_path)
    c = ctx(paths)
    scraper = Scraper([InterruptsCollector(c), HbaCollector(c)], 10, RateLimitedLog(LOG))
    body = asyncio.run(scraper.render()).decode()
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    assert fams["fctarget_irq_interrupts"].type == "counter"
    samples = {
        (s.labels["irq"], s.labels["cpu"]): s.value for s in fams["fctarget_irq_interrupts"].samples
    }
    assert samples == {("74", "0"): 15, ("75", "1"): 5000, ("76", "2"): 321, ("77", "0"): 11,
                       ("78", "3"): 4000, ("79", "2"): 77}  # fmt: skip
    assert "# HELP fctarget_irq_interrupts_total" in body
    success = {
        s.labels["collector"]: s.value for s in fams["fctarget_scrape_collector_success"].samples
    }
    assert success == {"interrupts": 1.0, "hba": 1.0}
