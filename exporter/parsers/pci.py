"""Small PCI sysfs values: function addresses, `numa_node`, `irq`, `msi_irqs/` entry names.

drivers/pci/pci-sysfs.c prints `numa_node` and `irq` with "%d\n"/"%u\n"; `numa_node` is -1 when
the platform gives no node (or CONFIG_NUMA=n). drivers/pci/msi/ (`msi_irqs` attribute group)
names each entry after the Linux IRQ number: a file holding `msi`/`msix` since ~3.14, a
directory holding `mode` before that (Documentation/ABI/testing/sysfs-bus-pci).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_BDF = re.compile(r"[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", re.ASCII)
# Scsi_Host.host_no is an unsigned int (drivers/scsi/hosts.c): at most 10 digits.
_HOST = re.compile(r"host([0-9]{1,10})")
_INT = re.compile(r"-?\d{1,10}", re.ASCII)


def is_bdf(name: str) -> bool:
    """`0000:83:00.1`-style PCI function name (domain included, lowercase, as sysfs spells it)."""
    return _BDF.fullmatch(name) is not None


def host_number(name: str) -> int | None:
    """`host7` -> 7; None for anything else."""
    m = _HOST.fullmatch(name)
    return int(m.group(1)) if m else None


def bdf_above_host(path: str, host: str = "") -> str | None:
    """The PCI function a SCSI host hangs off: the nearest PCI address component above `host`
    (default: the first `hostN` component) in a resolved sysfs path.

    `/sys/devices/pci0000:80/0000:80:03.0/0000:83:00.1/host7/scsi_host/host7` -> `0000:83:00.1`;
    an NPIV vport (`.../0000:83:00.1/host7/vport-7:0-0/host9/fc_host/host9`, host9) resolves to its
    physical port's function, an FCoE host below a netdev (`.../0000:05:00.0/net/eth2/.../host5`)
    to the NIC's. None when no PCI function is above it (drivers/scsi/hosts.c: the Scsi_Host
    device is a child of its parent device).
    """
    parts = path.split("/")
    if host and host in parts:
        end = parts.index(host)
    else:
        hosts = (
            i
            for i, part in enumerate(parts)
            if part[:4] == "host" and host_number(part) is not None
        )
        end = next(hosts, len(parts))
    return next((part for part in reversed(parts[:end]) if is_bdf(part)), None)


def parse_int_attr(text: str, what: str) -> int:
    """A "%d\n" attribute. Raises ValueError."""
    value = text.strip()
    if _INT.fullmatch(value) is None:
        raise ValueError(f"{what}: not an integer: {value[:40]!r}")
    return int(value)


def parse_numa_node(text: str) -> int:
    node = parse_int_attr(text, "numa_node")
    return node if node >= 0 else -1


def parse_msi_irqs(entries: Iterable[str]) -> tuple[int, ...]:
    """IRQ numbers from the entry names of `msi_irqs/` (names that are not numbers are ignored)."""
    return tuple(sorted(int(e) for e in entries if e.isascii() and e.isdigit() and len(e) < 11))
