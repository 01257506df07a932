"""Families of the hba collector: the qla2xxx HBA's PCI function (PCI/NUMA sysfs)."""

from __future__ import annotations

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, info


def _d(m: Metric) -> Metric:
    return declare("hba", m)


INFO = _d(
    info(
        "fctarget_hba_info",
        "qla2xxx FC port: PCI function, SCSI host, port/node WWN (colon form) and the NUMA node "
        "of the PCI function (-1 unknown), from sysfs.",
        ("pci", "host", "wwpn", "wwnn", "numa_node"),
        (
            "/sys/bus/pci/drivers/qla2xxx/<bdf>",
            "/sys/bus/pci/devices/<bdf>/numa_node",
            "/sys/bus/pci/devices/<bdf>/hostN",
            "/sys/class/fc_host/hostN/port_name",
            "/sys/class/fc_host/hostN/node_name",
        ),
    )
)
