"""qla2xxx HBA ports (PCI function, SCSI host, WWPN, NUMA node, firmware) and the CPU->NUMA map."""

from __future__ import annotations

import argparse

from exporter.collector import CollectorContext, Output, ThreadedCollector, register
from exporter.hba_map import DEFAULT_REFRESH_SECONDS, HbaMap, HbaMapCache, shared_cache


def refresh_interval(args: argparse.Namespace) -> float:
    """--collector.hba.refresh-interval, shared by every collector that uses the HBA map."""
    value = getattr(args, "hba_refresh_interval", DEFAULT_REFRESH_SECONDS)
    return max(0.0, float(value))


def report_problems(out: Output, hmap: HbaMap) -> None:
    for key, message in hmap.problems:
        out.error(key, message)


@register
class HbaCollector(ThreadedCollector):
    name = "hba"
    description = (
        "qla2xxx HBA ports: PCI function, SCSI host, WWPN, NUMA node, firmware; CPU NUMA map"
    )

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--collector.hba.refresh-interval",
            dest="hba_refresh_interval",
            type=float,
            default=DEFAULT_REFRESH_SECONDS,
            metavar="SECONDS",
            help="how often to re-check the PCI/SCSI host layout of qla2xxx HBAs when no kernel "
            "uevent announced a change (directory listings only; default "
            f"{DEFAULT_REFRESH_SECONDS:g}); also used by the interrupts collector",
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.cache: HbaMapCache = shared_cache(ctx.paths, refresh_interval(ctx.args))

    async def start(self) -> None:
        self.cache.start_watching()

    async def stop(self) -> None:
        self.cache.stop_watching()

    def collect_blocking(self, out: Output) -> None:
        hmap = self.cache.get()
        report_problems(out, hmap)
        ports = out.info(
            "fctarget_port_info",
            "qla2xxx FC port: PCI function, SCSI host, port/node WWN (colon form), NUMA node of "
            "the PCI function (-1 unknown), model, firmware and driver version (sysfs).",
            ["pci", "host", "wwpn", "wwnn", "numa_node", "model", "firmware_version",
             "driver_version"],
        )  # fmt: skip
        for fn in hmap.functions:
            for h in fn.hosts:
                ports.add(
                    [fn.pci, h.name, h.wwpn, h.wwnn, str(fn.numa_node), h.model,
                     h.firmware_version, h.driver_version],
                    1,
                )  # fmt: skip
        cpus = out.info(
            "fctarget_cpu_info",
            "NUMA node of each online CPU (sysfs devices/system/node; -1 when unknown).",
            ["cpu", "numa_node"],
        )
        topo = hmap.topology
        for cpu in topo.cpus:
            cpus.add([str(cpu), str(topo.node_of(cpu))], 1)
