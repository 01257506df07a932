"""The metric catalogue is the one place every family is declared: what the exporter serves,
docs/metrics.md, the dashboards and the rules all agree with it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from exporter.catalogue import by_sample_name, load_all
from exporter.catalogue.spec import Metric, counter, gauge, info
from tests.exporter_proc import run_exporter

ROOT = Path(__file__).resolve().parent.parent
_FAMILY = re.compile(r"^# TYPE (\S+) (\S+)$", re.M)
_HELP = re.compile(r"^# HELP (\S+) (.*)$", re.M)
# A family name in PromQL or JSON; recording-rule names (level:metric:operations) are not.
_NAME_IN_TEXT = re.compile(r"(?<![\w:])fctarget_[a-z0-9_]+(?![\w:])")


def _served(*flags: str) -> tuple[dict[str, str], dict[str, str]]:
    r = run_exporter("--once", "--demo", *flags)
    assert r.returncode == 0, r.stderr
    types = dict(_FAMILY.findall(r.stdout))
    helps = {
        name: text.replace("\\\\", "\\").replace("\\n", "\n")
        for name, text in _HELP.findall(r.stdout)
    }
    return types, helps


@pytest.fixture(scope="module")
def served() -> tuple[dict[str, str], dict[str, str]]:
    types, helps = _served()
    more_types, more_helps = _served(
        "--collector.lio.initiator-luns", "--collector.lio.always-zero-stats", "--collector.sfp"
    )
    return {**types, **more_types}, {**helps, **more_helps}


def test_every_served_family_is_declared_with_its_type_and_help(
    served: tuple[dict[str, str], dict[str, str]],
) -> None:
    types, helps = served
    declared = by_sample_name()
    assert len(types) > 80
    assert sorted(set(types) - set(declared)) == []
    for name, kind in types.items():
        assert declared[name].prom_type == kind, name
        assert declared[name].help == helps[name], name


# fc_host statistics of fc_statistics_attrs[] that qla2xxx's fc_host_statistics never fills (the
# simulated host writes the qla2xxx set), the family for a file the catalogue does not know, and
# the firmware-dump uevent counter (served only where udev's netlink socket is, i.e. a real /sys).
NOT_ON_THE_SIMULATED_HOST = {
    "fctarget_fc_host_firmware_dump_events_total",
    "fctarget_qla2xxx_tgt_counter_other",  # a tgt_counters key the catalogue does not know
    *(
        f"fctarget_fc_host_{s}_total"
        for s in (
            "cn_sig_alarm",
            "cn_sig_warn",
            "fc_no_free_exch",
            "fc_no_free_exch_xid",
            "fc_non_bls_resp",
            "fc_seq_not_found",
            "fc_xid_busy",
            "fc_xid_not_found",
            "fcp_frame_alloc_failures",
            "fcp_packet_aborts",
            "fcp_packet_alloc_failures",
            "other_statistic",
        )
    ),
}


def test_declared_families_are_served(served: tuple[dict[str, str], dict[str, str]]) -> None:
    types, _ = served
    golden = "".join(p.read_text() for p in (ROOT / "tests" / "golden").glob("*.prom"))
    seen = set(types) | {name for name, _ in _FAMILY.findall(golden)}
    # scsi_latency reads the kernel's tracepoints through eBPF: no simulation; tests/kernel checks
    # its families on the real kernel.
    traced = {n for n, m in by_sample_name().items() if m.collector == "scsi_latency"}
    assert len(traced) >= 4
    assert sorted(set(by_sample_name()) - seen - NOT_ON_THE_SIMULATED_HOST - traced) == []
    assert set(by_sample_name()) >= NOT_ON_THE_SIMULATED_HOST


def _names_in(paths: list[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for p in paths:
        for name in _NAME_IN_TEXT.findall(p.read_text()):
            found.setdefault(name, set()).add(str(p.relative_to(ROOT)))
    return found


def test_dashboards_and_rules_name_only_declared_families() -> None:
    files = [
        *ROOT.glob("dashboards/*.json"),
        *ROOT.glob("dashboards/*.py"),
        *ROOT.glob("dashboards/**/*.yml"),
        *ROOT.glob("dashboards/**/*.yaml"),
    ]
    found = _names_in(files)
    assert len(found) > 20
    declared = set(by_sample_name()) | set(load_all())
    declared |= {  # a histogram's series
        m.name + suffix
        for m in load_all().values()
        if m.kind == "histogram"
        for suffix in ("_bucket", "_count", "_sum")
    }
    assert {n: sorted(f) for n, f in found.items() if n not in declared} == {}


@pytest.mark.parametrize(
    ("metric", "problem"),
    [
        (counter("fctarget_lio_x_total", "X.", ("a",), ("f",)), "without _total"),
        (gauge("fctarget_hba_x", "X.", (), ("f",)), "lio families start with"),
        (gauge("fctarget_lio_x_info", "X.", (), ("f",)), "info families"),
        (info("fctarget_lio_x", "X.", (), ("f",)), "info families"),
        (gauge("fctarget_lio_size_bytes", "X.", (), ("f",)), "ends in a unit"),
        (gauge("fctarget_lio_size", "X.", (), ("f",), unit="bytes"), "must be one of"),
        (gauge("fctarget_lio_x", "X", (), ("f",)), "full stop"),
        (gauge("fctarget_lio_x", "X.", ("a", "a"), ("f",)), "labels must be unique"),
        (gauge("fctarget_lio_x", "X.", (), ()), "sources"),
    ],
)
def test_naming_rule_is_enforced(metric: Metric, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Metric(**{**metric.__dict__, "collector": "lio"}).check()


COLLECTORS = ROOT / "exporter" / "collectors"
_IO_MODULES = {"os", "io", "pathlib", "aiofiles", "shutil", "glob", "exporter.fsread"}


@pytest.mark.parametrize("path", sorted(COLLECTORS.glob("*.py")), ids=lambda p: p.name)
def test_collectors_do_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{path.name}:{node.lineno} opens a file"
    assert sorted(imported & _IO_MODULES) == []


def _product_modules() -> list[Path]:
    return sorted([*ROOT.glob("exporter/**/*.py"), *ROOT.glob("dashboards/**/*.py")])


def test_no_product_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _product_modules()
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_production_code_does_not_know_the_simulator() -> None:
    mentions = []
    for p in ROOT.glob("exporter/**/*.py"):
        rel = p.relative_to(ROOT)
        # --demo runs the simulator: the flag (flags.py) and its run (cli.py)
        if rel.parts[1] == "simulate" or rel.name in ("cli.py", "flags.py"):
            continue
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"simulat", line, re.I):
                mentions.append(f"{rel}:{n}")
    assert mentions == []
