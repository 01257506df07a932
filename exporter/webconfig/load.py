"""Reading the web config file (at start-up, or on SIGHUP off the event loop) and turning its
YAML into a `WebConfig`, one top-level section after the other."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

import aiofiles
import yaml

from exporter.webconfig.fields import boolean, mapping, parse_duration, string, where
from exporter.webconfig.model import RateLimit, WebConfig, WebConfigError
from exporter.webconfig.tls import tls_from_config
from exporter.webconfig.users import dummy_hash, excluded_paths_from_config, users_from_config

# The response headers exporter-toolkit lets a config set, with their allowed values (None: any).
ALLOWED_HEADERS: Mapping[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}

# Ours, not exporter-toolkit's (promtool rejects it): a reload may lower security.
ALLOW_DOWNGRADE_KEY = "allow_downgrade_on_reload"
_TOP_KEYS = {
    "tls_server_config",
    "http_server_config",
    "basic_auth_users",
    "basic_auth_excluded_paths",
    "rate_limit",
    ALLOW_DOWNGRADE_KEY,
}
_HTTP_KEYS = {"http2", "headers"}
_RATE_KEYS = {"interval", "burst"}


def parse_web_config(text: str, source: str, base_dir: str) -> WebConfig:
    """Validates the YAML text and builds the TLS context (reading the files it names)."""
    top = mapping(_yaml_document(text, source), source, "", _TOP_KEYS)
    allow_downgrade = boolean(top.get(ALLOW_DOWNGRADE_KEY), source, ALLOW_DOWNGRADE_KEY, False)
    tls, sans = tls_from_config(top, source, base_dir)
    http = mapping(top.get("http_server_config"), source, "http_server_config", _HTTP_KEYS)
    http2 = boolean(http.get("http2"), source, "http_server_config.http2", True)
    headers = _headers(http, source)
    users = users_from_config(top, source)
    excluded = excluded_paths_from_config(top, source)
    rate = _rate_limit(top, source)
    return WebConfig(
        source=source,
        tls=tls,
        client_allowed_sans=sans,
        users=users,
        auth_excluded_paths=excluded,
        headers=headers,
        http2=http2,
        rate_limit=rate,
        dummy_hash=dummy_hash(users) if users else b"",
        allow_downgrade=allow_downgrade,
    )


def _yaml_document(text: str, source: str) -> Any:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise WebConfigError(f"web config {source}: {problem}{at}") from None
    if doc is None:
        # An empty file would mean plain HTTP without authentication: almost certainly a file
        # truncated or not yet written, not a wish. `{}` says it explicitly.
        raise WebConfigError(
            f"web config {source}: the file is empty (without --web.config.file the exporter "
            "serves plain HTTP without authentication; `{}` says so in a file)"
        )
    return doc


def _headers(http: Mapping[str, Any], source: str) -> dict[str, str]:
    """http_server_config.headers: only those of ALLOWED_HEADERS, with their allowed values."""
    headers: dict[str, str] = {}
    raw_headers = mapping(http.get("headers"), source, "http_server_config.headers", None)
    for name, raw_value in raw_headers.items():
        at = f"http_server_config.headers.{name}"
        if name not in ALLOWED_HEADERS:
            raise WebConfigError(f"{where(source, at)}: this header cannot be configured")
        value = string(raw_value, source, at)
        allowed = ALLOWED_HEADERS[name]
        if value and allowed is not None and value.lower() not in allowed:
            raise WebConfigError(
                f"{where(source, at)}: invalid value {value!r} (one of {', '.join(allowed)})"
            )
        if value:
            headers[name] = value
    return headers


def _rate_limit(top: Mapping[str, Any], source: str) -> RateLimit | None:
    rl = mapping(top.get("rate_limit"), source, "rate_limit", _RATE_KEYS)
    if not rl:
        return None
    interval_raw = rl.get("interval", "0")
    try:
        interval = parse_duration(str(interval_raw))
    except ValueError as exc:
        raise WebConfigError(f"{where(source, 'rate_limit.interval')}: {exc}") from None
    burst = rl.get("burst", 0)
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 0:
        raise WebConfigError(
            f"{where(source, 'rate_limit.burst')}: expected a non-negative integer"
        )
    if interval > 0:
        return RateLimit(interval=interval, burst=max(burst, 1))
    return None


def load_web_config(path: str) -> WebConfig:
    """Reads and validates `path`; raises WebConfigError with a one-line reason."""
    if not path:
        return WebConfig()
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise _unreadable(path, exc) from None
    return decode_web_config(raw, path)


def _unreadable(path: str, exc: OSError) -> WebConfigError:
    return WebConfigError(f"web config {path}: cannot read: {exc.strerror}")


async def reload_web_config(path: str) -> WebConfig:
    """load_web_config for a running server: the file is read through aiofiles and the
    validation (which reads the certificate files and builds the TLS context) runs in a worker
    thread, so a slow disk never stalls the event loop."""
    try:
        async with aiofiles.open(path, "rb") as f:
            raw = await f.read()
    except OSError as exc:
        raise _unreadable(path, exc) from None
    return await asyncio.to_thread(decode_web_config, raw, path)


def decode_web_config(raw: bytes, path: str) -> WebConfig:
    """Validates the bytes of the web config file `path` (relative paths in it are relative to
    its directory)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WebConfigError(f"web config {path}: not UTF-8 text") from None
    return parse_web_config(text, path, os.path.dirname(os.path.abspath(path)))
