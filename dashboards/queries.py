"""The PromQL of a dashboard: every query, with Grafana's variables filled in.

Used by the tests (lint, end-to-end run on a real Prometheus) and by the PNG renderer, so that all
of them look at exactly the expressions the dashboard ships.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Metric names in an expression: fctarget_*, not the parts of a recording rule's level:name:op.
METRIC_RE = re.compile(r"(?<![\w:])fctarget_[a-zA-Z0-9_]+(?![\w:])")
VARIABLE_RE = re.compile(r"\$(__[a-z_]+|[a-zA-Z_][a-zA-Z0-9_]*)|\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
LABEL_VALUES_RE = re.compile(r"^label_values\((?P<selector>.*),\s*(?P<label>[a-zA-Z_]+)\)$")


@dataclass(frozen=True)
class Query:
    """One query of the dashboard: where it is (panel title or annotation/variable name)."""

    where: str
    kind: str  # "panel", "annotation" or "variable"
    expr: str
    legend: str
    instant: bool


def panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every panel, including those nested in collapsed rows; rows themselves excluded."""
    for p in dashboard.get("panels", []):
        if p.get("type") == "row":
            yield from (q for q in p.get("panels", []) if q.get("type") != "row")
        else:
            yield p


def queries(dashboard: Mapping[str, Any]) -> Iterator[Query]:
    for p in panels(dashboard):
        for t in p.get("targets", []):
            yield Query(
                p["title"], "panel", t["expr"], t.get("legendFormat", ""), bool(t.get("instant"))
            )
    for a in dashboard.get("annotations", {}).get("list", []):
        if "expr" in a:
            yield Query(a["name"], "annotation", a["expr"], a.get("titleFormat", ""), False)
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            yield Query(v["name"], "variable", q, "", True)


def metric_names(expr: str) -> set[str]:
    return set(METRIC_RE.findall(expr))


def variables(expr: str) -> set[str]:
    return {a or b for a, b in VARIABLE_RE.findall(expr)}


def expand(expr: str, values: Mapping[str, str]) -> str:
    """Replace `$name` / `${name}` with values[name] (a KeyError names a variable not given)."""

    def sub(m: re.Match[str]) -> str:
        return values[m.group(1) or m.group(2)]

    return VARIABLE_RE.sub(sub, expr)


def label_values(expr: str) -> tuple[str, str]:
    """`label_values(selector, label)` -> (selector, label); ValueError for anything else."""
    m = LABEL_VALUES_RE.match(expr.strip())
    if not m:
        raise ValueError(f"not a label_values() query: {expr!r}")
    return m.group("selector").strip(), m.group("label")
