"""Draw the dashboard's key panels to a PNG from a Prometheus, with matplotlib.

Grafana cannot run here; this shows a reviewer what the dashboard would show. Each subplot runs
the dashboard's own query (from fctarget.json, variables filled in) as a range query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboards import queries as dq
from dashboards.promlab import http_json

DASHBOARD = Path(__file__).resolve().parent / "fctarget.json"

# Panel title -> how to draw it.
LINES, STEPS, BARS, HEAT = "lines", "steps", "bars", "heatmap"


@dataclass(frozen=True)
class Plot:
    title: str
    style: str
    scale: float = 1.0  # divide values (e.g. to MB/s)
    ylabel: str = ""


KEY_PANELS: tuple[Plot, ...] = (
    Plot("Link state", STEPS, ylabel="online (1) / down (0)"),
    Plot("Link events (kernel log)", BARS, ylabel="events per rate interval"),
    Plot("Interrupts per CPU", HEAT, ylabel="CPU"),
    Plot("Busiest CPU's share per port", LINES, ylabel="share"),
    Plot("Throughput per port", LINES, scale=1e6, ylabel="MB/s"),
    Plot("Initiator sessions", STEPS, ylabel="logged in (1) / no session (0)"),
)


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def panel_queries(dashboard: Mapping[str, Any], title: str) -> list[tuple[str, str]]:
    for p in dq.panels(dashboard):
        if p["title"] == title:
            return [(t["expr"], t.get("legendFormat", "")) for t in p["targets"]]
    raise KeyError(f"no panel titled {title!r}")


def legend_text(fmt: str, labels: Mapping[str, str]) -> str:
    out = fmt
    for k, v in labels.items():
        out = out.replace("{{" + k + "}}", v)
    return out


Fetch = Callable[[str, float, float, float], list[dict[str, Any]]]


def prometheus_fetch(url: str) -> Fetch:
    def fetch(expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        reply = http_json(
            f"{url.rstrip('/')}/api/v1/query_range",
            {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)},
        )
        result: list[dict[str, Any]] = reply["data"]["result"]
        return result

    return fetch


def render_png(  # noqa: PLR0913 - keyword-only options, each with a default
    fetch: Fetch,
    values: Mapping[str, str],
    start: float,
    end: float,
    out: Path,
    *,
    step: float = 1.0,
    panels: Sequence[Plot] = KEY_PANELS,
    title: str = "fctarget-exporter dashboard (key panels)",
) -> int:
    """Draw `panels` over [start, end] into `out`; return the number of series drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dashboard = load_dashboard()
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(20, 4.2 * rows), squeeze=False)
    drawn = 0
    for ax, plot in zip(axes.flat, panels, strict=False):
        series: list[tuple[str, list[float], list[float]]] = []
        for expr, fmt in panel_queries(dashboard, plot.title):
            for r in fetch(dq.expand(expr, values), start, end, step):
                xs = [float(t) - start for t, _ in r["values"]]
                ys = [float(v) / plot.scale for _, v in r["values"]]
                series.append((legend_text(fmt, r["metric"]), xs, ys))
        drawn += len(series)
        ax.set_title(plot.title)
        ax.set_xlabel("seconds")
        ax.set_ylabel(plot.ylabel)
        if plot.style == HEAT:
            _heatmap(fig, ax, series, end - start, step)
            continue
        series.sort(key=lambda s: s[0])
        for i, (name, xs, ys) in enumerate(series):
            if plot.style == STEPS:
                # offset each state line a little so that overlapping ones stay visible
                ax.step(xs, [y + 0.02 * i for y in ys], where="post", label=name)
            elif plot.style == BARS:
                # each point is the increase over the rate interval before it
                ax.fill_between(xs, ys, step="pre", label=name, alpha=0.5)
            else:
                ax.plot(xs, ys, label=name)
        if series:
            ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return drawn


def _heatmap(
    fig: Any, ax: Any, series: list[tuple[str, list[float], list[float]]], span: float, step: float
) -> None:
    if not series:
        return
    series.sort(key=lambda s: int(s[0]) if s[0].isdigit() else s[0])
    width = int(span / step) + 1
    grid = []
    for _, xs, ys in series:
        row = [0.0] * width
        for x, y in zip(xs, ys, strict=True):
            i = round(x / step)
            if 0 <= i < width:
                row[i] = y
        grid.append(row)
    im = ax.imshow(
        grid,
        aspect="auto",
        origin="lower",
        cmap="Oranges",
        extent=(0, span, -0.5, len(series) - 0.5),
        interpolation="nearest",
    )
    ax.set_yticks(range(len(series)), [s[0] for s in series])
    fig.colorbar(im, ax=ax, label="interrupts/s")


def default_values(job: str, instance: str, rate_interval: str = "10s") -> dict[str, str]:
    """Variable values for a whole-host view: every port, initiator and LUN."""
    return {
        "job": job,
        "instance": instance,
        "host": ".*",
        "target": ".*",
        "initiator": ".*",
        "lun": ".*",
        "__rate_interval": rate_interval,
    }
