"""qla2xxx scsi_host extras (fw_dump_size, fw_state, thermal_temp, min/max_supported_speed), the
FW_DUMP uevent and the FC transport's NPIV vports (class fc_vports): pure parsers, no I/O.

Sources, all drivers/scsi/qla2xxx/qla_attr.c unless named:
- `fw_dump_size` qla2x00_fw_dump_size_show: "%d\\n", 0 while no dump is held (fw_dumped 0),
  else the dump length in bytes. No mailbox command.
- `fw_state` qla2x00_fw_state_show: "0x%x 0x%x 0x%x 0x%x 0x%x 0x%x\\n", the mailbox registers
  of MBC_GET_FIRMWARE_STATE (a firmware mailbox command per read); word 0 is the FSTATE_* code
  of qla_def.h. When the command fails the words are all 0xffff (memset -1).
- `thermal_temp` qla2x00_thermal_temp_show: "%d\\n" degrees C from qla2x00_get_thermal_temp
  (a mailbox command or an I2C read per read); "\\n" while the chip is down, EEH is busy or the
  adapter has no sensor.
- `min_supported_speed` / `max_supported_speed` qla2x00_{min,max}_supported_speed_show:
  "<N>Gps\\n" (sic), "unknown\\n", or "\\n" on adapters other than ISP27xx/28xx (a 2026 patch
  series adds ISP29xx and "128Gps"). No mailbox command.
- FW_DUMP uevent, qla_os.c qla2x00_uevent_emit(QLA_UEVENT_CODE_FW_DUMP): KOBJ_CHANGE on the PCI
  device with the one variable "FW_DUMP=<host_no>" (printed "%ld", "%lu" since a 2020
  format-string fix: the same text for any host number).
- fc_vports, drivers/scsi/scsi_transport_fc.c: the device `vport-<host>:<channel>-<number>`
  (fc_vport_setup, named after the parent Scsi_Host), `vport_state` / `vport_last_state` from
  fc_vport_state_names[] ("%s\\n"; unchanged since vports appeared in 2.6.22), `port_name` /
  `node_name` "0x%llx\\n".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from exporter.parsers.fc_host import format_wwn, parse_int

# qla_def.h FSTATE_* (word 0 of MBC_GET_FIRMWARE_STATE), code -> label value.
FIRMWARE_STATES: dict[int, str] = {
    0: "config_wait",
    1: "wait_al_pa",
    2: "wait_login",
    3: "ready",
    4: "loss_of_sync",
    5: "error",
    6: "reinit",
    7: "non_participating",
}
FW_STATE_FAILED = 0xFFFF  # every word when the mailbox command failed

# scsi_transport_fc.c fc_vport_state_names[], in enum order.
VPORT_STATES: tuple[str, ...] = (
    "Unknown",
    "Active",
    "Disabled",
    "Linkdown",
    "Initializing",
    "No Fabric Support",
    "No Fabric Resources",
    "Fabric Logout",
    "Fabric Rejected WWN",
    "VPort Failed",
)
VPORT_ACTIVE = "Active"

FW_DUMP_UEVENT_VAR = "FW_DUMP"

_GPS_RE = re.compile(r"^([0-9]{1,4})Gps$")
_HEX_WORD_RE = re.compile(r"^0x([0-9a-fA-F]{1,4})$")
_VPORT_RE = re.compile(r"^vport-([0-9]{1,10}):([0-9]{1,10})-([0-9]{1,10})$")
_WWN_RE = re.compile(r"^0x([0-9a-fA-F]{1,16})$")


def parse_fw_dump_size(text: str) -> int:
    """`fw_dump_size`: bytes of the firmware dump waiting to be collected (0: none)."""
    n = parse_int(text, "fw_dump_size")
    if n < 0:  # "%d" of a u32: a dump over 2 GiB would print negative
        n += 1 << 32
    return n


def parse_fw_state(text: str) -> int | None:
    """`fw_state`: word 0 (the FSTATE_* code); None when the mailbox command failed."""
    words = text.split()
    if len(words) != 6:
        raise ValueError(f"fw_state: expected 6 hex words: {text[:60]!r}")
    values = []
    for w in words:
        m = _HEX_WORD_RE.match(w)
        if not m:
            raise ValueError(f"fw_state: not a 16-bit hex word: {w[:20]!r}")
        values.append(int(m.group(1), 16))
    return None if values[0] == FW_STATE_FAILED else values[0]


def firmware_state_name(code: int) -> str:
    return FIRMWARE_STATES.get(code, f"0x{code:x}")


def parse_thermal_temp(text: str) -> int | None:
    """`thermal_temp` in degrees C; None when the driver printed an empty line (no reading)."""
    if not text.strip():
        return None
    return parse_int(text, "thermal_temp")


def parse_supported_speed(text: str, what: str) -> float | None:
    """`min_supported_speed` / `max_supported_speed`: bits per second; None when empty
    (adapter without the field) or "unknown"."""
    value = text.strip()
    if value in ("", "unknown"):
        return None
    m = _GPS_RE.match(value)
    if not m:
        raise ValueError(f"{what}: expected <N>Gps: {value[:40]!r}")
    return int(m.group(1)) * 1e9


def parse_fw_dump_uevent(properties: Mapping[str, str]) -> int | None:
    """The host number of a qla2xxx FW_DUMP change uevent; None for any other uevent."""
    if properties.get("ACTION", "change") != "change":
        return None
    value = properties.get(FW_DUMP_UEVENT_VAR)
    if value is None or not value.isdigit() or len(value) > 10:
        return None
    return int(value)


def parse_vport_name(name: str) -> tuple[int, int, int]:
    """`vport-<host>:<channel>-<number>` -> (parent host number, channel, vport number)."""
    m = _VPORT_RE.match(name)
    if not m:
        raise ValueError(f"not an fc_vport device name: {name[:40]!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def parse_vport_state(text: str) -> str:
    """`vport_state` / `vport_last_state`: one name of fc_vport_state_names[] (any one-line
    text is accepted: a newer kernel may add states)."""
    value = text.strip()
    if not value or "\n" in value or not value.isprintable():
        raise ValueError(f"vport_state: not a state name: {text[:40]!r}")
    return value


def parse_vport_wwn(text: str, what: str) -> str:
    """`port_name` / `node_name` "0x%llx" -> colon form; "" while unset (0)."""
    value = text.strip()
    m = _WWN_RE.match(value)
    if not m:
        raise ValueError(f"{what}: not a 0x-prefixed WWN: {value[:40]!r}")
    n = int(m.group(1), 16)
    return format_wwn(n) if n else ""
