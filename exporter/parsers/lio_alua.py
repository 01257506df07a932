"""Pure parsers for LIO ALUA and backstore-risk attributes (`<configfs>/target`, sysfs queue).

Kernel sources (6.1; same text in 6.6 and 6.12):
- drivers/target/target_core_configfs.c   target_tg_pt_gp_{alua_access_state,alua_access_status,
  preferred,tg_pt_gp_id,members}_show() of `core/<hba>/<dev>/alua/<tg_pt_gp>/`
- drivers/target/target_core_alua.c       core_alua_show_tg_pt_gp_info() (the LUN's
  `alua_tg_pt_gp`), core_alua_dump_state(), core_alua_dump_status()
- drivers/target/target_core_user.c       tcmu_block_dev_show(), tcmu_{cmd,qfull}_time_out_show()
- block/blk-sysfs.c                       queue_wc_show() (`queue/write_cache`)
Garbage raises ValueError and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.parsers.lio import parse_text

# SPC-4 asymmetric access states (include/target/target_core_base.h ALUA_ACCESS_STATE_*):
# alua_access_state prints the number ("%d\n"), the LUN's alua_tg_pt_gp the name.
ALUA_STATES: dict[int, str] = {
    0x0: "active_optimized",
    0x1: "active_nonoptimized",
    0x2: "standby",
    0x3: "unavailable",
    0x4: "lba_dependent",
    0xE: "offline",
    0xF: "transitioning",
}
# core_alua_dump_state() spelling -> the state label.
_STATE_NAMES: dict[str, str] = {
    "Active/Optimized": "active_optimized",
    "Active/NonOptimized": "active_nonoptimized",
    "Standby": "standby",
    "Unavailable": "unavailable",
    "LBA Dependent": "lba_dependent",
    "Offline": "offline",
    "Transitioning": "transitioning",
}
# The states in which a group's ports serve I/O (the rest answer NOT READY or are LBA-dependent).
ACTIVE_STATES = frozenset({"active_optimized", "active_nonoptimized"})

# ALUA_STATUS_* (0 none, 1 altered by explicit STPG, 2 altered by implicit ALUA):
# core_alua_dump_status() text; kernels before 3.12 spelled them "Explict" / "Implict".
ALUA_STATUSES = ("none", "explicit_stpg", "implicit_alua")
_STATUS_NAMES: dict[str, str] = {
    "None": "none",
    "Altered by Explicit STPG": "explicit_stpg",
    "Altered by Explict STPG": "explicit_stpg",
    "Altered by Implicit ALUA": "implicit_alua",
    "Altered by Implict ALUA": "implicit_alua",
}
TCMU_TIME_OUT_SECONDS = 30  # target_core_user.c TCMU_TIME_OUT, the fallback of qfull_time_out


def parse_alua_state(data: bytes | str) -> str:
    """`alua/<tg_pt_gp>/alua_access_state`: `%d\\n` -> the state label."""
    text = parse_text(data)
    if text.isascii() and text.isdigit() and len(text) < 4 and int(text) in ALUA_STATES:
        return ALUA_STATES[int(text)]
    raise ValueError(f"not an ALUA access state: {text[:40]!r}")


def parse_alua_status(data: bytes | str) -> str:
    """`alua_access_status` (core_alua_dump_status text) or `alua_tg_pt_status` (`%d\\n`)."""
    text = parse_text(data)
    if text in _STATUS_NAMES:
        return _STATUS_NAMES[text]
    if text in ("0", "1", "2"):
        return ALUA_STATUSES[int(text)]
    raise ValueError(f"not an ALUA access status: {text[:40]!r}")


def parse_tg_pt_gp_id(data: bytes | str) -> int | None:
    """`tg_pt_gp_id`: `%hu\\n`; empty while the group has no valid id (never set)."""
    text = parse_text(data)
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or int(text) > 0xFFFF:
        raise ValueError(f"not a tg_pt_gp_id: {text[:40]!r}")
    return int(text)


def parse_members(data: bytes) -> tuple[str, ...]:
    """`alua/<tg_pt_gp>/members`: `<fabric>/<wwn>/tpgt_<T>/lun_<N>\\n` + NUL per member LUN.

    The fabric is the fabric module's name (`qla2xxx`, `iSCSI`, `loopback`), not its configfs
    directory. The kernel stops at one page (~80 qla2xxx members); what fits is returned.
    """
    text = data.decode("utf-8", "replace")
    out = []
    for part in text.split("\n"):
        entry = part.strip("\x00 \t\r")
        if not entry:
            continue
        if entry.count("/") < 3 or "/tpgt_" not in entry:
            raise ValueError(f"not an ALUA member: {entry[:80]!r}")
        out.append(entry)
    return tuple(out)


@dataclass(frozen=True)
class LunAlua:
    """A LUN's `alua_tg_pt_gp` (core_alua_show_tg_pt_gp_info): its group and secondary state."""

    group: str  # the target port group's configfs name
    group_id: int
    state: str  # the group's primary access state (label)
    offline: bool  # secondary state Offline (alua_tg_pt_offline = 1)
    status: str  # secondary access status (alua_tg_pt_status)


def parse_lun_alua(data: bytes | str) -> LunAlua | None:
    """`lun_N/alua_tg_pt_gp` -> LunAlua; None when empty (a LUN in no group: pscsi passthrough).

    Six `Key: value` lines: TG Port Alias, TG Port Group ID, TG Port Primary Access State,
    TG Port Primary Access Status, TG Port Secondary Access State (`Offline` / `None`),
    TG Port Secondary Access Status.
    """
    text = parse_text(data)
    if not text:
        return None
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition(": ")
        if sep:
            fields[key.strip()] = value.strip()
    try:
        gid = fields["TG Port Group ID"]
        state = _STATE_NAMES[fields["TG Port Primary Access State"]]
        secondary = fields["TG Port Secondary Access State"]
        status = _STATUS_NAMES[fields["TG Port Secondary Access Status"]]
        alias = fields["TG Port Alias"]
    except KeyError:
        raise ValueError(f"not an alua_tg_pt_gp: {text[:80]!r}") from None
    if not gid.isascii() or not gid.isdigit() or secondary not in ("Offline", "None") or not alias:
        raise ValueError(f"not an alua_tg_pt_gp: {text[:80]!r}")
    return LunAlua(alias, int(gid), state, secondary == "Offline", status)


def parse_block_dev(data: bytes | str) -> bool:
    """tcmu `action/block_dev`: `blocked` / `unblocked` -> whether the device is blocked."""
    text = parse_text(data)
    if text == "blocked":
        return True
    if text == "unblocked":
        return False
    raise ValueError(f"not a block_dev state: {text[:40]!r}")


def parse_int(data: bytes | str) -> int:
    """A signed decimal (`%ld\\n`, tcmu qfull_time_out may be -1)."""
    text = parse_text(data)
    digits = text[1:] if text.startswith("-") else text
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 20:
        raise ValueError(f"not an integer: {text[:40]!r}")
    return int(text)


def qfull_seconds(qfull: int, cmd_time_out: int | None) -> int | None:
    """How long a tcmu command waits for ring space: add_to_qfull_queue() in target_core_user.c.

    0: fails at once; > 0: that long; -1 (the default): cmd_time_out, or 30 s when that is 0.
    """
    if qfull >= 0:
        return qfull
    if cmd_time_out is None:
        return None
    return cmd_time_out or TCMU_TIME_OUT_SECONDS


def parse_queue_write_cache(data: bytes | str) -> bool:
    """`<sysfs>/block/<dev>/queue/write_cache`: `write back` (volatile cache) / `write through`."""
    text = parse_text(data)
    if text == "write back":
        return True
    if text == "write through":
        return False
    raise ValueError(f"not a queue write_cache: {text[:40]!r}")
