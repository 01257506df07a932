"""Prometheus rules: `promtool check rules`, `promtool test rules`, and what they must contain.

The promtool unit tests live in dashboards/rules/tests/. Mutation tests below prove that the
"stays quiet" cases bite: weakening one condition of an alert makes `promtool test rules` fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import queries as dq
from dashboards.promlab import RULES
from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import ROOT, run_exporter

RULE_TESTS = RULES.parent / "tests" / "fctarget.rules.test.yml"
ALERTS_DOC = Path(ROOT) / "docs" / "alerts.md"
RUNBOOK_BASE = "docs/alerts.md#"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

EXPECTED_ALERTS = {
    "FCTargetPortLinkDown",
    "FCTargetPortNotInTargetMode",
    "FCTargetPortLinkFlapping",
    "FCTargetPortLIPStorm",
    "FCTargetHBAReset",
    "FCTargetPortErrorsRising",
    "FCTargetIRQImbalance",
    "FCTargetIRQRemoteNUMA",
    "FCTargetInitiatorNoSession",
    "FCTargetCollectorFailing",
    "FCTargetExporterDown",
    "FCTargetExporterAbsent",
}
EXPECTED_RECORDS = {
    "instance_wwpn:fctarget_lun_read_bytes:rate5m",
    "instance_wwpn:fctarget_lun_write_bytes:rate5m",
    "instance_wwpn:fctarget_lun_commands:rate5m",
    "instance_vector:fctarget_irq_interrupts:rate5m",
    "instance_vector:fctarget_irq_max_cpu_share:ratio_rate5m",
    "instance_vector:fctarget_irq_spread:ratio_rate5m",
    "instance_host:fctarget_irq_interrupts:rate5m",
    "instance_host:fctarget_irq_max_cpu_share:ratio_rate5m",
    "instance_host:fctarget_irq_busy_vectors:count5m",
    "instance_host:fctarget_irq_allowed_cpus:max",
    "instance_host:fctarget_irq_remote_numa_share:ratio_rate5m",
    "instance_host:fctarget_fc_port_errors:increase10m",
}


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [r for g in doc["groups"] for r in g["rules"]]


def alerts() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in rules() if "alert" in r}


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def test_promtool_check_rules() -> None:
    res = promtool("check", "rules", str(RULES))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(rules())} rules found" in res.stdout


def test_promtool_unit_tests_pass() -> None:
    res = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_the_rule_set() -> None:
    assert set(alerts()) == EXPECTED_ALERTS
    assert {r["record"] for r in rules() if "record" in r} == EXPECTED_RECORDS


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_alert_has_severity_annotations_and_a_runbook(name: str) -> None:
    rule = alerts()[name]
    assert rule["labels"]["severity"] in ("critical", "warning")
    ann = rule["annotations"]
    assert set(ann) == {"summary", "description", "runbook_url"}
    assert ann["runbook_url"] == RUNBOOK_BASE + name.lower()
    # The anchor is a heading of the runbook section (GitHub lowercases heading text).
    text = ALERTS_DOC.read_text(encoding="utf-8")
    runbooks = text[text.index("\n## Runbooks\n") :]
    headings = re.findall(r"^#{2,5} (\S+)\s*$", runbooks, re.M)
    assert name in headings


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_every_alert_has_a_firing_and_a_quiet_unit_test(name: str) -> None:
    doc = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    cases = [
        c for t in doc["tests"] for c in t.get("alert_rule_test", []) if c["alertname"] == name
    ]
    assert any(c["exp_alerts"] for c in cases), "no case where it fires"
    assert any(not c["exp_alerts"] for c in cases), "no case where it stays quiet"


# One weakened condition per line: (rule file text, replacement, the unit test it must break).
MUTATIONS = [
    # without the TPG join, the administratively disabled and unused ports page
    (
        "          fctarget_fc_port_up == 0\n"
        "          and on (job, instance, wwpn)\n"
        "            (max by (job, instance, wwpn) (fctarget_tpg_enabled) == 1)\n",
        "          fctarget_fc_port_up == 0\n",
        "link down pages only for ports with an enabled TPG",
    ),
    # an initiator-only port without LIO configuration is not a target port
    (
        "          fctarget_fc_host_target_mode_active == 0\n"
        "          and on (job, instance, wwpn)\n"
        "            (max by (job, instance, wwpn) (fctarget_tpg_enabled) == 1)\n",
        "          fctarget_fc_host_target_mode_active == 0\n",
        "LIO configured on a port that is not in target mode",
    ),
    # one flap is not flapping
    ("            >= 3\n", "            >= 1\n", "flapping from kernel-log"),
    # five LIPs in five minutes are no storm
    ("            > 10\n", "            > 4\n", "LIP storm from fc_host"),
    # pinned vectors (one allowed CPU each) are deliberate
    (
        "instance_host:fctarget_irq_allowed_cpus:max > 1",
        "instance_host:fctarget_irq_allowed_cpus:max > 0",
        "IRQ imbalance needs",
    ),
    # balanced interrupts: 25 % on the busiest CPU
    (
        "instance_host:fctarget_irq_max_cpu_share:ratio_rate5m > 0.8",
        "instance_host:fctarget_irq_max_cpu_share:ratio_rate5m > 0.2",
        "IRQ imbalance needs",
    ),
    # idle ports do not count
    (
        "and on (job, instance, pci, host) instance_host:fctarget_irq_interrupts:rate5m > 20\n"
        "        for: 5m",
        "and on (job, instance, pci, host) instance_host:fctarget_irq_interrupts:rate5m > 0\n"
        "        for: 5m",
        "interrupts off the HBA",
    ),
    # a disabled TPG's initiators are not missing
    (
        "and on (job, instance, fabric, wwpn, tpgt) fctarget_tpg_enabled == 1\n",
        "",
        "configured initiator without a session",
    ),
    # one burst of loss of sync (a flap) is not "rising"
    ("        for: 15m\n", "        for: 5m\n", "FC error counters rising"),
    # a flaky collector is not failing
    ("        for: 5m\n        labels:\n          severity: warning\n        annotations:\n"
     '          summary: "fctarget-exporter collector',
     "        for: 0m\n        labels:\n          severity: warning\n        annotations:\n"
     '          summary: "fctarget-exporter collector',
     "collector failing"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "case"), MUTATIONS, ids=[m[2] for m in MUTATIONS])
def test_weakened_rule_fails_its_unit_test(tmp_path: Path, old: str, new: str, case: str) -> None:
    text = RULES.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    (tmp_path / "fctarget.rules.yml").write_text(text.replace(old, new))
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    (tests_dir / RULE_TESTS.name).write_text(RULE_TESTS.read_text(encoding="utf-8"))
    assert promtool("check", "rules", str(tmp_path / "fctarget.rules.yml")).returncode == 0
    res = promtool("test", "rules", RULE_TESTS.name, cwd=tests_dir)
    assert res.returncode != 0
    assert f"name: {case}" in res.stdout + res.stderr, res.stdout


def test_every_metric_in_the_rules_is_exported(tmp_path: Path) -> None:
    host = SimulatedHost(str(tmp_path), SimParams(ports=2, cpus=8, seed=11))
    host.build()
    host.advance(10)
    host.flap(1)
    host.advance(3)
    p = host.paths
    res = run_exporter(
        "--once",
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
    used = set()
    for r in rules():
        used |= dq.metric_names(r["expr"])
    assert len(used) >= 15
    assert used - exported == set()
