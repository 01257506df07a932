"""Families of the kmsg collector: qla2xxx link events in the kernel log, and the log follower."""

from __future__ import annotations

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, counter, gauge

KMSG = "/dev/kmsg"
# Ports bound to qla2xxx get their event counters at 0 from the start (see the collector).
QLA2XXX_PORTS = "/sys/bus/pci/drivers/qla2xxx/<pci>/host<N>"
PORT = ("pci", "host")


def _d(m: Metric) -> Metric:
    return declare("kmsg", m)


LINK_EVENTS = _d(
    counter(
        "fctarget_kmsg_link_events",
        "qla2xxx link events seen in the kernel log, by port and event (see README for which "
        "are logged by default).",
        (*PORT, "event"),
        (KMSG, QLA2XXX_PORTS),
    )
)
LINK_LAST_EVENT_TIMESTAMP = _d(
    gauge(
        "fctarget_kmsg_link_last_event_timestamp_seconds",
        "Wall-clock time of the last such event (kernel timestamp + boot time).",
        (*PORT, "event"),
        (KMSG, "/proc/stat"),
        unit="seconds",
    )
)
LINK_UP = _d(
    gauge(
        "fctarget_kmsg_link_up",
        "1 if the port's link is up by the kernel log: the last LOOP UP (1) / LOOP DOWN, LIP, "
        "cable unplugged (0); absent until the log has said either.",
        PORT,
        (KMSG,),
    )
)
RECORDS = _d(
    counter("fctarget_kmsg_records", "Kernel log records read (all facilities).", (), (KMSG,))
)
RECORDS_LOST = _d(
    counter(
        "fctarget_kmsg_records_lost",
        "Records overwritten in the kernel ring buffer before they were read (sequence gaps).",
        (),
        (KMSG,),
    )
)
OVERRUNS = _d(
    counter(
        "fctarget_kmsg_overruns",
        "Times a read of /dev/kmsg failed with EPIPE (the reader fell behind the ring buffer).",
        (),
        (KMSG,),
    )
)
MALFORMED_RECORDS = _d(
    counter(
        "fctarget_kmsg_malformed_records",
        "Records that are not in the /dev/kmsg record format.",
        (),
        (KMSG,),
    )
)
USER_RECORDS_IGNORED = _d(
    counter(
        "fctarget_kmsg_user_records_ignored",
        "Records written from user space (facility != 0), ignored unless "
        "--collector.kmsg.accept-user-records.",
        (),
        (KMSG,),
    )
)
QLA2XXX_RECORDS = _d(
    counter("fctarget_kmsg_qla2xxx_records", "Trusted records from qla2xxx.", (), (KMSG,))
)
QLA2XXX_UNPARSED_RECORDS = _d(
    counter(
        "fctarget_kmsg_qla2xxx_unparsed_records",
        "qla2xxx records not turned into a link event: reason=prefix (prefix not understood), "
        "message (not a link event message), too_many_ports.",
        ("reason",),
        (KMSG,),
    )
)
FOLLOWER_UP = _d(
    gauge(
        "fctarget_kmsg_follower_up",
        "1 if the kernel log is open and being followed.",
        (),
        (KMSG,),
    )
)
