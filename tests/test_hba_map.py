"""readers/pci.py: the PCI / SCSI host / FC port / NUMA map on real-layout sysfs trees (symlinks
as in /sys)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.parsers.pci import (
    bdf_above_host,
    is_bdf,
    parse_int_attr,
    parse_msi_irqs,
    parse_numa_node,
)
from exporter.paths import HostPaths
from exporter.readers.pci import (
    HbaMapCache,
    IrqOwner,
    QlaPort,
    discover_functions,
    load_map,
    qla2xxx_ports,
    scan_layout,
)

QLA_VERSION = "10.02.07.900-k"


@dataclass
class Port:
    bdf: str
    host: int
    wwpn: str  # as fc_host prints it: 0x%llx
    wwnn: str
    numa: int = -1
    msi: Sequence[int] = ()
    irq: int = 0
    parent: str = "pci0000:80/0000:80:03.0"
    msi_dir_form: bool = False  # the 3.2-era msi_irqs/<N>/mode layout
    model: str = "QLE2672"
    fw: str = "8.07.12 (d0d5)"
    driver_version: str | None = QLA_VERSION


@dataclass
class Tree:
    ports: Sequence[Port]
    nodes: dict[int, str] = field(default_factory=dict)  # node -> cpulist
    online: str | None = None
    driver_dir: bool = True
    module_version: str | None = QLA_VERSION
    other: Sequence[tuple[str, str]] = (("0000:00:02.0", "virtio-pci"),)


def _link(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(os.path.relpath(target, path.parent))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def add_device(sys: Path, bdf: str, parent: str, driver: str, driver_dir: bool) -> Path:
    dev = sys / "devices" / parent / bdf
    dev.mkdir(parents=True)
    _write(dev / "vendor", "0x1077\n")
    drv = sys / "bus" / "pci" / "drivers" / driver
    _link(dev / "driver", drv)
    _link(sys / "bus" / "pci" / "devices" / bdf, dev)
    if driver_dir:
        drv.mkdir(parents=True, exist_ok=True)
        _link(drv / bdf, dev)
    return dev


def add_port(sys: Path, p: Port, driver_dir: bool = True) -> Path:
    dev = add_device(sys, p.bdf, p.parent, "qla2xxx", driver_dir)
    _write(dev / "numa_node", f"{p.numa}\n")
    _write(dev / "irq", f"{p.irq}\n")
    for n in p.msi:
        if p.msi_dir_form:
            _write(dev / "msi_irqs" / str(n) / "mode", "msix\n")
        else:
            _write(dev / "msi_irqs" / str(n), "msix\n")
    add_host(sys, dev, p)
    return dev


def add_host(sys: Path, dev: Path, p: Port) -> None:
    h = f"host{p.host}"
    sh = dev / h / "scsi_host" / h
    fc = dev / h / "fc_host" / h
    _write(sh / "model_name", p.model + "\n")
    _write(sh / "fw_version", p.fw + "\n")
    if p.driver_version is not None:
        _write(sh / "driver_version", p.driver_version + "\n")
    _write(fc / "port_name", p.wwpn + "\n")
    _write(fc / "node_name", p.wwnn + "\n")
    _link(sys / "class" / "scsi_host" / h, sh)
    _link(sys / "class" / "fc_host" / h, fc)


def build(root: Path, tree: Tree) -> HostPaths:
    sys = root / "sys"
    (root / "proc").mkdir(parents=True, exist_ok=True)
    for bdf, driver in tree.other:
        add_device(sys, bdf, "pci0000:00", driver, True)
    for p in tree.ports:
        # without the driver's directory discovery falls back to every device's driver link
        add_port(sys, p, tree.driver_dir)
    if tree.module_version is not None:
        _write(sys / "module" / "qla2xxx" / "version", tree.module_version + "\n")
    for node, cpulist in tree.nodes.items():
        _write(sys / "devices" / "system" / "node" / f"node{node}" / "cpulist", cpulist + "\n")
    if tree.online is not None:
        _write(sys / "devices" / "system" / "cpu" / "online", tree.online + "\n")
    return HostPaths(procfs=str(root / "proc"), sysfs=str(sys), configfs=str(sys / "kernel/config"))


PORT_A = Port(
    "0000:83:00.0", 7, "0x21000024ff314c48", "0x20000024ff314c48", numa=1, msi=[110, 111, 112]
)
PORT_B = Port("0000:83:00.1", 8, "0x21000024ff314c49", "0x20000024ff314c49", numa=1, msi=[120, 121])


def test_two_ports_full_values(tmp_path: Path) -> None:
    paths = build(tmp_path, Tree([PORT_B, PORT_A], nodes={0: "0-1", 1: "2-3"}, online="0-3"))
    m = load_map(paths)
    assert m.problems == ()
    assert [f.pci for f in m.functions] == ["0000:83:00.0", "0000:83:00.1"]
    a = m.functions[0]
    assert a.numa_node == 1
    assert a.msi_irqs == (110, 111, 112)
    assert a.irq == 0
    assert a.path == str(tmp_path / "sys/devices/pci0000:80/0000:80:03.0/0000:83:00.0")
    (h,) = a.hosts
    assert (h.name, h.number) == ("host7", 7)
    assert h.wwpn == "21:00:00:24:ff:31:4c:48"
    assert h.wwnn == "20:00:00:24:ff:31:4c:48"
    assert m.topology.cpus == (0, 1, 2, 3)
    assert m.topology.cpu_node == {0: 0, 1: 0, 2: 1, 3: 1}
    hit = m.host(8)
    assert hit is not None and hit[0].pci == "0000:83:00.1"
    assert m.host(9) is None


def test_legacy_names_are_mapped_by_msi_irqs(tmp_path: Path) -> None:
    paths = build(tmp_path, Tree([PORT_A, PORT_B]))
    m = load_map(paths)
    # the same name "qla2xxx (default)" on IRQs 110 and 120: only msi_irqs tells them apart
    assert m.owners(110, None) == (IrqOwner("0000:83:00.0", "host7", 1, "msi_irqs"),)
    assert m.owners(120, None) == (IrqOwner("0000:83:00.1", "host8", 1, "msi_irqs"),)
    assert m.owners(999, None) == ()


def test_modern_name_host_number_when_msi_irqs_lacks_it(tmp_path: Path) -> None:
    port = Port("0000:5e:00.0", 12, "0x2100f4e9d4561234", "0x2000f4e9d4561234", numa=0, msi=[44])
    m = load_map(build(tmp_path, Tree([port])))
    assert m.owners(47, 12) == (IrqOwner("0000:5e:00.0", "host12", 0, "name"),)
    # msi_irqs wins, and the vector keeps the host number its name carries
    assert m.owners(44, 12) == (IrqOwner("0000:5e:00.0", "host12", 0, "msi_irqs"),)
    assert m.owners(47, 13) == ()


def test_intx_via_irq_file_shared_line(tmp_path: Path) -> None:
    a = Port("0000:04:00.0", 3, "0x1", "0x2", irq=16)
    b = Port("0000:04:00.1", 4, "0x3", "0x4", irq=16)
    m = load_map(build(tmp_path, Tree([a, b])))
    assert m.owners(16, None) == (
        IrqOwner("0000:04:00.0", "host3", -1, "intx"),
        IrqOwner("0000:04:00.1", "host4", -1, "intx"),
    )
    assert m.functions[0].hosts[0].wwpn == "00:00:00:00:00:00:00:01"


def test_old_msi_irqs_directory_form(tmp_path: Path) -> None:
    port = Port("0000:0c:00.0", 2, "0x21", "0x20", msi=[60, 61], msi_dir_form=True)
    m = load_map(build(tmp_path, Tree([port])))
    assert m.functions[0].msi_irqs == (60, 61)
    assert m.owners(61, None)[0].pci == "0000:0c:00.0"


def test_discovery_without_driver_directory(tmp_path: Path) -> None:
    paths = build(tmp_path, Tree([PORT_A], driver_dir=False))
    assert not os.path.exists(paths.sys("bus/pci/drivers/qla2xxx"))
    assert discover_functions(paths) == ["0000:83:00.0"]


def test_discovery_ignores_other_drivers(tmp_path: Path) -> None:
    paths = build(tmp_path, Tree([PORT_A], other=[("0000:00:02.0", "virtio-pci")]))
    assert os.path.islink(paths.sys("bus/pci/devices/0000:00:02.0"))
    assert discover_functions(paths) == ["0000:83:00.0"]


def test_missing_optional_values_are_not_problems(tmp_path: Path) -> None:
    port = Port("0000:83:00.0", 7, "0x21", "0x20", driver_version=None)
    paths = build(tmp_path, Tree([port], module_version="9.9-k"))
    os.remove(paths.sys("devices/pci0000:80/0000:80:03.0/0000:83:00.0/numa_node"))
    m = load_map(paths)
    assert m.problems == ()
    assert m.functions[0].numa_node == -1
    assert m.functions[0].hosts[0].wwpn == "00:00:00:00:00:00:00:21"
    assert m.topology.cpus == () and not m.topology.known  # no node or cpu/online files


def test_unreadable_and_garbage_values_are_problems(tmp_path: Path) -> None:
    paths = build(tmp_path, Tree([PORT_A], nodes={0: "0-1"}))
    dev = Path(paths.sys("devices/pci0000:80/0000:80:03.0/0000:83:00.0"))
    (dev / "numa_node").unlink()
    (dev / "numa_node").mkdir()  # reading it fails with EISDIR
    (dev / "host7/fc_host/host7/port_name").write_text("garbage\n")
    Path(paths.sys("devices/system/node/node0/cpulist")).write_text("0-x\n")
    m = load_map(paths)
    assert sorted(p.key for p in m.problems) == [
        "pci:0000:83:00.0/numa_node:EISDIR",
        "pci:host7/port_name:parse",
        "pci:node0/cpulist:parse",
    ]
    h = m.functions[0].hosts[0]
    assert h.wwpn == "" and h.wwnn == "20:00:00:24:ff:31:4c:48"
    assert m.functions[0].numa_node == -1


def test_host_to_pci_from_class_symlink(tmp_path: Path) -> None:
    paths = build(tmp_path, Tree([PORT_A, PORT_B]))
    real = os.path.realpath(paths.sys("class/scsi_host/host8"))
    assert bdf_above_host(real) == "0000:83:00.1"
    assert bdf_above_host("/sys/devices/virtual/net/lo") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_rescans_cheaply_and_rebuilds_on_change(tmp_path: Path) -> None:
    paths = build(tmp_path, Tree([PORT_A]))
    clock = FakeClock()
    cache = HbaMapCache(paths, refresh_interval=30, clock=clock)
    first = cache.get()
    assert cache.builds == 1 and [f.pci for f in first.functions] == ["0000:83:00.0"]
    # within the interval: no sysfs access at all, even if sysfs changed
    add_port(tmp_path / "sys", PORT_B)
    assert cache.get() is first
    # interval over: the layout listing differs -> rebuild
    clock.now += 31
    second = cache.get()
    assert cache.builds == 2 and [f.pci for f in second.functions] == [
        "0000:83:00.0",
        "0000:83:00.1",
    ]
    # interval over, layout unchanged: listing only, no rebuild (same object back)
    clock.now += 31
    assert cache.get() is second and cache.builds == 2
    # a value change without a layout change is picked up when a uevent invalidates
    Path(paths.sys("devices/pci0000:80/0000:80:03.0/0000:83:00.1/numa_node")).write_text("0\n")
    assert cache.get() is second
    cache.invalidate()
    third = cache.get()
    assert cache.builds == 3 and third.functions[1].numa_node == 0
    # a new msi vector (driver reload with more qpairs) is a layout change
    Path(paths.sys("devices/pci0000:80/0000:80:03.0/0000:83:00.1/msi_irqs/122")).write_text("msix")
    clock.now += 31
    assert cache.get().functions[1].msi_irqs == (120, 121, 122)


def test_scan_layout_lists_only(tmp_path: Path) -> None:
    paths = build(tmp_path, Tree([PORT_A], nodes={0: "0-1", 1: "2-3"}, online="0-3"))
    layout = scan_layout(paths)
    assert [f.pci for f in layout.functions] == ["0000:83:00.0"]
    assert layout.functions[0].msi_entries == ("110", "111", "112")
    assert layout.functions[0].host_entries == ("host7",)
    assert layout.nodes == ("node0", "node1") and layout.cpus_online == "0-3"


def _pci_uevent_file() -> str:
    devices = "/sys/bus/pci/devices"
    return os.path.join(devices, sorted(os.listdir(devices))[0], "uevent")


def test_uevent_monitor_invalidates_on_real_kernel_event() -> None:
    """A synthetic `change` uevent (written to a real PCI device's uevent file) reaches the
    netlink monitor and marks the map stale."""
    cache = HbaMapCache(HostPaths(), refresh_interval=3600)
    cache.get()
    builds = cache.builds
    assert cache.start_watching() is True
    try:
        deadline = time.monotonic() + 10
        while not cache._dirty and time.monotonic() < deadline:
            with open(_pci_uevent_file(), "w") as f:
                f.write("change")
            time.sleep(0.2)
        assert cache._dirty
        cache.get()
        assert cache.builds == builds + 1
    finally:
        cache.stop_watching()
    assert cache._observer is None


def test_qla2xxx_ports_for_the_kmsg_collector(tmp_path: Path) -> None:
    """Every SCSI host of every qla2xxx function (other drivers' functions left out)."""
    extra = Port("0000:83:00.0", 9, "0x1", "0x2")  # a second SCSI host on one function
    paths = build(tmp_path, Tree([PORT_B, PORT_A]))
    add_host(tmp_path / "sys", Path(paths.sys("bus/pci/devices/0000:83:00.0")), extra)
    assert qla2xxx_ports(paths) == (
        QlaPort("0000:83:00.0", 7, "host7"),
        QlaPort("0000:83:00.0", 9, "host9"),
        QlaPort("0000:83:00.1", 8, "host8"),
    )
    assert qla2xxx_ports(HostPaths(sysfs=str(tmp_path / "absent"))) == ()


@settings(max_examples=300)
@given(st.text(max_size=60), st.lists(st.text(max_size=12), max_size=6))
def test_pci_value_parsers_raise_only_valueerror(text: str, entries: list[str]) -> None:
    for parse in (parse_numa_node, lambda t: parse_int_attr(t, "irq")):
        with contextlib.suppress(ValueError):
            assert isinstance(parse(text), int)
    assert all(isinstance(n, int) and n >= 0 for n in parse_msi_irqs(entries))
    assert bdf_above_host(text) is None or is_bdf(bdf_above_host(text) or "")


def test_pci_value_parsers() -> None:
    assert parse_numa_node("-1\n") == -1
    assert parse_numa_node("1\n") == 1
    assert parse_int_attr("16\n", "irq") == 16
    assert parse_msi_irqs(["35", "36", "mode", "x1"]) == (35, 36)
    assert is_bdf("0000:83:00.1") and is_bdf("10000:00:01.0") and not is_bdf("0000:83:00.8")
    assert not is_bdf("0000:83:00.1 ")
