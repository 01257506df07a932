"""Importing this package registers every collector (one module each)."""

from exporter.collectors import fc_host, hba, interrupts, kmsg, lio, scsi_latency

__all__ = ["fc_host", "hba", "interrupts", "kmsg", "lio", "scsi_latency"]
