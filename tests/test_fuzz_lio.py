"""Fuzz exporter/parsers/lio.py against its contract (tests/fuzz_support.py): only ValueError,
numbers within a float's range, names parsed to None rather than raising, linear time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers import lio as p
from tests.fuzz_support import PROFILE, dump_values, fan, linear, seeded, sim_values

DUMP = "lio/real-kernel-6.1/*.txt"


def _seeds(*names: str) -> list[str]:
    return dump_values(DUMP, names) + sim_values(*names)


INFO = _seeds("/info")
COUNTERS = _seeds("_cmds", "_mbytes", "resets", "ports", "block_size", "aborts_complete")
TEXTS = _seeds("/vend", "/prod", "/status", "/enable", "vpd_unit_serial", "company_id")
IDENT = [*_seeds("port_ident", "dynamic_sessions", "/info"), "InitiatorName: iqn.x\n"]
NAMES = ["lun_0", "lun_17", "tpgt_1", "fileio_0", "rd_mcp_12", "iblock_3", "alua", "lun_"]
LINKS = ["../../../../../../target/core/fileio_0/disk0", "../core/iblock_2/blk0"]
WWNS = ["21:00:00:24:ff:31:4c:48", "naa.21000024ff314c48", "0x21000024ff314c48", "iqn.x"]

TEXT_PARSERS: dict[str, Callable[[str], object]] = {
    "parse_uint": p.parse_uint,
    "parse_bool": p.parse_bool,
    "parse_text": p.parse_text,
    "parse_tgt_dev_status": p.parse_tgt_dev_status,
    "parse_lun_link": p.parse_lun_link,
    "parse_port_ident": p.parse_port_ident,
    "parse_iscsi_acl_info": p.parse_iscsi_acl_info,
    "parse_unit_serial": p.parse_unit_serial,
    "parse_company_id": p.parse_company_id,
    "parse_backstore_info": p.parse_backstore_info,
}
NONE_PARSERS: dict[str, Callable[[str], object]] = {
    "parse_lun_dir": p.parse_lun_dir,
    "parse_tpgt_dir": p.parse_tpgt_dir,
    "parse_hba_dir": p.parse_hba_dir,
    "normalize_wwn": lambda s: p.normalize_wwn(s, "qla2xxx"),
    "naa_wwn": p.naa_wwn,
}


@PROFILE
@given(seeded(INFO))
def test_fuzz_backstore_info(text: str) -> None:
    fan("lio.parse_backstore_info", p.parse_backstore_info, text)


@PROFILE
@given(seeded(COUNTERS + TEXTS + IDENT + LINKS), st.sampled_from(sorted(TEXT_PARSERS)))
def test_fuzz_attributes(text: str, name: str) -> None:
    fan(f"lio.{name}", TEXT_PARSERS[name], text)


@PROFILE
@given(seeded(COUNTERS))
def test_fuzz_uint_bytes(text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    fan("lio.parse_uint", lambda t: p.parse_uint(t.encode("utf-8", "surrogateescape")), text)
    fan("lio.parse_dynamic_sessions", lambda t: p.parse_dynamic_sessions(data), text)


@PROFILE
@given(seeded(NAMES + WWNS), st.sampled_from(sorted(NONE_PARSERS)))
def test_fuzz_names_never_raise(text: str, name: str) -> None:
    fan(f"lio.{name}", NONE_PARSERS[name], text, may_raise=False)


@pytest.mark.parametrize(
    "filler", ["File: ", "Size: 1", "  Size: ", "Status: x ", "9", "PAGES/PAGE_SIZE: 1*", "\n"]
)
def test_backstore_info_linear(filler: str) -> None:
    linear(p.parse_backstore_info, filler, prefix="Status: ACTIVATED  ")


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS) + sorted(NONE_PARSERS))
@pytest.mark.parametrize("filler", ["9", "0x1", " a+i+", "lun_1/core/"])
def test_linear(name: str, filler: str) -> None:
    linear({**TEXT_PARSERS, **NONE_PARSERS}[name], filler)
