"""Run one collector in process and read its samples back: the helpers the collector tests
share."""

from __future__ import annotations

from exporter.collector import Output, ThreadedCollector
from exporter.logsetup import LOG, RateLimitedLog
from exporter.simulate import SimulatedHost

Key = tuple[str, frozenset[tuple[str, str]]]


def samples(out: Output) -> dict[Key, float]:
    """Every sample by (name, labels); a series served twice fails the test."""
    got: dict[Key, float] = {}
    for m in out.metrics():
        for s in m.to_metric().samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in got, f"duplicate series {key}"
            got[key] = s.value
    return got


def collect(c: ThreadedCollector) -> tuple[dict[Key, float], Output]:
    """One collection of `c` in this thread: its samples and its Output (errors included)."""
    out = Output(c.name, RateLimitedLog(LOG))
    c.collect_blocking(out)
    return samples(out), out


def port_labels(sim: SimulatedHost, i: int, **extra: str) -> frozenset[tuple[str, str]]:
    """The (pci, host, wwpn) labels of simulated port `i`, plus `extra`."""
    p = sim.port(i)
    return frozenset({"pci": p.pci, "host": p.host, "wwpn": p.wwpn_colon, **extra}.items())
