"""SFF-8472 pages as the qla2xxx `sfp` sysfs file returns them: pure decoding, no I/O.

What the file holds (drivers/scsi/qla2xxx/qla_attr.c qla2x00_sysfs_read_sfp, the firmware reads
in qla_mbx.c qla2x00_read_sfp_dev): 512 bytes, read by the firmware in eight 64-byte blocks
(SFP_BLOCK_SIZE), the first four from I2C address A0h offsets 0..255 (the serial ID page), the
last four from A2h offsets 0..255 (diagnostics: thresholds, calibration constants, live values).
The layout is the same on every kernel with the attribute (ISP24xx and later, IS_FWI2_CAPABLE):
before qla2x00_read_sfp_dev existed (4.x) the loop sat inline in qla2x00_sysfs_read_sfp with
SFP_DEV_SIZE 256 and the read had to ask for exactly 2 * 256 bytes; since, SFP_DEV_SIZE is 512
and the read must ask for at least 512. Either way a read at offset 0 gets the 512 bytes.

Values (SFF-8472 rev 12, section 9): thresholds A2h 0..39 and live values A2h 96..105 are
big-endian 16-bit A/D words: temperature signed in 1/256 degC, Vcc in 100 uV, TX bias in 2 uA,
TX and RX power in 0.1 uW. Byte 92 of A0h says how to read them: bit 6 diagnostics implemented,
bit 5 internally calibrated (the words are the values), bit 4 externally calibrated (apply the
constants at A2h 56..91: RX power a 4th-degree polynomial of IEEE-754 coefficients, the others
an unsigned 8.8 slope and a signed offset). Thresholds are A/D words too and are calibrated the
same way (as ethtool's sfpdiag does).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

SFP_DEV_SIZE = 512  # bytes the sysfs file returns: A0h page then A2h page
PAGE = 256  # offset of the A2h page in the file
SFP_BLOCK_SIZE = 64  # one firmware read (qla2x00_read_sfp): 8 reads per file read
FIRMWARE_READS = SFP_DEV_SIZE // SFP_BLOCK_SIZE

# A0h
IDENTIFIER = 0
VENDOR_NAME = slice(20, 36)
VENDOR_PN = slice(40, 56)
VENDOR_REV = slice(56, 60)
WAVELENGTH = 60  # u16 nm
CC_BASE = 63  # low byte of the sum of bytes 0..62
VENDOR_SN = slice(68, 84)
CABLE_TECHNOLOGY = 8  # bits 2/3: passive/active copper cable (no wavelength at 60..61)
DIAG_TYPE = 92
DIAG_IMPLEMENTED = 0x40
DIAG_INTERNAL = 0x20
DIAG_EXTERNAL = 0x10
IDENTIFIERS = {0x03: "SFP", 0x0B: "DWDM-SFP"}

# A2h: threshold words, in file order per measurement: high alarm, low alarm, high warning,
# low warning.
THRESHOLD_NAMES = ("high_alarm", "low_alarm", "high_warning", "low_warning")
MEASUREMENTS = ("temperature", "voltage", "bias", "tx_power", "rx_power")
THRESHOLDS_AT = {m: 4 * 2 * i for i, m in enumerate(MEASUREMENTS)}  # 0, 8, 16, 24, 32
RX_PWR_COEFFS = 56  # Rx_PWR(4) .. Rx_PWR(0), 4-byte floats
CAL_AT = {"bias": 76, "tx_power": 80, "temperature": 84, "voltage": 88}  # slope u8.8, offset s16
VALUES_AT = {"temperature": 96, "voltage": 98, "bias": 100, "tx_power": 102, "rx_power": 104}
# One A/D unit in base units (degC, V, A, W).
UNIT = {"temperature": 1 / 256, "voltage": 100e-6, "bias": 2e-6, "tx_power": 1e-7, "rx_power": 1e-7}


@dataclass(frozen=True)
class Measurement:
    """One diagnostic value and the module's own thresholds, in base units."""

    value: float
    thresholds: tuple[tuple[str, float], ...]  # (name in THRESHOLD_NAMES, value)


@dataclass(frozen=True)
class SfpModule:
    identifier: str  # "SFP", or "0x.." for another SFF-8024 identifier
    vendor: str
    part_number: str
    revision: str
    serial_number: str
    wavelength_nm: int | None  # None: not an optical module (copper, or 0)
    external_calibration: bool
    diagnostics: dict[str, Measurement]  # by MEASUREMENTS name; empty when not implemented


def _text(raw: bytes) -> str:
    """An SFF-8472 ASCII field: space padded; NULs and non-printables dropped."""
    return "".join(chr(b) for b in raw if 0x20 <= b < 0x7F).strip()


def _u16(data: bytes, at: int) -> int:
    return int(struct.unpack_from(">H", data, at)[0])


def _s16(data: bytes, at: int) -> int:
    return int(struct.unpack_from(">h", data, at)[0])


def _calibrate(a2: bytes, name: str, raw: int, external: bool) -> float:
    """A/D word -> value in A/D units after the module's calibration."""
    if not external:
        return float(raw)
    if name == "rx_power":
        c4, c3, c2, c1, c0 = struct.unpack_from(">5f", a2, RX_PWR_COEFFS)
        value = c4 * raw**4 + c3 * raw**3 + c2 * raw**2 + c1 * raw + c0
        if not math.isfinite(value):
            raise ValueError("sfp: external RX power calibration gives no finite value")
        return max(0.0, float(value))
    at = CAL_AT[name]
    slope = _u16(a2, at) / 256.0
    return slope * raw + _s16(a2, at + 2)


def _measurement(a2: bytes, name: str, external: bool) -> Measurement:
    def read(at: int) -> int:
        return _s16(a2, at) if name == "temperature" else _u16(a2, at)

    unit = UNIT[name]
    value = _calibrate(a2, name, read(VALUES_AT[name]), external) * unit
    base = THRESHOLDS_AT[name]
    thresholds = tuple(
        (t, _calibrate(a2, name, read(base + 2 * i), external) * unit)
        for i, t in enumerate(THRESHOLD_NAMES)
    )
    return Measurement(value, thresholds)


def check_pages(data: bytes) -> None:
    """Raise ValueError unless `data` looks like the 512 bytes of a present module."""
    if len(data) != SFP_DEV_SIZE:
        raise ValueError(f"sfp: {len(data)} bytes, expected {SFP_DEV_SIZE} (A0h + A2h pages)")
    ident = data[IDENTIFIER]
    if ident in (0x00, 0xFF):
        raise ValueError(f"sfp: identifier 0x{ident:02x}: no module data (absent or unreadable)")
    if sum(data[:CC_BASE]) & 0xFF != data[CC_BASE]:
        raise ValueError("sfp: A0h CC_BASE checksum mismatch (garbled read)")


def parse_sfp(data: bytes) -> SfpModule:
    """Decode the `sfp` file (see the module docstring); ValueError on a short or garbled read."""
    check_pages(data)
    a0, a2 = data[:PAGE], data[PAGE:]
    diag = a0[DIAG_TYPE]
    external = bool(diag & DIAG_EXTERNAL)
    diagnostics: dict[str, Measurement] = {}
    if diag & DIAG_IMPLEMENTED and diag & (DIAG_INTERNAL | DIAG_EXTERNAL):
        diagnostics = {m: _measurement(a2, m, external) for m in MEASUREMENTS}
    ident = a0[IDENTIFIER]
    wavelength = 0 if a0[CABLE_TECHNOLOGY] & 0x0C else _u16(a0, WAVELENGTH)
    return SfpModule(
        identifier=IDENTIFIERS.get(ident, f"0x{ident:02x}"),
        vendor=_text(a0[VENDOR_NAME]),
        part_number=_text(a0[VENDOR_PN]),
        revision=_text(a0[VENDOR_REV]),
        serial_number=_text(a0[VENDOR_SN]),
        wavelength_nm=wavelength or None,
        external_calibration=external,
        diagnostics=diagnostics,
    )
