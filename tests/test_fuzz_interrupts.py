"""Fuzz exporter/parsers/interrupts.py against its contract (tests/fuzz_support.py): whole
files, single lines and action names; linear time on the lines the tracker found quadratic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers import interrupts as p
from tests.fuzz_support import PROFILE, fan, fixture_texts, linear, seeded, sim_values

FILES = fixture_texts("interrupts/*.txt", "simulate/*.txt") + sim_values("proc/interrupts")
LINES = sorted({ln for text in FILES for ln in text.splitlines() if ":" in ln})[:400]
ACTIONS = ["qla2xxx6_default", "qla2xxx (rsp_q)", "qla2xxx", "qla2xxx7_qpair3", "i8042"]


@PROFILE
@given(seeded(FILES))
def test_fuzz_interrupts_file(text: str) -> None:
    fan("interrupts.parse_interrupts", p.parse_interrupts, text)


@PROFILE
@given(seeded(LINES), st.integers(1, 8))
def test_fuzz_irq_line(line: str, ncpu: int) -> None:
    fan("interrupts.parse_irq_line", lambda t: p.parse_irq_line(t, ncpu), line)
    fan("interrupts.parse_header", p.parse_header, "CPU0 CPU1 " + line)


@PROFILE
@given(seeded(ACTIONS))
def test_fuzz_classify_never_raises(action: str) -> None:
    fan("interrupts.classify_qla2xxx", p.classify_qla2xxx, action, may_raise=False)


@pytest.mark.parametrize("filler", ["a-", "-", " a", "1 ", "a  ", "\t-", "9", " 1-edge "])
def test_description_linear(filler: str) -> None:
    """1 MB of 4 KB lines, each one the report's worst case for its filler."""
    line = "5: 1 " + filler * (4090 // len(filler)) + " x\n"
    linear(p.parse_interrupts, line, prefix="   CPU0\n")


@pytest.mark.parametrize("filler", ["9", " ", "1 ", "CPU1 "])
def test_one_line_linear(filler: str) -> None:
    linear(p.parse_interrupts, filler, prefix="   CPU0\n 5: ")
