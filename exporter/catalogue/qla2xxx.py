"""Families of the qla2xxx collector: the qla2xxx target engine as only the HBA driver sees it,
from debugfs `qla2xxx/qla2xxx_<N>/` (tgt_counters, tgt_sess, rports/, fw_resource_count).

Formats and kernel versions: exporter/parsers/qla_debugfs.py. The collector is disabled by
default: debugfs is root-only."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, counter, gauge


def _d(m: Metric) -> Metric:
    return declare("qla2xxx", m)


D = "/sys/kernel/debug/qla2xxx/qla2xxx_N/"
TGT_COUNTERS = (D + "tgt_counters",)
TGT_SESS = (D + "tgt_sess",)
FW_RES = (D + "fw_resource_count",)
PORT = ("pci", "host", "wwpn")
INITIATOR = (*PORT, "initiator")


@dataclass(frozen=True)
class Known:
    """How one tgt_counters key is served: its family and the extra label values."""

    metric: Metric
    labels: tuple[str, ...] = ()


def _c(name: str, help: str, *, unit: str = "", labels: tuple[str, ...] = ()) -> Metric:
    return _d(counter(name, help, (*PORT, *labels), TGT_COUNTERS, unit=unit))


_SUM = " Summed over the queue pairs on kernels with target queue pairs."
COMMANDS_RECEIVED = _c(
    "fctarget_qla2xxx_commands_received",
    "SCSI commands the driver handed to the target core (tgt_counters qla_core_sbt_cmd)." + _SUM,
)
DATA_QUEUED = _c(
    "fctarget_qla2xxx_data_transfers_queued",
    "Data transfers the target core queued to the HBA (tgt_counters core_qla_que_buf)." + _SUM,
)
CTIO_COMPLETIONS = _c(
    "fctarget_qla2xxx_ctio_completions",
    "CTIO completions the firmware returned (tgt_counters qla_core_ret_ctio)." + _SUM,
)
STATUS_SENT = _c(
    "fctarget_qla2xxx_status_sent",
    "SCSI status responses the target core sent (tgt_counters core_qla_snd_status)." + _SUM,
)
STATUS_CTIO_COMPLETIONS = _c(
    "fctarget_qla2xxx_status_ctio_completions",
    "Status CTIO completions the firmware returned (tgt_counters qla_core_ret_sta_ctio)." + _SUM,
)
COMMANDS_FREED = _c(
    "fctarget_qla2xxx_commands_freed",
    "Target commands freed (tgt_counters core_qla_free_cmd)." + _SUM,
)
IOCB_ALLOC_FAILURES = _c(
    "fctarget_qla2xxx_iocb_alloc_failures",
    "Request-queue IOCB allocations that failed (tgt_counters 'num alloc iocb failed'): the "
    "HBA ran out of request ring space; the command is retried or answered busy." + _SUM,
)
EXCHANGES_TERMINATED = _c(
    "fctarget_qla2xxx_exchanges_terminated",
    "Terminate-exchange IOCBs the target sent (tgt_counters 'num term exchange sent'): every "
    "command aborted by an initiator ABTS or a task management function ends this way, as do "
    "some error paths. The closest counter of initiator aborts the driver keeps." + _SUM,
)
QUEUE_FULL_SENT = _c(
    "fctarget_qla2xxx_queue_full_sent",
    "SCSI QUEUE FULL (TASK SET FULL) statuses sent to initiators (tgt_counters 'num Q full "
    "sent'): the target refused commands for lack of resources." + _SUM,
)
DIF_INPUT_BYTES = _c(
    "fctarget_qla2xxx_dif_input_bytes",
    "Bytes received with T10-PI (DIF) protection (tgt_counters 'DIF Inp Bytes').",
    unit="bytes",
)
DIF_OUTPUT_BYTES = _c(
    "fctarget_qla2xxx_dif_output_bytes",
    "Bytes sent with T10-PI (DIF) protection (tgt_counters 'DIF Outp Bytes').",
    unit="bytes",
)
DIF_INPUT_REQUESTS = _c(
    "fctarget_qla2xxx_dif_input_requests",
    "Requests received with T10-PI (DIF) protection (tgt_counters 'DIF Inp Req').",
)
DIF_OUTPUT_REQUESTS = _c(
    "fctarget_qla2xxx_dif_output_requests",
    "Requests sent with T10-PI (DIF) protection (tgt_counters 'DIF Outp Req').",
)
DIF_ERRORS = _c(
    "fctarget_qla2xxx_dif_errors",
    "T10-PI (DIF) check failures by check: guard (CRC), ref_tag, app_tag (tgt_counters 'DIF "
    "Guard err', 'DIF Ref tag err', 'DIF App tag err'); data corruption between initiator, "
    "HBA and storage.",
    labels=("check",),
)
INITIATOR_ERRORS = _c(
    "fctarget_qla2xxx_initiator_errors",
    "The driver's initiator-side error counters (tgt_counters 'Initiator Error Counters', "
    "v5.12+) by kind: hw, short_link_down, interface, cmd_timeout, reset; they count the "
    "port's own initiator I/O, not target traffic.",
    labels=("kind",),
)
OTHER_COUNTER = _d(
    gauge(
        "fctarget_qla2xxx_tgt_counter_other",
        "A tgt_counters 'key = value' line this exporter has no family for (a newer kernel), by "
        "normalised key (lower case, other characters as _). Its kind is unknown, so it is a "
        "gauge; most are counters.",
        (*PORT, "key"),
        TGT_COUNTERS,
    )
)

# tgt_counters normalised key -> family (parsers/qla_debugfs.normalise_key of the kernel's text)
TGT_COUNTER_KEYS: dict[str, Known] = {
    "qla_core_sbt_cmd": Known(COMMANDS_RECEIVED),
    "qla_core_ret_sta_ctio": Known(STATUS_CTIO_COMPLETIONS),
    "qla_core_ret_ctio": Known(CTIO_COMPLETIONS),
    "core_qla_que_buf": Known(DATA_QUEUED),
    "core_qla_snd_status": Known(STATUS_SENT),
    "core_qla_free_cmd": Known(COMMANDS_FREED),
    "num_alloc_iocb_failed": Known(IOCB_ALLOC_FAILURES),
    "num_term_exchange_sent": Known(EXCHANGES_TERMINATED),
    "num_q_full_sent": Known(QUEUE_FULL_SENT),
    "dif_inp_bytes": Known(DIF_INPUT_BYTES),
    "dif_outp_bytes": Known(DIF_OUTPUT_BYTES),
    "dif_inp_req": Known(DIF_INPUT_REQUESTS),
    "dif_outp_req": Known(DIF_OUTPUT_REQUESTS),
    "dif_guard_err": Known(DIF_ERRORS, ("guard",)),
    "dif_ref_tag_err": Known(DIF_ERRORS, ("ref_tag",)),
    "dif_app_tag_err": Known(DIF_ERRORS, ("app_tag",)),
    "hw_error_count": Known(INITIATOR_ERRORS, ("hw",)),
    "link_down_count": Known(INITIATOR_ERRORS, ("short_link_down",)),
    "interface_err_count": Known(INITIATOR_ERRORS, ("interface",)),
    "cmd_timeout_count": Known(INITIATOR_ERRORS, ("cmd_timeout",)),
    "reset_count": Known(INITIATOR_ERRORS, ("reset",)),
}

# --- tgt_sess and rports/: per initiator ----------------------------------------------------

SESSIONS = _d(
    gauge(
        "fctarget_qla2xxx_sessions",
        "Ports the driver keeps a session (fc_port) for, from tgt_sess; absent while target "
        "mode is not set up on the port.",
        PORT,
        TGT_SESS,
    )
)
SESSION_PORT_ID = _d(
    gauge(
        "fctarget_qla2xxx_session_port_id",
        "The 24-bit FC address of an initiator the driver has a session for (tgt_sess); the "
        "series exists while the session does. initiator is the WWPN in LIO's colon form, so "
        "it joins fctarget_lio_* ACL series.",
        INITIATOR,
        TGT_SESS,
    )
)
SESSION_LOOP_ID = _d(
    gauge(
        "fctarget_qla2xxx_session_loop_id",
        "The firmware login handle (loop id) of an initiator's session (tgt_sess 'Handle').",
        INITIATOR,
        TGT_SESS,
    )
)
RPORTS = (D + "rports/pn-WWPN/",)
INITIATOR_LOGGED_IN = _d(
    gauge(
        "fctarget_qla2xxx_initiator_logged_in",
        "1 if the firmware login of the initiator is complete (rports/pn-*/fw_login_state is "
        "DSC_LS_PRLI_COMP: PLOGI and PRLI done), else 0. rports/ exists since v5.11.",
        INITIATOR,
        tuple(r + "fw_login_state" for r in RPORTS),
    )
)
INITIATOR_FW_LOGIN_STATE = _d(
    gauge(
        "fctarget_qla2xxx_initiator_fw_login_state",
        "The initiator's firmware login state (rports/pn-*/fw_login_state, qla_def.h enum "
        "login_state), one series per named state (1 for the current one); an unnamed value "
        "is added as its number with value 1.",
        (*INITIATOR, "state"),
        tuple(r + "fw_login_state" for r in RPORTS),
    )
)
INITIATOR_DISC_STATE = _d(
    gauge(
        "fctarget_qla2xxx_initiator_disc_state",
        "The driver's discovery state of the initiator as a number (rports/pn-*/disc_state, "
        "qla_def.h enum discovery_state: 0 = deleted; the numbering of the other states "
        "differs between kernel versions, so compare only with the same kernel).",
        INITIATOR,
        tuple(r + "disc_state" for r in RPORTS),
    )
)
INITIATOR_LOGINS = _d(
    counter(
        "fctarget_qla2xxx_initiator_logins",
        "Logins of the initiator since its fc_port was created (rports/pn-*/login_gen): a "
        "rising rate is an initiator logging in and out (re-login churn).",
        INITIATOR,
        tuple(r + "login_gen" for r in RPORTS),
    )
)
INITIATOR_RSCNS = _d(
    counter(
        "fctarget_qla2xxx_initiator_rscns",
        "RSCNs that concerned the initiator since its fc_port was created (rports/pn-*/rscn_gen).",
        INITIATOR,
        tuple(r + "rscn_gen" for r in RPORTS),
    )
)

# --- fw_resource_count ----------------------------------------------------------------------

FW_RESOURCE_LIMIT = _d(
    gauge(
        "fctarget_qla2xxx_fw_resource_limit",
        "Firmware resource totals from fw_resource_count ('Original ...' lines) by resource: "
        "target_exchanges, initiator_exchanges, iocbs.",
        (*PORT, "resource"),
        FW_RES,
    )
)
FW_RESOURCE_FREE = _d(
    gauge(
        "fctarget_qla2xxx_fw_resource_free",
        "Firmware resources left ('Current ...' lines of fw_resource_count) by resource; in use "
        "= fctarget_qla2xxx_fw_resource_limit - this. Read through a firmware mailbox command, "
        "at most every --collector.qla2xxx.fw-resource-min-interval.",
        (*PORT, "resource"),
        FW_RES,
    )
)
FW_RESOURCE_OTHER = _d(
    gauge(
        "fctarget_qla2xxx_fw_resource_other",
        "Any other '<label>[n]' line of fw_resource_count by normalised label (max_vp_count, "
        "max_fcf_count, the XCB buffer counts of newer kernels).",
        (*PORT, "item"),
        FW_RES,
    )
)
DRIVER_ESTIMATE_USED = _d(
    gauge(
        "fctarget_qla2xxx_driver_resource_estimate_used",
        "The driver's own estimate of IOCBs or exchanges in use (fw_resource_count 'estimate "
        "... used', printed when ql2xenforce_iocb_limit is set) by resource: iocb, exchange "
        "(queue pairs), iocb2, exchange2 (whole HBA, mode 2).",
        (*PORT, "resource"),
        FW_RES,
    )
)
DRIVER_ESTIMATE_LIMIT = _d(
    gauge(
        "fctarget_qla2xxx_driver_resource_estimate_limit",
        "The high-water limit the driver enforces for that estimate: above it new commands get "
        "a busy status (fw_resource_count 'high water limit').",
        (*PORT, "resource"),
        FW_RES,
    )
)
FW_RESOURCE_AGE = _d(
    gauge(
        "fctarget_qla2xxx_fw_resource_age_seconds",
        "Age of the fw_resource_count snapshot served (0 when read in this scrape; up to "
        "--collector.qla2xxx.fw-resource-min-interval).",
        PORT,
        FW_RES,
        unit="seconds",
    )
)
SOURCE_READABLE = _d(
    gauge(
        "fctarget_qla2xxx_source_readable",
        "1 if the debugfs source (tgt_counters, tgt_sess, rports, fw_resource_count) was read "
        "and understood in this scrape, 0 if it exists but could not be read (permissions, "
        "lockdown, mailbox failure, garbage); absent when the kernel has no such file.",
        (*PORT, "source"),
        (*TGT_COUNTERS, *TGT_SESS, *FW_RES, D + "rports"),
    )
)
