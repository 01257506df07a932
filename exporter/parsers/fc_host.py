"""Pure parsers for FC transport sysfs (`class/fc_host/hostN`) and the qla2xxx scsi_host extras.

Formats (kernel 6.1 / 6.12):
- drivers/scsi/scsi_transport_fc.c: `port_name`, `node_name`, `fabric_name` are `"0x%llx\\n"`;
  `port_id` is `"0x%06x\\n"`; `port_state` / `port_type` come from fixed name tables; `speed` and
  `supported_speeds` are a bitfield printer joining names with `", "` (or `"unknown"`); every
  `statistics/*` counter is `"0x%llx\\n"` and an LLD that does not fill a field leaves it all ones.
- drivers/scsi/qla2xxx/qla_attr.c: `link_state` ("Link Down", "Unknown Link State",
  "Link Up - <topology>"), `total_isp_aborts` `"%d\\n"`, `port_speed` (`port_speed_str` names or
  "Unknown"), per-host `qlini_mode` ("Supported options: ...\\nCurrent selection: <mode>\\n").
- drivers/scsi/qla2xxx/qla_target.c: module parameter `qlini_mode` (charp, `"%s\\n"`).
- drivers/scsi/scsi_sysfs.c: `active_mode` ("Initiator", "Target", "Initiator, Target", "unknown").

Every function takes the text of one attribute and raises only ValueError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# qla2xxx memsets its fc_host_statistics to -1 before filling what it supports (qla_attr.c
# qla2x00_get_fc_host_stats); the whole snapshot is all ones when the chip is down.
ALL_ONES = 0xFFFF_FFFF_FFFF_FFFF

# scsi_transport_fc.c fc_statistics_attrs[] (6.1), in kernel order (KERNEL-FORMATS.md 4.2);
# the directory also holds the write-only `reset_statistics`.
FC_STAT_FILES: tuple[str, ...] = (
    "seconds_since_last_reset",
    "tx_frames",
    "tx_words",
    "rx_frames",
    "rx_words",
    "lip_count",
    "nos_count",
    "error_frames",
    "dumped_frames",
    "link_failure_count",
    "loss_of_sync_count",
    "loss_of_signal_count",
    "prim_seq_protocol_err_count",
    "invalid_tx_word_count",
    "invalid_crc_count",
    "fcp_input_requests",
    "fcp_output_requests",
    "fcp_control_requests",
    "fcp_input_megabytes",
    "fcp_output_megabytes",
    "fcp_packet_alloc_failures",
    "fcp_packet_aborts",
    "fcp_frame_alloc_failures",
    "fc_no_free_exch",
    "fc_no_free_exch_xid",
    "fc_xid_not_found",
    "fc_xid_busy",
    "fc_seq_not_found",
    "fc_non_bls_resp",
    "cn_sig_warn",
    "cn_sig_alarm",
    "fpin_dn",
    "fpin_dn_unknown",
    "fpin_dn_timeout",
    "fpin_dn_unable_to_route",
    "fpin_dn_device_specific",
    "fpin_li",
    "fpin_li_failure_unknown",
    "fpin_li_link_failure_count",
    "fpin_li_loss_of_sync_count",
    "fpin_li_loss_of_signals_count",
    "fpin_li_prim_seq_err_count",
    "fpin_li_invalid_tx_word_count",
    "fpin_li_invalid_crc_count",
    "fpin_li_device_specific",
    "fpin_cn",
    "fpin_cn_clear",
    "fpin_cn_lost_credit",
    "fpin_cn_credit_stall",
    "fpin_cn_oversubscription",
    "fpin_cn_device_specific",
)
# The statistics qla2xxx never fills (qla2x00_get_fc_host_stats), so they read ALL_ONES even
# while the chip is up; the fpin_* ones are kept by the FC transport itself.
QLA2XXX_UNFILLED_STATS = frozenset(
    {
        "fcp_packet_alloc_failures",
        "fcp_packet_aborts",
        "fcp_frame_alloc_failures",
        "fc_no_free_exch",
        "fc_no_free_exch_xid",
        "fc_xid_not_found",
        "fc_xid_busy",
        "fc_seq_not_found",
        "fc_non_bls_resp",
        "cn_sig_warn",
        "cn_sig_alarm",
    }
)

# The port_state names of a working and of a cabled-down port.
PORT_STATE_ONLINE = "Online"
PORT_STATE_LINKDOWN = "Linkdown"

# scsi_transport_fc.c fc_port_state_names[] (6.1 = 6.12; "Marginal" since 5.11).
PORT_STATES: tuple[str, ...] = (
    "Unknown",
    "Not Present",
    PORT_STATE_ONLINE,
    "Offline",
    "Blocked",
    "Bypassed",
    "Diagnostics",
    PORT_STATE_LINKDOWN,
    "Error",
    "Loopback",
    "Deleted",
    "Marginal",
)

# scsi_transport_fc.c fc_port_type_names[].
PORT_TYPES: tuple[str, ...] = (
    "Unknown",
    "Other",
    "Not Present",
    "NPort (fabric via point-to-point)",
    "NLPort (fabric via loop)",
    "LPort (private loop)",
    "Point-To-Point (direct nport connection)",
    "NPIV VPORT",
)

# qla_attr.c qla2x00_link_state_show(): "Link Up - " and one of these (ISP_CFG_NL, _FL, _N, _F;
# an unknown current_topology prints "Loop"); otherwise "Link Down" or "Unknown Link State".
LINK_UP_PREFIX = "Link Up - "
TOPOLOGIES: tuple[str, ...] = ("Loop", "FL_Port", "N_Port to N_Port", "F_Port")

# qla_target.c MODULE_PARM_DESC(qlini_mode ...); QLA_TGT_MODE_ENABLED() is
# `ql2x_ini_mode != QLA2XXX_INI_MODE_ENABLED`: every mode but "enabled" lets ports run as targets.
QLINI_MODES: tuple[str, ...] = ("exclusive", "disabled", "enabled", "dual")

# scsi_transport_fc.c fc_port_speed_names[] values that carry no rate.
_NO_SPEED = frozenset({"unknown", "Not Negotiated"})
# fc_port_speed_names[] tops out at "256 Gbit"; six digits leave room and keep int() cheap.
_SPEED_RE = re.compile(r"([0-9]{1,6}) Gbit")
# `%d` / `%u` attributes: 32 bits in every kernel; a 64-bit bound is generous and float-safe.
_INT_RE = re.compile(r"[+-]?[0-9]{1,20}")
_HEX_RE = re.compile(r"^0x([0-9a-fA-F]{1,16})$")
_DEC_RE = re.compile(r"^[0-9]{1,20}$")
_PORT_ID_RE = re.compile(r"^0x([0-9a-fA-F]{6})$")
_MODE_RE = re.compile(r"^[a-z_]{1,32}$")


def _one_line(text: str, what: str) -> str:
    """The attribute value without its newline; rejects empty, multi-line or binary values."""
    value = text.removesuffix("\n")
    if not value:
        raise ValueError(f"{what}: empty value")
    if any(c in value for c in "\n\r\x00"):
        raise ValueError(f"{what}: more than one line: {value[:40]!r}")
    if not value.isprintable():
        raise ValueError(f"{what}: unprintable value {value[:40]!r}")
    return value


def parse_u64(text: str, what: str = "value") -> int:
    """`0x%llx` (statistics, WWNs) or, for drivers that print decimal, `%llu`."""
    value = _one_line(text, what).strip()
    m = _HEX_RE.match(value)
    if m:
        return int(m.group(1), 16)
    if _DEC_RE.match(value):
        n = int(value)
        if n > ALL_ONES:
            raise ValueError(f"{what}: {value} exceeds 64 bits")
        return n
    raise ValueError(f"{what}: not a counter: {value[:40]!r}")


def parse_statistic(text: str, what: str = "statistic") -> int | None:
    """One `statistics/*` file; None when the value is all ones (not supported / chip down)."""
    n = parse_u64(text, what)
    return None if n == ALL_ONES else n


def format_wwn(n: int) -> str:
    """64-bit WWN as 8 colon-separated lowercase bytes (docs/DESIGN.md label convention)."""
    if not 0 <= n <= ALL_ONES:
        raise ValueError(f"WWN {n:#x} out of range")
    h = f"{n:016x}"
    return ":".join(h[i : i + 2] for i in range(0, 16, 2))


def parse_wwn(text: str, what: str = "port_name") -> str:
    """`port_name` / `node_name`: `0x%llx` without zero padding -> `21:00:00:24:ff:31:4c:48`."""
    value = _one_line(text, what).strip()
    m = _HEX_RE.match(value)
    if not m:
        raise ValueError(f"{what}: not a 0x-prefixed WWN: {value[:40]!r}")
    return format_wwn(int(m.group(1), 16))


def parse_fabric_name(text: str) -> str | None:
    """`fabric_name`; None when all ones (qla2xxx: no switch found) or zero."""
    value = _one_line(text, "fabric_name").strip()
    m = _HEX_RE.match(value)
    if not m:
        raise ValueError(f"fabric_name: not a 0x-prefixed WWN: {value[:40]!r}")
    n = int(m.group(1), 16)
    if n in (0, ALL_ONES):
        return None
    return format_wwn(n)


def parse_port_id(text: str) -> int:
    """`port_id` `0x%06x`: the 24-bit FC address (domain, area, AL_PA); 0 while not logged in."""
    value = _one_line(text, "port_id").strip()
    m = _PORT_ID_RE.match(value)
    if not m:
        raise ValueError(f"port_id: expected 0x and 6 hex digits: {value[:40]!r}")
    return int(m.group(1), 16)


def parse_name(text: str, what: str) -> str:
    """A one-line name (`port_state`, `port_type`, ...): any printable text, stripped."""
    value = _one_line(text, what).strip()
    if not value:
        raise ValueError(f"{what}: blank value")
    return value


def parse_text(text: str, what: str) -> str:
    """A free-text attribute (`symbolic_name`, `model_name`, `fw_version`): may be empty.

    Newlines and runs of spaces collapse to one space so that a label never spans lines.
    """
    if "\x00" in text:
        raise ValueError(f"{what}: contains NUL")
    value = " ".join(text.split())
    if not value.isprintable():
        raise ValueError(f"{what}: unprintable value {value[:40]!r}")
    return value


def parse_tgtid_bind_type(text: str) -> str:
    """`tgtid_bind_type`: the binding's name and its gloss, `wwpn (World Wide Port Name)`
    (scsi_transport_fc.c fc_tgtid_binding_type_names); returns the first word."""
    return parse_text(text, "tgtid_bind_type").split(" ", 1)[0]


def speed_bits(name: str) -> float | None:
    """One speed name: `16 Gbit` -> 16e9; `unknown` / `Not Negotiated` -> None."""
    if name in _NO_SPEED:
        return None
    m = _SPEED_RE.fullmatch(name)
    if not m:
        raise ValueError(f"speed: unknown speed name {name[:40]!r}")
    return int(m.group(1)) * 1e9


def parse_speed(text: str) -> float | None:
    """`speed`: the negotiated rate in bits/s, None when the link has none (down / unknown)."""
    value = _one_line(text, "speed").strip()
    names = [n.strip() for n in value.split(",")]
    if len(names) != 1:
        raise ValueError(f"speed: several speeds in {value[:60]!r}")
    return speed_bits(names[0])


def parse_speed_list(text: str) -> tuple[str, ...]:
    """`supported_speeds`: the names in kernel order (validated); () for `unknown`."""
    value = _one_line(text, "supported_speeds").strip()
    names = tuple(n.strip() for n in value.split(","))
    for n in names:
        speed_bits(n)
    return tuple(n for n in names if n not in _NO_SPEED)


def parse_qla_port_speed(text: str) -> float | None:
    """scsi_host `port_speed` (qla_attr.c port_speed_str: `4`, `8`, ..., `64`, `10`, `Unknown`)."""
    value = _one_line(text, "port_speed").strip()
    if value == "Unknown":
        return None
    if not value.isdigit() or len(value) > 4:
        raise ValueError(f"port_speed: not a Gbit/s number: {value[:40]!r}")
    return int(value) * 1e9


def parse_int(text: str, what: str) -> int:
    """A `%d` attribute such as `total_isp_aborts` (beyond 64 bits: ValueError)."""
    value = _one_line(text, what).strip()
    if not _INT_RE.fullmatch(value) or abs(n := int(value, 10)) > ALL_ONES:
        raise ValueError(f"{what}: not a 64-bit integer: {value[:40]!r}")
    return n


def parse_link_topology(text: str) -> str | None:
    """qla2xxx `link_state`: the topology of `Link Up - <topology>`; None while the link is not
    up ("Link Down", "Unknown Link State", or another driver's text without a topology)."""
    value = parse_text(text, "link_state")
    if not value:
        raise ValueError("link_state: empty value")
    topology = value.removeprefix(LINK_UP_PREFIX)
    return topology if topology != value and topology else None


def parse_qlini_mode(text: str) -> str:
    """The qla2xxx module parameter (`/sys/module/qla2xxx/parameters/qlini_mode`, `%s\\n`)."""
    value = _one_line(text, "qlini_mode").strip()
    if not _MODE_RE.match(value):
        raise ValueError(f"qlini_mode: unexpected value {value[:40]!r}")
    return value


def parse_host_qlini_mode(text: str) -> str:
    """Per-host `scsi_host/hostN/qlini_mode` (only visible with qlini_mode=dual)."""
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if sep and key.strip() == "Current selection":
            return parse_qlini_mode(rest.strip())
    raise ValueError("qlini_mode: no 'Current selection:' line")


def target_mode_allowed(mode: str) -> bool | None:
    """Whether a qlini_mode lets qla2xxx ports run in target mode; None for an unknown mode."""
    if mode not in QLINI_MODES:
        return None
    return mode != "enabled"


@dataclass(frozen=True)
class ActiveMode:
    initiator: bool
    target: bool


def parse_active_mode(text: str) -> ActiveMode:
    """scsi_host `active_mode`: `Initiator`, `Target`, `Initiator, Target` or `unknown`."""
    value = _one_line(text, "active_mode").strip()
    if value == "unknown":
        return ActiveMode(initiator=False, target=False)
    parts = {p.strip() for p in value.split(",")}
    if not parts <= {"Initiator", "Target"}:
        raise ValueError(f"active_mode: unexpected value {value[:40]!r}")
    return ActiveMode(initiator="Initiator" in parts, target="Target" in parts)


# fc_host statistics files that hold no value: reset_statistics is write-only.
STATS_SKIP = frozenset({"reset_statistics"})
