"""Pure parsers for the qla2xxx debugfs files under `<debugfs>/qla2xxx/<host_str>/`.

All from drivers/scsi/qla2xxx/qla_dfs.c; the directory is created by qla2x00_dfs_setup() with
`vha->host_str` (`qla2xxx_<host_no>`, qla_os.c) and every file is mode 0400.

- `tgt_counters` (qla_dfs_tgt_counters_show()): a `Target Counters` header, then
  `"<key> = %lld\\n"` lines. v4.5 (where the file appeared) prints the nine target counters of the
  vha; later kernels sum them over the queue pairs (same lines) and add seven
  `DIF ... = %lld|%d` lines. v5.12 ("qla2xxx: Add error counters to debugfs node") adds a blank
  line, an `Initiator Error Counters` header and five `"<key> =\\t\\t%14lld\\n"` lines (tabs and
  right-aligned values), then one `"Target Num = %7d Link Down Count = %14lld\\n"` line per
  fc_port with an FC transport rport (initiator mode only; none on a pure target). Since the
  same release the function returns an empty file while the chip is down
  (qla2x00_chip_is_down()).
- `tgt_sess` (qla2x00_dfs_tgt_sess_show(), no firmware command): `host_str`, and when target mode
  is set up a `Port ID   Port Name                Handle` header and one
  `"%02x:%02x:%02x  %8phC  %d\\n"` line per session (port id, WWPN, loop id).
- `fw_resource_count` (qla_dfs_fw_resource_cnt_show()): `"<label>[%d]\\n"` lines after
  `FW Resource count`. v4.5 prints values cached at init; later kernels issue the Get Resource
  Counts mailbox command on every read (qla24xx_res_count_wait()), print
  `"Mailbox Command failed %d, mb %#x"` (no newline) when it fails, reorder and recapitalise the
  lines (`current TGT exchg count` became `Current TGT exchg count`) and add four XCB buffer
  lines; with ql2xenforce_iocb_limit the driver's own estimates follow:
  `Driver: estimate iocb used [%d] high water limit [%d]`, `estimate exchange used[%d] high water
  limit [%d]`, and (mode 2) indented `estimate iocb2 ...` / `estimate exchange2 ...` lines.
  "Original" is the firmware's total, "Current" what it has left (free).
- `rports/pn-<wwpn %016llx>/<field>` (qla2x00_dfs_create_rport(), v5.11+): one `"%llu\\n"` value
  per file (DEFINE_DEBUGFS_ATTRIBUTE): disc_state, scan_state, fw_login_state, login_pause,
  flags, nvme_flag, last_rscn_gen, rscn_gen, login_gen, loop_id, port_id, sess_kref.

Every function raises only ValueError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DRIVER_DIR = "qla2xxx"  # QLA2XXX_DRIVER_NAME: the debugfs root directory
HOST_STR = re.compile(r"^qla2xxx_(\d{1,9})$")  # vha->host_str
RPORT_DIR = re.compile(r"^pn-([0-9a-f]{16})$")
RPORT_FIELDS: tuple[str, ...] = (
    "disc_state",
    "fw_login_state",
    "login_gen",
    "rscn_gen",
    "loop_id",
    "port_id",
)
# qla_def.h enum login_state ("FW control Target side"); values 0, 1 and 8 are unnamed.
FW_LOGIN_STATES: dict[int, str] = {
    2: "lliocb_sent",
    3: "plogi_pend",
    4: "plogi_comp",
    5: "prli_pend",
    6: "prli_comp",
    7: "port_unavail",
    9: "prlo_pend",
    10: "logo_pend",
}
FW_LOGIN_PRLI_COMPLETE = 6  # DSC_LS_PRLI_COMP: PLOGI and PRLI done, the session can carry I/O
TGT_COUNTERS_HEADER = "Target Counters"
_TGT_HEADERS = (TGT_COUNTERS_HEADER, "Initiator Error Counters")
TGT_SESS_HEADER = "Port ID   Port Name                Handle"
FW_RESOURCE_HEADER = "FW Resource count"
MAILBOX_FAILED = "Mailbox Command failed"

_MAX_DIGITS = 24  # a %lld is at most 20 characters; anything longer is garbage
_NORMALISE = re.compile(r"[^a-z0-9]+")
_SESS_LINE = re.compile(
    r"^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})  ((?:[0-9a-f]{2}:){7}[0-9a-f]{2})  (-?\d{1,11})$"
)
_TARGET_NUM = re.compile(r"^Target Num = +\d+ Link Down Count = +\d+$")
_BRACKET = re.compile(r"^(.*?)\s*\[(-?\d{1,11})\]$")
_ESTIMATE = re.compile(
    r"^(?:Driver: )?estimate (iocb2?|exchange2?) used ?\[(-?\d{1,11})\] "
    r"high water limit \[(-?\d{1,11})\]$"
)


def normalise_key(key: str) -> str:
    """`num Q full sent` -> `num_q_full_sent`: lower case, runs of other characters to `_`."""
    return _NORMALISE.sub("_", key.lower()).strip("_")


def host_number(host_str: str) -> int | None:
    """`qla2xxx_7` -> 7 (the SCSI host number); None for any other directory name."""
    m = HOST_STR.match(host_str)
    return int(m.group(1)) if m else None


def _int(text: str, what: str) -> int:
    t = text.strip()
    if not t or len(t) > _MAX_DIGITS or not t.lstrip("-").isdigit():
        raise ValueError(f"{what}: {text[:40]!r} is not an integer")
    return int(t)


@dataclass(frozen=True)
class TgtCounters:
    """tgt_counters: normalised key -> value, in file order; `garbled` lines that did not parse."""

    values: dict[str, int]
    garbled: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """No counters at all: the chip is down (v5.12+ prints nothing then)."""
        return not self.values and not self.garbled


def parse_tgt_counters(text: str) -> TgtCounters:
    """Every `key = value` line, generically; ValueError when a non-empty file has no counter."""
    values: dict[str, int] = {}
    garbled: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line in _TGT_HEADERS:
            continue
        if _TARGET_NUM.match(line):
            continue  # per-rport initiator link-down lines: initiator mode only
        key, eq, value = line.partition("=")
        name = normalise_key(key)
        try:
            if not name or not eq:
                raise ValueError("no key")
            n = _int(value, name)
            if n < 0:  # a counter printed with %lld/%d past its sign bit: not a count
                raise ValueError("negative")
            values.setdefault(name, n)
        except ValueError:
            garbled.append(line[:80])
    if text.strip() and not values:
        raise ValueError(f"tgt_counters: no 'key = value' line in {text[:60]!r}")
    return TgtCounters(values, tuple(garbled))


@dataclass(frozen=True)
class Session:
    port_id: int  # 24-bit FC address
    wwpn: str  # colon form, lower case
    loop_id: int  # the firmware's handle for the login


@dataclass(frozen=True)
class TgtSess:
    host_str: str
    target_mode: bool  # the header is printed only when the vha has a qla_tgt
    sessions: tuple[Session, ...]
    garbled: tuple[str, ...] = ()


def parse_tgt_sess(text: str) -> TgtSess:
    lines = text.splitlines()
    if not lines or host_number(lines[0].strip()) is None:
        raise ValueError(f"tgt_sess: first line is not a qla2xxx host_str: {text[:40]!r}")
    target_mode = len(lines) > 1 and lines[1].rstrip() == TGT_SESS_HEADER
    sessions: list[Session] = []
    garbled: list[str] = []
    for raw in lines[2:] if target_mode else lines[1:]:
        m = _SESS_LINE.match(raw.strip())
        if m is None:
            if raw.strip():
                garbled.append(raw[:80])
            continue
        port_id = int(m.group(1) + m.group(2) + m.group(3), 16)
        sessions.append(Session(port_id, m.group(4), int(m.group(5))))
    return TgtSess(lines[0].strip(), target_mode, tuple(sessions), tuple(garbled))


# fw_resource_count label (normalised) -> (resource, "limit" | "free")
FW_RESOURCES: dict[str, tuple[str, str]] = {
    "original_tgt_exchg_count": ("target_exchanges", "limit"),
    "current_tgt_exchg_count": ("target_exchanges", "free"),
    "original_initiator_exchange_count": ("initiator_exchanges", "limit"),
    "current_initiator_exchange_count": ("initiator_exchanges", "free"),
    "original_iocb_count": ("iocbs", "limit"),
    "current_iocb_count": ("iocbs", "free"),
}


@dataclass(frozen=True)
class FwResources:
    limit: dict[str, int]  # resource -> the firmware's total ("Original ...")
    free: dict[str, int]  # resource -> what the firmware has left ("Current ...")
    other: dict[str, int]  # any other "<label>[n]" line, by normalised label
    estimate_used: dict[str, int]  # driver estimate (ql2xenforce_iocb_limit): iocb, exchange, ...
    estimate_limit: dict[str, int]
    mailbox_error: str = ""  # "Mailbox Command failed ..." (nothing else is printed then)
    garbled: tuple[str, ...] = ()


def parse_fw_resource_count(text: str) -> FwResources:
    res = FwResources({}, {}, {}, {}, {})
    garbled: list[str] = []
    mailbox = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == FW_RESOURCE_HEADER:
            continue
        if line.startswith(MAILBOX_FAILED):
            mailbox = line[:80]
            continue
        est = _ESTIMATE.match(line)
        if est:
            res.estimate_used[est.group(1)] = int(est.group(2))
            res.estimate_limit[est.group(1)] = int(est.group(3))
            continue
        m = _BRACKET.match(line)
        if m is None:
            garbled.append(line[:80])
            continue
        label, value = normalise_key(m.group(1)), int(m.group(2))
        known = FW_RESOURCES.get(label)
        if known is None:
            res.other.setdefault(label, value)
        else:
            getattr(res, known[1]).setdefault(known[0], value)
    if text.strip() and not mailbox and not (res.limit or res.free or res.other):
        raise ValueError(f"fw_resource_count: no '<label>[n]' line in {text[:60]!r}")
    return FwResources(
        res.limit,
        res.free,
        res.other,
        res.estimate_used,
        res.estimate_limit,
        mailbox,
        tuple(garbled),
    )


def parse_rport_value(text: str, field: str) -> int:
    """One rports/pn-*/<field> file: `"%llu\\n"`."""
    if not text.endswith("\n"):
        raise ValueError(f"{field}: short read {text[:40]!r}")
    value = _int(text, field)
    if value < 0:
        raise ValueError(f"{field}: negative {value}")
    return value


def rport_wwpn(dirname: str) -> str | None:
    """`pn-21000024ff314c48` -> `21:00:00:24:ff:31:4c:48`; None for other names."""
    m = RPORT_DIR.match(dirname)
    if m is None:
        return None
    h = m.group(1)
    return ":".join(h[i : i + 2] for i in range(0, 16, 2))
