"""The exporter's whole output on fixed inputs equals the committed golden files (`make golden`)."""

from __future__ import annotations

import difflib

import pytest

from tests.golden import GOLDEN, RENDER, normalise


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_exposition_matches_golden_file(name: str) -> None:
    want = GOLDEN[name].read_text()
    got = RENDER[name]()
    if got != want:
        diff = "".join(
            difflib.unified_diff(
                want.splitlines(True), got.splitlines(True), f"golden/{name}", "now", n=1
            )
        )
        pytest.fail(f"exposition differs from tests/golden (`make golden` if intended):\n{diff}")


def test_normalise_masks_run_dependent_values_only() -> None:
    text = (
        "# HELP process_open_fds x\n# TYPE process_open_fds gauge\nprocess_open_fds 7\n"
        'fctarget_scrape_collector_duration_seconds{collector="lio"} 0.0123\n'
        'fctarget_x_total{a="b"} 3\n'
    )
    assert normalise(text) == (
        'fctarget_scrape_collector_duration_seconds{collector="lio"} <masked>\n'
        'fctarget_x_total{a="b"} 3\n'
    )
