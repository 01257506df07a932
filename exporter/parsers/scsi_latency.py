"""Pure parser of the scsi_latency tracer's maps: the raw (key, value) bytes that
exporter/readers/scsi_latency.py reads from the maps of exporter/bpf/scsi_latency.bpf.c, in;
frozen snapshots out (no I/O; garbage raises ValueError only; linear in the entries).

The layouts below mirror the C structs (native byte order, 64-bit members, no padding). Keys
are kernel pointers (se_portal_group, se_node_acl) and numbers, never strings; the names behind
the pointers are separate maps (`tpgs`, `inis`).

`resolve` turns a dump into labelled series: LUN latency histograms with cumulative buckets at
`BOUNDS_NS`, completions by SCSI status and sense key, and per-nexus command accounting.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from exporter.parsers.lio import normalize_wwn

# Classic `le` bounds, log2-spaced: 2^14 ns (16.4 us) .. 2^34 ns (17.2 s). The program records
# hist(ns - 1), whose bucket [2^k, 2^(k+1) - 1] is exactly ns in (2^k, 2^(k+1)]: Prometheus's
# `le` semantics without rounding.
MIN_EXP, MAX_EXP = 14, 34
BOUNDS_NS: tuple[int, ...] = tuple(1 << k for k in range(MIN_EXP, MAX_EXP + 1))
BOUNDS_SECONDS: tuple[float, ...] = tuple(b / 1e9 for b in BOUNDS_NS)

# SAM status codes (include/scsi/scsi_proto.h, SAM_STAT_*)
STATUS_NAMES: Mapping[int, str] = {
    0x00: "good",
    0x02: "check_condition",
    0x04: "condition_met",
    0x08: "busy",
    0x18: "reservation_conflict",
    0x28: "task_set_full",
    0x30: "aca_active",
    0x40: "task_aborted",
}
CHECK_CONDITION = 0x02
# SPC sense keys (include/scsi/scsi_proto.h)
SENSE_KEYS: tuple[str, ...] = (
    "no_sense",
    "recovered_error",
    "not_ready",
    "medium_error",
    "hardware_error",
    "illegal_request",
    "unit_attention",
    "data_protect",
    "blank_check",
    "vendor_specific",
    "copy_aborted",
    "aborted_command",
    "reserved_0c",
    "volume_overflow",
    "miscompare",
    "completed",
)
OPS: tuple[str, ...] = ("other", "read", "write")  # the program's class numbers 0, 1, 2
# Per-nexus counters (struct nexus_val, in this order), then in_flight (entries of `starts`).
NEXUS_COUNTERS: tuple[str, ...] = ("started", "done", "lost", "dropped", "unmatched")
UNTIMED_REASONS: tuple[str, ...] = ("evicted", "lost", "dropped", "unmatched")
NSLOTS = 64  # struct lat_val: slot k counts ns in (2^(k-1), 2^k], slot 0 ns <= 1
NO_LUN = (1 << 64) - 1  # the command failed before its LUN was resolved: lun="none"
NAME_LEN, WWN_LEN = 32, 224  # struct tpg_names, the inis value (TRANSPORT_IQN_LEN)
MAPS: tuple[str, ...] = ("tpgs", "inis", "lat", "status", "nexus", "starts")
_LAT_KEY = struct.Struct("=4Q")  # tpg, acl, lun, op
_LAT_VAL = struct.Struct(f"={NSLOTS + 1}Q")  # slots, sum_ns
_STATUS_KEY = struct.Struct("=4Q")  # tpg, acl, lun, status | sense_key << 8
_NEXUS_KEY = struct.Struct("=2Q")  # tpg, acl
_NEXUS_VAL = struct.Struct(f"={len(NEXUS_COUNTERS)}Q")
_START_VAL = struct.Struct("=3Q")  # ns, tpg, acl
_U64 = struct.Struct("=Q")

Entries = Sequence[tuple[bytes, bytes]]


def status_name(code: int) -> str:
    return STATUS_NAMES.get(code, f"0x{code:02x}")


@dataclass(frozen=True)
class RawDump:
    """One read of the maps (keys still pointers)."""

    tpg: Mapping[int, tuple[str, str, str]] = field(default_factory=dict)  # fabric, wwn, tpgt dir
    ini: Mapping[int, str] = field(default_factory=dict)
    lat: Mapping[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)  # NSLOTS counts
    latsum: Mapping[tuple[int, ...], int] = field(default_factory=dict)  # ns
    status: Mapping[tuple[int, ...], int] = field(default_factory=dict)  # tpg,acl,lun,status,sk
    nexus: Mapping[str, Mapping[tuple[int, ...], int]] = field(default_factory=dict)


def _unpack(st: struct.Struct, raw: bytes, what: str) -> tuple[int, ...]:
    if len(raw) != st.size:
        raise ValueError(f"{what}: {len(raw)} bytes, expected {st.size}")
    return st.unpack(raw)


def _cstr(raw: bytes, what: str) -> str:
    text = raw.split(b"\0", 1)[0]
    try:
        return text.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(f"{what}: not ASCII: {text[:40]!r}") from None


def _pointer_key(raw: bytes, what: str) -> int:
    return _unpack(_U64, raw, what)[0]


def _tpgs(entries: Entries) -> dict[int, tuple[str, str, str]]:
    out = {}
    for k, v in entries:
        if len(v) != 2 * NAME_LEN + WWN_LEN:
            raise ValueError(f"tpgs value: {len(v)} bytes")
        names = (v[:NAME_LEN], v[NAME_LEN : NAME_LEN + WWN_LEN], v[NAME_LEN + WWN_LEN :])
        fab, wwn, tpgt = (_cstr(n, "tpgs") for n in names)
        out[_pointer_key(k, "tpgs key")] = (fab, wwn, tpgt)
    return out


def parse_maps(maps: Mapping[str, Entries]) -> RawDump:
    """The entries of each map of MAPS (a missing map counts as empty); ValueError on a key or
    value of the wrong size or a name that is not ASCII."""
    ini = {}
    for k, v in maps.get("inis", ()):
        if len(v) != WWN_LEN:
            raise ValueError(f"inis value: {len(v)} bytes")
        ini[_pointer_key(k, "inis key")] = _cstr(v, "inis")
    lat, latsum = {}, {}
    for k, v in maps.get("lat", ()):
        key = _unpack(_LAT_KEY, k, "lat key")
        val = _unpack(_LAT_VAL, v, "lat value")
        lat[key], latsum[key] = val[:NSLOTS], val[NSLOTS]
    status: dict[tuple[int, ...], int] = {}
    for k, v in maps.get("status", ()):
        tpg, acl, lun, code = _unpack(_STATUS_KEY, k, "status key")
        status[(tpg, acl, lun, code & 0xFF, code >> 8 & 0xFF)] = _unpack(_U64, v, "status")[0]
    nexus: dict[str, dict[tuple[int, ...], int]] = {m: {} for m in (*NEXUS_COUNTERS, "in_flight")}
    for k, v in maps.get("nexus", ()):
        key = _unpack(_NEXUS_KEY, k, "nexus key")
        for name, n in zip(NEXUS_COUNTERS, _unpack(_NEXUS_VAL, v, "nexus value"), strict=True):
            nexus[name][key] = n
    flight = nexus["in_flight"]
    for k, v in maps.get("starts", ()):
        _pointer_key(k, "starts key")
        _ns, tpg, acl = _unpack(_START_VAL, v, "starts value")
        flight[(tpg, acl)] = flight.get((tpg, acl), 0) + 1
    return RawDump(_tpgs(maps.get("tpgs", ())), ini, lat, latsum, status, nexus)


def cumulative_buckets(slots: Sequence[int]) -> tuple[int, ...]:
    """Counts at each of BOUNDS_NS (cumulative), then the total (+Inf). Slot k holds ns in
    (2^(k-1), 2^k]: it lies wholly at or under the bound 2^k."""
    out, running, k = [], 0, 0
    for bound_exp in range(MIN_EXP, MAX_EXP + 1):
        while k <= bound_exp and k < len(slots):
            running += slots[k]
            k += 1
        out.append(running)
    out.append(running + sum(slots[k:]))
    return tuple(out)


@dataclass(frozen=True)
class Nexus:
    fabric: str
    target: str
    tpgt: str
    initiator: str  # "" when the collector does not label initiators


@dataclass(frozen=True)
class LunLatency:
    nexus: Nexus
    lun: str
    op: str
    buckets: tuple[int, ...]  # cumulative at BOUNDS_SECONDS, then +Inf (= count)
    sum_seconds: float


@dataclass(frozen=True)
class Completions:
    nexus: Nexus
    lun: str
    status: str
    sense_key: str  # "" unless CHECK CONDITION
    count: int


@dataclass(frozen=True)
class NexusCommands:
    nexus: Nexus
    in_flight: int
    untimed: Mapping[str, int]  # UNTIMED_REASONS -> count


@dataclass(frozen=True)
class LatencySnapshot:
    latency: tuple[LunLatency, ...] = ()
    completions: tuple[Completions, ...] = ()
    nexus: tuple[NexusCommands, ...] = ()


def _nexus(raw: RawDump, tpg: int, acl: int, by_initiator: bool) -> Nexus | None:
    names = raw.tpg.get(tpg)
    if names is None:  # a completion on a TPG whose start the program never saw
        return None
    fabric, wwn, tpgt_dir = names
    tpgt = tpgt_dir.removeprefix("tpgt_")
    ini = normalize_wwn(raw.ini.get(acl, ""), fabric) if by_initiator else ""
    return Nexus(fabric, normalize_wwn(wwn, fabric), tpgt, ini)


def resolve(raw: RawDump, by_initiator: bool) -> LatencySnapshot:
    """Labelled series from a dump; keys of unknown TPGs are dropped, series that differ only
    by initiator are summed when `by_initiator` is off."""
    lat: dict[tuple[Nexus, str, str], tuple[list[int], int]] = {}
    for (tpg, acl, lun, op), slots in raw.lat.items():
        nx = _nexus(raw, tpg, acl, by_initiator)
        if nx is None:
            continue
        lkey = (nx, _lun(lun), OPS[op] if op < len(OPS) else "other")
        acc, total = lat.setdefault(lkey, ([0] * (len(BOUNDS_NS) + 1), 0))
        for i, n in enumerate(cumulative_buckets(slots)):
            acc[i] += n
        lat[lkey] = (acc, total + raw.latsum.get((tpg, acl, lun, op), 0))
    comp: dict[tuple[Nexus, str, str, str], int] = {}
    for (tpg, acl, lun, code, sk), n in raw.status.items():
        nx = _nexus(raw, tpg, acl, by_initiator)
        if nx is None:
            continue
        sense = SENSE_KEYS[sk & 0xF] if code == CHECK_CONDITION else ""
        key = (nx, _lun(lun), status_name(code), sense)
        comp[key] = comp.get(key, 0) + n
    nexus: dict[Nexus, list[int]] = {}
    for i, m in enumerate(_NEXUS_ORDER):
        for (tpg, acl), n in raw.nexus.get(m, {}).items():
            nx = _nexus(raw, tpg, acl, by_initiator)
            if nx is not None:
                nexus.setdefault(nx, [0] * len(_NEXUS_ORDER))[i] += n
    return LatencySnapshot(
        tuple(
            LunLatency(nx, lun, op, tuple(acc), total / 1e9)
            for (nx, lun, op), (acc, total) in sorted(lat.items(), key=_sort)
        ),
        tuple(Completions(*k, n) for k, n in sorted(comp.items(), key=_sort)),
        tuple(NexusCommands(nx, c[5], _untimed(c)) for nx, c in sorted(nexus.items(), key=_sort)),
    )


def _lun(n: int) -> str:
    return "none" if n == NO_LUN else str(n)


_NEXUS_ORDER = (*NEXUS_COUNTERS, "in_flight")


def _untimed(c: Sequence[int]) -> dict[str, int]:
    """evicted = started - done - lost - in flight: starts the LRU map dropped to make room
    (their commands are then unmatched or never completed)."""
    started, done, lost, dropped, unmatched, in_flight = c
    evicted = max(0, started - done - lost - in_flight)
    return {"evicted": evicted, "lost": lost, "dropped": dropped, "unmatched": unmatched}


def _sort(item: tuple[object, object]) -> str:
    return repr(item[0])
