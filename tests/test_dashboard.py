"""The Grafana dashboard: committed JSON == generated, importable, and linted.

Grafana's own linter cannot be installed here; `lint()` checks what matters for this dashboard:
every panel queries through the `$datasource` variable, has a unit and a legend, the layout fits
the grid, and every variable it uses is defined. Every metric it names must be in the exporter's
real output on a simulated host.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from dashboards import generate
from dashboards import queries as dq
from exporter.catalogue import by_sample_name
from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import run_exporter

DASHBOARD_FILE = Path(generate.__file__).resolve().parent / "fctarget.json"
DS_VAR = {"type": "prometheus", "uid": "${datasource}"}
BUILTIN_VARS = {"__rate_interval", "__interval", "__range"}
LEGEND_PANELS = {"timeseries", "state-timeline"}
# Panels that run no query of their own (Grafana's alert list reads its alerting API).
QUERYLESS_PANELS = {"alertlist"}


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    return data


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def lint(d: Mapping[str, Any]) -> list[str]:
    tvars = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    return [
        *_lint_datasources(d, tvars),
        *_lint_layout(d.get("panels", [])),
        *_lint_panels(d),
        *_lint_variables(d, tvars),
    ]


def _lint_datasources(d: Mapping[str, Any], tvars: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if d.get("schemaVersion", 0) < 39:
        problems.append(f"schemaVersion {d.get('schemaVersion')} < 39")
    inputs = d.get("__inputs", [])
    if not any(i.get("type") == "datasource" and i.get("pluginId") == "prometheus" for i in inputs):
        problems.append("no Prometheus datasource in __inputs")
    ds = tvars.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no datasource variable of type datasource/prometheus")
    # No hard-coded data source anywhere: every datasource object is the variable (or Grafana's
    # own built-in annotation source).
    for path, node in walk(d):
        builtin = isinstance(node, dict) and node.get("uid") == "-- Grafana --"
        if path.endswith(".datasource") and node != DS_VAR and not builtin:
            problems.append(f"{path}: datasource {node!r} is not ${{datasource}}")
    return problems


def _lint_layout(top_panels: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    ids: set[int] = set()
    cells: dict[tuple[int, int], str] = {}
    for p in top_panels:
        title = p.get("title", "?")
        pid = p.get("id")
        if not isinstance(pid, int) or pid in ids:
            problems.append(f"{title}: missing or duplicate id {pid!r}")
        else:
            ids.add(pid)
        g = p.get("gridPos", {})
        if g.get("x", 0) + g.get("w", 0) > 24:
            problems.append(f"{title}: wider than the grid")
        overlapped = _place(cells, title, g)
        if overlapped is not None:
            problems.append(f"{title}: overlaps {overlapped}")
    return problems


def _place(cells: dict[tuple[int, int], str], title: str, g: Mapping[str, int]) -> str | None:
    """Marks the grid cells of a panel as its own, up to the first one another panel has (whose
    title is returned)."""
    for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
        for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
            if (x, y) in cells:
                return cells[(x, y)]
            cells[(x, y)] = title
    return None


def _lint_panels(d: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    titles: set[str] = set()
    for p in dq.panels(d):
        title = p.get("title", "?")
        if title in titles:
            problems.append(f"{title}: title used twice")
        titles.add(title)
        if p.get("type") not in QUERYLESS_PANELS:
            problems += [f"{title}: {problem}" for problem in _panel_problems(p)]
    return problems


def _panel_problems(p: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if p.get("datasource") != DS_VAR:
        problems.append("panel datasource is not ${datasource}")
    if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
        problems.append("no unit")
    if not p.get("targets"):
        problems.append("no query")
    for t in p.get("targets", []):
        if not t.get("legendFormat"):
            problems.append(f"query {t.get('refId')} has no legend format")
    kind = p.get("type")
    if kind in LEGEND_PANELS and not p.get("options", {}).get("legend", {}).get("showLegend"):
        problems.append("legend hidden")
    if kind == "heatmap" and not p.get("options", {}).get("legend", {}).get("show"):
        problems.append("legend hidden")
    return problems


def _lint_variables(d: Mapping[str, Any], tvars: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for q in dq.queries(d):
        for name in dq.variables(q.expr) - set(tvars) - BUILTIN_VARS:
            problems.append(f"{q.where}: undefined variable ${name}")
    return problems


def test_committed_json_is_what_generate_py_makes() -> None:
    assert DASHBOARD_FILE.read_text(encoding="utf-8") == generate.render(), (
        "dashboards/fctarget.json is stale: run `.venv/bin/python -m dashboards.generate`"
    )
    assert generate.main(["--check"]) == 0


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "d.json"
    stale.write_text(generate.render().replace('"schemaVersion": 39', '"schemaVersion": 38'))
    assert generate.main(["--check", "--output", str(stale)]) == 1
    assert generate.main(["--output", str(stale)]) == 0
    assert generate.main(["--check", "--output", str(stale)]) == 0


def test_dashboard_passes_the_lint() -> None:
    assert lint(load()) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("unit", "Link state: no unit"),
        ("legend", "Link state: query A has no legend format"),
        ("datasource", "Link state: panel datasource is not ${datasource}"),
        ("hidden legend", "Link state: legend hidden"),
        ("uid", "].targets[0].datasource: datasource {'type': 'prometheus', 'uid': 'P18"),
        ("variable", "Link state: undefined variable $port"),
        ("overlap", "Negotiated speed: overlaps Link state"),
        ("title", "Link state: title used twice"),
    ],
)
def test_lint_finds_each_kind_of_problem(breakage: str, expected: str) -> None:
    d = copy.deepcopy(load())
    idx, p = next((i, p) for i, p in enumerate(d["panels"]) if p["title"] == "Link state")
    if breakage == "unit":
        del p["fieldConfig"]["defaults"]["unit"]
    elif breakage == "legend":
        p["targets"][0]["legendFormat"] = ""
    elif breakage == "datasource":
        p["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
    elif breakage == "hidden legend":
        p["options"]["legend"]["showLegend"] = False
    elif breakage == "uid":
        p["targets"][0]["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
    elif breakage == "variable":
        p["targets"][0]["expr"] = 'fctarget_fc_host_link_up{host=~"$port"}'
    elif breakage == "title":
        d["panels"][idx + 1]["title"] = "Link state"
    elif breakage == "overlap":
        nxt = d["panels"][idx + 1]
        nxt["gridPos"]["x"] = p["gridPos"]["x"]
    problems = lint(d)
    assert any(expected in x for x in problems), problems


def test_importable_shape() -> None:
    d = load()
    assert d["schemaVersion"] >= 39
    # No instance-specific id: the SDK leaves a null id out, which Grafana reads the same way.
    assert d.get("id") is None and d["uid"] == "fctarget-exporter"
    [inp] = d["__inputs"]
    assert inp == {
        "name": "DS_PROMETHEUS",
        "label": "Prometheus",
        "description": "Prometheus that scrapes fctarget-exporter",
        "type": "datasource",
        "pluginId": "prometheus",
        "pluginName": "Prometheus",
    }
    names = [v["name"] for v in d["templating"]["list"]]
    assert names == [
        "datasource",
        "job",
        "instance",
        "host",
        "target",
        "initiator",
        "lun",
        "runbooks",
    ]
    # A hard-coded uid would look like Grafana's generated ones; the only uid strings are the
    # variable and the built-in annotation source.
    uids = {node.get("uid") for _, node in walk(d) if isinstance(node, dict) and "uid" in node}
    assert uids == {"${datasource}", "-- Grafana --", "fctarget-exporter"}


def test_host_view_and_fleet_row() -> None:
    d = load()
    rows = [p["title"] for p in d["panels"] if p["type"] == "row"]
    assert rows[0] == "Fleet: every host of job $job"
    assert "Host $instance: overview" in rows
    fleet: list[dict[str, Any]] = []
    for p in d["panels"]:
        if p["type"] == "row" and fleet:
            break
        if p["type"] != "row":
            fleet.append(p)
    # Fleet panels aggregate by instance over the job, never filter on one instance.
    for p in fleet:
        for t in p.get("targets", []):
            assert "$instance" not in t["expr"], p["title"]
            assert "$job" in t["expr"], p["title"]
            assert "instance" in t["legendFormat"], p["title"]
    # Host panels all filter on the selected instance.
    host_queries = [q for q in dq.queries(d) if q.kind == "panel"][
        sum(len(p.get("targets", [])) for p in fleet) :
    ]
    for q in host_queries:
        assert '$instance"' in q.expr, q.where


def test_required_panels_use_the_right_metrics() -> None:
    d = load()
    by_metric: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    for p in dq.panels(d):
        kinds[p["title"]] = p["type"]
        for t in p.get("targets", []):
            for m in dq.metric_names(t["expr"]):
                by_metric.setdefault(m, set()).add(p["title"])
    assert kinds["Link state"] == "state-timeline"
    assert "Link state" in by_metric["fctarget_fc_host_link_up"]
    assert "Negotiated speed" in by_metric["fctarget_fc_host_speed_bytes_per_second"]
    assert "Link events (kernel log)" in by_metric["fctarget_kmsg_link_events_total"]
    assert "LIPs and ISP aborts (HBA counters)" in by_metric["fctarget_fc_host_isp_aborts_total"]
    assert kinds["Interrupts per CPU"] == "heatmap"
    assert kinds["Interrupts per vector and CPU (last 5 minutes)"] == "bargauge"
    assert (
        "Interrupts off the HBA's NUMA node"
        in by_metric["fctarget_irq_remote_numa_interrupts_total"]
    )
    for counter in ("invalid_crc", "loss_of_sync", "loss_of_signal", "link_failure"):
        assert "FC link errors per minute" in by_metric[f"fctarget_fc_host_{counter}_total"]
    for title in ("Throughput per port", "Throughput per LUN"):
        assert title in by_metric["fctarget_lio_lun_read_bytes_total"]
        assert title in by_metric["fctarget_lio_lun_write_bytes_total"]
    for title in ("IOPS per port", "IOPS per LUN"):
        assert title in by_metric["fctarget_lio_lun_commands_total"]
    assert "Throughput per initiator" in by_metric["fctarget_lio_acl_read_bytes_total"]
    assert "IOPS per initiator" in by_metric["fctarget_lio_acl_commands_total"]
    assert "Sessions: configured vs logged in" in by_metric["fctarget_lio_tpg_acls"]
    assert "Sessions: configured vs logged in" in by_metric["fctarget_lio_tpg_sessions"]
    assert "Initiator sessions" in by_metric["fctarget_lio_acl_session_active"]
    assert "Backstores" in by_metric["fctarget_lio_backstore_info"]
    assert "Collector success" in by_metric["fctarget_scrape_collector_success"]
    assert "Collector duration" in by_metric["fctarget_scrape_collector_duration_seconds"]


def test_expand_fills_every_variable() -> None:
    values = {
        "job": "fctarget",
        "instance": "127.0.0.1:9",
        "host": ".*",
        "target": ".*",
        "initiator": ".*",
        "lun": ".*",
        "__rate_interval": "30s",
    }
    for q in dq.queries(load()):
        out = dq.expand(q.expr, values)
        assert not dq.variables(out), (q.where, out)  # `$1` of label_replace is no variable
    assert dq.expand('x{a=~"$host", b="${job}"}[$__rate_interval]', values) == (
        'x{a=~".*", b="fctarget"}[30s]'
    )
    with pytest.raises(KeyError):
        dq.expand("x{a=~'$nope'}", values)
    assert dq.label_values('label_values(up{job="a"}, instance)') == ('up{job="a"}', "instance")
    with pytest.raises(ValueError, match="not a label_values"):
        dq.label_values("sum(up)")


@pytest.fixture(scope="module")
def exporter_metric_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Metric names of one real scrape (`--once`) of a simulated host with a flap behind it."""
    root = tmp_path_factory.mktemp("simhost")
    host = SimulatedHost(str(root), SimParams(ports=2, cpus=8, seed=5, extended_logging=True))
    host.build()
    host.advance(10)
    host.flap(0)
    host.advance(5)
    p = host.paths
    res = run_exporter(
        "--once",
        "--collector.sfp",  # the optics row (dashboards/rows_optics.py)
        "--collector.qla2xxx",  # the target engine row (dashboards/rows_qla2xxx.py)
        "--collector.qla2xxx.fw-resource",
        f"--path.debugfs={p.debugfs}",
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={p.kmsg}",
    )
    assert res.returncode == 0, res.stderr
    names = set()
    for line in res.stdout.splitlines():
        if line and not line.startswith("#"):
            names.add(line.split("{", 1)[0].split(" ", 1)[0])
    return names


def test_every_metric_in_the_dashboard_is_exported(exporter_metric_names: set[str]) -> None:
    used: dict[str, str] = {}
    for q in dq.queries(load()):
        for m in dq.metric_names(q.expr):
            used.setdefault(m, q.where)
    assert len(used) >= 30
    missing = {m: where for m, where in used.items() if m not in exporter_metric_names}
    # the scsi_latency collector is off by default and has no simulation (eBPF): its families
    # must be declared in the catalogue instead
    declared = {n + s for n in by_sample_name() for s in ("", "_bucket", "_count", "_sum")}
    off = {m for m in missing if m.startswith("fctarget_scsi_") and m in declared}
    assert {m: w for m, w in missing.items() if m not in off} == {}


def test_variables_lio_panels_by_target_fc_panels_by_host() -> None:
    d = load()
    tvars = {v["name"]: v for v in d["templating"]["list"]}
    selector, label = dq.label_values(tvars["target"]["query"]["query"])
    # Targets of every fabric, from LIO alone (no fc_host family, no $host).
    assert label == "target"
    assert dq.metric_names(selector) == {"fctarget_lio_tpg_luns"}
    assert "$host" not in selector
    assert tvars["target"]["allValue"] == ".*"
    # LIO panels never depend on the FC port variable, FC panels never on the target one.
    with_target = 0
    for q in dq.queries(d):
        names = dq.metric_names(q.expr)
        if all(m.startswith("fctarget_lio_") for m in names):
            assert "$host" not in q.expr, q.where
        if "$target" in q.expr:
            with_target += 1
            assert all(m.startswith("fctarget_lio_") for m in names), q.where
    assert with_target >= 15


def test_runbook_links_point_at_the_page() -> None:
    d = load()
    [link] = d["links"]
    assert link["url"] == "${runbooks}" and link["targetBlank"]
    [var] = [v for v in d["templating"]["list"] if v["name"] == "runbooks"]
    assert var["type"] == "textbox" and var["query"].endswith("docs/alerts.md")
    linked = {
        p["title"] for p in dq.panels(d) for x in p.get("links", []) if x["url"] == link["url"]
    }
    assert {
        "FC ports down per host",
        "Initiators without a session per host",
        "FCTarget alerts",
        "Link state",
        "Initiator sessions",
    } <= linked
    for _, node in walk(d):
        assert not (isinstance(node, str) and "alerts.md#" in node), node


def test_new_panels() -> None:
    d = load()
    by_title = {p["title"]: p for p in dq.panels(d)}
    alerts = by_title["FCTarget alerts"]
    assert alerts["type"] == "alertlist" and alerts["options"]["alertName"] == "FCTarget"

    def metrics(title: str) -> set[str]:
        return {m for t in by_title[title]["targets"] for m in dq.metric_names(t["expr"])}

    assert metrics("Port utilisation") == {
        "fctarget_fc_host_rx_words_total",
        "fctarget_fc_host_tx_words_total",
        "fctarget_fc_host_speed_bytes_per_second",
    }
    assert by_title["Port utilisation"]["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert "approximation" in by_title["Port utilisation"]["description"]
    assert metrics("FPIN notifications") == {
        "fctarget_fc_host_fpin_cn_total",
        "fctarget_fc_host_fpin_li_total",
    }
    assert metrics("Backstore aborts and resets") == {
        "fctarget_lio_backstore_aborts_completed_total",
        "fctarget_lio_backstore_aborts_no_task_total",
        "fctarget_lio_backstore_resets_total",
    }
    assert metrics("TPG enabled") == {"fctarget_lio_tpg_enabled"}
    assert "fctarget_lio_tpg_enabled" in metrics("FC ports down per host")
    assert "fctarget_lio_tpg_enabled" in metrics("Initiators without a session per host")
