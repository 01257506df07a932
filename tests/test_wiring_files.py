"""The shipped wiring files (packaging/prometheus, packaging/grafana/provisioning): valid for
promtool and Grafana's provisioning format, pointing where the packages install the rules and
the dashboard, and installed by the .deb build."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
PROMETHEUS = PACKAGING / "prometheus" / "fctarget.yml"
GRAFANA = PACKAGING / "grafana" / "provisioning"
DATASOURCES = GRAFANA / "datasources" / "fctarget.yml"
DASHBOARDS = GRAFANA / "dashboards" / "fctarget.yml"
BUILD_DEB = PACKAGING / "debian" / "build-deb.sh"
REPO_RULES = REPO / "dashboards" / "rules" / "fctarget.rules.yml"
# build-deb.sh moves the venv's share/fctarget-exporter (pyproject data-files) to /usr/share.
DEB_SHARE = "/usr/share/fctarget-exporter"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def data_files() -> dict[str, list[str]]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    files: dict[str, list[str]] = pyproject["tool"]["setuptools"]["data-files"]
    return files


def test_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool") or "/usr/bin/promtool"  # scripts/install-system-deps.sh
    config = load(PROMETHEUS)
    [rules] = config["rule_files"]
    assert rules == f"{DEB_SHARE}/rules/*.rules.yml"  # fctarget.rules.yml and the opt-in ones
    assert "dashboards/rules/*.yml" in data_files()["share/fctarget-exporter/rules"]
    assert REPO_RULES.exists()
    [job] = config["scrape_configs"]
    assert job["job_name"] == "fctarget" and job["scrape_interval"] == "15s"
    # The same file with the rules path pointed at the repository's rules.
    text = PROMETHEUS.read_text(encoding="utf-8")
    assert text.count(rules) == 1
    copy = tmp_path / "prometheus.yml"
    copy.write_text(text.replace(rules, str(REPO_RULES.parent / "*.rules.yml")), encoding="utf-8")
    r = subprocess.run(
        [promtool, "check", "config", str(copy)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for path in REPO_RULES.parent.glob("*.rules.yml"):  # every rule file was found and checked
        assert f"Checking {path}" in r.stdout + r.stderr, path.name


def test_grafana_datasource_provisioning() -> None:
    doc = load(DATASOURCES)
    assert doc["apiVersion"] == 1
    [ds] = doc["datasources"]
    assert ds["type"] == "prometheus" and ds["access"] == "proxy"
    assert ds["url"].startswith("http") and ds["name"]
    assert (
        ds["jsonData"]["timeInterval"] == load(PROMETHEUS)["scrape_configs"][0]["scrape_interval"]
    )


def test_grafana_dashboard_provider_points_at_the_installed_dashboard() -> None:
    doc = load(DASHBOARDS)
    assert doc["apiVersion"] == 1
    [provider] = doc["providers"]
    assert provider["type"] == "file" and provider["name"]
    assert provider["options"]["path"] == f"{DEB_SHARE}/dashboards"
    assert "dashboards/*.json" in data_files()["share/fctarget-exporter/dashboards"]
    assert (REPO / "dashboards" / "fctarget.json").exists()


def test_deb_installs_the_wiring_files_under_its_own_share(tmp_path: Path) -> None:
    """Run build-deb.sh's install lines for these files into a scratch root."""
    script = BUILD_DEB.read_text(encoding="utf-8")
    start = script.index("# Ready-to-use wiring")
    end = script.index('install -D -m 0644 "$REPO/packaging/$PKG.service"')
    snippet = script[start:end]
    assert "/etc/" not in snippet
    root = tmp_path / "root"
    r = subprocess.run(
        ["bash", "-euc", snippet],
        env={
            "REPO": str(REPO),
            "ROOT": str(root),
            "PKG": "fctarget-exporter",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    share = root / DEB_SHARE.lstrip("/")
    installed = sorted(str(p.relative_to(share)) for p in share.rglob("*") if p.is_file())
    assert installed == [
        "grafana/provisioning/dashboards/fctarget.yml",
        "grafana/provisioning/datasources/fctarget.yml",
        "prometheus/fctarget.yml",
    ]
    assert (share / "prometheus" / "fctarget.yml").read_bytes() == PROMETHEUS.read_bytes()
