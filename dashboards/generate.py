"""Generate the Grafana dashboard `dashboards/fctarget.json` with grafana-foundation-sdk.

    python -m dashboards.generate           # rewrite dashboards/fctarget.json
    python -m dashboards.generate --check   # exit 1 if the committed JSON is not what this makes

Edit the Python, never the JSON: a test proves the two are identical. The panels are Grafana's
own typed builders (pip extra `dashboards`), one module per group of rows (dashboards/rows_*.py);
every PromQL expression is in dashboards/queries.py. The dashboard targets Grafana 10.4+
(schemaVersion 39). It is importable as is: `__inputs` asks for a Prometheus data source, every
query uses the `$datasource` variable, and no data source uid is hard-coded. Metric names follow
docs/DESIGN.md and the collectors' README sections.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import queries as q
from dashboards.panels import DS, runbook_link
from dashboards.rows_host import Panels, fleet, overview
from dashboards.rows_lio import exporter_health, sessions_and_backstores, target_io
from dashboards.rows_lio_risks import alua_and_risks
from dashboards.rows_optics import optics
from dashboards.rows_ports import fc_ports, interrupts
from dashboards.rows_qla2xxx import target_engine
from dashboards.rows_scsi import scsi

OUTPUT = Path(__file__).resolve().parent / "fctarget.json"
# The rules' runbook_url says docs/alerts.md too: set $runbooks to where that page is served.
RUNBOOKS_DEFAULT = "docs/alerts.md"
SCHEMA_VERSION = 39  # Grafana 10.4; the SDK's model would say 36
ROWS: tuple[tuple[str, Callable[[], Panels]], ...] = (
    ("Fleet: every host of job $job", fleet),
    ("Host $instance: overview", overview),
    ("FC ports", fc_ports),
    ("Interrupts (selected ports)", interrupts),
    ("Optics, firmware dumps and NPIV (selected ports)", optics),
    ("Target I/O (LIO)", target_io),
    ("Sessions and backstores", sessions_and_backstores),
    ("Target engine (qla2xxx, opt-in)", target_engine),
    ("ALUA and backstore risks", alua_and_risks),
    ("Exporter health", exporter_health),
    ("SCSI latency and status (scsi_latency collector)", scsi),
)
# Grafana's names of the panel plugins the dashboard may use, for `__requires`.
PANEL_PLUGINS = {
    "alertlist": "Alert list",
    "bargauge": "Bar gauge",
    "heatmap": "Heatmap",
    "stat": "Stat",
    "state-timeline": "State timeline",
    "table": "Table",
    "timeseries": "Time series",
}


def export_header(panel_types: set[str]) -> dict[str, Any]:
    """What Grafana's "Export for sharing externally" puts around a dashboard (not in the SDK)."""
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "description": "Prometheus that scrapes fctarget-exporter",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__elements": {},
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            *(
                {"type": "panel", "id": kind, "name": PANEL_PLUGINS[kind], "version": ""}
                for kind in sorted(panel_types)
            ),
        ],
    }


class PrometheusAnnotationModel(dm.AnnotationQuery):
    """An annotation query with the Prometheus data source's own fields (not in the SDK)."""

    def __init__(self) -> None:
        super().__init__()
        self.step = ""
        self.title_format = ""
        self.text_format = ""

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        payload["step"] = self.step
        payload["titleFormat"] = self.title_format
        payload["textFormat"] = self.text_format
        payload["useValueForTime"] = False
        return payload


class PrometheusAnnotation(db.AnnotationQuery):
    """The SDK's annotation builder, plus the Prometheus fields: series become time regions."""

    _internal: PrometheusAnnotationModel

    def __init__(self) -> None:
        self._internal = PrometheusAnnotationModel()

    def formats(self, step: str, title: str, text: str) -> Self:
        self._internal.step = step
        self._internal.title_format = title
        self._internal.text_format = text
        return self


def annotation_list() -> list[cogbuilder.Builder[dm.AnnotationQuery]]:
    builtin = (
        db.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(dm.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
        .built_in(1)
        .enable(True)
        .hide(True)
        .icon_color("rgba(0, 211, 255, 1)")
        .type("dashboard")
    )
    link_down = (
        PrometheusAnnotation()
        .name("FC link down")
        .datasource(DS)
        .enable(True)
        .hide(False)
        .icon_color("red")
        .expr(q.LINK_DOWN)
        .formats("15s", "{{host}} link down", "{{wwpn}}")
    )
    return [builtin, link_down]


def variable(
    name: str, label: str, expr: str, *, multi: bool = False, all_value: str | None = None
) -> db.QueryVariable:
    """A label_values() variable; a multi-value one also offers "All"."""
    v = (
        db.QueryVariable(name)
        .label(label)
        .datasource(DS)
        .query({"query": expr, "refId": "PrometheusVariableQueryEditor-VariableQuery"})
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .regex("")
        .hide(dm.VariableHide.DONT_HIDE)
        .multi(multi)
        .include_all(multi)
    )
    return v if all_value is None else v.all_value(all_value)


def variables() -> list[cogbuilder.Builder[dm.VariableModel]]:
    return [
        db.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .regex("")
        .hide(dm.VariableHide.DONT_HIDE)
        .multi(False)
        .include_all(False),
        variable("job", "Job", q.VAR_JOB),
        variable("instance", "Host", q.VAR_INSTANCE),
        variable("host", "Port (SCSI host)", q.VAR_HOST, multi=True, all_value=".*"),
        # LIO panels: targets of every fabric (FC WWPN, iSCSI IQN, loopback naa.), from LIO
        # alone; the FC panels use $host.
        variable("target", "Target", q.VAR_TARGET, multi=True, all_value=".*"),
        variable("initiator", "Initiator", q.VAR_INITIATOR, multi=True, all_value=".*"),
        variable("lun", "LUN", q.VAR_LUN, multi=True, all_value=".*"),
        db.TextBoxVariable("runbooks")
        .label("Runbooks URL")
        .description(
            "Where docs/alerts.md of fctarget-exporter is served (e.g. its page on your git "
            "forge or docs site); the runbook links of the dashboard and its panels open it."
        )
        .default_value(RUNBOOKS_DEFAULT)
        .current(dm.VariableOption(selected=True, text=RUNBOOKS_DEFAULT, value=RUNBOOKS_DEFAULT))
        .hide(dm.VariableHide.DONT_HIDE),
    ]


def builder() -> db.Dashboard:
    dash = (
        db.Dashboard("FC target (LIO / qla2xxx)")
        .uid("fctarget-exporter")
        .description(
            "LIO SCSI target over Fibre Channel (qla2xxx): link state and events, interrupt "
            "spread, FC errors, target I/O, sessions, backstores; from fctarget-exporter."
        )
        .tags(["fibre-channel", "lio", "qla2xxx", "storage"])
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .timezone("")
        .week_start("")
        .fiscal_year_start_month(0)
        .live_now(False)
        .refresh("30s")
        .version(1)
        .links([runbook_link()])
        .variables(variables())
        .annotations(annotation_list())
    )
    for title, panels in ROWS:
        dash.with_row(db.Row(title).collapsed(False))
        for p in panels():
            dash.with_panel(p)
    return dash


def dashboard() -> dict[str, Any]:
    """The dashboard as Grafana exports it, ids numbered top to bottom.

    The SDK places each panel right of the one before and starts a new line once a line's widths
    reach 24: every line of a row must add up to 24 (the lint in tests/test_dashboard.py checks
    that nothing overlaps or sticks out).
    """
    model = builder().build()
    model.schema_version = SCHEMA_VERSION
    panels = model.panels or []
    for i, p in enumerate(panels, start=1):
        p.id_val = i
    header = export_header({p.type_val for p in panels if p.type_val != "row"})
    return {**header, **model.to_json()}


def render() -> str:
    return json.dumps(dashboard(), cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="compare, do not write")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python -m dashboards.generate", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
