"""Dashboard row "Optics, firmware dumps and NPIV (selected ports)": the SFP's RX/TX power and
temperature beside the module's own warning thresholds (sfp collector, off by default: the row
is empty without it), the bias current, waiting firmware dumps and NPIV vport state."""

from __future__ import annotations

from dashboards import queries as q
from dashboards.panels import GREEN, RED, YELLOW, query, stat, thresholds, timeseries
from dashboards.rows_host import Panels


def optics() -> Panels:
    return [
        timeseries(
            "SFP RX / TX power",
            "Optical power received and sent by each port's SFP (SFF-8472 diagnostics), with "
            "the module's own RX low-warning threshold: FCTargetSFPRxPowerLow fires when RX "
            "stays below it for 10 minutes. Needs the sfp collector (CAP_SYS_ADMIN).",
            "watt",
            [
                query(q.SFP_RX_POWER, "{{host}} RX"),
                query(q.SFP_RX_LOW_WARNING, "{{host}} RX low warning"),
                query(q.SFP_TX_POWER, "{{host}} TX"),
            ],
            calcs=("lastNotNull", "min"),
        )
        .span(8)
        .height(8),
        timeseries(
            "SFP temperature",
            "Module temperature with its own high-warning threshold (FCTargetSFPTemperatureHigh).",
            "celsius",
            [
                query(q.SFP_TEMPERATURE, "{{host}}"),
                query(q.SFP_TEMP_HIGH_WARNING, "{{host}} high warning"),
            ],
        )
        .span(8)
        .height(8),
        timeseries(
            "SFP laser bias",
            "TX bias current: a laser that needs more current for the same power is ageing.",
            "amp",
            [query(q.SFP_BIAS, "{{host}}")],
        )
        .span(8)
        .height(8),
        stat(
            "Firmware dump waiting",
            "qla2xxx fw_dump_size per port: above 0, a firmware dump waits to be collected "
            "(FCTargetFirmwareDumpWaiting).",
            "bytes",
            [query(q.FW_DUMP_SIZE, "{{host}}")],
            thresholds((None, GREEN), (1, RED)),
        )
        .span(12)
        .height(5),
        stat(
            "NPIV vports Active",
            "1 while an NPIV vport is logged in to the fabric (FCTargetVportNotActive), by vport "
            "WWPN (the qla2xxx_npiv LIO target).",
            "short",
            [query(q.VPORT_ACTIVE, "{{host}} {{target}}")],
            thresholds((None, YELLOW), (1, GREEN)),
        )
        .span(12)
        .height(5),
    ]
