"""The simulated FC target host: a LIO target on qla2xxx HBAs, written as a real-layout tree.

`SimulatedHost(root, params).build()` writes `<root>/proc`, `<root>/sys` (with configfs at
`<root>/sys/kernel/config`) and `<root>/dev/kmsg` in the byte formats of a Linux 6.1 host
(shared/reference/KERNEL-FORMATS.md; the configfs files mirror the real 6.1 dump in
shared/reference/real-kernel-6.1/configfs-dump.txt, for the qla2xxx fabric). `advance(seconds)`
then moves the clock: SCSI I/O per initiator and LUN, interrupt counts, fc_host statistics,
automatic link flaps and their kernel log records.

This class is the facade; the parts live in their own modules:
- `model`: the state (`SimParams`, ports, vectors, LUNs, initiators, clock);
- one writer per kernel source: `fc_sysfs` (scsi_host / fc_host), `qla_attr` (the binary
  `sfp` file, fw_dump_size, supported speeds), `fc_vports` (NPIV vports), `pci_numa` (PCI functions,
  MSI-X, CPU / NUMA topology, module parameters), `configfs_core` and `configfs_fabric` (LIO
  backstores and the tcm_qla2xxx tree), `proc_interrupts` (/proc/interrupts, /proc/irq/N),
  `dev_kmsg` (/dev/kmsg records), `qla_debugfs` (qla2xxx debugfs, two kernel eras);
- `scenario`: what happens over time (`advance`, flaps, logins, re-pinning, the demo);
- `tree`: how files are written (pooled at build, atomically replaced afterwards, so a
  concurrent scrape sees the old or the new content, never a partial one).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from exporter.parsers.kmsg import FACILITY_KERNEL
from exporter.paths import HostPaths
from exporter.simulate import (
    configfs_core,
    configfs_fabric,
    fc_sysfs,
    fc_vports,
    pci_numa,
    proc_interrupts,
    qla_attr,
)
from exporter.simulate.dev_kmsg import KmsgLog
from exporter.simulate.model import (
    Acl,
    Backstore,
    Lun,
    Mapped,
    Port,
    SimParams,
    Vector,
    make_model,
)
from exporter.simulate.qla_debugfs import QlaPortState
from exporter.simulate.scenario import DEMO_PARAMS, Scenario
from exporter.simulate.tree import Tree

_DEFAULT_PARAMS = SimParams()
DEMO_FW_DUMP_AFTER = 300.0  # `--demo`: port 1's firmware dumps this many seconds after start
DEMO_FW_DUMP_SIZE = 0x28A4C0  # bytes (an ISP27xx dump is a few MiB)


class SimulatedHost:
    """A qla2xxx/LIO FC target host written under `root` (see the module docstring)."""

    def __init__(self, root: str, params: SimParams = _DEFAULT_PARAMS) -> None:
        params.check()
        self.root = os.path.abspath(root)
        self.params = params
        self.paths = HostPaths(
            procfs=os.path.join(self.root, "proc"),
            sysfs=os.path.join(self.root, "sys"),
            configfs=os.path.join(self.root, "sys", "kernel", "config"),
            kmsg=os.path.join(self.root, "dev", "kmsg"),
            debugfs=os.path.join(self.root, "sys", "kernel", "debug"),
        )
        self.model = make_model(params)
        self._tree = Tree(self.root)
        self._kmsg = KmsgLog(self.paths.kmsg, self.model)
        self._scenario = Scenario(self._tree, self.model, self._kmsg)
        self.extras = qla_attr.make_extras(self.model.ports)
        self.vports = [fc_vports.make_vport(self.model.ports[0], 6 + params.ports)]
        self.fw_dump_at: tuple[float, int] | None = None  # (simulated time, port): a dump due

    @classmethod
    def demo(cls, root: str) -> SimulatedHost:
        """A lively default host for `--demo`: each port flaps every 2 minutes (LIP debug lines
        on), port 1's interrupts all land on one CPU, and one ACL's initiator is logged out."""
        host = cls(root, DEMO_PARAMS)
        host.build()
        host.fw_dump_at = (host.now + DEMO_FW_DUMP_AFTER, 1)
        host._scenario.demo()
        return host

    # ------------------------------------------------------------------ state

    @property
    def built(self) -> bool:
        return self._tree.built

    @property
    def now(self) -> float:
        """Simulated seconds since boot."""
        return self.model.now

    @now.setter
    def now(self, value: float) -> None:
        self.model.now = value

    @property
    def kmsg_seq(self) -> int:
        return self.model.kmsg_seq

    @property
    def ports(self) -> list[Port]:
        return self.model.ports

    @property
    def backstores(self) -> list[Backstore]:
        return self.model.backstores

    @property
    def cpus(self) -> list[int]:
        return self.model.cpus

    @property
    def node_cpus(self) -> list[list[int]]:
        return self.model.node_cpus

    @property
    def numa_nodes(self) -> int:
        return self.model.numa_nodes

    @property
    def port_spread(self) -> dict[int, str]:
        return self.model.port_spread

    # ------------------------------------------------------------ accessors

    def port(self, index: int) -> Port:
        return self.model.ports[index]

    def lun(self, port: int, lun: int) -> Lun:
        return self.model.lun(port, lun)

    def acl(self, port: int, initiator: int) -> Acl:
        return self.model.ports[port].acls[initiator]

    def port_dir(self, port: int) -> str:
        """`<sysfs>/devices/.../<bdf>` of a port."""
        return self.paths.sys("devices", self.model.ports[port].devpath)

    def tpg_dir(self, port: int) -> str:
        return self.paths.target("qla2xxx", self.model.ports[port].wwpn_colon, "tpgt_1")

    def vectors(self) -> Iterator[Vector]:
        return self.model.vectors()

    def iter_mapped(self) -> Iterable[tuple[Port, Acl, Mapped]]:
        for port in self.model.ports:
            for acl in port.acls:
                for m in acl.mapped:
                    yield port, acl, m

    def qla_state(self, port: int) -> QlaPortState:
        """The qla2xxx driver state behind the debugfs files of a port (simulate/qla_debugfs)."""
        return self._scenario.qla.state[port]

    # ---------------------------------------------------------------- build

    def build(self) -> None:
        """Write the complete tree under `root` (replacing an earlier one)."""
        tree, model = self._tree, self.model
        tree.reset(("proc/irq", "sys/kernel/config/target", "dev"))
        pci_numa.build_topology(tree, model)
        proc_interrupts.write_default_affinity(tree, model)
        for port in model.ports:
            pci_numa.build_function(tree, model, port)
            fc_sysfs.build_host(tree, port)
            qla_attr.write_port(tree, port, self.extras[port.index])
        for vport in self.vports:
            fc_vports.write_vport(tree, vport)
        pci_numa.build_modules(tree, self.params)
        self._scenario.qla.build()
        configfs_core.build_core(tree, model)
        configfs_fabric.build_fabric(tree, model)
        for bs in model.backstores:
            configfs_core.write_backstore_stats(tree, bs)
        proc_interrupts.build_irq_dirs(tree, model)
        proc_interrupts.write_interrupts(tree, model)
        open(self.paths.kmsg, "w").close()
        self._kmsg.boot()
        tree.built = True

    # ---------------------------------------------------------------- events

    def kmsg_write(
        self,
        message: str,
        level: int = 6,
        facility: int = FACILITY_KERNEL,
        dictionary: dict[str, str] | None = None,
    ) -> None:
        """Append one /dev/kmsg record at the current simulated time.

        facility 0 = kernel; what user space writes to /dev/kmsg carries facility 1.
        `dictionary` adds ` KEY=value` continuation lines (dev_printk: SUBSYSTEM, DEVICE)."""
        self._kmsg.write(message, level, facility, dictionary)

    def _running(self) -> Scenario:
        """The scenario that changes the host; events need the built tree."""
        if not self._tree.built:
            raise RuntimeError("SimulatedHost.build() has not run")
        return self._scenario

    def link_down(self, port: int) -> None:
        """Cable pull: LOOP DOWN record, port Linkdown, every session of the port gone."""
        self._running().link_down(port)

    def link_up(self, port: int) -> None:
        """Link back: (LIP debug lines,) LOOP UP record, sessions of logged-in ACLs back."""
        self._running().link_up(port)

    def flap(self, port: int) -> None:
        """Link down and up again at once (records 1 ms apart)."""
        self._running().flap(port)

    def set_irq_spread(self, mode: str, port: int | None = None) -> None:
        """Re-pin the HBA vectors of every port (or of one port) to "balanced", "skewed" (all
        on one CPU) or "remote_numa" (CPUs of another NUMA node); counts so far stay where
        they are, new interrupts go to the new effective CPU."""
        self._running().set_irq_spread(mode, port)

    def logout(self, port: int, initiator: int) -> None:
        """The initiator's session ends (its ACL and mapped LUNs stay)."""
        self._running().set_login(port, initiator, False)

    def login(self, port: int, initiator: int) -> None:
        """The initiator logs in again (a session exists only while the link is up)."""
        self._running().set_login(port, initiator, True)

    def remove_lun(self, port: int, lun: int) -> None:
        """Unmap a LUN from every ACL, then delete the TPG LUN (as targetcli does)."""
        self._running().remove_lun(port, lun)

    def add_tg_pt_gp(self, backstore: int, name: str, gp_id: int | None, state: int = 0) -> None:
        """A new ALUA target port group on backstore `backstore` (state: SPC-4 number)."""
        self._running().add_tg_pt_gp(backstore, name, gp_id, state)

    def set_alua_state(self, backstore: int, group: str, state: int) -> None:
        """Implicit ALUA transition of one group (0 AO, 1 ANO, 2 Standby, 3 Unavailable, ...)."""
        self._running().set_alua_state(backstore, group, state)

    def move_lun(self, port: int, lun: int, group: str) -> None:
        """Put a LUN into another ALUA group of its backstore."""
        self._running().move_lun(port, lun, group)

    def set_lun_offline(self, port: int, lun: int, offline: bool) -> None:
        """A LUN's target port in (or out of) the secondary ALUA state Offline."""
        self._running().set_lun_offline(port, lun, offline)

    def set_read_only(self, backstore: int, read_only: bool) -> None:
        """A block backstore opened read-only (or read-write again)."""
        self._running().set_read_only(backstore, read_only)

    def add_user_backstore(self, name: str, size: int = 1 << 30) -> int:
        """A tcmu (user) backstore exported by no LUN; returns its backstore index."""
        return self._running().add_user_backstore(name, size)

    def set_user_blocked(self, backstore: int, blocked: bool) -> None:
        """A tcmu device blocked (action/block_dev) or unblocked."""
        self._running().set_user_blocked(backstore, blocked)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock: I/O, interrupts, fc_host counters, automatic flaps, SFP RX
        power drift, a scheduled firmware dump."""
        self._running().advance(seconds)
        qla_attr.advance(self.extras, seconds)
        if self.fw_dump_at is not None and self.now >= self.fw_dump_at[0]:
            self.fw_dump(self.fw_dump_at[1])
            self.fw_dump_at = None
        for port in self.model.ports:
            qla_attr.write_port(self._tree, port, self.extras[port.index])

    def fw_dump(self, port: int, size: int = DEMO_FW_DUMP_SIZE) -> None:
        """The firmware of `port` dumps: fw_dump_size becomes `size` (0: collected)."""
        self._running()
        self.extras[port].fw_dump_size = size
        qla_attr.write_port(self._tree, self.model.ports[port], self.extras[port])

    def set_rx_power(self, port: int, watts: float, drift: float | None = None) -> None:
        """Set a port's SFP RX power (and its per-second decay rate, if given)."""
        self._running()
        e = self.extras[port]
        e.values["rx_power"] = watts
        if drift is not None:
            e.rx_drift = drift
        qla_attr.write_port(self._tree, self.model.ports[port], e)

    def set_vport_state(self, state: str, index: int = 0) -> None:
        """An NPIV vport changes state (a name of fc_vport_state_names)."""
        fc_vports.set_state(self._running().tree, self.vports[index], state)

    # ---------------------------------------------------------- expectations

    def expected_lun_totals(self, port: int, lun: int) -> tuple[int, int, int]:
        """(commands, read bytes, write bytes) of one TPG LUN."""
        x = self.lun(port, lun)
        return x.cmds, x.read_bytes, x.write_bytes

    def initiator_totals(self, port: int, initiator: int) -> tuple[int, int, int]:
        """(commands, read bytes, write bytes) of one ACL's initiator over its mapped LUNs."""
        acl = self.acl(port, initiator)
        return (
            sum(m.cmds for m in acl.mapped),
            sum(m.read_bytes for m in acl.mapped),
            sum(m.write_bytes for m in acl.mapped),
        )

    def backstore_totals(self, index: int) -> tuple[int, int, int]:
        """(commands, read bytes, write bytes) of one backstore (scsi_lu)."""
        bs = self.model.backstores[index]
        return bs.cmds, bs.read_bytes, bs.write_bytes
