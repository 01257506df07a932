"""Kernel text formats the simulated host writes (pure functions, no I/O).

Each function names the kernel source whose format string it reproduces; the formats themselves
are documented in shared/reference/KERNEL-FORMATS.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def cpumask_hex(cpus: Iterable[int], nr_cpu_ids: int) -> str:
    """`%*pb` (lib/vsprintf.c bitmap_string): 32-bit hex words, most significant first, comma
    separated; the first word is padded only to the width `nr_cpu_ids` needs, the rest to 8."""
    mask = 0
    for c in cpus:
        mask |= 1 << c
    nwords = max(1, (nr_cpu_ids + 31) // 32)
    first_bits = nr_cpu_ids - 32 * (nwords - 1)
    first_width = max(1, (first_bits + 3) // 4)
    words = []
    for i in range(nwords - 1, -1, -1):
        w = (mask >> (32 * i)) & 0xFFFFFFFF
        width = first_width if i == nwords - 1 else 8
        words.append(f"{w:0{width}x}")
    return ",".join(words)


def cpulist(cpus: Iterable[int]) -> str:
    """`%*pbl` (lib/vsprintf.c bitmap_list_string): ranges `0-3,8,10-11`; empty for no CPU."""
    out: list[str] = []
    run: list[int] = []
    for c in sorted(set(cpus)):
        if run and c == run[-1] + 1:
            run.append(c)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [c]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


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


def interrupts_line(
    irq: int,
    counts: Sequence[int],
    prec: int,
    *,
    shape: str,
    chip: str,
    hwirq: int | None,
    handler: str,
    action: str,
) -> str:
    """One numbered `/proc/interrupts` row in one of the kernel eras of KERNEL-FORMATS.md 1.2.

    - "3.x": no hwirq column; the chip name carries the flow (`IR-PCI-MSI-edge`).
    - "6.1": `"%*d: "`, `"%10u "` per CPU, `" %8s"` chip, `" %*lu"` hwirq, `"-%-8s"` handler.
    - "6.18": `"%*d:"`, `" %10u"` per CPU, one blank, `"%8s"` chip (one blank less before it).
    """
    if shape == "6.18":
        head = f"{irq:>{prec}d}:" + "".join(f" {c:>10d}" for c in counts) + " " + f"{chip:>8s}"
    else:
        head = f"{irq:>{prec}d}: " + "".join(f"{c:>10d} " for c in counts) + f" {chip:>8s}"
    if shape == "3.x":
        return f"{head}-{handler:<8s}  {action}\n"
    hw = f" {hwirq:>{prec}d}" if hwirq is not None else " " * (prec + 1)
    return f"{head}{hw}-{handler:<8s}  {action}\n"


def interrupts_arch_row(tag: str, counts: Sequence[int], prec: int, label: str) -> str:
    """arch/x86/kernel/irq.c arch_show_interrupts(): `"%*s: "`, `"%10u "` per CPU, `"  %s"`."""
    return f"{tag:>{prec}s}: " + "".join(f"{c:>10d} " for c in counts) + f"  {label}\n"


def interrupts_arch_single(tag: str, value: int, prec: int) -> str:
    """`ERR:` / `MIS:` rows: one global number (`"%*s: %10u\\n"`)."""
    return f"{tag:>{prec}s}: {value:>10d}\n"


def msi_hwirq_61(bus: int, devfn: int, msi_index: int, domain: int = 0) -> int:
    """x86 6.1 pci_msi_domain_calc_hwirq(): index | pci_dev_id << 11 | domain << 27."""
    return msi_index | ((bus << 8) | devfn) << 11 | (domain & 0xFFFFFFFF) << 27


def wwn_colon(n: int) -> str:
    """tcm_qla2xxx_format_wwn(): 8 lowercase bytes joined by ':' (also `%8phC`)."""
    return ":".join(f"{(n >> (8 * i)) & 0xFF:02x}" for i in range(7, -1, -1))


def wwn_naa(n: int) -> str:
    """tcm_qla2xxx lport_naa_name: `naa.%016llx`."""
    return f"naa.{n:016x}"


def kmsg_escape(text: str) -> str:
    """kernel/printk/printk.c: bytes < ' ', >= 127 and '\\' become `\\xNN`."""
    out = []
    for ch in text.encode("utf-8"):
        if ch < 0x20 or ch >= 0x7F or ch == 0x5C:
            out.append(f"\\x{ch:02x}")
        else:
            out.append(chr(ch))
    return "".join(out)


def kmsg_record(facility: int, level: int, seq: int, usec: int, message: str) -> str:
    """One /dev/kmsg record (printk.c info_print_ext_header): `prio,seq,usec,flags;text\\n`."""
    return f"{(facility << 3) | level},{seq},{usec},-;{kmsg_escape(message)}\n"


def qla_prefix(pci: str, msg_id: int, host_no: int | None) -> str:
    """drivers/scsi/qla2xxx/qla_dbg.c ql_dbg_prefix(): `qla2xxx [<pci>]-<id>:<host>: `."""
    host = "" if host_no is None else str(host_no)
    sep = " " if host_no is None else ""
    return f"qla2xxx [{pci}]-{msg_id:04x}:{host}{sep}: "
