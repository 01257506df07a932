"""`--check` for LIO: what the exporter sees, rtslib-fb's view, and that it changes nothing."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from exporter.check import explain, explain_lio
from exporter.paths import HostPaths
from tests.exporter_proc import run_exporter
from tests.test_lio_collector import INIT_OFF, add_qla_target
from tests.test_lio_dumptree import DUMP_AFTER, load_dump


def fingerprint(root: Path) -> dict[str, str]:
    """Every entry under `root` with its type, mode and content (or link target)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if os.path.islink(p):
                out[p] = "link " + os.readlink(p)
            elif os.path.isdir(p):
                out[p] = f"dir {st.st_mode:o}"
            elif os.path.isfile(p):
                out[p] = f"file {st.st_mode:o} " + hashlib.sha256(Path(p).read_bytes()).hexdigest()
            else:
                out[p] = f"node {st.st_mode:o} {st.st_rdev}"
    return out


@pytest.fixture
def host(tmp_path: Path) -> Path:
    load_dump(DUMP_AFTER, tmp_path)
    add_qla_target(tmp_path)
    return tmp_path


def test_check_describes_targets_backstores_and_rtslib_view(host: Path) -> None:
    from rtslib_fb.node import CFSNode

    before = fingerprint(host)
    findings: list[str] = []
    lines, _ = explain_lio(str(host / "target"), findings=findings)
    text = "\n".join(lines)
    assert fingerprint(host) == before  # read-only
    assert CFSNode.configfs_dir == "/sys/kernel/config/target"  # restored
    assert "iqn.2003-01.org.linux-iscsi.kvmlab:tgt0 tpgt 1: enabled, 1 LUN(s), 1 ACL(s)" in text
    assert "naa.50014050000000a1 tpgt 1: no enable attribute, 2 LUN(s)" in text
    assert f"initiator {INIT_OFF}: configured, NO session" in text
    assert "21:00:00:24:ff:31:4c:48 tpgt 1: enabled, 2 LUN(s), 3 ACL(s) (1 with a session" in text
    assert "backstores: 3 (block 1, fileio 1, ramdisk 1)" in text
    assert "fileio/disk0 (fileio_0): enabled, 64.0 MiB" in text
    assert "wwn naa.6001405294326df4c714100b552bcd57" in text
    # rtslib-fb rooted at the fixture tree: its fabric specs and its own backstore listing
    assert "fabric qla2xxx: kernel module tcm_qla2xxx, WWN types naa" in text
    assert "targets naa.21000024ff314c48" in text  # rtslib's canonical spelling
    assert "fileio/disk0: activated, unit serial 294326df-4c71-4100-b552-bcd575cccbb2" in text
    assert "NOT seen" not in text
    # what needs attention is a finding, not "no problems" after a missing session
    assert findings == [f"initiator {INIT_OFF} on 21:00:00:24:ff:31:4c:48 has no session"]


def test_check_without_rtslib(host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for mod in [m for m in sys.modules if m == "rtslib_fb" or m.startswith("rtslib_fb.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "rtslib_fb", None)  # import fails with ImportError
    text = "\n".join(explain_lio(str(host / "target"))[0])
    assert "rtslib-fb: not importable" in text
    assert "backstores: 3 (block 1, fileio 1, ramdisk 1)" in text  # the walk still reports


def test_check_reports_problems(host: Path) -> None:
    st = host / "target/core/rd_mcp_1/rd0/statistics/scsi_lu/num_cmds"
    st.write_bytes(b"garbage\n")
    findings: list[str] = []
    explain_lio(str(host / "target"), findings=findings)
    assert (
        "LIO (the lio collector reports failure): cannot use scsi_lu/num_cmds: not an unsigned "
        f"64-bit integer: b'garbage' ({st})"
    ) in findings


def test_check_when_lio_is_absent(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "sys").mkdir()
    paths = HostPaths(
        procfs=str(tmp_path / "proc"), sysfs=str(tmp_path / "sys"), configfs=str(tmp_path)
    )
    text, status = explain(paths, ["lio"])
    assert "not present: configfs is not mounted or target_core_mod is not loaded" in text
    assert "module not loaded" in text and "FC ports      none in" in text
    assert text.splitlines()[-1].startswith("verdict: NOTHING TO MONITOR: no FC port and no LIO")
    assert status == 1


def test_check_from_the_command_line(host: Path) -> None:
    (host / "proc").mkdir()
    (host / "proc" / "interrupts").write_text("           CPU0\n  0:  5  IO-APIC 2-edge timer\n")
    (host / "sys").mkdir()
    r = run_exporter(
        "--check",
        f"--path.configfs={host}",
        f"--path.procfs={host / 'proc'}",
        f"--path.sysfs={host / 'sys'}",
    )
    assert r.returncode == 0, r.stderr
    assert "fabric qla2xxx: 1 target(s)" in r.stdout
    assert "fileio/disk0: activated" in r.stdout
