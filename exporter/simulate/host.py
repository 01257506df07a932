"""The simulated FC target host: a LIO target on qla2xxx HBAs, written as a real-layout tree.

`SimulatedHost(root, params).build()` writes `<root>/proc`, `<root>/sys` (with configfs at
`<root>/sys/kernel/config`) and `<root>/dev/kmsg` in the byte formats of a Linux 6.1 host
(shared/reference/KERNEL-FORMATS.md; the configfs files mirror the real 6.1 dump in
shared/reference/real-kernel-6.1/configfs-dump.txt, for the qla2xxx fabric). `advance(seconds)`
then moves the clock: SCSI I/O per initiator and LUN, interrupt counts, fc_host statistics,
automatic link flaps and their kernel log records.

Things a regular file cannot do, and how the tree represents them instead:
- An explicit ACL whose initiator has no session: the kernel's
  `acls/<init>/lun_M/statistics/scsi_att_intr_port/{port_ident,indx}` fail with ENODEV
  (target_core_stat.c target_stat_iport_*_show: `if (!se_sess) return -ENODEV`). Here those two
  files are simply absent while the initiator is logged out, and present again after login.
- `/dev/kmsg` is a regular file to which records are appended; it is never truncated (records are
  written only on events, so it stays small).

Counters are kept exactly (bytes, commands) so tests can derive the expected file contents:
every command an initiator sends to a mapped LUN counts once in that mapped LUN
(`scsi_auth_intr`), once in the TPG LUN it maps to (`scsi_tgt_port`) and once in the backstore
(`scsi_lu`); demo-mode (dynamic) sessions count in the LUN and the backstore only.

Files that a concurrent scrape may read while `advance()` runs are replaced atomically (written
under `<root>/.simtmp/`, then `os.replace`d), so a reader sees the old or the new content, never a
partial one, and no temporary name ever appears in a scanned directory.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from exporter.paths import HostPaths
from exporter.simulate import formats as F

KERNEL_RELEASE = "6.1.0-56-amd64"
QLA_VERSION = "10.02.07.900-k"
FW_VERSION = "9.06.02 (d0d5)"
FW_SHORT = "v9.06.02"
TARGET_VERSION = "v5.0"
HZ_LOC = 250  # local timer interrupts per second per CPU (HZ=250, busy CPU)
FLAP_DOWN_SECONDS = 2.0  # how long an automatic flap keeps the link down (simulated time)
# PCI buses the HBA cards sit on, in card order; root complex = bus & 0xc0.
_CARD_BUSES = (0x83, 0x04, 0x41, 0xC1, 0x21, 0xA1, 0x61, 0xE1)
_PLUGINS = ("iblock", "fileio", "rd_mcp")
_ALL_ONES = 0xFFFFFFFFFFFFFFFF

# scsi_transport_fc.c fc_statistics_attrs[] (6.1), in kernel order (KERNEL-FORMATS.md 4.2).
FC_STAT_FILES: tuple[str, ...] = (
    "seconds_since_last_reset",
    "tx_frames",
    "tx_words",
    "rx_frames",
    "rx_words",
    "lip_count",
    "nos_count",
    "error_frames",
    "dumped_frames",
    "link_failure_count",
    "loss_of_sync_count",
    "loss_of_signal_count",
    "prim_seq_protocol_err_count",
    "invalid_tx_word_count",
    "invalid_crc_count",
    "fcp_input_requests",
    "fcp_output_requests",
    "fcp_control_requests",
    "fcp_input_megabytes",
    "fcp_output_megabytes",
    "fcp_packet_alloc_failures",
    "fcp_packet_aborts",
    "fcp_frame_alloc_failures",
    "fc_no_free_exch",
    "fc_no_free_exch_xid",
    "fc_xid_not_found",
    "fc_xid_busy",
    "fc_seq_not_found",
    "fc_non_bls_resp",
    "cn_sig_warn",
    "cn_sig_alarm",
    "fpin_dn",
    "fpin_dn_unknown",
    "fpin_dn_timeout",
    "fpin_dn_unable_to_route",
    "fpin_dn_device_specific",
    "fpin_li",
    "fpin_li_failure_unknown",
    "fpin_li_link_failure_count",
    "fpin_li_loss_of_sync_count",
    "fpin_li_loss_of_signals_count",
    "fpin_li_prim_seq_err_count",
    "fpin_li_invalid_tx_word_count",
    "fpin_li_invalid_crc_count",
    "fpin_li_device_specific",
    "fpin_cn",
    "fpin_cn_clear",
    "fpin_cn_lost_credit",
    "fpin_cn_credit_stall",
    "fpin_cn_oversubscription",
    "fpin_cn_device_specific",
)
# qla_attr.c qla2x00_get_fc_host_stats(): memset(-1) and never filled -> all ones.
FC_STAT_UNSUPPORTED = frozenset(
    {
        "fcp_packet_alloc_failures",
        "fcp_packet_aborts",
        "fcp_frame_alloc_failures",
        "fc_no_free_exch",
        "fc_no_free_exch_xid",
        "fc_xid_not_found",
        "fc_xid_busy",
        "fc_seq_not_found",
        "fc_non_bls_resp",
        "cn_sig_warn",
        "cn_sig_alarm",
    }
)

# Backstore attrib/* defaults as in the real 6.1 dump (target_core_configfs.c), per plugin.
_ATTRIB_COMMON: dict[str, str] = {
    "alua_support": "1",
    "block_size": "512",
    "emulate_3pc": "1",
    "emulate_caw": "1",
    "emulate_dpo": "1",
    "emulate_fua_read": "1",
    "emulate_fua_write": "1",
    "emulate_model_alias": "1",
    "emulate_pr": "1",
    "emulate_rest_reord": "0",
    "emulate_tas": "1",
    "emulate_tpu": "0",
    "emulate_tpws": "0",
    "emulate_ua_intlck_ctrl": "0",
    "emulate_write_cache": "0",
    "enforce_pr_isids": "1",
    "force_pr_aptpl": "0",
    "hw_block_size": "512",
    "hw_max_sectors": "248",
    "hw_pi_prot_type": "0",
    "hw_queue_depth": "128",
    "is_nonrot": "1",
    "max_unmap_block_desc_count": "0",
    "max_unmap_lba_count": "0",
    "max_write_same_len": "65535",
    "optimal_sectors": "248",
    "pgr_support": "1",
    "pi_prot_format": "0",
    "pi_prot_type": "0",
    "pi_prot_verify": "0",
    "queue_depth": "128",
    "unmap_granularity": "0",
    "unmap_granularity_alignment": "0",
    "unmap_zeroes_data": "0",
}
_ATTRIB_PLUGIN: dict[str, dict[str, str]] = {
    "iblock": {},
    "fileio": {
        "emulate_write_cache": "1",
        "hw_max_sectors": "16384",
        "is_nonrot": "0",
        "max_unmap_block_desc_count": "1",
        "max_unmap_lba_count": "8192",
        "max_write_same_len": "4096",
        "optimal_sectors": "16384",
        "unmap_granularity": "1",
    },
    "rd_mcp": {
        "hw_max_sectors": "4294967288",
        "max_write_same_len": "0",
        "optimal_sectors": "4294967288",
    },
}
_ALUA_TG_PT_GP: dict[str, str] = {
    "alua_access_state": "0",
    "alua_access_status": "None",
    "alua_access_type": "Implicit and Explicit",
    "alua_support_active_nonoptimized": "1",
    "alua_support_active_optimized": "1",
    "alua_support_lba_dependent": "0",
    "alua_support_offline": "1",
    "alua_support_standby": "1",
    "alua_support_transitioning": "1",
    "alua_support_unavailable": "1",
    "alua_write_metadata": "0",
    "implicit_trans_secs": "0",
    "nonop_delay_msecs": "100",
    "preferred": "0",
    "tg_pt_gp_id": "0",
    "trans_delay_msecs": "0",
}
_PR_FILES: dict[str, str] = {
    "res_aptpl_active": "APTPL Bit Status: Disabled\n",
    "res_aptpl_metadata": "Ready to process PR APTPL metadata..\n",
    "res_holder": "No SPC-3 Reservation holder\n",
    "res_pr_all_tgt_pts": "No SPC-3 Reservation holder\n",
    "res_pr_generation": "0x00000000\n",
    "res_pr_holder_tg_port": "No SPC-3 Reservation holder\n",
    "res_pr_registered_i_pts": "SPC-3 PR Registrations:\nNone\n",
    "res_pr_type": "No SPC-3 Reservation holder\n",
    "res_type": "SPC3_PERSISTENT_RESERVATIONS\n",
}
_ALUA_TG_PT_GP_LUN = (
    "TG Port Alias: default_tg_pt_gp\nTG Port Group ID: 0\n"
    "TG Port Primary Access State: Active/Optimized\nTG Port Primary Access Status: None\n"
    "TG Port Secondary Access State: None\nTG Port Secondary Access Status: None\n"
)


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
    seed: int = 1


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
        return F.wwn_colon(self.wwpn)


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
        return F.wwn_colon(self.wwpn)


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
    def root_bus(self) -> int:
        return self.bus & 0xC0

    @property
    def devpath(self) -> str:
        """Path of the PCI function under `<sysfs>/devices`."""
        rb = self.root_bus
        return f"pci0000:{rb:02x}/0000:{rb:02x}:03.{self.card % 4}/{self.pci}"

    @property
    def wwpn_colon(self) -> str:
        return F.wwn_colon(self.wwpn)

    @property
    def host(self) -> str:
        return f"host{self.host_no}"


class SimulatedHost:
    """A qla2xxx/LIO FC target host written under `root` (see the module docstring)."""

    def __init__(self, root: str, params: SimParams = SimParams()) -> None:
        if params.irq_spread not in ("balanced", "skewed", "remote_numa"):
            raise ValueError(f"irq_spread: unknown mode {params.irq_spread!r}")
        if params.irq_names not in ("modern", "legacy"):
            raise ValueError(f"irq_names: unknown style {params.irq_names!r}")
        if params.interrupts_shape not in ("3.x", "6.1", "6.18"):
            raise ValueError(f"interrupts_shape: unknown shape {params.interrupts_shape!r}")
        if params.ports < 1 or params.cpus < 1 or params.numa_nodes < 1:
            raise ValueError("ports, cpus and numa_nodes must be positive")
        self.root = os.path.abspath(root)
        self.params = params
        self.paths = HostPaths(
            procfs=os.path.join(self.root, "proc"),
            sysfs=os.path.join(self.root, "sys"),
            configfs=os.path.join(self.root, "sys", "kernel", "config"),
            kmsg=os.path.join(self.root, "dev", "kmsg"),
        )
        self._tmpdir = os.path.join(self.root, ".simtmp")
        self._rng = random.Random(params.seed)
        self._written: dict[str, str] = {}
        self._pool: dict[str, str] = {}
        self._tmp_seq = 0
        self.now = 35.0  # simulated seconds since boot
        self.kmsg_seq = 0
        self.built = False
        self.cpus = list(range(params.cpus))
        nn = min(params.numa_nodes, params.cpus)
        per = params.cpus // nn
        self.node_cpus: list[list[int]] = [
            list(range(n * per, params.cpus if n == nn - 1 else (n + 1) * per)) for n in range(nn)
        ]
        self.numa_nodes = nn
        self.nr_irqs = 256 + 8 * params.cpus + 64 * params.ports
        self.prec = F.interrupts_prec(self.nr_irqs)
        self.loc = [0] * params.cpus
        self.res = [0] * params.cpus
        self.cal = [0] * params.cpus
        self._make_model()

    # ------------------------------------------------------------------ model

    @classmethod
    def demo(cls, root: str) -> SimulatedHost:
        """A lively default host for `--demo`: each port flaps every 2 minutes (LIP debug lines
        on), port 1's interrupts all land on one CPU, and one ACL's initiator is logged out."""
        host = cls(root, SimParams(flap_every=120.0, extended_logging=True, seed=7))
        host.build()
        host.logout(0, host.params.initiators - 1)
        host.set_irq_spread("skewed", port=1)
        host.advance(5.0)
        return host

    def _make_model(self) -> None:
        p = self.params
        rng = self._rng
        self.backstores: list[Backstore] = []
        for i in range(p.luns):
            plugin = _PLUGINS[i % len(_PLUGINS)]
            name = {"iblock": "blk", "fileio": "disk", "rd_mcp": "rd"}[plugin] + str(i)
            size = (1 << 30) * rng.choice((16, 64, 256, 1024))
            udev = {
                "iblock": f"/dev/mapper/vg0-lv{i}",
                "fileio": f"/srv/lio/disk{i}.img",
                "rd_mcp": "",
            }[plugin]
            self.backstores.append(
                Backstore(
                    index=i,
                    plugin=plugin,
                    hba_dir=f"{plugin}_{i}",
                    name=name,
                    hba_id=i + 1,
                    hba_index=i + 2,
                    dev_index=i + 1,
                    serial=_uuid(rng),
                    size=size if plugin != "rd_mcp" else 8192 * 4096,
                    udev_path=udev,
                    write_cache=plugin == "fileio",
                    creation_time=1300 + 7 * i,
                )
            )
        self.ports: list[Port] = []
        next_irq = 64
        for i in range(p.ports):
            card, fn = divmod(i, 2)
            bus = _CARD_BUSES[card % len(_CARD_BUSES)] + (card // len(_CARD_BUSES)) * 2
            node = (1 + card) % self.numa_nodes
            wwpn = 0x21000024FF314C48 + (card << 8) + fn
            port = Port(
                index=i,
                card=card,
                function=fn,
                bus=bus,
                node=node,
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
                port.vectors.append(
                    Vector(
                        irq=next_irq,
                        port=i,
                        kind=kind,
                        qpair=q,
                        msix_index=msix,
                        name=self._vector_name(port, kind, q),
                        counts=[0] * p.cpus,
                    )
                )
                next_irq += 1
            next_irq += 2  # gaps between devices, as real allocations have
            port.stats = dict.fromkeys(FC_STAT_FILES, 0)
            port.stats["lip_count"] = 1
            port.stats["nos_count"] = 1
            port.stats["loss_of_sync_count"] = 2
            port.stats["link_failure_count"] = 1
            self.ports.append(port)
        self.next_irq = next_irq
        # LUNs: backstore i is exported by port i % ports (rtpi 1: first export of the device).
        for bs in self.backstores:
            port = self.ports[bs.index % p.ports]
            lun = Lun(
                port=port.index,
                lun=len(port.luns),
                backstore=bs,
                rtpi=bs.export_count + 1,
                link_name=f"{rng.getrandbits(40):010x}",
            )
            bs.export_count += 1
            port.luns.append(lun)
        acl_index = 1
        for port in self.ports:
            for k in range(p.initiators):
                wwpn = 0x21000024FFA00000 | (port.index << 12) | k
                mapped = []
                for m in range(min(p.mapped_luns_per_initiator, len(port.luns))):
                    lun = port.luns[(m + k) % len(port.luns)]
                    rate = p.iops_per_mapping * rng.uniform(0.3, 1.7)
                    rfrac = rng.uniform(0.4, 0.8)
                    mapped.append(
                        Mapped(
                            mapped_lun=m,
                            lun=lun,
                            creation_time=1500 + acl_index * 3 + m,
                            read_iops=rate * rfrac,
                            write_iops=rate * (1 - rfrac),
                            read_size=rng.choice((4096, 8192, 65536, 131072)),
                            write_size=rng.choice((4096, 8192, 65536, 262144)),
                        )
                    )
                port.acls.append(
                    Acl(port=port.index, index=k, wwpn=wwpn, acl_index=acl_index, mapped=mapped)
                )
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
        self.port_spread: dict[int, str] = {}
        self._apply_spread(p.irq_spread)

    def _vector_name(self, port: Port, kind: str, q: int) -> str:
        # qla_isr.c: modern "qla2xxx%lu_%s" / "qla2xxx%lu_qpair%d"; <= 4.10 fixed names.
        if self.params.irq_names == "legacy":
            return f"qla2xxx ({'multiq' if kind == 'qpair' else kind})"
        if kind == "qpair":
            return f"qla2xxx{port.host_no}_qpair{q}"
        return f"qla2xxx{port.host_no}_{kind}"

    def _apply_spread(self, mode: str, only: int | None = None) -> None:
        for port in self.ports:
            if only is not None and port.index != only:
                continue
            local = self.node_cpus[port.node]
            if mode == "remote_numa" and self.numa_nodes > 1:
                cpus = self.node_cpus[(port.node + 1) % self.numa_nodes]
            else:
                cpus = local
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
            self.port_spread[port.index] = mode

    # ------------------------------------------------------------ accessors

    def port(self, index: int) -> Port:
        return self.ports[index]

    def lun(self, port: int, lun: int) -> Lun:
        return next(x for x in self.ports[port].luns if x.lun == lun)

    def acl(self, port: int, initiator: int) -> Acl:
        return self.ports[port].acls[initiator]

    def port_dir(self, port: int) -> str:
        """`<sysfs>/devices/.../<bdf>` of a port."""
        return self.paths.sys("devices", self.ports[port].devpath)

    def tpg_dir(self, port: int) -> str:
        return self.paths.target("qla2xxx", self.ports[port].wwpn_colon, "tpgt_1")

    def vectors(self) -> Iterator[Vector]:
        for port in self.ports:
            yield from port.vectors

    # ------------------------------------------------------------- writing

    def _abs(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def _write(self, rel: str, content: str) -> None:
        """Write a file at build time (no reader yet) and remember its content.

        Files with equal content are hard links to one pool file under `<root>/.simtmp/pool`:
        creating an inode costs ~20x a link on ext4, and a large host has ~100k small files,
        most of them `0` or `1`. Later changes never write in place (see `_update`), so the
        shared inodes never change."""
        dst = self._abs(rel)
        src = self._pool.get(content)
        if src is not None:
            try:
                os.link(src, dst)
            except OSError as exc:
                if exc.errno != errno.EMLINK:
                    raise
            else:
                self._written[rel] = content
                return
        self._tmp_seq += 1
        src = os.path.join(self._tmpdir, "pool", f"p{self._tmp_seq}")
        _write_file(src, content)
        os.link(src, dst)
        self._pool[content] = src
        self._written[rel] = content

    def _write_special(self, rel: str, content: str, mode: int) -> None:
        """A file with its own inode and mode (write-only attributes)."""
        _write_file(self._abs(rel), content)
        os.chmod(self._abs(rel), mode)

    def _update(self, rel: str, content: str) -> None:
        """Atomically replace a file if its content changed (temp file outside the tree)."""
        if self._written.get(rel) == content:
            return
        self._tmp_seq += 1
        tmp = os.path.join(self._tmpdir, f"w{self._tmp_seq}")
        _write_file(tmp, content)
        os.replace(tmp, self._abs(rel))
        self._written[rel] = content

    def _put(self, rel: str, content: str) -> None:
        if self.built:
            self._update(rel, content)
        else:
            self._write(rel, content)

    def _mkdir(self, rel: str) -> None:
        os.makedirs(self._abs(rel), exist_ok=True)

    def _files(self, rel_dir: str, files: dict[str, str]) -> None:
        self._mkdir(rel_dir)
        for name, content in files.items():
            self._put(f"{rel_dir}/{name}", content)

    def _symlink(self, rel: str, target: str) -> None:
        path = self._abs(rel)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)

    def _remove(self, rel: str) -> None:
        path = self._abs(rel)
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)
        prefix = rel + "/"
        for k in [k for k in self._written if k == rel or k.startswith(prefix)]:
            del self._written[k]

    # ---------------------------------------------------------------- build

    def build(self) -> None:
        """Write the complete tree under `root` (replacing an earlier one)."""
        for d in ("proc", "sys", "dev", ".simtmp"):
            path = self._abs(d)
            if os.path.isdir(path):
                shutil.rmtree(path)
        self._written.clear()
        self._pool.clear()
        self.built = False
        for d in ("proc/irq", "sys/kernel/config/target", "dev", ".simtmp/pool"):
            self._mkdir(d)
        self._build_cpus()
        self._build_pci()
        self._build_module()
        self._build_configfs()
        self._build_irq_dirs()
        self._write_interrupts()
        open(self.paths.kmsg, "w").close()
        self._boot_kmsg()
        self.built = True

    def _build_cpus(self) -> None:
        ncpu = self.params.cpus
        allc = F.cpulist(self.cpus) + "\n"
        self._files("sys/devices/system/cpu", {"online": allc, "possible": allc, "present": allc})
        for n, cpus in enumerate(self.node_cpus):
            self._files(
                f"sys/devices/system/node/node{n}",
                {"cpulist": F.cpulist(cpus) + "\n", "cpumap": F.cpumask_hex(cpus, ncpu) + "\n"},
            )
        self._files(
            "sys/devices/system/node",
            {"online": F.cpulist(range(self.numa_nodes)) + "\n", "possible": "0\n"},
        )
        for n, cpus in enumerate(self.node_cpus):
            for c in cpus:
                d = f"sys/devices/system/cpu/cpu{c}"
                self._mkdir(f"{d}/topology")
                self._put(f"{d}/topology/physical_package_id", f"{n}\n")
                self._put(f"{d}/topology/core_id", f"{c - cpus[0]}\n")
                self._symlink(f"{d}/node{n}", f"../../node/node{n}")
        self._put("proc/irq/default_smp_affinity", F.cpumask_hex(self.cpus, ncpu) + "\n")

    def _build_pci(self) -> None:
        ncpu = self.params.cpus
        self._mkdir("sys/bus/pci/drivers/qla2xxx")
        self._mkdir("sys/bus/pci/devices")
        self._mkdir("sys/class/scsi_host")
        self._mkdir("sys/class/fc_host")
        for port in self.ports:
            dev = f"sys/devices/{port.devpath}"
            node_cpus = self.node_cpus[port.node]
            self._files(
                dev,
                {
                    "vendor": "0x1077\n",
                    "device": "0x2261\n",
                    "subsystem_vendor": "0x1077\n",
                    "subsystem_device": "0x029b\n",
                    "class": "0x0c0400\n",
                    "numa_node": f"{port.node}\n",
                    "local_cpulist": F.cpulist(node_cpus) + "\n",
                    "local_cpus": F.cpumask_hex(node_cpus, ncpu) + "\n",
                    "irq": f"{port.intx_irq}\n",
                    "enable": "1\n",
                    "current_link_speed": "8.0 GT/s PCIe\n",
                    "current_link_width": "8\n",
                },
            )
            self._mkdir(f"{dev}/msi_irqs")
            for v in port.vectors:
                self._put(f"{dev}/msi_irqs/{v.irq}", "msix\n")
            self._symlink(f"{dev}/driver", "../../../../bus/pci/drivers/qla2xxx")
            self._symlink(f"sys/bus/pci/devices/{port.pci}", f"../../../devices/{port.devpath}")
            self._symlink(
                f"sys/bus/pci/drivers/qla2xxx/{port.pci}", f"../../../../devices/{port.devpath}"
            )
            h = port.host
            self._mkdir(f"{dev}/{h}/scsi_host/{h}")
            self._mkdir(f"{dev}/{h}/fc_host/{h}/statistics")
            self._symlink(
                f"sys/class/scsi_host/{h}", f"../../devices/{port.devpath}/{h}/scsi_host/{h}"
            )
            self._symlink(f"sys/class/fc_host/{h}", f"../../devices/{port.devpath}/{h}/fc_host/{h}")
            self._write_port_state(port)

    def _write_port_state(self, port: Port) -> None:
        """scsi_host (qla_attr.c) and fc_host (scsi_transport_fc.c) attributes of one port."""
        dev = f"sys/devices/{port.devpath}/{port.host}"
        up = port.link_up
        self._files(
            f"{dev}/scsi_host/{port.host}",
            {
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
            },
        )
        fc = f"{dev}/fc_host/{port.host}"
        # scsi_transport_fc.c formats: names "0x%llx", port_id "0x%06x".
        self._files(
            fc,
            {
                "node_name": f"0x{port.wwnn:x}\n",
                "port_name": f"0x{port.wwpn:x}\n",
                "port_id": f"0x{port.port_id if up else 0:06x}\n",
                "port_type": "NPort (fabric via point-to-point)\n",
                "port_state": "Online\n" if up else "Linkdown\n",
                "speed": f"{port.speed_gbit} Gbit\n" if up else "unknown\n",
                "supported_speeds": "4 Gbit, 8 Gbit, 16 Gbit\n",
                "supported_classes": "Class 3\n",
                "fabric_name": f"0x{port.fabric_name:x}\n",
                "symbolic_name": f"QLE2692 FW:{FW_SHORT} DVR:v{QLA_VERSION}\n",
                "system_hostname": "\n",
                "dev_loss_tmo": "30\n",
                "tgtid_bind_type": "wwpn (World Wide Port Name)\n",
                "max_npiv_vports": "254\n",
                "npiv_vports_inuse": "0\n",
            },
        )
        for name in ("issue_lip", "vport_create", "vport_delete"):
            if not self.built:
                self._write_special(f"{fc}/{name}", "", 0o200)
        stats = {}
        for name in FC_STAT_FILES:
            value = _ALL_ONES if name in FC_STAT_UNSUPPORTED else port.stats[name]
            stats[name] = f"0x{value:x}\n"  # scsi_transport_fc.c: "0x%llx\n"
        self._files(f"{fc}/statistics", stats)
        if not self.built:
            self._write_special(f"{fc}/statistics/reset_statistics", "", 0o200)

    def _build_module(self) -> None:
        ext = "1" if self.params.extended_logging else "0"
        self._files("sys/module/qla2xxx", {"version": f"{QLA_VERSION}\n"})
        self._files(
            "sys/module/qla2xxx/parameters",
            {
                "qlini_mode": "disabled\n",
                "ql2xextended_error_logging": f"{ext}\n",
                "ql2xenablemsix": "1\n",
                "ql2xuctrlirq": "1\n",
                "ql2xmqsupport": "1\n",
            },
        )
        self._files("sys/module/tcm_qla2xxx", {"initstate": "live\n"})
        self._files("sys/module/target_core_mod", {"initstate": "live\n"})

    # --------------------------------------------------------------- configfs

    def _build_configfs(self) -> None:
        t = "sys/kernel/config/target"
        self._files(
            t,
            {
                "version": (
                    f"Target Engine Core ConfigFS Infrastructure {TARGET_VERSION} on "
                    f"Linux/x86_64 on {KERNEL_RELEASE}\n"
                ),
                "dbroot": "/etc/target\n",
            },
        )
        members = "".join(f"{bs.path}\n" for bs in self.backstores)
        self._files(f"{t}/core/alua/lu_gps/default_lu_gp", {"lu_gp_id": "0\n", "members": members})
        for bs in self.backstores:
            self._build_backstore(bs)
        q = f"{t}/qla2xxx"
        self._files(
            q,
            {
                # tcm_qla2xxx.c tcm_qla2xxx_wwn_version_show()
                "version": (
                    f"TCM QLOGIC QLA2XXX NPIV capable fabric module {QLA_VERSION} on "
                    f"Linux/x86_64 on {KERNEL_RELEASE}\n"
                ),
            },
        )
        self._mkdir(f"{q}/discovery_auth")
        for port in self.ports:
            self._build_tpg(port)
        for bs in self.backstores:
            self._write_backstore_stats(bs)

    def _bs_dir(self, bs: Backstore) -> str:
        return f"sys/kernel/config/target/core/{bs.path}"

    def _build_backstore(self, bs: Backstore) -> None:
        hba = f"sys/kernel/config/target/core/{bs.hba_dir}"
        # target_core_configfs.c target_hba_info_show(): "HBA Index: %d plugin: %s version: %s\n"
        self._files(
            hba,
            {
                "hba_info": (
                    f"HBA Index: {bs.hba_id} plugin: {bs.plugin} version: {TARGET_VERSION}\n"
                ),
                "hba_mode": "0\n",
            },
        )
        d = self._bs_dir(bs)
        attrib = dict(_ATTRIB_COMMON)
        attrib.update(_ATTRIB_PLUGIN[bs.plugin])
        attrib["emulate_write_cache"] = "1" if bs.write_cache else "0"
        hw_max = attrib["hw_max_sectors"]
        head = (
            f"Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: {hw_max}\n"
            "        "
        )
        if bs.plugin == "iblock":
            info = (
                head
                + f"iBlock device: dm-{bs.index}  UDEV PATH: {bs.udev_path}  readonly: 0\n"
                + f"        Major: 253 Minor: {bs.index}  CLAIMED: IBLOCK\n"
            )
        elif bs.plugin == "fileio":
            info = (
                head
                + f"TCM FILEIO ID: 0        File: {bs.udev_path}  Size: {bs.size}  "
                + "Mode: Buffered-WCE Async: 0\n"
            )
        else:
            info = (
                head
                + "TCM RamDisk ID: 0  RamDisk Makeup: rd_mcp\n"
                + "        PAGES/PAGE_SIZE: 8192*4096  SG_table_count: 5  nullio: 0 dummy: 0\n"
            )
        self._files(
            d,
            {
                "alias": "",
                "alua_lu_gp": "LU Group Alias: default_lu_gp\nLU Group ID: 0\n",
                "enable": "1\n",
                "info": info,
                "lba_map": "",
                "udev_path": f"{bs.udev_path}\n" if bs.udev_path else "",
            },
        )
        if bs.plugin == "iblock":
            # The device-mapper volume behind it: block/genhd.c prints `size` in 512-byte sectors.
            bdev = f"sys/devices/virtual/block/dm-{bs.index}"
            self._files(bdev, {"size": f"{bs.size // 512}\n", "dev": f"253:{bs.index}\n"})
            self._mkdir("sys/class/block")
            self._symlink(
                f"sys/class/block/dm-{bs.index}", f"../../devices/virtual/block/dm-{bs.index}"
            )
        self._mkdir(f"{d}/action")
        self._files(f"{d}/attrib", {k: v + "\n" for k, v in attrib.items()})
        self._files(f"{d}/pr", _PR_FILES)
        self._files(
            f"{d}/wwn",
            {
                "company_id": "0x001405\n",
                "product_id": f"{bs.name}\n",
                "revision": "4.0\n",
                "vendor_id": "LIO-ORG\n",
                "vpd_assoc_logical_unit": "",
                "vpd_assoc_scsi_target_device": "",
                "vpd_assoc_target_port": "",
                "vpd_protocol_identifier": "",
                "vpd_unit_serial": f"T10 VPD Unit Serial Number: {bs.serial}\n",
            },
        )
        self._write_tg_pt_gp(bs)
        sd = f"{d}/statistics"
        # target_core_stat.c: scsi_dev / scsi_tgt_dev / scsi_lu constant parts.
        self._files(
            f"{sd}/scsi_dev",
            {"inst": f"{bs.hba_index}\n", "indx": f"{bs.dev_index}\n", "role": "Target\n"},
        )
        self._files(
            f"{sd}/scsi_tgt_dev",
            {
                "inst": f"{bs.hba_index}\n",
                "indx": f"{bs.dev_index}\n",
                "num_lus": "1\n",
                "status": "activated",  # printed without a newline
                "non_access_lus": "0\n",
                "resets": "0\n",
                "aborts_complete": "0\n",
                "aborts_no_task": "0\n",
            },
        )
        self._files(
            f"{sd}/scsi_lu",
            {
                "inst": f"{bs.hba_index}\n",
                "dev": f"{bs.dev_index}\n",
                "indx": "1\n",
                "lun": "0\n",
                "lu_name": f"{bs.serial}\n",
                "vend": f"{'LIO-ORG':<8s}\n",
                "prod": f"{bs.name:<16s}\n",
                "rev": f"{'4.0':<4s}\n",
                "dev_type": "0\n",
                "status": "available\n",
                "state_bit": "exposed\n",
                "resets": "0\n",
                "full_stat": "0\n",
                "hs_num_cmds": "0\n",
                "creation_time": f"{bs.creation_time}\n",
            },
        )

    def _write_tg_pt_gp(self, bs: Backstore) -> None:
        # target_core_alua.c: members "%s/%s/tpgt_%hu/%s\n" per LUN, NUL after each entry.
        members = ""
        for port in self.ports:
            for lun in port.luns:
                if lun.backstore is bs and lun.present:
                    members += f"qla2xxx/{port.wwpn_colon}/tpgt_1/lun_{lun.lun}\n\0"
        files = {k: v + "\n" for k, v in _ALUA_TG_PT_GP.items()}
        files["members"] = members
        self._files(f"{self._bs_dir(bs)}/alua/default_tg_pt_gp", files)

    def _write_backstore_stats(self, bs: Backstore) -> None:
        sd = f"{self._bs_dir(bs)}/statistics"
        self._put(f"{sd}/scsi_dev/ports", f"{bs.export_count}\n")
        self._put(f"{sd}/scsi_lu/num_cmds", f"{bs.cmds}\n")
        self._put(f"{sd}/scsi_lu/read_mbytes", f"{bs.read_bytes >> 20}\n")
        self._put(f"{sd}/scsi_lu/write_mbytes", f"{bs.write_bytes >> 20}\n")

    def _build_tpg(self, port: Port) -> None:
        w = f"sys/kernel/config/target/qla2xxx/{port.wwpn_colon}"
        self._mkdir(f"{w}/fabric_statistics")
        self._files(f"{w}/param", {"cmd_completion_affinity": "-1\n"})
        tpg = f"{w}/tpgt_1"
        demo = 1 if port.dynamic else 0
        self._files(tpg, {"enable": "1\n", "fabric_prot_type": "0\n"})
        self._write_dynamic_sessions(port)
        # tcm_qla2xxx.c tcm_qla2xxx_tpg_attrib_attrs[] ("%d\n"; jam_host only with
        # CONFIG_TCM_QLA2XXX_DEBUG, later removed); make_tpg defaults except write protect
        self._files(
            f"{tpg}/attrib",
            {
                "generate_node_acls": f"{demo}\n",
                "cache_dynamic_acls": "1\n",
                "demo_mode_write_protect": "0\n",
                "prod_mode_write_protect": "0\n",
                "demo_mode_login_only": "1\n",
            },
        )
        for sub in ("auth", "param", "np", "lun", "acls"):
            self._mkdir(f"{tpg}/{sub}")
        for lun in port.luns:
            self._build_lun(port, lun)
        for acl in port.acls:
            self._build_acl(port, acl)

    def _write_dynamic_sessions(self, port: Port) -> None:
        # target_core_fabric_configfs.c / tcm_qla2xxx: "%s\n" per dynamic session + NUL byte.
        text = "".join(f"{d.name}\n\0" for d in port.dynamic) if port.link_up else ""
        self._put(
            f"sys/kernel/config/target/qla2xxx/{port.wwpn_colon}/tpgt_1/dynamic_sessions", text
        )

    def _lun_dir(self, port: Port, lun: Lun) -> str:
        return f"sys/kernel/config/target/qla2xxx/{port.wwpn_colon}/tpgt_1/lun/lun_{lun.lun}"

    def _build_lun(self, port: Port, lun: Lun) -> None:
        d = self._lun_dir(port, lun)
        bs = lun.backstore
        self._files(
            d,
            {
                "alua_tg_pt_gp": _ALUA_TG_PT_GP_LUN,
                "alua_tg_pt_offline": "0\n",
                "alua_tg_pt_status": "0\n",
                "alua_tg_pt_write_md": "0\n",
            },
        )
        self._symlink(f"{d}/{lun.link_name}", f"../../../../../../target/core/{bs.path}")
        sd = f"{d}/statistics"
        self._files(
            f"{sd}/scsi_port",
            {
                "inst": f"{bs.hba_index}\n",
                "dev": f"{bs.dev_index}\n",
                "indx": f"{lun.rtpi}\n",
                "role": f"Device{bs.dev_index}\n",
                "busy_count": "0\n",
            },
        )
        self._files(
            f"{sd}/scsi_tgt_port",
            {
                "inst": f"{bs.hba_index}\n",
                "dev": f"{bs.dev_index}\n",
                "indx": f"{lun.rtpi}\n",
                "name": f"qla2xxxPort#{lun.rtpi}\n",
                "port_index": f"{F.wwn_naa(port.wwpn)}+t+1\n",
                "hs_in_cmds": "0\n",
            },
        )
        self._write_lun_stats(port, lun)
        self._files(
            f"{sd}/scsi_transport",
            {
                "inst": f"{bs.hba_index}\n",
                "device": "scsiTransportqla2xxx\n",
                "indx": "1\n",
                "dev_name": f"{F.wwn_naa(port.wwpn)}+{bs.serial}\n",
                "proto_id": "0\n",
            },
        )

    def _write_lun_stats(self, port: Port, lun: Lun) -> None:
        sd = f"{self._lun_dir(port, lun)}/statistics/scsi_tgt_port"
        self._put(f"{sd}/in_cmds", f"{lun.cmds}\n")
        # target_core_stat.c: (u32)(octets >> 20); write = data received from initiators.
        self._put(f"{sd}/write_mbytes", f"{(lun.write_bytes >> 20) & 0xFFFFFFFF}\n")
        self._put(f"{sd}/read_mbytes", f"{(lun.read_bytes >> 20) & 0xFFFFFFFF}\n")

    def _acl_dir(self, port: Port, acl: Acl) -> str:
        return f"sys/kernel/config/target/qla2xxx/{port.wwpn_colon}/tpgt_1/acls/{acl.name}"

    def _build_acl(self, port: Port, acl: Acl) -> None:
        d = self._acl_dir(port, acl)
        for sub in ("attrib", "auth", "param", "fabric_statistics"):
            self._mkdir(f"{d}/{sub}")
        for m in acl.mapped:
            self._build_mapped(port, acl, m)

    def _mapped_dir(self, port: Port, acl: Acl, m: Mapped) -> str:
        return f"{self._acl_dir(port, acl)}/lun_{m.mapped_lun}"

    def _build_mapped(self, port: Port, acl: Acl, m: Mapped) -> None:
        d = self._mapped_dir(port, acl, m)
        bs = m.lun.backstore
        self._files(d, {"write_protect": "0\n"})
        link = f"{(acl.wwpn * 31 + m.mapped_lun * 7919) & 0xFFFFFFFFFF:010x}"
        self._symlink(
            f"{d}/{link}",
            f"../../../../../../../target/qla2xxx/{port.wwpn_colon}/tpgt_1/lun/lun_{m.lun.lun}",
        )
        sd = f"{d}/statistics"
        self._files(
            f"{sd}/scsi_auth_intr",
            {
                "inst": "1\n",
                "dev": f"{bs.dev_index}\n",
                "port": "1\n",
                "indx": f"{acl.acl_index}\n",
                "dev_or_port": "1\n",
                "intr_name": f"{acl.name}\n",
                "map_indx": "0\n",
                "att_count": "1\n",
                "hs_num_cmds": "0\n",
                "creation_time": f"{m.creation_time}\n",
                "row_status": "Ready\n",
            },
        )
        self._files(
            f"{sd}/scsi_att_intr_port",
            {
                "inst": "1\n",
                "dev": f"{bs.dev_index}\n",
                "port": "1\n",
                "port_auth_indx": f"{acl.acl_index}\n",
            },
        )
        self._write_mapped_stats(port, acl, m)
        self._write_session(port, acl, m)

    def _write_mapped_stats(self, port: Port, acl: Acl, m: Mapped) -> None:
        sd = f"{self._mapped_dir(port, acl, m)}/statistics/scsi_auth_intr"
        self._put(f"{sd}/num_cmds", f"{m.cmds}\n")
        self._put(f"{sd}/read_mbytes", f"{(m.read_bytes >> 20) & 0xFFFFFFFF}\n")
        self._put(f"{sd}/write_mbytes", f"{(m.write_bytes >> 20) & 0xFFFFFFFF}\n")

    def _write_session(self, port: Port, acl: Acl, m: Mapped) -> None:
        """port_ident / indx exist only while the initiator has a session (module docstring)."""
        sd = f"{self._mapped_dir(port, acl, m)}/statistics/scsi_att_intr_port"
        ident, indx = f"{sd}/port_ident", f"{sd}/indx"
        if acl.session:
            # tcm_qla2xxx has no sess_get_initiator_sid: "%s+i+%s\n" with an empty SID;
            # tcm_qla2xxx_sess_get_index() returns 0.
            self._put(ident, f"{acl.name}+i+\n")
            self._put(indx, "0\n")
        else:
            for rel in (ident, indx):
                if os.path.lexists(self._abs(rel)):
                    os.unlink(self._abs(rel))
                self._written.pop(rel, None)

    # -------------------------------------------------------------- procfs

    def _build_irq_dirs(self) -> None:
        for v in self.vectors():
            d = f"proc/irq/{v.irq}"
            self._mkdir(d)
            # kernel/irq/proc.c: name dir only when unique on the IRQ (one action here).
            self._mkdir(f"{d}/{v.name}")
            self._put(f"{d}/node", f"{self.ports[v.port].node}\n")
            self._put(f"{d}/spurious", "count 0\nunhandled 0\nlast_unhandled 0 ms\n")
            self._put(f"{d}/affinity_hint", F.cpumask_hex((), self.params.cpus) + "\n")
            self._write_affinity(v)

    def _write_affinity(self, v: Vector) -> None:
        d = f"proc/irq/{v.irq}"
        n = self.params.cpus
        self._put(f"{d}/smp_affinity", F.cpumask_hex(v.allowed, n) + "\n")
        self._put(f"{d}/smp_affinity_list", F.cpulist(v.allowed) + "\n")
        self._put(f"{d}/effective_affinity", F.cpumask_hex((v.effective,), n) + "\n")
        self._put(f"{d}/effective_affinity_list", f"{v.effective}\n")

    def _other_irq_rows(self) -> list[tuple[int, list[int], str, int | None, str, str]]:
        """Non-qla2xxx interrupts: legacy IO-APIC lines and an NVMe boot disk."""
        n = self.params.cpus
        t = self.now

        def on(cpu: int, value: int) -> list[int]:
            counts = [0] * n
            counts[cpu % n] = value
            return counts

        rows: list[tuple[int, list[int], str, int | None, str, str]] = [
            (0, on(0, 44), "IO-APIC", 2, "edge", "timer"),
            (1, on(1, 9), "IO-APIC", 1, "edge", "i8042"),
            (4, on(1, 84 + int(t)), "IO-APIC", 4, "edge", "ttyS0"),
            (8, on(0, 1), "IO-APIC", 8, "edge", "rtc0"),
            (9, on(0, 0), "IO-APIC", 9, "fasteoi", "acpi"),
            (12, on(0, 3), "IO-APIC", 12, "edge", "i8042"),
        ]
        # nvme0 at 0000:01:00.0: admin queue + one I/O queue per CPU (up to 8).
        base = 40
        rows.append((base, on(0, 57), "PCI-MSI", None, "edge", "nvme0q0"))
        for q in range(min(n, 8)):
            rows.append(
                (
                    base + 1 + q,
                    on(q, 1000 + int(t * 3) * (q + 1)),
                    "PCI-MSI",
                    None,
                    "edge",
                    f"nvme0q{q + 1}",
                )
            )
        return rows

    def _write_interrupts(self) -> None:
        p = self.params
        shape = p.interrupts_shape
        prec = self.prec
        out = [F.interrupts_header(self.cpus, prec)]
        entries: list[tuple[int, str]] = []
        for irq, counts, chip, hw, handler, name in self._other_irq_rows():
            if chip == "PCI-MSI":
                msix = irq - 40
                # same interrupt-remapping prefix as the HBAs (an IOMMU host)
                if shape == "6.18":
                    chip_s, hw_v = "IR-PCI-MSIX-0000:01:00.0", msix
                elif shape == "6.1":
                    chip_s, hw_v = "IR-PCI-MSI", F.msi_hwirq_61(0x01, 0, msix)
                else:
                    chip_s, hw_v = "IR-PCI-MSI", None
            else:
                chip_s, hw_v = "IO-APIC", hw
            line = F.interrupts_line(
                irq,
                counts,
                prec,
                shape=shape,
                chip=chip_s,
                hwirq=hw_v,
                handler=handler,
                action=name,
            )
            entries.append((irq, line))
        for port in self.ports:
            devfn = port.function
            for v in port.vectors:
                if shape == "6.18":
                    chip_s, hw_v = f"IR-PCI-MSIX-{port.pci}", v.msix_index
                elif shape == "6.1":
                    chip_s, hw_v = "IR-PCI-MSI", F.msi_hwirq_61(port.bus, devfn, v.msix_index)
                else:
                    chip_s, hw_v = "IR-PCI-MSI", None
                line = F.interrupts_line(
                    v.irq,
                    [c & 0xFFFFFFFF for c in v.counts],  # per-CPU kstat counts are u32
                    prec,
                    shape=shape,
                    chip=chip_s,
                    hwirq=hw_v,
                    handler="edge",
                    action=v.name,
                )
                entries.append((v.irq, line))
        entries.sort()
        out.extend(line for _, line in entries)
        z = [0] * p.cpus
        out.append(F.interrupts_arch_row("NMI", z, prec, "Non-maskable interrupts"))
        out.append(F.interrupts_arch_row("LOC", self.loc, prec, "Local timer interrupts"))
        out.append(F.interrupts_arch_row("SPU", z, prec, "Spurious interrupts"))
        out.append(F.interrupts_arch_row("PMI", z, prec, "Performance monitoring interrupts"))
        out.append(F.interrupts_arch_row("IWI", z, prec, "IRQ work interrupts"))
        out.append(F.interrupts_arch_row("RTR", z, prec, "APIC ICR read retries"))
        out.append(F.interrupts_arch_row("RES", self.res, prec, "Rescheduling interrupts"))
        out.append(F.interrupts_arch_row("CAL", self.cal, prec, "Function call interrupts"))
        out.append(F.interrupts_arch_row("TLB", z, prec, "TLB shootdowns"))
        out.append(F.interrupts_arch_row("TRM", z, prec, "Thermal event interrupts"))
        out.append(F.interrupts_arch_row("THR", z, prec, "Threshold APIC interrupts"))
        out.append(F.interrupts_arch_row("DFR", z, prec, "Deferred Error APIC interrupts"))
        out.append(F.interrupts_arch_row("MCE", z, prec, "Machine check exceptions"))
        out.append(
            F.interrupts_arch_row(
                "MCP", [int(self.now // 300)] * p.cpus, prec, "Machine check polls"
            )
        )
        out.append(F.interrupts_arch_single("ERR", 0, prec))
        out.append(F.interrupts_arch_single("MIS", 0, prec))
        out.append(F.interrupts_arch_row("PIN", z, prec, "Posted-interrupt notification event"))
        out.append(F.interrupts_arch_row("NPI", z, prec, "Nested posted-interrupt event"))
        out.append(F.interrupts_arch_row("PIW", z, prec, "Posted-interrupt wakeup event"))
        self._put("proc/interrupts", "".join(out))

    # ----------------------------------------------------------------- kmsg

    def kmsg_write(
        self,
        message: str,
        level: int = 6,
        facility: int = 0,
        dictionary: dict[str, str] | None = None,
    ) -> None:
        """Append one /dev/kmsg record at the current simulated time.

        facility 0 = kernel; what user space writes to /dev/kmsg carries facility 1.
        `dictionary` adds ` KEY=value` continuation lines (dev_printk: SUBSYSTEM, DEVICE)."""
        rec = F.kmsg_record(facility, level, self.kmsg_seq, int(self.now * 1e6), message)
        if dictionary:
            rec += "".join(f" {k}={F.kmsg_escape(v)}\n" for k, v in dictionary.items())
        self.kmsg_seq += 1
        fd = os.open(self.paths.kmsg, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, rec.encode("ascii"))  # one write(): a reader sees whole lines
        finally:
            os.close(fd)

    def _qla(self, port: Port | None, msg_id: int, text: str, level: int = 4) -> None:
        pci = port.pci if port is not None else "0000:00:00.0"
        host = port.host_no if port is not None else None
        self.kmsg_write(F.qla_prefix(pci, msg_id, host) + text, level)

    def _boot_kmsg(self) -> None:
        saved = self.now
        self.now = 0.0
        self.kmsg_write(
            f"Linux version {KERNEL_RELEASE} (debian-kernel@lists.debian.org) "
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2",
            5,
        )
        self.now = 12.5
        # qla_os.c qla2x00_module_init(): ql_log(ql_log_info, NULL, 0x0005, ...) -> pr_warn (4)
        self._qla(None, 0x0005, f"QLogic Fibre Channel HBA Driver: {QLA_VERSION}.")
        for port in self.ports:
            self.now += 0.03
            nvec = len(port.vectors)
            # drivers/pci/pci.c do_pci_enable_device(): pci_info() -> "<driver> <bdf>: ..."
            self.kmsg_write(
                f"qla2xxx {port.pci}: enabling device (0140 -> 0142)",
                6,
                dictionary={"SUBSYSTEM": "pci", "DEVICE": f"+pci:{port.pci}"},
            )
            self.kmsg_write(f"{F.qla_prefix(port.pci, 0x011C, None)}MSI-X vector count: {nvec}.", 4)
            self.kmsg_write(
                f"{F.qla_prefix(port.pci, 0x001D, None)}Found an ISP2261 irq {port.intx_irq} "
                f"iobase 0x{0xB5A4E000 + port.index * 0x2000:016x}.",
                4,
            )
            self.now += 2.9
            # scsi_add_host(): shost_printk -> dev_printk, so the record carries a dictionary
            self.kmsg_write(
                f"scsi host{port.host_no}: qla2xxx",
                6,
                dictionary={"SUBSYSTEM": "scsi", "DEVICE": f"+scsi:host{port.host_no}"},
            )
            self._qla(port, 0x00FB, "QLogic QLE2692 - QLogic 2-port 16Gb Fibre Channel Adapter.")
            self._qla(
                port,
                0x00FC,
                f"ISP2261: PCIe (8.0GT/s x8) @ {port.pci} hdma+ host#={port.host_no} "
                f"fw={FW_VERSION}.",
            )
        self.now = 30.0
        for port in self.ports:
            self.now += 0.2
            self._qla(port, 0x500A, f"LOOP UP detected ({port.speed_gbit} Gbps).")
        self.now = saved

    # ------------------------------------------------------------- actions

    def _require_built(self) -> None:
        if not self.built:
            raise RuntimeError("SimulatedHost.build() has not run")

    def _set_link(self, port: Port, up: bool, log: bool = True) -> None:
        if port.link_up == up:
            return
        port.link_up = up
        if up:
            if log:
                if self.params.extended_logging:
                    # ql_dbg(ql_dbg_async, ..) ids: printed as id or id + 0x800 (KERNEL-FORMATS 2.2)
                    self._qla(port, 0x5009, "LIP occurred (f7f7).")
                    self._qla(port, 0x580C, "LIP reset occurred (f7f7).")
                self._qla(port, 0x500A, f"LOOP UP detected ({port.speed_gbit} Gbps).")
            port.stats["lip_count"] += 1
            port.stats["nos_count"] += 1
        else:
            if log:
                self._qla(port, 0x500B, "LOOP DOWN detected (2 7 0 0).")
            port.stats["link_failure_count"] += 1
            port.stats["loss_of_sync_count"] += 1
            port.stats["loss_of_signal_count"] += 1
        for acl in port.acls:
            acl.session = up and acl.logged_in
        self._write_port_state(port)
        self._write_dynamic_sessions(port)
        for acl in port.acls:
            for m in acl.mapped:
                if m.present:
                    self._write_session(port, acl, m)

    def link_down(self, port: int) -> None:
        """Cable pull: LOOP DOWN record, port Linkdown, every session of the port gone."""
        self._require_built()
        p = self.ports[port]
        p.down_until = None
        self._set_link(p, False)

    def link_up(self, port: int) -> None:
        """Link back: (LIP debug lines,) LOOP UP record, sessions of logged-in ACLs back."""
        self._require_built()
        p = self.ports[port]
        p.down_until = None
        self._set_link(p, True)

    def flap(self, port: int) -> None:
        """Link down and up again at once (records 1 ms apart)."""
        self.link_down(port)
        self.now += 0.001
        self.link_up(port)

    def set_irq_spread(self, mode: str, port: int | None = None) -> None:
        """Re-pin the HBA vectors of every port (or of one port) to "balanced", "skewed" (all
        on one CPU) or "remote_numa" (CPUs of another NUMA node); counts so far stay where
        they are, new interrupts go to the new effective CPU."""
        self._require_built()
        if mode not in ("balanced", "skewed", "remote_numa"):
            raise ValueError(f"irq_spread: unknown mode {mode!r}")
        self._apply_spread(mode, port)
        for v in self.vectors():
            self._write_affinity(v)

    def logout(self, port: int, initiator: int) -> None:
        """The initiator's session ends (its ACL and mapped LUNs stay)."""
        self._require_built()
        p = self.ports[port]
        acl = p.acls[initiator]
        acl.logged_in = False
        acl.session = False
        for m in acl.mapped:
            if m.present:
                self._write_session(p, acl, m)

    def login(self, port: int, initiator: int) -> None:
        """The initiator logs in again (a session exists only while the link is up)."""
        self._require_built()
        p = self.ports[port]
        acl = p.acls[initiator]
        acl.logged_in = True
        acl.session = p.link_up
        for m in acl.mapped:
            if m.present:
                self._write_session(p, acl, m)

    def remove_lun(self, port: int, lun: int) -> None:
        """Unmap a LUN from every ACL, then delete the TPG LUN (as targetcli does)."""
        self._require_built()
        p = self.ports[port]
        target = self.lun(port, lun)
        for acl in p.acls:
            for m in acl.mapped:
                if m.lun is target and m.present:
                    m.present = False
                    self._remove(self._mapped_dir(p, acl, m))
        target.present = False
        self._remove(self._lun_dir(p, target))
        bs = target.backstore
        bs.export_count -= 1
        self._write_tg_pt_gp(bs)
        self._write_backstore_stats(bs)

    # ------------------------------------------------------------- advance

    def advance(self, seconds: float) -> None:
        """Move the simulated clock: I/O, interrupts, fc_host counters, automatic flaps."""
        self._require_built()
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        p = self.params
        t0, t1 = self.now, self.now + seconds
        # automatic flaps and pending link-ups, in time order
        events: list[tuple[float, int, bool]] = []
        for port in self.ports:
            if port.down_until is not None and port.down_until <= t1:
                events.append((port.down_until, port.index, True))
            if p.flap_every > 0:
                k = int((t0 - port.flap_phase) // p.flap_every) + 1
                while True:
                    tf = port.flap_phase + k * p.flap_every
                    if tf > t1:
                        break
                    if tf > t0:
                        events.append((tf, port.index, False))
                        if tf + FLAP_DOWN_SECONDS <= t1:
                            events.append((tf + FLAP_DOWN_SECONDS, port.index, True))
                    k += 1
        up_time = {port.index: 0.0 for port in self.ports}
        last = t0
        state = {port.index: port.link_up for port in self.ports}
        for when, idx, up in sorted(events):
            for i, s in state.items():
                if s:
                    up_time[i] += when - last
            last = when
            self.now = when
            port = self.ports[idx]
            if up:
                # only the end of an automatic flap; a link_down() port stays down
                if port.down_until is not None and when >= port.down_until:
                    port.down_until = None
                    self._set_link(port, True)
            elif port.link_up:
                self._set_link(port, False)
                port.down_until = when + FLAP_DOWN_SECONDS
            state[idx] = port.link_up
        for i, s in state.items():
            if s:
                up_time[i] += t1 - last
        self.now = t1
        rng = self._rng
        busy = [0.0] * p.cpus
        for port in self.ports:
            self._advance_port(port, up_time[port.index], seconds, rng, busy)
        for c in range(p.cpus):
            self.loc[c] += int(HZ_LOC * seconds * (0.3 + 0.7 * min(1.0, busy[c] / 5000.0 + 0.1)))
            self.res[c] += int(seconds * 3 + busy[c] * 0.001)
            self.cal[c] += int(seconds * 2)
        for bs in self.backstores:
            self._write_backstore_stats(bs)
        self._write_interrupts()

    def _advance_port(
        self, port: Port, up_s: float, seconds: float, rng: random.Random, busy: list[float]
    ) -> None:
        cmds_total = 0
        bytes_in = 0
        bytes_out = 0
        if up_s > 0:
            for acl in port.acls:
                if not acl.session:
                    continue
                for m in acl.mapped:
                    if not m.present:
                        continue
                    jitter = rng.uniform(0.8, 1.2)
                    rc = int(m.read_iops * up_s * jitter)
                    wc = int(m.write_iops * up_s * jitter)
                    rb, wb = rc * m.read_size, wc * m.write_size
                    m.cmds += rc + wc
                    m.read_bytes += rb
                    m.write_bytes += wb
                    self._account(m.lun, rc + wc, rb, wb)
                    cmds_total += rc + wc
                    bytes_out += rb
                    bytes_in += wb
            present = [lun for lun in port.luns if lun.present]
            for d in port.dynamic:
                if not present:
                    break
                per = d.iops * up_s * rng.uniform(0.8, 1.2) / len(present)
                for lun in present:
                    rc = int(per * 0.6)
                    wc = int(per * 0.4)
                    rb, wb = rc * d.read_size, wc * d.write_size
                    d.cmds += rc + wc
                    d.read_bytes += rb
                    d.write_bytes += wb
                    self._account(lun, rc + wc, rb, wb)
                    cmds_total += rc + wc
                    bytes_out += rb
                    bytes_in += wb
        for lun in port.luns:
            if lun.present:
                self._write_lun_stats(port, lun)
        for acl in port.acls:
            for m in acl.mapped:
                if m.present:
                    self._write_mapped_stats(port, acl, m)
        # Interrupts: default vector a few per second (mailbox, async events), atio_q one per
        # incoming command batch, qpairs the CTIO completions, rsp_q a small share.
        qpairs = [v for v in port.vectors if v.kind == "qpair"]
        for v in port.vectors:
            if v.kind == "default":
                n = int(seconds * 2 + rng.random() * 2)
            elif v.kind == "rsp_q":
                n = int(cmds_total * 0.02 + seconds * 0.5)
            elif v.kind == "atio_q":
                n = int(cmds_total * 0.9)
            else:
                n = int(cmds_total * 0.9 / max(1, len(qpairs)) * rng.uniform(0.85, 1.15))
            v.counts[v.effective] += n
            busy[v.effective] += n / max(seconds, 1e-9)
        # fc_host statistics (qla2xxx fills these from the firmware link statistics)
        s = port.stats
        s["seconds_since_last_reset"] = int(self.now)
        frames_out = bytes_out // 2048 + cmds_total * 2
        frames_in = bytes_in // 2048 + cmds_total
        s["tx_frames"] += frames_out
        s["rx_frames"] += frames_in
        s["tx_words"] += bytes_out // 4 + cmds_total * 16
        s["rx_words"] += bytes_in // 4 + cmds_total * 16
        self._write_port_state(port)

    def _account(self, lun: Lun, cmds: int, rb: int, wb: int) -> None:
        lun.cmds += cmds
        lun.read_bytes += rb
        lun.write_bytes += wb
        bs = lun.backstore
        bs.cmds += cmds
        bs.read_bytes += rb
        bs.write_bytes += wb

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
        bs = self.backstores[index]
        return bs.cmds, bs.read_bytes, bs.write_bytes

    def iter_mapped(self) -> Iterable[tuple[Port, Acl, Mapped]]:
        for port in self.ports:
            for acl in port.acls:
                for m in acl.mapped:
                    yield port, acl, m


def _write_file(path: str, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = memoryview(content.encode("utf-8"))
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"
