"""Pure parsers for LIO configfs attribute formats (`<configfs>/target`).

Every function takes the text (or bytes) of one configfs attribute or one directory-entry name
and returns plain values or frozen dataclasses; nothing here touches the filesystem. Garbage
raises `ValueError` and nothing else.

Kernel sources the formats come from (6.1 / 6.12 trees):
- drivers/target/target_core_stat.c      statistics/* counters (`%lu`, `%u`, `%llu`)
- drivers/target/target_core_configfs.c  enable, wwn/vpd_unit_serial, wwn/company_id, attrib/*
- drivers/target/target_core_transport.c transport_dump_dev_state() (first `info` line)
- drivers/target/target_core_{file,iblock,rd,pscsi,user}.c  backend part of `info`
- drivers/target/target_core_spc.c       spc_gen_naa_6h_vendor_specific() (VPD 0x83 NAA id)
- drivers/target/target_core_fabric_configfs.c  lun_<N>, tpgt_<N>, dynamic_sessions
- drivers/target/iscsi/iscsi_target_configfs.c  the iSCSI-only ACL `info` file
- drivers/target/tcm_qla2xxx/tcm_qla2xxx.c      FC WWPN spelling in the fabric directory
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exporter.parsers.fc_host import format_wwn

# configfs fabric directories whose target and initiator names are FC port names. Their WWNs
# are normalised to 8 colon-separated lowercase bytes (docs/DESIGN.md label conventions); all
# other fabrics keep the name exactly as configfs spells it (iqn..., naa... for loopback).
FC_FABRICS = frozenset({"qla2xxx", "qla2xxx_npiv", "efct", "fc", "tcm_fc"})

# hba directory plugin (`core/<plugin>_<index>`) -> backstore type as targetcli names it.
BACKSTORE_TYPES = {
    "iblock": "block",
    "fileio": "fileio",
    "rd_mcp": "ramdisk",
    "rd_dr": "ramdisk",  # the pre-3.x ramdisk "direct" flavour
    "pscsi": "pscsi",
    "user": "user",
}

# spc_gen_naa_6h_vendor_specific() uses dev->t10_wwn.company_id; target_alloc_device() sets it
# to the OpenFabrics IEEE company id before wwn/company_id existed as an attribute (< 5.x).
DEFAULT_COMPANY_ID = 0x001405

# target_core_configfs.c target_wwn_vpd_unit_serial_show(): the text before the serial.
UNIT_SERIAL_PREFIX = "T10 VPD Unit Serial Number:"

# Every counter and size the kernel prints here is at most 64 bits (`%llu`): 20 digits.
U64_MAX = (1 << 64) - 1
_U64_DIGITS = 20
_UINT = re.compile(rb"[0-9]{1,20}")
_HEX16 = re.compile(r"[0-9a-fA-F]{16}")
_COLON_WWN = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){7}")


def parse_uint(data: bytes | str) -> int:
    """One unsigned decimal counter (`%u`, `%lu`, `%llu` + newline) as an int.

    Kernels 6.16 to early 6.18 print some counters as u32 sums that wrap; the raw value is
    returned as is (a decrease is a counter reset to Prometheus).
    A value beyond 64 bits is garbage (ValueError), never an int that float() cannot hold.
    """
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    raw = raw.strip()
    if not _UINT.fullmatch(raw):
        raise ValueError(f"not an unsigned 64-bit integer: {raw[:40]!r}")
    return _u64(int(raw))


def _u64(value: int) -> int:
    if value > U64_MAX:
        raise ValueError(f"{value} exceeds 64 bits")
    return value


def _digits(text: str) -> int | None:
    """A directory name's number (kstrtoul/kstrtoull): plain ASCII decimal, at most 64 bits."""
    if not (0 < len(text) <= _U64_DIGITS and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= U64_MAX else None


def parse_bool(data: bytes | str) -> bool:
    """A `%d\\n` flag such as `enable` or `attrib/emulate_write_cache` (0 or 1)."""
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    if text == "0":
        return False
    if text == "1":
        return True
    raise ValueError(f"not a 0/1 flag: {text[:40]!r}")


def parse_text(data: bytes | str) -> str:
    """A `%s\\n` attribute without its newline and padding (scsi_lu vend/prod are `%-8s`)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text.strip(" \n\x00")


def parse_tgt_dev_status(data: bytes | str) -> bool:
    """scsi_tgt_dev/status: `activated` / `deactivated`, printed without a newline.

    target_core_stat.c derives it from the device's export count (exported by >= 1 LUN).
    """
    text = parse_text(data)
    if text == "activated":
        return True
    if text == "deactivated":
        return False
    raise ValueError(f"unknown scsi_tgt_dev status: {text[:40]!r}")


def parse_lun_dir(name: str) -> int | None:
    """`lun_<N>` (tpgt_N/lun/ and acls/<init>/) -> N; None for any other entry name.

    The kernel parses the number with kstrtoull(name + 4), so only plain decimal digits.
    """
    if not name.startswith("lun_"):
        return None
    return _digits(name[4:])


def parse_tpgt_dir(name: str) -> int | None:
    """`tpgt_<N>` -> N; None for other entries (fabric_statistics/, param/, version ...)."""
    if not name.startswith("tpgt_"):
        return None
    return _digits(name[5:])


@dataclass(frozen=True)
class HbaDir:
    plugin: str  # fileio, iblock, rd_mcp, pscsi, user
    index: int

    @property
    def backstore_type(self) -> str:
        return BACKSTORE_TYPES.get(self.plugin, self.plugin)


def parse_hba_dir(name: str) -> HbaDir | None:
    """`core/<plugin>_<index>` ("$SUBSYSTEM_PLUGIN_$HOST_ID"); None for `alua` and others."""
    plugin, sep, index = name.rpartition("_")
    number = _digits(index)
    if not sep or not plugin or number is None:
        return None
    return HbaDir(plugin, number)


def parse_lun_link(target: str) -> tuple[str, str]:
    """The symlink in `lun/lun_N/` -> (hba dir, device dir).

    configfs prints it relative: `../../../../../../target/core/<hba>/<dev>`.
    """
    parts = [p for p in target.split("/") if p not in ("", ".")]
    if len(parts) < 3 or parts[-3] != "core":
        raise ValueError(f"LUN link does not point into target/core: {target!r}")
    return parts[-2], parts[-1]


def normalize_wwn(name: str, fabric: str) -> str:
    """Normalise a target/initiator port name for the `wwpn` / `initiator` labels.

    For FC fabrics the three spellings the kernel uses, `21:00:00:24:ff:31:4c:48` (fabric
    directory, tcm_qla2xxx_format_wwn), `naa.21000024ff314c48` (statistics port_index and
    dev_name) and `0x21000024ff314c48` (fc_host/port_name), all become the colon form. A
    qla2xxx_npiv target `<phys wwpn>@<npiv wwpn>:<npiv wwnn>` (tcm_qla2xxx_npiv_make_lport: 16 hex
    digits each side of the colon) becomes the NPIV WWPN in colon form, the vport's port_name, so
    it joins fctarget_fc_vport_info. Names of other fabrics, and FC names that are none of these,
    are unchanged.
    """
    if fabric not in FC_FABRICS:
        return name
    if fabric == "qla2xxx_npiv" and "@" in name:
        npiv = name.rpartition("@")[2]
        if len(npiv) == 33 and npiv[16] == ":" and _HEX16.fullmatch(npiv[:16]):
            return format_wwn(int(npiv[:16], 16))
        return name
    if _COLON_WWN.fullmatch(name):
        return name.lower()
    digits = name
    if digits[:4].lower() == "naa.":
        digits = digits[4:]
    elif digits[:2].lower() == "0x":
        digits = digits[2:]
        if 0 < len(digits) < 16 and all(c in "0123456789abcdefABCDEF" for c in digits):
            digits = digits.rjust(16, "0")  # fc_host prints "0x%llx" without padding
    if _HEX16.fullmatch(digits):
        return format_wwn(int(digits, 16))
    return name


def parse_dynamic_sessions(data: bytes) -> tuple[str, ...]:
    """`tpgt_N/dynamic_sessions`: each demo-mode session's initiator name, `name\\n\\0`.

    target_core_fabric_configfs.c / tcm_qla2xxx: `snprintf("%s\\n")` then `len += 1` for the
    NUL terminator, so a NUL follows every newline. Empty when no dynamic session exists.
    """
    text = data.decode("utf-8", "replace")
    names = (part.strip("\x00 \t\r") for part in text.split("\n"))
    return tuple(n for n in names if n)


@dataclass(frozen=True)
class PortIdent:
    initiator: str
    session_id: str  # iSCSI ISID; empty for fabrics without sess_get_initiator_sid (qla2xxx)


def parse_port_ident(data: bytes | str) -> PortIdent:
    """`scsi_att_intr_port/port_ident`: `%s+i+%s\\n` (initiator name, session id)."""
    text = parse_text(data)
    name, sep, sid = text.rpartition("+i+")
    if not sep or not name:
        raise ValueError(f"not a port_ident: {text[:80]!r}")
    return PortIdent(name, sid)


def parse_iscsi_acl_info(data: bytes | str) -> bool:
    """The iSCSI ACL `info` file -> whether the initiator has a session now.

    iscsi_target_configfs.c prints `No active iSCSI Session for Initiator Endpoint: ...` when
    there is none, else `InitiatorName: ...` and the session/connection details.
    """
    text = parse_text(data)
    if text.startswith("No active"):
        return False
    if text.startswith("InitiatorName:"):
        return True
    raise ValueError(f"unrecognised ACL info: {text[:60]!r}")


def parse_unit_serial(data: bytes | str) -> str:
    """`wwn/vpd_unit_serial`: `T10 VPD Unit Serial Number: %s\\n` -> the serial ('' if unset)."""
    text = parse_text(data)
    if not text.startswith(UNIT_SERIAL_PREFIX):
        raise ValueError(f"not a vpd_unit_serial: {text[:60]!r}")
    return text[len(UNIT_SERIAL_PREFIX) :].strip()


def parse_company_id(data: bytes | str) -> int:
    """`wwn/company_id`: `%#08x\\n`, e.g. `0x001405` (24-bit IEEE OUI)."""
    text = parse_text(data)
    try:
        value = int(text, 16)
    except ValueError:
        raise ValueError(f"not a company_id: {text[:40]!r}") from None
    if not 0 <= value <= 0xFFFFFF:
        raise ValueError(f"company_id out of range: {text!r}")
    return value


def naa_wwn(serial: str, company_id: int = DEFAULT_COMPANY_ID) -> str:
    """The NAA 6 (IEEE Registered Extended) designator LIO returns in VPD page 0x83.

    Mirrors spc_gen_naa_6h_vendor_specific() in drivers/target/target_core_spc.c: 16 bytes =
    NAA nibble 6, the 24-bit company id, then the hex digits of the unit serial (other
    characters skipped) until the buffer is full (25 digits), zero-filled if the serial is
    shorter. Returned as `naa.` + 32 lowercase hex digits, the spelling of the initiator's
    /sys/block/sdX/device/wwid. Empty string when the device has no unit serial (no NAA
    designator is emitted then).
    """
    if not serial.strip():
        return ""
    digits = [c for c in serial.lower() if c in "0123456789abcdef"][:25]
    nibbles = "6" + f"{company_id & 0xFFFFFF:06x}" + "".join(digits)
    return "naa." + nibbles.ljust(32, "0")


@dataclass(frozen=True)
class BackstoreInfo:
    """What a backstore device's `info` file says (fields absent from a backend are None)."""

    activated: bool | None
    sector_size: int | None
    hw_max_sectors: int | None
    size_bytes: int | None  # fileio and user print it; ramdisk: pages * page size
    block_device: str | None  # iblock: the kernel's name of the bdev (%pg), e.g. "ram0"
    file: str | None  # fileio: backing file path
    # fileio `Mode: Buffered-WCE` (page cache, FDBD_HAS_BUFFERED_IO_WCE) or `O_DSYNC`
    buffered: bool | None = None
    read_only: bool | None = None  # iblock `readonly: %d` (opened without FMODE_WRITE)


# Each pattern is anchored on a literal and consumes a bounded or possessive run, so a search
# costs O(len(text)) whatever the content: `info` is one configfs page (64 KB) of a file name
# and a tcmu config string the administrator chose.
_STATUS = re.compile(r"Status: (\w++)")
_SECTOR_SIZE = re.compile(r"SectorSize: ([0-9]++)")
_HW_MAX = re.compile(r"HwMaxSectors: ([0-9]++)")
_SIZE = re.compile(r"(?:^|\s)Size: ([0-9]++)")
_RD_PAGES = re.compile(r"PAGES/PAGE_SIZE: ([0-9]++)\*([0-9]++)")
_IBLOCK_DEV = re.compile(r"iBlock device: (\S++)")
_FILE_START = "File: "
_FILE_END = "  Size: "
_MODE = re.compile(r"  Mode: (Buffered-WCE|O_DSYNC)(?: Async: [0-9]++)?$", re.M)
_READONLY = re.compile(r"  readonly: ([01])$", re.M)


def _info_number(text: str, what: str) -> int:
    if len(text) > _U64_DIGITS:
        raise ValueError(f"backstore info: {what} exceeds 64 bits")
    return _u64(int(text))


def _info_file(text: str) -> str | None:
    """fileio's `File: %s  Size: `: the name up to the first `  Size: ` on its line.

    Linear: per line only the first `File: ` can match (a later one has less text after it).
    """
    for line in text.split("\n"):
        start = line.find(_FILE_START)
        if start < 0:
            continue
        start += len(_FILE_START)
        end = line.find(_FILE_END, start)
        if end >= 0:
            return line[start:end]
    return None


def parse_backstore_info(data: bytes | str) -> BackstoreInfo:
    """A backstore device's `info` attribute.

    First line, transport_dump_dev_state() (target_core_transport.c):
    `Status: ACTIVATED  Max Queue Depth: %d  SectorSize: %u  HwMaxSectors: %u`; then the
    backend's show_configfs_dev_params():
    fileio `TCM FILEIO ID: %u        File: %s  Size: %llu  Mode: %s Async: %d` (Mode
    `Buffered-WCE` or `O_DSYNC`, fd_show_configfs_dev_params);
    iblock `iBlock device: %pg  UDEV PATH: %s  readonly: %d` / `Major: %d Minor: %d  CLAIMED`;
    rd_mcp `TCM RamDisk ID: %u  RamDisk Makeup: rd_mcp` / `PAGES/PAGE_SIZE: %u*%lu ...`;
    user (target_core_user.c) `Config: %s Size: %llu MaxDataAreaMB: %u ...`; pscsi has no size.
    A number beyond 64 bits is garbage: ValueError.
    """
    text = parse_text(data)
    status = _STATUS.search(text)
    if status is None:
        raise ValueError(f"not a backstore info: {text[:60]!r}")
    word = status.group(1)
    activated = True if word == "ACTIVATED" else False if word == "DEACTIVATED" else None

    def num(rx: re.Pattern[str], what: str) -> int | None:
        m = rx.search(text)
        return _info_number(m.group(1), what) if m else None

    size = None
    for m in _SIZE.finditer(text):  # the last one: a file name or tcmu config may hold "Size: "
        size = m.group(1)
    size_bytes = _info_number(size, "Size") if size is not None else None
    pages = _RD_PAGES.search(text)
    if size_bytes is None and pages is not None:
        n = _info_number(pages.group(1), "pages") * _info_number(pages.group(2), "page size")
        size_bytes = _u64(n)
    dev = _IBLOCK_DEV.search(text)
    mode = _MODE.search(text)
    ro = _READONLY.search(text)
    return BackstoreInfo(
        activated=activated,
        sector_size=num(_SECTOR_SIZE, "SectorSize"),
        hw_max_sectors=num(_HW_MAX, "HwMaxSectors"),
        size_bytes=size_bytes,
        block_device=dev.group(1) if dev else None,
        file=_info_file(text),
        buffered=mode.group(1) == "Buffered-WCE" if mode else None,
        read_only=ro.group(1) == "1" if ro else None,
    )
