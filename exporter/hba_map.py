"""Which PCI function, SCSI host, FC port and NUMA node each qla2xxx IRQ belongs to.

Shared by the collectors that need the PCI <-> SCSI host <-> FC port join (interrupts, hba, and
anything else that labels by `pci`/`host`). Building the map walks sysfs; it is cached and only
rebuilt when a kernel uevent says a PCI device, SCSI host or CPU came or went, or when the cheap
periodic re-check (a few directory listings, no attribute reads) sees the layout changed.

All values are plain sysfs reads under HostPaths.sysfs, so a fixture or simulated tree works the
same as /sys. pyudev is only used on the real /sys: to enumerate qla2xxx functions where a udev
database exists, and for the uevent monitor that invalidates the cache.

Layout relied on (drivers/pci/pci-driver.c, drivers/pci/pci-sysfs.c, drivers/scsi/hosts.c,
drivers/scsi/scsi_transport_fc.c, drivers/scsi/qla2xxx/qla_attr.c):
  bus/pci/drivers/qla2xxx/<bdf>            -> ../../../../devices/pci.../<bdf>
  bus/pci/devices/<bdf>/driver             -> ../../../bus/pci/drivers/qla2xxx
  devices/.../<bdf>/{numa_node,irq,msi_irqs/<N>}
  devices/.../<bdf>/hostN/scsi_host/hostN/{model_name,fw_version,driver_version}
  devices/.../<bdf>/hostN/fc_host/hostN/{port_name,node_name}
  module/qla2xxx/version
  devices/system/node/nodeN/cpulist, devices/system/cpu/online
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
from exporter.parsers.fc_host import parse_wwn
from exporter.paths import HostPaths

DRIVER = "qla2xxx"
DEFAULT_REFRESH_SECONDS = 60.0
UDEV_DB = "/run/udev/data"

LOG = logging.getLogger("fctarget_exporter.hba_map")
T = TypeVar("T")


@dataclass(frozen=True)
class ScsiHost:
    name: str  # "host7"
    number: int
    wwpn: str  # colon form; "" when fc_host is absent or unreadable
    wwnn: str
    model: str  # scsi_host model_name
    firmware_version: str  # scsi_host fw_version
    driver_version: str  # scsi_host driver_version, else module/qla2xxx/version


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
    module_version: str
    problems: tuple[tuple[str, str], ...] = ()  # (error key, message) met while building
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


def _is_real_sysfs(paths: HostPaths) -> bool:
    return os.path.realpath(paths.sysfs) == "/sys"


def udev_functions(driver: str = DRIVER) -> list[str] | None:
    """PCI functions bound to `driver` as udev knows them; None when pyudev/udev are not usable
    (no udev database: containers, minimal systems)."""
    if not os.path.isdir(UDEV_DB):
        return None
    try:
        import pyudev

        ctx = pyudev.Context()
        return sorted(
            d.sys_name for d in ctx.list_devices(subsystem="pci", DRIVER=driver) if d.sys_name
        )
    except Exception as exc:  # noqa: BLE001 - libudev missing or broken: fall back to sysfs
        LOG.debug("pyudev enumeration failed: %s", exc)
        return None


def discover_functions(paths: HostPaths) -> list[str]:
    """PCI functions bound to qla2xxx, sorted."""
    found: list[str] | None = None
    if _is_real_sysfs(paths):
        found = udev_functions()
    if found is None:
        drv = paths.sys("bus", "pci", "drivers", DRIVER)
        if os.path.isdir(drv):
            found = [e for e in fsread.listdir(drv) if pcip.is_bdf(e)]
        else:
            # No driver directory (an old or partial tree): look at every device's driver link.
            found = []
            devices = paths.sys("bus", "pci", "devices")
            for e in fsread.listdir(devices):
                link = fsread.readlink(os.path.join(devices, e, "driver"))
                if pcip.is_bdf(e) and link is not None and os.path.basename(link) == DRIVER:
                    found.append(e)
    return sorted(set(found))


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
    nodes = tuple(e for e in fsread.listdir(node_dir) if e.startswith("node") and e[4:].isdigit())
    online = fsread.read_attr(paths.sys("devices", "system", "cpu", "online")) or ""
    return Layout(tuple(fns), nodes, online)


class _Reader:
    """Attribute reads for one build, collecting problems instead of raising."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def text(self, path: str, key: str) -> str | None:
        """The value without its newline; None if missing (not a problem) or unreadable (one)."""
        try:
            return fsread.read_text(path).rstrip("\n")
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problems.append((key, f"{path}: {exc.strerror or exc}"))
            return None

    def parsed(self, path: str, key: str, parse: Callable[[str], T]) -> T | None:
        raw = self.text(path, key)
        if raw is None:
            return None
        try:
            return parse(raw)
        except ValueError as exc:
            self.problems.append((key, f"{path}: {exc}"))
            return None


def read_topology(paths: HostPaths, layout: Layout, reader: _Reader) -> Topology:
    cpu_node: dict[int, int] = {}
    for node in layout.nodes:
        path = paths.sys("devices", "system", "node", node, "cpulist")
        cpus = reader.parsed(path, "hba_map:node_cpulist", parse_cpulist)
        for cpu in cpus or ():
            cpu_node[cpu] = int(node[4:])
    known: set[int] = set(cpu_node)
    if layout.cpus_online:
        try:
            known.update(parse_cpulist(layout.cpus_online))
        except ValueError as exc:
            reader.problems.append(("hba_map:cpu_online", f"devices/system/cpu/online: {exc}"))
    if not known and _is_real_sysfs(paths):
        import psutil

        count = psutil.cpu_count(logical=True) or 0
        known.update(range(count))
    return Topology(tuple(sorted(known)), cpu_node)


def build_map(paths: HostPaths, layout: Layout) -> HbaMap:
    reader = _Reader()
    module_version = reader.text(paths.sys("module", DRIVER, "version"), "hba_map:module") or ""
    functions = []
    for fl in layout.functions:
        node = reader.parsed(
            os.path.join(fl.path, "numa_node"), "hba_map:numa_node", pcip.parse_numa_node
        )
        irq = reader.parsed(
            os.path.join(fl.path, "irq"), "hba_map:irq", lambda t: pcip.parse_int_attr(t, "irq")
        )
        hosts = []
        for entry in fl.host_entries:
            number = pcip.host_number(entry)
            if number is None:
                continue
            sh = os.path.join(fl.path, entry, "scsi_host", entry)
            fc = os.path.join(fl.path, entry, "fc_host", entry)
            wwpn = reader.parsed(os.path.join(fc, "port_name"), "hba_map:port_name", parse_wwn)
            wwnn = reader.parsed(
                os.path.join(fc, "node_name"), "hba_map:node_name", lambda t: parse_wwn(t, "wwnn")
            )
            key = "hba_map:scsi_host"
            driver_version = reader.text(os.path.join(sh, "driver_version"), key)
            firmware = reader.text(os.path.join(sh, "fw_version"), key)
            hosts.append(
                ScsiHost(
                    name=entry,
                    number=number,
                    wwpn=wwpn or "",
                    wwnn=wwnn or "",
                    model=reader.text(os.path.join(sh, "model_name"), key) or "",
                    firmware_version=firmware or "",
                    driver_version=driver_version or module_version,
                )
            )
        hosts.sort(key=lambda h: h.number)
        functions.append(
            PciFunction(
                pci=fl.pci,
                path=fl.path,
                numa_node=node if node is not None else -1,
                msi_irqs=pcip.parse_msi_irqs(fl.msi_entries),
                irq=irq,
                hosts=tuple(hosts),
            )
        )
    topology = read_topology(paths, layout, reader)
    return HbaMap(tuple(functions), topology, module_version, tuple(reader.problems))


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
        refresh_interval: float = DEFAULT_REFRESH_SECONDS,
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

    # uevents: only meaningful for the real /sys
    def start_watching(self) -> bool:
        """Start (or share) the kernel uevent monitor; False when it cannot run here."""
        with self._lock:
            self._watchers += 1
            if self._observer is not None or not _is_real_sysfs(self.paths):
                return self._observer is not None
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


def shared_cache(
    paths: HostPaths, refresh_interval: float = DEFAULT_REFRESH_SECONDS
) -> HbaMapCache:
    """One cache per host root, shared by every collector of the process."""
    with _SHARED_LOCK:
        cache = _SHARED.get(paths)
        if cache is None:
            cache = _SHARED[paths] = HbaMapCache(paths, refresh_interval)
        else:
            cache.refresh_interval = min(cache.refresh_interval, refresh_interval)
        return cache
