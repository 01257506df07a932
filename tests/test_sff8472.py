"""parsers/sff8472.py on hand-built SFF-8472 pages, the arithmetic written out; the qla_host
parsers from qla_attr.c's format strings."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.parsers import qla_host as q
from exporter.parsers.sff8472 import SFP_DEV_SIZE, parse_sfp


def a0(diag: int) -> bytearray:
    page = bytearray(256)
    page[0] = 0x03  # SFP
    page[20:36] = b"FINISAR CORP.   "
    page[40:56] = b"FTLF8529P4BCV-QL"
    page[56:60] = b"A   "
    page[60:62] = bytes([0x03, 0x52])  # 0x0352 = 850 nm
    page[63] = sum(page[:63]) & 0xFF
    page[68:84] = b"PVK41830Q       "
    page[92] = diag
    return page


def test_internal_calibration_hand_checked() -> None:
    a2 = bytearray(256)
    # thresholds: temperature high alarm 0x4E00 = 19968 / 256 = 78.0 degC
    a2[0:2] = bytes([0x4E, 0x00])
    # temperature low alarm 0xF300 = -3328 (two's complement) / 256 = -13.0 degC
    a2[2:4] = bytes([0xF3, 0x00])
    # RX power low warning 0x01F5 = 501 * 0.1 uW = 50.1 uW = 5.01e-5 W
    a2[38:40] = bytes([0x01, 0xF5])
    # temperature 0x2680 = 9856 / 256 = 38.5 degC
    a2[96:98] = bytes([0x26, 0x80])
    # Vcc 0x80E8 = 33000 * 100 uV = 3.3 V
    a2[98:100] = bytes([0x80, 0xE8])
    # TX bias 0x0E10 = 3600 * 2 uA = 7.2 mA
    a2[100:102] = bytes([0x0E, 0x10])
    # TX power 0x15E0 = 5600 * 0.1 uW = 0.56 mW
    a2[102:104] = bytes([0x15, 0xE0])
    # RX power 0x0FA0 = 4000 * 0.1 uW = 0.4 mW
    a2[104:106] = bytes([0x0F, 0xA0])
    m = parse_sfp(bytes(a0(0x68)) + bytes(a2))  # 0x68: DDM, internal, RX average
    assert (m.identifier, m.vendor, m.part_number, m.revision) == (
        "SFP",
        "FINISAR CORP.",
        "FTLF8529P4BCV-QL",
        "A",
    )
    assert (m.serial_number, m.wavelength_nm, m.external_calibration) == ("PVK41830Q", 850, False)
    d = m.diagnostics
    assert d["temperature"].value == 38.5
    assert d["voltage"].value == pytest.approx(3.3)
    assert d["bias"].value == pytest.approx(7.2e-3)
    assert d["tx_power"].value == pytest.approx(0.56e-3)
    assert d["rx_power"].value == pytest.approx(0.4e-3)
    t = dict(d["temperature"].thresholds)
    assert (t["high_alarm"], t["low_alarm"]) == (78.0, -13.0)
    assert dict(d["rx_power"].thresholds)["low_warning"] == pytest.approx(5.01e-5)


def test_external_calibration_hand_checked() -> None:
    a2 = bytearray(256)
    # RX polynomial: Rx_PWR(4..0) = 0, 0, 0, 2.0, 1.0 -> rx = 2 * AD + 1
    a2[56:76] = struct.pack(">5f", 0.0, 0.0, 0.0, 2.0, 1.0)
    a2[76:80] = bytes([0x02, 0x00, 0x00, 0x00])  # TX_I slope 0x0200 = 2.0, offset 0
    a2[80:84] = bytes([0x00, 0x80, 0x00, 0x64])  # TX_PWR slope 0x0080 = 0.5, offset +100
    a2[84:88] = bytes([0x01, 0x00, 0xFF, 0x00])  # T slope 1.0, offset 0xFF00 = -256 (-1 degC)
    a2[88:92] = bytes([0x01, 0x00, 0x00, 0x00])  # V slope 1.0, offset 0
    a2[36:38] = bytes([0x00, 0xFA])  # RX high warning raw 250 -> 2 * 250 + 1 = 501 -> 50.1 uW
    a2[96:98] = bytes([0x27, 0x80])  # T raw 10112 -> 10112 - 256 = 9856 -> 38.5 degC
    a2[98:100] = bytes([0x80, 0xE8])  # V raw 33000 -> 3.3 V
    a2[100:102] = bytes([0x07, 0x08])  # bias raw 1800 -> 2.0 * 1800 = 3600 -> 7.2 mA
    a2[102:104] = bytes([0x2A, 0xF8])  # TX raw 11000 -> 0.5 * 11000 + 100 = 5600 -> 0.56 mW
    a2[104:106] = bytes([0x07, 0xCF])  # RX raw 1999 -> 2 * 1999 + 1 = 3999 -> 0.3999 mW
    m = parse_sfp(bytes(a0(0x58)) + bytes(a2))  # 0x58: DDM, external, RX average
    assert m.external_calibration is True
    d = m.diagnostics
    assert d["temperature"].value == 38.5
    assert d["voltage"].value == pytest.approx(3.3)
    assert d["bias"].value == pytest.approx(7.2e-3)
    assert d["tx_power"].value == pytest.approx(0.56e-3)
    assert d["rx_power"].value == pytest.approx(0.3999e-3)
    assert dict(d["rx_power"].thresholds)["high_warning"] == pytest.approx(5.01e-5)


def test_no_diagnostics_and_copper() -> None:
    page = a0(0x00)
    page[8] = 0x04  # passive cable: bytes 60-61 are not a wavelength
    page[63] = sum(page[:63]) & 0xFF
    m = parse_sfp(bytes(page) + bytes(256))
    assert (m.diagnostics, m.wavelength_nm) == ({}, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x03" * 10, "10 bytes, expected 512"),
        (bytes(SFP_DEV_SIZE), "identifier 0x00"),
        (b"\xff" * SFP_DEV_SIZE, "identifier 0xff"),
        (bytes(a0(0x68)[:63]) + b"\x00" + bytes(448), "checksum"),
    ],
)
def test_garbage_is_a_value_error(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sfp(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=600))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_sfp(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=256, max_size=256))
def test_random_a2_with_external_calibration_never_crashes(a2: bytes) -> None:
    # NaN/inf coefficients: ValueError, never OverflowError
    with contextlib.suppress(ValueError):
        parse_sfp(bytes(a0(0x58)) + a2)


def test_qla_attr_formats() -> None:
    assert q.parse_fw_dump_size("0\n") == 0
    assert q.parse_fw_dump_size("2663616\n") == 2663616
    assert q.parse_fw_dump_size("-1\n") == 2**32 - 1  # "%d" of a u32
    assert q.parse_fw_state("0x3 0x0 0x0 0x0 0x0 0x0\n") == 3
    assert q.parse_fw_state("0xffff 0xffff 0xffff 0xffff 0xffff 0xffff\n") is None
    assert q.firmware_state_name(3) == "ready"
    assert q.firmware_state_name(9) == "0x9"
    with pytest.raises(ValueError):
        q.parse_fw_state("0x3 0x0\n")
    assert q.parse_thermal_temp("44\n") == 44
    assert q.parse_thermal_temp("\n") is None
    assert q.parse_supported_speed("16Gps\n", "max") == 16e9
    assert q.parse_supported_speed("128Gps\n", "max") == 128e9
    assert q.parse_supported_speed("unknown\n", "max") is None
    assert q.parse_supported_speed("\n", "max") is None
    with pytest.raises(ValueError):
        q.parse_supported_speed("16 Gbit\n", "max")


def test_uevent_and_vport_formats() -> None:
    assert q.parse_fw_dump_uevent({"ACTION": "change", "FW_DUMP": "7"}) == 7
    assert q.parse_fw_dump_uevent({"ACTION": "add", "FW_DUMP": "7"}) is None
    assert q.parse_fw_dump_uevent({"ACTION": "change", "DRIVER": "qla2xxx"}) is None
    assert q.parse_vport_name("vport-7:0-2") == (7, 0, 2)
    with pytest.raises(ValueError):
        q.parse_vport_name("rport-7:0-2")
    assert q.parse_vport_state("No Fabric Support\n") == "No Fabric Support"
    assert q.parse_vport_wwn("0x2001000e1e0a5b00\n", "port_name") == "20:01:00:0e:1e:0a:5b:00"
    assert q.parse_vport_wwn("0x0\n", "port_name") == ""
    assert q.VPORT_STATES[-1] == "VPort Failed"
