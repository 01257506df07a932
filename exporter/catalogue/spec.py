"""The declaration of one metric family: the product's public API, written down once.

Every family the exporter serves is a `Metric` in one of the modules of this package (one per
collector). Collectors emit only through these declarations (`Output.family`), docs/metrics.md is
generated from them, and the tests check dashboards and rules against them.

Naming rule (see docs/metrics.md): `fctarget_<subsystem>_<what>[_<unit>][_total|_info]`, where the
subsystem is the one the operator thinks in and names the collector that serves the family:
`fc_host` (FC port: transport and qla2xxx sysfs), `fc_vport` (NPIV vports), `sfp` (the
port's optical module), `hba` (the HBA's PCI function), `irq` (the HBA's MSI-X vectors), `kmsg`
(the kernel log), `lio` (LIO target objects), `qla2xxx` (the qla2xxx target engine, from debugfs),
`scsi` (the SCSI commands LIO answers, from its tracepoints; collector scsi_latency),
`scrape`/`exporter` (the exporter itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "info", "histogram"]

# Base units as node_exporter and the Prometheus naming guide spell them; a family whose unit is
# set must end in it (before _total).
UNITS = (
    "seconds",
    "bytes",
    "bytes_per_second",
    "celsius",
    "volts",
    "amperes",
    "watts",
    "meters",
    "ratio",
)

# The subsystem prefix each collector serves under.
PREFIXES: dict[str, tuple[str, ...]] = {
    "fc_host": ("fctarget_fc_host_",),
    "fc_vport": ("fctarget_fc_vport_",),
    "hba": ("fctarget_hba_",),
    "interrupts": ("fctarget_irq_",),
    "kmsg": ("fctarget_kmsg_",),
    "lio": ("fctarget_lio_",),
    "qla2xxx": ("fctarget_qla2xxx_",),
    "scsi_latency": ("fctarget_scsi_",),
    "scrape": ("fctarget_scrape_", "fctarget_exporter_"),
    "sfp": ("fctarget_sfp_",),
}

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_LABEL = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Metric:
    """One family. `name` is the family name as served; counters are declared without `_total`
    (the exposition adds it), info families end in `_info` and always have the value 1."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...]
    sources: tuple[str, ...]  # the kernel file(s) it is read from, as a path pattern
    collector: str
    unit: str = ""

    @property
    def sample_name(self) -> str:
        """The name of its samples in the exposition."""
        return self.name + "_total" if self.kind == "counter" else self.name

    @property
    def prom_type(self) -> str:
        return self.kind if self.kind in ("counter", "histogram") else "gauge"

    def check(self) -> None:
        """Raise ValueError when the declaration breaks the naming rule."""
        problems = []
        if not _NAME.match(self.name) or self.name.endswith("_total"):
            problems.append("name must be snake_case, without _total")
        prefixes = PREFIXES.get(self.collector)
        if prefixes is None:
            problems.append(f"unknown collector {self.collector!r}")
        elif not self.name.startswith(prefixes):
            problems.append(f"{self.collector} families start with {' or '.join(prefixes)}")
        if (self.kind == "info") != self.name.endswith("_info"):
            problems.append("info families, and only they, end in _info")
        if self.unit and (self.unit not in UNITS or not self.name.endswith("_" + self.unit)):
            problems.append(f"unit {self.unit!r} must be one of {UNITS} and end the name")
        if not self.unit and any(self.name.endswith("_" + u) for u in UNITS):
            problems.append("the name ends in a unit: declare it")
        if len(set(self.labels)) != len(self.labels) or not all(map(_LABEL.match, self.labels)):
            problems.append("labels must be unique snake_case names")
        if not self.help or not self.help.endswith("."):
            problems.append("help is one or more sentences ending in a full stop")
        if self.kind == "histogram" and "le" in self.labels:
            problems.append("a histogram's le label is the exposition's, not a declared one")
        if not self.sources:
            problems.append("sources: name the kernel file(s) it comes from")
        if problems:
            raise ValueError(f"{self.name}: {'; '.join(problems)}")


def counter(
    name: str, help: str, labels: tuple[str, ...], sources: tuple[str, ...], *, unit: str = ""
) -> Metric:
    """A counter whose collector is filled in by `declare`."""
    return Metric(name, "counter", help, labels, sources, "", unit)


def gauge(
    name: str, help: str, labels: tuple[str, ...], sources: tuple[str, ...], *, unit: str = ""
) -> Metric:
    return Metric(name, "gauge", help, labels, sources, "", unit)


def histogram(
    name: str, help: str, labels: tuple[str, ...], sources: tuple[str, ...], *, unit: str
) -> Metric:
    """A classic histogram (cumulative `_bucket{le}`, `_sum`, `_count`)."""
    return Metric(name, "histogram", help, labels, sources, "", unit)


def info(name: str, help: str, labels: tuple[str, ...], sources: tuple[str, ...]) -> Metric:
    return Metric(name, "info", help, labels, sources, "")
