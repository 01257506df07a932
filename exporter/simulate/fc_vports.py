"""Writer: NPIV vports of the FC transport (drivers/scsi/scsi_transport_fc.c fc_vport_setup and
the vport attributes), `class/fc_vports/vport-H:C-N` -> `.../<pci>/hostH/vport-H:C-N`.

The simulated vport is one per host on port 0 (as `echo wwpn:wwnn > vport_create` makes it), in
the state `SimVport.state` (a name of exporter.parsers.qla_host.VPORT_STATES). Its own Scsi_Host
is written as the empty `hostM` directory below the vport device only: the simulator does not
model it as an FC port of its own (no class/fc_host or class/scsi_host link).
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.parsers.qla_host import VPORT_ACTIVE
from exporter.simulate.model import Port
from exporter.simulate.tree import Tree


@dataclass
class SimVport:
    parent: Port
    number: int
    host_no: int  # the vport's own Scsi_Host
    wwpn: int
    wwnn: int
    state: str = VPORT_ACTIVE
    last_state: str = "Initializing"

    @property
    def name(self) -> str:
        return f"vport-{self.parent.host_no}:0-{self.number}"

    @property
    def devdir(self) -> str:
        return f"sys/devices/{self.parent.devpath}/{self.parent.host}/{self.name}"


def make_vport(parent: Port, host_no: int) -> SimVport:
    """The first vport of `parent`: WWPN in the NPIV range the switch expects (NAA 2)."""
    wwpn = 0x2001000E1E0A5B00 | parent.index
    return SimVport(parent, 0, host_no, wwpn, wwpn - 0x0001000000000000)


def write_vport(tree: Tree, vport: SimVport) -> None:
    """The vport device, its attributes ("%s\\n" states, "0x%llx\\n" names) and class link."""
    d = vport.devdir
    tree.mkdir(f"{d}/host{vport.host_no}")
    tree.files(
        d,
        {
            "vport_state": f"{vport.state}\n",
            "vport_last_state": f"{vport.last_state}\n",
            "port_name": f"0x{vport.wwpn:x}\n",
            "node_name": f"0x{vport.wwnn:x}\n",
            "roles": "FCP Target\n",
            "vport_type": "NPIV VPORT\n",
            "symbolic_name": "\n",
        },
    )
    tree.mkdir("sys/class/fc_vports")
    tree.symlink(f"sys/class/fc_vports/{vport.name}", "../../" + d.removeprefix("sys/"))


def set_state(tree: Tree, vport: SimVport, state: str) -> None:
    vport.last_state, vport.state = vport.state, state
    write_vport(tree, vport)
