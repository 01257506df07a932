"""Checking the values of the web config file: each helper takes the value, the file and the
key (for the one-line error) and returns the value typed, or raises WebConfigError."""

from __future__ import annotations

import os
import re
from typing import Any

from exporter.webconfig.model import WebConfigError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}


def where(path: str, key: str) -> str:
    return f"web config {path}: {key}"


def mapping(value: Any, path: str, key: str, allowed: set[str] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebConfigError(f"{where(path, key)}: expected a mapping")
    for k in value:
        if not isinstance(k, str):
            raise WebConfigError(f"{where(path, key)}: key {k!r} is not a string")
        if allowed is not None and k not in allowed:
            inner = f"{key}.{k}" if key else k
            raise WebConfigError(f"{where(path, inner)}: unknown key")
    return value


def string(value: Any, path: str, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebConfigError(f"{where(path, key)}: expected a string")
    return value


def strings(value: Any, path: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WebConfigError(f"{where(path, key)}: expected a list of strings")
    return list(value)


def boolean(value: Any, path: str, key: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise WebConfigError(f"{where(path, key)}: expected true or false")
    return value


def parse_duration(text: str) -> float:
    """Prometheus/Go duration ("1s", "1m30s", "250ms", "0") -> seconds; ValueError if invalid."""
    text = text.strip()
    if text == "0":
        return 0.0
    pos = 0
    total = 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"invalid duration {text!r}")
    return total


def file_path(base_dir: str, name: str) -> str:
    # Relative paths are relative to the config file, as in exporter-toolkit.
    return name if os.path.isabs(name) else os.path.join(base_dir, name)


def readable(path: str, cfg: str, key: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise WebConfigError(f"{where(cfg, key)}: cannot read {path}: {exc.strerror}") from None


def read_text(path: str, cfg: str, key: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise WebConfigError(f"{where(cfg, key)}: cannot read {path}: {exc}") from None
