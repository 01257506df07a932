"""Fuzz exporter/parsers/cpulist.py against its contract (tests/fuzz_support.py), and check the
results against a naive reference on what parses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers import cpulist as p
from tests.fuzz_support import PROFILE, fan, linear, seeded, sim_values

LISTS = [*sim_values("cpulist", "_list", "online"), "0-3,8,10-11\n", "\n", "0-65535\n"]
MASKS = [*sim_values("smp_affinity", "effective_affinity"), "00000000,0000002a\n", "ff\n"]


@PROFILE
@given(seeded(LISTS))
def test_fuzz_cpulist(text: str) -> None:
    fan("cpulist.parse_cpulist", p.parse_cpulist, text)


@PROFILE
@given(seeded(MASKS))
def test_fuzz_cpumask(text: str) -> None:
    fan("cpulist.parse_cpumask", p.parse_cpumask, text)


@PROFILE
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 40)), max_size=20))
def test_cpulist_equals_the_naive_expansion(ranges: list[tuple[int, int]]) -> None:
    text = ",".join(f"{lo}-{lo + n}" if n else str(lo) for lo, n in ranges)
    expected = sorted({c for lo, n in ranges for c in range(lo, lo + n + 1)})
    assert p.parse_cpulist(text) == tuple(expected)
    assert p.parse_cpulist(p.format_cpulist(expected)) == tuple(expected)


@pytest.mark.parametrize("filler", ["0-65535,", "1,", "0-1,", "9", ",", "-"])
def test_cpulist_linear(filler: str) -> None:
    linear(p.parse_cpulist, filler, suffix="1")


@pytest.mark.parametrize("filler", ["ffffffff,", "0", ","])
def test_cpumask_linear(filler: str) -> None:
    linear(p.parse_cpumask, filler, suffix="1")
