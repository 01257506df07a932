"""Scrape orchestration: isolation, timeouts, single flight, scrape metadata."""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
import time
from collections.abc import Sequence

import pytest

from exporter.catalogue.spec import Kind, Metric
from exporter.collector import Collector, CollectorContext, Output, ThreadedCollector
from exporter.logsetup import RateLimitedLog
from exporter.paths import HostPaths
from exporter.scrape import Scraper

LOG = logging.getLogger("test")


def _m(name: str, collector: str, kind: Kind = "gauge", labels: tuple[str, ...] = ()) -> Metric:
    """A declaration for a test collector (not in the catalogue: these collectors are fakes)."""
    return Metric(name, kind, "Test.", labels, ("(test)",), collector)


def ctx() -> CollectorContext:
    return CollectorContext(HostPaths(), argparse.Namespace(), LOG, RateLimitedLog(LOG))


class Good(ThreadedCollector):
    name = "good"
    description = "works"
    calls = 0

    def collect_blocking(self, out: Output) -> None:
        type(self).calls += 1
        time.sleep(0.05)
        out.family(_m("fctarget_good_things", "good", "counter", ("k",))).add(["v"], 42)


class Broken(ThreadedCollector):
    name = "broken"
    description = "raises"

    def collect_blocking(self, out: Output) -> None:
        out.family(_m("fctarget_broken_partial", "broken")).add([], 1)
        with open("/nonexistent/file/for/test") as f:  # raises FileNotFoundError
            f.read()


class Partial(ThreadedCollector):
    name = "partial"
    description = "one bad file"

    def collect_blocking(self, out: Output) -> None:
        out.family(_m("fctarget_partial_ok", "partial")).add([], 7)
        out.error("partial:file", "bad file")


class Slow(Collector):
    name = "slow"
    description = "hangs"

    def __init__(self, c: CollectorContext, release: threading.Event) -> None:
        super().__init__(c)
        self.release = release

    async def collect(self, out: Output) -> None:
        out.family(_m("fctarget_slow_half", "slow")).add([], 1)
        await asyncio.to_thread(self.release.wait, 5)


def rows(items: Sequence[object], name: str) -> dict[tuple[str, ...], float]:
    for item in items:
        if getattr(item, "name", None) == name:
            return dict(item.rows)  # type: ignore[attr-defined]
    return {}


def test_failing_collectors_are_isolated() -> None:
    s = Scraper([Good(ctx()), Broken(ctx()), Partial(ctx())], 5.0, RateLimitedLog(LOG))
    items = asyncio.run(s.collect())
    assert rows(items, "fctarget_good_things") == {("v",): 42.0}
    # an exception keeps what was already added, the partial failure keeps its series
    assert rows(items, "fctarget_partial_ok") == {(): 7.0}
    success = rows(items, "fctarget_scrape_collector_success")
    assert success == {("good",): 1.0, ("broken",): 0.0, ("partial",): 0.0}
    assert set(rows(items, "fctarget_scrape_collector_duration_seconds")) == set(success)
    assert rows(items, "fctarget_scrape_collector_duration_seconds")[("good",)] >= 0.05
    assert sorted(Scraper.failed(items)) == ["broken", "partial"]
    text = s.encoder.encode(items).decode()
    assert 'fctarget_good_things_total{k="v"} 42.0' in text
    assert "fctarget_exporter_build_info{" in text


def test_timeout_drops_series_and_skips_while_busy() -> None:
    release = threading.Event()

    async def run() -> tuple[list[object], list[object]]:
        s = Scraper([Slow(ctx(), release), Good(ctx())], 0.2, RateLimitedLog(LOG))
        first = await s.collect()
        second = await s.collect()  # the slow worker is still blocked: skipped, not stacked
        release.set()
        return list(first), list(second)

    first, second = asyncio.run(run())
    for items in (first, second):
        assert rows(items, "fctarget_scrape_collector_success") == {("slow",): 0.0, ("good",): 1.0}
        assert rows(items, "fctarget_slow_half") == {}
        assert rows(items, "fctarget_good_things") == {("v",): 42.0}
    assert rows(second, "fctarget_scrape_collector_duration_seconds")[("slow",)] == 0.0


def test_concurrent_scrapes_share_one_collection() -> None:
    Good.calls = 0

    async def run() -> list[Sequence[object]]:
        s = Scraper([Good(ctx())], 5.0, RateLimitedLog(LOG))
        return list(await asyncio.gather(*(s.collect() for _ in range(5))))

    results = asyncio.run(run())
    assert Good.calls == 1
    assert all(r is results[0] for r in results)


def test_rate_limited_log(caplog: pytest.LogCaptureFixture) -> None:
    rl = RateLimitedLog(logging.getLogger("rl"), interval=3600)
    with caplog.at_level(logging.ERROR):
        assert rl.error("k1", "first")
        assert not rl.error("k1", "again")
        assert rl.error("k2", "other")
    assert [r.getMessage() for r in caplog.records] == ["first", "other"]


class Watcher(ThreadedCollector):
    name = "watcher"
    description = "records the scrape hooks"

    def __init__(self, c: CollectorContext) -> None:
        super().__init__(c)
        self.events: list[str] = []

    def collect_blocking(self, out: Output) -> None:
        self.events.append("collect")

    def scrape_finished(self) -> None:
        self.events.append("finished")


def test_scrape_finished_follows_every_collector() -> None:
    w = Watcher(ctx())
    s = Scraper([w, Broken(ctx())], 5.0, RateLimitedLog(LOG))
    asyncio.run(s.collect())
    assert w.events == ["collect", "finished"]
