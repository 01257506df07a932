"""The bpftrace program of the scsi_latency collector (run by exporter/readers/scsi_latency.py).

Hooks the two tracepoints of include/trace/events/target.h (since Linux 3.13):
`target_sequencer_start` (target_core_transport.c, target_cmd_init_cdb(): the CDB was received)
and `target_cmd_complete` (status about to be sent: target_complete_ok_work,
transport_generic_request_failure, target_handle_abort with TAS, target_send_busy,
transport_send_check_condition_and_sense). Their one argument, `struct se_cmd *`, is the only key
a command has (the events carry no tag), and the tracepoint records do not contain it. Debian
12's bpftrace 0.17 has no rawtracepoint probes, so the pointer is taken where the kernel passes
it on: each event's perf handler, perf_trace_<event>(void *, struct se_cmd *cmd)
(include/trace/perf.h), runs for exactly the events the tracepoint fires while a perf tracepoint
program is attached. The program therefore attaches an empty `tracepoint:target:*` program
(which registers the handler) and a kprobe on the handler (second argument: the pointer), which
does the work, reading members at offsets from this kernel's BTF (exporter/parsers/btf_offsets.py).
Measured on Debian 12's 6.1: the kernel refuses that kprobe (EINVAL; perf_trace_* are notrace),
so this program does not attach there yet; see docs/collectors.md, Status.

Everything is aggregated in the kernel, keyed by pointers (se_portal_group, se_node_acl) and
numbers, never by strings, so the JSON keys bpftrace prints ("a,b,c") split unambiguously; the
names behind the pointers are separate maps whose values are JSON arrays or strings.

Maps printed every interval (then a printf "end"):
  @fab[tpg], @wwn[tpg], @tpgt[tpg]  fabric_name, configfs wwn and tpgt dir names (strings)
  @ini[acl]            se_node_acl initiatorname
  @lat[tpg,acl,lun,c]  hist(nanoseconds start -> status, minus 1: bucket [2^k, 2^(k+1)-1]
                       is then (2^k, 2^(k+1)] ns, Prometheus's le); c: 0 other, 1 read, 2 write
  @latsum[tpg,acl,lun,c]  sum of the same nanoseconds
  @status[tpg,acl,lun,status,sense_key]  count() of every completion
  @started[tpg,acl], @done[tpg,acl]      commands timed from start, completed with a start
  @evicted[tpg,acl]    start entries dropped by the bounded ring (never completed in time)
  @lost[tpg,acl]       start entries replaced by a new command at the same address (ended
                       without a traced status: aborted without TAS)
  @dropped[tpg,acl]    starts not recorded (the start map was full)
  @unmatched[tpg,acl]  completions with no start recorded (started before attach, evicted)

Bounded: @st (one entry per command in flight) is limited by BPFTRACE_MAP_KEYS_MAX like every
map; a per-CPU ring of SLOTS entries remembers the last starts on each CPU, and a start still in
@st when its ring slot comes round again is evicted and counted, so @st never holds more than
SLOTS x CPUs entries whatever the initiators do.
"""

from __future__ import annotations

from collections.abc import Mapping

# READ(6/10/12/16) and WRITE(6/10/12/16), WRITE AND VERIFY(10/12/16) (include/scsi/scsi_proto.h)
READ_OPCODES = (0x08, 0x28, 0xA8, 0x88)
WRITE_OPCODES = (0x0A, 0x2A, 0xAA, 0x8A, 0x2E, 0xAE, 0x8E)

_TEMPLATE = r"""
tracepoint:target:target_sequencer_start { }
tracepoint:target:target_cmd_complete { }

HOOK_START
{
  $now = nsecs;
  $p = arg1;
  $sess = *(uint64 *)($p + {se_cmd.se_sess});
  $tpgp = *(uint64 *)($sess + {se_session.se_tpg});
  $tpg = $tpgp;
  $acl = *(uint64 *)($sess + {se_session.se_node_acl});
  if (@tpgseen[$tpg] == 0) {
    $tfo = *(uint64 *)($tpgp + {se_portal_group.se_tpg_tfo});
    $wwn = *(uint64 *)($tpgp + {se_portal_group.se_tpg_wwn});
    @fab[$tpg] = str(*(uint64 *)($tfo + {target_core_fabric_ops.fabric_name}), 32);
    @wwn[$tpg] = str(*(uint64 *)($wwn + {se_wwn.wwn_group}));
    @tpgt[$tpg] = str(*(uint64 *)($tpgp + {se_portal_group.tpg_group}), 32);
    @tpgseen[$tpg] = 1;
  }
  if (@iniseen[$acl] == 0) {
    @ini[$acl] = str($acl + {se_node_acl.initiatorname});
    @iniseen[$acl] = 1;
  }
  $slot = @seq[cpu] % SLOTS;
  @seq[cpu] = @seq[cpu] + 1;
  $old = @ring[cpu, $slot];
  if ($old.0 != 0) {
    $o = @st[$old.0];
    if ($o.0 == $old.1) {
      @evicted[$o.1, $o.2] = count();
      delete(@st[$old.0]);
    }
  }
  $prev = @st[$p];
  if ($prev.0 != 0) {
    @lost[$prev.1, $prev.2] = count();
  }
  @st[$p] = ($now, $tpg, $acl);
  $chk = @st[$p];
  if ($chk.0 != $now) {
    @dropped[$tpg, $acl] = count();
  } else {
    @ring[cpu, $slot] = ($p, $now);
    @started[$tpg, $acl] = count();
  }
}

HOOK_COMPLETE
{
  $p = arg1;
  $sess = *(uint64 *)($p + {se_cmd.se_sess});
  $tpg = *(uint64 *)($sess + {se_session.se_tpg});
  $acl = *(uint64 *)($sess + {se_session.se_node_acl});
  $lunp = *(uint64 *)($p + {se_cmd.se_lun});
  $lun = $lunp ? *(uint64 *)($lunp + {se_lun.unpacked_lun}) : 0;
  $op = *(uint8 *)(*(uint64 *)($p + {se_cmd.t_task_cdb}));
  $c = (READ_TEST) ? 1 : ((WRITE_TEST) ? 2 : 0);
  $status = *(uint8 *)($p + {se_cmd.scsi_status});
  $sk = 0;
  if ($status == 2) {
    $sb = *(uint64 *)($p + {se_cmd.sense_buffer});
    $sk = ((*(uint8 *)$sb & 0x7f) >= 0x72) ? (*(uint8 *)($sb + 1) & 0xf)
                                           : (*(uint8 *)($sb + 2) & 0xf);
  }
  @status[$tpg, $acl, $lun, $status, $sk] = count();
  $s = @st[$p];
  if ($s.0 != 0) {
    $d = nsecs - $s.0;
    $h = $d;
    if ($h > 0) { $h = $h - 1; }
    @lat[$tpg, $acl, $lun, $c] = hist($h);
    @latsum[$tpg, $acl, $lun, $c] = sum($d);
    @done[$s.1, $s.2] = count();
    delete(@st[$p]);
  } else {
    @unmatched[$tpg, $acl] = count();
  }
}

interval:ms:INTERVAL_MS
{
  print(@fab); print(@wwn); print(@tpgt); print(@ini); print(@lat); print(@latsum); print(@status);
  print(@started); print(@done); print(@evicted); print(@lost); print(@dropped);
  print(@unmatched);
  printf("end\n");
}

END
{
  clear(@st); clear(@ring); clear(@seq); clear(@tpgseen); clear(@iniseen);
  clear(@fab); clear(@wwn); clear(@tpgt); clear(@ini); clear(@lat); clear(@latsum); clear(@status);
  clear(@started); clear(@done); clear(@evicted); clear(@lost); clear(@dropped);
  clear(@unmatched);
}
"""


def _any(opcodes: tuple[int, ...]) -> str:
    return " || ".join(f"$op == {op:#04x}" for op in opcodes)


HOOKS = {
    "perf": ("kprobe:perf_trace_target_sequencer_start", "kprobe:perf_trace_target_cmd_complete"),
    # reached only while two or more probes are registered on the tracepoint (with one, the
    # static call goes straight to it): untried
    "traceiter": (
        "kprobe:__traceiter_target_sequencer_start",
        "kprobe:__traceiter_target_cmd_complete",
    ),
}


def script(offsets: Mapping[str, int], slots: int, interval_ms: int, hook: str = "perf") -> str:
    """The program text: member `offsets` from exporter/parsers/btf_offsets.py, a ring of
    `slots` starts per CPU, maps printed every `interval_ms`."""
    start, complete = HOOKS[hook]
    text = _TEMPLATE
    for name in sorted(offsets, key=len, reverse=True):
        text = text.replace("{" + name + "}", str(int(offsets[name])))
    if "{se_" in text or "{target_" in text:
        raise ValueError("an offset the program needs is missing")
    return (
        text.replace("HOOK_START", start)
        .replace("HOOK_COMPLETE", complete)
        .replace("SLOTS", str(int(slots)))
        .replace("INTERVAL_MS", str(int(interval_ms)))
        .replace("READ_TEST", _any(READ_OPCODES))
        .replace("WRITE_TEST", _any(WRITE_OPCODES))
    )
