"""Command line: node_exporter-style flags, then serve, collect once, or run the demo host."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

from exporter import __version__
from exporter.collector import REGISTRY, Collector, CollectorContext
from exporter.logsetup import LOG, RateLimitedLog, setup_logging
from exporter.paths import HostPaths
from exporter.scrape import Scraper

# 9100-9999 hold Prometheus's default port allocations and are full; 19181 lies outside that
# range, below the ephemeral range (32768+) and is not an IANA-registered service port.
DEFAULT_PORT = 19181
DEFAULT_LISTEN = f":{DEFAULT_PORT}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One clear line instead of a usage dump.
        self.exit(2, f"fctarget-exporter: error: {message} (see --help)\n")


def _telemetry_path(value: str) -> str:
    # aiohttp rejects a route without a leading slash with a traceback at start-up
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise argparse.ArgumentTypeError(f"{value!r}: a URL path starts with / and has no spaces")
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a positive number of seconds")
    return seconds


def _count(value: str) -> int:
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{value!r}: expected a whole number, 0 or more")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    import exporter.collectors  # noqa: F401 - registers every collector

    p = _Parser(
        prog="fctarget-exporter",
        description=(
            "Prometheus exporter for Linux LIO SCSI targets served over QLogic qla2xxx Fibre "
            "Channel HBAs: FC link state and events, HBA interrupt spread over CPUs, and what "
            "the target serves per port, LUN, backstore and initiator."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Examples:\n"
            f"  fctarget-exporter                         monitor this host on :{DEFAULT_PORT}\n"
            "  fctarget-exporter --demo                  serve a simulated FC target host\n"
            "  fctarget-exporter --once                  print one scrape and exit\n"
            "  fctarget-exporter --no-collector.kmsg     everything but the kernel log\n"
        ),
    )
    web = p.add_argument_group("web")
    web.add_argument(
        "--web.listen-address",
        dest="listen_address",
        action="append",
        metavar="ADDR",
        help=f"address to listen on, host:port or [v6]:port; repeatable (default {DEFAULT_LISTEN})",
    )
    web.add_argument(
        "--web.telemetry-path",
        dest="telemetry_path",
        default="/metrics",
        type=_telemetry_path,
        metavar="PATH",
        help="path under which to expose metrics (default /metrics)",
    )
    web.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default="",
        metavar="FILE",
        help="exporter-toolkit web configuration (TLS, basic auth, headers); reloaded on SIGHUP",
    )
    web.add_argument(
        "--web.max-requests",
        dest="max_requests",
        type=_count,
        default=40,
        metavar="N",
        help="scrapes handled at once; more are answered 503 at once (0: no limit; default 40)",
    )
    web.add_argument(
        "--web.idle-timeout",
        dest="idle_timeout",
        type=_seconds,
        default=90.0,
        metavar="SECONDS",
        help="close a keep-alive connection idle this long (default 90)",
    )
    web.add_argument(
        "--web.read-header-timeout",
        dest="read_header_timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="close a connection whose request headers are not complete this long after it "
        "opened or after the request began (default 10)",
    )
    paths = p.add_argument_group("host paths (point these at a fixture tree to test)")
    paths.add_argument(
        "--path.procfs",
        dest="procfs",
        default="/proc",
        metavar="DIR",
        help="procfs mountpoint (default /proc)",
    )
    paths.add_argument(
        "--path.sysfs",
        dest="sysfs",
        default="/sys",
        metavar="DIR",
        help="sysfs mountpoint (default /sys)",
    )
    paths.add_argument(
        "--path.configfs",
        dest="configfs",
        default=None,
        metavar="DIR",
        help="configfs mountpoint holding target/ (default <sysfs>/kernel/config)",
    )
    paths.add_argument(
        "--path.kmsg",
        dest="kmsg",
        default="/dev/kmsg",
        metavar="FILE",
        help="kernel log device, or a saved file of /dev/kmsg records (default /dev/kmsg)",
    )
    coll = p.add_argument_group(
        "collectors",
        "every collector NAME below has --collector.NAME and --no-collector.NAME",
    )
    coll.add_argument(
        "--collector.timeout",
        dest="collector_timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="per-collector timeout for one scrape (default 10)",
    )
    coll.add_argument(
        "--collector.disable-defaults",
        dest="disable_defaults",
        action="store_true",
        help="disable every collector not enabled explicitly",
    )
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        state = "enabled" if cls.default_enabled else "disabled"
        coll.add_argument(
            f"--collector.{name}",
            dest=f"collector_{name}",
            action="store_true",
            default=None,
            help=f"{cls.description} (default {state})",
        )
        coll.add_argument(
            f"--no-collector.{name}",
            dest=f"collector_{name}",
            action="store_false",
            help=argparse.SUPPRESS,
        )
    for name in sorted(REGISTRY):
        group = p.add_argument_group(f"collector {name}")
        REGISTRY[name].add_arguments(group)
    run = p.add_argument_group("run mode")
    run.add_argument(
        "--once",
        action="store_true",
        help="collect once, print the exposition to stdout and exit "
        "(exit 1 if a collector failed); for the textfile collector",
    )
    run.add_argument(
        "--demo",
        action="store_true",
        help="run on a built-in simulated FC target host instead of this machine",
    )
    run.add_argument(
        "--demo.interval",
        dest="demo_interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often the simulated host advances (default 5)",
    )
    run.add_argument(
        "--check", action="store_true", help="explain what the exporter sees on this host and exit"
    )
    log = p.add_argument_group("logging")
    log.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "error"],
        help="(default info)",
    )
    log.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=["logfmt", "json"],
        help="(default logfmt)",
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"fctarget-exporter {__version__} (python {sys.version.split()[0]})",
    )
    return p


def enabled_collectors(args: argparse.Namespace) -> list[str]:
    names = []
    for name in sorted(REGISTRY):
        explicit = getattr(args, f"collector_{name}")
        default = False if args.disable_defaults else REGISTRY[name].default_enabled
        if default if explicit is None else explicit:
            names.append(name)
    return names


def parse_listen(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep:
        raise ValueError(f"listen address {addr!r} has no port")
    host = host.strip("[]") or "0.0.0.0"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"listen address {addr!r} has an invalid port")
    return host, int(port)


def _fail(message: str) -> int:
    print(f"fctarget-exporter: error: {message}", file=sys.stderr)
    return 2


def make_collectors(args: argparse.Namespace, paths: HostPaths) -> list[Collector]:
    errlog = RateLimitedLog(LOG)
    out = []
    for name in enabled_collectors(args):
        ctx = CollectorContext(
            paths=paths,
            args=args,
            log=logging.getLogger(f"fctarget_exporter.{name}"),
            errlog=errlog,
        )
        out.append(REGISTRY[name](ctx))
    return out


async def collect_once(scraper: Scraper) -> tuple[bytes, list[str]]:
    await scraper.start()
    try:
        metrics = await scraper.collect()
    finally:
        await scraper.stop()
    body = await asyncio.to_thread(scraper.encoder.encode, metrics, False)
    return body, scraper.failed(metrics)


async def serve(
    scraper: Scraper,
    args: argparse.Namespace,
    listens: list[tuple[str, int]],
    on_tick: Callable[[asyncio.Event], Awaitable[None]] | None = None,
) -> None:
    from aiohttp import web

    from exporter.server import (
        WEB_LOG_INTERVAL,
        Connections,
        ReloadableSite,
        WebLimits,
        WebState,
        build_app,
        connection_limit,
        loop_exception_handler,
    )
    from exporter.webconfig import (
        ALLOW_DOWNGRADE_KEY,
        WebConfigError,
        load_web_config,
        reload_web_config,
        security_downgrades,
    )

    config_file: str = getattr(args, "web_config_file", "") or ""
    try:
        web_state = WebState(load_web_config(config_file))
    except WebConfigError as exc:
        raise SystemExit(_fail(str(exc))) from None
    limits = WebLimits(
        idle_timeout=getattr(args, "idle_timeout", WebLimits.idle_timeout),
        read_header_timeout=getattr(args, "read_header_timeout", WebLimits.read_header_timeout),
        max_requests=getattr(args, "max_requests", WebLimits.max_requests),
    )
    web_errlog = RateLimitedLog(LOG, WEB_LOG_INTERVAL)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(loop_exception_handler(web_errlog))
    connections = Connections(connection_limit(len(listens)), web_errlog)
    app = build_app(scraper, args.telemetry_path, web_state, limits.max_requests)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await scraper.start()
    for host, port in listens:
        site = ReloadableSite(
            runner,
            host,
            port,
            web_state,
            limits=limits,
            connections=connections,
            errlog=web_errlog,
        )
        await site.start()
        LOG.info(
            "listening",
            extra={"fields": {"address": site.name, "tls": web_state.config.tls is not None}},
        )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    reload_lock = asyncio.Lock()  # SIGHUPs in a burst apply in order, one at a time
    reloads: set[asyncio.Task[None]] = set()

    async def reload() -> None:
        # SIGHUP: new handshakes and requests use the new file; the listeners stay open.
        async with reload_lock:
            try:
                new = await reload_web_config(config_file)
            except WebConfigError as exc:
                LOG.error("web config reload failed, keeping the previous one: %s", exc)
                return
            lost = security_downgrades(web_state.config, new)
            if lost and not new.allow_downgrade:
                LOG.error(
                    "web config reload refused, keeping the previous one: %s would turn off %s "
                    "(set %s: true in the file to allow it)",
                    config_file,
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
            web_state.replace(new)
            LOG.info("web config reloaded", extra={"fields": {"tls": new.tls is not None}})

    def on_sighup() -> None:
        if not config_file:
            LOG.info("SIGHUP: no --web.config.file to reload")
            return
        task = asyncio.ensure_future(reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    tick_task = asyncio.ensure_future(on_tick(stop)) if on_tick is not None else None
    try:
        await stop.wait()
    finally:
        if tick_task is not None:
            tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await tick_task
        await scraper.stop()
        await runner.cleanup()
        web_state.auth.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level if args.log_level != "warn" else "warning", args.log_format)
    try:
        listens = [parse_listen(a) for a in (args.listen_address or [DEFAULT_LISTEN])]
    except ValueError as exc:
        return _fail(str(exc))
    if args.collector_timeout <= 0:
        return _fail("--collector.timeout must be positive")

    demo_dir: str | None = None
    sim = None
    if args.demo:
        from exporter.simulate import SimulatedHost

        demo_dir = tempfile.mkdtemp(prefix="fctarget-demo-")
        sim = SimulatedHost.demo(demo_dir)
        paths = sim.paths
    else:
        paths = HostPaths(
            procfs=args.procfs,
            sysfs=args.sysfs,
            configfs=args.configfs or os.path.join(args.sysfs, "kernel", "config"),
            kmsg=args.kmsg,
        )
        for flag, value in (("--path.procfs", paths.procfs), ("--path.sysfs", paths.sysfs)):
            if not os.path.isdir(value):
                return _fail(f"{flag} {value}: not a readable directory")
    try:
        if args.check:
            from exporter.check import explain

            print(explain(paths, enabled_collectors(args)), end="")
            return 0
        scraper = Scraper(
            make_collectors(args, paths),
            args.collector_timeout,
            RateLimitedLog(LOG),
            extra=[PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR],
        )
        if args.once:
            body, failed = asyncio.run(collect_once(scraper))
            sys.stdout.buffer.write(body)
            sys.stdout.flush()
            if failed:
                print(f"fctarget-exporter: collectors failed: {', '.join(failed)}", file=sys.stderr)
                return 1
            return 0

        tick = None
        if sim is not None:
            demo_sim = sim

            async def tick(stop: asyncio.Event) -> None:
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), args.demo_interval)
                    await asyncio.to_thread(demo_sim.advance, args.demo_interval)

            for host, port in listens:
                shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
                print(
                    f"fctarget-exporter demo: simulated host in {demo_dir}\n"
                    f"  metrics: http://{shown}:{port}{args.telemetry_path}  (Ctrl-C to stop)",
                    flush=True,
                )
        try:
            asyncio.run(serve(scraper, args, listens, tick))
        except OSError as exc:
            return _fail(f"cannot listen: {exc.strerror or exc}")
        return 0
    finally:
        if demo_dir is not None:
            shutil.rmtree(demo_dir, ignore_errors=True)
