"""/dev/kmsg records: `prio,seq,usec,flags[,more];message` plus ` KEY=value` continuation lines.

Format: Documentation/ABI/testing/dev-kmsg; producer: kernel/printk/printk.c
(`info_print_ext_header`, `msg_add_ext_text`, `msg_add_dict_text`). The first field is
`(facility << 3) | level`; kernel records carry facility 0, and `devkmsg_write()` forces a
non-zero facility (LOG_USER = 1 by default) onto anything written from user space, so
facility 0 is proof of kernel origin.
Non-printable bytes and the backslash are escaped as `\\xNN` in both the message and the values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FACILITY_KERNEL = 0
FACILITY_USER = 1

# A record longer than this is not something the kernel produces (CONSOLE_EXT_LOG_MAX is 8192
# and escaping at most quadruples a byte); a stream that never ends a line is garbage.
MAX_RECORD_BYTES = 64 * 1024

U64_MAX = 2**64 - 1
U64_DIGITS = len(str(U64_MAX))

_HEX = re.compile(rb"\\x([0-9a-fA-F]{2})")


def _unhex(m: re.Match[bytes]) -> bytes:
    return bytes((int(m.group(1), 16),))


def unescape(raw: bytes) -> str:
    """Undo printk's `\\xNN` escaping and decode as UTF-8 (bad bytes become U+FFFD)."""
    if b"\\" in raw:
        raw = _HEX.sub(_unhex, raw)
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class KmsgRecord:
    facility: int
    level: int
    seq: int
    usec: int
    # "-" normally, "c" for a continuation fragment (LOG_CONT); kept verbatim.
    flags: str
    message: str
    # ` KEY=value` continuation lines (SUBSYSTEM, DEVICE since 5.10), in order.
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def prio(self) -> int:
        return (self.facility << 3) | self.level

    @property
    def from_kernel(self) -> bool:
        return self.facility == FACILITY_KERNEL


def _uint(field: bytes) -> int:
    # int() would accept "+1", " 1" or "1_0"; the kernel prints plain decimal digits, and at most
    # a u64 (printk.c: `%u,%llu,%llu`): a longer number is not a record (and would overflow a
    # float timestamp later).
    if not field.isdigit() or len(field) > U64_DIGITS:
        raise ValueError(f"not a u64 decimal field: {field[:20]!r}")
    value = int(field)
    if value > U64_MAX:
        raise ValueError(f"not a u64 decimal field: {field[:20]!r}")
    return value


def parse_record(data: bytes) -> KmsgRecord:
    """Parse one record as one read() of /dev/kmsg returns it (trailing newline optional).

    Raises ValueError if `data` is not a record.
    """
    semi = data.find(b";")
    if semi < 0:
        raise ValueError("no ';' ending the record header")
    header = data[:semi].split(b",")
    if len(header) < 4:
        raise ValueError("record header has fewer than 4 fields")
    # "Future extensions might add more comma separated values": fields after flags are ignored.
    prio = _uint(header[0])
    seq = _uint(header[1])
    usec = _uint(header[2])
    flags = header[3].decode("ascii", "replace")
    body = data[semi + 1 :]
    nl = body.find(b"\n")
    if nl < 0:
        return KmsgRecord(prio >> 3, prio & 7, seq, usec, flags, unescape(body))
    message = unescape(body[:nl])
    fields: list[tuple[str, str]] = []
    for line in body[nl + 1 :].split(b"\n"):
        if not line:
            continue
        if line[:1] != b" ":
            raise ValueError("continuation line does not start with a space")
        key, sep, value = line[1:].partition(b"=")
        if not sep:
            raise ValueError("continuation line without '='")
        fields.append((unescape(key), unescape(value)))
    return KmsgRecord(prio >> 3, prio & 7, seq, usec, flags, message, tuple(fields))


class RecordSplitter:
    """Cuts a byte stream of back-to-back records (a FIFO, a saved `cat /dev/kmsg`) into records.

    A record is its header line plus the ` KEY=value` lines that follow it, so a record is only
    known to be complete when the next header line (or `flush()`, at end of data) arrives.
    What it holds between feeds (`pending_bytes`: one partial line plus one pending record) never
    exceeds MAX_RECORD_BYTES: a longer line or record is dropped (counted in `oversized`), and the
    splitter resynchronises at the start of the next line that begins a record, never mid-line.
    Pure: no I/O.
    """

    __slots__ = ("_drop_record", "_partial", "_pending", "_pending_size", "_skip_line", "oversized")

    def __init__(self) -> None:
        self._partial = b""  # the unterminated last line seen so far
        self._skip_line = False  # inside an oversized line: discard up to the next newline
        self._pending: list[bytes] = []
        self._pending_size = 0  # bytes of _pending joined with newlines
        self._drop_record = False  # the current record was dropped: so are its continuations
        self.oversized = 0  # lines or records dropped because they exceeded MAX_RECORD_BYTES

    @property
    def pending_bytes(self) -> int:
        """Bytes held until more data arrives (the memory bound the docstring promises)."""
        return len(self._partial) + self._pending_size

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the records completed by them (each without a trailing newline)."""
        out: list[bytes] = []
        if self._skip_line:
            nl = chunk.find(b"\n")
            if nl < 0:
                return out
            chunk = chunk[nl + 1 :]
            self._skip_line = False
        if self._partial:
            chunk = self._partial + chunk
        lines = chunk.split(b"\n")
        last = lines.pop()
        for line in lines:
            self._line(line, out)
        if len(last) > MAX_RECORD_BYTES:
            # Drop the line now, and the rest of it as it arrives; it also ends (or spoils) the
            # pending record the way a complete line would.
            self._line(last, out)
            self._skip_line = True
            last = b""
        self._partial = last
        return out

    def _line(self, line: bytes, out: list[bytes]) -> None:
        if line[:1] == b" ":
            # an orphan continuation line (its header was flushed or never seen) is dropped
            if self._pending and not self._drop_record:
                size = self._pending_size + 1 + len(line)
                if size > MAX_RECORD_BYTES:
                    self._drop_pending()
                    self._drop_record = True
                    self.oversized += 1
                else:
                    self._pending.append(line)
                    self._pending_size = size
            return
        if self._pending:
            out.append(b"\n".join(self._pending))
            self._drop_pending()
        self._drop_record = False
        if len(line) > MAX_RECORD_BYTES:
            self.oversized += 1
            self._drop_record = True
        elif line:
            self._pending = [line]
            self._pending_size = len(line)

    def _drop_pending(self) -> None:
        self._pending = []
        self._pending_size = 0

    def flush(self) -> list[bytes]:
        """End of available data: the pending record (and an unterminated last line) are done."""
        out: list[bytes] = []
        if self._partial[:1] == b" ":
            # The writer is midway through a continuation line of the pending record: keep both.
            return out
        if self._pending:
            out.append(b"\n".join(self._pending))
            self._drop_pending()
        return out

    def flush_all(self) -> list[bytes]:
        """End of file: also the last line even without its newline."""
        out = self.flush()
        if self._partial:
            if self._partial[:1] != b" ":
                out.append(self._partial)
            self._partial = b""
        self._skip_line = False
        return out
