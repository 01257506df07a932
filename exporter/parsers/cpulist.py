"""CPU set formats the kernel prints: `%*pbl` lists and `%*pb` hex masks.

Both come from lib/bitmap-str.c (`bitmap_print_to_pagebuf`, used by `cpumap_print_to_pagebuf`):
`/proc/irq/N/smp_affinity_list`, `effective_affinity_list`, `/sys/devices/system/node/nodeN/cpulist`
and `/sys/devices/system/cpu/online` are lists (`0-3,8,10-11`, empty for an empty mask);
`/proc/irq/N/smp_affinity` and `effective_affinity` are masks of comma-separated 32-bit hex
words, most significant word first (`00000000,0000002a`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# CONFIG_NR_CPUS tops out at 8192 (x86 MAXSMP) today; the margin keeps garbage like
# `0-4000000000` from allocating a huge set while accepting any real machine.
MAX_CPUS = 1 << 16

# Six digits cover MAX_CPUS; longer numbers are refused before int() sees them.
_RANGE = re.compile(r"([0-9]{1,6})(?:-([0-9]{1,6}))?")
_HEXWORD = re.compile(r"[0-9a-fA-F]{1,8}")


def parse_cpulist(text: str) -> tuple[int, ...]:
    """`0-3,8,10-11` -> (0, 1, 2, 3, 8, 10, 11), sorted and unique. Raises ValueError.

    Linear in the text plus MAX_CPUS: the ranges are merged before they are expanded, so
    `0-65535` repeated over a page costs one expansion, not one per repetition. The kernel
    prints the ranges sorted and disjoint; any order and overlap is accepted all the same.
    """
    text = text.strip()
    if not text:
        return ()
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        m = _RANGE.fullmatch(part.strip())
        if m is None:
            raise ValueError(f"bad cpulist element {part[:40]!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo or hi >= MAX_CPUS:
            raise ValueError(f"bad cpulist range {part[:40]!r}")
        ranges.append((lo, hi))
    if len(ranges) > MAX_CPUS:
        raise ValueError(f"cpulist has more than {MAX_CPUS} elements")
    ranges.sort()
    cpus: list[int] = []
    end = -1  # every CPU up to `end` is in `cpus`
    for lo, hi in ranges:
        if hi > end:
            cpus.extend(range(max(lo, end + 1), hi + 1))
            end = hi
    return tuple(cpus)


def parse_cpumask(text: str) -> tuple[int, ...]:
    """`00000000,0000002a` -> (1, 3, 5). Raises ValueError."""
    text = text.strip()
    if not text:
        raise ValueError("empty cpumask")
    words = text.split(",")
    if len(words) * 32 > MAX_CPUS:
        raise ValueError("cpumask too long")
    cpus: list[int] = []
    for index, word in enumerate(reversed(words)):
        if _HEXWORD.fullmatch(word) is None:
            raise ValueError(f"bad cpumask word {word!r}")
        value = int(word, 16)
        base = index * 32
        bit = 0
        while value:
            if value & 1:
                cpus.append(base + bit)
            value >>= 1
            bit += 1
    return tuple(sorted(cpus))


def format_cpulist(cpus: Iterable[int]) -> str:
    """The canonical `%*pbl` spelling of a CPU set: `0-3,8,10-11` ('' when empty)."""
    ordered = sorted(set(cpus))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def format_cpumask(cpus: Iterable[int], nr_cpu_ids: int) -> str:
    """The `%*pb` spelling of a CPU set on a machine with `nr_cpu_ids` CPUs: 32-bit hex words,
    most significant first, comma separated; the first word is padded only to the width
    `nr_cpu_ids` needs, the others to 8 digits (`3` for CPUs 0-1 of 2, `0f` for 0-3 of 8)."""
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
