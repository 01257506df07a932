"""Families of the sfp collector: the port's SFP module from the qla2xxx `sfp` sysfs file
(SFF-8472 A0h identity, A2h diagnostics and the module's own thresholds)."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, gauge, info


def _d(m: Metric) -> Metric:
    return declare("sfp", m)


SFP = "/sys/class/scsi_host/hostN/device/sfp"
PORT = ("pci", "host", "wwpn")
_CACHED = (
    " Read at most every --collector.sfp.cache-interval minutes (eight firmware commands per"
    " read); absent while the module reports no diagnostics."
)

INFO = _d(
    info(
        "fctarget_sfp_info",
        "The port's SFP module (SFF-8472 A0h page): identifier, vendor name, part number, "
        "revision, serial number; calibration is internal or external (A0h byte 92); value 1.",
        (
            *PORT,
            "identifier",
            "vendor",
            "part_number",
            "revision",
            "serial_number",
            "calibration",
        ),
        (SFP,),
    )
)
WAVELENGTH = _d(
    gauge(
        "fctarget_sfp_wavelength_meters",
        "Nominal laser wavelength of the module (A0h bytes 60-61, nm; 850e-9 for SWL); absent "
        "for copper modules.",
        PORT,
        (SFP,),
        unit="meters",
    )
)
AGE = _d(
    gauge(
        "fctarget_sfp_read_age_seconds",
        "Age in seconds of the SFP data served (0 when read in this scrape; up to "
        "--collector.sfp.cache-interval when a cached read is served).",
        PORT,
        (SFP,),
        unit="seconds",
    )
)


@dataclass(frozen=True)
class Diagnostic:
    """One SFF-8472 measurement: its value family and its thresholds family."""

    value: Metric
    threshold: Metric


def _diagnostic(what: str, doc: str, unit: str) -> Diagnostic:
    base = f"fctarget_sfp_{what}"
    value = _d(gauge(f"{base}_{unit}", f"{doc}{_CACHED}", PORT, (SFP,), unit=unit))
    threshold = _d(
        gauge(
            f"{base}_threshold_{unit}",
            f"The module's own alarm and warning limits for {what.replace('_', ' ')} (A2h bytes "
            "0-39, calibrated like the value), by threshold: high_alarm, low_alarm, "
            f"high_warning, low_warning.{_CACHED}",
            (*PORT, "threshold"),
            (SFP,),
            unit=unit,
        )
    )
    return Diagnostic(value, threshold)


# sff8472.MEASUREMENTS name -> families
DIAGNOSTICS: dict[str, Diagnostic] = {
    "temperature": _diagnostic(
        "temperature", "Module temperature (A2h bytes 96-97, 1/256 degC).", "celsius"
    ),
    "voltage": _diagnostic(
        "supply_voltage", "Module supply voltage Vcc (A2h bytes 98-99, 100 uV).", "volts"
    ),
    "bias": _diagnostic("tx_bias", "Laser bias current (A2h bytes 100-101, 2 uA).", "amperes"),
    "tx_power": _diagnostic(
        "tx_power", "Transmitted optical power (A2h bytes 102-103, 0.1 uW).", "watts"
    ),
    "rx_power": _diagnostic(
        "rx_power", "Received optical power (A2h bytes 104-105, 0.1 uW).", "watts"
    ),
}
