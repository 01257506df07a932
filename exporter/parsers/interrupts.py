"""`/proc/interrupts` and the qla2xxx MSI-X vector names found in it.

Format: kernel/irq/proc.c `show_interrupts()` (and `irq_seq_show()` in newer trees). A header of
`CPU<n>` for every *online* CPU (numbers may have gaps), then per IRQ:
`<irq>:` + one counter per online CPU + chip name + [hwirq] + [`Level`/`Edge` with
CONFIG_GENERIC_IRQ_SHOW_LEVEL] + [`-<flow handler>`] + two spaces + `action, action, ...`.
Then the architecture rows (`NMI:`, `LOC:`, `ERR:`, ...; arch_show_interrupts()), which are not
device IRQs and are skipped. Widths and leading spaces changed several times (6.13 dropped one
space before the chip; hwirq went from `%*d` to `%*lu`; <= 4.2 had no hwirq at all and glued the
handler to the chip: `IR-PCI-MSI-edge`), so nothing here depends on column positions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_HEADER_CPU = re.compile(r"CPU([0-9]{1,7})")
_IRQ_START = re.compile(r"[ \t]*+([0-9]++):")
# Every quantifier is possessive: no group gives back what it took, so the only backtracking is
# into the choice of taking an optional group or not (a constant number of paths), and a match
# costs O(len(desc)). With greedy quantifiers a chip name full of `-` (each a place to split
# off a handler) or a long blank run before the actions (the lazy `.*?` retried the trailing
# `\s*` at each blank) made it quadratic: 0.5 s for one 4 KB line. Same matches as before: a
# shorter chip or handler than the whole token could never lead to a match the whole one misses.
_DESC = re.compile(
    r"""
    [ \t]*+(?P<chip>\S++)
    (?:[ \t]++(?P<hwirq>-?[0-9]++)(?=[\s-]|$))?
    (?:[ \t]++(?P<trigger>Level|Edge)(?=[\s-]|$))?
    (?:[ \t]*+-(?P<handler>\S++))?
    (?:[ \t]{2,}+(?P<actions>\S.*+))?
    \s*+
    """,
    re.VERBOSE | re.ASCII,
)
# Per-CPU counts are `%10u` (unsigned int), hwirq `%lu`: 20 digits bound both, far inside a
# float, and keep int() cheap.
_MAX_DIGITS = 20
# Chip + hwirq + handler + actions are short; the cap bounds regex work on garbage.
_MAX_DESC = 4096
# Flow-handler names (irq_set_chip_and_handler_name() callers) that kernels without a hwirq
# column glue to the chip name: `IR-PCI-MSI-edge`, `IO-APIC-fasteoi`, `XT-PIC-XT-PIC`.
_GLUED_HANDLERS = ("XT-PIC", "edge", "level", "fasteoi", "simple", "percpu_devid", "percpu", "XT")


@dataclass(frozen=True)
class IrqLine:
    irq: int
    counts: tuple[int, ...]  # one per online CPU, in the order of Interrupts.cpus
    chip: str
    hwirq: int | None  # None when the kernel prints no hwirq (no irq domain, or <= 4.2)
    trigger: str | None  # "Level" / "Edge" on CONFIG_GENERIC_IRQ_SHOW_LEVEL architectures
    handler: str | None  # flow handler name ("edge", "fasteoi", ...)
    actions: tuple[str, ...]  # () for an IRQ whose action was freed (kernels <= ~6.9)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Interrupts:
    cpus: tuple[int, ...]  # online CPU numbers from the header, in column order
    lines: tuple[IrqLine, ...]  # numeric IRQ lines only
    malformed: tuple[str, ...] = ()  # numeric IRQ lines that could not be parsed (truncated)

    def counts_by_cpu(self, line: IrqLine) -> dict[int, int]:
        return dict(zip(self.cpus, line.counts, strict=True))


def _split_glued(chip: str) -> tuple[str, str | None]:
    for name in _GLUED_HANDLERS:
        suffix = "-" + name
        if chip.endswith(suffix) and len(chip) > len(suffix):
            return chip[: -len(suffix)], name
    return chip, None


def parse_header(line: str) -> tuple[int, ...]:
    tokens = line.split()
    cpus: list[int] = []
    for token in tokens:
        m = _HEADER_CPU.fullmatch(token)
        if m is None:
            raise ValueError(f"/proc/interrupts header: unexpected {token[:20]!r}")
        cpus.append(int(m.group(1)))
    if not cpus:
        raise ValueError("/proc/interrupts header lists no CPU")
    if len(set(cpus)) != len(cpus):
        raise ValueError("/proc/interrupts header repeats a CPU")
    return tuple(cpus)


def parse_irq_line(line: str, ncpu: int) -> IrqLine | None:
    """One line; None if it is not a numeric IRQ line. Raises ValueError if it is but is garbled."""
    m = _IRQ_START.match(line)
    if m is None:
        return None
    if len(m.group(1)) > _MAX_DIGITS:
        raise ValueError(f"IRQ number of {len(m.group(1))} digits")
    irq = int(m.group(1))
    # One split instead of a regex per counter: this loop is most of a scrape on big hosts.
    fields = line[m.end() :].split(None, ncpu)
    if len(fields) < ncpu:
        raise ValueError(f"IRQ {irq}: fewer than {ncpu} counters")
    tokens = fields[:ncpu]
    joined = "".join(tokens)  # one check per line instead of one per counter
    if not (joined.isascii() and joined.isdigit()):
        bad = next(t for t in tokens if not (t.isascii() and t.isdigit()))
        raise ValueError(f"IRQ {irq}: counter {bad[:20]!r} is not a number")
    if len(joined) > _MAX_DIGITS and max(map(len, tokens)) > _MAX_DIGITS:
        raise ValueError(f"IRQ {irq}: a counter of more than {_MAX_DIGITS} digits")
    counts = tuple(map(int, tokens))
    desc = fields[ncpu] if len(fields) > ncpu else ""
    if len(desc) > _MAX_DESC:
        raise ValueError(f"IRQ {irq}: line too long")
    d = _DESC.fullmatch(desc)
    if d is None:
        raise ValueError(f"IRQ {irq}: no chip/handler/action fields")
    chip = d.group("chip")
    handler = d.group("handler")
    hwirq = d.group("hwirq")
    if handler is None and hwirq is None and d.group("trigger") is None:
        chip, handler = _split_glued(chip)
    if hwirq is not None and len(hwirq) > _MAX_DIGITS + 1:
        raise ValueError(f"IRQ {irq}: hwirq of more than {_MAX_DIGITS} digits")
    actions_text = d.group("actions")
    if actions_text is not None:
        actions_text = actions_text.rstrip(" \t\n\r\f\v")
    actions = (
        tuple(a.strip() for a in actions_text.split(", ") if a.strip()) if actions_text else ()
    )
    return IrqLine(
        irq=irq,
        counts=counts,
        chip=chip,
        hwirq=int(hwirq) if hwirq is not None else None,
        trigger=d.group("trigger"),
        handler=handler,
        actions=actions,
    )


def parse_interrupts(text: str, keep: Callable[[str], bool] | None = None) -> Interrupts:
    """Parse the whole file. Raises ValueError when there is no valid CPU header.

    `keep`, if given, is a cheap pre-filter on the raw line (e.g. `"qla2xxx" in line`): other
    lines are skipped unparsed, which matters on hosts with thousands of IRQs.
    """
    lines = text.splitlines()
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index == len(lines):
        raise ValueError("/proc/interrupts is empty")
    cpus = parse_header(lines[index])
    parsed: list[IrqLine] = []
    malformed: list[str] = []
    for line in lines[index + 1 :]:
        if keep is not None and not keep(line):
            continue
        try:
            irq = parse_irq_line(line, len(cpus))
        except ValueError:
            malformed.append(line[:80])
            continue
        if irq is not None:
            parsed.append(irq)
    return Interrupts(cpus=cpus, lines=tuple(parsed), malformed=tuple(malformed))


# qla2xxx action names: drivers/scsi/qla2xxx/qla_isr.c.
# >= 4.11 (multiqueue rework): qla24xx_enable_msix() names the base vectors from msix_entries[]
# as "qla2xxx%lu_%s" with vha->host_no ("default", "rsp_q", then "atio_q" in target mode), and
# qla25xx_request_irq() names queue-pair vectors "qla2xxx%lu_qpair%d".
# <= 4.10, and ISP82xx/8044 (P3P) to this day: fixed names shared by every port,
# "qla2xxx (default)", "qla2xxx (rsp_q)", "qla2xxx (atio_q)", "qla2xxx (multiq)".
# MSI or INTx (ql2xenablemsix=2/0): one IRQ requested with QLA2XXX_DRIVER_NAME, "qla2xxx".
# host_no is an unsigned int: at most 10 digits (a longer number is another driver's name).
_QLA_MODERN = re.compile(r"qla2xxx([0-9]{1,10})_(default|rsp_q|atio_q|qpair[0-9]+)")
_QLA_OLD = re.compile(r"qla2xxx \((default|rsp_q|atio_q|multiq)\)", re.ASCII)
QLA_DRIVER_NAME = "qla2xxx"
LEGACY_VECTOR = "legacy"


@dataclass(frozen=True)
class QlaVector:
    action: str  # the action name as printed
    vector: str  # default | rsp_q | atio_q | multiq | qpair<N> | legacy
    host_no: int | None  # SCSI host number, only carried by the >= 4.11 names


def classify_qla2xxx(action: str) -> QlaVector | None:
    """The qla2xxx vector an action name denotes; None for any other driver's action."""
    m = _QLA_MODERN.fullmatch(action)
    if m is not None:
        return QlaVector(action, m.group(2), int(m.group(1)))
    m = _QLA_OLD.fullmatch(action)
    if m is not None:
        return QlaVector(action, m.group(1), None)
    if action == QLA_DRIVER_NAME:
        return QlaVector(action, LEGACY_VECTOR, None)
    return None


def qla2xxx_vectors(line: IrqLine) -> tuple[QlaVector, ...]:
    """The qla2xxx actions on one IRQ (usually one; several only on a shared INTx line)."""
    found = (classify_qla2xxx(a) for a in line.actions)
    return tuple(v for v in found if v is not None)
