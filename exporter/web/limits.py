"""The web server's limits, a light module: the flag parser reads their defaults from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebLimits:
    """--web.idle-timeout, --web.read-header-timeout and --web.max-requests (0: no limit)."""

    idle_timeout: float = 90.0
    read_header_timeout: float = 10.0
    max_requests: int = 40
