"""Families about the exporter itself, added to every scrape by exporter/scrape.py."""

from __future__ import annotations

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, gauge, info


def _d(m: Metric) -> Metric:
    return declare("scrape", m)


COLLECTOR_DURATION = _d(
    gauge(
        "fctarget_scrape_collector_duration_seconds",
        "Time a collector took in this scrape.",
        ("collector",),
        ("(exporter)",),
        unit="seconds",
    )
)
COLLECTOR_SUCCESS = _d(
    gauge(
        "fctarget_scrape_collector_success",
        "1 if the collector succeeded in this scrape, 0 if it failed (fully or partly).",
        ("collector",),
        ("(exporter)",),
    )
)
BUILD_INFO = _d(
    info(
        "fctarget_exporter_build_info",
        "A metric with a constant '1' value labelled by version and Python version.",
        ("version", "python_version"),
        ("(exporter)",),
    )
)
