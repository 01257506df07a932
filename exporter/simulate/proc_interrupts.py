"""Writer: `/proc/interrupts` and `/proc/irq/<n>/` of the HBA vectors.

kernel/irq/proc.c show_interrupts() in one of the kernel eras of KERNEL-FORMATS.md 1.2
(`SimParams.interrupts_shape`), with a few legacy IO-APIC lines, an NVMe boot disk and the x86
architecture rows (arch/x86/kernel/irq.c arch_show_interrupts()); `/proc/irq/<n>/` holds each
vector's affinity as kernel/irq/proc.c prints it (`%*pb` masks, `%*pbl` lists).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from exporter.parsers.cpulist import format_cpulist, format_cpumask
from exporter.simulate.model import HostModel, Vector
from exporter.simulate.tree import Tree

_NVME_PCI = "0000:01:00.0"
_NVME_BASE_IRQ = 40
# arch_show_interrupts() rows in order; ERR and MIS print one global number (label None).
_ARCH_ROWS: tuple[tuple[str, str | None], ...] = (
    ("NMI", "Non-maskable interrupts"),
    ("LOC", "Local timer interrupts"),
    ("SPU", "Spurious interrupts"),
    ("PMI", "Performance monitoring interrupts"),
    ("IWI", "IRQ work interrupts"),
    ("RTR", "APIC ICR read retries"),
    ("RES", "Rescheduling interrupts"),
    ("CAL", "Function call interrupts"),
    ("TLB", "TLB shootdowns"),
    ("TRM", "Thermal event interrupts"),
    ("THR", "Threshold APIC interrupts"),
    ("DFR", "Deferred Error APIC interrupts"),
    ("MCE", "Machine check exceptions"),
    ("MCP", "Machine check polls"),
    ("ERR", None),
    ("MIS", None),
    ("PIN", "Posted-interrupt notification event"),
    ("NPI", "Nested posted-interrupt event"),
    ("PIW", "Posted-interrupt wakeup event"),
)


@dataclass(frozen=True)
class IrqRow:
    """One numbered `/proc/interrupts` row, before formatting."""

    irq: int
    counts: Sequence[int]
    chip: str
    hwirq: int | None
    handler: str
    action: str


def interrupts_prec(nr_irqs: int) -> int:
    """kernel/irq/proc.c show_interrupts(): width of the IRQ number column."""
    prec, j = 3, 1000
    while prec < 10 and j <= nr_irqs:
        prec += 1
        j *= 10
    return prec


def interrupts_header(cpus: Sequence[int], prec: int) -> str:
    """kernel/irq/proc.c: `%*s` (prec + 8 blanks) then `CPU%-8d` per online CPU."""
    return " " * (prec + 8) + "".join(f"CPU{c:<8d}" for c in cpus) + "\n"


def interrupts_line(row: IrqRow, prec: int, shape: str) -> str:
    """One numbered `/proc/interrupts` row in one of the kernel eras of KERNEL-FORMATS.md 1.2.

    - "3.x": no hwirq column; the chip name carries the flow (`IR-PCI-MSI-edge`).
    - "6.1": `"%*d: "`, `"%10u "` per CPU, `" %8s"` chip, `" %*lu"` hwirq, `"-%-8s"` handler.
    - "6.18": `"%*d:"`, `" %10u"` per CPU, one blank, `"%8s"` chip (one blank less before it).
    """
    irq, counts, chip = row.irq, row.counts, row.chip
    if shape == "6.18":
        head = f"{irq:>{prec}d}:" + "".join(f" {c:>10d}" for c in counts) + " " + f"{chip:>8s}"
    else:
        head = f"{irq:>{prec}d}: " + "".join(f"{c:>10d} " for c in counts) + f" {chip:>8s}"
    if shape == "3.x":
        return f"{head}-{row.handler:<8s}  {row.action}\n"
    hw = f" {row.hwirq:>{prec}d}" if row.hwirq is not None else " " * (prec + 1)
    return f"{head}{hw}-{row.handler:<8s}  {row.action}\n"


def interrupts_arch_row(tag: str, counts: Sequence[int], prec: int, label: str) -> str:
    """arch/x86/kernel/irq.c arch_show_interrupts(): `"%*s: "`, `"%10u "` per CPU, `"  %s"`."""
    return f"{tag:>{prec}s}: " + "".join(f"{c:>10d} " for c in counts) + f"  {label}\n"


def interrupts_arch_single(tag: str, value: int, prec: int) -> str:
    """`ERR:` / `MIS:` rows: one global number (`"%*s: %10u\\n"`)."""
    return f"{tag:>{prec}s}: {value:>10d}\n"


def msi_hwirq_61(bus: int, devfn: int, msi_index: int, domain: int = 0) -> int:
    """x86 6.1 pci_msi_domain_calc_hwirq(): index | pci_dev_id << 11 | domain << 27."""
    return msi_index | ((bus << 8) | devfn) << 11 | (domain & 0xFFFFFFFF) << 27


def _msi_chip(shape: str, pci: str, bus: int, devfn: int, index: int) -> tuple[str, int | None]:
    """Chip column and hwirq of an MSI-X vector behind interrupt remapping (an IOMMU host)."""
    if shape == "6.18":
        return f"IR-PCI-MSIX-{pci}", index
    if shape == "6.1":
        return "IR-PCI-MSI", msi_hwirq_61(bus, devfn, index)
    return "IR-PCI-MSI", None


def write_default_affinity(tree: Tree, model: HostModel) -> None:
    tree.put("proc/irq/default_smp_affinity", format_cpumask(model.cpus, model.params.cpus) + "\n")


def build_irq_dirs(tree: Tree, model: HostModel) -> None:
    for v in model.vectors():
        d = f"proc/irq/{v.irq}"
        tree.mkdir(d)
        # kernel/irq/proc.c: name dir only when unique on the IRQ (one action here).
        tree.mkdir(f"{d}/{v.name}")
        tree.put(f"{d}/node", f"{model.ports[v.port].node}\n")
        tree.put(f"{d}/spurious", "count 0\nunhandled 0\nlast_unhandled 0 ms\n")
        tree.put(f"{d}/affinity_hint", format_cpumask((), model.params.cpus) + "\n")
        write_affinity(tree, model, v)


def write_affinity(tree: Tree, model: HostModel, v: Vector) -> None:
    d = f"proc/irq/{v.irq}"
    n = model.params.cpus
    tree.put(f"{d}/smp_affinity", format_cpumask(v.allowed, n) + "\n")
    tree.put(f"{d}/smp_affinity_list", format_cpulist(v.allowed) + "\n")
    tree.put(f"{d}/effective_affinity", format_cpumask((v.effective,), n) + "\n")
    tree.put(f"{d}/effective_affinity_list", f"{v.effective}\n")


def _other_rows(model: HostModel) -> list[IrqRow]:
    """Non-qla2xxx interrupts: legacy IO-APIC lines and an NVMe boot disk."""
    n = model.params.cpus
    t = model.now
    shape = model.params.interrupts_shape

    def on(cpu: int, value: int) -> list[int]:
        counts = [0] * n
        counts[cpu % n] = value
        return counts

    rows = [
        IrqRow(0, on(0, 44), "IO-APIC", 2, "edge", "timer"),
        IrqRow(1, on(1, 9), "IO-APIC", 1, "edge", "i8042"),
        IrqRow(4, on(1, 84 + int(t)), "IO-APIC", 4, "edge", "ttyS0"),
        IrqRow(8, on(0, 1), "IO-APIC", 8, "edge", "rtc0"),
        IrqRow(9, on(0, 0), "IO-APIC", 9, "fasteoi", "acpi"),
        IrqRow(12, on(0, 3), "IO-APIC", 12, "edge", "i8042"),
    ]
    # nvme0 at 0000:01:00.0: admin queue + one I/O queue per CPU (up to 8), same interrupt
    # remapping as the HBAs.
    for q in range(min(n, 8) + 1):
        counts = on(0, 57) if q == 0 else on(q - 1, 1000 + int(t * 3) * q)
        chip, hw = _msi_chip(shape, _NVME_PCI, 0x01, 0, q)
        rows.append(IrqRow(_NVME_BASE_IRQ + q, counts, chip, hw, "edge", f"nvme0q{q}"))
    return rows


def _hba_rows(model: HostModel) -> list[IrqRow]:
    shape = model.params.interrupts_shape
    rows = []
    for port in model.ports:
        for v in port.vectors:
            chip, hw = _msi_chip(shape, port.pci, port.bus, port.function, v.msix_index)
            counts = [c & 0xFFFFFFFF for c in v.counts]  # per-CPU kstat counts are u32
            rows.append(IrqRow(v.irq, counts, chip, hw, "edge", v.name))
    return rows


def _arch_rows(model: HostModel, prec: int) -> list[str]:
    z = [0] * model.params.cpus
    per_cpu = {
        "LOC": model.loc,
        "RES": model.res,
        "CAL": model.cal,
        "MCP": [int(model.now // 300)] * model.params.cpus,
    }
    out = []
    for tag, label in _ARCH_ROWS:
        if label is None:
            out.append(interrupts_arch_single(tag, 0, prec))
        else:
            out.append(interrupts_arch_row(tag, per_cpu.get(tag, z), prec, label))
    return out


def write_interrupts(tree: Tree, model: HostModel) -> None:
    """The whole `/proc/interrupts`: header, numbered rows by IRQ, architecture rows."""
    shape = model.params.interrupts_shape
    prec = interrupts_prec(model.nr_irqs)
    rows = sorted(_other_rows(model) + _hba_rows(model), key=lambda r: r.irq)
    out = [interrupts_header(model.cpus, prec)]
    out.extend(interrupts_line(r, prec, shape) for r in rows)
    out.extend(_arch_rows(model, prec))
    tree.put("proc/interrupts", "".join(out))
