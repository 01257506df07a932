"""Per-port FC link state from the qla2xxx records of the kernel log. Pure: no I/O.

`LinkTracker.feed` takes the trusted kernel records the kmsg reader (exporter/readers/kmsg.py)
hands it, in log order, and keeps per port (PCI function, SCSI host) how often each link event
was logged, the wall-clock time of the last one, and whether the link is up by the last event
that says so. `snapshot()` is a frozen copy for the collector's emit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from exporter.parsers.kmsg import KmsgRecord
from exporter.parsers.qla2xxx_log import EVENTS, LINK_EFFECT, classify, parse_prefix

MESSAGE_CACHE = 4096  # distinct qla2xxx texts remembered (cleared when full)
MAX_PORTS = 4096  # bound on per-port state; real hosts have a handful of ports

# Why a qla2xxx record did not count as a link event (the `reason` label).
UNPARSED_REASONS = ("prefix", "message", "too_many_ports")

# (pci, host): host is None where the message did not say (the <= 3.0 prefix, the no-vha form).
PortKey = tuple[str, int | None]


@dataclass(frozen=True)
class PortLinks:
    events: Mapping[str, int]  # event -> times logged; only events seen
    last_ts: Mapping[str, float]  # event -> wall-clock seconds of the last one
    up: bool | None  # by the last event that says something about the link; None: none yet


@dataclass(frozen=True)
class LinksSnapshot:
    qla2xxx_records: int
    unparsed: Mapping[str, int]  # reason -> records, every reason present
    ports: Mapping[PortKey, PortLinks]


@dataclass
class _Port:
    events: dict[str, int] = field(default_factory=dict)
    last_ts: dict[str, float] = field(default_factory=dict)
    up: bool | None = None


class LinkTracker:
    """The state; `feed` is the kmsg reader's sink. Not thread-safe: the reader and the
    collector's snapshot both run on the event loop."""

    def __init__(self) -> None:
        self.qla2xxx_records = 0
        self.unparsed: dict[str, int] = dict.fromkeys(UNPARSED_REASONS, 0)
        self.ports: dict[PortKey, _Port] = {}
        # A LIP storm repeats the same few texts: remember what each text meant.
        self._seen: dict[str, str | tuple[PortKey, str]] = {}

    def feed(self, rec: KmsgRecord, timestamp: float) -> None:
        """One trusted record and its wall-clock time."""
        msg = rec.message
        if not msg.startswith("qla2xxx "):
            return
        self.qla2xxx_records += 1
        cached = self._seen.get(msg)
        if cached is None:
            cached = _interpret(msg)
            if len(self._seen) >= MESSAGE_CACHE:
                self._seen.clear()
            self._seen[msg] = cached
        if isinstance(cached, str):
            self.unparsed[cached] += 1
            return
        key, event = cached
        port = self.ports.get(key)
        if port is None:
            if len(self.ports) >= MAX_PORTS:
                self.unparsed["too_many_ports"] += 1
                return
            port = self.ports[key] = _Port()
        port.events[event] = port.events.get(event, 0) + 1
        port.last_ts[event] = timestamp
        effect = LINK_EFFECT.get(event)
        if effect is not None:
            port.up = effect

    def snapshot(self) -> LinksSnapshot:
        return LinksSnapshot(
            qla2xxx_records=self.qla2xxx_records,
            unparsed=dict(self.unparsed),
            ports={
                k: PortLinks(dict(p.events), dict(p.last_ts), p.up) for k, p in self.ports.items()
            },
        )


def _interpret(msg: str) -> str | tuple[PortKey, str]:
    """(port, event) of a qla2xxx message, or the `unparsed` reason."""
    try:
        qm = parse_prefix(msg)
    except ValueError:
        return "prefix"
    event = classify(qm.text)
    if event is None:
        return "message"
    return (qm.pci, qm.host), event


assert set(LINK_EFFECT) <= set(EVENTS)
