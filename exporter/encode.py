"""Exposition encoding, byte-identical to prometheus_client's, several times faster.

prometheus_client's `generate_latest` needs ~0.8 s per 100k samples, mostly rebuilding label
strings that do not change between scrapes. Here every series' label string is rendered once and
reused while the series exists (the cache follows the topology: a vanished series drops out).
tests/test_encode.py proves equality with prometheus_client's own output for both formats.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence

from prometheus_client.core import Metric

from exporter.collector import Family, HistogramFamily

Exposable = Family | Metric


def _escape_value(v: str) -> str:
    if "\\" in v or "\n" in v or '"' in v:
        return v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return v


def _float_to_go(d: float) -> str:
    # Same rules as prometheus_client.utils.floatToGoString.
    if d == math.inf:
        return "+Inf"
    if d == -math.inf:
        return "-Inf"
    if math.isnan(d):
        return "NaN"
    s = repr(d)
    dot = s.find(".")
    if d > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return s


def _label_renderer(labelnames: Sequence[str]) -> tuple[list[int], list[str]]:
    order = sorted(range(len(labelnames)), key=lambda i: labelnames[i])
    return order, [labelnames[i] for i in order]


class Encoder:
    """Renders families; keeps each family's rendered label strings across scrapes."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, tuple[str, ...]], dict[tuple[str, ...], str]] = {}
        self._lock = threading.Lock()

    def _series_prefixes(self, fam: Family) -> list[str]:
        key = (fam.name, fam.labelnames)
        with self._lock:
            old = self._cache.get(key, {})
        sample_name = fam.sample_name
        if not fam.labelnames:
            return [sample_name] * len(fam.rows)
        order, names = _label_renderer(fam.labelnames)
        new: dict[tuple[str, ...], str] = {}
        prefixes = []
        for values in fam.rows:
            p = old.get(values)
            if p is None:
                inner = ",".join(
                    f'{n}="{_escape_value(values[i])}"' for n, i in zip(names, order, strict=True)
                )
                p = f"{sample_name}{{{inner}}}"
            new[values] = p
            prefixes.append(p)
        with self._lock:
            self._cache[key] = new
        return prefixes

    def _family_lines(self, fam: Family, out: list[str], openmetrics: bool) -> None:
        if openmetrics:
            doc = _escape_value(fam.documentation)
            out.append(f"# HELP {fam.name} {doc}\n# TYPE {fam.name} {fam.kind}\n")
        else:
            doc = fam.documentation.replace("\\", r"\\").replace("\n", r"\n")
            name = fam.sample_name
            out.append(f"# HELP {name} {doc}\n# TYPE {name} {fam.kind}\n")
        for prefix, value in zip(self._series_prefixes(fam), fam.rows.values(), strict=True):
            out.append(f"{prefix} {_float_to_go(value)}\n")

    def encode(self, items: Iterable[Exposable], openmetrics: bool = False) -> bytes:
        # One family's lines at a time become bytes: the peak is the body plus one family's
        # lines, not every line of a large host as a string and then again as bytes.
        chunks: list[bytes] = []
        generic: list[Metric] = []
        for item in items:
            if isinstance(item, HistogramFamily):
                # few series, and bucket lines are prometheus_client's business: its encoder
                generic.append(item.to_metric())
            elif isinstance(item, Family):
                lines: list[str] = []
                self._family_lines(item, lines, openmetrics)
                chunks.append(_utf8("".join(lines)))
            else:
                generic.append(item)
        if generic:
            chunks.append(reference_encode(generic, openmetrics, eof=False))
        if openmetrics:
            chunks.append(b"# EOF\n")
        return b"".join(chunks)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Readers escape names that are not UTF-8 (exporter/readers/names.py) and count them;
        # a string that slipped through must not take the whole exposition down.
        return text.encode("utf-8", "backslashreplace")


class _Static:
    def __init__(self, metrics: Sequence[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Sequence[Metric]:
        return self._metrics


def reference_encode(items: Iterable[Exposable], openmetrics: bool, eof: bool = True) -> bytes:
    """prometheus_client's own encoder (the reference the fast path must match)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as generate_latest_om

    metrics = [i.to_metric() if isinstance(i, Family) else i for i in items]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(metrics))
    if openmetrics:
        body: bytes = generate_latest_om(registry)  # type: ignore[no-untyped-call]
        return body if eof else body.removesuffix(b"# EOF\n")
    return generate_latest(registry)
