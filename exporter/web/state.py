"""What the web server runs by: the web config in force (swapped on SIGHUP) with its basic
auth checker and its rate limit."""

from __future__ import annotations

import time

from aiohttp import web

from exporter.web.auth import BasicAuthChecker
from exporter.webconfig import RateLimit, WebConfig


class _TokenBucket:
    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        rate = 1.0 / self.limit.interval
        self._tokens = min(float(self.limit.burst), self._tokens + (now - self._at) * rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class WebState:
    """The web config in force; `replace()` swaps it atomically (all on the event loop)."""

    def __init__(self, config: WebConfig | None = None) -> None:
        self.config = config or WebConfig()
        self.auth = BasicAuthChecker()
        self._bucket = _TokenBucket(self.config.rate_limit) if self.config.rate_limit else None

    def replace(self, config: WebConfig) -> None:
        self.config = config
        self.auth.clear()
        if config.rate_limit is None:
            self._bucket = None
        elif self._bucket is None or self._bucket.limit != config.rate_limit:
            self._bucket = _TokenBucket(config.rate_limit)

    def allow_request(self) -> bool:
        return self._bucket is None or self._bucket.take()


WEB_STATE_KEY: web.AppKey[WebState] = web.AppKey("web_state", WebState)
