"""The dashboard's panel kinds, on grafana-foundation-sdk's typed builders.

Each function returns a builder with this dashboard's defaults (the `$datasource` variable, a
unit, a visible legend, refIds A, B, ...); the rows (dashboards/rows_*.py) chain what differs
(`.min(0)`, `.span(12).height(8)`, ...). The PromQL lives in dashboards/queries.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import bargauge as bargauge_
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import heatmap as heatmap_
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.builders import stat as stat_
from grafana_foundation_sdk.builders import statetimeline as statetimeline_
from grafana_foundation_sdk.builders import table as table_
from grafana_foundation_sdk.builders import timeseries as timeseries_
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import heatmap as hm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat, QueryEditorMode

# Every query goes through the data source variable: no uid is hard-coded.
DS = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
GREEN, YELLOW, RED, BLUE = "green", "yellow", "red", "blue"
# The runbooks (docs/alerts.md) wherever the operator serves them: the `$runbooks` variable. Links
# go to the page, not to an anchor: the alerts and their sections change with the rules.
RUNBOOKS_URL = "${runbooks}"
# Table columns that say nothing in an inventory table.
HIDDEN_COLUMNS = ("Time", "__name__", "job", "instance", "Value")


class PanelBuilder(Protocol):
    """What every SDK panel builder has (they share no base class but Builder)."""

    def title(self, title: str) -> Self: ...
    def description(self, description: str) -> Self: ...
    def datasource(self, datasource: dm.DataSourceRef) -> Self: ...
    def unit(self, unit: str) -> Self: ...
    def targets(self, targets: list[cogbuilder.Builder[cogvariants.Dataquery]]) -> Self: ...
    def links(self, links: list[cogbuilder.Builder[dm.DashboardLink]]) -> Self: ...


P = TypeVar("P", bound=PanelBuilder)


def query(expr: str, legend: str) -> prom.Dataquery:
    """A range query, as a time series."""
    return (
        prom.Dataquery()
        .datasource(DS)
        .editor_mode(QueryEditorMode.CODE)
        .expr(expr)
        .range()
        .legend_format(legend)
    )


def instant(expr: str, legend: str, fmt: PromQueryFormat | None = None) -> prom.Dataquery:
    """An instant query (the last value), as a time series or as `fmt` (e.g. a table)."""
    q = query(expr, legend).instant()
    return q if fmt is None else q.format(fmt)


def _panel(p: P, title: str, description: str, unit: str, targets: Sequence[prom.Dataquery]) -> P:
    for i, t in enumerate(targets):
        t.ref_id(chr(ord("A") + i))
    return p.title(title).description(description).datasource(DS).unit(unit).targets([*targets])


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    """Absolute thresholds; the first step's value is None (from -inf)."""
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in steps])
    )


def value_map(*items: tuple[int, str, str]) -> list[dm.ValueMapping]:
    """Value mappings for 0/1 state series: (value, text, color)."""
    return [
        dm.ValueMap(options={str(v): dm.ValueMappingResult(text=text, color=color, index=i)})
        for i, (v, text, color) in enumerate(items)
    ]


def _color(mode: dm.FieldColorModeId) -> db.FieldColor:
    return db.FieldColor().mode(mode)


def legend(calcs: Sequence[str] = ()) -> cb.VizLegendOptions:
    """A list legend below the graph, or a table legend on the right with `calcs`."""
    table = bool(calcs)
    return (
        cb.VizLegendOptions()
        .show_legend(True)
        .display_mode(cm.LegendDisplayMode.TABLE if table else cm.LegendDisplayMode.LIST)
        .placement(cm.LegendPlacement.RIGHT if table else cm.LegendPlacement.BOTTOM)
        .calcs(list(calcs))
    )


def _tooltip(mode: cm.TooltipDisplayMode, sort: cm.SortOrder) -> cb.VizTooltipOptions:
    return cb.VizTooltipOptions().mode(mode).sort(sort)


def _last_value() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def timeseries(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[prom.Dataquery],
    calcs: Sequence[str] = ("lastNotNull", "max"),
) -> timeseries_.Panel:
    """Lines, a table legend with `calcs`; chain `bars()`, `stacked()`, `steps()`, min/max."""
    return (
        _panel(timeseries_.Panel(), title, description, unit, targets)
        .color_scheme(_color(dm.FieldColorModeId.PALETTE_CLASSIC))
        .draw_style(cm.GraphDrawStyle.LINE)
        .line_width(1)
        .fill_opacity(10)
        .show_points(cm.VisibilityMode.NEVER)
        .line_interpolation(cm.LineInterpolation.LINEAR)
        .span_nulls(False)
        .stacking(cb.StackingConfig().mode(cm.StackingMode.NONE).group("A"))
        .legend(legend(calcs))
        .tooltip(_tooltip(cm.TooltipDisplayMode.MULTI, cm.SortOrder.DESCENDING))
    )


def bars(p: timeseries_.Panel) -> timeseries_.Panel:
    return p.draw_style(cm.GraphDrawStyle.BARS).fill_opacity(80)


def stacked(p: timeseries_.Panel) -> timeseries_.Panel:
    return p.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL).group("A"))


def steps(p: timeseries_.Panel) -> timeseries_.Panel:
    return p.line_interpolation(cm.LineInterpolation.STEP_AFTER)


def state_timeline(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[prom.Dataquery],
    mappings: list[dm.ValueMapping],
) -> statetimeline_.Panel:
    """0/1 states: red below 1, green from 1, named by `mappings`."""
    return (
        _panel(statetimeline_.Panel(), title, description, unit, targets)
        .color_scheme(_color(dm.FieldColorModeId.THRESHOLDS))
        .fill_opacity(80)
        .line_width(0)
        .mappings(mappings)
        .thresholds(thresholds((None, RED), (1, GREEN)))
        .legend(legend())
        .show_value(cm.VisibilityMode.NEVER)
        .merge_values(True)
        .row_height(0.8)
        .tooltip(_tooltip(cm.TooltipDisplayMode.SINGLE, cm.SortOrder.NONE))
    )


def stat(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[prom.Dataquery],
    steps: db.ThresholdsConfig,
) -> stat_.Panel:
    """Last value of each query, with its name, coloured by `steps`."""
    return (
        _panel(stat_.Panel(), title, description, unit, targets)
        .color_scheme(_color(dm.FieldColorModeId.THRESHOLDS))
        .thresholds(steps)
        .reduce_options(_last_value())
        .color_mode(cm.BigValueColorMode.VALUE)
        .graph_mode(cm.BigValueGraphMode.AREA)
        .justify_mode(cm.BigValueJustifyMode.AUTO)
        .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
        .orientation(cm.VizOrientation.AUTO)
    )


def bargauge(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[prom.Dataquery],
    steps: db.ThresholdsConfig,
) -> bargauge_.Panel:
    """Horizontal gradient bars of each series' last value, from 0; chain `.max()`."""
    return (
        _panel(bargauge_.Panel(), title, description, unit, targets)
        .color_scheme(_color(dm.FieldColorModeId.THRESHOLDS))
        .thresholds(steps)
        .min(0)
        .reduce_options(_last_value())
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .orientation(cm.VizOrientation.HORIZONTAL)
        .show_unfilled(True)
        .value_mode(cm.BarGaugeValueMode.COLOR)
        .name_placement(cm.BarGaugeNamePlacement.LEFT)
        .sizing(cm.BarGaugeSizing.AUTO)
    )


def _heatmap_colors() -> heatmap_.HeatmapColorOptions:
    return (
        heatmap_.HeatmapColorOptions()
        .mode(hm.HeatmapColorMode.SCHEME)
        .scheme("Oranges")
        .scale(hm.HeatmapColorScale.EXPONENTIAL)
        .exponent(0.5)
        .steps(64)
        .reverse(False)
        .fill("dark-orange")
    )


def heatmap(
    title: str, description: str, unit: str, target: prom.Dataquery, names: tuple[str, str]
) -> heatmap_.Panel:
    """One row per series (the query's format is `heatmap`), values already rates.

    `names`: what the rows are (the y axis' label) and what the values are.
    """
    rows, values = names
    y_axis = heatmap_.YAxisConfig().axis_placement(cm.AxisPlacement.LEFT).axis_label(rows)
    rows_frame = heatmap_.RowsHeatmapOptions().layout(cm.HeatmapCellLayout.AUTO).value(values)
    return (
        _panel(heatmap_.Panel(), title, description, unit, [target])
        .color_scheme(_color(dm.FieldColorModeId.PALETTE_CLASSIC))
        .calculate(False)
        .cell_gap(1)
        .cell_values(heatmap_.CellValues().unit(unit))
        .color(_heatmap_colors())
        .rows_frame(rows_frame)
        .y_axis(y_axis.reverse(False))
        .show_legend()
        .mode(cm.TooltipDisplayMode.SINGLE)
        .hide_y_histogram()
        .show_color_scale(True)
        .filter_values(heatmap_.FilterValueRange().le(1e-9))
        .exemplars_color("rgba(255,0,255,0.7)")
    )


def organize(
    hide: Sequence[str] = HIDDEN_COLUMNS, rename: dict[str, str] | None = None
) -> dm.DataTransformerConfig:
    """Grafana's "organize fields" transformation: hide and rename columns."""
    options = {
        "excludeByName": dict.fromkeys(hide, True),
        "renameByName": rename or {},
        "indexByName": {},
    }
    return dm.DataTransformerConfig(id_val="organize", options=options)


def table(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[prom.Dataquery],
    columns: dm.DataTransformerConfig,
) -> table_.Panel:
    """An inventory table of instant queries, its columns arranged by `columns`."""
    return (
        _panel(table_.Panel(), title, description, unit, targets)
        .color_scheme(_color(dm.FieldColorModeId.PALETTE_CLASSIC))
        .align(cm.FieldTextAlignment.AUTO)
        .cell_options(cm.TableAutoCellOptions())
        .filterable(True)
        .show_header(True)
        .cell_height(cm.TableCellHeight.SM)
        .footer(cb.TableFooterOptions().show(False))
        .with_transformation(columns)
    )


def runbook_link() -> db.DashboardLink:
    """A link to the runbooks page (docs/alerts.md), opened in a new tab."""
    return (
        db.DashboardLink("Runbooks (docs/alerts.md)")
        .type(dm.DashboardLinkType.LINK)
        .url(RUNBOOKS_URL)
        .icon("doc")
        .tooltip("What each FCTarget alert means and what to do")
        .target_blank(True)
        .as_dropdown(False)
        .include_vars(False)
        .keep_time(False)
        .tags([])
    )


def with_runbook(p: P) -> P:
    """The panel's header links to the runbooks (the alerts built on what it shows)."""
    return p.links([runbook_link()])


def alert_list(title: str, description: str, name_filter: str) -> db.Panel:
    """Grafana's alert list panel (`alertlist`, no typed builder in the SDK): firing and pending
    alerts whose name contains `name_filter`, from every rule source (Grafana-managed, and
    Prometheus data sources with "Manage alerts via Alerting UI" on)."""
    options: dict[str, object] = {
        "viewMode": "list",
        "groupMode": "default",
        "groupBy": [],
        "maxItems": 20,
        "sortOrder": 1,  # alphabetical
        "dashboardAlerts": False,
        "alertName": name_filter,
        "alertInstanceLabelFilter": "",
        "folder": None,
        "showInstances": True,
        "stateFilter": {
            "firing": True,
            "pending": True,
            "noData": False,
            "normal": False,
            "error": True,
        },
    }
    return (
        db.Panel()
        .type("alertlist")
        .title(title)
        .description(description)
        .options(options)
        .links([runbook_link()])
    )
