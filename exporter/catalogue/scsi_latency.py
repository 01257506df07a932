"""Families of the scsi_latency collector: what LIO answered to each SCSI command, from the
kernel's target tracepoints (include/trace/events/target.h) through an eBPF program.

Labels: a nexus is (fabric, target, tpgt, initiator); `initiator` is empty unless
--collector.scsi_latency.initiator-label is given (cardinality: one series set per initiator).
"""

from __future__ import annotations

from exporter.catalogue import declare
from exporter.catalogue.spec import Metric, counter, gauge, histogram


def _d(m: Metric) -> Metric:
    return declare("scsi_latency", m)


START = "tracepoint target:target_sequencer_start"
COMPLETE = "tracepoint target:target_cmd_complete"
NEXUS = ("fabric", "target", "tpgt", "initiator")

COMMAND_DURATION = _d(
    histogram(
        "fctarget_scsi_command_duration_seconds",
        "Time from the CDB's arrival (target_cmd_init_cdb) to its status being sent, per LUN and "
        "op (read: READ(6/10/12/16), write: WRITE(6/10/12/16) and WRITE AND VERIFY, other), "
        "aggregated in the kernel; classic buckets at le = 2^k ns, k = 14..34 (16.4 us to "
        "17.2 s). Commands without a recorded start are not in it (see untimed_commands).",
        (*NEXUS, "lun", "op"),
        (START, COMPLETE),
        unit="seconds",
    )
)
COMPLETIONS = _d(
    counter(
        "fctarget_scsi_completions",
        "Commands completed per LUN by the SCSI status sent (good, check_condition, busy, "
        "reservation_conflict, task_set_full, task_aborted, ...; an unknown code as 0xNN) and, "
        "for check_condition, the sense key (illegal_request, unit_attention, ...).",
        (*NEXUS, "lun", "status", "sense_key"),
        (COMPLETE,),
    )
)
IN_FLIGHT = _d(
    gauge(
        "fctarget_scsi_commands_in_flight",
        "Commands received and not yet answered per nexus (started minus completed, evicted and "
        "lost), as of this scrape (entries of the in-kernel start map).",
        NEXUS,
        (START, COMPLETE),
    )
)
UNTIMED = _d(
    counter(
        "fctarget_scsi_untimed_commands",
        "Commands whose latency was not measured, by reason: evicted (the oldest start dropped "
        "from the bounded LRU start map, --collector.scsi_latency.max-in-flight), lost (a new "
        "command reused its address: it ended without a traced status, e.g. aborted without "
        "TAS), dropped (the start map was full), "
        "unmatched (completed without a recorded start: started before the tracer attached).",
        (*NEXUS, "reason"),
        (START, COMPLETE),
    )
)
TRACER_UP = _d(
    gauge(
        "fctarget_scsi_tracer_up",
        "1 while the eBPF programs (libbpf CO-RE) are attached to both target tracepoints and "
        "their maps are read; 0 when they could not be loaded (the log says why).",
        (),
        (START, COMPLETE),
    )
)
TRACER_ATTACH = _d(
    gauge(
        "fctarget_scsi_tracer_attach_duration_seconds",
        "Start-up cost: seconds from opening the eBPF object to both programs attached (CO-RE "
        "relocation against the kernel's BTF, verification).",
        (),
        (START, COMPLETE),
        unit="seconds",
    )
)
