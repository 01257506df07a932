"""Pure parsers of the scsi_latency tracer's output: bpftrace 0.17 `-f json` records in, frozen
snapshots out (no I/O; garbage raises ValueError only).

One dump is the records bpftrace prints between two `printf("end\\n")` markers of the program in
exporter/readers/scsi_latency_bt.py: one `{"type": "map"|"hist", "data": {"@name": ...}}` line per
map. Map keys are pointers and numbers only, printed as "a,b,c" (bpftrace joins a tuple key with
commas and does not escape them), so they split unambiguously; names are map values (a JSON
string: fabric, configfs names, initiator).

`resolve` turns a dump into labelled series: LUN latency histograms with cumulative buckets at
`BOUNDS_NS`, completions by SCSI status and sense key, and per-nexus command accounting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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
# Per-nexus counters of the program (see scsi_latency_bt.py), in this order.
NEXUS_MAPS: tuple[str, ...] = ("started", "done", "evicted", "lost", "dropped", "unmatched")
UNTIMED_REASONS: tuple[str, ...] = ("evicted", "lost", "dropped", "unmatched")
_MAPS = ("fab", "wwn", "tpgt", "ini", "lat", "latsum", "status", *NEXUS_MAPS)
_U64 = (1 << 64) - 1


def status_name(code: int) -> str:
    return STATUS_NAMES.get(code, f"0x{code:02x}")


@dataclass(frozen=True)
class HistRow:
    """One bpftrace hist() bucket: values min..max (inclusive) seen `count` times."""

    min: int
    max: int
    count: int


@dataclass(frozen=True)
class RawDump:
    """One dump, as the kernel's maps held it (keys still pointers)."""

    tpg: Mapping[int, tuple[str, str, str]] = field(default_factory=dict)  # fabric, wwn, tpgt dir
    ini: Mapping[int, str] = field(default_factory=dict)
    lat: Mapping[tuple[int, ...], tuple[HistRow, ...]] = field(default_factory=dict)
    latsum: Mapping[tuple[int, ...], int] = field(default_factory=dict)
    status: Mapping[tuple[int, ...], int] = field(default_factory=dict)
    nexus: Mapping[str, Mapping[tuple[int, ...], int]] = field(default_factory=dict)


def _uint(v: object, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= _U64:
        raise ValueError(f"{what}: not an unsigned 64-bit number: {v!r}")
    return v


def _key(text: str, arity: int) -> tuple[int, ...]:
    parts = text.split(",")
    if len(parts) != arity or not all(p.isdigit() and len(p) <= 20 for p in parts):
        raise ValueError(f"map key {text[:80]!r}: expected {arity} decimal numbers")
    return tuple(_uint(int(p), "key") for p in parts)


def _entries(value: object, name: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"@{name}: expected an object, got {type(value).__name__}")
    return value


def _hist_rows(rows: object) -> tuple[HistRow, ...]:
    if not isinstance(rows, list):
        raise ValueError("hist: expected a list of buckets")
    out = []
    for r in rows:
        if not isinstance(r, dict) or set(r) != {"min", "max", "count"}:
            raise ValueError(f"hist bucket {r!r:.80}")
        lo, hi, n = (_uint(r[k], "hist") for k in ("min", "max", "count"))
        if hi < lo:
            raise ValueError(f"hist bucket {lo}..{hi}")
        out.append(HistRow(lo, hi, n))
    return tuple(out)


def _names(maps: Mapping[str, object], name: str) -> dict[int, str]:
    out = {}
    for k, v in _entries(maps.get(name, {}), name).items():
        if not isinstance(v, str):
            raise ValueError(f"@{name} value {v!r:.80}: expected a string")
        out[_key(k, 1)[0]] = v
    return out


def parse_dump(lines: Iterable[bytes | str]) -> RawDump:
    """The records of one dump (the `end` marker excluded); unknown record types are skipped,
    a malformed record or a known map with a malformed entry raises ValueError."""
    maps: dict[str, object] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ValueError(f"not a JSON record: {exc}") from None
        if not isinstance(rec, dict):
            raise ValueError("record is not an object")
        if rec.get("type") not in ("map", "hist"):
            continue
        data = rec.get("data")
        if not isinstance(data, dict):
            raise ValueError("map record without data")
        for name, value in data.items():
            if isinstance(name, str) and name.startswith("@") and name[1:] in _MAPS:
                maps[name[1:]] = value
    return _build(maps)


def _build(maps: Mapping[str, object]) -> RawDump:
    fab, wwn, tpgt, ini = (_names(maps, m) for m in ("fab", "wwn", "tpgt", "ini"))
    tpg = {k: (f, wwn.get(k, ""), tpgt.get(k, "")) for k, f in fab.items()}
    lat = {_key(k, 4): _hist_rows(v) for k, v in _entries(maps.get("lat", {}), "lat").items()}
    latsum = {
        _key(k, 4): _uint(v, "latsum") for k, v in _entries(maps.get("latsum", {}), "").items()
    }
    status = {
        _key(k, 5): _uint(v, "status") for k, v in _entries(maps.get("status", {}), "").items()
    }
    nexus = {
        m: {_key(k, 2): _uint(v, m) for k, v in _entries(maps.get(m, {}), m).items()}
        for m in NEXUS_MAPS
    }
    return RawDump(tpg, ini, lat, latsum, status, nexus)


def cumulative_buckets(rows: Sequence[HistRow]) -> tuple[int, ...]:
    """Counts at each of BOUNDS_NS (cumulative), then the total (+Inf). `rows` are hist() of
    ns - 1: a row whose max + 1 <= bound lies wholly at or under that bound."""
    per_bound = [0] * (len(BOUNDS_NS) + 1)
    for r in rows:
        top = r.max + 1  # the largest ns in the row
        i = 0
        while i < len(BOUNDS_NS) and BOUNDS_NS[i] < top:
            i += 1
        per_bound[i] += r.count
    out, running = [], 0
    for n in per_bound:
        running += n
        out.append(running)
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
    for (tpg, acl, lun, op), rows in raw.lat.items():
        nx = _nexus(raw, tpg, acl, by_initiator)
        if nx is None:
            continue
        lkey = (nx, str(lun), OPS[op] if op < len(OPS) else "other")
        acc, total = lat.setdefault(lkey, ([0] * (len(BOUNDS_NS) + 1), 0))
        for i, n in enumerate(cumulative_buckets(rows)):
            acc[i] += n
        lat[lkey] = (acc, total + raw.latsum.get((tpg, acl, lun, op), 0))
    comp: dict[tuple[Nexus, str, str, str], int] = {}
    for (tpg, acl, lun, code, sk), n in raw.status.items():
        nx = _nexus(raw, tpg, acl, by_initiator)
        if nx is None:
            continue
        sense = SENSE_KEYS[sk & 0xF] if code == CHECK_CONDITION else ""
        key = (nx, str(lun), status_name(code), sense)
        comp[key] = comp.get(key, 0) + n
    nexus: dict[Nexus, list[int]] = {}
    for i, m in enumerate(NEXUS_MAPS):
        for (tpg, acl), n in raw.nexus.get(m, {}).items():
            nx = _nexus(raw, tpg, acl, by_initiator)
            if nx is not None:
                nexus.setdefault(nx, [0] * len(NEXUS_MAPS))[i] += n
    return LatencySnapshot(
        tuple(
            LunLatency(nx, lun, op, tuple(acc), total / 1e9)
            for (nx, lun, op), (acc, total) in sorted(lat.items(), key=_sort)
        ),
        tuple(Completions(*k, n) for k, n in sorted(comp.items(), key=_sort)),
        tuple(
            NexusCommands(nx, _in_flight(c), dict(zip(NEXUS_MAPS[2:], c[2:], strict=True)))
            for nx, c in sorted(nexus.items(), key=_sort)
        ),
    )


def _in_flight(c: Sequence[int]) -> int:
    """started - done - evicted - lost (dropped starts were never counted as started)."""
    started, done, evicted, lost = c[0], c[1], c[2], c[3]
    return max(0, started - done - evicted - lost)


def _sort(item: tuple[object, object]) -> str:
    return repr(item[0])
