"""/dev/kmsg record parsing and stream splitting, on real captures and the ABI document's cases."""

from __future__ import annotations

import contextlib
import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers.kmsg import (
    MAX_RECORD_BYTES,
    RecordSplitter,
    parse_record,
    unescape,
)

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "kmsg")


def fixture_records(name: str) -> bytes:
    """A fixture's bytes without its leading `# Source:` provenance line (if any)."""
    with open(os.path.join(FIX, name), "rb") as f:
        data = f.read()
    if data.startswith(b"#"):
        data = data.split(b"\n", 1)[1]
    return data


def test_header_fields_and_facility() -> None:
    # Documentation/ABI/testing/dev-kmsg example record of a user-space daemon: 30 = 3<<3 | 6
    rec = parse_record(b"30,340,5690716,-;udevd[80]: starting version 181\n")
    assert (rec.facility, rec.level, rec.seq, rec.usec, rec.flags) == (3, 6, 340, 5690716, "-")
    assert rec.message == "udevd[80]: starting version 181"
    assert rec.prio == 30
    assert not rec.from_kernel


def test_kernel_record_with_dictionary() -> None:
    raw = (
        b"6,198,296649,-;pci 0000:00:00.0: [8086:0d57] type 00 class 0x060000 conventional "
        b"PCI endpoint\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:00.0\n"
    )
    rec = parse_record(raw)
    assert rec.from_kernel
    assert rec.level == 6
    assert rec.fields == (("SUBSYSTEM", "pci"), ("DEVICE", "+pci:0000:00:00.0"))
    assert rec.message.endswith("conventional PCI endpoint")


def test_escapes_and_extra_header_fields() -> None:
    # printk.c escapes c < ' ', c >= 127 and '\\' as \xNN; CONFIG_PRINTK_CALLER adds a field.
    rec = parse_record(b"4,7,12,c,caller=T123;a\\x09b\\x0ac\\x5cd \\xc3\\xa9\n")
    assert rec.message == "a\tb\nc\\d é"
    assert rec.flags == "c"
    assert unescape(b"no escapes") == "no escapes"
    assert unescape(b"\\xZZ") == "\\xZZ"  # not an escape: left alone


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"garbage",
        b"6,1,2;too few fields",
        b"x,1,2,-;msg",
        b"6,-1,2,-;m",
        b"6,1,2,-;m\nNOSPACE",
    ],
)
def test_malformed_records_raise_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_record(raw)


def test_real_618_records_all_parse() -> None:
    data = fixture_records("kmsg-raw-records-local-6.18.txt")
    sp = RecordSplitter()
    raws = sp.feed(data) + sp.flush_all()
    headers = [ln for ln in data.split(b"\n") if ln and not ln.startswith(b" ")]
    assert len(raws) == len(headers)
    recs = [parse_record(r) for r in raws]
    assert [r.seq for r in recs] == [int(h.split(b",")[1]) for h in headers]
    by_seq = {r.seq: r for r in recs}
    assert by_seq[0].level == 5 and by_seq[0].message.startswith("Linux version 6.18.44")
    assert by_seq[89].message == "rcu: \tRCU restricting CPUs from NR_CPUS=256 to nr_cpu_ids=2."
    assert by_seq[279].fields == (("SUBSYSTEM", "virtio"), ("DEVICE", "+virtio:virtio1"))
    assert all(r.facility == 0 for r in recs)


def test_real_61_guest_records_and_user_facility() -> None:
    data = fixture_records("guest-kmsg-6.1.txt")
    sp = RecordSplitter()
    recs = [parse_record(r) for r in sp.feed(data) + sp.flush_all()]
    headers = re.findall(rb"^(\d+),(\d+),", data, re.MULTILINE)
    assert len(recs) == len(headers) == 430
    user = [r for r in recs if r.facility != 0]
    # the two qla2xxx lines echoed into /dev/kmsg: prio 12 = user.warning, 14 = user.info
    assert [(r.facility, r.level, r.seq) for r in user] == [(1, 4, 428), (1, 6, 429)]
    assert user[0].message == "qla2xxx [0000:02:00.0]-500a:3: LOOP UP detected (8 Gbps)."


def test_splitter_one_byte_at_a_time_matches_whole() -> None:
    data = fixture_records("kmsg-raw-records-local-6.18.txt")
    whole = RecordSplitter()
    expected = whole.feed(data) + whole.flush_all()
    sp = RecordSplitter()
    got: list[bytes] = []
    for i in range(len(data)):
        got += sp.feed(data[i : i + 1])
    got += sp.flush_all()
    assert got == expected


def test_splitter_keeps_record_while_continuation_line_in_flight() -> None:
    sp = RecordSplitter()
    assert sp.feed(b"6,1,5,-;dev msg\n SUBSYS") == []
    assert sp.flush() == []  # the writer is midway through a continuation line
    assert sp.feed(b"TEM=pci\n") == []
    assert sp.flush() == [b"6,1,5,-;dev msg\n SUBSYSTEM=pci"]
    assert sp.feed(b" ORPHAN=1\n6,2,6,-;next\n") == []
    assert sp.flush() == [b"6,2,6,-;next"]


def test_splitter_bounds_a_line_without_end() -> None:
    sp = RecordSplitter()
    sp.feed(b"6,1,1,-;" + b"x" * (MAX_RECORD_BYTES + 10))
    assert sp.oversized == 1
    assert sp.feed(b"\n6,2,2,-;ok\n") == []
    assert sp.flush() == [b"6,2,2,-;ok"]


@given(st.binary(max_size=300))
def test_garbage_never_raises_anything_but_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_record(data)
    sp = RecordSplitter()
    for r in sp.feed(data) + sp.flush_all():
        with contextlib.suppress(ValueError):
            parse_record(r)


@given(
    st.integers(0, 191),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
    st.binary(max_size=80),
)
def test_roundtrip_of_escaped_messages(prio: int, seq: int, usec: int, msg: bytes) -> None:
    esc = b"".join(b"\\x%02x" % c if c < 32 or c >= 127 or c == 0x5C else bytes((c,)) for c in msg)
    rec = parse_record(b"%d,%d,%d,-;%s\n" % (prio, seq, usec, esc))
    assert (rec.facility, rec.level, rec.seq, rec.usec) == (prio >> 3, prio & 7, seq, usec)
    assert rec.message == msg.decode("utf-8", "replace")


def test_sequence_and_timestamp_are_u64() -> None:
    # printk.c prints both as u64 (%llu): anything longer is not a kernel record. A 400-digit
    # timestamp used to parse, then overflowed the float conversion of its consumer.
    assert parse_record(b"4,18446744073709551615,18446744073709551615,-;m\n").usec == 2**64 - 1
    for raw in (
        b"4,1," + b"9" * 400 + b",-;qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (8 Gbps).",
        b"4,1,18446744073709551616,-;m",
        b"4," + b"1" * 30 + b",5,-;m",
        b"9" * 5000 + b",1,5,-;m",  # past int()'s digit limit: still only ValueError
    ):
        with pytest.raises(ValueError):
            parse_record(raw)


def test_splitter_pending_record_is_bounded() -> None:
    """One header then 20 MiB of continuation lines: the record is dropped once it passes
    MAX_RECORD_BYTES and what is held stays under that bound the whole time."""
    sp = RecordSplitter()
    assert sp.feed(b"6,1,1,-;ok\n6,2,2,-;dev msg\n") == [b"6,1,1,-;ok"]
    chunk = b" SUBSYSTEM=pci\n" * 4096  # 60 KiB
    for _ in range(20 * 1024 * 1024 // len(chunk) + 1):
        assert sp.feed(chunk) == []
        assert sp.pending_bytes <= MAX_RECORD_BYTES
    assert sp.oversized == 1
    # the next header ends the dropped record: nothing of it comes out, the next one is whole
    assert sp.feed(b"6,3,3,-;next\n SUBSYSTEM=pci\n") == []
    assert sp.flush() == [b"6,3,3,-;next\n SUBSYSTEM=pci"]
    assert sp.pending_bytes == 0


def test_splitter_drops_a_record_with_an_oversized_continuation_line() -> None:
    sp = RecordSplitter()
    assert sp.feed(b"6,1,1,-;dev\n K=" + b"v" * MAX_RECORD_BYTES + b"\n L=1\n") == []
    assert sp.pending_bytes == 0
    assert sp.feed(b"6,2,2,-;ok\n") == []
    assert sp.flush() == [b"6,2,2,-;ok"]
    assert sp.oversized == 1


def test_splitter_resyncs_at_the_next_line_start_after_an_oversized_line() -> None:
    sp = RecordSplitter()
    out = sp.feed(b"6,1,1,-;ok1\n6,2,2,-;" + b"x" * (MAX_RECORD_BYTES + 10))
    assert sp.pending_bytes <= MAX_RECORD_BYTES
    # the rest of that line, which looks like a record header: still part of the dropped line
    out += sp.feed(b"5,3,3,-;forged")
    assert sp.pending_bytes <= MAX_RECORD_BYTES
    out += sp.feed(b"\n6,4,4,-;ok2\n")
    out += sp.flush_all()
    assert out == [b"6,1,1,-;ok1", b"6,4,4,-;ok2"]
    assert sp.oversized == 1
