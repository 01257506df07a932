"""Importing this package registers every collector (one module each)."""

from exporter.collectors import fc_host, hba, interrupts, link, lio

__all__ = ["fc_host", "hba", "interrupts", "link", "lio"]
