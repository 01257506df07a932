"""Families of the interrupts collector: the qla2xxx MSI-X vectors (/proc/interrupts, /proc/irq)
and the CPUs that serve them (CPU/NUMA sysfs)."""

from __future__ import annotations

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, counter, gauge, info


def _d(m: Metric) -> Metric:
    return declare("interrupts", m)


IRQ = ("pci", "host", "irq", "vector")
PROC_INTERRUPTS = "/proc/interrupts"
OWNER = ("/sys/bus/pci/devices/<bdf>/msi_irqs/N", "/sys/bus/pci/devices/<bdf>/irq")

INTERRUPTS = _d(
    counter(
        "fctarget_irq_interrupts",
        "Interrupts of a qla2xxx vector handled per CPU (/proc/interrupts). CPUs that have "
        "handled none of this IRQ are omitted; an absent series means 0.",
        (*IRQ, "cpu"),
        (PROC_INTERRUPTS, *OWNER),
    )
)
REMOTE_NUMA_INTERRUPTS = _d(
    counter(
        "fctarget_irq_remote_numa_interrupts",
        "Interrupts of a qla2xxx vector handled on CPUs outside the HBA's NUMA node. Only when "
        "both the HBA's node and the CPU topology are known.",
        IRQ,
        (
            PROC_INTERRUPTS,
            "/sys/bus/pci/devices/<bdf>/numa_node",
            "/sys/devices/system/node/nodeN/cpulist",
        ),
    )
)
AFFINITY_CPUS = _d(
    gauge(
        "fctarget_irq_affinity_cpus",
        "Number of CPUs in the IRQ's affinity: kind=allowed (/proc/irq/N/smp_affinity_list) or "
        "effective (effective_affinity_list).",
        (*IRQ, "kind"),
        ("/proc/irq/N/smp_affinity_list", "/proc/irq/N/effective_affinity_list"),
    )
)
INFO = _d(
    info(
        "fctarget_irq_info",
        "A qla2xxx IRQ: action name and chip as /proc/interrupts prints them.",
        (*IRQ, "action", "chip"),
        (PROC_INTERRUPTS,),
    )
)
EFFECTIVE_CPU = _d(
    gauge(
        "fctarget_irq_effective_cpu",
        "The CPU a qla2xxx IRQ is delivered to now: the first CPU of /proc/irq/N/"
        "effective_affinity_list (irqbalance moves it); absent when the kernel reports no "
        "effective affinity.",
        IRQ,
        ("/proc/irq/N/effective_affinity_list",),
    )
)
CPU_INFO = _d(
    info(
        "fctarget_irq_cpu_info",
        "NUMA node of each online CPU (sysfs devices/system/node; -1 when unknown).",
        ("cpu", "numa_node"),
        ("/sys/devices/system/cpu/online", "/sys/devices/system/node/nodeN/cpulist"),
    )
)
