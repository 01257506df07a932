"""The simulated FC target host (LIO on qla2xxx HBAs) used by `--demo`, tests and the benchmark."""

from exporter.simulate.host import SimulatedHost
from exporter.simulate.model import SimParams

__all__ = ["SimParams", "SimulatedHost"]
