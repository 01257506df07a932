"""What a web config file loads into: `WebConfig`, or `WebConfigError` when it is unusable;
and what replacing one by another would take away (`security_downgrades`)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field


class WebConfigError(Exception):
    """The web config is unusable; str() is one line suitable for the operator."""


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
