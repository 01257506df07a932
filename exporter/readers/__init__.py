"""Readers: one per kernel source, the only code that touches the host's files.

Each reader turns one source (sysfs fc_host + scsi_host, PCI/MSI/NUMA sysfs, LIO configfs,
/proc/interrupts + /proc/irq, /dev/kmsg records) into frozen dataclasses built by the pure parsers
of exporter/parsers. Partial failures go into the one `Problems` aggregator (problems.py); the
collectors map snapshots to catalogue families without any I/O of their own.
"""
