"""Families of the fc_vport collector: NPIV virtual ports from `/sys/class/fc_vports`."""

from __future__ import annotations

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, gauge, info


def _d(m: Metric) -> Metric:
    return declare("fc_vport", m)


VP = "/sys/class/fc_vports/vport-H:C-N/"
# The parent (physical) port's labels, as fc_host serves them, plus the vport's name and its
# WWPN as `target`, the name LIO's qla2xxx_npiv fabric serves it under (so the vport joins its
# LIO target families).
VPORT = ("pci", "host", "wwpn", "vport", "target")

INFO = _d(
    info(
        "fctarget_fc_vport_info",
        "An NPIV virtual port (fc_vports/vport-H:C-N): its parent port (pci, host, wwpn), its "
        "own port name as target (colon form, as the qla2xxx_npiv LIO fabric is labelled), its "
        "node name, and vport_host, the Scsi_Host the driver created for it (its fc_host "
        "families carry host=vport_host); value 1.",
        (*VPORT, "wwnn", "vport_host"),
        (VP + "port_name", VP + "node_name"),
    )
)
STATE = _d(
    gauge(
        "fctarget_fc_vport_state",
        "vport_state, one series per state of the FC transport's fc_vport_state_names (1 for "
        "the current one): Unknown, Active, Disabled, Linkdown, Initializing, No Fabric "
        "Support, No Fabric Resources, Fabric Logout, Fabric Rejected WWN, VPort Failed; a "
        "state this exporter does not know is added with value 1.",
        (*VPORT, "state"),
        (VP + "vport_state",),
    )
)
ACTIVE = _d(
    gauge(
        "fctarget_fc_vport_active",
        "1 if vport_state is Active (logged in to the fabric), else 0.",
        VPORT,
        (VP + "vport_state",),
    )
)
