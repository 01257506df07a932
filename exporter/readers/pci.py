"""The PCI/MSI/NUMA sysfs reader: which PCI function, SCSI host and NUMA node each qla2xxx port
and IRQ belongs to, and the CPU -> NUMA node topology. The only code that reads these files.

Shared by the collectors that need the PCI <-> SCSI host join (hba, interrupts; kmsg through
`qla2xxx_ports`). Building the map walks sysfs; `HbaMapCache` keeps it and rebuilds only when a
kernel uevent says a PCI device, SCSI host or CPU came or went, or when the cheap periodic
re-check (a few directory listings, no attribute reads) sees the layout changed.

Layout relied on (drivers/pci/pci-driver.c, drivers/pci/pci-sysfs.c, drivers/scsi/hosts.c,
drivers/base/node.c, drivers/base/cpu.c):
  bus/pci/drivers/qla2xxx/<bdf>            -> ../../../../devices/pci.../<bdf>
  bus/pci/devices/<bdf>/driver             -> ../../../bus/pci/drivers/qla2xxx
  devices/.../<bdf>/{numa_node,irq,msi_irqs/<N>}
  devices/.../<bdf>/hostN                  (the Scsi_Host device, a child of the function)
  devices/system/node/nodeN/cpulist, devices/system/cpu/online
The port names (WWPN, WWNN) come from the fc_host reader (readers/fc_sysfs.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from exporter import fsread
from exporter.parsers import pci as pcip
from exporter.parsers.cpulist import parse_cpulist
from exporter.paths import HostPaths
from exporter.readers.fc_sysfs import read_port_names
from exporter.readers.problems import Problem, Problems

DRIVER = "qla2xxx"

LOG = logging.getLogger("fctarget_exporter.readers.pci")
T = TypeVar("T")


@dataclass(frozen=True)
class ScsiHost:
    name: str  # "host7"
    number: int
    wwpn: str  # colon form; "" when fc_host is absent or unreadable
    wwnn: str


@dataclass(frozen=True)
class PciFunction:
    pci: str  # "0000:83:00.1"
    path: str  # resolved device directory
    numa_node: int  # -1 when unknown
    msi_irqs: tuple[int, ...]
    irq: int | None  # the `irq` file: the INTx line (or the MSI vector when MSI is on)
    hosts: tuple[ScsiHost, ...]

    @property
    def host(self) -> ScsiHost | None:
        return self.hosts[0] if self.hosts else None


@dataclass(frozen=True)
class IrqOwner:
    pci: str
    host: str  # "host7"; "" when the function has no SCSI host yet
    numa_node: int
    via: str  # "msi_irqs" | "name" | "intx"


@dataclass(frozen=True)
class Topology:
    cpus: tuple[int, ...]  # CPUs known to sysfs (online), sorted
    cpu_node: dict[int, int] = field(default_factory=dict)  # only CPUs listed under a node

    def node_of(self, cpu: int) -> int:
        return self.cpu_node.get(cpu, -1)

    @property
    def known(self) -> bool:
        return bool(self.cpu_node)


@dataclass(frozen=True)
class HbaMap:
    functions: tuple[PciFunction, ...]
    topology: Topology
    problems: tuple[Problem, ...] = ()  # met while building; reported on every scrape it serves
    _by_msi: dict[int, PciFunction] = field(default_factory=dict, repr=False, compare=False)
    _by_intx: dict[int, list[PciFunction]] = field(default_factory=dict, repr=False, compare=False)
    _by_host: dict[int, tuple[PciFunction, ScsiHost]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for fn in self.functions:
            for irq in fn.msi_irqs:
                self._by_msi.setdefault(irq, fn)
            if not fn.msi_irqs and fn.irq:
                self._by_intx.setdefault(fn.irq, []).append(fn)
            for h in fn.hosts:
                self._by_host.setdefault(h.number, (fn, h))

    def host(self, number: int) -> tuple[PciFunction, ScsiHost] | None:
        return self._by_host.get(number)

    def owners(self, irq: int, host_no: int | None) -> tuple[IrqOwner, ...]:
        """Who raises `irq`; `host_no` is the SCSI host number from a >= 4.11 vector name.

        msi_irqs/ is authoritative (old names repeat for every port); then the host number in
        the name; then the `irq` file of functions without MSI (INTx; a shared line can have
        several owners).
        """
        fn = self._by_msi.get(irq)
        if fn is not None:
            host = f"host{host_no}" if host_no is not None else _host_name(fn)
            return (IrqOwner(fn.pci, host, fn.numa_node, "msi_irqs"),)
        if host_no is not None:
            hit = self._by_host.get(host_no)
            if hit is not None:
                return (IrqOwner(hit[0].pci, hit[1].name, hit[0].numa_node, "name"),)
        return tuple(
            IrqOwner(f.pci, _host_name(f), f.numa_node, "intx") for f in self._by_intx.get(irq, [])
        )


def _host_name(fn: PciFunction) -> str:
    h = fn.host
    return h.name if h is not None else ""


# --- discovery -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _FnLayout:
    pci: str
    path: str
    msi_entries: tuple[str, ...]
    host_entries: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    """What the cheap re-check looks at: directory listings and the online CPU list."""

    functions: tuple[_FnLayout, ...]
    nodes: tuple[str, ...]
    cpus_online: str


def discover_functions(paths: HostPaths) -> list[str]:
    """PCI functions bound to qla2xxx, sorted."""
    drv = paths.sys("bus", "pci", "drivers", DRIVER)
    if os.path.isdir(drv):
        return sorted(e for e in fsread.listdir(drv) if pcip.is_bdf(e))
    # No driver directory (an old or partial tree): look at every device's driver link.
    found = []
    devices = paths.sys("bus", "pci", "devices")
    for e in fsread.listdir(devices):
        link = fsread.readlink(os.path.join(devices, e, "driver"))
        if pcip.is_bdf(e) and link is not None and os.path.basename(link) == DRIVER:
            found.append(e)
    return sorted(found)


@dataclass(frozen=True)
class QlaPort:
    pci: str  # "0000:83:00.1"
    host_number: int  # 7
    host: str  # "host7"


def qla2xxx_ports(paths: HostPaths) -> tuple[QlaPort, ...]:
    """Every SCSI host of a PCI function bound to qla2xxx, by (pci, host number): directory
    listings only, no attribute reads (cheap enough for every scrape)."""
    ports = []
    for bdf in discover_functions(paths):
        for e in fsread.listdir(paths.sys("bus", "pci", "devices", bdf)):
            n = pcip.host_number(e)
            if n is not None:
                ports.append(QlaPort(bdf, n, e))
    return tuple(sorted(ports, key=lambda p: (p.pci, p.host_number)))


def _node_number(name: str) -> int | None:
    """`node3` -> 3 (MAX_NUMNODES is at most 1024: four digits); None for other entries."""
    digits = name[4:]
    if not name.startswith("node") or not 0 < len(digits) <= 4:
        return None
    return int(digits) if digits.isascii() and digits.isdigit() else None


def scan_layout(paths: HostPaths) -> Layout:
    fns = []
    for bdf in discover_functions(paths):
        path = fsread.realpath(paths.sys("bus", "pci", "devices", bdf))
        if not os.path.isdir(path):
            continue
        msi = tuple(fsread.listdir(os.path.join(path, "msi_irqs")))
        hosts = tuple(e for e in fsread.listdir(path) if pcip.host_number(e) is not None)
        fns.append(_FnLayout(bdf, path, msi, hosts))
    node_dir = paths.sys("devices", "system", "node")
    nodes = tuple(e for e in fsread.listdir(node_dir) if _node_number(e) is not None)
    online = fsread.read_attr(paths.sys("devices", "system", "cpu", "online")) or ""
    return Layout(tuple(fns), nodes, online)


def _value(path: str, obj: str, problems: Problems, parse: Callable[[str], T]) -> T | None:
    """A parsed attribute; None if missing (not a problem), unreadable or garbled (one)."""
    try:
        raw = fsread.read_text(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.os_error(obj, path, exc)
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        problems.add(obj, "parse", f"{path}: {exc}")
        return None


def read_topology(paths: HostPaths, layout: Layout, problems: Problems) -> Topology:
    """The online CPUs and the NUMA node of each CPU listed under a node."""
    cpu_node: dict[int, int] = {}
    for node in layout.nodes:
        path = paths.sys("devices", "system", "node", node, "cpulist")
        for cpu in _value(path, f"{node}/cpulist", problems, parse_cpulist) or ():
            cpu_node[cpu] = _node_number(node) or 0
    known: set[int] = set(cpu_node)
    if layout.cpus_online:
        try:
            known.update(parse_cpulist(layout.cpus_online))
        except ValueError as exc:
            problems.add("cpu/online", "parse", f"devices/system/cpu/online: {exc}")
    return Topology(tuple(sorted(known)), cpu_node)


def _function(paths: HostPaths, fl: _FnLayout, problems: Problems) -> PciFunction:
    node = _value(
        os.path.join(fl.path, "numa_node"), f"{fl.pci}/numa_node", problems, pcip.parse_numa_node
    )
    irq = _value(
        os.path.join(fl.path, "irq"),
        f"{fl.pci}/irq",
        problems,
        lambda t: pcip.parse_int_attr(t, "irq"),
    )
    hosts = []
    for entry in fl.host_entries:
        number = pcip.host_number(entry)
        if number is not None:
            wwpn, wwnn = read_port_names(paths, entry, problems)
            hosts.append(ScsiHost(name=entry, number=number, wwpn=wwpn, wwnn=wwnn))
    hosts.sort(key=lambda h: h.number)
    return PciFunction(
        pci=fl.pci,
        path=fl.path,
        numa_node=node if node is not None else -1,
        msi_irqs=pcip.parse_msi_irqs(fl.msi_entries),
        irq=irq,
        hosts=tuple(hosts),
    )


def build_map(paths: HostPaths, layout: Layout) -> HbaMap:
    problems = Problems("pci")
    functions = tuple(_function(paths, fl, problems) for fl in layout.functions)
    topology = read_topology(paths, layout, problems)
    return HbaMap(functions, topology, tuple(problems.items))


def load_map(paths: HostPaths) -> HbaMap:
    """One uncached build (tests, --check)."""
    return build_map(paths, scan_layout(paths))


# --- cache + uevents -----------------------------------------------------------------------


class HbaMapCache:
    """The map, rebuilt only when the layout changed or a uevent invalidated it.

    `get()` blocks (sysfs reads): call it from the collector's worker thread. Every
    `refresh_interval` seconds it re-lists the driver, msi_irqs/ and hostN directories (no
    attribute reads) and rebuilds only if they differ; a uevent forces a rebuild on the next get.
    """

    def __init__(
        self,
        paths: HostPaths,
        refresh_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.paths = paths
        self.refresh_interval = refresh_interval
        self.clock = clock
        self._lock = threading.Lock()
        self._map: HbaMap | None = None
        self._layout: Layout | None = None
        self._next_check = 0.0
        self._dirty = False
        self.builds = 0  # how many full builds so far (tests and --check look at it)
        self._watchers = 0
        self._observer: object | None = None

    def invalidate(self) -> None:
        """Rebuild on the next get (a uevent said a device, host or CPU changed)."""
        self._dirty = True

    def get(self) -> HbaMap:
        with self._lock:
            now = self.clock()
            if self._map is not None and not self._dirty and now < self._next_check:
                return self._map
            force = self._dirty or self._map is None
            self._dirty = False
            layout = scan_layout(self.paths)
            if force or layout != self._layout or self._map is None:
                self._map = build_map(self.paths, layout)
                self.builds += 1
            self._layout = layout
            self._next_check = now + self.refresh_interval
            return self._map

    def start_watching(self) -> bool:
        """Start (or share) the kernel uevent monitor; False when it cannot run here (no netlink
        socket: some containers). The uevents are the running kernel's: on another tree they only
        cause a rebuild that finds nothing new."""
        with self._lock:
            self._watchers += 1
            if self._observer is not None:
                return True
            try:
                import pyudev

                monitor = pyudev.Monitor.from_netlink(pyudev.Context(), source="kernel")
                for subsystem in ("pci", "scsi_host", "fc_host", "cpu"):
                    monitor.filter_by(subsystem)
                observer = pyudev.MonitorObserver(
                    monitor, callback=self._on_uevent, name="fctarget-uevents"
                )
                observer.daemon = True
                observer.start()
            except Exception as exc:  # noqa: BLE001 - no netlink (container): periodic re-check only
                LOG.info(
                    "uevent monitor unavailable; HBA map re-checked every %ss",
                    self.refresh_interval,
                    extra={"fields": {"error": str(exc)}},
                )
                return False
            self._observer = observer
            return True

    def stop_watching(self) -> None:
        with self._lock:
            self._watchers = max(0, self._watchers - 1)
            observer = None
            if self._watchers == 0:
                observer, self._observer = self._observer, None
        if observer is not None:
            observer.send_stop()  # type: ignore[attr-defined]

    def _on_uevent(self, device: object) -> None:
        LOG.debug("uevent: %s", device)
        self.invalidate()


_SHARED: dict[HostPaths, HbaMapCache] = {}
_SHARED_LOCK = threading.Lock()


def shared_cache(paths: HostPaths, refresh_interval: float) -> HbaMapCache:
    """One cache per host root, shared by every collector of the process."""
    with _SHARED_LOCK:
        cache = _SHARED.get(paths)
        if cache is None:
            cache = _SHARED[paths] = HbaMapCache(paths, refresh_interval)
        else:
            cache.refresh_interval = min(cache.refresh_interval, refresh_interval)
        return cache
