"""Every metric family the exporter serves, declared once (see spec.py for the naming rule).

One module per collector declares its families with `declare(collector, metric)`; importing this
package imports them all, so `CATALOGUE` is complete.
"""

from __future__ import annotations

from dataclasses import replace

from exporter.catalogue.spec import Metric

CATALOGUE: dict[str, Metric] = {}


def declare(collector: str, metric: Metric) -> Metric:
    """Register `metric` as served by `collector`; returns it with the collector set."""
    full = replace(metric, collector=collector)
    full.check()
    if full.name in CATALOGUE:
        raise ValueError(f"{full.name} declared twice")
    CATALOGUE[full.name] = full
    return full


def by_sample_name() -> dict[str, Metric]:
    """Exposition sample name (counters with _total) -> declaration, for every collector."""
    return {m.sample_name: m for m in load_all().values()}


def load_all() -> dict[str, Metric]:
    """Import every collector's declarations (they live beside the collectors' own modules)."""
    from exporter.catalogue import (  # noqa: F401 - importing declares
        fc_host,
        fc_vport,
        hba,
        interrupts,
        kmsg,
        lio,
        lio_alua,
        qla2xxx,
        scrape,
        scsi_latency,
        sfp,
    )

    return CATALOGUE
