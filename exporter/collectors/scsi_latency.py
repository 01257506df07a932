"""How the target answers: per-LUN command latency, SCSI status counts and commands in flight,
from the kernel's target tracepoints through a libbpf CO-RE eBPF program. Off by default.

All I/O is in exporter/readers/scsi_latency.py (loading the object, reading its maps); the
parsing is exporter/parsers/scsi_latency.py. Here: the options, start/stop of the tracer, and
the mapping of the maps to the families of exporter/catalogue/scsi_latency.py.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from exporter.catalogue import scsi_latency as C
from exporter.collector import CollectorContext, Output, SnapshotCollector, register
from exporter.flagtypes import positive_seconds
from exporter.parsers.scsi_latency import BOUNDS_SECONDS, UNTIMED_REASONS, resolve
from exporter.readers.problems import Problems
from exporter.readers.scsi_latency import DEFAULT_OBJECT, Tracer, TracerConfig, TracerState

OBJECT = "tracer"


@dataclass(frozen=True)
class ScsiLatencyOptions:
    object_path: str = ""  # empty: DEFAULT_OBJECT, next to the package
    max_in_flight: int = 16384  # entries of the LRU start map
    initiator_label: bool = False
    retry: float = 60.0  # seconds between attempts to start the tracer

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ScsiLatencyOptions:
        return cls(
            object_path=str(args.scsi_latency_object),
            max_in_flight=int(args.scsi_latency_max_in_flight),
            initiator_label=bool(args.scsi_latency_initiator_label),
            retry=float(args.scsi_latency_retry),
        )


def _entries(text: str) -> int:
    n = int(text)
    if not 64 <= n <= 1 << 22:
        raise argparse.ArgumentTypeError(f"{text}: between 64 and {1 << 22}")
    return n


@dataclass(frozen=True)
class ScsiLatencySnapshot:
    state: TracerState


@register
class ScsiLatencyCollector(SnapshotCollector[ScsiLatencySnapshot]):
    name = "scsi_latency"
    description = (
        "per-LUN SCSI command latency, status and sense keys, commands in flight, from LIO's "
        "target tracepoints with eBPF (libbpf CO-RE; needs CAP_BPF+CAP_PERFMON or root)"
    )
    default_enabled = False

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        o = ScsiLatencyOptions
        group.add_argument(
            "--collector.scsi_latency.object",
            dest="scsi_latency_object",
            default=o.object_path,
            metavar="PATH",
            help="the compiled eBPF object (default: scsi_latency.bpf.o in the package's bpf/)",
        )
        group.add_argument(
            "--collector.scsi_latency.max-in-flight",
            dest="scsi_latency_max_in_flight",
            type=_entries,
            default=o.max_in_flight,
            metavar="N",
            help="commands timed at once (LRU start map; the oldest are evicted and counted) "
            f"(default {o.max_in_flight})",
        )
        group.add_argument(
            "--collector.scsi_latency.initiator-label",
            dest="scsi_latency_initiator_label",
            action="store_true",
            default=o.initiator_label,
            help="label series by initiator (one set of histograms per initiator and LUN)",
        )
        group.add_argument(
            "--collector.scsi_latency.retry",
            dest="scsi_latency_retry",
            type=positive_seconds,
            default=o.retry,
            metavar="SECONDS",
            help=f"retry loading the eBPF programs at most this often (default {o.retry:g})",
        )

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.options = ScsiLatencyOptions.from_args(ctx.args)
        config = TracerConfig(
            self.options.object_path or DEFAULT_OBJECT, self.options.max_in_flight
        )
        self.tracer = Tracer(ctx.paths, config)

    async def start(self) -> None:
        self.tracer.ensure_running(self.options.retry)

    async def stop(self) -> None:
        self.tracer.stop()

    def read(self, problems: Problems) -> ScsiLatencySnapshot:
        self.tracer.ensure_running(self.options.retry)
        state = self.tracer.read()
        if state.error is not None:
            problems.add(OBJECT, state.error[0], state.error[1])
        return ScsiLatencySnapshot(state)

    def emit(self, snapshot: ScsiLatencySnapshot, out: Output) -> None:
        emit_state(snapshot, self.options.initiator_label, out)


def emit_state(snapshot: ScsiLatencySnapshot, by_initiator: bool, out: Output) -> None:
    """Pure: the tracer's state and last dump as catalogue families."""
    st = snapshot.state
    out.family(C.TRACER_UP).add([], 1 if st.running else 0)
    if st.attach_seconds is not None:
        out.family(C.TRACER_ATTACH).add([], st.attach_seconds)
    if not st.running or st.dump is None:
        return
    snap = resolve(st.dump, by_initiator)
    hist = out.histogram(C.COMMAND_DURATION, BOUNDS_SECONDS)
    for lat in snap.latency:
        nx = lat.nexus
        labels = [nx.fabric, nx.target, nx.tpgt, nx.initiator, lat.lun, lat.op]
        hist.observe(labels, lat.buckets, lat.sum_seconds)
    comp = out.family(C.COMPLETIONS)
    for c in snap.completions:
        nx = c.nexus
        comp.add(
            [nx.fabric, nx.target, nx.tpgt, nx.initiator, c.lun, c.status, c.sense_key], c.count
        )
    flight, untimed = out.family(C.IN_FLIGHT), out.family(C.UNTIMED)
    for n in snap.nexus:
        nx = n.nexus
        labels = [nx.fabric, nx.target, nx.tpgt, nx.initiator]
        flight.add(labels, n.in_flight)
        for reason in UNTIMED_REASONS:
            untimed.add([*labels, reason], n.untimed.get(reason, 0))
