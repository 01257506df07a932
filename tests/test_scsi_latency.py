"""scsi_latency: the bpftrace dump parser, the bucket mapping, the resolution to labelled series,
and the collector's emit, fed with recorded tracer output through Tracer.feed_line (the path the
live child's stdout takes)."""

from __future__ import annotations

import contextlib
import json
import logging
import random
from pathlib import Path

import pytest

from exporter.collector import Output
from exporter.collectors.scsi_latency import ScsiLatencySnapshot, emit_state
from exporter.encode import Encoder
from exporter.logsetup import RateLimitedLog
from exporter.parsers import scsi_latency as p
from exporter.parsers.btf_offsets import FIELDS, parse_offsets
from exporter.paths import HostPaths
from exporter.readers.scsi_latency import (
    END_MARKER,
    Tracer,
    TracerConfig,
    capabilities,
    requirement_problem,
)
from exporter.readers.scsi_latency_bt import script

TPG_LOOP, TPG_ISCSI = 18446619000000000000, 18446619000000004096
ACL_LOOP, ACL_ISCSI = 18446619100000000000, 18446619100000008192


def rec(kind: str, name: str, data: object) -> str:
    return json.dumps({"type": kind, "data": {name: data}})


def dump_lines() -> list[str]:
    """One dump as bpftrace 0.17 -f json prints the program's maps (see the recorded capture)."""
    return [
        rec("map", "@fab", {str(TPG_LOOP): "loopback", str(TPG_ISCSI): "iSCSI"}),
        rec("map", "@wwn", {str(TPG_LOOP): "naa.50014050000000a1",
                            str(TPG_ISCSI): "iqn.2003-01.org.linux-iscsi.lab:tgt0"}),
        rec("map", "@tpgt", {str(TPG_LOOP): "tpgt_1", str(TPG_ISCSI): "tpgt_1"}),
        rec("map", "@ini", {str(ACL_LOOP): "naa.50014052e2a0f0c1",
                            str(ACL_ISCSI): "iqn.1994-05.com.example:lab-init"}),
        rec("hist", "@lat", {
            f"{TPG_LOOP},{ACL_LOOP},0,1": [
                {"min": 16384, "max": 32767, "count": 3},  # 16385..32768 ns: le 2^15
                {"min": 1048576, "max": 2097151, "count": 5},  # le 2^21
            ],
            f"{TPG_LOOP},{ACL_LOOP},0,2": [{"min": 0, "max": 0, "count": 2}],  # 1 ns: le 2^14
            f"{TPG_ISCSI},{ACL_ISCSI},0,1": [
                {"min": 17179869184, "max": 34359738367, "count": 1}],  # > 2^34: +Inf only
        }),
        rec("map", "@latsum", {f"{TPG_LOOP},{ACL_LOOP},0,1": 5_100_000,
                               f"{TPG_LOOP},{ACL_LOOP},0,2": 2,
                               f"{TPG_ISCSI},{ACL_ISCSI},0,1": 20_000_000_000}),
        rec("map", "@status", {
            f"{TPG_LOOP},{ACL_LOOP},0,0,0": 10,
            f"{TPG_LOOP},{ACL_LOOP},0,2,5": 1,  # CHECK CONDITION, ILLEGAL REQUEST
            f"{TPG_ISCSI},{ACL_ISCSI},0,24,0": 1,  # RESERVATION CONFLICT
            f"{TPG_ISCSI},{ACL_ISCSI},0,8,0": 2,  # BUSY
        }),
        rec("map", "@started", {f"{TPG_LOOP},{ACL_LOOP}": 14, f"{TPG_ISCSI},{ACL_ISCSI}": 4}),
        rec("map", "@done", {f"{TPG_LOOP},{ACL_LOOP}": 10, f"{TPG_ISCSI},{ACL_ISCSI}": 1}),
        rec("map", "@evicted", {f"{TPG_LOOP},{ACL_LOOP}": 1}),
        rec("map", "@lost", {f"{TPG_LOOP},{ACL_LOOP}": 1}),
        rec("map", "@dropped", {}),
        rec("map", "@unmatched", {f"{TPG_ISCSI},{ACL_ISCSI}": 3}),
    ]  # fmt: skip


def fed_tracer(lines: list[str]) -> Tracer:
    now = [100.0]
    t = Tracer(HostPaths(), TracerConfig(), clock=lambda: now[0])
    t.feed_line('{"type": "attached_probes", "data": {"probes": 4}}')
    for line in lines:
        t.feed_line(line)
    t.feed_line(END_MARKER)
    return t


def test_buckets_follow_le_semantics_exactly() -> None:
    assert len(p.BOUNDS_NS) == 21 and p.BOUNDS_NS[0] == 16384 and p.BOUNDS_NS[-1] == 1 << 34
    rows = [p.HistRow(16384, 32767, 3), p.HistRow(1048576, 2097151, 5), p.HistRow(0, 0, 2)]
    b = p.cumulative_buckets(rows)
    assert b[0] == 2 and b[1] == 5 and b[6] == 5 and b[7] == 10 and b[-1] == 10
    assert p.cumulative_buckets([p.HistRow(1 << 34, (1 << 35) - 1, 4)])[-2:] == (0, 4)
    assert p.cumulative_buckets([]) == (0,) * 22


def test_parse_dump_keeps_pointer_keys_and_names() -> None:
    raw = p.parse_dump(dump_lines())
    assert raw.tpg[TPG_LOOP] == ("loopback", "naa.50014050000000a1", "tpgt_1")
    assert raw.ini[ACL_ISCSI] == "iqn.1994-05.com.example:lab-init"
    assert raw.status[(TPG_LOOP, ACL_LOOP, 0, 2, 5)] == 1
    assert raw.nexus["unmatched"] == {(TPG_ISCSI, ACL_ISCSI): 3}
    assert raw.latsum[(TPG_LOOP, ACL_LOOP, 0, 2)] == 2


def test_resolve_labels_and_in_flight() -> None:
    snap = p.resolve(p.parse_dump(dump_lines()), by_initiator=True)
    loop = p.Nexus("loopback", "naa.50014050000000a1", "1", "naa.50014052e2a0f0c1")
    iscsi = p.Nexus("iSCSI", "iqn.2003-01.org.linux-iscsi.lab:tgt0", "1",
                    "iqn.1994-05.com.example:lab-init")  # fmt: skip
    lat = {(x.nexus, x.lun, x.op): x for x in snap.latency}
    assert lat[(loop, "0", "read")].buckets[-1] == 8
    assert lat[(loop, "0", "read")].sum_seconds == pytest.approx(0.0051)
    assert lat[(loop, "0", "write")].buckets[0] == 2
    assert lat[(iscsi, "0", "read")].buckets[-2:] == (0, 1)
    comp = {(c.nexus, c.status, c.sense_key): c.count for c in snap.completions}
    assert comp == {
        (loop, "good", ""): 10,
        (loop, "check_condition", "illegal_request"): 1,
        (iscsi, "reservation_conflict", ""): 1,
        (iscsi, "busy", ""): 2,
    }
    nx = {n.nexus: n for n in snap.nexus}
    assert nx[loop].in_flight == 14 - 10 - 1 - 1
    assert nx[loop].untimed == {"evicted": 1, "lost": 1, "dropped": 0, "unmatched": 0}
    assert nx[iscsi].in_flight == 3 and nx[iscsi].untimed["unmatched"] == 3


def test_without_initiator_label_series_are_summed() -> None:
    lines = dump_lines()
    other_acl = 5
    lines[3] = rec("map", "@ini", {str(ACL_LOOP): "a", str(other_acl): "b"})
    lines[4] = rec("hist", "@lat", {
        f"{TPG_LOOP},{ACL_LOOP},0,1": [{"min": 16384, "max": 32767, "count": 3}],
        f"{TPG_LOOP},{other_acl},0,1": [{"min": 16384, "max": 32767, "count": 4}],
    })  # fmt: skip
    snap = p.resolve(p.parse_dump(lines), by_initiator=False)
    (only,) = [x for x in snap.latency if x.nexus.fabric == "loopback"]
    assert only.nexus.initiator == "" and only.buckets[1] == 7


def test_fc_names_are_normalised_like_the_lio_collector() -> None:
    lines = [rec("map", "@fab", {"1": "qla2xxx"}),
             rec("map", "@wwn", {"1": "21:00:00:24:FF:31:4C:48"}),
             rec("map", "@tpgt", {"1": "tpgt_1"}),
             rec("map", "@ini", {"2": "naa.21000024ff314c49"}),
             rec("map", "@started", {"1,2": 1})]  # fmt: skip
    (n,) = p.resolve(p.parse_dump(lines), by_initiator=True).nexus
    assert (n.nexus.target, n.nexus.initiator) == ("21:00:00:24:ff:31:4c:48",
                                                   "21:00:00:24:ff:31:4c:49")  # fmt: skip
    assert n.in_flight == 1


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        "[]",
        rec("map", "@fab", {"x": "a"}),
        rec("map", "@wwn", {"1": ["a", "b"]}),
        rec("map", "@status", {"1,2,3": 4}),
        rec("map", "@status", {"1,2,3,4,5": -1}),
        rec("map", "@status", {"1,2,3,4,5": 2**64}),
        rec("hist", "@lat", {"1,2,3,4": [{"min": 5, "max": 1, "count": 1}]}),
        rec("hist", "@lat", {"1,2,3,4": {"min": 1}}),
        rec("map", "@ini", {"1": 5}),
        rec("map", "@started", []),
        '{"type": "map", "data": 5}',
        "[" * 100000,
    ],
)
def test_garbage_raises_value_error_only(bad: str) -> None:
    with pytest.raises(ValueError):
        p.parse_dump([bad])


def test_random_garbage_never_escapes_as_another_exception() -> None:
    rng = random.Random(7)
    good = "\n".join(dump_lines())
    for _ in range(300):
        b = bytearray(good.encode())
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        with contextlib.suppress(ValueError):
            p.parse_dump(bytes(b).decode("utf-8", "replace").splitlines())


def test_unknown_records_and_maps_are_skipped() -> None:
    raw = p.parse_dump(['{"type": "lost_events", "data": {"events": 3}}',
                        rec("map", "@seq", {"0": 5}), ""])  # fmt: skip
    assert raw == p.RawDump(nexus={m: {} for m in p.NEXUS_MAPS})


def emitted(t: Tracer, by_initiator: bool = False) -> dict[str, object]:
    out = Output("scsi_latency", RateLimitedLog(logging.getLogger("t")))
    emit_state(ScsiLatencySnapshot(t.state(), 100.5), by_initiator, out)
    return dict(out.families)


def test_recorded_dump_through_the_live_path_to_the_exposition() -> None:
    t = fed_tracer(dump_lines())
    st = t.state()
    assert st.dumps == 1 and st.bad_dumps == 0 and st.error is None
    fams = emitted(t, by_initiator=True)
    body = Encoder().encode(fams.values()).decode()  # type: ignore[arg-type]
    assert "fctarget_scsi_tracer_dump_age_seconds 0.5\n" in body
    line = (
        'fctarget_scsi_command_duration_seconds_bucket{fabric="loopback",'
        'initiator="naa.50014052e2a0f0c1",le="3.2768e-05",lun="0",op="read",'
        'target="naa.50014050000000a1",tpgt="1"} 3.0\n'
    )
    assert line in body
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
    # the OpenMetrics form is valid too
    om = Encoder().encode(fams.values(), openmetrics=True).decode()  # type: ignore[arg-type]
    assert om.endswith("# EOF\n") and "fctarget_scsi_command_duration_seconds_bucket" in om


def test_a_bad_dump_keeps_the_last_good_one_and_is_counted() -> None:
    t = fed_tracer(dump_lines())
    t.feed_line('{"type": "map", "data": {"@status": {"1": 1}}}')
    t.feed_line(END_MARKER)
    st = t.state()
    assert st.dumps == 1 and st.bad_dumps == 1 and st.dump is not None
    assert st.error is not None and st.error[0] == "parse"
    for _ in range(200):  # a runaway dump without end marker stays bounded
        t.feed_line(rec("map", "@x", {}))
    assert len(t._pending) <= 64


def test_not_running_serves_only_the_state() -> None:
    t = Tracer(HostPaths(), TracerConfig())
    fams = emitted(t)
    assert set(fams) == {"fctarget_scsi_tracer_up"}
    assert fams["fctarget_scsi_tracer_up"].rows == {(): 0.0}  # type: ignore[attr-defined]


def test_requirements_name_what_is_missing(tmp_path: Path) -> None:
    paths = HostPaths(procfs=str(tmp_path / "proc"), sysfs=str(tmp_path / "sys"))
    missing = requirement_problem(paths, "no-such-bpftrace-binary")
    assert missing is not None and missing[0] == "bpftrace" and "Debian package" in missing[1]
    fake = tmp_path / "bin" / "bpftrace"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    missing = requirement_problem(paths, str(fake), "no-such-bpftool")
    assert missing is not None and missing[0] == "bpftool"
    (tmp_path / "proc" / "self").mkdir(parents=True)
    (tmp_path / "proc" / "self" / "status").write_text("Name:\tx\nCapEff:\t0000000000000000\n")
    missing = requirement_problem(paths, str(fake), str(fake))
    assert missing is not None and missing[0] == "privilege"
    assert "CAP_BPF" in missing[1] and "CAP_PERFMON" in missing[1]
    caps = (1 << 38) | (1 << 39)
    (tmp_path / "proc" / "self" / "status").write_text(f"CapEff:\t{caps:016x}\n")
    if __import__("os").geteuid() == 0:
        missing = requirement_problem(paths, str(fake), str(fake))
        assert missing is not None and missing[0] == "btf"
        btf = tmp_path / "sys" / "kernel" / "btf"
        btf.mkdir(parents=True)
        (btf / "vmlinux").write_text("")
        assert requirement_problem(paths, str(fake), str(fake))[0] == "target_core_mod"  # type: ignore[index]
        (btf / "target_core_mod").write_text("")
        assert requirement_problem(paths, str(fake), str(fake))[0] == "tracefs"  # type: ignore[index]
        (tmp_path / "sys" / "kernel" / "tracing" / "events" / "target").mkdir(parents=True)
        assert requirement_problem(paths, str(fake), str(fake)) is None
    assert capabilities(b"CapEff:\tzz\n") is None and capabilities(b"") is None


OFFSETS = {f"{st}.{m}": 8 * i for st, ms in FIELDS.items() for i, m in enumerate(ms)}


def btf_json(drop: str = "") -> str:
    types: list[dict[str, object]] = [{"id": 1, "kind": "FWD", "name": "se_cmd"}]
    for st, ms in FIELDS.items():
        members = [
            {"name": m, "type_id": 1, "bits_offset": 64 * i}
            for i, m in enumerate(ms)
            if f"{st}.{m}" != drop
        ]
        types.append({"id": 2, "kind": "STRUCT", "name": st, "vlen": len(members),
                      "members": members})  # fmt: skip
    return json.dumps({"types": types})


def test_offsets_from_bpftool_json() -> None:
    assert parse_offsets(btf_json()) == OFFSETS
    for bad in ("", "{}", '{"types": 5}', btf_json(drop="se_cmd.se_sess")):
        with pytest.raises(ValueError):
            parse_offsets(bad)


def test_the_program_is_bounded_and_clears_its_maps_at_exit() -> None:
    text = script(OFFSETS, 1024, 500)
    assert "{" + "se_" not in text and "($p + 8)" in text
    with pytest.raises(ValueError):
        script({}, 1024, 500)
    assert "% 1024" in text and "interval:ms:500" in text
    end = text[text.index("END") :]
    for m in ("@st", "@ring", "@lat", "@status", "@fab", "@ini"):
        assert f"clear({m})" in end
    assert "$op == 0x28" in text and "$op == 0x2a" in text


def test_offsets_of_the_real_61_kernel() -> None:
    """bpftool -j btf dump file /sys/kernel/btf/target_core_mod on Debian's 6.1.0-57 (the
    QEMU lab), trimmed to the structs the program reads."""
    doc = Path(__file__).parent / "fixtures/scsi_latency/btf-target_core_mod-6.1.0-57.json"
    off = parse_offsets(doc.read_bytes())
    assert off["se_cmd.se_sess"] == 136 and off["se_cmd.se_lun"] == 128
    assert off["se_cmd.scsi_status"] == 4 and off["se_cmd.sense_buffer"] == 80
    assert off["se_cmd.t_task_cdb"] == 216
    assert off["se_session.se_tpg"] == 24 and off["se_session.se_node_acl"] == 16
    assert off["se_portal_group.tpg_group"] == 152 and off["se_wwn.wwn_group"] == 16
    assert off["se_node_acl.initiatorname"] == 0 and off["se_lun.unpacked_lun"] == 0
