"""The aiohttp application: the landing page, /metrics (text or OpenMetrics, gzip on request,
at most `max_requests` at once), /-/healthy, behind the rate limit and basic auth of the web
config in force, with its extra response headers."""

from __future__ import annotations

import gzip
import html
from collections.abc import Awaitable, Callable

from aiohttp import web

from exporter import __version__
from exporter.scrape import Scraper
from exporter.web.auth import AuthResult, client_key
from exporter.web.state import WEB_STATE_KEY, WebState
from exporter.webconfig import parse_basic_auth

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

SCRAPER_KEY: web.AppKey[Scraper] = web.AppKey("scraper", Scraper)

_HandlerFunc = Callable[[web.Request], Awaitable[web.StreamResponse]]


def wants_openmetrics(accept: str) -> bool:
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media == "application/openmetrics-text":
            return True
    return False


def wants_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if pieces[0].lower() != "gzip":
            continue
        for param in pieces[1:]:
            if param.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
                return False
        return True
    return False


def landing_page(telemetry_path: str, collectors: list[str]) -> str:
    items = "".join(f"<li>{html.escape(c)}</li>" for c in collectors)
    path = html.escape(telemetry_path)
    return (
        "<!DOCTYPE html><html><head><title>fctarget-exporter</title></head><body>"
        "<h1>fctarget-exporter</h1>"
        "<p>Prometheus exporter for LIO SCSI targets on QLogic qla2xxx Fibre Channel HBAs.</p>"
        f"<p>Version {html.escape(__version__)}</p>"
        f'<p><a href="{path}">Metrics</a> &middot; <a href="/-/healthy">Health</a></p>'
        f"<h2>Enabled collectors</h2><ul>{items}</ul></body></html>"
    )


def build_app(
    scraper: Scraper,
    telemetry_path: str = "/metrics",
    state: WebState | None = None,
    max_requests: int = 0,
) -> web.Application:
    """The application; `max_requests` (0: no limit) caps the scrapes handled at once, more
    are answered 503 at once (node_exporter's --web.max-requests). Like there, it counts
    requests to the telemetry path that passed authentication: failed logins are bounded by
    BasicAuthChecker and cannot take the scrapes' places."""
    web_state = state or WebState()

    @web.middleware
    async def guard(request: web.Request, handler: _HandlerFunc) -> web.StreamResponse:
        refused = await refusal(web_state, request)
        return refused if refused is not None else await handler(request)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in web_state.config.headers.items():
            response.headers[name] = value

    app = web.Application(middlewares=[guard])
    app.on_response_prepare.append(add_headers)
    app[SCRAPER_KEY] = scraper
    app[WEB_STATE_KEY] = web_state
    names = [c.name for c in scraper.collectors]

    async def index(request: web.Request) -> web.StreamResponse:
        return web.Response(text=landing_page(telemetry_path, names), content_type="text/html")

    async def healthy(request: web.Request) -> web.StreamResponse:
        return web.Response(text="Healthy\n")

    app.router.add_get(telemetry_path, _Metrics(scraper, max_requests).handle)
    app.router.add_get("/-/healthy", healthy)
    if telemetry_path != "/":
        app.router.add_get("/", index)
    return app


async def refusal(state: WebState, request: web.Request) -> web.Response | None:
    """The answer to a request that may not go on (over the rate limit, not authenticated,
    too many failed logins), or None."""
    cfg = state.config
    if not state.allow_request():
        return web.Response(status=429, text="Too Many Requests\n")
    if not cfg.users or request.path in cfg.auth_excluded_paths:
        return None
    creds = parse_basic_auth(request.headers.get("Authorization", ""))
    client = client_key(request.remote)
    result = AuthResult.DENIED
    if creds is not None:
        result = await state.auth.verify(cfg.users, *creds, cfg.dummy_hash, client)
    if result is AuthResult.THROTTLED:
        return web.Response(
            status=429,
            text="Too many failed logins\n",
            headers={"Retry-After": str(state.auth.retry_after(client))},
        )
    if result is not AuthResult.OK:
        return web.Response(
            status=401,
            text="Unauthorized\n",
            headers={"WWW-Authenticate": 'Basic realm="fctarget-exporter"'},
        )
    return None


class _Metrics:
    """The telemetry path: one scrape per request, at most `max_requests` (0: any number) at
    once."""

    def __init__(self, scraper: Scraper, max_requests: int) -> None:
        self._scraper = scraper
        self._max_requests = max_requests
        self._in_flight = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._max_requests and self._in_flight >= self._max_requests:
            return web.Response(
                status=503, text="Too many scrapes in flight\n", headers={"Retry-After": "1"}
            )
        self._in_flight += 1
        try:
            return await self._render(request)
        finally:
            self._in_flight -= 1

    async def _render(self, request: web.Request) -> web.StreamResponse:
        om = wants_openmetrics(request.headers.get("Accept", ""))
        body = await self._scraper.render(openmetrics=om)
        headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if om else TEXT_CONTENT_TYPE}
        if wants_gzip(request.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept, Accept-Encoding"
        return web.Response(body=body, headers=headers)
