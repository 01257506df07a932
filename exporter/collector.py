"""The small interface every collector implements, and the builder it emits metrics with."""

from __future__ import annotations

import abc
import argparse
import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporter.logsetup import RateLimitedLog
from exporter.paths import HostPaths

NAMESPACE = "fctarget"


class Family:
    """One metric family under construction; `add` appends a sample."""

    __slots__ = ("_seen", "labelnames", "metric")

    def __init__(self, metric: Metric, labelnames: Sequence[str]) -> None:
        self.metric = metric
        self.labelnames = tuple(labelnames)
        self._seen: set[tuple[str, ...]] = set()

    def add(self, labelvalues: Sequence[str], value: float) -> None:
        key = tuple(labelvalues)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.metric.name}: {len(key)} label values for {self.labelnames}")
        if key in self._seen:  # a duplicate series would make the whole exposition invalid
            return
        self._seen.add(key)
        labels = dict(zip(self.labelnames, key, strict=True))
        name = self.metric.name + ("_total" if self.metric.type == "counter" else "")
        self.metric.add_sample(name, labels, float(value))


@dataclass
class Output:
    """What one collector produced in one scrape."""

    collector: str
    log: RateLimitedLog
    families: dict[str, Family] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def _family(self, name: str, doc: str, labelnames: Sequence[str], kind: str) -> Family:
        fam = self.families.get(name)
        if fam is not None:
            return fam
        metric: Metric
        if kind == "counter":
            metric = CounterMetricFamily(name, doc, labels=list(labelnames))
        else:
            metric = GaugeMetricFamily(name, doc, labels=list(labelnames))
        metric.samples = []
        fam = Family(metric, labelnames)
        self.families[name] = fam
        return fam

    def gauge(self, name: str, doc: str, labelnames: Sequence[str] = ()) -> Family:
        return self._family(name, doc, labelnames, "gauge")

    def counter(self, name: str, doc: str, labelnames: Sequence[str] = ()) -> Family:
        """`name` without `_total`; the exposition adds it."""
        return self._family(name.removesuffix("_total"), doc, labelnames, "counter")

    def info(self, name: str, doc: str, labelnames: Sequence[str] = ()) -> Family:
        """A gauge named `*_info` whose samples are always 1 and carry identity labels."""
        if not name.endswith("_info"):
            raise ValueError(f"info metric {name} must end in _info")
        return self._family(name, doc, labelnames, "gauge")

    def error(self, key: str, message: str, **fields: object) -> None:
        """A partial failure: logged once per key (rate-limited); the collector reports failure."""
        self.errors.append(key)
        self.log.error(key, message, collector=self.collector, **fields)

    def metrics(self) -> list[Metric]:
        return [f.metric for f in self.families.values()]


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


REGISTRY: dict[str, type[Collector]] = {}

C = TypeVar("C", bound=type[Collector])


def register(cls: C) -> C:
    if cls.name in REGISTRY:
        raise ValueError(f"collector {cls.name} registered twice")
    REGISTRY[cls.name] = cls
    return cls
