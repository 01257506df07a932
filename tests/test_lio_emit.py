"""The lio collector's emit: a configfs snapshot in, catalogue families out (no I/O)."""

from __future__ import annotations

import logging

from exporter.catalogue import lio as m
from exporter.collector import Output
from exporter.collectors.lio import DEFAULTS, LioOptions, emit
from exporter.logsetup import RateLimitedLog
from exporter.readers.configfs_model import (
    Acl,
    Backstore,
    ConfigfsSnapshot,
    LunPort,
    MappedLun,
    Target,
    Tpg,
)

MIB = 2**20
WWPN = "21:00:00:24:ff:31:4c:48"
TL = ("qla2xxx", WWPN, "1")
INIT_ON, INIT_OFF, INIT_NONE = (f"21:00:00:24:ff:aa:bb:{x}" for x in ("cc", "cd", "ce"))


def _bs(hba: str, name: str, **kw: object) -> Backstore:
    fields: dict[str, object] = dict.fromkeys(Backstore.__slots__)
    fields.update(alua_groups=(), hba=hba, plugin=hba.rpartition("_")[0], name=name, **kw)
    return Backstore(**fields)  # type: ignore[arg-type]


SNAP = ConfigfsSnapshot(
    present=True,
    targets=(
        Target(
            "qla2xxx",
            "naa.21000024ff314c48",  # configfs spelling; `target` holds the normalised one
            WWPN,
            (
                Tpg(
                    1,
                    True,
                    (
                        LunPort(0, "fileio_0", "disk0", 1000, 300, 200, 0, 0),
                        LunPort(7, None, None, None, None, None),  # unbacked: ENODEV stats
                    ),
                    (
                        Acl(INIT_ON, True, (MappedLun(0, 100, 10, 1), MappedLun(1, 200, 20, 2))),
                        Acl("naa.21000024ffaabbcd", False, (MappedLun(0, None, None, None),)),
                        Acl(INIT_NONE, None, ()),
                    ),
                    ("naa.21000024ffddeeff",),
                ),
            ),
        ),
    ),
    backstores=(
        _bs(
            "fileio_0",
            "disk0",
            size_bytes=64 * MIB,
            enabled=True,
            block_size=512,
            write_cache=True,
            serial="294326df-4c71-4100-b552-bcd575cccbb2",
            company_id=0x001405,
            vendor="LIO-ORG",
            product="disk0",
            num_cmds=63,
            read_mbytes=16,
            write_mbytes=8,
            exported=True,
            luns=1,
        ),
        _bs("fileio_9", "disk0"),  # same type and name under another core HBA
        _bs("pscsi_3", "sdb", serial="abc"),  # pscsi: the real device's VPD, no NAA derived
    ),
)


def rows(
    snap: ConfigfsSnapshot, options: LioOptions = DEFAULTS
) -> dict[str, dict[tuple[str, ...], float]]:
    out = Output("lio", RateLimitedLog(logging.getLogger("test.lio.emit")))
    emit(snap, out, options)
    assert out.errors == []
    return {name: dict(fam.rows) for name, fam in out.families.items()}


def test_target_families() -> None:
    r = rows(SNAP)
    assert r[m.UP.name] == {(): 1.0}
    assert r[m.TPG_ENABLED.name] == {TL: 1.0}
    assert r[m.TPG_LUNS.name] == {TL: 2.0}
    assert r[m.TPG_ACLS.name] == {TL: 3.0}
    assert r[m.TPG_SESSIONS.name] == {TL: 2.0}  # one ACL with a session + one dynamic
    # the unbacked LUN has no mapping and no counters; the duplicate name is told apart
    assert r[m.LUN_INFO.name] == {(*TL, "0", "fileio", "fileio_0/disk0"): 1.0}
    assert r[m.LUN_COMMANDS.name] == {(*TL, "0"): 1000.0}
    assert r[m.LUN_READ_BYTES.name] == {(*TL, "0"): 300.0 * MIB}
    assert r[m.LUN_WRITE_BYTES.name] == {(*TL, "0"): 200.0 * MIB}
    assert m.LUN_HS_COMMANDS.name not in r
    assert m.LUN_BUSY_STATUSES.name not in r
    acls = {(*TL, i) for i in (INIT_ON, INIT_OFF, INIT_NONE)}
    assert r[m.ACL_INFO.name] == dict.fromkeys(acls, 1.0)  # names normalised to colon form
    assert r[m.ACL_MAPPED_LUNS.name] == {(*TL, INIT_ON): 2, (*TL, INIT_OFF): 1, (*TL, INIT_NONE): 0}
    # unknown (no mapped LUN to probe): no series rather than a false 0
    assert r[m.ACL_SESSION_ACTIVE.name] == {(*TL, INIT_ON): 1.0, (*TL, INIT_OFF): 0.0}
    assert r[m.DYNAMIC_SESSION_INFO.name] == {(*TL, "21:00:00:24:ff:dd:ee:ff"): 1.0}
    # summed over the mapped LUNs that could be read
    assert r[m.ACL_COMMANDS.name] == {(*TL, INIT_ON): 300.0}
    assert r[m.ACL_READ_BYTES.name] == {(*TL, INIT_ON): 30.0 * MIB}
    assert r[m.ACL_WRITE_BYTES.name] == {(*TL, INIT_ON): 3.0 * MIB}
    assert m.ACL_MAPPED_LUN_COMMANDS.name not in r


def test_options_per_mapped_lun_and_zero_stats() -> None:
    r = rows(SNAP, LioOptions(initiator_luns=True, always_zero_stats=True))
    on = (*TL, INIT_ON)
    assert r[m.ACL_MAPPED_LUN_COMMANDS.name] == {(*on, "0"): 100.0, (*on, "1"): 200.0}
    assert r[m.ACL_MAPPED_LUN_READ_BYTES.name] == {(*on, "0"): 10.0 * MIB, (*on, "1"): 20.0 * MIB}
    assert r[m.ACL_MAPPED_LUN_WRITE_BYTES.name] == {(*on, "0"): 1.0 * MIB, (*on, "1"): 2.0 * MIB}
    assert m.ACL_COMMANDS.name not in r
    assert r[m.LUN_HS_COMMANDS.name] == {(*TL, "0"): 0.0}
    assert r[m.LUN_BUSY_STATUSES.name] == {(*TL, "0"): 0.0}


def test_backstore_families() -> None:
    r = rows(SNAP)
    disk0 = ("fileio", "fileio_0/disk0")
    assert r[m.BACKSTORE_INFO.name] == {
        (
            *disk0,
            "fileio_0",
            "294326df-4c71-4100-b552-bcd575cccbb2",
            "naa.6001405294326df4c714100b552bcd57",
            "LIO-ORG",
            "disk0",
        ): 1.0,
        ("fileio", "fileio_9/disk0", "fileio_9", "", "", "", ""): 1.0,
        ("pscsi", "sdb", "pscsi_3", "abc", "", "", ""): 1.0,
    }
    assert r[m.BACKSTORE_SIZE.name] == {disk0: 64.0 * MIB}
    assert r[m.BACKSTORE_BLOCK_SIZE.name] == {disk0: 512.0}
    assert r[m.BACKSTORE_ENABLED.name] == {disk0: 1.0}
    assert r[m.BACKSTORE_WRITE_CACHE.name] == {disk0: 1.0}
    assert r[m.BACKSTORE_EXPORTED.name] == {disk0: 1.0}
    assert r[m.BACKSTORE_LUNS.name] == {disk0: 1.0}
    assert r[m.BACKSTORE_COMMANDS.name] == {disk0: 63.0}
    assert r[m.BACKSTORE_READ_BYTES.name] == {disk0: 16.0 * MIB}
    assert r[m.BACKSTORE_WRITE_BYTES.name] == {disk0: 8.0 * MIB}
    assert r[m.BACKSTORE_RESETS.name] == {}


def test_not_present_is_lio_up_zero_only() -> None:
    assert rows(ConfigfsSnapshot(present=False)) == {m.UP.name: {(): 0.0}}


def test_no_targets_serves_no_target_families() -> None:
    r = rows(ConfigfsSnapshot(present=True))
    assert m.TPG_LUNS.name not in r
    assert r[m.BACKSTORE_INFO.name] == {}
    assert r[m.UP.name] == {(): 1.0}
