"""FC transport sysfs parsers (scsi_transport_fc.c, qla2xxx qla_attr.c formats)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers import fc_host as p

FIXTURES = Path(__file__).parent / "fixtures" / "fc_host"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0x0\n", 0),
        ("0x1c\n", 28),
        ("0x4b2f1\n", 0x4B2F1),
        ("0xfffffffffffffffe\n", 2**64 - 2),
        ("0xffffffffffffffff\n", None),  # qla2xxx: not supported / chip down
        ("0xFFFFFFFFFFFFFFFF\n", None),
        ("42\n", 42),  # a driver printing decimal
        ("0x10", 16),  # no newline
    ],
)
def test_statistic_values(text: str, value: int | None) -> None:
    assert p.parse_statistic(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "\n", "0x\n", "zz\n", "-1\n", "0x1\n0x2\n", "0x1ffffffffffffffff\n", "1e5\n", "0x1 \x00"],
)
def test_statistic_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        p.parse_statistic(text)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_statistic_roundtrip(n: int) -> None:
    # the kernel's own format: snprintf(buf, 20, "0x%llx\n", value)
    assert p.parse_statistic(f"0x{n:x}\n") == (None if n == 2**64 - 1 else n)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_wwn_roundtrip(n: int) -> None:
    got = p.parse_wwn(f"0x{n:x}\n")
    assert len(got) == 23
    assert int(got.replace(":", ""), 16) == n


def test_wwn_forms() -> None:
    assert p.parse_wwn("0x21000024ff314c48\n") == "21:00:00:24:ff:31:4c:48"
    assert p.parse_wwn("0x1000000000001\n") == "00:01:00:00:00:00:00:01"  # "%llx": no padding
    assert p.parse_wwn("0x21000024FF314C48") == "21:00:00:24:ff:31:4c:48"
    for bad in ("21000024ff314c48\n", "0x\n", "naa.21000024ff314c48\n", "0x1234567890abcdef0\n"):
        with pytest.raises(ValueError):
            p.parse_wwn(bad)


def test_fabric_name() -> None:
    assert p.parse_fabric_name("0x100000051e0a5b01\n") == "10:00:00:05:1e:0a:5b:01"
    assert p.parse_fabric_name("0xffffffffffffffff\n") is None  # qla2xxx: no switch found
    assert p.parse_fabric_name("0x0\n") is None
    with pytest.raises(ValueError):
        p.parse_fabric_name("switch\n")


def test_port_id() -> None:
    assert p.parse_port_id("0x010200\n") == 0x010200
    assert p.parse_port_id("0x0A0B0C\n") == 0x0A0B0C
    assert p.parse_port_id("0x000000\n") == 0  # not logged in
    assert p.parse_port_id("0xffffff\n") == 2**24 - 1
    for bad in ("0x10200\n", "010200\n", "0x01020g\n", ""):
        with pytest.raises(ValueError):
            p.parse_port_id(bad)


def test_speed() -> None:
    assert p.parse_speed("16 Gbit\n") == 16e9
    assert p.parse_speed("8 Gbit\n") == 8e9
    assert p.parse_speed("128 Gbit\n") == 128e9
    assert p.parse_speed("unknown\n") is None
    assert p.parse_speed("Not Negotiated\n") is None
    for bad in ("8 Gbit, 16 Gbit\n", "fast\n", "16Gbit\n", "\n"):
        with pytest.raises(ValueError):
            p.parse_speed(bad)


def test_speed_list() -> None:
    assert p.parse_speed_list("4 Gbit, 8 Gbit, 16 Gbit\n") == ("4 Gbit", "8 Gbit", "16 Gbit")
    # the name table puts 10 Gbit before 8 Gbit: order is the kernel's, kept as is
    assert p.parse_speed_list("1 Gbit, 2 Gbit, 4 Gbit, 10 Gbit, 8 Gbit\n")[3] == "10 Gbit"
    assert p.parse_speed_list("unknown\n") == ()
    with pytest.raises(ValueError):
        p.parse_speed_list("4 Gbit, lots\n")


def test_qla_port_speed() -> None:
    assert p.parse_qla_port_speed("32\n") == 32e9
    assert p.parse_qla_port_speed("10\n") == 10e9
    assert p.parse_qla_port_speed("Unknown\n") is None
    with pytest.raises(ValueError):
        p.parse_qla_port_speed("16 Gbit\n")


def test_port_state_real_world_sample() -> None:
    # SCST issue 128: four qla2xxx ports, `cat .../fc_host/*/port_state`
    lines = (FIXTURES / "fc_host-port_state-scst-issue128.txt").read_text().splitlines()
    values = [p.parse_name(line + "\n", "port_state") for line in lines[1:] if "cat " not in line]
    assert values == ["Linkdown", "Linkdown", "Online", "Online", *["Linkdown"] * 4]
    assert set(values) <= set(p.PORT_STATES)


def test_link_topology() -> None:
    # qla_attr.c qla2x00_link_state_show(): "Link Up - " + the topology, else no topology
    for t in p.TOPOLOGIES:
        assert p.parse_link_topology(f"Link Up - {t}\n") == t
    assert p.TOPOLOGIES == ("Loop", "FL_Port", "N_Port to N_Port", "F_Port")
    assert p.parse_link_topology("Link Down\n") is None
    assert p.parse_link_topology("Unknown Link State\n") is None
    assert p.parse_link_topology("Link Up\n") is None  # fnic: no topology
    # a multi-line variant collapses to one label value
    assert p.parse_link_topology("Link Up - Ready:\n   Fabric\n") == "Ready: Fabric"
    for bad in ("\n", "Link Up -\x00\n"):
        with pytest.raises(ValueError):
            p.parse_link_topology(bad)


def test_int_and_text() -> None:
    assert p.parse_int("3\n", "total_isp_aborts") == 3
    assert p.parse_int("0\n", "total_isp_aborts") == 0
    with pytest.raises(ValueError):
        p.parse_int("three\n", "total_isp_aborts")
    assert p.parse_text("QLE2672 FW:v8.07.12 DVR:v10.02.07.900-k\n", "x") == (
        "QLE2672 FW:v8.07.12 DVR:v10.02.07.900-k"
    )
    assert p.parse_text("\n", "x") == ""
    with pytest.raises(ValueError):
        p.parse_text("a\x00b", "x")


def test_tgtid_bind_type_first_word() -> None:
    # every name of scsi_transport_fc.c fc_tgtid_binding_type_names
    assert p.parse_tgtid_bind_type("wwpn (World Wide Port Name)\n") == "wwpn"
    assert p.parse_tgtid_bind_type("wwnn (World Wide Node Name)\n") == "wwnn"
    assert p.parse_tgtid_bind_type("port_id (FC Address)\n") == "port_id"
    assert p.parse_tgtid_bind_type("none\n") == "none"


def test_qlini_mode() -> None:
    assert p.parse_qlini_mode("disabled\n") == "disabled"
    assert p.parse_qlini_mode("exclusive\n") == "exclusive"
    with pytest.raises(ValueError):
        p.parse_qlini_mode("rm -rf\n")
    host_attr = (
        "Supported options: enabled | disabled | dual | exclusive\nCurrent selection: dual\n"
    )
    assert p.parse_host_qlini_mode(host_attr) == "dual"
    with pytest.raises(ValueError):
        p.parse_host_qlini_mode("Supported options: enabled\n")
    # QLA_TGT_MODE_ENABLED() is `ql2x_ini_mode != QLA2XXX_INI_MODE_ENABLED` (qla_target.h)
    assert [p.target_mode_allowed(m) for m in ("exclusive", "disabled", "enabled", "dual")] == [
        True,
        True,
        False,
        True,
    ]
    assert p.target_mode_allowed("future") is None


def test_active_mode() -> None:
    assert p.parse_active_mode("Target\n") == p.ActiveMode(initiator=False, target=True)
    assert p.parse_active_mode("Initiator, Target\n") == p.ActiveMode(initiator=True, target=True)
    assert p.parse_active_mode("Initiator\n") == p.ActiveMode(initiator=True, target=False)
    assert p.parse_active_mode("unknown\n") == p.ActiveMode(initiator=False, target=False)
    with pytest.raises(ValueError):
        p.parse_active_mode("Both\n")


def test_statistics_families_follow_the_naming_rule() -> None:
    from exporter.catalogue.fc_host import STATISTICS

    def name(f: str) -> tuple[str, str, float]:
        st = STATISTICS[f]
        return st.metric.name, st.metric.kind, st.scale

    assert name("lip_count") == ("fctarget_fc_host_lip", "counter", 1.0)
    assert name("tx_frames") == ("fctarget_fc_host_tx_frames", "counter", 1.0)
    assert name("fcp_input_megabytes") == ("fctarget_fc_host_fcp_input_bytes", "counter", 2.0**20)
    assert name("seconds_since_last_reset") == (
        "fctarget_fc_host_stats_reset_age_seconds",
        "gauge",
        1.0,
    )
    assert name("fpin_li_link_failure_count")[0] == "fctarget_fc_host_fpin_li_link_failure"
    assert len(STATISTICS) == 51  # scsi_transport_fc.c 6.1: 31 statistics + 20 FPIN
    assert "reset_statistics" not in STATISTICS and "reset_statistics" in p.STATS_SKIP


def test_fcp_help_says_initiator_only() -> None:
    from exporter.catalogue.fc_host import STATISTICS

    for f in ("fcp_input_requests", "fcp_output_megabytes", "fcp_control_requests"):
        doc = STATISTICS[f].metric.help
        assert "initiator I/O only" in doc and "fctarget_lio_lun_*" in doc
        assert f"statistics/{f}" in doc
    assert "FPIN statistic fpin_cn_clear" in STATISTICS["fpin_cn_clear"].metric.help


def test_kernel_tables_agree() -> None:
    """One statistics table: every declared statistic and every never-filled qla2xxx statistic
    is a file of fc_statistics_attrs[]; the named port states are in the kernel's name table."""
    from exporter.catalogue.fc_host import STATISTICS

    assert set(STATISTICS) <= set(p.FC_STAT_FILES)
    assert set(p.FC_STAT_FILES).isdisjoint(p.STATS_SKIP)
    assert p.QLA2XXX_UNFILLED_STATS.issubset(p.FC_STAT_FILES)
    assert {p.PORT_STATE_ONLINE, p.PORT_STATE_LINKDOWN} <= set(p.PORT_STATES)
