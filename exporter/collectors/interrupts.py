"""qla2xxx interrupt counts per CPU, their NUMA locality, IRQ affinity, and the CPU -> NUMA map.

Reads through exporter/readers/procirq.py (/proc/interrupts, /proc/irq/N/*) and the HBA map of
exporter/readers/pci.py (the PCI function, SCSI host and NUMA node of each IRQ).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from exporter.catalogue import interrupts as C
from exporter.collector import CollectorContext, Family, Output, SnapshotCollector, register
from exporter.collectors.hba import HbaOptions, hba_map
from exporter.parsers.interrupts import Interrupts, IrqLine, QlaVector, qla2xxx_vectors
from exporter.readers import procirq
from exporter.readers.pci import HbaMap, HbaMapCache, IrqOwner, shared_cache
from exporter.readers.problems import Problems


def _mentions_qla2xxx(line: str) -> bool:
    return "qla2xxx" in line


@dataclass(frozen=True)
class IrqSnapshot:
    interrupts: Interrupts | None  # None: /proc/interrupts unreadable
    affinity: Mapping[int, procirq.Affinity]  # of the IRQs with a qla2xxx vector
    hmap: HbaMap


@dataclass
class _Families:
    total: Family
    remote: Family
    affinity: Family
    info: Family
    effective_cpu: Family


@register
class InterruptsCollector(SnapshotCollector[IrqSnapshot]):
    name = "interrupts"
    description = "qla2xxx IRQs: interrupts per CPU, off-NUMA-node share, affinity; CPU NUMA map"

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        options = HbaOptions.from_args(ctx.args)
        self.cache: HbaMapCache = shared_cache(ctx.paths, options.refresh_interval)

    async def start(self) -> None:
        self.cache.start_watching()

    async def stop(self) -> None:
        self.cache.stop_watching()

    def read(self, problems: Problems) -> IrqSnapshot:
        paths = self.ctx.paths
        # Only qla2xxx lines are parsed; everything else on the host is skipped unparsed.
        parsed = procirq.read_interrupts(paths, problems, _mentions_qla2xxx)
        affinity = {
            line.irq: procirq.read_affinity(paths, line.irq, problems)
            for line in (parsed.lines if parsed is not None else ())
            if qla2xxx_vectors(line)
        }
        return IrqSnapshot(parsed, affinity, hba_map(self.cache, problems))

    def emit(self, snapshot: IrqSnapshot, out: Output) -> None:
        if snapshot.interrupts is not None:
            fams = _Families(
                out.family(C.INTERRUPTS),
                out.family(C.REMOTE_NUMA_INTERRUPTS),
                out.family(C.AFFINITY_CPUS),
                out.family(C.INFO),
                out.family(C.EFFECTIVE_CPU),
            )
            cpus = snapshot.interrupts.cpus
            none = procirq.Affinity(None, None)
            for line in snapshot.interrupts.lines:
                aff = snapshot.affinity.get(line.irq, none)
                _emit_line(fams, snapshot.hmap, cpus, line, aff)
        cpu_info = out.family(C.CPU_INFO)
        topo = snapshot.hmap.topology
        for cpu in topo.cpus:
            cpu_info.add([str(cpu), str(topo.node_of(cpu))], 1)


def _owners(hmap: HbaMap, line: IrqLine, v: QlaVector) -> tuple[IrqOwner, ...]:
    host = f"host{v.host_no}" if v.host_no is not None else ""
    return hmap.owners(line.irq, v.host_no) or (IrqOwner("", host, -1, "none"),)


def _emit_line(
    f: _Families, hmap: HbaMap, cpus: tuple[int, ...], line: IrqLine, aff: procirq.Affinity
) -> None:
    topo = hmap.topology
    per_cpu = [(c, n) for c, n in zip(cpus, line.counts, strict=True) if n]
    seen: set[tuple[str, str]] = set()
    for v in qla2xxx_vectors(line):
        for o in _owners(hmap, line, v):
            if (o.pci, o.host) in seen:
                continue  # two actions of one driver on a shared line: count the IRQ once
            seen.add((o.pci, o.host))
            labels = [o.pci, o.host, str(line.irq), v.vector]
            for cpu, count in per_cpu:
                f.total.add([*labels, str(cpu)], count)
            if o.numa_node >= 0 and topo.known:
                far = sum(n for c, n in per_cpu if topo.node_of(c) not in (-1, o.numa_node))
                f.remote.add(labels, far)
            if aff.allowed is not None:
                f.affinity.add([*labels, "allowed"], len(aff.allowed))
            if aff.effective is not None:
                f.affinity.add([*labels, "effective"], len(aff.effective))
            f.info.add([*labels, v.action, line.chip], 1)
            if aff.effective:
                f.effective_cpu.add(labels, aff.effective[0])
