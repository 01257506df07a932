"""README.md stays true: every exported metric family and every flag is documented there."""

from __future__ import annotations

import re
from pathlib import Path

from exporter.cli import build_parser
from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import run_exporter

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()

# Families prometheus_client itself exports for every Python process (documented as a group).
STANDARD_PREFIXES = ("process_", "python_")


def exported_families(tmp_path: Path, *extra: str) -> set[str]:
    host = SimulatedHost(str(tmp_path), SimParams(ports=2, cpus=4, qpairs=1, extended_logging=True))
    host.build()
    host.advance(5)
    host.flap(0)
    p = host.paths
    r = run_exporter(
        "--once",
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={p.kmsg}",
        *extra,
    )
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"^# TYPE (\S+) ", r.stdout, flags=re.M))


def test_every_metric_family_is_in_readme(tmp_path: Path) -> None:
    families = exported_families(tmp_path)
    assert len(families) > 60  # sanity: every collector contributed
    missing = sorted(
        f for f in families if not f.startswith(STANDARD_PREFIXES) and f"`{f}" not in README
    )
    assert missing == []


def test_every_flag_is_in_readme() -> None:
    flags = set()
    for action in build_parser()._actions:
        for opt in action.option_strings:
            if opt.startswith("--") and opt not in ("--help",):
                flags.add(opt)
    missing = []
    for flag in sorted(flags):
        bare = flag.removeprefix("--no-").removeprefix("--")
        # `--[no-]collector.x` documents both forms
        if flag not in README and f"--[no-]{bare}" not in README:
            missing.append(flag)
    assert missing == []
