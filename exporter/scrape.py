"""One scrape: all enabled collectors at once, under a timeout, shared by concurrent callers."""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Sequence

from exporter import __version__
from exporter.catalogue.scrape import BUILD_INFO, COLLECTOR_DURATION, COLLECTOR_SUCCESS
from exporter.collector import Collector, Family, Output
from exporter.encode import Encoder, Exposable
from exporter.logsetup import RateLimitedLog

LOG = logging.getLogger("fctarget_exporter.scrape")


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
        self.encoder = Encoder()
        self._inflight: asyncio.Future[list[Exposable]] | None = None
        self._busy: set[str] = set()

    @property
    def busy(self) -> list[str]:
        """Collectors whose worker thread is still running (stuck in a read, say)."""
        return sorted(self._busy)

    async def start(self) -> None:
        for c in self.collectors:
            await c.start()

    async def stop(self) -> None:
        for c in self.collectors:
            try:
                await c.stop()
            except Exception:  # shutting down: log and continue
                LOG.exception("collector %s failed to stop", c.name)

    async def collect(self) -> list[Exposable]:
        """Collect once; concurrent callers share the collection already in flight."""
        if self._inflight is not None and not self._inflight.done():
            return await asyncio.shield(self._inflight)
        fut: asyncio.Future[list[Exposable]] = asyncio.get_running_loop().create_future()
        self._inflight = fut
        try:
            result = await self._collect_all()
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: this caller re-raises it
            raise
        fut.set_result(result)
        return result

    async def _run_one(self, c: Collector) -> tuple[Output, float, bool]:
        out = Output(c.name, self.errlog)
        if c.name in self._busy:
            # The previous scrape's worker thread is still stuck in a read (threads cannot be
            # cancelled): do not pile another one up behind it.
            out.error(f"{c.name}:busy", "collector still busy from a previous scrape; skipped")
            return out, 0.0, False
        start = time.perf_counter()
        ok = True
        self._busy.add(c.name)
        task = asyncio.ensure_future(c.collect(out))
        name = c.name
        task.add_done_callback(lambda _t: self._busy.discard(name))
        try:
            await asyncio.wait_for(asyncio.shield(task), self.timeout)
        except TimeoutError:
            ok = False
            # The worker may still be adding samples: serve none of this collector's series.
            out = Output(c.name, self.errlog)
            out.error(f"{c.name}:timeout", f"collector timed out after {self.timeout}s")
        except Exception as exc:  # noqa: BLE001 - isolating collectors is the point
            ok = False
            out.error(f"{c.name}:{type(exc).__name__}:{exc}", f"collector failed: {exc!r}")
        return out, time.perf_counter() - start, ok and not out.errors

    async def _collect_all(self) -> list[Exposable]:
        results = await asyncio.gather(*(self._run_one(c) for c in self.collectors))
        for c in self.collectors:
            c.scrape_finished()
        meta = Output("scrape", self.errlog)
        duration = meta.family(COLLECTOR_DURATION)
        success = meta.family(COLLECTOR_SUCCESS)
        items: list[Exposable] = []
        for out, secs, ok in results:
            items.extend(out.metrics())
            duration.add([out.collector], secs)
            success.add([out.collector], 1.0 if ok else 0.0)
        meta.family(BUILD_INFO).add([__version__, platform.python_version()], 1.0)
        items.extend(meta.metrics())
        for extra in self.extra:
            items.extend(extra.collect())  # type: ignore[attr-defined]
        return items

    async def render(self, openmetrics: bool = False) -> bytes:
        items = await self.collect()
        # Encoding a large scrape takes long enough to starve the kmsg follower: off the loop.
        return await asyncio.to_thread(self.encoder.encode, items, openmetrics)

    @staticmethod
    def failed(items: Sequence[Exposable]) -> list[str]:
        """Names of collectors that reported failure in `items`."""
        for item in items:
            if isinstance(item, Family) and item.name == COLLECTOR_SUCCESS.name:
                return [key[0] for key, value in item.rows.items() if value == 0]
        return []
