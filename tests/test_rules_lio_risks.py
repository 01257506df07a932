"""dashboards/rules/lio-risks.rules.yml: promtool check and unit tests, runbooks, mutations, and
every metric it uses is declared in the catalogue."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import queries as dq
from dashboards.rules import DEFAULT_RUNBOOK_BASE, runbook_url
from exporter.catalogue import by_sample_name
from tests.exporter_proc import ROOT

RULES = Path(ROOT) / "dashboards" / "rules" / "lio-risks.rules.yml"
RULE_TESTS = RULES.parent / "tests" / "lio-risks.rules.test.yml"
ALERTS_DOC = Path(ROOT) / "docs" / "alerts.md"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
EXPECTED_ALERTS = {
    "FCTargetALUANoActivePath": "critical",
    "FCTargetALUAGroupNotActive": "warning",
    "FCTargetTCMUDeviceBlocked": "warning",
    "FCTargetBackstoreWriteBackNotAdvertised": "warning",
    "FCTargetBackstoreVolatileWriteCache": "info",
}


def alerts() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def test_promtool_check_and_unit_tests() -> None:
    res = promtool("check", "rules", str(RULES))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in res.stdout
    res = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_alert_severity_runbook_and_both_test_cases(name: str) -> None:
    rule = alerts()[name]
    assert rule["labels"]["severity"] == EXPECTED_ALERTS[name]
    assert rule["annotations"]["runbook_url"] == runbook_url(DEFAULT_RUNBOOK_BASE, name)
    text = ALERTS_DOC.read_text(encoding="utf-8")
    assert name in re.findall(r"^### (\S+)\s*$", text[text.index("\n## Runbooks\n") :], re.M)
    doc = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    cases = [c for t in doc["tests"] for c in t["alert_rule_test"] if c["alertname"] == name]
    assert any(c["exp_alerts"] for c in cases), "no case where it fires"
    assert any(not c["exp_alerts"] for c in cases), "no case where it stays quiet"


def test_every_metric_is_declared() -> None:
    used: set[str] = set()
    for rule in alerts().values():
        used |= dq.metric_names(rule["expr"])
    assert len(used) >= 5
    assert used - set(by_sample_name()) == set()


_SERVING = "            and on (job, instance, backstore_type, backstore, tg_pt_gp) "
MUTATIONS = [
    # a Standby group without LUNs (prepared for failover) is no lost path
    (_SERVING + "fctarget_lio_alua_tg_pt_gp_members > 0\n", "",
     "one ALUA group of two leaves the active states"),
    # Active/Non-optimized serves I/O too
    ('state=~"active_optimized|active_nonoptimized"', 'state="active_optimized"',
     "one ALUA group of two leaves the active states"),
    # a device whose only other group has no LUNs has no active path
    (_SERVING + "fctarget_lio_alua_tg_pt_gp_members > 0\n          )\n        for: 2m",
     "          )\n        for: 2m", "every ALUA group serving a device leaves the active states"),
    # a tcmu-runner reopen blocks for a moment
    ("        for: 2m\n        labels:\n          severity: warning",
     "        for: 0m\n        labels:\n          severity: warning", "tcmu device blocked"),
    # block backstores always show emulate_write_cache 0
    ('fctarget_lio_backstore_volatile_write_cache{backstore_type="fileio"} == 1',
     "fctarget_lio_backstore_volatile_write_cache == 1", "volatile write caches"),
    # a backstore no LUN exports risks nothing
    ("          fctarget_lio_backstore_volatile_write_cache == 1\n"
     "          and on (job, instance, backstore_type, backstore) "
     "fctarget_lio_backstore_exported == 1\n",
     "          fctarget_lio_backstore_volatile_write_cache == 1\n", "volatile write caches"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "case"), MUTATIONS)
def test_weakened_rule_fails_its_unit_test(tmp_path: Path, old: str, new: str, case: str) -> None:
    text = RULES.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    (tmp_path / RULES.name).write_text(text.replace(old, new))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / RULE_TESTS.name).write_text(RULE_TESTS.read_text(encoding="utf-8"))
    assert promtool("check", "rules", str(tmp_path / RULES.name)).returncode == 0
    res = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path / "tests")
    assert res.returncode != 0
    assert f"name: {case}" in res.stdout + res.stderr, res.stdout
