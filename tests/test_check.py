"""`--check` on whole hosts: FC ports, the qla2xxx module, the kernel log opened for real, the
web config, the findings and one verdict line with its exit status."""

from __future__ import annotations

import os
from pathlib import Path

from exporter.readers.kmsg_access import probe as probe_kmsg
from tests.exporter_proc import run_exporter


def test_demo_host_is_ready_with_its_findings() -> None:
    r = run_exporter("--check", "--demo")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "qla2xxx       module loaded, qlini_mode=disabled (target mode allowed)" in out
    assert "FC port       host6 wwpn 21:00:00:24:ff:31:4c:48 pci 0000:83:00.0: Online" in out
    assert "readable, 14 qla2xxx IRQs" in out
    assert "problems: none" not in out
    assert "  - initiator 21:00:00:24:ff:a0:00:03 on 21:00:00:24:ff:31:4c:48 has no session" in out
    assert out.splitlines()[-1] == (
        "verdict: ready: 2 FC port(s), 2 LIO target(s); 1 finding(s) to look at"
    )


def test_empty_host_has_nothing_to_monitor(tmp_path: Path) -> None:
    for d in ("proc", "sys", "cfg"):
        (tmp_path / d).mkdir()
    (tmp_path / "proc" / "interrupts").write_text(
        "           CPU0\n  0:  5  IO-APIC 2-edge timer\n"
    )
    r = run_exporter(
        "--check",
        f"--path.procfs={tmp_path / 'proc'}",
        f"--path.sysfs={tmp_path / 'sys'}",
        f"--path.configfs={tmp_path / 'cfg'}",
        "--no-collector.kmsg",
    )
    assert r.returncode == 1
    last = r.stdout.splitlines()[-1]
    assert last.startswith("verdict: NOTHING TO MONITOR: no FC port and no LIO target")


def test_invalid_web_config_blocks(tmp_path: Path) -> None:
    bad = tmp_path / "web.yml"
    bad.write_text("tls_server_config:\n  cert_file: /nonexistent.pem\n")
    r = run_exporter("--check", "--demo", f"--web.config.file={bad}")
    assert r.returncode == 1
    assert "web config    INVALID:" in r.stdout
    assert r.stdout.splitlines()[-1].startswith("verdict: NOT READY: --web.config.file:")


def test_kernel_log_is_opened_for_real_not_just_access_checked() -> None:
    # As uid 65534 under kernel.dmesg_restrict=1 os.access() says yes and open() says EPERM.
    restrict = Path("/proc/sys/kernel/dmesg_restrict").read_text().strip()
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to nobody, probe, report through the pipe
        os.close(rd)
        try:
            os.setgid(65534)
            os.setuid(65534)
            result = f"{os.access('/dev/kmsg', os.R_OK)}|{probe_kmsg('/dev/kmsg')}"
        except BaseException as exc:
            result = f"child failed: {exc!r}"
        os.write(wr, result.encode())
        os._exit(0)
    os.close(wr)
    with os.fdopen(rd) as f:
        access, why = f.read().split("|")
    os.waitpid(pid, 0)
    if restrict == "1":
        assert access == "True"  # what the old check relied on
        assert why.startswith("EPERM: Operation not permitted (needs CAP_SYSLOG")
    else:
        assert why == "None"


def test_probe_kmsg_on_missing_and_regular_files(tmp_path: Path) -> None:
    assert probe_kmsg(str(tmp_path / "none")) == "ENOENT: No such file or directory"
    f = tmp_path / "kmsg.txt"
    f.write_text("6,1,0,-;hello\n")
    assert probe_kmsg(str(f)) is None
