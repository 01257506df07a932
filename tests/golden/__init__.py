"""Golden exposition files: the full `--once` output on fixed inputs, compared byte for byte.

Like node_exporter's collector/fixtures/e2e-output.txt, every change in what the exporter serves
shows up as a diff of these files. `make golden` rewrites them; tests/test_golden.py fails when the
exporter's output no longer matches.

Two inputs:
- `demo.prom`: the seeded simulated host of `--demo` (exporter/simulate).
- `real-kernel-6.1.prom`: the real Linux 6.1 LIO configfs dump, /proc/interrupts and /dev/kmsg
  records captured in QEMU (tests/fixtures), with an empty sysfs (that guest has no FC HBA).

Values that differ from run to run are masked: scrape durations and event timestamps (the demo's
boot time is the machine's) and the Python version; and the process_/python_ families are left out.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = {"demo": HERE / "demo.prom", "real-kernel-6.1": HERE / "real-kernel-6.1.prom"}

# A fixed boot time for the real-kernel input (its kmsg timestamps are relative to boot).
REAL_BTIME = 1764000000

_MASKED = re.compile(r"^(fctarget_\w*(?:_duration_seconds|_timestamp_seconds)(?:\{[^}]*\})?) \S+$")


_PYVER = re.compile(r'python_version="[^"]*"')


def normalise(exposition: str) -> str:
    """Drop families that are not the exporter's own and mask the per-run values."""
    out: list[str] = []
    for line in exposition.splitlines():
        if line.startswith("#"):
            name = line.split(" ", 3)[2]
            if not name.startswith("fctarget_"):
                continue
        elif not line.startswith("fctarget_"):
            continue
        m = _MASKED.match(line)
        kept = f"{m.group(1)} <masked>" if m else line
        out.append(_PYVER.sub('python_version="<masked>"', kept))
    return "\n".join(out) + "\n"


def _once(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "--once", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode not in (0, 1) or not proc.stdout:
        raise RuntimeError(f"--once {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return normalise(proc.stdout)


def render_demo() -> str:
    return _once("--demo")


def render_real_kernel() -> str:
    from tests.test_lio_dumptree import DUMP_AFTER, load_dump

    with tempfile.TemporaryDirectory(prefix="fctarget-golden-") as tmp:
        root = Path(tmp)
        proc, sysfs, configfs = root / "proc", root / "sys", root / "configfs"
        for d in (proc, sysfs, configfs):
            d.mkdir()
        load_dump(DUMP_AFTER, configfs)
        (proc / "interrupts").write_bytes(
            (FIXTURES / "interrupts" / "real-6.1-guest.txt").read_bytes()
        )
        (proc / "stat").write_text(f"cpu  0 0 0 0 0 0 0 0 0 0\nbtime {REAL_BTIME}\n")
        return _once(
            f"--path.procfs={proc}",
            f"--path.sysfs={sysfs}",
            f"--path.configfs={configfs}",
            f"--path.kmsg={FIXTURES / 'kmsg' / 'guest-kmsg-6.1.txt'}",
            "--collector.kmsg.accept-user-records",
        )


RENDER = {"demo": render_demo, "real-kernel-6.1": render_real_kernel}


def main() -> int:
    for name, path in GOLDEN.items():
        path.write_text(RENDER[name]())
        print(f"wrote {path.relative_to(ROOT)}")
    return 0
