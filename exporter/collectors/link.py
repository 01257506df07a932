"""FC link events, link state and speed per port from the qla2xxx messages in the kernel log.

The follower (exporter/kmsg_follow.py) runs for the life of the process; a scrape only copies its
state, resolves PCI -> SCSI host where the log did not say (old message prefix) and cross-checks
the link state with fc_host `port_state`, in one worker-thread batch.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Iterable

from exporter.collector import Collector, CollectorContext, Output, register
from exporter.fsread import listdir, read_attr
from exporter.kmsg_follow import KmsgFollower, LinkTracker, PortState, TrackerSnapshot
from exporter.parsers.qla2xxx_log import EVENTS

_HOST_DIR = re.compile(r"host(\d+)")

PortKey = tuple[str, int | None]


def host_label(host: int | None) -> str:
    return "" if host is None else f"host{host}"


@register
class KmsgCollector(Collector):
    name = "kmsg"
    description = "FC link events, link state and speed from qla2xxx messages in /dev/kmsg"

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--collector.kmsg.accept-user-records",
            dest="kmsg_accept_user_records",
            action="store_true",
            help="also trust records written to the log from user space (facility != 0); only "
            "for tests and demos: otherwise any local root process could fake link events",
        )
        group.add_argument(
            "--collector.kmsg.poll-interval",
            dest="kmsg_poll_interval",
            type=float,
            default=1.0,
            metavar="SECONDS",
            help="how often a regular file given as --path.kmsg is checked for appended "
            "records (default 1)",
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        args = ctx.args
        self.tracker = LinkTracker(
            accept_user_records=bool(getattr(args, "kmsg_accept_user_records", False))
        )
        poll = float(getattr(args, "kmsg_poll_interval", 1.0) or 1.0)
        self.follower = KmsgFollower(
            ctx.paths.kmsg,
            self.tracker,
            log=ctx.log,
            errlog=ctx.errlog,
            procfs=ctx.paths.procfs,
            poll_interval=max(poll, 0.01),
        )
        timeout = float(getattr(args, "collector_timeout", 10.0) or 10.0)
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
        follower = self.follower
        follower.scrape_started()
        if not follower.initial_sync.is_set():
            try:
                await asyncio.wait_for(follower.initial_sync.wait(), self.sync_wait)
            except TimeoutError:
                out.error("kmsg:sync", "still reading the records present at start")
        await follower.catch_up()
        snap = self.tracker.snapshot()  # on the event loop: the follower cannot interleave
        sysinfo, known = await asyncio.to_thread(self._read_sysfs, list(snap.ports))
        self._emit(out, snap, sysinfo, known)
        if follower.error is not None and follower.error_key is not None:
            # The follower logged it (once, rate-limited) when it happened; only mark failure.
            out.errors.append(follower.error_key)

    def _read_sysfs(
        self, keys: Iterable[PortKey]
    ) -> tuple[dict[PortKey, tuple[int | None, str | None]], dict[tuple[str, int], str | None]]:
        """Per port seen in the log: the SCSI host number (from the log, else sysfs) and fc_host
        port_state; and every qla2xxx port sysfs knows, with its port_state."""
        paths = self.ctx.paths
        out: dict[PortKey, tuple[int | None, str | None]] = {}
        hosts_of_pci: dict[str, int | None] = {}
        known: dict[tuple[str, int], str | None] = {}
        # Ports bound to the driver get their event counters from the start (at 0), so that
        # increase() sees the first event after an exporter restart.
        for pci in listdir(paths.sys("bus", "pci", "drivers", "qla2xxx")):
            for e in listdir(paths.sys("bus", "pci", "devices", pci)):
                if (m := _HOST_DIR.fullmatch(e)) is not None:
                    n = int(m.group(1))
                    known[(pci, n)] = read_attr(
                        paths.sys("class", "fc_host", f"host{n}", "port_state")
                    )
        for key in keys:
            pci, host = key
            if host is None:
                if pci not in hosts_of_pci:
                    # drivers/scsi/hosts.c: the Scsi_Host device `host%d` is a child of the PCI
                    # function's device (scsi_add_host(shost, &pdev->dev)).
                    found = [
                        int(m.group(1))
                        for e in listdir(paths.sys("bus", "pci", "devices", pci))
                        if (m := _HOST_DIR.fullmatch(e)) is not None
                    ]
                    hosts_of_pci[pci] = min(found) if found else None
                host = hosts_of_pci[pci]
            state = None
            if host is not None:
                # drivers/scsi/scsi_transport_fc.c: fc_host port_state, e.g. "Online", "Linkdown"
                state = read_attr(paths.sys("class", "fc_host", f"host{host}", "port_state"))
            out[key] = (host, state)
        return out, known

    def _emit(
        self,
        out: Output,
        snap: TrackerSnapshot,
        sysinfo: dict[PortKey, tuple[int | None, str | None]],
        known: dict[tuple[str, int], str | None],
    ) -> None:
        events = out.counter(
            "fctarget_link_events",
            "qla2xxx link events seen in the kernel log, by port and event (see README for which "
            "are logged by default).",
            ["pci", "host", "event"],
        )
        last = out.gauge(
            "fctarget_link_last_event_timestamp_seconds",
            "Wall-clock time of the last such event (kernel timestamp + boot time).",
            ["pci", "host", "event"],
        )
        up = out.gauge(
            "fctarget_link_up",
            "1 if the port's link is up: fc_host port_state Online where sysfs has it, else the "
            "last LOOP UP (1) / LOOP DOWN, LIP, cable unplugged (0) in the kernel log.",
            ["pci", "host"],
        )
        mismatch = out.gauge(
            "fctarget_link_state_mismatch",
            "1 if the kernel log's last link event and fc_host port_state disagree.",
            ["pci", "host"],
        )
        speed = out.gauge(
            "fctarget_link_speed_bytes_per_second",
            "Nominal speed printed by the last 'LOOP UP detected (N Gbps)', in bytes per second "
            "(N * 10^9 / 8; absent for '?').",
            ["pci", "host"],
        )
        for key in sorted(snap.ports, key=lambda k: (k[0], -1 if k[1] is None else k[1])):
            port: PortState = snap.ports[key]
            host, state = sysinfo.get(key, (key[1], None))
            labels = [key[0], host_label(host)]
            if host is not None:
                known.pop((key[0], host), None)
            for ev in EVENTS:
                n = port.events.get(ev, 0)
                events.add([*labels, ev], n)
                if n:
                    last.add([*labels, ev], port.last_ts[ev])
            fc_up = None if state is None else state == "Online"
            if fc_up is not None:
                up.add(labels, 1.0 if fc_up else 0.0)
                if port.up is not None:
                    mismatch.add(labels, 0.0 if port.up == fc_up else 1.0)
            elif port.up is not None:
                up.add(labels, 1.0 if port.up else 0.0)
            if port.speed_gbps is not None:
                speed.add(labels, port.speed_gbps * 1e9 / 8)  # base unit: bytes
        for (pci, host_no), state in sorted(known.items()):  # qla2xxx ports the log never named
            labels = [pci, host_label(host_no)]
            for ev in EVENTS:
                events.add([*labels, ev], 0)
            if state is not None:
                up.add(labels, 1.0 if state == "Online" else 0.0)

        out.counter(
            "fctarget_kmsg_records",
            "Kernel log records read (all facilities).",
        ).add([], snap.records)
        out.counter(
            "fctarget_kmsg_records_lost",
            "Records overwritten in the kernel ring buffer before they were read (sequence gaps).",
        ).add([], snap.lost)
        out.counter(
            "fctarget_kmsg_overruns",
            "Times a read of /dev/kmsg failed with EPIPE (the reader fell behind the ring buffer).",
        ).add([], snap.overruns)
        out.counter(
            "fctarget_kmsg_malformed_records",
            "Records that are not in the /dev/kmsg record format.",
        ).add([], snap.malformed)
        out.counter(
            "fctarget_kmsg_user_records_ignored",
            "Records written from user space (facility != 0), ignored unless "
            "--collector.kmsg.accept-user-records.",
        ).add([], snap.user_ignored)
        out.counter(
            "fctarget_kmsg_qla2xxx_records",
            "Trusted records from qla2xxx.",
        ).add([], snap.qla2xxx_records)
        unparsed = out.counter(
            "fctarget_kmsg_unparsed_qla2xxx",
            "qla2xxx records not turned into a link event: reason=prefix (prefix not understood), "
            "message (not a link event message), too_many_ports.",
            ["reason"],
        )
        for reason in sorted(snap.unparsed):
            unparsed.add([reason], snap.unparsed[reason])
        out.gauge(
            "fctarget_kmsg_follower_up",
            "1 if the kernel log is open and being followed.",
        ).add([], 1.0 if self.follower.up and self.follower.error is None else 0.0)
