"""scsi_latency: the map parser (raw key/value bytes as libbpf returns them), the bucket mapping,
the resolution to labelled series, the collector's emit and the loader's requirement checks.

The map contents are packed here exactly as the C structs of exporter/bpf/scsi_latency.bpf.c lay
them out (and tests/fixtures/scsi_latency/maps-6.1.json is a read recorded in the 6.1 guest),
fed through parse_maps, the function the live reader calls on what it read from the kernel."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import random
import re
import struct
from pathlib import Path

import pytest

from exporter.collector import Output
from exporter.collectors.scsi_latency import ScsiLatencySnapshot, emit_state
from exporter.encode import Encoder
from exporter.logsetup import RateLimitedLog
from exporter.parsers import scsi_latency as p
from exporter.paths import HostPaths
from exporter.readers import libbpf
from exporter.readers import scsi_latency as r

REPO = Path(__file__).resolve().parent.parent
TPG_LOOP, TPG_ISCSI = 0xFFFF9A1503378398, 0xFFFF9A1503379000
ACL_LOOP, ACL_ISCSI = 0xFFFF9A15032B1800, 0xFFFF9A15032B3800
Maps = dict[str, list[tuple[bytes, bytes]]]


def q(*v: int) -> bytes:
    return struct.pack(f"={len(v)}Q", *v)


def names(fabric: str, wwn: str, tpgt: str) -> bytes:
    return (
        fabric.encode().ljust(p.NAME_LEN, b"\0")
        + wwn.encode().ljust(p.WWN_LEN, b"\0")
        + tpgt.encode().ljust(p.NAME_LEN, b"\0")
    )


def slots(**by_slot: int) -> list[int]:
    out = [0] * p.NSLOTS
    for k, n in by_slot.items():
        out[int(k[1:])] = n
    return out


def lat(key: tuple[int, int, int, int], counts: list[int], sum_ns: int) -> tuple[bytes, bytes]:
    return q(*key), q(*counts, sum_ns)


def maps() -> Maps:
    return {
        "tpgs": [
            (q(TPG_LOOP), names("loopback", "naa.50014050000000a1", "tpgt_1")),
            (q(TPG_ISCSI), names("iSCSI", "iqn.2003-01.org.linux-iscsi.lab:tgt0", "tpgt_1")),
        ],
        "inis": [
            (q(ACL_LOOP), b"naa.50014052e2a0f0c1".ljust(p.WWN_LEN, b"\0")),
            (q(ACL_ISCSI), b"iqn.1994-05.com.example:lab-init".ljust(p.WWN_LEN, b"\0")),
        ],
        "lat": [
            # slot 15: (2^14, 2^15] ns -> le 2^15; slot 21: le 2^21
            lat((TPG_LOOP, ACL_LOOP, 0, 1), slots(s15=3, s21=5), 5_100_000),
            lat((TPG_LOOP, ACL_LOOP, 0, 2), slots(s0=2), 2),  # <= 1 ns: the first bucket
            lat((TPG_ISCSI, ACL_ISCSI, 0, 1), slots(s35=1), 20_000_000_000),  # > 2^34: +Inf
        ],
        "status": [
            (q(TPG_LOOP, ACL_LOOP, 0, 0x00), q(10)),
            (q(TPG_LOOP, ACL_LOOP, 0, 0x502), q(1)),  # CHECK CONDITION, ILLEGAL REQUEST
            (q(TPG_ISCSI, ACL_ISCSI, 0, 0x18), q(1)),  # RESERVATION CONFLICT
            (q(TPG_ISCSI, ACL_ISCSI, 0, 0x08), q(2)),  # BUSY
        ],
        # started, done, lost, dropped, unmatched
        "nexus": [
            (q(TPG_LOOP, ACL_LOOP), q(14, 10, 1, 0, 0)),
            (q(TPG_ISCSI, ACL_ISCSI), q(4, 1, 0, 0, 3)),
        ],
        "starts": [(q(0xFFFF9A1500000000 + i), q(123, TPG_LOOP, ACL_LOOP)) for i in range(2)]
        + [(q(0xFFFF9A1600000000 + i), q(123, TPG_ISCSI, ACL_ISCSI)) for i in range(3)],
    }


def test_layouts_match_the_c_source() -> None:
    src = (REPO / "exporter" / "bpf" / "scsi_latency.bpf.c").read_text()
    defines = dict(re.findall(r"#define (\w+) (\d+)", src))
    assert int(defines["NSLOTS"]) == p.NSLOTS
    assert int(defines["NAME_LEN"]) == p.NAME_LEN and int(defines["WWN_LEN"]) == p.WWN_LEN
    body = re.search(r"struct nexus_val \{(.*?)\};", src, re.S)
    assert body is not None
    assert tuple(re.findall(r"u64 (\w+);", body.group(1))) == p.NEXUS_COUNTERS
    assert set(re.findall(r"\} (\w+) SEC\(\"\.maps\"\)", src)) == set(p.MAPS)
    assert set(r.MAX_ENTRIES) | {"starts"} == set(p.MAPS)


def test_buckets_follow_le_semantics_exactly() -> None:
    assert len(p.BOUNDS_NS) == 21 and p.BOUNDS_NS[0] == 16384 and p.BOUNDS_NS[-1] == 1 << 34
    b = p.cumulative_buckets(slots(s15=3, s21=5, s0=2))
    assert b[0] == 2 and b[1] == 5 and b[6] == 5 and b[7] == 10 and b[-1] == 10
    assert p.cumulative_buckets(slots(s14=1))[0] == 1  # exactly 2^14 ns: le 2^14
    assert p.cumulative_buckets(slots(s35=4, s63=1))[-2:] == (0, 5)
    assert p.cumulative_buckets([0] * p.NSLOTS) == (0,) * 22


def test_parse_maps_keeps_pointer_keys_and_names() -> None:
    raw = p.parse_maps(maps())
    assert raw.tpg[TPG_LOOP] == ("loopback", "naa.50014050000000a1", "tpgt_1")
    assert raw.ini[ACL_ISCSI] == "iqn.1994-05.com.example:lab-init"
    assert raw.status[(TPG_LOOP, ACL_LOOP, 0, 2, 5)] == 1
    assert raw.nexus["unmatched"] == {(TPG_LOOP, ACL_LOOP): 0, (TPG_ISCSI, ACL_ISCSI): 3}
    assert raw.nexus["in_flight"] == {(TPG_LOOP, ACL_LOOP): 2, (TPG_ISCSI, ACL_ISCSI): 3}
    assert raw.latsum[(TPG_LOOP, ACL_LOOP, 0, 2)] == 2


def test_resolve_labels_in_flight_and_evictions() -> None:
    snap = p.resolve(p.parse_maps(maps()), by_initiator=True)
    loop = p.Nexus("loopback", "naa.50014050000000a1", "1", "naa.50014052e2a0f0c1")
    iscsi = p.Nexus("iSCSI", "iqn.2003-01.org.linux-iscsi.lab:tgt0", "1",
                    "iqn.1994-05.com.example:lab-init")  # fmt: skip
    by = {(x.nexus, x.lun, x.op): x for x in snap.latency}
    assert by[(loop, "0", "read")].buckets[-1] == 8
    assert by[(loop, "0", "read")].sum_seconds == pytest.approx(0.0051)
    assert by[(loop, "0", "write")].buckets[0] == 2
    assert by[(iscsi, "0", "read")].buckets[-2:] == (0, 1)
    comp = {(c.nexus, c.status, c.sense_key): c.count for c in snap.completions}
    assert comp == {
        (loop, "good", ""): 10,
        (loop, "check_condition", "illegal_request"): 1,
        (iscsi, "reservation_conflict", ""): 1,
        (iscsi, "busy", ""): 2,
    }
    nx = {n.nexus: n for n in snap.nexus}
    assert nx[loop].in_flight == 2
    # evicted = started - done - lost - in flight = 14 - 10 - 1 - 2
    assert nx[loop].untimed == {"evicted": 1, "lost": 1, "dropped": 0, "unmatched": 0}
    assert nx[iscsi].in_flight == 3 and nx[iscsi].untimed["unmatched"] == 3
    assert nx[iscsi].untimed["evicted"] == 0


def test_without_initiator_label_series_are_summed() -> None:
    m = maps()
    other = 5
    m["inis"].append((q(other), b"b".ljust(p.WWN_LEN, b"\0")))
    m["lat"] = [lat((TPG_LOOP, ACL_LOOP, 0, 1), slots(s15=3), 1),
                lat((TPG_LOOP, other, 0, 1), slots(s15=4), 2)]  # fmt: skip
    snap = p.resolve(p.parse_maps(m), by_initiator=False)
    (only,) = [x for x in snap.latency if x.nexus.fabric == "loopback"]
    assert only.nexus.initiator == "" and only.buckets[1] == 7 and only.sum_seconds == 3e-9


def test_fc_names_are_normalised_like_the_lio_collector() -> None:
    m: Maps = {
        "tpgs": [(q(1), names("qla2xxx", "21:00:00:24:FF:31:4C:48", "tpgt_1"))],
        "inis": [(q(2), b"naa.21000024ff314c49".ljust(p.WWN_LEN, b"\0"))],
        "nexus": [(q(1, 2), q(1, 0, 0, 0, 0))],
        "starts": [(q(9), q(1, 1, 2))],
    }
    (n,) = p.resolve(p.parse_maps(m), by_initiator=True).nexus
    assert (n.nexus.target, n.nexus.initiator) == ("21:00:00:24:ff:31:4c:48",
                                                   "21:00:00:24:ff:31:4c:49")  # fmt: skip
    assert n.in_flight == 1 and n.untimed["evicted"] == 0


def test_a_command_without_a_resolved_lun_is_labelled_none() -> None:
    m = maps()
    m["status"] = [(q(TPG_LOOP, ACL_LOOP, p.NO_LUN, 0x502), q(1))]
    (c,) = p.resolve(p.parse_maps(m), by_initiator=False).completions
    assert (c.lun, c.status, c.sense_key, c.count) == (
        "none",
        "check_condition",
        "illegal_request",
        1,
    )


def test_keys_of_unknown_tpgs_are_dropped() -> None:
    m = maps()
    m["tpgs"] = m["tpgs"][:1]
    snap = p.resolve(p.parse_maps(m), by_initiator=False)
    assert {x.nexus.fabric for x in snap.latency} == {"loopback"}


@pytest.mark.parametrize(
    ("name", "entry"),
    [
        ("tpgs", (q(1), b"x")),
        ("tpgs", (b"\1", names("a", "b", "c"))),
        ("tpgs", (q(1), names("a", "\xe9", "c").replace(b"\xc3", b"\xff"))),
        ("inis", (q(1), b"short")),
        ("lat", (q(1, 2, 3), q(*([0] * 65)))),
        ("lat", (q(1, 2, 3, 4), q(1))),
        ("status", (q(1, 2, 3, 4), b"")),
        ("nexus", (q(1, 2), q(1, 2, 3))),
        ("starts", (q(1), q(1, 2))),
    ],
)
def test_garbage_raises_value_error_only(name: str, entry: tuple[bytes, bytes]) -> None:
    with pytest.raises(ValueError):
        p.parse_maps({name: [entry]})


def test_random_garbage_never_escapes_as_another_exception() -> None:
    rng = random.Random(7)
    good = maps()
    for _ in range(300):
        m: Maps = {}
        for name, entries in good.items():
            out = []
            for k, v in entries:
                kb, vb = bytearray(k), bytearray(v)
                for _ in range(rng.randint(0, 3)):
                    target = rng.choice((kb, vb))
                    if rng.random() < 0.2 and target:
                        del target[rng.randrange(len(target))]
                    elif target:
                        target[rng.randrange(len(target))] = rng.randrange(256)
                out.append((bytes(kb), bytes(vb)))
            m[name] = out
        with contextlib.suppress(ValueError):
            p.resolve(p.parse_maps(m), by_initiator=True)


def test_empty_maps() -> None:
    assert p.resolve(p.parse_maps({}), by_initiator=True) == p.LatencySnapshot()


def emitted(state: r.TracerState, by_initiator: bool = False) -> dict[str, object]:
    out = Output("scsi_latency", RateLimitedLog(logging.getLogger("t")))
    emit_state(ScsiLatencySnapshot(state), by_initiator, out)
    return dict(out.families)


def test_map_contents_to_the_exposition() -> None:
    state = r.TracerState(True, p.parse_maps(maps()), 0.75, None)
    fams = emitted(state, by_initiator=True)
    body = Encoder().encode(fams.values()).decode()  # type: ignore[arg-type]
    assert "fctarget_scsi_tracer_up 1.0\n" in body
    assert "fctarget_scsi_tracer_attach_duration_seconds 0.75\n" in body
    assert (
        'fctarget_scsi_command_duration_seconds_bucket{fabric="loopback",'
        'initiator="naa.50014052e2a0f0c1",le="3.2768e-05",lun="0",op="read",'
        'target="naa.50014050000000a1",tpgt="1"} 3.0\n'
    ) in body
    assert (
        'fctarget_scsi_command_duration_seconds_count{fabric="loopback",'
        'initiator="naa.50014052e2a0f0c1",lun="0",op="read",'
        'target="naa.50014050000000a1",tpgt="1"} 8.0\n'
    ) in body
    assert "# TYPE fctarget_scsi_command_duration_seconds histogram\n" in body
    assert (
        'fctarget_scsi_completions_total{fabric="loopback",initiator="naa.50014052e2a0f0c1",'
        'lun="0",sense_key="illegal_request",status="check_condition",'
        'target="naa.50014050000000a1",tpgt="1"} 1.0\n'
    ) in body
    assert (
        'fctarget_scsi_untimed_commands_total{fabric="loopback",initiator="naa.50014052e2a0f0c1",'
        'reason="evicted",target="naa.50014050000000a1",tpgt="1"} 1.0\n'
    ) in body
    om = Encoder().encode(fams.values(), openmetrics=True).decode()  # type: ignore[arg-type]
    assert om.endswith("# EOF\n") and "fctarget_scsi_command_duration_seconds_bucket" in om


def test_not_attached_serves_only_the_state() -> None:
    fams = emitted(r.TracerState(False, None, None, ("privilege", "x")))
    assert set(fams) == {"fctarget_scsi_tracer_up"}
    assert fams["fctarget_scsi_tracer_up"].rows == {(): 0.0}  # type: ignore[attr-defined]


def test_requirements_name_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = HostPaths(procfs=str(tmp_path / "proc"), sysfs=str(tmp_path / "sys"))
    obj = tmp_path / "scsi_latency.bpf.o"

    def no_libbpf() -> None:
        raise OSError("libbpf.so.1: cannot open shared object file")

    with monkeypatch.context() as mp:
        mp.setattr(libbpf, "library", no_libbpf)
        missing = r.requirement_problem(paths, str(obj))
        assert missing is not None and missing[0] == "libbpf" and "libbpf1" in missing[1]
    monkeypatch.setattr(libbpf, "library", lambda: None)
    missing = r.requirement_problem(paths, str(obj))
    assert missing is not None and missing[0] == "object" and "make bpf" in missing[1]
    obj.write_bytes(b"")
    assert r.requirement_problem(paths, str(obj))[0] == "btf"  # type: ignore[index]
    btf = tmp_path / "sys" / "kernel" / "btf"
    btf.mkdir(parents=True)
    (btf / "vmlinux").write_text("")
    assert r.requirement_problem(paths, str(obj))[0] == "target_core_mod"  # type: ignore[index]
    (btf / "target_core_mod").write_text("")
    status = tmp_path / "proc" / "self" / "status"
    status.parent.mkdir(parents=True)
    status.write_text("Name:\tx\nCapEff:\t0000000000000000\n")
    missing = r.requirement_problem(paths, str(obj))
    assert missing is not None and missing[0] == "privilege"
    assert "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN" in missing[1]
    for caps in ((1 << 38) | (1 << 39), 1 << 21):
        status.write_text(f"CapEff:\t{caps:016x}\n")
        assert r.requirement_problem(paths, str(obj)) is None
    status.write_text(f"CapEff:\t{1 << 39:016x}\n")  # CAP_BPF alone is not enough
    assert r.requirement_problem(paths, str(obj))[0] == "privilege"  # type: ignore[index]
    assert r.capabilities(b"CapEff:\tzz\n") is None and r.capabilities(b"") is None


def test_libbpf_permission_errors_name_the_capabilities(tmp_path: Path) -> None:
    paths = HostPaths(procfs=str(tmp_path / "proc"))
    for e in (errno.EPERM, errno.EACCES):
        what, msg = r._explain(libbpf.BpfError(e, "load"), paths)
        assert what == "privilege" and msg.startswith("load: needs CAP_BPF and CAP_PERFMON")
    what, msg = r._explain(libbpf.BpfError(errno.ESRCH, "load"), paths)
    assert what == "load" and "CO-RE relocation" in msg
    what, msg = r._explain(libbpf.BpfError(errno.ENOENT, "attach scsi_start"), paths)
    assert what == "attach" and "scsi_start" in msg


def test_a_tracer_that_cannot_load_reports_why_and_retries_at_most_as_configured(
    tmp_path: Path,
) -> None:
    now = [0.0]
    paths = HostPaths(procfs=str(tmp_path / "proc"), sysfs=str(tmp_path / "sys"))
    t = r.Tracer(paths, r.TracerConfig(str(tmp_path / "missing.o")), clock=lambda: now[0])
    t.ensure_running(60)
    st = t.read()
    assert not st.running and st.error is not None
    assert st.error[0] in ("libbpf", "object")
    (tmp_path / "missing.o").write_bytes(b"")
    now[0] = 30.0
    t.ensure_running(60)  # too soon: the old error stands
    assert t.read().error == st.error
    t.stop()
    assert t.program_ids() == []


def test_recorded_61_maps_parse() -> None:
    """Map contents read in the 6.1 guest (tests/kernel), hex-encoded."""
    doc = json.loads((REPO / "tests" / "fixtures" / "scsi_latency" / "maps-6.1.json").read_text())
    raw = p.parse_maps(
        {m: [(bytes.fromhex(k), bytes.fromhex(v)) for k, v in e] for m, e in doc["maps"].items()}
    )
    snap = p.resolve(raw, by_initiator=True)
    fabrics = {x.nexus.fabric for x in snap.latency}
    assert fabrics == set(doc["fabrics"])
    comp: dict[tuple[str, str, str], int] = {}
    for c in snap.completions:
        key = (c.nexus.fabric, c.status, c.sense_key)
        comp[key] = comp.get(key, 0) + c.count
    assert comp == {(f, s, k): n for f, s, k, n in doc["completions"]}
    # exactly one RESERVATION CONFLICT, and every command timed (none in flight at the dump)
    assert comp[("loopback", "reservation_conflict", "")] == 1
    assert all(n.in_flight == 0 and not any(n.untimed.values()) for n in snap.nexus)
    assert sum(x.buckets[-1] for x in snap.latency) == sum(comp.values())
