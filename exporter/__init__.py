"""Prometheus exporter for Linux LIO SCSI targets served over QLogic qla2xxx Fibre Channel HBAs."""

__version__ = "0.1.0"
