"""Hostile-input benchmark: the inputs the tracker measured as quadratic, timed at their
reported size and at 10x, so the ratio shows linearity (about 10 for linear, about 100 for
quadratic). The tests assert only generous fixed budgets; the numbers live here.

    python bench/bench_hostile.py
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import contextlib

from exporter.parsers import cpulist, interrupts, lio


def best(fn: Callable[[str], object], text: str, runs: int = 3) -> float:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        with contextlib.suppress(ValueError):
            fn(text)
        out.append(time.perf_counter() - start)
    return min(out)


def irq_file(lines: int, line: str) -> str:
    return "   CPU0\n" + line * lines


CASES: list[tuple[str, Callable[[str], object], Callable[[int], str]]] = [
    (
        "parse_backstore_info, 64 KB of 'File: '",
        lio.parse_backstore_info,
        lambda k: "Status: ACTIVATED  " + "File: " * (k * 65536 // 6),
    ),
    (
        "parse_cpulist, 16 KB of '0-65535,'",
        cpulist.parse_cpulist,
        lambda k: "0-65535," * (k * 2048) + "1",
    ),
    (
        "parse_interrupts, 50 lines of 4 KB 'a-a-...'",
        interrupts.parse_interrupts,
        lambda k: irq_file(50 * k, "5: 1 " + "a-" * 2045 + " x\n"),
    ),
    (
        "parse_interrupts, 50 lines of 4 KB blanks before the action",
        interrupts.parse_interrupts,
        lambda k: irq_file(50 * k, "5: 1 X  a" + " " * 4080 + "b\n"),
    ),
]


def main() -> None:
    print(f"{'input':62s} {'1x (s)':>9s} {'10x (s)':>9s} {'ratio':>6s}")
    for name, fn, make in CASES:
        one = best(fn, make(1))
        ten = best(fn, make(10))
        print(f"{name:62s} {one:9.4f} {ten:9.4f} {ten / one:6.1f}")


if __name__ == "__main__":
    main()
