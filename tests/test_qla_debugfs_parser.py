"""The qla2xxx debugfs parsers on text built from the seq_printf format strings of
drivers/scsi/qla2xxx/qla_dfs.c, one era at a time (exact spacing: tabs, %14lld padding, the
`[%d]` brackets with and without a space before them)."""

from __future__ import annotations

import pytest

from exporter.parsers import qla_debugfs as q

# v4.5 qla_dfs_tgt_counters_show(): header and nine "%s = %lld\n" lines (per vha).
TGT_COUNTERS_V4_5 = (
    "Target Counters\n"
    "qla_core_sbt_cmd = 1000\n"
    "qla_core_ret_sta_ctio = 998\n"
    "qla_core_ret_ctio = 600\n"
    "core_qla_que_buf = 601\n"
    "core_qla_snd_status = 999\n"
    "core_qla_free_cmd = 997\n"
    "num alloc iocb failed = 3\n"
    "num term exchange sent = 7\n"
    "num Q full sent = 42\n"
)
# Current mainline: the same nine (summed over qpairs), seven DIF lines ("%lld" / "%d"), the
# v5.12 block "HW Error Count =\t\t%14lld\n" ..., a per-rport line (initiator mode), blank lines.
TGT_COUNTERS_CURRENT = (
    TGT_COUNTERS_V4_5
    + "DIF Inp Bytes = 4096\n"
    + "DIF Outp Bytes = 8192\n"
    + "DIF Inp Req = 1\n"
    + "DIF Outp Req = 2\n"
    + "DIF Guard err = 5\n"
    + "DIF Ref tag err = 6\n"
    + "DIF App tag err = 0\n"
    + "\n"
    + "Initiator Error Counters\n"
    + "HW Error Count =\t\t%14d\n" % 11  # noqa: UP031 - the kernel format string
    + "Link Down Count =\t%14d\n" % 12  # noqa: UP031 - the kernel format string
    + "Interface Err Count =\t%14d\n" % 13  # noqa: UP031 - the kernel format string
    + "Cmd Timeout Count =\t%14d\n" % 14  # noqa: UP031 - the kernel format string
    + "Reset Count =\t\t%14d\n" % 15  # noqa: UP031 - the kernel format string
    + "\n"
    + "Target Num = %7d Link Down Count = %14d\n" % (3, 1)  # noqa: UP031 - the kernel format string
    + "\n"
)


def test_tgt_counters_v4_5() -> None:
    c = q.parse_tgt_counters(TGT_COUNTERS_V4_5)
    assert c.values == {
        "qla_core_sbt_cmd": 1000,
        "qla_core_ret_sta_ctio": 998,
        "qla_core_ret_ctio": 600,
        "core_qla_que_buf": 601,
        "core_qla_snd_status": 999,
        "core_qla_free_cmd": 997,
        "num_alloc_iocb_failed": 3,
        "num_term_exchange_sent": 7,
        "num_q_full_sent": 42,
    }
    assert c.garbled == () and not c.empty


def test_tgt_counters_current_era() -> None:
    c = q.parse_tgt_counters(TGT_COUNTERS_CURRENT)
    assert len(c.values) == 9 + 7 + 5
    assert c.values["dif_inp_bytes"] == 4096
    assert c.values["dif_guard_err"] == 5
    assert c.values["dif_ref_tag_err"] == 6
    assert c.values["hw_error_count"] == 11
    assert c.values["link_down_count"] == 12  # the vha line, not the per-rport one
    assert c.values["interface_err_count"] == 13
    assert c.values["cmd_timeout_count"] == 14
    assert c.values["reset_count"] == 15
    assert c.garbled == ()


def test_tgt_counters_chip_down_and_garbage() -> None:
    assert q.parse_tgt_counters("").empty  # qla2x00_chip_is_down(): nothing printed
    with pytest.raises(ValueError):
        q.parse_tgt_counters("\x00\x01garbage without equals\n" * 3)
    c = q.parse_tgt_counters("Target Counters\nnum Q full sent = 4x\nnum term exchange sent = 2\n")
    assert c.values == {"num_term_exchange_sent": 2}
    assert c.garbled == ("num Q full sent = 4x",)
    c = q.parse_tgt_counters("Target Counters\nx = 1\nqla_core_sbt_cmd = -5\nnew = " + "9" * 40)
    assert c.values == {"x": 1}  # negative and absurd values are never counters
    assert len(c.garbled) == 2
    # a short read cut inside the last key: that line is garbled, the others are served
    c = q.parse_tgt_counters(TGT_COUNTERS_V4_5[:-11])
    assert c.garbled == ("num Q full",) and len(c.values) == 8


def test_tgt_counters_unknown_keys_are_normalised() -> None:
    c = q.parse_tgt_counters("Target Counters\nNum ABTS   Recv (new) = 17\n")
    assert c.values == {"num_abts_recv_new": 17}


def test_tgt_sess() -> None:
    # "%s\n" host_str, "Port ID   Port Name                Handle\n", "%02x:%02x:%02x  %8phC  %d\n"
    text = (
        "qla2xxx_7\n"
        "Port ID   Port Name                Handle\n"
        "01:02:03  21:00:00:24:ff:a0:00:00  128\n"
        "0a:0b:0c  21:00:00:24:ff:a0:00:01  4096\n"
    )
    s = q.parse_tgt_sess(text)
    assert s.host_str == "qla2xxx_7" and s.target_mode
    assert s.sessions == (
        q.Session(0x010203, "21:00:00:24:ff:a0:00:00", 128),
        q.Session(0x0A0B0C, "21:00:00:24:ff:a0:00:01", 4096),
    )
    # no qla_tgt on the vha: only the host_str
    assert q.parse_tgt_sess("qla2xxx_7\n") == q.TgtSess("qla2xxx_7", False, ())
    with pytest.raises(ValueError):
        q.parse_tgt_sess("host7\n")
    bad = q.parse_tgt_sess(text + "zz:0b:0c  21:00  1\n")
    assert len(bad.sessions) == 2 and bad.garbled == ("zz:0b:0c  21:00  1",)


# v4.5 qla_dfs_fw_resource_cnt_show(): values cached at init, this order and capitalisation.
FW_V4_5 = (
    "FW Resource count\n\n"
    "Original TGT exchg count[4096]\n"
    "current TGT exchg count[4000]\n"
    "original Initiator Exchange count[2048]\n"
    "Current Initiator Exchange count[2048]\n"
    "Original IOCB count[2078]\n"
    "Current IOCB count[2067]\n"
    "MAX VP count[254]\n"
    "MAX FCF count[0]\n"
)
# Current mainline: mailbox values, reordered, XCB lines, ql2xenforce_iocb_limit estimates
# (mode 1 and the indented mode-2 lines with a trailing space).
FW_CURRENT = (
    "FW Resource count\n\n"
    "Original TGT exchg count[4096]\n"
    "Current TGT exchg count[100]\n"
    "Current Initiator Exchange count[2040]\n"
    "Original Initiator Exchange count[2048]\n"
    "Current IOCB count[1000]\n"
    "Original IOCB count[2078]\n"
    "MAX VP count[254]\n"
    "MAX FCF count[0]\n"
    "Current free pageable XCB buffer cnt[1024]\n"
    "Original Initiator fast XCB buffer cnt[512]\n"
    "Current free Initiator fast XCB buffer cnt[511]\n"
    "Original Target fast XCB buffer cnt[2048]\n"
    "Driver: estimate iocb used [1078] high water limit [1870]\n"
    "estimate exchange used[3996] high water limit [3686]\n"
    "        estimate iocb2 used [5] high water limit [1870]\n"
    "        estimate exchange2 used[6] high water limit [3686] \n"
)


def test_fw_resource_count_v4_5() -> None:
    r = q.parse_fw_resource_count(FW_V4_5)
    assert r.limit == {"target_exchanges": 4096, "initiator_exchanges": 2048, "iocbs": 2078}
    assert r.free == {"target_exchanges": 4000, "initiator_exchanges": 2048, "iocbs": 2067}
    assert r.other == {"max_vp_count": 254, "max_fcf_count": 0}
    assert r.estimate_used == {} and r.mailbox_error == "" and r.garbled == ()


def test_fw_resource_count_current_era() -> None:
    r = q.parse_fw_resource_count(FW_CURRENT)
    assert r.limit == {"target_exchanges": 4096, "initiator_exchanges": 2048, "iocbs": 2078}
    assert r.free == {"target_exchanges": 100, "initiator_exchanges": 2040, "iocbs": 1000}
    assert r.other["current_free_pageable_xcb_buffer_cnt"] == 1024
    assert r.other["original_target_fast_xcb_buffer_cnt"] == 2048
    assert r.estimate_used == {"iocb": 1078, "exchange": 3996, "iocb2": 5, "exchange2": 6}
    assert r.estimate_limit == {"iocb": 1870, "exchange": 3686, "iocb2": 1870, "exchange2": 3686}
    assert r.garbled == ()


def test_fw_resource_count_mailbox_failure_and_garbage() -> None:
    # "Mailbox Command failed %d, mb %#x" has no newline; the estimates may still follow
    r = q.parse_fw_resource_count("Mailbox Command failed 258, mb 0x4005")
    assert r.mailbox_error == "Mailbox Command failed 258, mb 0x4005"
    assert r.limit == {} and r.free == {}
    with pytest.raises(ValueError):
        q.parse_fw_resource_count("\xff\xfe nonsense\n")
    r = q.parse_fw_resource_count(FW_V4_5 + "Current IOCB count[\n")
    assert r.garbled == ("Current IOCB count[",) and r.free["iocbs"] == 2067


def test_rport_values_and_names() -> None:
    assert q.parse_rport_value("6\n", "fw_login_state") == 6
    assert q.parse_rport_value("18446744073709551615\n", "flags") == 2**64 - 1
    for bad in ("6", "", "x\n", "-1\n"):
        with pytest.raises(ValueError):
            q.parse_rport_value(bad, "login_gen")
    assert q.rport_wwpn("pn-21000024ffa00000") == "21:00:00:24:ff:a0:00:00"
    assert q.rport_wwpn("pn-2100") is None and q.rport_wwpn("dev_loss_tmo") is None
    assert q.host_number("qla2xxx_12") == 12 and q.host_number("qla2xxx") is None


def test_linear_time_on_large_garbage() -> None:
    text = ("a" * 10000 + "[" * 5000 + "=" * 5000 + "\n") * 20
    q.parse_tgt_counters("Target Counters\nx = 1\n" + text)
    with pytest.raises(ValueError):
        q.parse_fw_resource_count(text)
