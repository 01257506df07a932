"""qla2xxx interrupt counts per CPU, their NUMA locality, and IRQ affinity.

Sources: /proc/interrupts (kernel/irq/proc.c show_interrupts), /proc/irq/N/smp_affinity_list and
effective_affinity_list (kernel/irq/proc.c; the hex-mask files when the list files are absent),
and the HBA map (exporter/hba_map.py) for the PCI function, SCSI host and NUMA node of each IRQ.
"""

from __future__ import annotations

import errno

from exporter import fsread
from exporter.collector import CollectorContext, Output, ThreadedCollector, register
from exporter.collectors.hba import refresh_interval, report_problems
from exporter.hba_map import HbaMap, HbaMapCache, IrqOwner, shared_cache
from exporter.parsers.cpulist import format_cpulist, parse_cpulist, parse_cpumask
from exporter.parsers.interrupts import Interrupts, parse_interrupts, qla2xxx_vectors

LABELS = ["pci", "host", "irq", "vector"]


def _mentions_qla2xxx(line: str) -> bool:
    return "qla2xxx" in line


@register
class InterruptsCollector(ThreadedCollector):
    name = "interrupts"
    description = "qla2xxx IRQs: interrupts per CPU, off-NUMA-node share, affinity"

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.cache: HbaMapCache = shared_cache(ctx.paths, refresh_interval(ctx.args))

    async def start(self) -> None:
        self.cache.start_watching()

    async def stop(self) -> None:
        self.cache.stop_watching()

    def _affinity(self, out: Output, irq: int, kind: str) -> tuple[int, ...] | None:
        """CPUs in /proc/irq/N/<kind>_list (or the <kind> mask); None when the kernel has none."""
        for name, parse in ((f"{kind}_list", parse_cpulist), (kind, parse_cpumask)):
            path = self.ctx.paths.proc("irq", str(irq), name)
            try:
                text = fsread.read_text(path)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    continue  # older kernel, or the IRQ went away since /proc/interrupts
                out.error(f"interrupts:{name}", f"{path}: {exc.strerror or exc}")
                return None
            try:
                return parse(text)
            except ValueError as exc:
                out.error(f"interrupts:{name}:parse", f"{path}: {exc}")
                return None
        return None

    def collect_blocking(self, out: Output) -> None:
        path = self.ctx.paths.proc("interrupts")
        try:
            text = fsread.read_text(path, fsread.MAX_LARGE_FILE)
        except OSError as exc:
            out.error("interrupts:read", f"{path}: {exc.strerror or exc}")
            return
        try:
            # Only qla2xxx lines are parsed; everything else on the host is skipped unparsed.
            parsed = parse_interrupts(text, keep=_mentions_qla2xxx)
        except ValueError as exc:
            out.error("interrupts:parse", f"{path}: {exc}")
            return
        if parsed.malformed:
            out.error(
                "interrupts:malformed",
                f"{path}: {len(parsed.malformed)} unparsable IRQ lines, first "
                f"{parsed.malformed[0]!r}",
            )
        hmap = self.cache.get()
        report_problems(out, hmap)
        self.emit(out, parsed, hmap)

    def emit(self, out: Output, parsed: Interrupts, hmap: HbaMap) -> None:
        total = out.counter(
            "fctarget_irq_interrupts_total",
            "Interrupts of a qla2xxx vector handled per CPU (/proc/interrupts). CPUs that "
            "have handled none of this IRQ are omitted; an absent series means 0.",
            [*LABELS, "cpu"],
        )
        remote = out.counter(
            "fctarget_irq_remote_numa_interrupts_total",
            "Interrupts of a qla2xxx vector handled on CPUs outside the HBA's NUMA node. Only "
            "when both the HBA's node and the CPU topology are known.",
            LABELS,
        )
        affinity = out.gauge(
            "fctarget_irq_affinity_cpus",
            "Number of CPUs in the IRQ's affinity: kind=allowed (/proc/irq/N/smp_affinity_list) "
            "or effective (effective_affinity_list).",
            [*LABELS, "kind"],
        )
        info = out.info(
            "fctarget_irq_info",
            "A qla2xxx IRQ: action name and chip as /proc/interrupts prints them, and its "
            "allowed and effective CPU lists.",
            [*LABELS, "action", "chip", "allowed_cpus", "effective_cpus"],
        )
        topo = hmap.topology
        for line in parsed.lines:
            vectors = qla2xxx_vectors(line)
            if not vectors:
                continue
            allowed = self._affinity(out, line.irq, "smp_affinity")
            effective = self._affinity(out, line.irq, "effective_affinity")
            per_cpu = [(c, n) for c, n in zip(parsed.cpus, line.counts, strict=True) if n]
            irq = str(line.irq)
            seen: set[tuple[str, str]] = set()
            for v in vectors:
                owners = hmap.owners(line.irq, v.host_no) or (
                    IrqOwner("", f"host{v.host_no}" if v.host_no is not None else "", -1, "none"),
                )
                for o in owners:
                    if (o.pci, o.host) in seen:
                        continue  # two actions of one driver on a shared line: count the IRQ once
                    seen.add((o.pci, o.host))
                    labels = [o.pci, o.host, irq, v.vector]
                    for cpu, count in per_cpu:
                        total.add([*labels, str(cpu)], count)
                    if o.numa_node >= 0 and topo.known:
                        far = sum(n for c, n in per_cpu if topo.node_of(c) not in (-1, o.numa_node))
                        remote.add(labels, far)
                    if allowed is not None:
                        affinity.add([*labels, "allowed"], len(allowed))
                    if effective is not None:
                        affinity.add([*labels, "effective"], len(effective))
                    info.add(
                        [
                            *labels,
                            v.action,
                            line.chip,
                            format_cpulist(allowed) if allowed is not None else "",
                            format_cpulist(effective) if effective is not None else "",
                        ],
                        1,
                    )
