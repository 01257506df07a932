"""--web.config.file: the exporter-toolkit web configuration (TLS, basic auth, headers).

The YAML format is the one every Prometheus exporter reads
(https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md), so
`promtool check web-config` validates our files too. Loading turns the file into a ready
`WebConfig` (an `ssl.SSLContext`, the users' bcrypt hashes, extra headers) or raises
`WebConfigError` with one line that names the file and the offending key.

Go's crypto/tls and Python's ssl differ in a few places; where Python cannot do what the file
asks, loading fails or the stricter behaviour is chosen and logged, never a silently weaker one:
- `RequestClientCert` / `RequireAnyClientCert` ask for a certificate without verifying it; Python
  verifies every certificate it requests, so they act as `VerifyClientCertIfGiven` /
  `RequireAndVerifyClientCert` and need `client_ca_file`.
- `cipher_suites` applies to TLS 1.2 and below (as in Go); TLS 1.3 suites are always enabled.
- `curve_preferences`: Python 3.11's ssl sets a single key-exchange group, the first one listed.
- `http2`: accepted for compatibility; this server speaks HTTP/1.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiofiles
import bcrypt
import yaml

LOG = logging.getLogger("fctarget_exporter.webconfig")


class WebConfigError(Exception):
    """The web config is unusable; str() is one line suitable for the operator."""


# Go crypto/tls cipher suite names (tls.CipherSuites(); IANA names) -> OpenSSL names.
# TLS 1.3 suites map to None: neither Go nor Python 3.11 let them be configured.
GO_CIPHER_SUITES: Mapping[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    # Go's older spellings of the ChaCha20 suites
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}

# Go tls.CurveID names -> OpenSSL group names.
GO_CURVES: Mapping[str, str] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}

TLS_VERSIONS: Mapping[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

# client_auth_type -> (verify mode, needs client CA). "RequireClientCert" is the toolkit's
# pre-0.9 spelling of RequireAnyClientCert.
CLIENT_AUTH: Mapping[str, ssl.VerifyMode] = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "RequireClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNVERIFIED_AUTH = {
    "RequestClientCert": "VerifyClientCertIfGiven",
    "RequireAnyClientCert": "RequireAndVerifyClientCert",
    "RequireClientCert": "RequireAndVerifyClientCert",
}

# The response headers exporter-toolkit lets a config set, with their allowed values (None: any).
ALLOWED_HEADERS: Mapping[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}

_TLS_KEYS = {
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
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

# bcrypt modular-crypt format: $2a$ / $2b$ / $2y$, two-digit cost, 53 characters of salt+hash.
_BCRYPT = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")
_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
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


def bcrypt_cost(hashed: bytes) -> int:
    """The cost field of a (validated) bcrypt hash: b"$2y$12$..." -> 12."""
    return int(hashed[4:6])


def dummy_hash(users: Mapping[str, bytes]) -> bytes:
    """A hash to check a password against when the user name is unknown, at the highest cost
    among `users`, so that an unknown user takes as long as a wrong password and user names
    cannot be told apart by timing. No hashing is needed to make it: checking a password only
    uses the cost and the salt, and nothing hashes to the random rest."""
    cost = max((bcrypt_cost(h) for h in users.values()), default=10)
    tail = "".join(secrets.choice(_BCRYPT_ALPHABET) for _ in range(31))
    return bytes(bcrypt.gensalt(cost)) + tail.encode()


@dataclass(frozen=True)
class RateLimit:
    interval: float  # seconds between two requests on average
    burst: int


@dataclass(frozen=True)
class WebConfig:
    """A loaded web config. The default instance means: plain HTTP, no auth, no extra headers."""

    source: str = ""
    tls: ssl.SSLContext | None = None
    client_allowed_sans: frozenset[str] = frozenset()
    users: Mapping[str, bytes] = field(default_factory=dict)
    auth_excluded_paths: frozenset[str] = frozenset()
    headers: Mapping[str, str] = field(default_factory=dict)
    http2: bool = True
    rate_limit: RateLimit | None = None
    # checked when the user name is unknown (see dummy_hash); empty without users
    dummy_hash: bytes = b""
    # allow_downgrade_on_reload: this file may replace a more secure one on SIGHUP
    allow_downgrade: bool = False


def _where(path: str, key: str) -> str:
    return f"web config {path}: {key}"


def _mapping(value: Any, path: str, key: str, allowed: set[str] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebConfigError(f"{_where(path, key)}: expected a mapping")
    for k in value:
        if not isinstance(k, str):
            raise WebConfigError(f"{_where(path, key)}: key {k!r} is not a string")
        if allowed is not None and k not in allowed:
            inner = f"{key}.{k}" if key else k
            raise WebConfigError(f"{_where(path, inner)}: unknown key")
    return value


def _string(value: Any, path: str, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebConfigError(f"{_where(path, key)}: expected a string")
    return value


def _strings(value: Any, path: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WebConfigError(f"{_where(path, key)}: expected a list of strings")
    return list(value)


def _bool(value: Any, path: str, key: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise WebConfigError(f"{_where(path, key)}: expected true or false")
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


def _file_path(base_dir: str, name: str) -> str:
    # Relative paths are relative to the config file, as in exporter-toolkit.
    return name if os.path.isabs(name) else os.path.join(base_dir, name)


def _readable(path: str, cfg: str, key: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise WebConfigError(f"{_where(cfg, key)}: cannot read {path}: {exc.strerror}") from None


def _load_chain_inline(ctx: ssl.SSLContext, cert: str, key: str) -> None:
    # ssl can only load certificates from files: hand it anonymous in-memory files.
    cert_fd = os.memfd_create("web-cert", os.MFD_CLOEXEC)
    key_fd = os.memfd_create("web-key", os.MFD_CLOEXEC)
    try:
        os.write(cert_fd, cert.encode())
        os.write(key_fd, key.encode())
        ctx.load_cert_chain(f"/proc/self/fd/{cert_fd}", f"/proc/self/fd/{key_fd}")
    finally:
        os.close(cert_fd)
        os.close(key_fd)


def _build_tls(
    tls: dict[str, Any], cfg: str, base_dir: str
) -> tuple[ssl.SSLContext, frozenset[str]]:
    k = "tls_server_config"
    cert = _string(tls.get("cert"), cfg, f"{k}.cert")
    key = _string(tls.get("key"), cfg, f"{k}.key")
    cert_file = _string(tls.get("cert_file"), cfg, f"{k}.cert_file")
    key_file = _string(tls.get("key_file"), cfg, f"{k}.key_file")
    client_ca = _string(tls.get("client_ca"), cfg, f"{k}.client_ca")
    client_ca_file = _string(tls.get("client_ca_file"), cfg, f"{k}.client_ca_file")
    auth = _string(tls.get("client_auth_type"), cfg, f"{k}.client_auth_type") or "NoClientCert"

    if cert and cert_file:
        raise WebConfigError(f"{_where(cfg, k)}: set cert or cert_file, not both")
    if key and key_file:
        raise WebConfigError(f"{_where(cfg, k)}: set key or key_file, not both")
    if client_ca and client_ca_file:
        raise WebConfigError(f"{_where(cfg, k)}: set client_ca or client_ca_file, not both")
    if not (cert or cert_file):
        raise WebConfigError(f"{_where(cfg, k)}: missing cert_file")
    if not (key or key_file):
        raise WebConfigError(f"{_where(cfg, k)}: missing key_file")
    if auth not in CLIENT_AUTH:
        choices = ", ".join(n for n in CLIENT_AUTH if n != "RequireClientCert")
        raise WebConfigError(
            f"{_where(cfg, k + '.client_auth_type')}: invalid value {auth!r} (one of {choices})"
        )

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.options |= ssl.OP_NO_COMPRESSION
    try:
        if cert_file or key_file:
            if cert_file:
                cert_file = _file_path(base_dir, cert_file)
                _readable(cert_file, cfg, f"{k}.cert_file")
            if key_file:
                key_file = _file_path(base_dir, key_file)
                _readable(key_file, cfg, f"{k}.key_file")
        if cert_file and key_file:
            ctx.load_cert_chain(cert_file, key_file)
        else:
            cert_text = cert or _read_text(cert_file, cfg, f"{k}.cert_file")
            key_text = key or _read_text(key_file, cfg, f"{k}.key_file")
            _load_chain_inline(ctx, cert_text, key_text)
    except ssl.SSLError as exc:
        raise WebConfigError(
            f"{_where(cfg, k)}: cannot load the certificate and key: {exc.reason or exc}"
        ) from None

    if (client_ca or client_ca_file) and auth == "NoClientCert":
        raise WebConfigError(
            f"{_where(cfg, k)}: client CA configured without a client_auth_type that asks for "
            "client certificates"
        )
    if auth != "NoClientCert":
        if not (client_ca or client_ca_file):
            raise WebConfigError(
                f"{_where(cfg, k)}: client_auth_type {auth} needs client_ca_file "
                "(Python's ssl verifies every client certificate it asks for)"
            )
        try:
            if client_ca_file:
                path = _file_path(base_dir, client_ca_file)
                _readable(path, cfg, f"{k}.client_ca_file")
                ctx.load_verify_locations(cafile=path)
            else:
                ctx.load_verify_locations(cadata=client_ca)
        except ssl.SSLError as exc:
            raise WebConfigError(
                f"{_where(cfg, k)}: cannot load the client CA: {exc.reason or exc}"
            ) from None
        if auth in _UNVERIFIED_AUTH:
            LOG.warning(
                "client_auth_type %s is treated as %s: Python's ssl verifies client certificates",
                auth,
                _UNVERIFIED_AUTH[auth],
            )
    ctx.verify_mode = CLIENT_AUTH[auth]

    sans = frozenset(_strings(tls.get("client_allowed_sans"), cfg, f"{k}.client_allowed_sans"))
    if sans and ctx.verify_mode != ssl.CERT_REQUIRED:
        raise WebConfigError(
            f"{_where(cfg, k)}: client_allowed_sans needs client_auth_type "
            "RequireAndVerifyClientCert"
        )

    versions = {}
    for name, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        value = _string(tls.get(name), cfg, f"{k}.{name}") or default
        if value not in TLS_VERSIONS:
            raise WebConfigError(
                f"{_where(cfg, k + '.' + name)}: unknown TLS version {value!r} "
                f"(one of {', '.join(TLS_VERSIONS)})"
            )
        versions[name] = TLS_VERSIONS[value]
    if versions["min_version"] > versions["max_version"]:
        raise WebConfigError(f"{_where(cfg, k)}: min_version is above max_version")
    ctx.minimum_version = versions["min_version"]
    ctx.maximum_version = versions["max_version"]

    suites = _strings(tls.get("cipher_suites"), cfg, f"{k}.cipher_suites")
    openssl_names = []
    for s in suites:
        if s not in GO_CIPHER_SUITES:
            raise WebConfigError(f"{_where(cfg, k + '.cipher_suites')}: unknown cipher {s!r}")
        mapped = GO_CIPHER_SUITES[s]
        if mapped is not None:
            openssl_names.append(mapped)
    if openssl_names:
        try:
            ctx.set_ciphers(":".join(openssl_names))
        except ssl.SSLError:
            raise WebConfigError(
                f"{_where(cfg, k + '.cipher_suites')}: none of the cipher suites is available "
                "in this OpenSSL"
            ) from None
    if _bool(tls.get("prefer_server_cipher_suites"), cfg, f"{k}.prefer_server_cipher_suites", True):
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE

    curves = _strings(tls.get("curve_preferences"), cfg, f"{k}.curve_preferences")
    for c in curves:
        if c not in GO_CURVES:
            raise WebConfigError(f"{_where(cfg, k + '.curve_preferences')}: unknown curve {c!r}")
    if curves:
        ctx.set_ecdh_curve(GO_CURVES[curves[0]])
        if len(curves) > 1:
            LOG.warning(
                "curve_preferences: Python's ssl uses one key-exchange group; using %s only",
                curves[0],
            )
    return ctx, sans


def _read_text(path: str, cfg: str, key: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise WebConfigError(f"{_where(cfg, key)}: cannot read {path}: {exc}") from None


def parse_web_config(text: str, source: str, base_dir: str) -> WebConfig:
    """Validates the YAML text and builds the TLS context (reading the files it names)."""
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
    top = _mapping(doc, source, "", _TOP_KEYS)
    allow_downgrade = _bool(top.get(ALLOW_DOWNGRADE_KEY), source, ALLOW_DOWNGRADE_KEY, False)

    tls_section = _mapping(top.get("tls_server_config"), source, "tls_server_config", _TLS_KEYS)
    tls: ssl.SSLContext | None = None
    sans: frozenset[str] = frozenset()
    # As in exporter-toolkit: TLS is on when a certificate, key or client auth setting is given.
    if any(
        tls_section.get(n)
        for n in (
            "cert",
            "key",
            "cert_file",
            "key_file",
            "client_ca",
            "client_ca_file",
            "client_auth_type",
        )
    ):
        tls, sans = _build_tls(tls_section, source, base_dir)

    http = _mapping(top.get("http_server_config"), source, "http_server_config", _HTTP_KEYS)
    http2 = _bool(http.get("http2"), source, "http_server_config.http2", True)
    headers: dict[str, str] = {}
    raw_headers = _mapping(http.get("headers"), source, "http_server_config.headers", None)
    for name, raw_value in raw_headers.items():
        where = f"http_server_config.headers.{name}"
        if name not in ALLOWED_HEADERS:
            raise WebConfigError(f"{_where(source, where)}: this header cannot be configured")
        value = _string(raw_value, source, where)
        allowed = ALLOWED_HEADERS[name]
        if value and allowed is not None and value.lower() not in allowed:
            raise WebConfigError(
                f"{_where(source, where)}: invalid value {value!r} (one of {', '.join(allowed)})"
            )
        if value:
            headers[name] = value

    users: dict[str, bytes] = {}
    raw_users = _mapping(top.get("basic_auth_users"), source, "basic_auth_users", None)
    for user, raw_hash in raw_users.items():
        where = f"basic_auth_users.{user}"
        if ":" in user:
            raise WebConfigError(f"{_where(source, where)}: user names cannot contain ':'")
        hashed = _string(raw_hash, source, where)
        if not _BCRYPT.match(hashed):
            raise WebConfigError(f"{_where(source, where)}: not a bcrypt hash ($2y$10$...)")
        users[user] = hashed.encode()
    excluded = frozenset(
        _strings(top.get("basic_auth_excluded_paths"), source, "basic_auth_excluded_paths")
    )

    rate: RateLimit | None = None
    rl = _mapping(top.get("rate_limit"), source, "rate_limit", _RATE_KEYS)
    if rl:
        interval_raw = rl.get("interval", "0")
        try:
            interval = parse_duration(str(interval_raw))
        except ValueError as exc:
            raise WebConfigError(f"{_where(source, 'rate_limit.interval')}: {exc}") from None
        burst = rl.get("burst", 0)
        if not isinstance(burst, int) or isinstance(burst, bool) or burst < 0:
            raise WebConfigError(
                f"{_where(source, 'rate_limit.burst')}: expected a non-negative integer"
            )
        if interval > 0:
            rate = RateLimit(interval=interval, burst=max(burst, 1))

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


def security_downgrades(old: WebConfig, new: WebConfig) -> list[str]:
    """What replacing `old` by `new` would take away: TLS, client certificate verification,
    client_allowed_sans, basic auth (entirely or on some paths). Empty if nothing."""
    lost = []
    if old.tls is not None and new.tls is None:
        lost.append("TLS")
    old_verify = old.tls.verify_mode if old.tls is not None else ssl.CERT_NONE
    new_verify = new.tls.verify_mode if new.tls is not None else ssl.CERT_NONE
    if new_verify < old_verify:
        lost.append("client certificate verification")
    if old.client_allowed_sans and not new.client_allowed_sans:
        lost.append("client_allowed_sans")
    if old.users and not new.users:
        lost.append("basic auth")
    elif old.users:
        opened = sorted(new.auth_excluded_paths - old.auth_excluded_paths)
        if opened:
            lost.append(f"basic auth on {', '.join(opened)}")
    return lost


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


def parse_basic_auth(header: str) -> tuple[str, str] | None:
    """`Authorization: Basic base64(user:password)` -> (user, password); None if malformed."""
    scheme, _, param = header.strip().partition(" ")
    if scheme.lower() != "basic" or not param:
        return None
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password
