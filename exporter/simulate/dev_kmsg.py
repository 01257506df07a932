"""Writer: `/dev/kmsg` records (kernel/printk/printk.c) and the qla2xxx messages in them.

`/dev/kmsg` here is a regular file to which whole records are appended (one write() each, so a
reader sees whole lines); it is never truncated (records are written only on events, so it stays
small). Each record is stamped with the simulated clock (`HostModel.now`) and the next sequence
number (`HostModel.kmsg_seq`).
"""

from __future__ import annotations

import os

from exporter.parsers.kmsg import FACILITY_KERNEL
from exporter.simulate.model import FW_VERSION, KERNEL_RELEASE, QLA_VERSION, HostModel, Port

_NO_PCI = "0000:00:00.0"  # ql_log() without a device (module init)


def kmsg_escape(text: str) -> str:
    """kernel/printk/printk.c: bytes < ' ', >= 127 and '\\' become `\\xNN`."""
    out = []
    for ch in text.encode("utf-8"):
        if ch < 0x20 or ch >= 0x7F or ch == 0x5C:
            out.append(f"\\x{ch:02x}")
        else:
            out.append(chr(ch))
    return "".join(out)


def kmsg_record(facility: int, level: int, seq: int, usec: int, message: str) -> str:
    """One /dev/kmsg record (printk.c info_print_ext_header): `prio,seq,usec,flags;text\\n`."""
    return f"{(facility << 3) | level},{seq},{usec},-;{kmsg_escape(message)}\n"


def qla_prefix(pci: str, msg_id: int, host_no: int | None) -> str:
    """drivers/scsi/qla2xxx/qla_dbg.c ql_dbg_prefix(): `qla2xxx [<pci>]-<id>:<host>: `."""
    host = "" if host_no is None else str(host_no)
    sep = " " if host_no is None else ""
    return f"qla2xxx [{pci}]-{msg_id:04x}:{host}{sep}: "


class KmsgLog:
    """Appends records to the simulated host's `/dev/kmsg` file."""

    def __init__(self, path: str, model: HostModel) -> None:
        self.path = path
        self.model = model

    def write(
        self,
        message: str,
        level: int = 6,
        facility: int = FACILITY_KERNEL,
        dictionary: dict[str, str] | None = None,
    ) -> None:
        """Append one record at the current simulated time (see SimulatedHost.kmsg_write)."""
        m = self.model
        rec = kmsg_record(facility, level, m.kmsg_seq, int(m.now * 1e6), message)
        if dictionary:
            rec += "".join(f" {k}={kmsg_escape(v)}\n" for k, v in dictionary.items())
        m.kmsg_seq += 1
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, rec.encode("ascii"))  # one write(): a reader sees whole lines
        finally:
            os.close(fd)

    def qla(self, port: Port | None, msg_id: int, text: str, level: int = 4) -> None:
        """A ql_log()/ql_dbg() record of `port` (or of no device)."""
        pci = port.pci if port is not None else _NO_PCI
        host = port.host_no if port is not None else None
        self.write(qla_prefix(pci, msg_id, host) + text, level)

    def boot(self) -> None:
        """The boot records: kernel banner, driver init, each port's probe, LOOP UP."""
        m = self.model
        saved = m.now
        m.now = 0.0
        self.write(
            f"Linux version {KERNEL_RELEASE} (debian-kernel@lists.debian.org) "
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2",
            5,
        )
        m.now = 12.5
        # qla_os.c qla2x00_module_init(): ql_log(ql_log_info, NULL, 0x0005, ...) -> pr_warn (4)
        self.qla(None, 0x0005, f"QLogic Fibre Channel HBA Driver: {QLA_VERSION}.")
        for port in m.ports:
            m.now += 0.03
            self._probe(port)
        m.now = 30.0
        for port in m.ports:
            m.now += 0.2
            self.loop_up(port)
        m.now = saved

    def _probe(self, port: Port) -> None:
        # drivers/pci/pci.c do_pci_enable_device(): pci_info() -> "<driver> <bdf>: ..."
        self.write(
            f"qla2xxx {port.pci}: enabling device (0140 -> 0142)",
            6,
            dictionary={"SUBSYSTEM": "pci", "DEVICE": f"+pci:{port.pci}"},
        )
        nvec = len(port.vectors)
        self.write(f"{qla_prefix(port.pci, 0x011C, None)}MSI-X vector count: {nvec}.", 4)
        self.write(
            f"{qla_prefix(port.pci, 0x001D, None)}Found an ISP2261 irq {port.intx_irq} "
            f"iobase 0x{0xB5A4E000 + port.index * 0x2000:016x}.",
            4,
        )
        self.model.now += 2.9
        # scsi_add_host(): shost_printk -> dev_printk, so the record carries a dictionary
        self.write(
            f"scsi host{port.host_no}: qla2xxx",
            6,
            dictionary={"SUBSYSTEM": "scsi", "DEVICE": f"+scsi:host{port.host_no}"},
        )
        self.qla(port, 0x00FB, "QLogic QLE2692 - QLogic 2-port 16Gb Fibre Channel Adapter.")
        self.qla(
            port,
            0x00FC,
            f"ISP2261: PCIe (8.0GT/s x8) @ {port.pci} hdma+ host#={port.host_no} fw={FW_VERSION}.",
        )

    def loop_up(self, port: Port, lip: bool = False) -> None:
        """qla_isr.c qla2x00_async_event(): LOOP UP, after the LIP debug lines when `lip`
        (ql_dbg(ql_dbg_async, ..) ids: printed as id or id + 0x800, KERNEL-FORMATS 2.2)."""
        if lip:
            self.qla(port, 0x5009, "LIP occurred (f7f7).")
            self.qla(port, 0x580C, "LIP reset occurred (f7f7).")
        self.qla(port, 0x500A, f"LOOP UP detected ({port.speed_gbit} Gbps).")

    def loop_down(self, port: Port) -> None:
        self.qla(port, 0x500B, "LOOP DOWN detected (2 7 0 0).")
