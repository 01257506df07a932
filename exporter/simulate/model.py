"""The simulated host's state: its shape (`SimParams`), ports, vectors, LUNs, initiators, clock.

Pure data and the rules that derive it from `SimParams` (no I/O): the writer modules turn this
state into files, the scenario module changes it. Everything random comes from one
`random.Random(seed)`, drawn in a fixed order, so a seed always gives the same host.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from exporter.parsers.fc_host import FC_STAT_FILES, format_wwn
from exporter.simulate.model_lio import LioState

# What the simulated machine runs (the versions in its files and log records).
KERNEL_RELEASE = "6.1.0-56-amd64"
QLA_VERSION = "10.02.07.900-k"
FW_VERSION = "9.06.02 (d0d5)"
TARGET_VERSION = "v5.0"
BOOT_SECONDS = 35.0  # the simulated clock (seconds since boot) when the tree is first built

SPREADS = ("balanced", "skewed", "remote_numa")
# PCI buses the HBA cards sit on, in card order.
_CARD_BUSES = (0x83, 0x04, 0x41, 0xC1, 0x21, 0xA1, 0x61, 0xE1)
_PLUGINS = ("iblock", "fileio", "rd_mcp")
_NAME_STEM = {"iblock": "blk", "fileio": "disk", "rd_mcp": "rd"}


@dataclass(frozen=True)
class SimParams:
    """Shape of the simulated host. See README.md, "The simulated FC target host"."""

    ports: int = 2
    cpus: int = 8
    numa_nodes: int = 2
    qpairs: int = 4  # queue pairs (MSI-X qpair vectors) per port
    luns: int = 8  # backstores; backstore i is exported by port i % ports
    initiators: int = 4  # explicit ACLs per port
    mapped_luns_per_initiator: int = 4
    dynamic_sessions: int = 1  # demo-mode sessions per port, listed in tpgt_1/dynamic_sessions
    irq_spread: str = "balanced"  # "balanced" | "skewed" | "remote_numa"
    irq_names: str = "modern"  # "modern" (qla2xxxN_default...) | "legacy" ("qla2xxx (default)")
    interrupts_shape: str = "6.1"  # "3.x" | "6.1" | "6.18"
    flap_every: float = 0.0  # seconds between automatic link flaps in advance(); 0 = never
    extended_logging: bool = False  # ql2xextended_error_logging: LIP debug lines in kmsg
    iops_per_mapping: float = 200.0  # mean commands/s per (initiator, mapped LUN)
    qla_debugfs: str = "6.x"  # qla2xxx debugfs era: "4.5" | "6.x" | "none" (simulate/qla_debugfs)
    seed: int = 1

    def check(self) -> None:
        """Raise ValueError for a shape the simulator cannot build."""
        if self.irq_spread not in SPREADS:
            raise ValueError(f"irq_spread: unknown mode {self.irq_spread!r}")
        if self.irq_names not in ("modern", "legacy"):
            raise ValueError(f"irq_names: unknown style {self.irq_names!r}")
        if self.interrupts_shape not in ("3.x", "6.1", "6.18"):
            raise ValueError(f"interrupts_shape: unknown shape {self.interrupts_shape!r}")
        if self.ports < 1 or self.cpus < 1 or self.numa_nodes < 1:
            raise ValueError("ports, cpus and numa_nodes must be positive")


@dataclass
class Vector:
    """One MSI-X vector of an HBA port (one IRQ, one action)."""

    irq: int
    port: int
    kind: str  # "default" | "rsp_q" | "atio_q" | "qpair"
    qpair: int  # queue-pair id for kind "qpair", else -1
    msix_index: int
    name: str
    counts: list[int]  # per CPU number
    allowed: tuple[int, ...] = ()
    effective: int = 0


@dataclass
class Backstore:
    index: int
    plugin: str
    hba_dir: str  # "iblock_0"
    name: str  # "blk0"
    hba_id: int
    hba_index: int
    dev_index: int
    serial: str
    size: int
    udev_path: str
    write_cache: bool
    creation_time: int  # hundredths of a second since boot
    cmds: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    export_count: int = 0

    @property
    def path(self) -> str:
        return f"{self.hba_dir}/{self.name}"


@dataclass
class Lun:
    port: int
    lun: int
    backstore: Backstore
    rtpi: int
    link_name: str
    cmds: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    present: bool = True


@dataclass
class Mapped:
    mapped_lun: int
    lun: Lun
    creation_time: int
    read_iops: float
    write_iops: float
    read_size: int
    write_size: int
    cmds: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    present: bool = True


@dataclass
class Acl:
    port: int
    index: int
    wwpn: int
    acl_index: int
    mapped: list[Mapped]
    logged_in: bool = True  # wanted state (restored after a link comes back)
    session: bool = True  # current state

    @property
    def name(self) -> str:
        return format_wwn(self.wwpn)


@dataclass
class DynSession:
    """A demo-mode (generate_node_acls) session: no ACL dir; I/O to every LUN of the TPG."""

    port: int
    wwpn: int
    iops: float
    read_size: int
    write_size: int
    cmds: int = 0
    read_bytes: int = 0
    write_bytes: int = 0

    @property
    def name(self) -> str:
        return format_wwn(self.wwpn)


@dataclass
class Port:
    index: int
    card: int
    function: int
    bus: int
    node: int
    host_no: int
    wwpn: int
    wwnn: int
    intx_irq: int
    fabric_name: int
    port_id: int
    link_up: bool = True
    speed_gbit: int = 16
    vectors: list[Vector] = field(default_factory=list)
    luns: list[Lun] = field(default_factory=list)
    acls: list[Acl] = field(default_factory=list)
    dynamic: list[DynSession] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    isp_aborts: int = 0
    flap_phase: float = 0.0
    down_until: float | None = None  # automatic flap: link comes back at this time

    @property
    def pci(self) -> str:
        return f"0000:{self.bus:02x}:00.{self.function}"

    @property
    def devpath(self) -> str:
        """Path of the PCI function under `<sysfs>/devices` (root complex = bus & 0xc0)."""
        rb = self.bus & 0xC0
        return f"pci0000:{rb:02x}/0000:{rb:02x}:03.{self.card % 4}/{self.pci}"

    @property
    def wwpn_colon(self) -> str:
        return format_wwn(self.wwpn)

    @property
    def host(self) -> str:
        return f"host{self.host_no}"


@dataclass
class HostModel:
    """Everything the simulated host is at one moment of its simulated clock."""

    params: SimParams
    rng: random.Random
    node_cpus: list[list[int]]
    backstores: list[Backstore] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    port_spread: dict[int, str] = field(default_factory=dict)
    now: float = BOOT_SECONDS  # simulated seconds since boot
    kmsg_seq: int = 0
    # per-CPU architecture interrupt counts (LOC, RES, CAL rows of /proc/interrupts)
    loc: list[int] = field(default_factory=list)
    res: list[int] = field(default_factory=list)
    cal: list[int] = field(default_factory=list)
    lio: LioState = field(default_factory=LioState)  # ALUA groups, read-only, tcmu devices

    @property
    def cpus(self) -> list[int]:
        return list(range(self.params.cpus))

    @property
    def numa_nodes(self) -> int:
        return len(self.node_cpus)

    @property
    def nr_irqs(self) -> int:
        return 256 + 8 * self.params.cpus + 64 * self.params.ports

    def vectors(self) -> Iterator[Vector]:
        for port in self.ports:
            yield from port.vectors

    def lun(self, port: int, lun: int) -> Lun:
        return next(x for x in self.ports[port].luns if x.lun == lun)


def make_model(params: SimParams) -> HostModel:
    """The host `params` describe, drawn from `random.Random(params.seed)`."""
    nn = min(params.numa_nodes, params.cpus)
    per = params.cpus // nn
    node_cpus = [
        list(range(n * per, params.cpus if n == nn - 1 else (n + 1) * per)) for n in range(nn)
    ]
    model = HostModel(params=params, rng=random.Random(params.seed), node_cpus=node_cpus)
    model.loc, model.res, model.cal = ([0] * params.cpus for _ in range(3))
    model.backstores = [_make_backstore(i, model.rng) for i in range(params.luns)]
    _make_ports(model)
    _export_luns(model)
    acl_index = 1
    for port in model.ports:
        acl_index = _make_initiators(model, port, acl_index)
    apply_spread(model, params.irq_spread)
    return model


def _make_backstore(i: int, rng: random.Random) -> Backstore:
    plugin = _PLUGINS[i % len(_PLUGINS)]
    size = (1 << 30) * rng.choice((16, 64, 256, 1024))
    udev = {"iblock": f"/dev/mapper/vg0-lv{i}", "fileio": f"/srv/lio/disk{i}.img"}.get(plugin, "")
    return Backstore(
        index=i,
        plugin=plugin,
        hba_dir=f"{plugin}_{i}",
        name=_NAME_STEM[plugin] + str(i),
        hba_id=i + 1,
        hba_index=i + 2,
        dev_index=i + 1,
        serial=_uuid(rng),
        size=size if plugin != "rd_mcp" else 8192 * 4096,
        udev_path=udev,
        write_cache=plugin == "fileio",
        creation_time=1300 + 7 * i,
    )


def _make_ports(model: HostModel) -> None:
    p = model.params
    next_irq = 64
    for i in range(p.ports):
        card, fn = divmod(i, 2)
        bus = _CARD_BUSES[card % len(_CARD_BUSES)] + (card // len(_CARD_BUSES)) * 2
        wwpn = 0x21000024FF314C48 + (card << 8) + fn
        port = Port(
            index=i,
            card=card,
            function=fn,
            bus=bus,
            node=(1 + card) % model.numa_nodes,
            host_no=6 + i,
            wwpn=wwpn,
            wwnn=wwpn - 0x0100000000000000,
            intx_irq=32 + i,
            fabric_name=0x100000051E0A5B01 + (i % 2) * 0x100,
            port_id=0x010000 | ((i + 1) << 8),
            flap_phase=(i * 37.0) % max(p.flap_every, 1.0),
        )
        kinds: list[tuple[str, int]] = [("default", -1), ("rsp_q", -1), ("atio_q", -1)]
        kinds += [("qpair", q) for q in range(p.qpairs)]
        for msix, (kind, q) in enumerate(kinds):
            name = vector_name(p.irq_names, port.host_no, kind, q)
            port.vectors.append(Vector(next_irq, i, kind, q, msix, name, [0] * p.cpus))
            next_irq += 1
        next_irq += 2  # gaps between devices, as real allocations have
        port.stats = dict.fromkeys(FC_STAT_FILES, 0)
        port.stats.update(lip_count=1, nos_count=1, loss_of_sync_count=2, link_failure_count=1)
        model.ports.append(port)


def vector_name(style: str, host_no: int, kind: str, q: int) -> str:
    """qla_isr.c action names: modern "qla2xxx%lu_%s" / "qla2xxx%lu_qpair%d"; <= 4.10 fixed."""
    if style == "legacy":
        return f"qla2xxx ({'multiq' if kind == 'qpair' else kind})"
    if kind == "qpair":
        return f"qla2xxx{host_no}_qpair{q}"
    return f"qla2xxx{host_no}_{kind}"


def _export_luns(model: HostModel) -> None:
    """Backstore i is exported by port i % ports (rtpi 1: first export of the device)."""
    for bs in model.backstores:
        port = model.ports[bs.index % model.params.ports]
        lun = Lun(
            port=port.index,
            lun=len(port.luns),
            backstore=bs,
            rtpi=bs.export_count + 1,
            link_name=f"{model.rng.getrandbits(40):010x}",
        )
        bs.export_count += 1
        port.luns.append(lun)


def _make_initiators(model: HostModel, port: Port, acl_index: int) -> int:
    """The port's explicit ACLs and demo-mode sessions; returns the next ACL index."""
    p, rng = model.params, model.rng
    for k in range(p.initiators):
        wwpn = 0x21000024FFA00000 | (port.index << 12) | k
        mapped = []
        for m in range(min(p.mapped_luns_per_initiator, len(port.luns))):
            rate = p.iops_per_mapping * rng.uniform(0.3, 1.7)
            rfrac = rng.uniform(0.4, 0.8)
            mapped.append(
                Mapped(
                    mapped_lun=m,
                    lun=port.luns[(m + k) % len(port.luns)],
                    creation_time=1500 + acl_index * 3 + m,
                    read_iops=rate * rfrac,
                    write_iops=rate * (1 - rfrac),
                    read_size=rng.choice((4096, 8192, 65536, 131072)),
                    write_size=rng.choice((4096, 8192, 65536, 262144)),
                )
            )
        port.acls.append(Acl(port.index, k, wwpn, acl_index, mapped))
        acl_index += 1
    for j in range(p.dynamic_sessions):
        port.dynamic.append(
            DynSession(
                port=port.index,
                wwpn=0x21000024FFD00000 | (port.index << 12) | j,
                iops=p.iops_per_mapping * rng.uniform(0.2, 0.6),
                read_size=65536,
                write_size=65536,
            )
        )
    return acl_index


def apply_spread(model: HostModel, mode: str, only: int | None = None) -> None:
    """Pin the HBA vectors of every port (or of port `only`) as `mode` says (SPREADS)."""
    for port in model.ports:
        if only is not None and port.index != only:
            continue
        cpus = model.node_cpus[port.node]
        if mode == "remote_numa" and model.numa_nodes > 1:
            cpus = model.node_cpus[(port.node + 1) % model.numa_nodes]
        qn = 0
        for v in port.vectors:
            if mode == "skewed":
                v.allowed, v.effective = tuple(cpus), cpus[0]
            elif v.kind == "qpair":
                c = cpus[(qn + port.function * len(port.vectors)) % len(cpus)]
                v.allowed, v.effective = (c,), c
                qn += 1
            else:
                v.allowed = tuple(cpus)
                v.effective = cpus[(port.function + 1) % len(cpus)]
        model.port_spread[port.index] = mode


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"
