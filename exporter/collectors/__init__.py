"""Importing this package registers every collector (one module each)."""
from exporter.collectors import fc_host  # noqa: F401
from exporter.collectors import hba  # noqa: F401
from exporter.collectors import interrupts  # noqa: F401
from exporter.collectors import link  # noqa: F401
from exporter.collectors import lio  # noqa: F401
