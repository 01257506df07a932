"""readers/procirq.py on /proc trees under tmp_path (exact values), and the interrupts and hba
collectors' emit on hand-built snapshots (snapshot in, families out)."""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from exporter.collector import CollectorContext, Output
from exporter.collectors.hba import HbaCollector, HbaOptions
from exporter.collectors.interrupts import InterruptsCollector, IrqSnapshot
from exporter.flags import build_parser
from exporter.logsetup import RateLimitedLog
from exporter.parsers.interrupts import parse_interrupts
from exporter.paths import HostPaths
from exporter.readers import procirq
from exporter.readers.pci import HbaMap, PciFunction, ScsiHost, Topology
from exporter.readers.problems import Problems

LOG = logging.getLogger("test.interrupts.reader")
FIX = Path(__file__).parent / "fixtures" / "interrupts"


def proc_tree(root: Path) -> HostPaths:
    proc = root / "proc"
    (proc / "irq").mkdir(parents=True)
    shutil.copy(FIX / "qla-3.10-legacy-2ports.txt", proc / "interrupts")
    for irq, files in {
        74: {"smp_affinity_list": "0-3\n", "effective_affinity_list": "2\n"},
        75: {"smp_affinity": "00000000,0000000a\n", "effective_affinity": "2\n"},  # masks only
        76: {"smp_affinity_list": "1-x\n"},
    }.items():
        (proc / "irq" / str(irq)).mkdir()
        for name, text in files.items():
            (proc / "irq" / str(irq) / name).write_text(text)
    (proc / "irq" / "77").mkdir()
    (proc / "irq" / "77" / "smp_affinity_list").mkdir()  # EISDIR
    return HostPaths(procfs=str(proc), sysfs=str(root / "sys"))


def test_read_interrupts_keeps_only_selected_lines(tmp_path: Path) -> None:
    paths = proc_tree(tmp_path)
    problems = Problems("interrupts")
    got = procirq.read_interrupts(paths, problems, lambda line: "qla2xxx" in line)
    assert problems.items == []
    assert got is not None and got.cpus == (0, 1, 2, 3)
    assert [line.irq for line in got.lines] == [74, 75, 76, 77, 78, 79]
    assert got.lines[1].counts == (0, 5000, 0, 0)


def test_read_interrupts_missing_and_garbled(tmp_path: Path) -> None:
    paths = HostPaths(procfs=str(tmp_path))
    problems = Problems("interrupts")
    assert procirq.read_interrupts(paths, problems, lambda _: True) is None
    (tmp_path / "interrupts").write_bytes(b"\x00 garbage\n 1: 2\n")
    assert procirq.read_interrupts(paths, problems, lambda _: True) is None
    assert [p.key for p in problems.items] == [
        "interrupts:proc/interrupts:ENOENT",
        "interrupts:proc/interrupts:parse",
    ]


def test_read_affinity_lists_masks_and_failures(tmp_path: Path) -> None:
    paths = proc_tree(tmp_path)
    problems = Problems("interrupts")
    assert procirq.read_affinity(paths, 74, problems) == procirq.Affinity((0, 1, 2, 3), (2,))
    assert procirq.read_affinity(paths, 75, problems) == procirq.Affinity((1, 3), (1,))
    assert procirq.read_affinity(paths, 76, problems) == procirq.Affinity(None, None)
    assert procirq.read_affinity(paths, 77, problems) == procirq.Affinity(None, None)
    assert procirq.read_affinity(paths, 99, problems) == procirq.Affinity(None, None)  # gone
    assert [p.key for p in problems.items] == [
        "interrupts:irq/76/smp_affinity_list:parse",
        "interrupts:irq/77/smp_affinity_list:EISDIR",
    ]


# ------------------------------------------------------------------------- emit


def ctx() -> CollectorContext:
    args = argparse.Namespace(hba_refresh_interval=60.0)
    return CollectorContext(HostPaths(sysfs="/nonexistent"), args, LOG, RateLimitedLog(LOG))


HMAP = HbaMap(
    (PciFunction("0000:04:00.0", "/x", 0, (74, 75), None, (ScsiHost("host3", 3, "wp", "wn"),)),),
    Topology((0, 1, 2, 3), {0: 0, 1: 0, 2: 1, 3: 1}),
)
TEXT = (
    "           CPU0       CPU1       CPU2       CPU3\n"
    " 74:         15          0         30          0  IR-PCI-MSI-edge      qla2xxx (default)\n"
    " 75:          0          0          0          0  IR-PCI-MSI-edge      qla2xxx (rsp_q)\n"
)


def test_interrupts_emit() -> None:
    parsed = parse_interrupts(TEXT)
    affinity = {74: procirq.Affinity((0, 1, 2, 3), (2, 3)), 75: procirq.Affinity((1,), ())}
    out = Output("interrupts", RateLimitedLog(LOG))
    InterruptsCollector(ctx()).emit(IrqSnapshot(parsed, affinity, HMAP), out)
    got = {f.sample_name: dict(f.rows) for f in out.metrics()}
    a = ("0000:04:00.0", "host3", "74", "default")
    b = ("0000:04:00.0", "host3", "75", "rsp_q")
    assert got == {
        "fctarget_irq_interrupts_total": {(*a, "0"): 15, (*a, "2"): 30},
        "fctarget_irq_remote_numa_interrupts_total": {a: 30, b: 0},
        "fctarget_irq_affinity_cpus": {
            (*a, "allowed"): 4,
            (*a, "effective"): 2,
            (*b, "allowed"): 1,
            (*b, "effective"): 0,
        },
        "fctarget_irq_info": {
            (*a, "qla2xxx (default)", "IR-PCI-MSI"): 1,
            (*b, "qla2xxx (rsp_q)", "IR-PCI-MSI"): 1,
        },
        "fctarget_irq_effective_cpu": {a: 2},  # b's effective list is empty: no series
        "fctarget_irq_cpu_info": {("0", "0"): 1, ("1", "0"): 1, ("2", "1"): 1, ("3", "1"): 1},
    }


def test_interrupts_emit_without_proc_interrupts_serves_the_cpus_only() -> None:
    out = Output("interrupts", RateLimitedLog(LOG))
    InterruptsCollector(ctx()).emit(IrqSnapshot(None, {}, HMAP), out)
    assert [f.sample_name for f in out.metrics()] == ["fctarget_irq_cpu_info"]


def test_hba_emit() -> None:
    out = Output("hba", RateLimitedLog(LOG))
    HbaCollector(ctx()).emit(HMAP, out)
    got = {f.sample_name: dict(f.rows) for f in out.metrics()}
    assert got == {"fctarget_hba_info": {("0000:04:00.0", "host3", "wp", "wn", "0"): 1}}


def test_hba_options_one_default_for_both_collectors() -> None:
    assert HbaOptions.from_args(build_parser().parse_args([])) == HbaOptions(60.0)
    args = build_parser().parse_args(["--collector.hba.refresh-interval", "-3"])
    assert HbaOptions.from_args(args).refresh_interval == 0.0
