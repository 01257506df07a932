"""Writer and state: what drivers/scsi/qla2xxx/qla_attr.c adds to each simulated port beyond the
fc_sysfs writer: the binary `sfp` file on the Scsi_Host device (`.../hostN/sfp`, reached as
`class/scsi_host/hostN/device/sfp`), `fw_dump_size` and `min/max_supported_speed`.

The module is a 16GFC short-wave SFP+ (850 nm) with SFF-8472 diagnostics; port 1 (and every odd
port) reports external calibration, so its A2h words are raw A/D values with the calibration
constants beside them. Byte offsets and units come from exporter/parsers/sff8472.py.
`advance` drifts port 0's RX power down through the module's low warning (RX_DRIFT_PER_SECOND).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from exporter.parsers import sff8472 as s
from exporter.simulate.model import Port
from exporter.simulate.tree import Tree

# Physical values (base units) and the module's limits: high alarm, low alarm, high warning,
# low warning (SFF-8472 threshold order).
LIMITS: dict[str, tuple[float, float, float, float]] = {
    "temperature": (78.0, -13.0, 73.0, -8.0),
    "voltage": (3.63, 2.97, 3.465, 3.135),
    "bias": (12e-3, 2e-3, 11e-3, 3e-3),
    "tx_power": (1.2589e-3, 0.1259e-3, 0.7943e-3, 0.1995e-3),
    "rx_power": (1.2589e-3, 0.0200e-3, 0.7943e-3, 0.0501e-3),
}
START: dict[str, float] = {
    "temperature": 38.5,
    "voltage": 3.30,
    "bias": 7.2e-3,
    "tx_power": 0.56e-3,
    "rx_power": 0.40e-3,
}
RX_DRIFT_PER_SECOND = 0.0035  # port 0: RX power * exp(-rate * t): under low warning in ~10 min
RX_FLOOR = 0.005e-3  # the drift stops at -23 dBm
# External calibration constants of odd ports: slope (8.8 fixed point), offset (A/D units).
EXT_LINEAR = {
    "bias": (2.0, 0),
    "temperature": (1.0, 512),
    "voltage": (1.0, 0),
    "tx_power": (0.5, 100),
}
EXT_RX = (0.0, 0.0, 0.0, 2.0, 1.0)  # Rx_PWR(4) .. Rx_PWR(0): rx = 2 * AD + 1


@dataclass
class PortExtras:
    """The qla_attr.c state of one simulated port."""

    external_calibration: bool
    values: dict[str, float] = field(default_factory=lambda: dict(START))
    rx_drift: float = 0.0  # per-second decay rate of RX power
    fw_dump_size: int = 0


def make_extras(ports: list[Port]) -> dict[int, PortExtras]:
    extras = {p.index: PortExtras(external_calibration=p.index % 2 == 1) for p in ports}
    if 0 in extras:
        extras[0].rx_drift = RX_DRIFT_PER_SECOND
    return extras


def _raw(name: str, value: float, external: bool) -> int:
    """The A/D word the module would store for `value` (inverse of its calibration)."""
    units = value / s.UNIT[name]
    if external and name == "rx_power":
        units = (units - EXT_RX[4]) / EXT_RX[3]
    elif external:
        slope, offset = EXT_LINEAR[name]
        units = (units - offset) / slope
    n = round(units)
    if name == "temperature":
        return max(-32768, min(32767, n)) & 0xFFFF
    return max(0, min(0xFFFF, n))


def a0_page(port: Port, external: bool) -> bytes:
    a0 = bytearray(s.PAGE)
    a0[s.IDENTIFIER] = 0x03  # SFP/SFP+
    a0[1] = 0x04  # extended identifier: two-wire interface
    a0[2] = 0x07  # LC connector
    a0[s.VENDOR_NAME] = b"FINISAR CORP.".ljust(16)
    a0[37:40] = bytes.fromhex("009065")
    a0[s.VENDOR_PN] = b"FTLF8529P4BCV-QL".ljust(16)
    a0[s.VENDOR_REV] = b"A".ljust(4)
    struct.pack_into(">H", a0, s.WAVELENGTH, 850)
    a0[s.CC_BASE] = sum(a0[: s.CC_BASE]) & 0xFF
    a0[s.VENDOR_SN] = f"PVK4{1830 + port.index:04d}{port.card:02d}Q".ljust(16).encode()
    a0[84:92] = b"180524  "
    cal = s.DIAG_EXTERNAL if external else s.DIAG_INTERNAL
    a0[s.DIAG_TYPE] = s.DIAG_IMPLEMENTED | cal | 0x08  # RX power: average
    a0[94] = 0x08  # SFF-8472 rev 12.3
    a0[95] = sum(a0[64:95]) & 0xFF
    return bytes(a0)


def a2_page(extras: PortExtras) -> bytes:
    a2 = bytearray(s.PAGE)
    ext = extras.external_calibration
    for name in s.MEASUREMENTS:
        for i, limit in enumerate(LIMITS[name]):
            struct.pack_into(">H", a2, s.THRESHOLDS_AT[name] + 2 * i, _raw(name, limit, ext))
        struct.pack_into(">H", a2, s.VALUES_AT[name], _raw(name, extras.values[name], ext))
    if ext:
        struct.pack_into(">5f", a2, s.RX_PWR_COEFFS, *EXT_RX)
        for name, (slope, offset) in EXT_LINEAR.items():
            struct.pack_into(">Hh", a2, s.CAL_AT[name], round(slope * 256), offset)
    a2[95] = sum(a2[:95]) & 0xFF
    return bytes(a2)


def sfp_bytes(port: Port, extras: PortExtras) -> bytes:
    """The 512 bytes qla2x00_sysfs_read_sfp returns: A0h page, then A2h page."""
    return a0_page(port, extras.external_calibration) + a2_page(extras)


def write_port(tree: Tree, port: Port, extras: PortExtras) -> None:
    """`sfp` (mode 0600, as the driver creates it) and the scsi_host attributes."""
    dev = f"sys/devices/{port.devpath}/{port.host}"
    tree.put_bytes(f"{dev}/sfp", sfp_bytes(port, extras), 0o600)
    tree.files(
        f"{dev}/scsi_host/{port.host}",
        {
            "fw_dump_size": f"{extras.fw_dump_size}\n",
            # ISP2261 (QLE2692) is an ISP27xx: "<N>Gps" (sic)
            "min_supported_speed": "4Gps\n",
            "max_supported_speed": "16Gps\n",
        },
    )
    tree.symlink(f"{dev}/scsi_host/{port.host}/device", "../../../" + port.host)


def advance(extras: dict[int, PortExtras], seconds: float) -> None:
    """RX power drift (port 0 by default) toward RX_FLOOR."""
    for e in extras.values():
        if e.rx_drift > 0:
            rx = e.values["rx_power"] * math.exp(-e.rx_drift * seconds)
            e.values["rx_power"] = max(RX_FLOOR, rx)
