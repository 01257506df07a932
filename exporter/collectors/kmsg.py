"""FC link events and link state per port from the qla2xxx messages in the kernel log.

The reader (exporter/readers/kmsg.py) follows the log for the life of the process and feeds the
link tracker (exporter/parsers/qla2xxx_links.py). A scrape catches up with the log, copies both
states on the event loop (the follower cannot interleave), lists the qla2xxx ports in a worker
thread, and emits the families of exporter/catalogue/kmsg.py from that snapshot without I/O.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from exporter.catalogue import kmsg as cat
from exporter.collector import Collector, CollectorContext, Output, register
from exporter.parsers.qla2xxx_links import LinksSnapshot, LinkTracker, PortKey
from exporter.parsers.qla2xxx_log import EVENTS
from exporter.paths import HostPaths
from exporter.readers import pci
from exporter.readers.kmsg import OBJECT, FollowerConfig, KmsgFollower, KmsgState
from exporter.readers.problems import Problems

# PCI function -> SCSI host numbers of its ports, for every function bound to qla2xxx.
QlaPorts = Mapping[str, tuple[int, ...]]


def qla2xxx_ports(paths: HostPaths) -> QlaPorts:
    """The qla2xxx ports sysfs knows, by PCI function (blocking: run in a worker thread)."""
    ports: dict[str, list[int]] = {}
    for port in pci.qla2xxx_ports(paths):
        ports.setdefault(port.pci, []).append(port.host_number)
    return {bdf: tuple(numbers) for bdf, numbers in ports.items()}


@dataclass(frozen=True)
class KmsgOptions:
    """--collector.kmsg.* flags; the field defaults are the flag defaults."""

    accept_user_records: bool = False
    poll_interval: float = 1.0  # seconds

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> KmsgOptions:
        poll = float(args.kmsg_poll_interval) or cls.poll_interval
        return cls(bool(args.kmsg_accept_user_records), max(poll, 0.01))


@dataclass(frozen=True)
class KmsgSnapshot:
    reader: KmsgState
    links: LinksSnapshot
    ports: QlaPorts


def host_label(host: int | None) -> str:
    return "" if host is None else f"host{host}"


@register
class KmsgCollector(Collector):
    name = "kmsg"
    description = "FC link events and link state from qla2xxx messages in /dev/kmsg"

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--collector.kmsg.accept-user-records",
            dest="kmsg_accept_user_records",
            action="store_true",
            default=KmsgOptions.accept_user_records,
            help="also trust records written to the log from user space (facility != 0); only "
            "for tests and demos: otherwise any local root process could fake link events",
        )
        group.add_argument(
            "--collector.kmsg.poll-interval",
            dest="kmsg_poll_interval",
            type=float,
            default=KmsgOptions.poll_interval,
            metavar="SECONDS",
            help="how often a regular file given as --path.kmsg is checked for appended "
            f"records (default {KmsgOptions.poll_interval:g})",
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.options = KmsgOptions.from_args(ctx.args)
        self.links = LinkTracker()
        config = FollowerConfig(
            ctx.paths.kmsg,
            procfs=ctx.paths.procfs,
            accept_user_records=self.options.accept_user_records,
            poll_interval=self.options.poll_interval,
        )
        self.follower = KmsgFollower(config, self.links.feed, ctx.errlog)
        timeout = float(ctx.args.collector_timeout)
        # Wait for the records present at start (ring buffer / saved file), but finish the
        # scrape inside the collector timeout even if that takes longer.
        self.sync_wait = max(0.05, min(timeout * 0.8, timeout - 0.5))

    async def start(self) -> None:
        self.follower.start()

    async def stop(self) -> None:
        await self.follower.stop()

    def scrape_finished(self) -> None:
        self.follower.scrape_finished()

    async def collect(self, out: Output) -> None:
        problems = Problems(self.name)
        snapshot = await self.read(problems)
        out.report(problems)
        self.emit(snapshot, out)

    async def read(self, problems: Problems) -> KmsgSnapshot:
        """Catch up with the log, copy the state; partial failures go into `problems`."""
        follower = self.follower
        if not follower.initial_sync.is_set():
            # The backlog is what this scrape waits for: read it at full speed, no back-off.
            try:
                await asyncio.wait_for(follower.initial_sync.wait(), self.sync_wait)
            except TimeoutError:
                problems.add(OBJECT, "sync", "still reading the records present at start")
        follower.scrape_started()
        await follower.catch_up()
        reader, links = follower.snapshot(), self.links.snapshot()  # on the loop: consistent
        if reader.error is not None:
            # The follower logged it when it happened; the rate limiter keeps this one quiet.
            problems.add(OBJECT, reader.error.what, reader.error.message)
        ports = await asyncio.to_thread(qla2xxx_ports, self.ctx.paths)
        return KmsgSnapshot(reader, links, ports)

    @staticmethod
    def emit(snapshot: KmsgSnapshot, out: Output) -> None:
        """Pure: the snapshot's families (exporter/catalogue/kmsg.py)."""
        _emit_links(snapshot.links, snapshot.ports, out)
        _emit_reader(snapshot.reader, snapshot.links, out)


def _sort_key(key: PortKey) -> tuple[str, int]:
    return key[0], -1 if key[1] is None else key[1]


def _emit_links(links: LinksSnapshot, ports: QlaPorts, out: Output) -> None:
    events = out.family(cat.LINK_EVENTS)
    last = out.family(cat.LINK_LAST_EVENT_TIMESTAMP)
    up = out.family(cat.LINK_UP)
    # Ports bound to the driver get their event counters from the start (at 0), so that
    # increase() sees the first event after an exporter restart.
    silent = {(pci, host) for pci, hosts in ports.items() for host in hosts}
    for key in sorted(links.ports, key=_sort_key):
        port = links.ports[key]
        pci, host = key
        if host is None:
            # The old prefix names no host: drivers/scsi/hosts.c makes the Scsi_Host device
            # `host%d` a child of the PCI function's (scsi_add_host(shost, &pdev->dev)).
            host = min(ports.get(pci, ()), default=None)
        labels = (pci, host_label(host))
        silent.discard((pci, host))
        for ev in EVENTS:
            n = port.events.get(ev, 0)
            events.add((*labels, ev), n)
            if n:
                last.add((*labels, ev), port.last_ts[ev])
        if port.up is not None:
            up.add(labels, 1.0 if port.up else 0.0)
    for pci, host_no in sorted(silent):  # qla2xxx ports the log never named
        for ev in EVENTS:
            events.add((pci, host_label(host_no), ev), 0)


def _emit_reader(reader: KmsgState, links: LinksSnapshot, out: Output) -> None:
    out.family(cat.RECORDS).add((), reader.records)
    out.family(cat.RECORDS_LOST).add((), reader.lost)
    out.family(cat.OVERRUNS).add((), reader.overruns)
    out.family(cat.MALFORMED_RECORDS).add((), reader.malformed)
    out.family(cat.USER_RECORDS_IGNORED).add((), reader.user_ignored)
    out.family(cat.QLA2XXX_RECORDS).add((), links.qla2xxx_records)
    unparsed = out.family(cat.QLA2XXX_UNPARSED_RECORDS)
    for reason in sorted(links.unparsed):
        unparsed.add((reason,), links.unparsed[reason])
    out.family(cat.FOLLOWER_UP).add((), 1.0 if reader.up else 0.0)
