"""SFP optics: the port's module identity and SFF-8472 diagnostics, beside the module's own
alarm and warning thresholds, from the qla2xxx `sfp` sysfs file.

Off by default: reading the file needs CAP_SYS_ADMIN (and read access to a 0600 root file), and
each read makes the firmware issue eight I2C reads to the module. All reading is
exporter/readers/sfp.py through the cache owned here (`--collector.sfp.cache-interval`,
minutes); this module maps the snapshot to the families of exporter/catalogue/sfp.py.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from exporter.catalogue import sfp as C
from exporter.collector import CollectorContext, Output, SnapshotCollector, register
from exporter.readers.problems import Problems
from exporter.readers.sfp import SfpCache, SfpPort, SfpSnapshot, read_sfp


def positive_minutes(text: str) -> float:
    """A finite number of minutes, more than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: minutes must be finite and more than zero")
    return value


positive_minutes.__name__ = "minutes"


@dataclass(frozen=True)
class SfpOptions:
    cache_interval_minutes: float = 10.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SfpOptions:
        return cls(cache_interval_minutes=float(args.sfp_cache_interval))


@register
class SfpCollector(SnapshotCollector[SfpSnapshot]):
    name = "sfp"
    description = (
        "SFP optics from the qla2xxx sfp file: module identity, temperature, voltage, TX bias, "
        "TX/RX power and the module's thresholds (needs CAP_SYS_ADMIN)"
    )
    default_enabled = False

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        default = SfpOptions.cache_interval_minutes
        group.add_argument(
            "--collector.sfp.cache-interval",
            dest="sfp_cache_interval",
            type=positive_minutes,
            default=default,
            metavar="MINUTES",
            help=(
                "re-read a port's SFP module (eight firmware I2C reads) at most this often; "
                f"scrapes in between get the cached values (default {default:g})"
            ),
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.options = SfpOptions.from_args(ctx.args)
        self.cache = SfpCache(self.options.cache_interval_minutes * 60.0)

    def read(self, problems: Problems) -> SfpSnapshot:
        return read_sfp(self.ctx.paths, problems, self.cache)

    def emit(self, snapshot: SfpSnapshot, out: Output) -> None:
        for port in snapshot.ports:
            _emit_port(out, port, snapshot.taken)


def _emit_port(out: Output, port: SfpPort, now: float) -> None:
    module = port.read.module
    if module is None:
        return
    labels = [port.pci, port.host, port.wwpn]
    calibration = "external" if module.external_calibration else "internal"
    identity = [module.identifier, module.vendor, module.part_number, module.revision]
    out.family(C.INFO).add([*labels, *identity, module.serial_number, calibration], 1)
    out.family(C.AGE).add(labels, max(0.0, now - port.read.taken))
    if module.wavelength_nm is not None:
        out.family(C.WAVELENGTH).add(labels, module.wavelength_nm * 1e-9)
    for name, measurement in module.diagnostics.items():
        families = C.DIAGNOSTICS[name]
        out.family(families.value).add(labels, measurement.value)
        thresholds = out.family(families.threshold)
        for threshold, value in measurement.thresholds:
            thresholds.add([*labels, threshold], value)
