"""qla2xxx kernel log messages: the prefix (old and new form) and the link events in the text.

Prefixes (drivers/scsi/qla2xxx/qla_dbg.c, `ql_dbg_prefix()`; qla_dbg.h `QL_MSGHDR`):
- >= 3.1 (`ql_log`/`ql_dbg`): `qla2xxx [<pci>]-<id>:<host>: <text>`, `<id>` is `%04x` (4+ digits),
  and without a host (probe / module init): `qla2xxx [<pci>]-<id>: : <text>`, where `<pci>` may be
  `0000:00:00.0` when no device is known.
- <= 3.0 (`qla_printk` = `dev_printk`): `qla2xxx <pci>: <text>` (no id, no host number).
- A driver built with extra debug output puts `PID <pid>:<file>:<line>: ` between the >= 3.1
  prefix and the text (`qla2xxx [0001:00:02.0]-4807:1: PID 346:qla_os.c:6329: ISP abort
  scheduled.`); only that exact form is skipped, so the text still starts where events are
  recognised.
`<pci>` is `dev_name()` of the PCI function: the domain may be longer than 4 hex digits.

Events are recognised by their TEXT, never by id (debug ids are printed as X or X+0x800 depending
on the kernel) nor by priority (LOOP UP is a warning-level record). Format strings, per era,
with the message id each has had since 3.1 (printed as `-%04x`; ql_dbg ids also as id + 0x800):
- qla_isr.c `qla2x00_async_event()`: 0x5009 "LIP occurred (%x).", 0x500c "LIP reset occurred (%x)."
  (<= 2.6.27 "occured"), 0x500a "LOOP UP detected (%s Gbps).", 0x500b "LOOP DOWN detected
  (%x %x %x %x)." (<= 3.0 three values, earlier one or none), 0x5013 "RSCN database changed --
  %04x %04x %04x.", 0x5003 "ISP System Error - ...", 0x5006/0x5007 "ISP Request/Response
  Transfer Error (%x).", 0x5004/0x5005 "Unrecoverable Hardware Error: adapter marked OFFLINE!",
  0x5090 "LOOP INIT ERROR (%x).", 0x5027/0x504b/0x5050 "RISC paused -- HCCR=%x, Dumping
  firmware.", 0x5069 "Heartbeat Failure encountered, chip reset required.", "MPI Heartbeat
  stop. ...". The LOOP UP speed is not parsed: fc_host `speed` reports it (collector fc_host).
- qla_init.c: 0x8038 "Cable is unplugged..." (`qla2x00_fw_ready`), 0x00af "Performing ISP
  error recovery - ha=%p." (`qla2x00_abort_isp_cleanup`), 0x8023 "%s **** FAILED ****." (%s =
  qla2x00_abort_isp), 0x8035 "ISP error recover failed - board disabled."
- qla_os.c: 0x6009 "Loop down - aborting ISP.", 0x6008 "Loop down - aborting the queues before
  time expires." (`qla2x00_timer`, both while one outage lasts), "ISP abort scheduled."
  (`qla2x00_do_dpc`).
- qla_dbg.c / qla_tmpl.c: 0xd001 "Firmware dump saved to temp buffer (...)", 0xd000 "Failed to
  dump firmware (%x)...", 0xd015 "-> Firmware dump saved to buffer (...)", 0x02f8 "-> MPI
  firmware dump saved to buffer (...)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Event label values, in a fixed order (the metric label `event`).
LIP = "lip"
LIP_RESET = "lip_reset"
LOOP_UP = "loop_up"
LOOP_DOWN = "loop_down"
LINK_DOWN = "link_down"
RSCN = "rscn"
ISP_ERROR = "isp_error"
ISP_ABORT_SCHEDULED = "isp_abort_scheduled"
ISP_ABORT = "isp_abort"
ISP_ABORT_FAILED = "isp_abort_failed"
FW_DUMP = "fw_dump"
FW_DUMP_FAILED = "fw_dump_failed"

EVENTS: tuple[str, ...] = (
    LIP,
    LIP_RESET,
    LOOP_UP,
    LOOP_DOWN,
    LINK_DOWN,
    RSCN,
    ISP_ERROR,
    ISP_ABORT_SCHEDULED,
    ISP_ABORT,
    ISP_ABORT_FAILED,
    FW_DUMP,
    FW_DUMP_FAILED,
)

# What each event means for the link, following the driver's own loop_state: LIP and LIP reset
# set LOOP_DOWN in qla2x00_async_event() until the following LOOP UP.
LINK_EFFECT: dict[str, bool] = {
    LIP: False,
    LIP_RESET: False,
    LOOP_UP: True,
    LOOP_DOWN: False,
    LINK_DOWN: False,
}

_PCI = r"[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]"
# `-%04x:%lu: ` or, without a vha, `-%04x: : `.
_NEW = re.compile(
    rf"qla2xxx \[({_PCI})\]-([0-9a-f]{{4,}}):(?:(\d+)| ): ?"
    r"(?:PID \d+:[A-Za-z0-9_]+\.[ch]:\d+: )?",  # the debug build's `PID n:file.c:line: `
    re.IGNORECASE,
)
_OLD = re.compile(rf"qla2xxx ({_PCI}):(?: |$)", re.IGNORECASE)

_EVENT = re.compile(
    r"(?P<loop_up>LOOP UP detected)"
    r"|(?P<loop_down>LOOP DOWN detected(?=[ .]|$))"
    r"|(?P<lip>LIP occurred \()"
    r"|(?P<lip_reset>LIP reset occurr?ed \()"
    r"|(?P<rscn>RSCN database changed)"
    r"|(?P<link_down>Cable is unplugged|Loop down - aborting (?:ISP|the queues))"
    r"|(?P<isp_abort>Performing ISP error recovery)"
    r"|(?P<isp_abort_scheduled>ISP abort scheduled)"
    r"|(?P<isp_abort_failed>\w*abort_isp \*+ FAILED|ISP error recover failed)"
    r"|(?P<isp_error>ISP System Error|ISP Re(?:quest|sponse) Transfer Error"
    r"|Unrecoverable Hardware Error|LOOP INIT ERROR|RISC paused|Heartbeat Failure"
    r"|MPI Heartbeat stop)"
    r"|(?P<fw_dump>Firmware dump saved to temp buffer|-> Firmware dump saved to buffer"
    r"|-> MPI firmware dump saved)"
    r"|(?P<fw_dump_failed>Failed to dump firmware)"
)

# Anything that can stand before the message in a saved log: `[ 1234.567890] `,
# `[  +0.000009] ` (dmesg -H), `[1488234.264510,4f] `, `Jan  1 00:00:00 host kernel: `, ...
_WRAPPED = re.compile(rf"(?:^|(?<=[\s\]:]))qla2xxx (?:\[|{_PCI}:)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class QlaMessage:
    pci: str  # as printed, lowercased; "0000:00:00.0" means "no device known yet"
    msg_id: int | None  # None in the old (<= 3.0) form
    host: int | None  # SCSI host number; None in the old form and the no-vha form
    text: str


def is_qla2xxx(message: str) -> bool:
    """True if the message claims to come from qla2xxx (cheap pre-check before parse_prefix)."""
    return message.startswith("qla2xxx ")


def parse_prefix(message: str) -> QlaMessage:
    """Split a qla2xxx message into prefix fields and text. Raises ValueError if not qla2xxx."""
    m = _NEW.match(message)
    if m is not None:
        host = m.group(3)
        return QlaMessage(
            pci=m.group(1).lower(),
            msg_id=int(m.group(2), 16),
            host=int(host) if host is not None else None,
            text=message[m.end() :],
        )
    m = _OLD.match(message)
    if m is not None:
        return QlaMessage(pci=m.group(1).lower(), msg_id=None, host=None, text=message[m.end() :])
    raise ValueError(f"not a qla2xxx message prefix: {message[:60]!r}")


def classify(text: str) -> str | None:
    """The link event (one of EVENTS) a qla2xxx message text reports, or None for any other."""
    m = _EVENT.match(text)
    return None if m is None else m.lastgroup


def strip_log_wrapper(line: str) -> str | None:
    """The qla2xxx message inside a dmesg/syslog line (timestamp, host, tag removed), or None."""
    m = _WRAPPED.search(line)
    if m is None:
        return None
    return line[m.start() :].rstrip("\r\n")
