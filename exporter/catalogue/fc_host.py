"""Families of the fc_host collector: FC transport sysfs (`/sys/class/fc_host/hostN`), the qla2xxx
scsi_host extras (`/sys/class/scsi_host/hostN`) and the qla2xxx module parameter qlini_mode."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, counter, gauge, info


def _d(m: Metric) -> Metric:
    return declare("fc_host", m)


FC = "/sys/class/fc_host/hostN/"
SCSI = "/sys/class/scsi_host/hostN/"
QLINI = "/sys/module/qla2xxx/parameters/qlini_mode"
PORT = ("pci", "host", "wwpn")

QLINI_MODE_INFO = _d(
    info(
        "fctarget_fc_host_qlini_mode_info",
        "qla2xxx module parameter qlini_mode (/sys/module/qla2xxx/parameters/qlini_mode); value 1.",
        ("mode",),
        (QLINI,),
    )
)
QLINI_MODE_ALLOWS_TARGET = _d(
    gauge(
        "fctarget_fc_host_qlini_mode_allows_target",
        "1 if the qla2xxx qlini_mode lets ports run in target mode (exclusive, disabled, dual); 0 "
        "for 'enabled' (initiator only: tcm_qla2xxx cannot serve LUNs).",
        (),
        (QLINI,),
    )
)
INFO = _d(
    info(
        "fctarget_fc_host_info",
        "FC host port identity from fc_host/hostN (port_name, node_name, symbolic_name, "
        "system_hostname, supported_speeds, supported_classes, tgtid_bind_type as its first "
        "word); value 1.",
        (
            *PORT,
            "wwnn",
            "symbolic_name",
            "system_hostname",
            "supported_speeds",
            "supported_classes",
            "tgtid_bind_type",
        ),
        tuple(
            FC + a
            for a in (
                "port_name",
                "node_name",
                "symbolic_name",
                "system_hostname",
                "supported_speeds",
                "supported_classes",
                "tgtid_bind_type",
            )
        ),
    )
)
PORT_ID = _d(
    gauge(
        "fctarget_fc_host_port_id",
        "fc_host port_id: the port's 24-bit FC address (domain, area, AL_PA) as a number; 0 while "
        "the port is not logged in.",
        PORT,
        (FC + "port_id",),
    )
)
FABRIC_INFO = _d(
    info(
        "fctarget_fc_host_fabric_info",
        "The fabric an Online port is attached to, from fc_host/hostN (fabric_name, port_type); "
        "value 1; absent while the port is not Online. fabric_name is empty when no switch is "
        "known (all ones).",
        (*PORT, "fabric_name", "port_type"),
        (FC + "fabric_name", FC + "port_type", FC + "port_state"),
    )
)
LINK_UP = _d(
    gauge(
        "fctarget_fc_host_link_up",
        "1 if fc_host port_state is Online, else 0.",
        PORT,
        (FC + "port_state",),
    )
)
PORT_STATE = _d(
    gauge(
        "fctarget_fc_host_port_state",
        "fc_host port_state, one series per state the FC transport defines (1 for the current "
        "one); a state this exporter does not know is added with value 1.",
        (*PORT, "state"),
        (FC + "port_state",),
    )
)
SPEED = _d(
    gauge(
        "fctarget_fc_host_speed_bytes_per_second",
        "Negotiated port speed in bytes per second from fc_host speed, nominal "
        "(16 Gbit = 16e9 / 8 = 2e9); absent while the speed is unknown (link down).",
        PORT,
        (FC + "speed", SCSI + "port_speed"),
        unit="bytes_per_second",
    )
)
DEV_LOSS_TMO = _d(
    gauge(
        "fctarget_fc_host_dev_loss_tmo_seconds",
        "fc_host dev_loss_tmo: seconds a lost remote port is kept before removal.",
        PORT,
        (FC + "dev_loss_tmo",),
        unit="seconds",
    )
)
NPIV_VPORTS_MAX = _d(
    gauge(
        "fctarget_fc_host_npiv_vports_max",
        "fc_host max_npiv_vports: NPIV virtual ports the HBA supports.",
        PORT,
        (FC + "max_npiv_vports",),
    )
)
NPIV_VPORTS_INUSE = _d(
    gauge(
        "fctarget_fc_host_npiv_vports_inuse",
        "fc_host npiv_vports_inuse: NPIV virtual ports in use.",
        PORT,
        (FC + "npiv_vports_inuse",),
    )
)
ADAPTER_INFO = _d(
    info(
        "fctarget_fc_host_adapter_info",
        "HBA identity from scsi_host/hostN (qla2xxx: model_name, model_desc, serial_num, "
        "fw_version, driver_version) or fc_host/hostN for other drivers; driver is scsi_host "
        "proc_name; value 1.",
        (
            *PORT,
            "driver",
            "model",
            "model_description",
            "serial_number",
            "firmware_version",
            "driver_version",
        ),
        (
            *(SCSI + a for a in ("proc_name", "model_name", "model_desc", "serial_num")),
            *(SCSI + a for a in ("fw_version", "driver_version")),
            *(FC + a for a in ("model", "model_description", "serial_number")),
            *(FC + a for a in ("firmware_version", "driver_version")),
        ),
    )
)
TOPOLOGY = _d(
    gauge(
        "fctarget_fc_host_topology",
        "The topology of a qla2xxx port whose scsi_host link_state is 'Link Up - <topology>' "
        "(Loop, FL_Port, N_Port to N_Port, F_Port), one series per topology (1 for the current "
        "one); absent while the link is not up.",
        (*PORT, "topology"),
        (SCSI + "link_state",),
    )
)
ISP_ABORTS = _d(
    counter(
        "fctarget_fc_host_isp_aborts",
        "qla2xxx ISP aborts (chip resets) since the driver loaded (scsi_host total_isp_aborts).",
        PORT,
        (SCSI + "total_isp_aborts",),
    )
)
TARGET_MODE_ACTIVE = _d(
    gauge(
        "fctarget_fc_host_target_mode_active",
        "1 if scsi_host active_mode includes Target (the port serves as a SCSI target).",
        PORT,
        (SCSI + "active_mode",),
    )
)
INITIATOR_MODE_ACTIVE = _d(
    gauge(
        "fctarget_fc_host_initiator_mode_active",
        "1 if scsi_host active_mode includes Initiator.",
        PORT,
        (SCSI + "active_mode",),
    )
)
FW_DUMP_SIZE = _d(
    gauge(
        "fctarget_fc_host_firmware_dump_size_bytes",
        "qla2xxx scsi_host fw_dump_size: bytes of a firmware dump held by the driver and not yet "
        "collected (0: none). A dump above 0 waits to be read from the device's fw_dump file.",
        PORT,
        (SCSI + "fw_dump_size",),
        unit="bytes",
    )
)
FW_DUMP_EVENTS = _d(
    counter(
        "fctarget_fc_host_firmware_dump_events",
        "qla2xxx FW_DUMP change uevents for this port since the exporter started (qla_os.c "
        "qla2x00_uevent_emit: the driver captured a firmware dump). Served only while the "
        "uevent monitor runs (udev netlink available).",
        PORT,
        ("uevent FW_DUMP=<host_no> on the PCI device",),
    )
)
FIRMWARE_STATE = _d(
    gauge(
        "fctarget_fc_host_firmware_state",
        "qla2xxx scsi_host fw_state word 0 (the firmware's FSTATE code, one series per known "
        "state, 1 for the current one: config_wait, wait_al_pa, wait_login, ready, loss_of_sync, "
        "error, reinit, non_participating). A firmware mailbox command: read with the "
        "statistics, at most every --collector.fc_host.stats-min-interval. Absent when the "
        "command failed.",
        (*PORT, "state"),
        (SCSI + "fw_state",),
    )
)
THERMAL = _d(
    gauge(
        "fctarget_fc_host_adapter_temperature_celsius",
        "qla2xxx scsi_host thermal_temp: the adapter's temperature sensor in degrees C. A "
        "firmware command: read with the statistics, at most every "
        "--collector.fc_host.stats-min-interval. Absent when the adapter has no sensor or the "
        "chip is down.",
        PORT,
        (SCSI + "thermal_temp",),
        unit="celsius",
    )
)
MIN_SPEED = _d(
    gauge(
        "fctarget_fc_host_min_supported_speed_bytes_per_second",
        "qla2xxx scsi_host min_supported_speed (ISP27xx/28xx: the lowest speed the firmware "
        "negotiates), bytes per second; absent on other adapters.",
        PORT,
        (SCSI + "min_supported_speed",),
        unit="bytes_per_second",
    )
)
MAX_SPEED = _d(
    gauge(
        "fctarget_fc_host_max_supported_speed_bytes_per_second",
        "qla2xxx scsi_host max_supported_speed (ISP27xx/28xx), bytes per second; absent on "
        "other adapters.",
        PORT,
        (SCSI + "max_supported_speed",),
        unit="bytes_per_second",
    )
)
STATS_AGE = _d(
    gauge(
        "fctarget_fc_host_stats_age_seconds",
        "Age in seconds of the fc_host statistics served (0 when read in this scrape; up to "
        "--collector.fc_host.stats-min-interval when a cached snapshot is served).",
        PORT,
        (FC + "statistics/*",),
        unit="seconds",
    )
)
ESCAPED_NAMES = _d(
    counter(
        "fctarget_fc_host_escaped_names",
        "fc_host statistics file names that were not valid UTF-8 and were served escaped (each "
        "bad byte as \\xNN) in fctarget_fc_host_other_statistic_total's file label, counted on "
        "every read of the statistics.",
        (),
        (FC + "statistics/*",),
    )
)
OTHER_STATISTIC = _d(
    counter(
        "fctarget_fc_host_other_statistic",
        "An fc_host statistics file this exporter declares no family for (a newer kernel or "
        "another driver), by file name. Omitted while the driver reports all ones.",
        (*PORT, "file"),
        (FC + "statistics/*",),
    )
)


# --- statistics/<file>: one family per file the FC transport defines -----------------------


@dataclass(frozen=True)
class Statistic:
    """How one `statistics/<file>` is served: its family and the factor to base units."""

    metric: Metric
    scale: float = 1.0


_OMITTED = " Omitted while the driver reports all ones (not supported, or the chip is down)."
_FCP_NOTE = (
    " Counts initiator I/O only (qla2xxx increments it in the initiator path), so it stays about"
    " zero on a target port; target traffic is in the LIO statistics (fctarget_lio_lun_*)."
)
# scsi_transport_fc.c fc_statistics_attrs[] and fc_fpin_*_statistics (6.1 = 6.12), kernel order;
# the HELP text of each ("" = the generic FPIN wording).
_STATS: tuple[tuple[str, str], ...] = (
    ("seconds_since_last_reset", "Seconds since the FC host statistics were last reset."),
    ("tx_frames", "FC frames transmitted."),
    ("tx_words", "FC words (4 bytes) transmitted."),
    ("rx_frames", "FC frames received."),
    ("rx_words", "FC words (4 bytes) received."),
    ("lip_count", "Loop initialisation primitives (LIP); rises on every link (re)initialisation."),
    ("nos_count", "Not-Operational primitive sequences (NOS) seen."),
    ("error_frames", "Frames received in error (qla2xxx: dropped plus discarded)."),
    ("dumped_frames", "Frames discarded (dumped)."),
    ("link_failure_count", "Link failures (firmware 32-bit counter on qla2xxx: wraps at 2^32)."),
    ("loss_of_sync_count", "Loss-of-synchronisation events."),
    ("loss_of_signal_count", "Loss-of-signal events."),
    ("prim_seq_protocol_err_count", "Primitive sequence protocol errors."),
    ("invalid_tx_word_count", "Invalid transmission words received."),
    ("invalid_crc_count", "Frames received with an invalid CRC."),
    ("fcp_input_requests", "FCP read requests." + _FCP_NOTE),
    ("fcp_output_requests", "FCP write requests." + _FCP_NOTE),
    ("fcp_control_requests", "FCP control requests." + _FCP_NOTE),
    ("fcp_input_megabytes", "FCP bytes read (the kernel reports MiB; converted)." + _FCP_NOTE),
    ("fcp_output_megabytes", "FCP bytes written (the kernel reports MiB; converted)." + _FCP_NOTE),
    ("fcp_packet_alloc_failures", "FCP packet allocation failures (libfc)." + _FCP_NOTE),
    ("fcp_packet_aborts", "FCP packet aborts (libfc)." + _FCP_NOTE),
    ("fcp_frame_alloc_failures", "FCP frame allocation failures (libfc)." + _FCP_NOTE),
    ("fc_no_free_exch", "Exchanges that could not be allocated (libfc)."),
    ("fc_no_free_exch_xid", "Exchange-id allocation failures (libfc)."),
    ("fc_xid_not_found", "Frames for an unknown exchange id (libfc)."),
    ("fc_xid_busy", "Exchange-id busy events (libfc)."),
    ("fc_seq_not_found", "Frames for an unknown sequence (libfc)."),
    ("fc_non_bls_resp", "Non-BLS responses (libfc)."),
    ("cn_sig_warn", "Congestion signal warnings received."),
    ("cn_sig_alarm", "Congestion signal alarms received."),
    ("fpin_dn", "FPIN delivery notifications received."),
    ("fpin_dn_unknown", ""),
    ("fpin_dn_timeout", ""),
    ("fpin_dn_unable_to_route", ""),
    ("fpin_dn_device_specific", ""),
    ("fpin_li", "FPIN link integrity notifications received."),
    ("fpin_li_failure_unknown", ""),
    ("fpin_li_link_failure_count", ""),
    ("fpin_li_loss_of_sync_count", ""),
    ("fpin_li_loss_of_signals_count", ""),
    ("fpin_li_prim_seq_err_count", ""),
    ("fpin_li_invalid_tx_word_count", ""),
    ("fpin_li_invalid_crc_count", ""),
    ("fpin_li_device_specific", ""),
    ("fpin_cn", "FPIN congestion notifications received."),
    ("fpin_cn_clear", ""),
    ("fpin_cn_lost_credit", ""),
    ("fpin_cn_credit_stall", ""),
    ("fpin_cn_oversubscription", ""),
    ("fpin_cn_device_specific", ""),
)


def _statistic(filename: str, text: str) -> Statistic:
    """Counter `fctarget_fc_host_<file minus _count>`; `*_megabytes` becomes `*_bytes` x 2^20;
    `seconds_since_last_reset` is the gauge `stats_reset_age_seconds`."""
    text = text or f"FPIN statistic {filename} (maintained by the FC transport)."
    doc = f"{text} Source: fc_host/hostN/statistics/{filename}.{_OMITTED}"
    sources = (FC + "statistics/" + filename,)
    if filename == "seconds_since_last_reset":
        name = "fctarget_fc_host_stats_reset_age_seconds"
        return Statistic(_d(gauge(name, doc, PORT, sources, unit="seconds")))
    if filename.endswith("_megabytes"):
        name = "fctarget_fc_host_" + filename.removesuffix("_megabytes") + "_bytes"
        return Statistic(_d(counter(name, doc, PORT, sources, unit="bytes")), float(1 << 20))
    name = "fctarget_fc_host_" + filename.removesuffix("_count")
    return Statistic(_d(counter(name, doc, PORT, sources)))


# statistics file name -> how it is served
STATISTICS: dict[str, Statistic] = {f: _statistic(f, text) for f, text in _STATS}
