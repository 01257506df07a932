"""Importing this package registers every collector (one module each)."""

from exporter.collectors import (
    fc_host,
    fc_vport,
    hba,
    interrupts,
    kmsg,
    lio,
    qla2xxx,
    scsi_latency,
    sfp,
)

__all__ = [
    "fc_host",
    "fc_vport",
    "hba",
    "interrupts",
    "kmsg",
    "lio",
    "qla2xxx",
    "scsi_latency",
    "sfp",
]
