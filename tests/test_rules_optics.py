"""dashboards/rules/optics.rules.yml: promtool check and unit tests, a firing and a quiet case
per alert, runbooks, a mutation that the quiet case catches, and every metric it uses served by
a scrape of the simulated host (sfp collector on)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import queries as dq
from dashboards.rules import DEFAULT_RUNBOOK_BASE, runbook_url
from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import run_exporter
from tests.test_rules import ALERTS_DOC, promtool

RULES = Path(__file__).resolve().parent.parent / "dashboards" / "rules" / "optics.rules.yml"
RULE_TESTS = RULES.parent / "tests" / "optics.rules.test.yml"
EXPECTED = {
    "FCTargetSFPRxPowerLow",
    "FCTargetSFPTemperatureHigh",
    "FCTargetFirmwareDumpWaiting",
    "FCTargetVportNotActive",
}


def alerts() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"]}


def test_promtool_check_and_unit_tests() -> None:
    res = promtool("check", "rules", str(RULES))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 4 rules found" in res.stdout
    res = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    assert set(alerts()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fires_and_stays_quiet_with_a_runbook(name: str) -> None:
    doc = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    cases = [c for t in doc["tests"] for c in t["alert_rule_test"] if c["alertname"] == name]
    assert any(c["exp_alerts"] for c in cases) and any(not c["exp_alerts"] for c in cases)
    rule = alerts()[name]
    assert rule["labels"]["severity"] == "warning"
    assert rule["annotations"]["runbook_url"] == runbook_url(DEFAULT_RUNBOOK_BASE, name)
    assert f"\n### {name}\n" in ALERTS_DOC.read_text(encoding="utf-8")


def test_the_link_down_exception_is_tested(tmp_path: Path) -> None:
    text = RULES.read_text(encoding="utf-8")
    clause = (
        "          unless on (job, instance, pci, host, wwpn) (fctarget_fc_host_link_up == 0)\n"
    )
    assert clause in text
    (tmp_path / "tests").mkdir()
    (tmp_path / RULES.name).write_text(text.replace(clause, ""))
    shutil.copy(RULE_TESTS, tmp_path / "tests" / RULE_TESTS.name)
    res = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path / "tests")
    assert res.returncode != 0


def test_every_metric_in_the_rules_is_exported(tmp_path: Path) -> None:
    host = SimulatedHost(str(tmp_path), SimParams(ports=2, cpus=4, seed=11))
    host.build()
    host.advance(10)
    p = host.paths
    res = run_exporter(
        "--once",
        "--collector.sfp",
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={p.kmsg}",
    )
    assert res.returncode == 0, res.stderr
    exported = {
        line.split("{", 1)[0].split(" ", 1)[0]
        for line in res.stdout.splitlines()
        if line and not line.startswith("#")
    }
    used: set[str] = set()
    for rule in alerts().values():
        used |= dq.metric_names(rule["expr"])
    assert len(used) == 7
    assert used - exported == set()
