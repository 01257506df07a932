"""Serving: the web config, the listeners, SIGHUP reloads, readiness, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from exporter import entry, sdnotify
from exporter.logsetup import RateLimitedLog
from exporter.scrape import Scraper
from exporter.web.app import build_app
from exporter.web.connections import Connections, connection_limit
from exporter.web.limits import WebLimits
from exporter.web.site import WEB_LOG_INTERVAL, ReloadableSite, loop_exception_handler
from exporter.web.state import WebState
from exporter.webconfig import (
    ALLOW_DOWNGRADE_KEY,
    WebConfig,
    WebConfigError,
    load_web_config,
    reload_web_config,
    security_downgrades,
)

LOG = logging.getLogger("fctarget_exporter")

__all__ = ["ListenError", "WebLimits", "serve", "show_address"]


Tick = Callable[[asyncio.Event], Awaitable[None]]
Banner = Callable[[list[str]], None]


class ListenError(Exception):
    """The server cannot start (a listener, the web config): one line, exit 2."""


def show_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Web:
    """What the listeners share: the web config, limits, connection table and error log."""

    def __init__(self, args: argparse.Namespace, config: WebConfig, listeners: int) -> None:
        self.config_file: str = args.web_config_file or ""
        self.state = WebState(config)
        self.limits = WebLimits(args.idle_timeout, args.read_header_timeout, args.max_requests)
        self.errlog = RateLimitedLog(LOG, WEB_LOG_INTERVAL)
        self.connections = Connections(connection_limit(listeners), self.errlog, self.limits)
        self.reload_lock = asyncio.Lock()  # SIGHUPs in a burst apply in order, one at a time
        self.reloads: set[asyncio.Task[None]] = set()

    async def start_sites(self, runner: Any, listens: list[tuple[str, int]]) -> list[str]:
        urls = []
        scheme = "https" if self.state.config.tls is not None else "http"
        for host, port in listens:
            site = ReloadableSite(runner, host, port, self.state, connections=self.connections)
            try:
                await site.start()
            except OSError as exc:
                why = _why(exc)
                raise ListenError(f"cannot listen on {show_address(host, port)}: {why}") from None
            LOG.info(
                "listening",
                extra={"fields": {"address": show_address(host, port), "tls": scheme == "https"}},
            )
            shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            urls.append(f"{scheme}://{show_address(shown, port)}")
        return urls

    async def reload(self) -> None:
        # SIGHUP: new handshakes and requests use the new file; the listeners stay open.
        async with self.reload_lock:
            try:
                new = await reload_web_config(self.config_file)
            except WebConfigError as exc:
                LOG.error("web config reload failed, keeping the previous one: %s", exc)
                return
            lost = security_downgrades(self.state.config, new)
            if lost and not new.allow_downgrade:
                LOG.error(
                    "web config reload refused, keeping the previous one: %s would turn off %s "
                    "(set %s: true in the file to allow it)",
                    self.config_file,
                    " and ".join(lost),
                    ALLOW_DOWNGRADE_KEY,
                )
                return
            if lost:
                LOG.warning(
                    "web config reload turns off %s (%s is set)",
                    " and ".join(lost),
                    ALLOW_DOWNGRADE_KEY,
                )
            self.state.replace(new)
            LOG.info("web config reloaded", extra={"fields": {"tls": new.tls is not None}})

    def on_sighup(self) -> None:
        if not self.config_file:
            LOG.info("SIGHUP: no --web.config.file to reload")
            return
        task = asyncio.ensure_future(self.reload())
        self.reloads.add(task)
        task.add_done_callback(self.reloads.discard)


def _why(exc: OSError) -> str:
    # asyncio wraps bind errors in a message holding a Python tuple: say it plainly.
    if exc.errno is not None and not isinstance(exc, socket.gaierror):
        return os.strerror(exc.errno).lower()
    return exc.strerror or str(exc)


def load_config(args: argparse.Namespace) -> WebConfig:
    """The --web.config.file, read before anything starts; ListenError when unusable."""
    try:
        return load_web_config(args.web_config_file or "")
    except WebConfigError as exc:
        raise ListenError(str(exc)) from None


async def serve(
    scraper: Scraper,
    args: argparse.Namespace,
    config: WebConfig,
    listens: list[tuple[str, int]],
    hooks: tuple[
        Callable[[asyncio.Event], Awaitable[None]] | None, Callable[[list[str]], None] | None
    ] = (None, None),
) -> None:
    """Serve until SIGTERM/SIGINT; raises ListenError when a listener cannot start.
    `hooks`: a task run while serving (the demo's clock), and what to print once listening."""
    from aiohttp import web

    on_tick, banner = hooks
    web_ = _Web(args, config, len(listens))
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(loop_exception_handler(web_.errlog))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = build_app(scraper, args.telemetry_path, web_.state, web_.limits.max_requests)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    tick_task = None
    try:
        await scraper.start()
        urls = await web_.start_sites(runner, listens)
        loop.add_signal_handler(signal.SIGHUP, web_.on_sighup)
        if entry.hup_pending:  # a SIGHUP arrived while starting: the file may have changed
            entry.hup_pending = False
            web_.on_sighup()
        if banner is not None:
            banner(urls)
        sdnotify.notify("READY=1")
        tick_task = asyncio.ensure_future(on_tick(stop)) if on_tick is not None else None
        await stop.wait()
        LOG.info("shutting down")
        sdnotify.notify("STOPPING=1")
    finally:
        if tick_task is not None:
            tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await tick_task
        await scraper.stop()
        await runner.cleanup()
        web_.state.auth.close()
