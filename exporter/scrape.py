"""One scrape: all enabled collectors at once, under a timeout, shared by concurrent callers."""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_latest_om

from exporter import __version__
from exporter.collector import Collector, Output
from exporter.logsetup import RateLimitedLog

LOG = logging.getLogger("fctarget_exporter.scrape")


class _Static:
    """Adapts a fixed list of metric families to prometheus_client's registry protocol."""

    def __init__(self, metrics: Sequence[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Sequence[Metric]:
        return self._metrics


def encode(metrics: Sequence[Metric], openmetrics: bool) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(metrics))
    if openmetrics:
        body: bytes = generate_latest_om(registry)  # type: ignore[no-untyped-call]
        return body
    return generate_latest(registry)


class Scraper:
    def __init__(
        self,
        collectors: Sequence[Collector],
        timeout: float,
        errlog: RateLimitedLog,
        extra: Sequence[object] = (),
    ) -> None:
        self.collectors = list(collectors)
        self.timeout = timeout
        self.errlog = errlog
        # prometheus_client collectors (process_*, python_*) served alongside ours
        self.extra = list(extra)
        self._inflight: asyncio.Future[list[Metric]] | None = None
        self._busy: set[str] = set()

    async def start(self) -> None:
        for c in self.collectors:
            await c.start()

    async def stop(self) -> None:
        for c in self.collectors:
            try:
                await c.stop()
            except Exception:  # shutting down: log and continue
                LOG.exception("collector %s failed to stop", c.name)

    async def collect(self) -> list[Metric]:
        """Collect once; concurrent callers share the collection already in flight."""
        if self._inflight is not None and not self._inflight.done():
            return await asyncio.shield(self._inflight)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[Metric]] = loop.create_future()
        self._inflight = fut
        try:
            result = await self._collect_all()
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: the caller re-raises it
            raise
        fut.set_result(result)
        return result

    async def _run_one(self, c: Collector) -> tuple[Output, float, bool]:
        out = Output(c.name, self.errlog)
        start = time.perf_counter()
        ok = True
        if c.name in self._busy:
            # The previous scrape's worker thread is still stuck in a read (threads cannot be
            # cancelled): do not pile up another one behind it.
            out.error(f"{c.name}:busy", "collector still busy from a previous scrape; skipped")
            return out, 0.0, False
        self._busy.add(c.name)
        task = asyncio.ensure_future(c.collect(out))
        name = c.name
        task.add_done_callback(lambda _t: self._busy.discard(name))
        try:
            await asyncio.wait_for(asyncio.shield(task), self.timeout)
        except TimeoutError:
            ok = False
            out.error(f"{c.name}:timeout", f"collector timed out after {self.timeout}s")
            out.families.clear()  # a half-written family set is worse than none
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            ok = False
            out.error(f"{c.name}:{type(exc).__name__}:{exc}", f"collector failed: {exc!r}")
        duration = time.perf_counter() - start
        return out, duration, ok and not out.errors

    async def _collect_all(self) -> list[Metric]:
        results = await asyncio.gather(*(self._run_one(c) for c in self.collectors))
        duration = GaugeMetricFamily(
            "fctarget_scrape_collector_duration_seconds",
            "Time a collector took in this scrape.",
            labels=["collector"],
        )
        success = GaugeMetricFamily(
            "fctarget_scrape_collector_success",
            "1 if the collector succeeded in this scrape, 0 if it failed (fully or partly).",
            labels=["collector"],
        )
        metrics: list[Metric] = []
        for out, secs, ok in results:
            metrics.extend(out.metrics())
            duration.add_metric([out.collector], secs)
            success.add_metric([out.collector], 1.0 if ok else 0.0)
        build = GaugeMetricFamily(
            "fctarget_exporter_build_info",
            "A metric with a constant '1' value labelled by version and Python version.",
            labels=["version", "python_version"],
        )
        build.add_metric([__version__, platform.python_version()], 1.0)
        metrics.extend([duration, success, build])
        for extra in self.extra:
            metrics.extend(extra.collect())  # type: ignore[attr-defined]
        return metrics

    async def render(self, openmetrics: bool = False) -> bytes:
        metrics = await self.collect()
        # Encoding 100k samples takes ~0.8 s: keep it off the event loop.
        return await asyncio.to_thread(encode, metrics, openmetrics)

    def failed(self, metrics: Sequence[Metric]) -> list[str]:
        """Names of collectors that reported failure in `metrics`."""
        out: list[str] = []
        for m in metrics:
            if m.name == "fctarget_scrape_collector_success":
                out.extend(s.labels["collector"] for s in m.samples if s.value == 0)
        return out
