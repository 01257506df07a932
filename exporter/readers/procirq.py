"""The /proc IRQ reader: `/proc/interrupts` and `/proc/irq/N/{smp,effective}_affinity[_list]`.
The only code that opens these files.

Formats: kernel/irq/proc.c (show_interrupts; the affinity files, lists since 3.0 / effective
since 4.15, the hex-mask files where the list files are absent), parsed by
exporter/parsers/interrupts.py and exporter/parsers/cpulist.py.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass

from exporter import fsread
from exporter.parsers.cpulist import parse_cpulist, parse_cpumask
from exporter.parsers.interrupts import Interrupts, parse_interrupts
from exporter.paths import HostPaths
from exporter.readers.problems import Problems


@dataclass(frozen=True)
class Affinity:
    """CPU sets of one IRQ; None where the kernel has no such file (or it failed)."""

    allowed: tuple[int, ...] | None  # smp_affinity_list
    effective: tuple[int, ...] | None  # effective_affinity_list


def read_interrupts(
    paths: HostPaths, problems: Problems, keep: Callable[[str], bool]
) -> Interrupts | None:
    """/proc/interrupts, parsing only the lines `keep` accepts (the rest of a large host is
    skipped unparsed); None when it cannot be read or its header is garbled."""
    path = paths.proc("interrupts")
    try:
        text = fsread.read_text(path, fsread.MAX_LARGE_FILE)
    except OSError as exc:
        problems.os_error("proc/interrupts", path, exc)
        return None
    try:
        parsed = parse_interrupts(text, keep=keep)
    except ValueError as exc:
        problems.add("proc/interrupts", "parse", f"{path}: {exc}")
        return None
    if parsed.malformed:
        problems.add(
            "proc/interrupts",
            "malformed",
            f"{path}: {len(parsed.malformed)} unparsable IRQ lines, first {parsed.malformed[0]!r}",
        )
    return parsed


def _cpus(paths: HostPaths, irq: int, kind: str, problems: Problems) -> tuple[int, ...] | None:
    """CPUs in /proc/irq/N/<kind>_list (or the <kind> mask); None when the kernel has none."""
    for name, parse in ((f"{kind}_list", parse_cpulist), (kind, parse_cpumask)):
        path = paths.proc("irq", str(irq), name)
        obj = f"irq/{irq}/{name}"
        try:
            text = fsread.read_text(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue  # older kernel, or the IRQ went away since /proc/interrupts
            problems.os_error(obj, path, exc)
            return None
        try:
            return parse(text)
        except ValueError as exc:
            problems.add(obj, "parse", f"{path}: {exc}")
            return None
    return None


def read_affinity(paths: HostPaths, irq: int, problems: Problems) -> Affinity:
    return Affinity(
        _cpus(paths, irq, "smp_affinity", problems),
        _cpus(paths, irq, "effective_affinity", problems),
    )
