"""Fuzz exporter/parsers/pci.py against its contract (tests/fuzz_support.py): the name helpers
documented to return None never raise."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers import pci as p
from tests.fuzz_support import PROFILE, fan, linear, seeded, sim_values

PATHS = [
    "/sys/devices/pci0000:80/0000:80:03.0/0000:83:00.1/host7/scsi_host/host7",
    "/sys/devices/pci0000:80/0000:83:00.1/host7/vport-7:0-0/host9/fc_host/host9",
    "host7",
    "0000:83:00.1",
]
ATTRS = [*sim_values("numa_node", "/irq"), "-1\n", "0\n", "42\n"]

NONE_OR_VALUE: dict[str, Callable[[str], object]] = {
    "is_bdf": p.is_bdf,
    "host_number": p.host_number,
    "bdf_above_host": p.bdf_above_host,
    "bdf_above_host(host9)": lambda t: p.bdf_above_host(t, "host9"),
    "parse_msi_irqs": lambda t: p.parse_msi_irqs(t.split("/")),
}
VALUE_ERROR: dict[str, Callable[[str], object]] = {
    "parse_int_attr": lambda t: p.parse_int_attr(t, "irq"),
    "parse_numa_node": p.parse_numa_node,
}


@PROFILE
@given(seeded(PATHS), st.sampled_from(sorted(NONE_OR_VALUE)))
def test_fuzz_names_never_raise(text: str, name: str) -> None:
    fan(f"pci.{name}", NONE_OR_VALUE[name], text, may_raise=False)


@PROFILE
@given(seeded(ATTRS), st.sampled_from(sorted(VALUE_ERROR)))
def test_fuzz_attributes(text: str, name: str) -> None:
    fan(f"pci.{name}", VALUE_ERROR[name], text)


@pytest.mark.parametrize("name", sorted({**NONE_OR_VALUE, **VALUE_ERROR}))
@pytest.mark.parametrize("filler", ["host7/", "0000:83:00.1/", "9", "/"])
def test_linear(name: str, filler: str) -> None:
    linear({**NONE_OR_VALUE, **VALUE_ERROR}[name], filler)
