"""Prometheus rules: `promtool check rules`, `promtool test rules`, and what they must contain.

The promtool unit tests live in dashboards/rules/tests/. Mutation tests below prove that the
"stays quiet" cases bite: weakening one condition of an alert makes `promtool test rules` fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import queries as dq
from dashboards import rules as rules_gen
from dashboards.promlab import RULES
from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import ROOT, run_exporter

RULE_TESTS_DIR = RULES.parent / "tests"
RULE_TESTS = sorted(RULE_TESTS_DIR.glob("*.test.yml"))
INHIBIT = RULES.parent.parent / "alertmanager" / "inhibit.yml"
ALERTS_DOC = Path(ROOT) / "docs" / "alerts.md"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"

EXPECTED_ALERTS = {
    "FCTargetPortLinkDown",
    "FCTargetPortMissing",
    "FCTargetAllPortsDown",
    "FCTargetPortLinkFlapping",
    "FCTargetPortLIPStorm",
    "FCTargetPortErrorsRising",
    "FCTargetPortSpeedDegraded",
    "FCTargetHBAReset",
    "FCTargetPortNotInTargetMode",
    "FCTargetModeDisabled",
    "FCTargetLinkStateMismatch",
    "FCTargetIRQImbalance",
    "FCTargetIRQRemoteNUMA",
    "FCTargetLIOConfigMissing",
    "FCTargetInitiatorAllPathsDown",
    "FCTargetInitiatorNoSession",
    "FCTargetBackstoreDisabled",
    "FCTargetBackstoreTaskAborts",
    "FCTargetKmsgRecordsLost",
    "FCTargetKmsgUnknownFormat",
    "FCTargetCollectorFailing",
    "FCTargetExporterDown",
    "FCTargetExporterAbsent",
}
EXPECTED_RECORDS = {
    "instance_target:fctarget_lio_lun_read_bytes:rate5m",
    "instance_target:fctarget_lio_lun_write_bytes:rate5m",
    "instance_target:fctarget_lio_lun_commands:rate5m",
    "fctarget:port_expected",
    "fabric_initiator:fctarget_lio_acl_session_active:sum",
    "fctarget:initiator_expected",
    "fctarget:kmsg_link_state_mismatch",
    "instance_port:fctarget_link_downs:increase15m",
    "instance_port:fctarget_fc_host_errors:increase10m",
    "instance_vector:fctarget_irq_interrupts:rate5m",
    "instance_vector:fctarget_irq_max_cpu_share:ratio_rate5m",
    "instance_vector:fctarget_irq_spread:ratio_rate5m",
    "instance_host:fctarget_irq_interrupts:rate5m",
    "instance_host:fctarget_irq_max_cpu_share:ratio_rate5m",
    "instance_host:fctarget_irq_busy_vectors:count5m",
    "instance_host:fctarget_irq_allowed_cpus:max",
    "instance_host:fctarget_irq_remote_numa_share:ratio_rate5m",
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
    assert len(RULE_TESTS) >= 3
    res = promtool("test", "rules", *(t.name for t in RULE_TESTS), cwd=RULE_TESTS_DIR)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("SUCCESS") == len(RULE_TESTS)


@pytest.mark.parametrize("path", rules_gen.ALL_RULES, ids=lambda p: p.name)
def test_every_shipped_rule_file_carries_the_default_runbook_base(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert rules_gen.with_runbook_base(text, rules_gen.DEFAULT_RUNBOOK_BASE) == text
    assert "runbook_url: " + rules_gen.DEFAULT_RUNBOOK_BASE + "#" in text


def test_the_shipped_file_is_the_generated_one() -> None:
    """`python -m dashboards.rules` with the default base rewrites the file unchanged."""
    text = RULES.read_text(encoding="utf-8")
    assert rules_gen.with_runbook_base(text, rules_gen.DEFAULT_RUNBOOK_BASE) == text
    res = subprocess.run(
        [sys.executable, "-m", "dashboards.rules"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=True,
    )  # fmt: skip
    assert res.stdout == text


def test_runbook_base_is_configurable(tmp_path: Path) -> None:
    out = tmp_path / "fctarget.rules.yml"
    base = "https://git.example.com/storage/fctarget-exporter/-/blob/main/docs/alerts.md"
    subprocess.run(
        [sys.executable, "-m", "dashboards.rules", "--runbook-base", base, "-o", str(out)],
        timeout=60, cwd=ROOT, check=True,
    )  # fmt: skip
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    urls = [
        r["annotations"]["runbook_url"] for g in doc["groups"] for r in g["rules"] if "alert" in r
    ]
    assert len(urls) == len(EXPECTED_ALERTS)
    assert all(u.startswith(base + "#fctarget") for u in urls)
    assert promtool("check", "rules", str(out)).returncode == 0
    # an odd base (a space) is quoted, not broken
    odd = "file:///srv/fc docs/a.md"
    text = rules_gen.with_runbook_base(RULES.read_text(encoding="utf-8"), odd)
    names = {
        r["alert"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "alert" in r
    }
    url = names["FCTargetPortLinkDown"]["annotations"]["runbook_url"]
    assert url == "file:///srv/fc docs/a.md#fctargetportlinkdown"
    with pytest.raises(ValueError):
        rules_gen.with_runbook_base(text, "https://x/#frag")


def test_shorten_for_is_the_real_rules_with_shorter_for() -> None:
    text = RULES.read_text(encoding="utf-8")
    short = rules_gen.shorten_for(text, 60)
    fors = [r.get("for") for g in yaml.safe_load(short)["groups"] for r in g["rules"]]
    assert "1s" in fors and "15s" in fors and "10s" in fors
    assert all(f is None or f.endswith("s") for f in fors)
    assert short.replace("for: ", "") != text.replace("for: ", "")
    assert len(short.splitlines()) == len(text.splitlines())


def test_the_rule_set() -> None:
    assert set(alerts()) == EXPECTED_ALERTS
    assert {r["record"] for r in rules() if "record" in r} == EXPECTED_RECORDS


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_alert_has_severity_annotations_and_a_runbook(name: str) -> None:
    rule = alerts()[name]
    assert rule["labels"]["severity"] in ("critical", "warning")
    ann = rule["annotations"]
    assert set(ann) == {"summary", "description", "runbook_url"}
    assert ann["runbook_url"] == rules_gen.runbook_url(rules_gen.DEFAULT_RUNBOOK_BASE, name)
    # The anchor is a heading of the runbook section (GitHub lowercases heading text), and the
    # failure-mode table names the alert.
    doc = ALERTS_DOC.read_text(encoding="utf-8")
    headings = re.findall(r"^#{2,5} (\S+)\s*$", doc, re.M)
    assert name in headings
    assert f"[{name}](#{name.lower()})" in doc


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_every_alert_has_a_firing_and_a_quiet_unit_test(name: str) -> None:
    cases = [
        c
        for f in RULE_TESTS
        for t in yaml.safe_load(f.read_text(encoding="utf-8"))["tests"]
        for c in t.get("alert_rule_test", [])
        if c["alertname"] == name
    ]
    assert any(c["exp_alerts"] for c in cases), "no case where it fires"
    assert any(not c["exp_alerts"] for c in cases), "no case where it stays quiet"


# fmt: off
# One weakened condition per line: (rule file text, replacement, the unit test it must break).
MUTATIONS = [
    # without the expected set, administratively disabled and unused ports warn
    (
        "          fctarget_fc_host_link_up == 0\n"
        "          and on (job, instance, wwpn) fctarget:port_expected\n",
        "          fctarget_fc_host_link_up == 0\n",
        "one port down warns",
    ),
    # an initiator-only port without LIO configuration is not a target port
    (
        "          fctarget_fc_host_target_mode_active == 0\n"
        "          and on (job, instance, wwpn) fctarget:port_expected\n",
        "          fctarget_fc_host_target_mode_active == 0\n",
        "a port not in target mode",
    ),
    # one flap is not flapping
    (
        "expr: instance_port:fctarget_link_downs:increase15m >= 3\n",
        "expr: instance_port:fctarget_link_downs:increase15m >= 1\n",
        "a flapping port fires one alert",
    ),
    # a flapping port's LIPs are the flap's: one cause, one alert
    (
        "          unless on (job, instance, pci, host) instance_port:fctarget_link_downs:increase15m >= 3\n",  # noqa: E501
        "",
        "a flapping port fires one alert",
    ),
    # a flapping port's loss of sync/signal bursts are the flap's
    (
        "          unless on (job, instance, pci, host) instance_port:fctarget_link_downs:increase15m > 0\n",  # noqa: E501
        "",
        "FC error counters rising on a link that stays up",
    ),
    # a raw link condition lets every flap reset the initiator's for: (the measured defect)
    (
        "unless on (job, instance, wwpn) max_over_time(fctarget_fc_host_link_up[10m]) == 0",
        "unless on (job, instance, wwpn) fctarget_fc_host_link_up == 0",
        "configured initiator without a session, while its port flaps",
    ),
    # an ACL that never had a session is not a lost path
    ("          and on (fabric, initiator) fctarget:initiator_expected\n", "",
     "an initiator's last path pages"),
    # a failing lio collector is not lost configuration
    (
        "          unless on (job, instance) fctarget_lio_tpg_enabled{fabric=\"qla2xxx\"}\n"
        "          and on (job, instance) fctarget_scrape_collector_success{collector=\"lio\"} == 1\n",  # noqa: E501
        "          unless on (job, instance) fctarget_lio_tpg_enabled{fabric=\"qla2xxx\"}\n",
        "LIO configuration not restored",
    ),
    # a host with one port still up is not down
    (
        "            (fctarget:port_expected and on (job, instance, wwpn) fctarget_fc_host_link_up == 1)\n",  # noqa: E501
        "            (fctarget:port_expected and on (job, instance, wwpn) fctarget_fc_host_link_up == 2)\n",  # noqa: E501
        "one port down warns",
    ),
    # five LIPs in five minutes are no storm
    ("increase(fctarget_fc_host_lip_total[5m])) > 10", "increase(fctarget_fc_host_lip_total[5m])) > 4",  # noqa: E501
     "LIP storm without the link going down"),
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
    # a flaky collector is not failing
    ("        for: 5m\n        labels:\n          severity: warning\n        annotations:\n"
     '          summary: "fctarget-exporter collector',
     "        for: 0m\n        labels:\n          severity: warning\n        annotations:\n"
     '          summary: "fctarget-exporter collector',
     "collector failing"),
]
# fmt: on


@pytest.mark.parametrize(("old", "new", "case"), MUTATIONS, ids=[m[2] for m in MUTATIONS])
def test_weakened_rule_fails_its_unit_test(tmp_path: Path, old: str, new: str, case: str) -> None:
    text = RULES.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    (tmp_path / "fctarget.rules.yml").write_text(text.replace(old, new))
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    for f in RULE_TESTS:
        (tests_dir / f.name).write_text(f.read_text(encoding="utf-8"))
    assert promtool("check", "rules", str(tmp_path / "fctarget.rules.yml")).returncode == 0
    res = promtool("test", "rules", *(f.name for f in RULE_TESTS), cwd=tests_dir)
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


def test_inhibit_rules_check_and_name_real_alerts() -> None:
    res = subprocess.run(
        [AMTOOL, "check-config", str(INHIBIT)], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout
    doc = yaml.safe_load(INHIBIT.read_text(encoding="utf-8"))
    named: set[str] = set()
    for rule in doc["inhibit_rules"]:
        for m in rule["source_matchers"] + rule["target_matchers"]:
            named |= set(re.findall(r"FCTarget\w+", m))
        # every source alert carries the labels it is compared on
        sources = re.findall(r"FCTarget\w+", " ".join(rule["source_matchers"]))
        for src in sources:
            text = yaml.safe_dump(alerts()[src])
            for label in rule["equal"]:
                assert label in text, (src, label)
    assert named <= EXPECTED_ALERTS
