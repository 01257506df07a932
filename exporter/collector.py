"""The small interface every collector implements, and the builder it emits metrics with."""

from __future__ import annotations

import abc
import argparse
import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from exporter.catalogue import spec
from exporter.logsetup import RateLimitedLog
from exporter.paths import HostPaths
from exporter.readers.problems import Problems

NAMESPACE = "fctarget"


class Family:
    """One metric family under construction; `add` appends a sample.

    Samples are kept as (label values, value) rows rather than prometheus_client Sample objects:
    building a dict per sample is the dominant cost on large hosts, and the encoder
    (exporter/encode.py) renders rows directly.
    """

    __slots__ = ("documentation", "kind", "labelnames", "name", "rows")

    def __init__(self, name: str, documentation: str, kind: str, labelnames: Sequence[str]) -> None:
        self.name = name  # counters: without the _total suffix, as prometheus_client keeps it
        self.documentation = documentation
        self.kind = kind  # "counter" | "gauge"
        self.labelnames = tuple(labelnames)
        self.rows: dict[tuple[str, ...], float] = {}

    def add(self, labelvalues: Sequence[str], value: float) -> None:
        key = tuple(labelvalues)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name}: {len(key)} label values for {self.labelnames}")
        # First one wins: a duplicate series would make the whole exposition invalid.
        self.rows.setdefault(key, float(value))

    @property
    def sample_name(self) -> str:
        return self.name + "_total" if self.kind == "counter" else self.name

    @property
    def metric(self) -> Metric:
        return self.to_metric()

    def to_metric(self) -> Metric:
        """The equivalent prometheus_client family (tests and the reference encoder use it)."""
        metric: Metric
        if self.kind == "counter":
            metric = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        else:
            metric = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        metric.samples = []
        for key, value in self.rows.items():
            metric.add_sample(self.sample_name, dict(zip(self.labelnames, key, strict=True)), value)
        return metric


class HistogramFamily(Family):
    """A classic histogram family: per series the cumulative bucket counts at fixed `le`
    bounds (+Inf last) and the sum. The encoder renders it through prometheus_client's own
    histogram encoding (exporter/encode.py)."""

    __slots__ = ("bounds", "series")

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], bounds: Sequence[float]
    ) -> None:
        super().__init__(name, documentation, "histogram", labelnames)
        self.bounds = tuple(bounds)  # finite upper bounds, ascending; +Inf is implied
        self.series: dict[tuple[str, ...], tuple[tuple[float, ...], float]] = {}

    def observe(
        self, labelvalues: Sequence[str], cumulative: Sequence[float], total: float
    ) -> None:
        """`cumulative`: one count per bound, then the +Inf count (= the series' count)."""
        key = tuple(labelvalues)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name}: {len(key)} label values for {self.labelnames}")
        if len(cumulative) != len(self.bounds) + 1:
            raise ValueError(f"{self.name}: {len(cumulative)} buckets for {len(self.bounds)}+1")
        self.series.setdefault(key, (tuple(float(c) for c in cumulative), float(total)))

    def to_metric(self) -> Metric:
        metric = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        les = [*(repr(float(b)) for b in self.bounds), "+Inf"]
        for key, (cumulative, total) in self.series.items():
            metric.add_metric(list(key), list(zip(les, cumulative, strict=True)), total)
        return metric


@dataclass
class Output:
    """What one collector produced in one scrape."""

    collector: str
    log: RateLimitedLog
    families: dict[str, Family] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def _family(self, name: str, doc: str, labelnames: Sequence[str], kind: str) -> Family:
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = Family(name, doc, kind, labelnames)
        return fam

    def family(self, metric: spec.Metric) -> Family:
        """The family declared by `metric` (exporter/catalogue), created on first use."""
        if metric.collector != self.collector:
            raise ValueError(f"{metric.name} is served by {metric.collector}, not {self.collector}")
        return self._family(metric.name, metric.help, metric.labels, metric.prom_type)

    def histogram(self, metric: spec.Metric, bounds: Sequence[float]) -> HistogramFamily:
        """The histogram family declared by `metric`, with these finite `le` bounds."""
        if metric.collector != self.collector or metric.kind != "histogram":
            raise ValueError(f"{metric.name} is not a histogram served by {self.collector}")
        fam = self.families.get(metric.name)
        if fam is None:
            fam = self.families[metric.name] = HistogramFamily(
                metric.name, metric.help, metric.labels, bounds
            )
        if not isinstance(fam, HistogramFamily):
            raise ValueError(f"{metric.name} was created as a {fam.kind}")
        return fam

    def report(self, problems: Problems) -> None:
        """Every partial failure a reader met: logged once per key, the collector fails."""
        for p in problems.items:
            self.error(p.key, p.message, origin=p.origin)

    def error(self, key: str, message: str, *, origin: str = "", **fields: object) -> None:
        """A partial failure: logged once per key (rate-limited); the collector reports failure.
        The log line names the caller's source line, or `origin` (where a reader met it)."""
        self.errors.append(key)
        self.log.error(
            key, message, origin=origin, stacklevel=2, collector=self.collector, **fields
        )

    def metrics(self) -> list[Family]:
        return list(self.families.values())


@dataclass
class CollectorContext:
    paths: HostPaths
    args: argparse.Namespace
    log: logging.Logger
    errlog: RateLimitedLog


class Collector(abc.ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    default_enabled: ClassVar[bool] = True

    def __init__(self, ctx: CollectorContext) -> None:
        self.ctx = ctx

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        """Collector-specific flags, named --collector.<name>.<option>."""

    async def start(self) -> None:
        """Start long-lived work (a log follower); called once before the first scrape."""

    async def stop(self) -> None:
        """Stop what start() started."""

    def scrape_finished(self) -> None:
        """Every collector of this scrape is done (a background task may speed up again)."""

    @abc.abstractmethod
    async def collect(self, out: Output) -> None:
        """Add this scrape's metrics to `out`."""


class ThreadedCollector(Collector):
    """A collector whose file I/O and parsing run in one worker-thread batch per scrape."""

    async def collect(self, out: Output) -> None:
        await asyncio.to_thread(self.collect_blocking, out)

    @abc.abstractmethod
    def collect_blocking(self, out: Output) -> None:
        """Read, parse and emit; runs in a worker thread, never on the event loop."""


S = TypeVar("S")


class SnapshotCollector(ThreadedCollector, Generic[S]):
    """The normal shape: `read` asks this collector's reader(s) for a typed snapshot (all the
    I/O, in a worker thread), `emit` maps the snapshot to catalogue families without any I/O."""

    def collect_blocking(self, out: Output) -> None:
        problems = Problems(self.name)
        snapshot = self.read(problems)
        out.report(problems)
        self.emit(snapshot, out)

    @abc.abstractmethod
    def read(self, problems: Problems) -> S:
        """Call the reader(s); partial failures go into `problems`."""

    @abc.abstractmethod
    def emit(self, snapshot: S, out: Output) -> None:
        """Pure: snapshot in, families out (through `out.family(CATALOGUE_ENTRY)`)."""


REGISTRY: dict[str, type[Collector]] = {}

C = TypeVar("C", bound=type[Collector])


def register(cls: C) -> C:
    if cls.name in REGISTRY:
        raise ValueError(f"collector {cls.name} registered twice")
    REGISTRY[cls.name] = cls
    return cls
