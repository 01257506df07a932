"""The qla2xxx alert rules (dashboards/rules/qla2xxx.rules.yml): promtool check and unit tests,
a firing and a quiet case per alert, runbooks, and only metrics the catalogue declares."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.rules import DEFAULT_RUNBOOK_BASE, runbook_url
from exporter.catalogue import by_sample_name

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "dashboards" / "rules" / "qla2xxx.rules.yml"
RULE_TESTS = RULES.parent / "tests" / "qla2xxx.rules.test.yml"
ALERTS_DOC = ROOT / "docs" / "alerts.md"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
EXPECTED = {
    "FCTargetQueueFullSent",
    "FCTargetABTSRateHigh",
    "FCTargetIOCBAllocFailures",
    "FCTargetDIFErrors",
    "FCTargetInitiatorReloginChurn",
    "FCTargetExchangeExhaustion",
}


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def alerts() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"]}


def test_promtool_check_and_unit_tests() -> None:
    assert set(alerts()) == EXPECTED
    res = promtool("check", "rules", str(RULES))
    assert res.returncode == 0, res.stdout + res.stderr
    res = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_alert_fires_and_stays_quiet_and_has_a_runbook(name: str) -> None:
    doc = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    cases = [c for t in doc["tests"] for c in t["alert_rule_test"] if c["alertname"] == name]
    assert any(c["exp_alerts"] for c in cases) and any(not c["exp_alerts"] for c in cases)
    rule = alerts()[name]
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["annotations"]["runbook_url"] == runbook_url(DEFAULT_RUNBOOK_BASE, name)
    assert re.search(rf"^### {name}$", ALERTS_DOC.read_text(encoding="utf-8"), re.M)


def test_rules_use_only_declared_metrics() -> None:
    names = set(re.findall(r"\bfctarget_qla2xxx_\w+", RULES.read_text(encoding="utf-8")))
    declared = by_sample_name()
    assert names and names <= set(declared), names - set(declared)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("[5m])) > 1\n", "[5m])) > 0.2\n"),  # ABTS: 0.5/s must stay quiet
        ('{resource=~"target_exchanges|iocbs"}', ""),  # initiator exchanges are not ours
        ("[15m])) >= 5", "[15m])) >= 1"),  # one re-login is no churn
    ],
)
def test_weakened_rule_fails_its_unit_test(tmp_path: Path, old: str, new: str) -> None:
    text = RULES.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / RULES.name).write_text(text.replace(old, new))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / RULE_TESTS.name).write_text(RULE_TESTS.read_text(encoding="utf-8"))
    assert promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path / "tests").returncode != 0
