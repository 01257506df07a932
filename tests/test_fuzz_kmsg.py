"""Fuzz the kernel log parsers against their contract (tests/fuzz_support.py):
exporter/parsers/kmsg.py (records and the splitter), qla2xxx_log.py and qla2xxx_links.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers import kmsg as k
from exporter.parsers import qla2xxx_log as q
from exporter.parsers.qla2xxx_links import LinkTracker
from tests.fuzz_support import PROFILE, fan, fixture_texts, linear, seeded

RAW = [
    *fixture_texts("kmsg/kmsg-raw-records-*.txt"),
    "6,1234,5678901,-;qla2xxx [0000:83:00.0]-500a:6: LOOP UP detected (16 Gbps).\n"
    " SUBSYSTEM=pci\n DEVICE=+pci:0000:83:00.0\n",
]
LOGS = fixture_texts("kmsg/*.txt")
MESSAGES = sorted({ln for t in LOGS for ln in t.splitlines() if "qla2xxx" in ln})[:300]


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _record(text: str) -> object:
    return k.parse_record(_b(text))


def _split(text: str) -> object:
    s = k.RecordSplitter()
    data = _b(text)
    out = [r for i in range(0, len(data), 97) for r in s.feed(data[i : i + 97])]
    out += s.flush_all()
    assert s.pending_bytes <= 2 * k.MAX_RECORD_BYTES
    return len(out)


def _track(text: str) -> object:
    t = LinkTracker()
    for line in text.splitlines():
        t.feed(k.KmsgRecord(0, 4, 1, 1, "-", line), 1.0)
    return t.snapshot().qla2xxx_records


def _wrapped(text: str) -> object:
    inner = q.strip_log_wrapper(text)
    if inner is not None and q.is_qla2xxx(inner):
        m = q.parse_prefix(inner)
        return q.classify(m.text)
    return None


@PROFILE
@given(seeded(RAW))
def test_fuzz_records(text: str) -> None:
    fan("kmsg.parse_record", _record, text)
    fan("kmsg.RecordSplitter", _split, text, may_raise=False)
    fan("kmsg.unescape", lambda t: k.unescape(_b(t)), text, may_raise=False)


@PROFILE
@given(seeded(MESSAGES))
def test_fuzz_qla2xxx_messages(text: str) -> None:
    fan("qla2xxx_log.parse_prefix", _wrapped, text)
    fan("qla2xxx_log.classify", q.classify, text, may_raise=False)
    fan("qla2xxx_links.LinkTracker", _track, text, may_raise=False)


@PROFILE
@given(st.binary(max_size=300))
def test_fuzz_record_bytes(data: bytes) -> None:
    fan("kmsg.parse_record", lambda t: k.parse_record(_b(t)), data.decode("latin-1"))


@pytest.mark.parametrize(
    "filler", ["\\x41", "9", ",", " K=v\n", "6,1,1,-;x\n", "qla2xxx [0000:00:00.0]-"]
)
def test_linear(filler: str) -> None:
    linear(_record, filler, prefix="6,1,1,-;")
    linear(_split, filler)
    linear(_wrapped, filler, prefix="qla2xxx [0000:83:00.0]-500a:6: ")
    linear(_track, filler, prefix="qla2xxx ")
