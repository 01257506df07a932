"""Writer: CPU and NUMA topology, the HBAs' PCI functions with their MSI-X IRQs, module state.

- `devices/system/{cpu,node}` (drivers/base/cpu.c, node.c, topology.c): online CPUs, each
  node's `cpulist` / `cpumap`, each CPU's package, core and node link.
- `devices/<root complex>/<bridge>/<bdf>` (drivers/pci/pci-sysfs.c): ids, `numa_node`,
  `local_cpulist`, `irq`, link speed; `msi_irqs/<irq>` (drivers/pci/msi/); the links from
  `bus/pci/devices` and `bus/pci/drivers/qla2xxx`.
- `module/<name>` (kernel/params.c, kernel/module/sysfs.c): qla2xxx version and parameters,
  `initstate` of the target modules.
"""

from __future__ import annotations

from exporter.parsers.cpulist import format_cpulist, format_cpumask
from exporter.simulate.model import QLA_VERSION, HostModel, Port, SimParams
from exporter.simulate.tree import Tree


def build_topology(tree: Tree, model: HostModel) -> None:
    ncpu = model.params.cpus
    allc = format_cpulist(model.cpus) + "\n"
    tree.files("sys/devices/system/cpu", {"online": allc, "possible": allc, "present": allc})
    for n, cpus in enumerate(model.node_cpus):
        tree.files(
            f"sys/devices/system/node/node{n}",
            {"cpulist": format_cpulist(cpus) + "\n", "cpumap": format_cpumask(cpus, ncpu) + "\n"},
        )
    tree.files(
        "sys/devices/system/node",
        {"online": format_cpulist(range(model.numa_nodes)) + "\n", "possible": "0\n"},
    )
    for n, cpus in enumerate(model.node_cpus):
        for c in cpus:
            d = f"sys/devices/system/cpu/cpu{c}"
            tree.mkdir(f"{d}/topology")
            tree.put(f"{d}/topology/physical_package_id", f"{n}\n")
            tree.put(f"{d}/topology/core_id", f"{c - cpus[0]}\n")
            tree.symlink(f"{d}/node{n}", f"../../node/node{n}")


def build_function(tree: Tree, model: HostModel, port: Port) -> None:
    """One HBA port's PCI function, its MSI-X IRQs and the bus/driver links to it."""
    tree.mkdir("sys/bus/pci/drivers/qla2xxx")
    tree.mkdir("sys/bus/pci/devices")
    dev = f"sys/devices/{port.devpath}"
    node_cpus = model.node_cpus[port.node]
    tree.files(
        dev,
        {
            "vendor": "0x1077\n",
            "device": "0x2261\n",
            "subsystem_vendor": "0x1077\n",
            "subsystem_device": "0x029b\n",
            "class": "0x0c0400\n",
            "numa_node": f"{port.node}\n",
            "local_cpulist": format_cpulist(node_cpus) + "\n",
            "local_cpus": format_cpumask(node_cpus, model.params.cpus) + "\n",
            "irq": f"{port.intx_irq}\n",
            "enable": "1\n",
            "current_link_speed": "8.0 GT/s PCIe\n",
            "current_link_width": "8\n",
        },
    )
    tree.mkdir(f"{dev}/msi_irqs")
    for v in port.vectors:
        tree.put(f"{dev}/msi_irqs/{v.irq}", "msix\n")
    tree.symlink(f"{dev}/driver", "../../../../bus/pci/drivers/qla2xxx")
    tree.symlink(f"sys/bus/pci/devices/{port.pci}", f"../../../devices/{port.devpath}")
    tree.symlink(f"sys/bus/pci/drivers/qla2xxx/{port.pci}", f"../../../../devices/{port.devpath}")


def build_modules(tree: Tree, params: SimParams) -> None:
    ext = "1" if params.extended_logging else "0"
    tree.files("sys/module/qla2xxx", {"version": f"{QLA_VERSION}\n"})
    tree.files(
        "sys/module/qla2xxx/parameters",
        {
            "qlini_mode": "disabled\n",
            "ql2xextended_error_logging": f"{ext}\n",
            "ql2xenablemsix": "1\n",
            "ql2xuctrlirq": "1\n",
            "ql2xmqsupport": "1\n",
        },
    )
    tree.files("sys/module/tcm_qla2xxx", {"initstate": "live\n"})
    tree.files("sys/module/target_core_mod", {"initstate": "live\n"})
