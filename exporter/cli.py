"""Command line: node_exporter-style flags, then serve, collect once, or run the demo host."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

from exporter import __version__, entry, sdnotify
from exporter.collector import REGISTRY, Collector, CollectorContext
from exporter.flagtypes import positive_seconds
from exporter.logsetup import LOG, RateLimitedLog, setup_logging
from exporter.paths import HostPaths
from exporter.scrape import Scraper

# 9100-9999 hold Prometheus's default port allocations and are full; 19181 lies outside that
# range, below the ephemeral range (32768+) and is not an IANA-registered service port.
DEFAULT_PORT = 19181
DEFAULT_LISTEN = f":{DEFAULT_PORT}"


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any) -> None:
        # No prefix matching (`--onc`): a flag means exactly what it says, as in node_exporter.
        super().__init__(allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        # One clear line instead of a usage dump.
        self.exit(2, f"fctarget-exporter: error: {message} (see --help)\n")


def _telemetry_path(value: str) -> str:
    # aiohttp rejects a route without a leading slash with a traceback at start-up
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise argparse.ArgumentTypeError(f"{value!r}: a URL path starts with / and has no spaces")
    return value


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
    paths.add_argument(
        "--path.debugfs",
        dest="debugfs",
        default=None,
        metavar="DIR",
        help="debugfs mountpoint holding qla2xxx/ (default <sysfs>/kernel/debug)",
    )
    coll = p.add_argument_group(
        "collectors",
        "every collector NAME below has --collector.NAME and --no-collector.NAME",
    )
    coll.add_argument(
        "--collector.timeout",
        dest="collector_timeout",
        type=positive_seconds,
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
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--once",
        action="store_true",
        help="collect once, print the fctarget_* families to stdout and exit "
        "(exit 1 if a collector failed); for node_exporter's textfile collector, so the "
        "process_* and python_* families are left out",
    )
    run.add_argument(
        "--demo",
        action="store_true",
        help="run on a built-in simulated FC target host instead of this machine",
    )
    run.add_argument(
        "--demo.interval",
        dest="demo_interval",
        type=positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how often the simulated host advances (default 5)",
    )
    mode.add_argument(
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


def show_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _fail(message: str) -> int:
    print(f"fctarget-exporter: error: {message}", file=sys.stderr)
    return 2


class ListenError(Exception):
    """A listener could not be opened: one line naming the address, exit 2."""


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


async def _start_sites(runner: Any, listens: list[tuple[str, int]], web_state: Any) -> list[str]:
    from exporter.server import ReloadableSite

    urls = []
    scheme = "https" if web_state.config.tls is not None else "http"
    for host, port in listens:
        site = ReloadableSite(runner, host, port, web_state)
        try:
            await site.start()
        except OSError as exc:
            # asyncio wraps bind errors in a message holding a Python tuple: say it plainly.
            if exc.errno is not None and not isinstance(exc, socket.gaierror):
                reason = os.strerror(exc.errno).lower()
            else:
                reason = exc.strerror or str(exc)
            raise ListenError(f"cannot listen on {show_address(host, port)}: {reason}") from None
        LOG.info(
            "listening",
            extra={"fields": {"address": show_address(host, port), "tls": scheme == "https"}},
        )
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        urls.append(f"{scheme}://{show_address(shown, port)}")
    return urls


def _install_reload(
    loop: asyncio.AbstractEventLoop, config_file: str, web_state: Any
) -> set[asyncio.Task[None]]:
    from exporter.webconfig import WebConfigError, reload_web_config

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
    if entry.hup_pending:  # a SIGHUP arrived while starting: the file may have changed since
        entry.hup_pending = False
        on_sighup()
    return reloads


async def serve(
    scraper: Scraper,
    args: argparse.Namespace,
    listens: list[tuple[str, int]],
    on_tick: Callable[[asyncio.Event], Awaitable[None]] | None = None,
    banner: Callable[[list[str]], None] | None = None,
) -> None:
    from aiohttp import web

    from exporter.server import WebState, build_app
    from exporter.webconfig import WebConfigError, load_web_config

    config_file: str = args.web_config_file or ""
    try:
        web_state = WebState(load_web_config(config_file))
    except WebConfigError as exc:
        raise SystemExit(_fail(str(exc))) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(
        build_app(scraper, args.telemetry_path, web_state), access_log=None, handle_signals=False
    )
    await runner.setup()
    tick_task = None
    try:
        await scraper.start()
        urls = await _start_sites(runner, listens, web_state)
        _install_reload(loop, config_file, web_state)
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
        web_state.auth.close()


def _host_paths(args: argparse.Namespace) -> HostPaths:
    paths = HostPaths(
        procfs=args.procfs,
        sysfs=args.sysfs,
        configfs=args.configfs or os.path.join(args.sysfs, "kernel", "config"),
        kmsg=args.kmsg,
        debugfs=args.debugfs or os.path.join(args.sysfs, "kernel", "debug"),
    )
    for flag, value in (("--path.procfs", paths.procfs), ("--path.sysfs", paths.sysfs)):
        if not os.path.isdir(value):
            raise ValueError(f"{flag} {value}: not a readable directory")
    return paths


def _demo_collectors(args: argparse.Namespace) -> None:
    """`--demo` shows the qla2xxx debugfs families the simulated host writes: the collector and
    its fw_resource_count reads are on unless --no-collector.qla2xxx says otherwise."""
    if args.collector_qla2xxx is None:
        args.collector_qla2xxx = True
        args.qla2xxx_fw_resource = True


def _demo_tick(sim: Any, interval: float) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def tick(stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            await asyncio.to_thread(sim.advance, interval)

    return tick


def _run_once(scraper: Scraper) -> int:
    loop = asyncio.new_event_loop()
    try:
        body, failed = loop.run_until_complete(collect_once(scraper))
        stuck = scraper.busy
        if not stuck:
            loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
    sys.stdout.buffer.write(body)
    sys.stdout.flush()
    if failed:
        print(f"fctarget-exporter: collectors failed: {', '.join(failed)}", file=sys.stderr)
    if stuck:
        # A worker thread cannot be cancelled, and the interpreter would wait for it at exit:
        # a read that never returns (a hung sysfs attribute) must not hold up the textfile run.
        print(f"fctarget-exporter: still stuck at exit: {', '.join(stuck)}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)
    return 1 if failed else 0


def _run(args: argparse.Namespace, paths: HostPaths, sim: Any, demo_dir: str | None) -> int:
    if args.check:
        from exporter.check import explain

        print(explain(paths, enabled_collectors(args)), end="")
        return 0
    collectors = make_collectors(args, paths)
    if not collectors:
        LOG.warning("no collector is enabled: only the exporter's own metrics will be served")
    # --once feeds node_exporter's textfile collector, which serves its own process_* metrics.
    extra = [] if args.once else [PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR]
    scraper = Scraper(collectors, args.collector_timeout, RateLimitedLog(LOG), extra=extra)
    if args.once:
        return _run_once(scraper)
    LOG.info(
        "starting",
        extra={
            "fields": {
                "version": __version__,
                "collectors": ",".join(c.name for c in collectors) or "none",
                "procfs": paths.procfs,
                "sysfs": paths.sysfs,
                "configfs": paths.configfs,
                "kmsg": paths.kmsg,
            }
        },
    )
    tick = banner = None
    if sim is not None:
        tick = _demo_tick(sim, args.demo_interval)

        def banner(urls: list[str]) -> None:
            shown = "\n".join(f"  metrics: {u}{args.telemetry_path}" for u in urls)
            print(f"fctarget-exporter demo: simulated host in {demo_dir}", flush=True)
            print(f"{shown}  (Ctrl-C to stop)", flush=True)

    try:
        asyncio.run(serve(scraper, args, [parse_listen(a) for a in args.listen], tick, banner))
    except ListenError as exc:
        return _fail(str(exc))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level if args.log_level != "warn" else "warning", args.log_format)
    args.listen = args.listen_address or [DEFAULT_LISTEN]
    try:
        for a in args.listen:
            parse_listen(a)
    except ValueError as exc:
        return _fail(str(exc))
    demo_dir: str | None = None
    sim = None
    try:
        if args.demo:
            from exporter.simulate import SimulatedHost

            demo_dir = tempfile.mkdtemp(prefix="fctarget-demo-")
            sim = SimulatedHost.demo(demo_dir)
            paths = sim.paths
            _demo_collectors(args)
        else:
            try:
                paths = _host_paths(args)
            except ValueError as exc:
                return _fail(str(exc))
        return _run(args, paths, sim, demo_dir)
    finally:
        if demo_dir is not None:
            shutil.rmtree(demo_dir, ignore_errors=True)
