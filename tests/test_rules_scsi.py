"""The scsi_latency collector's own rule file, dashboards/rules/scsi.rules.yml: promtool check and
unit tests (dashboards/rules/tests/scsi.rules.test.yml), a firing and a quiet case per alert,
runbooks in docs/alerts.md, and every metric it reads is in the catalogue."""

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
from exporter.catalogue import by_sample_name, load_all

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "dashboards" / "rules" / "scsi.rules.yml"
RULE_TESTS = RULES.parent / "tests" / "scsi.rules.test.yml"
ALERTS_DOC = ROOT / "docs" / "alerts.md"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
EXPECTED_ALERTS = {
    "FCTargetSCSILatencyHigh",
    "FCTargetSCSICheckConditionsRising",
    "FCTargetSCSIBusy",
    "FCTargetSCSIReservationConflicts",
}


def rules(text: str | None = None) -> list[dict[str, Any]]:
    doc = yaml.safe_load(text if text is not None else RULES.read_text(encoding="utf-8"))
    return [r for g in doc["groups"] for r in g["rules"]]


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def test_promtool_check_and_unit_tests() -> None:
    res = promtool("check", "rules", str(RULES))
    assert res.returncode == 0 and f"SUCCESS: {len(rules())} rules found" in res.stdout, res
    res = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert res.returncode == 0 and "SUCCESS" in res.stdout, res.stdout + res.stderr


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_alert_fires_and_stays_quiet_and_has_a_runbook(name: str) -> None:
    (rule,) = [r for r in rules() if r.get("alert") == name]
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["annotations"]["runbook_url"] == runbook_url(DEFAULT_RUNBOOK_BASE, name)
    text = ALERTS_DOC.read_text(encoding="utf-8")
    runbooks = text[text.index("\n## Runbooks\n") :]
    assert name in re.findall(r"^#{2,5} (\S+)\s*$", runbooks, re.M)
    doc = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    cases = [
        c for t in doc["tests"] for c in t.get("alert_rule_test", []) if c["alertname"] == name
    ]
    assert any(c["exp_alerts"] for c in cases) and any(not c["exp_alerts"] for c in cases)


def test_the_threshold_is_a_recording_rule_an_operator_edits() -> None:
    (thr,) = [
        r for r in rules() if r.get("record") == "fctarget:scsi_p99_latency_threshold_seconds"
    ]
    assert thr["expr"].strip() == "vector(0.05)"
    (alert,) = [r for r in rules() if r.get("alert") == "FCTargetSCSILatencyHigh"]
    assert "fctarget:scsi_p99_latency_threshold_seconds" in alert["expr"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # without the traffic condition the nearly idle slow LUN 2 pages
        ("lun:fctarget_scsi_commands:rate5m >= 1", "lun:fctarget_scsi_commands:rate5m >= 0"),
        # a lower threshold makes the fast LUN 1 page
        ("vector(0.05)", "vector(0.001)"),
        # without the rate floor LUN 1's rare UNIT ATTENTIONs page
        ('{status="check_condition"} > 0.1', '{status="check_condition"} > 0.01'),
    ],
)
def test_weakened_rule_fails_its_unit_test(tmp_path: Path, old: str, new: str) -> None:
    text = RULES.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "scsi.rules.yml").write_text(text.replace(old, new))
    (tmp_path / "rules" / "tests").mkdir()
    shutil.copy(RULE_TESTS, tmp_path / "rules" / "tests" / RULE_TESTS.name)
    res = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path / "rules" / "tests")
    assert res.returncode != 0, res.stdout


def test_every_metric_in_the_rules_is_in_the_catalogue() -> None:
    assert load_all()
    recorded = {r["record"] for r in rules() if "record" in r}
    used: set[str] = set()
    for r in rules():
        used |= dq.metric_names(r["expr"])
    exported = {n + sfx for n in by_sample_name() for sfx in ("", "_bucket", "_count", "_sum")}
    assert used - recorded - exported == set(), sorted(used - recorded - exported)
    assert "fctarget_scsi_command_duration_seconds_bucket" in used
