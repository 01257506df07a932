"""Fuzz exporter/parsers/fc_host.py against its contract (tests/fuzz_support.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers import fc_host as p
from tests.fuzz_support import PROFILE, dump_values, fan, linear, seeded, sim_values

NAMES = (
    "port_name",
    "node_name",
    "fabric_name",
    "port_id",
    "port_state",
    "port_type",
    "speed",
    "supported_speeds",
    "port_speed",
    "dev_loss_tmo",
    "total_isp_aborts",
    "link_state",
    "qlini_mode",
    "active_mode",
    "tgtid_bind_type",
    "symbolic_name",
    "_count",
    "_frames",
    "_words",
    "_requests",
    "_megabytes",
)
SEEDS = dump_values("fc_host/*.txt", NAMES) + sim_values(*NAMES) + ["unknown\n", "8 Gbit\n"]

PARSERS: dict[str, Callable[[str], object]] = {
    "parse_u64": p.parse_u64,
    "parse_statistic": p.parse_statistic,
    "parse_wwn": p.parse_wwn,
    "parse_fabric_name": p.parse_fabric_name,
    "parse_port_id": p.parse_port_id,
    "parse_name": lambda t: p.parse_name(t, "port_state"),
    "parse_text": lambda t: p.parse_text(t, "symbolic_name"),
    "parse_tgtid_bind_type": p.parse_tgtid_bind_type,
    "speed_bits": lambda t: p.speed_bits(t.strip()),
    "parse_speed": p.parse_speed,
    "parse_speed_list": p.parse_speed_list,
    "parse_qla_port_speed": p.parse_qla_port_speed,
    "parse_int": lambda t: p.parse_int(t, "dev_loss_tmo"),
    "parse_link_topology": p.parse_link_topology,
    "parse_qlini_mode": p.parse_qlini_mode,
    "parse_host_qlini_mode": p.parse_host_qlini_mode,
    "parse_active_mode": p.parse_active_mode,
}


@PROFILE
@given(seeded(SEEDS), st.sampled_from(sorted(PARSERS)))
def test_fuzz_fc_host(text: str, name: str) -> None:
    fan(f"fc_host.{name}", PARSERS[name], text)


@PROFILE
@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_format_wwn_raises_value_error_only(n: int) -> None:
    try:
        assert len(p.format_wwn(n)) == 23
    except ValueError:
        assert not 0 <= n <= p.ALL_ONES


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("filler", ["9", "8 Gbit, ", "Current selection: x\n", " ", "0x"])
def test_linear(name: str, filler: str) -> None:
    linear(PARSERS[name], filler)
