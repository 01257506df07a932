"""qla2xxx message prefixes (every era) and link-event texts, on real lines and format strings."""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.parsers.kmsg import KmsgRecord
from exporter.parsers.qla2xxx_links import LinkTracker, PortLinks
from exporter.parsers.qla2xxx_log import (
    EVENTS,
    QlaMessage,
    classify,
    parse_prefix,
    strip_log_wrapper,
)

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "kmsg")


def sample_lines(name: str) -> list[str]:
    with open(os.path.join(FIX, name), encoding="utf-8") as f:
        return [ln.rstrip("\n") for ln in f if not ln.startswith("#")]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # >= 3.1 ql_log/ql_dbg prefix (qla_dbg.c ql_dbg_prefix): "%s [%s]-%04x:%lu: "
        (
            "qla2xxx [0000:02:00.0]-500a:3: LOOP UP detected (8 Gbps).",
            QlaMessage("0000:02:00.0", 0x500A, 3, "LOOP UP detected (8 Gbps)."),
        ),
        # no vha: "%s [%s]-%04x: : " with the 0000:00:00.0 placeholder (SCST issue 117)
        (
            "qla2xxx [0000:00:00.0]-0005: : QLogic Fibre Channel HBA Driver: 10.02.06.200-k.",
            QlaMessage(
                "0000:00:00.0", 0x0005, None, "QLogic Fibre Channel HBA Driver: 10.02.06.200-k."
            ),
        ),
        # ql_log_pci with a real device name (SCST issue 128)
        (
            "qla2xxx [0000:81:00.0]-011c: : MSI-X vector count: 16.",
            QlaMessage("0000:81:00.0", 0x011C, None, "MSI-X vector count: 16."),
        ),
        # 5-digit target-mode ids, 5-digit PCI domain (Intel VMD), 2-digit host
        (
            "qla2xxx [10000:01:00.1]-1000d:12: something",
            QlaMessage("10000:01:00.1", 0x1000D, 12, "something"),
        ),
        # IBM Power domain
        (
            "qla2xxx [0135:90:00.1]-5809:7: LIP occurred (f7f7).",
            QlaMessage("0135:90:00.1", 0x5809, 7, "LIP occurred (f7f7)."),
        ),
        # <= 3.0 qla_printk = dev_printk (2.6.35 Ubuntu Forums sample)
        (
            "qla2xxx 0000:0c:00.0: LIP reset occurred (f801).",
            QlaMessage("0000:0c:00.0", None, None, "LIP reset occurred (f801)."),
        ),
        ("qla2xxx 0000:0c:00.1:", QlaMessage("0000:0c:00.1", None, None, "")),
    ],
)
def test_prefix_forms(message: str, expected: QlaMessage) -> None:
    assert parse_prefix(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "qla2xxx: no device",
        "qla2xxx [0000:02:00]-500a:3: short pci",
        "qla2xxx [0000:02:00.0]-50a:3: 3-digit id",
        "qla2xxx 0000:02:00.8: bad function",
        "scsi host0: qla2xxx",
        "",
    ],
)
def test_not_a_prefix(message: str) -> None:
    with pytest.raises(ValueError):
        parse_prefix(message)


# Each text is the format string of the cited file with typical arguments filled in.
EVENT_TEXTS: list[tuple[str, str | None]] = [
    # qla_isr.c qla2x00_async_event()
    ("LIP occurred (f801).", "lip"),
    ("LIP reset occurred (f801).", "lip_reset"),
    ("LIP reset occured (f7f7).", "lip_reset"),  # <= 2.6.27 spelling
    ("LOOP UP detected (1 Gbps).", "loop_up"),
    ("LOOP UP detected (2 Gbps).", "loop_up"),
    ("LOOP UP detected (4 Gbps).", "loop_up"),
    ("LOOP UP detected (8 Gbps).", "loop_up"),
    ("LOOP UP detected (10 Gbps).", "loop_up"),
    ("LOOP UP detected (16 Gbps).", "loop_up"),
    ("LOOP UP detected (32 Gbps).", "loop_up"),
    ("LOOP UP detected (64 Gbps).", "loop_up"),
    ("LOOP UP detected (? Gbps).", "loop_up"),
    ("LOOP DOWN detected (2 7 0 0).", "loop_down"),  # >= 3.1
    ("LOOP DOWN detected (2 7 0).", "loop_down"),  # <= 3.0
    ("LOOP DOWN detected (8002).", "loop_down"),  # early 2.6
    ("LOOP DOWN detected.", "loop_down"),  # earliest
    ("RSCN database changed -- 0001 0200 0a00.", "rscn"),
    (
        "ISP System Error - mbx1=2h mbx2=0h mbx3=0h mbx4=0h mbx5=0h mbx6=0h mbx7=0h.",
        "isp_error",
    ),
    ("Unrecoverable Hardware Error: adapter marked OFFLINE!", "isp_error"),
    ("ISP Request Transfer Error (2).", "isp_error"),
    ("LOOP INIT ERROR (1a).", "isp_error"),
    ("RISC paused -- HCCR=40, Dumping firmware.", "isp_error"),
    ("Heartbeat Failure encountered, chip reset required.", "isp_error"),
    (
        "MPI Heartbeat stop. MPI reset is not needed. MB0[4002h] MB1[0h] MB2[0h] MB3[0h]",
        "isp_error",
    ),
    # qla_init.c
    ("Cable is unplugged...", "link_down"),
    ("Performing ISP error recovery - ha=00000000c584070c.", "isp_abort"),
    ("qla2x00_abort_isp **** FAILED ****.", "isp_abort_failed"),
    ("ISP error recover failed - board disabled.", "isp_abort_failed"),
    # qla_os.c
    ("Loop down - aborting ISP.", "link_down"),
    ("Loop down - aborting the queues before time expires.", "link_down"),
    ("ISP abort scheduled.", "isp_abort_scheduled"),
    # qla_dbg.c, qla_tmpl.c
    (
        "Firmware dump saved to temp buffer (7/ffffc90001a2d000), dump status flags (0x3f).",
        "fw_dump",
    ),
    ("Firmware dump saved to temp buffer (30/ffffc94160397000)", "fw_dump"),
    ("-> Firmware dump saved to buffer (7/00000000a1b2c3d4) <1>", "fw_dump"),
    ("-> MPI firmware dump saved to buffer (7/00000000a1b2c3d4)", "fw_dump"),
    ("Failed to dump firmware (102), dump status flags (0x3f).", "fw_dump_failed"),
    # not events
    ("LOOP DOWN detected,restore WWPN 2100001b32123456", None),  # FA-WWPN follow-up of 0x500b
    ("qla_target(0): Async LOOP_UP occurred (m[0]=8011, m[1]=4, m[2]=0, m[3]=0)", None),
    ("ZIO mode 6 enabled; timer delay (200 us).", None),
    ("Done chip reset cleanup.", None),
]


@pytest.mark.parametrize(("text", "expected"), EVENT_TEXTS)
def test_event_texts(text: str, expected: str | None) -> None:
    got = classify(text)
    assert got == expected
    if got is not None:
        assert got in EVENTS


def test_every_event_has_a_text() -> None:
    seen = {e for _, e in EVENT_TEXTS if e is not None}
    assert seen == set(EVENTS)


def test_match_on_text_not_id() -> None:
    # the same debug message printed as 0x5009 (5.9-6.0) and 0x5809 (id + ql_dbg_offset)
    for line in (
        "qla2xxx [0000:83:00.1]-5009:7: LIP occurred (0).",
        "qla2xxx [0000:83:00.1]-5809:7: LIP occurred (0).",
    ):
        qm = parse_prefix(line)
        assert classify(qm.text) == "lip"


def test_old_format_real_sample() -> None:
    lines = sample_lines("kmsg-qla2xxx-ubuntuforums-2011-2.6.35-oldformat.txt")
    msgs = [m for ln in lines if (m := strip_log_wrapper(ln)) is not None]
    parsed = [parse_prefix(m) for m in msgs]
    events = [(p.pci, classify(p.text)) for p in parsed if classify(p.text) is not None]
    assert events == [
        ("0000:0c:00.0", "lip_reset"),
        ("0000:0c:00.0", "lip"),
        ("0000:0c:00.0", "loop_up"),
    ]
    # the 2.6.35 banner continuation lines ("  QLogic QLE2562 ...") are not qla2xxx-prefixed
    assert len(msgs) == 9


def test_new_format_real_samples() -> None:
    lines = sample_lines("kmsg-qla2xxx-scst-issue117-dmesg-H.txt")
    parsed = [parse_prefix(m) for ln in lines if (m := strip_log_wrapper(ln)) is not None]
    assert len(parsed) == 13  # every line but the two "scsi hostN: qla2xxx"
    assert {(p.pci, p.host) for p in parsed} == {
        ("0000:00:00.0", None),
        ("0000:01:00.0", 0),
        ("0000:01:00.1", 12),
    }
    assert [classify(p.text) for p in parsed] == [None] * 13
    lines = sample_lines("kmsg-qla2xxx-scst-issue128-target-mode.txt")
    parsed = [parse_prefix(m) for ln in lines if (m := strip_log_wrapper(ln)) is not None]
    assert [(p.pci, p.msg_id, p.host) for p in parsed] == [
        ("0000:00:00.0", 0x0005, None),
        ("0000:81:00.0", 0x011C, None),
        ("0000:81:00.0", 0x001D, None),
        ("0000:81:00.0", 0x0075, 15),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "[ 1234.567890] qla2xxx [0000:03:00.3]-d015:30: X",
        "[  +0.000009] qla2xxx [0000:03:00.3]-d015:30: X",
        "Feb 28 23:34:49 host kernel: [1488234.264510,4f] qla2xxx [0000:03:00.3]-d015:30: X",
        "2023-02-13 11:26:55.105 0 4 localhost kernel:[   52.5] qla2xxx [0000:03:00.3]-d015:30: X",
        "qla2xxx [0000:03:00.3]-d015:30: X",
    ],
)
def test_strip_wrappers(line: str) -> None:
    assert strip_log_wrapper(line) == "qla2xxx [0000:03:00.3]-d015:30: X"


def test_strip_wrapper_none() -> None:
    assert strip_log_wrapper("[    1.893278] scsi4 : qla2xxx") is None


@given(st.text(max_size=200))
def test_garbage_text_never_raises(text: str) -> None:
    classify(text)
    strip_log_wrapper(text)
    with contextlib.suppress(ValueError):
        parse_prefix(text)
    with contextlib.suppress(ValueError):
        parse_prefix("qla2xxx " + text)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # a driver built with extra debug output prints `PID <pid>:<file>:<line>: ` after the
        # prefix: the message text (what events are recognised by) starts after it
        (
            "qla2xxx [0001:00:02.0]-4807:1: PID 346:qla_os.c:6329: ISP abort scheduled.",
            QlaMessage("0001:00:02.0", 0x4807, 1, "ISP abort scheduled."),
        ),
        (
            "qla2xxx [0000:83:00.1]-500a:7: PID 0:qla_isr.c:1105: LOOP UP detected (16 Gbps).",
            QlaMessage("0000:83:00.1", 0x500A, 7, "LOOP UP detected (16 Gbps)."),
        ),
        (
            "qla2xxx [0000:81:00.0]-011c: : PID 1:qla_os.c:2200: MSI-X vector count: 16.",
            QlaMessage("0000:81:00.0", 0x011C, None, "MSI-X vector count: 16."),
        ),
        # only that exact infix is skipped, not any text before the message
        (
            "qla2xxx [0000:83:00.1]-500a:7: PID 12: LOOP UP detected (16 Gbps).",
            QlaMessage("0000:83:00.1", 0x500A, 7, "PID 12: LOOP UP detected (16 Gbps)."),
        ),
        (
            "qla2xxx [0000:83:00.1]-500a:7: PID x:qla_os.c:1: LOOP UP detected.",
            QlaMessage("0000:83:00.1", 0x500A, 7, "PID x:qla_os.c:1: LOOP UP detected."),
        ),
        (
            "qla2xxx [0000:83:00.1]-500a:7: tag PID 1:qla_os.c:1: LOOP UP detected.",
            QlaMessage("0000:83:00.1", 0x500A, 7, "tag PID 1:qla_os.c:1: LOOP UP detected."),
        ),
    ],
)
def test_debug_build_infix(message: str, expected: QlaMessage) -> None:
    assert parse_prefix(message) == expected


def test_debug_build_infix_event_is_counted() -> None:
    qm = parse_prefix("qla2xxx [0001:00:02.0]-4807:1: PID 346:qla_os.c:6329: ISP abort scheduled.")
    assert classify(qm.text) == "isp_abort_scheduled"


def test_link_tracker_counts_records_of_a_debug_build() -> None:
    """The debug build's infix used to hide the event (classified from the start of the text)."""
    t = LinkTracker()
    msgs = [
        "qla2xxx [0001:00:02.0]-4807:1: PID 346:qla_os.c:6329: ISP abort scheduled.",
        "qla2xxx [0001:00:02.0]-500b:1: PID 0:qla_isr.c:1137: LOOP DOWN detected (2 7 0 0).",
        "qla2xxx [0001:00:02.0]-500b:1: PID 0:qla_isr.c:1137: LOOP DOWN detected (2 7 0 0).",
        "qla2xxx [0001:00:02.0]-0121:1: PID 0:qla_os.c:1: Failed to enable RSCN: 0x2.",
        "qla2xxx [0001:00:02.0] no prefix",
        "usb 1-1: not qla2xxx",
    ]
    for i, msg in enumerate(msgs):
        t.feed(KmsgRecord(0, 4, i, i, "-", msg), 100.0 + i)
    snap = t.snapshot()
    assert snap.ports == {
        ("0001:00:02.0", 1): PortLinks(
            {"isp_abort_scheduled": 1, "loop_down": 2},
            {"isp_abort_scheduled": 100.0, "loop_down": 102.0},
            False,
        )
    }
    assert snap.qla2xxx_records == 5
    assert snap.unparsed == {"prefix": 1, "message": 1, "too_many_ports": 0}
