"""Pure LIO configfs parsers: every format the kernel prints, and garbage."""

from __future__ import annotations

import pytest

from exporter.parsers import lio as p


def test_uint_accepts_every_printf_width_up_to_64_bits() -> None:
    assert p.parse_uint(b"63\n") == 63
    assert p.parse_uint("0\n") == 0
    # %llu beyond 2^64 is impossible: more is garbage, refused before it can overflow a float
    assert p.parse_uint(b"18446744073709551615\n") == 2**64 - 1
    with pytest.raises(ValueError):
        p.parse_uint(b"18446744073709551616\n")
    with pytest.raises(ValueError):
        p.parse_uint(b"99999999999999999999999\n")
    # a 6.16-6.18 u32 counter that just wrapped is a small raw number, returned as is
    assert p.parse_uint(b"4294967295\n") == 2**32 - 1
    assert p.parse_uint(b"3\n") == 3


@pytest.mark.parametrize("bad", [b"", b"\n", b"-1\n", b"0x10\n", b"12 34\n", b"\xff\xfe", b"1.5"])
def test_uint_rejects_garbage(bad: bytes) -> None:
    with pytest.raises(ValueError):
        p.parse_uint(bad)


def test_bool_and_text() -> None:
    assert p.parse_bool(b"1\n") is True
    assert p.parse_bool(b"0\n") is False
    with pytest.raises(ValueError):
        p.parse_bool(b"2\n")
    # scsi_lu vend/prod/rev are %-8s / %-16s / %-4s padded
    assert p.parse_text(b"LIO-ORG \n") == "LIO-ORG"
    assert p.parse_text(b"disk0           \n") == "disk0"


def test_tgt_dev_status_without_newline() -> None:
    assert p.parse_tgt_dev_status(b"activated") is True
    assert p.parse_tgt_dev_status(b"deactivated") is False
    with pytest.raises(ValueError):
        p.parse_tgt_dev_status(b"available\n")


def test_entry_names() -> None:
    assert p.parse_lun_dir("lun_0") == 0
    assert p.parse_lun_dir("lun_16383") == 16383
    assert p.parse_lun_dir("lun_") is None
    assert p.parse_lun_dir("lun_x") is None
    assert p.parse_lun_dir("lun_١") is None  # non-ASCII digit: kstrtoull would refuse
    assert p.parse_lun_dir("write_protect") is None
    assert p.parse_tpgt_dir("tpgt_1") == 1
    assert p.parse_tpgt_dir("fabric_statistics") is None
    assert p.parse_hba_dir("rd_mcp_1") == p.HbaDir("rd_mcp", 1)
    assert p.parse_hba_dir("rd_mcp_1").backstore_type == "ramdisk"  # type: ignore[union-attr]
    assert p.parse_hba_dir("iblock_2").backstore_type == "block"  # type: ignore[union-attr]
    assert p.parse_hba_dir("user_4").backstore_type == "user"  # type: ignore[union-attr]
    assert p.parse_hba_dir("alua") is None


def test_lun_link() -> None:
    assert p.parse_lun_link("../../../../../../target/core/fileio_0/disk0") == (
        "fileio_0",
        "disk0",
    )
    assert p.parse_lun_link("/sys/kernel/config/target/core/rd_mcp_1/rd0/") == ("rd_mcp_1", "rd0")
    with pytest.raises(ValueError):
        p.parse_lun_link("../../../../../../target/iscsi/x/tpgt_1/lun/lun_0")


def test_wwn_normalisation_fc_forms() -> None:
    want = "21:00:00:24:ff:31:4c:48"
    for spelled in (
        "21:00:00:24:ff:31:4c:48",  # configfs fabric dir (tcm_qla2xxx_format_wwn)
        "21:00:00:24:FF:31:4C:48",
        "naa.21000024ff314c48",  # statistics port_index / dev_name
        "0x21000024ff314c48",  # fc_host/port_name
        "21000024ff314c48",
    ):
        assert p.normalize_wwn(spelled, "qla2xxx") == want
    # fc_host prints "0x%llx" without zero padding
    assert p.normalize_wwn("0x1000024ff314c48", "qla2xxx") == "01:00:00:24:ff:31:4c:48"
    # NPIV physical@npiv:wwnn names: the NPIV WWPN (joins fctarget_fc_vport_info's target)
    npiv = "21:00:00:24:ff:31:4c:48@21000024ff314c49:20000024ff314c49"
    assert p.normalize_wwn(npiv, "qla2xxx_npiv") == "21:00:00:24:ff:31:4c:49"
    assert p.normalize_wwn("21:00:00:24:ff:31:4c:48@junk", "qla2xxx_npiv").endswith("@junk")


def test_wwn_normalisation_leaves_other_fabrics() -> None:
    assert p.normalize_wwn("naa.50014050000000a1", "loopback") == "naa.50014050000000a1"
    iqn = "iqn.2003-01.org.linux-iscsi.kvmlab:tgt0"
    assert p.normalize_wwn(iqn, "iscsi") == iqn


def test_dynamic_sessions_with_nuls() -> None:
    data = b"21:00:00:24:ff:aa:bb:cc\n\x0021:00:00:24:ff:aa:bb:cd\n\x00"
    assert p.parse_dynamic_sessions(data) == ("21:00:00:24:ff:aa:bb:cc", "21:00:00:24:ff:aa:bb:cd")
    assert p.parse_dynamic_sessions(b"") == ()


def test_port_ident() -> None:
    qla = p.parse_port_ident(b"21:00:00:24:ff:aa:bb:cc+i+\n")
    assert qla == p.PortIdent("21:00:00:24:ff:aa:bb:cc", "")
    # real 6.1 iSCSI capture
    iscsi = p.parse_port_ident(b"iqn.1994-05.com.example:kvmlab-init+i+00023d000001\n")
    assert iscsi == p.PortIdent("iqn.1994-05.com.example:kvmlab-init", "00023d000001")
    with pytest.raises(ValueError):
        p.parse_port_ident(b"\n")


def test_iscsi_acl_info() -> None:
    assert p.parse_iscsi_acl_info(b"InitiatorName: iqn.x\nInitiatorAlias: y\n") is True
    none = b"No active iSCSI Session for Initiator Endpoint: iqn.1994-05.com.example:x\n"
    assert p.parse_iscsi_acl_info(none) is False
    with pytest.raises(ValueError):
        p.parse_iscsi_acl_info(b"garbage\n")


def test_unit_serial_and_company_id() -> None:
    text = b"T10 VPD Unit Serial Number: 294326df-4c71-4100-b552-bcd575cccbb2\n"
    assert p.parse_unit_serial(text) == "294326df-4c71-4100-b552-bcd575cccbb2"
    assert p.parse_unit_serial(b"T10 VPD Unit Serial Number: \n") == ""
    with pytest.raises(ValueError):
        p.parse_unit_serial(b"garbage\n")
    assert p.parse_company_id(b"0x001405\n") == 0x001405
    with pytest.raises(ValueError):
        p.parse_company_id(b"0x1000000\n")
    with pytest.raises(ValueError):
        p.parse_company_id(b"zz\n")


def test_naa_wwn_like_spc_gen_naa_6h_vendor_specific() -> None:
    # NAA 6 | OUI 00 14 05 | the first 25 hex digits of the serial (dashes skipped): 16 bytes.
    assert (
        p.naa_wwn("294326df-4c71-4100-b552-bcd575cccbb2") == "naa.6001405294326df4c714100b552bcd57"
    )
    # a short serial is zero-filled; non-hex characters are skipped
    assert p.naa_wwn("abc-xyz-12") == "naa.6001405abc1200000000000000000000"
    # another company id (wwn/company_id is writable)
    assert p.naa_wwn("0123456789", 0xABCDEF) == "naa.6abcdef0123456789000000000000000"
    # no serial: no NAA designator at all
    assert p.naa_wwn("") == ""


FILEIO_61 = (
    "Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 16384\n"
    "        TCM FILEIO ID: 0        File: /tmp/disk0.img  Size: 67108864  Mode: Buffered-WCE"
    " Async: 0\n"
)
IBLOCK_61 = (
    "Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 248\n"
    "        iBlock device: ram0  UDEV PATH: /dev/ram0  readonly: 0\n"
    "        Major: 1 Minor: 0  CLAIMED: IBLOCK\n"
)
RD_61 = (
    "Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 4294967288\n"
    "        TCM RamDisk ID: 0  RamDisk Makeup: rd_mcp\n"
    "        PAGES/PAGE_SIZE: 8192*4096  SG_table_count: 5  nullio: 0 dummy: 0\n"
)
# target_core_user.c tcmu_show_configfs_dev_params()
USER = (
    "Status: DEACTIVATED  Max Queue Depth: 0  SectorSize: 4096  HwMaxSectors: 128\n"
    "        Config: file//var/lib/x Size: 1073741824 MaxDataAreaMB: 1024 DataPagesPerBlk: 1"
    " CmdRingSizeMB: 8\n"
)
# target_core_pscsi.c: no size in info
PSCSI = (
    "Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 1024\n"
    "        SCSI Device Bus Location: Channel ID: 0 Target ID: 0 LUN: 0 Host ID: 3\n"
    "        Vendor: ATA      Model: disk             Rev: 1.0 \n"
)


def test_backstore_info_all_backends() -> None:
    f = p.parse_backstore_info(FILEIO_61)
    assert (f.activated, f.sector_size, f.hw_max_sectors) == (True, 512, 16384)
    assert (f.size_bytes, f.file, f.block_device) == (67108864, "/tmp/disk0.img", None)
    b = p.parse_backstore_info(IBLOCK_61)
    assert (b.size_bytes, b.block_device, b.hw_max_sectors) == (None, "ram0", 248)
    r = p.parse_backstore_info(RD_61)
    assert r.size_bytes == 8192 * 4096  # 32 MiB, as targetcli created it
    assert r.hw_max_sectors == 4294967288
    u = p.parse_backstore_info(USER)
    assert (u.activated, u.sector_size, u.size_bytes) == (False, 4096, 1073741824)
    s = p.parse_backstore_info(PSCSI)
    assert (s.size_bytes, s.block_device) == (None, None)
    with pytest.raises(ValueError):
        p.parse_backstore_info("garbage\n")


def test_backstore_info_file_name_containing_size() -> None:
    text = FILEIO_61.replace("/tmp/disk0.img", "/srv/a  Size: 5")
    assert p.parse_backstore_info(text).size_bytes == 67108864
