"""The simulated FC target host (LIO on qla2xxx HBAs) used by `--demo`, tests and the benchmark."""

from exporter.simulate.host import SimParams, SimulatedHost

__all__ = ["SimParams", "SimulatedHost"]
