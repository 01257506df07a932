"""Flood control of the kmsg follower (exporter/readers/kmsg.py): how long it may work at a time.

Its constants are read at run time, so bench/bench_kmsg.py can try other values.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

# Flood control. The follower runs on the event-loop thread; while records keep coming it works
# for at most FLOOD_SLICE seconds, then sleeps FLOOD_PAUSE in epoll. Merely yielding
# (asyncio.sleep(0)) would keep the GIL on this thread, and a scrape's worker threads would wait
# for the interpreter's 5 ms switch interval at every hop; sleeping hands them the GIL at once.
# This caps the follower at FLOOD_SLICE / (FLOOD_SLICE + FLOOD_PAUSE) of one core during a flood;
# the kernel ring buffer holds the backlog and overruns are counted.
FLOOD_SLICE = 0.0005
FLOOD_PAUSE = 0.0005
# While a scrape is running (from its start until every collector is done, at most SCRAPE_WINDOW
# seconds) back off to ~1% duty, so a LIP storm costs the scrape almost nothing
# (bench/bench_kmsg.py: +16% scrape time at 10% duty, +1% at 1%). Scrapes take a small part of
# the scrape interval, so the drain rate between scrapes is what bounds the backlog.
SCRAPE_SLICE = 0.0001
SCRAPE_PAUSE = 0.01
SCRAPE_WINDOW = 1.0


class Paced(Protocol):
    scrape_until: float  # perf_counter() time until which a scrape may be running


class Throttle:
    """Sleeps after every slice of work during a flood (see FLOOD_SLICE)."""

    __slots__ = ("deadline", "owner")

    def __init__(self, owner: Paced) -> None:
        self.owner = owner
        self.deadline = 0.0
        self.reset()

    def reset(self) -> None:
        now = time.perf_counter()
        self.deadline = now + (SCRAPE_SLICE if now < self.owner.scrape_until else FLOOD_SLICE)

    async def tick(self) -> None:
        now = time.perf_counter()
        if now >= self.deadline:
            await asyncio.sleep(SCRAPE_PAUSE if now < self.owner.scrape_until else FLOOD_PAUSE)
            self.reset()
