"""Packaging: the systemd unit (verify, exposure score), MemoryDenyWriteExecute, wheel/sdist
contents, and the Debian package built, installed with dpkg, run and purged on this machine."""

from __future__ import annotations

import ctypes
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from tests.test_lio_dumptree import DUMP_AFTER, dump_values, load_dump

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
UNIT = PACKAGING / "fctarget-exporter.service"
DOC = REPO / "docs" / "security.md"
MAX_EXPOSURE = 2.0

# What `fctarget_lio_lun_commands_total` must report for the real 6.1 dump (in_cmds per LUN).
_IN_CMDS = re.compile(
    r"target/(?P<fabric>[^/]+)/(?P<wwn>[^/]+)/tpgt_(?P<tpgt>\d+)/lun/lun_(?P<lun>\d+)/statistics/scsi_tgt_port/in_cmds"
)


def run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, **kw)  # type: ignore[call-overload,no-any-return]


def unit_settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key, []).append(value)
    return out


def test_unit_verifies(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point it at a stand-in, change nothing else.
    stub = tmp_path / "fctarget-exporter"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    text = UNIT.read_text()
    assert text.count("ExecStart=/usr/bin/fctarget-exporter ") == 1
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("ExecStart=/usr/bin/fctarget-exporter ", f"ExecStart={stub} "))
    r = run(["systemd-analyze", "verify", str(copy)])
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == ""


def exposure(unit: Path) -> float:
    r = run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)])
    assert r.returncode == 0, r.stderr
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    assert m, r.stdout
    return float(m.group(1))


def test_unit_exposure_score_is_low_and_documented() -> None:
    score = exposure(UNIT)
    assert score <= MAX_EXPOSURE
    # docs/security.md states the score; keep it honest.
    assert f"exposure score of **{score:.1f}**" in DOC.read_text()


def test_unit_exposure_reflects_hardening(tmp_path: Path) -> None:
    # The score is not a constant: stripping the sandboxing raises it well above the limit.
    lines = [
        line
        for line in UNIT.read_text().splitlines()
        if not line.startswith(("Protect", "Private", "SystemCall", "Restrict", "NoNewPriv"))
    ]
    weak = tmp_path / UNIT.name
    weak.write_text("\n".join(lines) + "\n")
    assert exposure(weak) > exposure(UNIT) + 3.0


def test_unit_privilege_model() -> None:
    s = unit_settings(UNIT.read_text())
    assert s["User"] == ["fctarget-exporter"]
    # CAP_SYSLOG (for /dev/kmsg under dmesg_restrict) is the only capability, bounded and ambient.
    assert s["CapabilityBoundingSet"] == ["CAP_SYSLOG"]
    assert s["AmbientCapabilities"] == ["CAP_SYSLOG"]
    assert s["ProtectKernelLogs"] == ["no"]  # yes would hide /dev/kmsg
    assert s["DeviceAllow"] == ["/dev/kmsg r"]
    assert s["ProtectSystem"] == ["strict"]
    assert s["MemoryDenyWriteExecute"] == ["yes"]
    assert s["EnvironmentFile"] == ["-/etc/default/fctarget-exporter"]
    assert s["ExecStart"] == ["/usr/bin/fctarget-exporter $ARGS"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    # The sysusers.d entry creates exactly that user.
    sysusers = (PACKAGING / "fctarget-exporter.sysusers").read_text().splitlines()
    entries = [line.split() for line in sysusers if line and not line.startswith("#")]
    assert [e[:2] for e in entries] == [["u", "fctarget-exporter"]]


def lio_tree(tmp_path: Path) -> tuple[Path, dict[tuple[str, str, str, str], int]]:
    root = tmp_path / "host"
    load_dump(DUMP_AFTER, root / "configfs")
    (root / "proc").mkdir()
    (root / "sys").mkdir()
    expected = {}
    for path, raw in dump_values(DUMP_AFTER).items():
        m = _IN_CMDS.fullmatch(path)
        if m:
            expected[(m["fabric"], m["wwn"], m["tpgt"], m["lun"])] = int(raw)
    assert len(expected) == 3
    return root, expected


def once_args(root: Path) -> list[str]:
    return [
        "--once",
        "--collector.disable-defaults",
        "--collector.lio",
        f"--path.procfs={root / 'proc'}",
        f"--path.sysfs={root / 'sys'}",
        f"--path.configfs={root / 'configfs'}",
    ]


def check_lun_commands(stdout: str, expected: dict[tuple[str, str, str, str], int]) -> None:
    got = {}
    for m in re.finditer(
        r'^fctarget_lio_lun_commands_total\{fabric="([^"]+)",lun="(\d+)",target="([^"]+)",'
        r'tpgt="(\d+)"\} (\S+)$',
        stdout,
        re.M,
    ):
        fabric, lun, target, tpgt, value = m.groups()
        got[(fabric, target, tpgt, lun)] = int(float(value))
    assert got == expected
    assert 'fctarget_scrape_collector_success{collector="lio"} 1.0' in stdout


_MDWE_CHILD = """
import ctypes, ssl, sys
libc = ctypes.CDLL(None, use_errno=True)
# PR_SET_MDWE=65, PR_MDWE_REFUSE_EXEC_GAIN=1: what MemoryDenyWriteExecute= enforces.
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_MDWE) failed: errno %d" % ctypes.get_errno())
import aiohttp.web, bcrypt, yaml, psutil, pyudev  # every compiled dependency
assert bcrypt.checkpw(b"x", bcrypt.hashpw(b"x", bcrypt.gensalt(4)))
ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
pyudev.Monitor.from_netlink(pyudev.Context())  # libudev through ctypes, netlink socket
from exporter.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_runs_under_memory_deny_write_execute(tmp_path: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    assert hasattr(libc, "prctl")
    root, expected = lio_tree(tmp_path)
    r = run([sys.executable, "-c", _MDWE_CHILD, *once_args(root)], cwd=REPO)
    assert r.returncode == 0, r.stderr
    check_lun_commands(r.stdout, expected)
    # and the restriction is real: a W+X mapping is refused in such a process
    probe = (
        "import ctypes, mmap, sys\n"
        "libc = ctypes.CDLL(None)\n"
        "assert libc.prctl(65, 1, 0, 0, 0) == 0\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "except OSError:\n"
        "    sys.exit(3)\n"
    )
    assert run([sys.executable, "-c", probe]).returncode == 3


def test_wheel_and_sdist_contents(tmp_path: Path) -> None:
    r = run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(REPO)])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (wheel,) = tmp_path.glob("fctarget_exporter-*.whl")
    (sdist,) = tmp_path.glob("fctarget_exporter-*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())

    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "exporter").rglob("*.py")}
    assert modules <= names, modules - names
    (data_dir,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".data")}
    share = f"{data_dir}/data/share/fctarget-exporter"
    dashboards = sorted(p.name for p in (REPO / "dashboards").glob("*.json"))
    rules = sorted(
        p.name
        for p in (REPO / "dashboards" / "rules").glob("*")
        if fnmatch.fnmatch(p.name, "*.yml") or fnmatch.fnmatch(p.name, "*.yaml")
    )
    assert dashboards, "no Grafana dashboards in dashboards/"
    assert rules, "no Prometheus rules in dashboards/rules/"
    assert (
        sorted(n.rsplit("/", 1)[1] for n in names if n.startswith(f"{share}/dashboards/"))
        == dashboards
    )
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith(f"{share}/rules/")) == rules
    entry_points = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
        .decode()
    )
    assert "fctarget-exporter = exporter.entry:main" in entry_points

    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    for name in dashboards:
        assert f"dashboards/{name}" in members
    for name in rules:
        assert f"dashboards/rules/{name}" in members
    assert {"pyproject.toml", "README.md", "exporter/cli.py"} <= members


def _require_root() -> None:
    assert os.geteuid() == 0, "the .deb test installs a package with dpkg: run the suite as root"


DEB_PATHS = [
    "/opt/fctarget-exporter",
    "/usr/bin/fctarget-exporter",
    "/lib/systemd/system/fctarget-exporter.service",
    "/usr/lib/sysusers.d/fctarget-exporter.conf",
    "/etc/default/fctarget-exporter",
    "/etc/fctarget-exporter",
    "/usr/share/fctarget-exporter",
    "/usr/share/doc/fctarget-exporter",
]


def test_deb_builds_installs_runs_and_purges(tmp_path: Path) -> None:
    _require_root()
    if run(["dpkg-query", "-W", "fctarget-exporter"]).returncode == 0:
        run(["dpkg", "--purge", "fctarget-exporter"])  # left over from an interrupted run
    r = run([str(PACKAGING / "debian" / "build-deb.sh"), str(tmp_path / "out")])
    assert r.returncode == 0, r.stderr[-3000:]
    (deb,) = (tmp_path / "out").glob("fctarget-exporter_*_*.deb")

    info = run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Depends"]).stdout
    assert "Package: fctarget-exporter" in info
    py = run(
        ["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    ).stdout.strip()
    assert f"python3 (>= {py})" in info
    contents = run(["dpkg-deb", "--contents", str(deb)]).stdout
    assert "/exporter/bpf/scsi_latency.bpf.o" in contents  # compiled by build-deb.sh (make bpf)
    for pattern, sub in (("*.json", "dashboards"), ("rules/*.yml", "rules")):
        for p in (REPO / "dashboards").glob(pattern):
            assert f"./usr/share/fctarget-exporter/{sub}/{p.name}" in contents

    try:
        r = run(["dpkg", "--install", str(deb)])
        assert r.returncode == 0, r.stdout + r.stderr
        assert run(["getent", "passwd", "fctarget-exporter"]).returncode == 0
        assert (
            Path("/etc/default/fctarget-exporter").read_text()
            == (PACKAGING / "fctarget-exporter.default").read_text()
        )
        # the installed unit verifies against the installed binary
        v = run(["systemd-analyze", "verify", "/lib/systemd/system/fctarget-exporter.service"])
        assert v.returncode == 0, v.stderr

        root, expected = lio_tree(tmp_path)
        # a clean environment: nothing from this checkout or its venv may leak in
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        r = run(["/usr/bin/fctarget-exporter", *once_args(root)], env=env, cwd="/")
        assert r.returncode == 0, r.stderr
        check_lun_commands(r.stdout, expected)
        ver = run(["/usr/bin/fctarget-exporter", "--version"], env=env, cwd="/")
        assert ver.stdout.startswith("fctarget-exporter ")
        where = run(
            [
                "/opt/fctarget-exporter/bin/python",
                "-I",
                "-c",
                "import exporter; print(exporter.__file__)",
            ],
            env=env,
        )
        assert where.stdout.startswith("/opt/fctarget-exporter/lib/python"), where.stdout
    finally:
        purge = run(["dpkg", "--purge", "fctarget-exporter"])
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert run(["dpkg-query", "-W", "fctarget-exporter"]).returncode != 0
    left = [p for p in DEB_PATHS if os.path.lexists(p)]
    assert left == []


def test_make_deb_target_uses_the_build_script() -> None:
    r = run(["make", "-n", "deb"], cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "packaging/debian/build-deb.sh dist" in r.stdout
    assert shutil.which("dpkg-deb") is not None


DROP_IN = PACKAGING / "systemd" / "fctarget-exporter.service.d" / "qla2xxx-debugfs.conf"


def unit_with_drop_in(tmp_path: Path) -> Path:
    """The unit and the qla2xxx drop-in as systemd loads them (<unit>.d/ beside the unit), with
    ExecStart pointed at a stand-in so that verify can check it."""
    stub = tmp_path / "fctarget-exporter"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("=/usr/bin/fctarget-exporter ", f"={stub} "))
    d = tmp_path / (UNIT.name + ".d")
    d.mkdir()
    (d / DROP_IN.name).write_text(
        DROP_IN.read_text().replace("=/usr/bin/fctarget-exporter ", f"={stub} ")
    )
    return unit


def test_qla2xxx_drop_in_verifies_and_grants_only_dac_read_search(tmp_path: Path) -> None:
    unit = unit_with_drop_in(tmp_path)
    r = run(["systemd-analyze", "verify", str(unit)])
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == ""
    s = unit_settings(DROP_IN.read_text())
    assert s["CapabilityBoundingSet"] == ["CAP_DAC_READ_SEARCH"]
    assert s["AmbientCapabilities"] == ["CAP_DAC_READ_SEARCH"]
    assert s["ExecStart"] == ["", "/usr/bin/fctarget-exporter $ARGS --collector.qla2xxx"]
    # nothing of the sandbox is relaxed
    assert set(s) == {"CapabilityBoundingSet", "AmbientCapabilities", "ExecStart"}
    # the drop-in is loaded: the score rises by the DAC capability only, and is documented
    base, with_drop_in = exposure(UNIT), exposure(unit)
    assert base < with_drop_in <= MAX_EXPOSURE
    text = DOC.read_text()
    assert f"with the qla2xxx drop-in **{with_drop_in:.1f}**" in text
