"""qla2xxx HBA ports: PCI function, SCSI host, WWPN/WWNN and NUMA node (readers/pci.py)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from exporter.catalogue import hba as C
from exporter.collector import CollectorContext, Output, SnapshotCollector, register
from exporter.readers.pci import HbaMap, HbaMapCache, shared_cache
from exporter.readers.problems import Problems


@dataclass(frozen=True)
class HbaOptions:
    """--collector.hba.refresh-interval, shared by every collector that uses the HBA map."""

    refresh_interval: float = 60.0  # seconds; 0 = re-check every scrape

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> HbaOptions:
        return cls(refresh_interval=max(0.0, float(args.hba_refresh_interval)))


def hba_map(cache: HbaMapCache, problems: Problems) -> HbaMap:
    """The cached map; the problems met while building it fail every scrape it serves."""
    hmap = cache.get()
    problems.items.extend(hmap.problems)
    return hmap


@register
class HbaCollector(SnapshotCollector[HbaMap]):
    name = "hba"
    description = "qla2xxx HBA ports: PCI function, SCSI host, WWPN, NUMA node"

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        default = HbaOptions.refresh_interval
        group.add_argument(
            "--collector.hba.refresh-interval",
            dest="hba_refresh_interval",
            type=float,
            default=default,
            metavar="SECONDS",
            help="how often to re-check the PCI/SCSI host layout of qla2xxx HBAs when no kernel "
            f"uevent announced a change (directory listings only; default {default:g}); also "
            "used by the interrupts collector",
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.options = HbaOptions.from_args(ctx.args)
        self.cache: HbaMapCache = shared_cache(ctx.paths, self.options.refresh_interval)

    async def start(self) -> None:
        self.cache.start_watching()

    async def stop(self) -> None:
        self.cache.stop_watching()

    def read(self, problems: Problems) -> HbaMap:
        return hba_map(self.cache, problems)

    def emit(self, snapshot: HbaMap, out: Output) -> None:
        ports = out.family(C.INFO)
        for fn in snapshot.functions:
            for h in fn.hosts:
                ports.add([fn.pci, h.name, h.wwpn, h.wwnn, str(fn.numa_node)], 1)
