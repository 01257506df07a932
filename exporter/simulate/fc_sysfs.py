"""Writer: the SCSI host of each HBA port in sysfs, its `scsi_host` and `fc_host` attributes.

`<pci function>/hostN/scsi_host/hostN` carries the qla2xxx extras (drivers/scsi/qla2xxx/
qla_attr.c), `<pci function>/hostN/fc_host/hostN` the FC transport attributes and statistics
(drivers/scsi/scsi_transport_fc.c), each linked from `class/scsi_host` and `class/fc_host`.
"""

from __future__ import annotations

from exporter.parsers.fc_host import (
    ALL_ONES,
    FC_STAT_FILES,
    PORT_STATE_LINKDOWN,
    PORT_STATE_ONLINE,
    QLA2XXX_UNFILLED_STATS,
)
from exporter.simulate.model import FW_VERSION, QLA_VERSION, Port
from exporter.simulate.tree import Tree

FW_SHORT = "v9.06.02"
# Write-only attributes: an inode of their own with mode 0200 (created once, at build time).
_FC_HOST_WRITE_ONLY = ("issue_lip", "vport_create", "vport_delete")


def host_dir(port: Port) -> str:
    """`sys/devices/<pci function>/hostN` of a port."""
    return f"sys/devices/{port.devpath}/{port.host}"


def build_host(tree: Tree, port: Port) -> None:
    """The SCSI host directories of one port, their class links and attributes."""
    h = port.host
    dev = host_dir(port)
    tree.mkdir("sys/class/scsi_host")
    tree.mkdir("sys/class/fc_host")
    tree.mkdir(f"{dev}/scsi_host/{h}")
    tree.mkdir(f"{dev}/fc_host/{h}/statistics")
    tree.symlink(f"sys/class/scsi_host/{h}", f"../../devices/{port.devpath}/{h}/scsi_host/{h}")
    tree.symlink(f"sys/class/fc_host/{h}", f"../../devices/{port.devpath}/{h}/fc_host/{h}")
    write_port_state(tree, port)


def write_port_state(tree: Tree, port: Port) -> None:
    """scsi_host (qla_attr.c) and fc_host (scsi_transport_fc.c) attributes of one port."""
    dev = host_dir(port)
    tree.files(f"{dev}/scsi_host/{port.host}", _scsi_host_files(port))
    fc = f"{dev}/fc_host/{port.host}"
    tree.files(fc, _fc_host_files(port))
    if not tree.built:
        for name in _FC_HOST_WRITE_ONLY:
            tree.write_special(f"{fc}/{name}", "", 0o200)
    tree.files(f"{fc}/statistics", _statistics_files(port))
    if not tree.built:
        tree.write_special(f"{fc}/statistics/reset_statistics", "", 0o200)


def _scsi_host_files(port: Port) -> dict[str, str]:
    up = port.link_up
    return {
        "proc_name": "qla2xxx\n",
        "unique_id": f"{port.host_no}\n",
        "active_mode": "Target\n",
        "supported_mode": "Initiator, Target\n",
        "host_busy": "0\n",
        "can_queue": "3872\n",
        # qla_attr.c qla2x00_link_state_show()
        "link_state": "Link Up - F_Port\n" if up else "Link Down\n",
        "total_isp_aborts": f"{port.isp_aborts}\n",
        "model_name": "QLE2692\n",
        "model_desc": "QLogic 2-port 16Gb Fibre Channel Adapter\n",
        "isp_name": "ISP2261\n",
        "isp_id": "0000 0000 0000 0000\n",
        "fw_version": f"{FW_VERSION}\n",
        "serial_num": f"RFD1817L{45080 + port.card:05d}\n",
        "port_speed": f"{port.speed_gbit}\n" if up else "Unknown\n",
        "driver_version": f"{QLA_VERSION}\n",
        "fw_state": "0x3 0x0 0x0 0x0 0x0 0x0\n" if up else "0x7 0x0 0x0 0x0 0x0 0x0\n",
        "thermal_temp": "44\n",
    }


def _fc_host_files(port: Port) -> dict[str, str]:
    """scsi_transport_fc.c formats: names "0x%llx", port_id "0x%06x"."""
    up = port.link_up
    return {
        "node_name": f"0x{port.wwnn:x}\n",
        "port_name": f"0x{port.wwpn:x}\n",
        "port_id": f"0x{port.port_id if up else 0:06x}\n",
        "port_type": "NPort (fabric via point-to-point)\n",
        "port_state": f"{PORT_STATE_ONLINE if up else PORT_STATE_LINKDOWN}\n",
        "speed": f"{port.speed_gbit} Gbit\n" if up else "unknown\n",
        "supported_speeds": "4 Gbit, 8 Gbit, 16 Gbit\n",
        "supported_classes": "Class 3\n",
        "fabric_name": f"0x{port.fabric_name:x}\n",
        "symbolic_name": f"QLE2692 FW:{FW_SHORT} DVR:v{QLA_VERSION}\n",
        "system_hostname": "\n",
        "dev_loss_tmo": "30\n",
        "tgtid_bind_type": "wwpn (World Wide Port Name)\n",
        "max_npiv_vports": "254\n",
        "npiv_vports_inuse": f"{1 if port.index == 0 else 0}\n",  # simulate/fc_vports.py
    }


def _statistics_files(port: Port) -> dict[str, str]:
    """`statistics/*`: "0x%llx\\n"; what qla2xxx never fills stays all ones."""
    stats = {}
    for name in FC_STAT_FILES:
        value = ALL_ONES if name in QLA2XXX_UNFILLED_STATS else port.stats[name]
        stats[name] = f"0x{value:x}\n"
    return stats
