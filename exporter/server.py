"""The HTTP side: landing page, /metrics (text or OpenMetrics, gzip on request), /-/healthy."""

from __future__ import annotations

import gzip
import html
import logging

from aiohttp import web

from exporter import __version__
from exporter.scrape import Scraper

LOG = logging.getLogger("fctarget_exporter.server")

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

SCRAPER_KEY: web.AppKey[Scraper] = web.AppKey("scraper", Scraper)


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


def build_app(scraper: Scraper, telemetry_path: str = "/metrics") -> web.Application:
    app = web.Application()
    app[SCRAPER_KEY] = scraper
    names = [c.name for c in scraper.collectors]

    async def metrics(request: web.Request) -> web.StreamResponse:
        om = wants_openmetrics(request.headers.get("Accept", ""))
        body = await scraper.render(openmetrics=om)
        headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if om else TEXT_CONTENT_TYPE}
        if wants_gzip(request.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept, Accept-Encoding"
        return web.Response(body=body, headers=headers)

    async def index(request: web.Request) -> web.StreamResponse:
        return web.Response(text=landing_page(telemetry_path, names), content_type="text/html")

    async def healthy(request: web.Request) -> web.StreamResponse:
        return web.Response(text="Healthy\n")

    app.router.add_get(telemetry_path, metrics)
    app.router.add_get("/-/healthy", healthy)
    if telemetry_path != "/":
        app.router.add_get("/", index)
    return app
