"""Command line: node_exporter-style flags, then serve, collect once, or run the demo host."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

from exporter import __version__
from exporter.collector import REGISTRY, Collector, CollectorContext
from exporter.flags import build_parser
from exporter.logsetup import LOG, RateLimitedLog, setup_logging
from exporter.paths import HostPaths
from exporter.scrape import Scraper
from exporter.web.flags import DEFAULT_LISTEN


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

        text, status = explain(paths, enabled_collectors(args), args.web_config_file)
        print(text, end="")
        return status
    if not args.once:
        from exporter.serving import ListenError, load_config  # aiohttp: only when serving

        try:
            config = load_config(args)  # a bad file stops start-up before anything runs
        except ListenError as exc:
            return _fail(str(exc))
    collectors = make_collectors(args, paths)
    if not collectors:
        LOG.warning("no collector is enabled: only the exporter's own metrics will be served")
    # --once feeds node_exporter's textfile collector, which serves its own process_* metrics.
    extra = [] if args.once else [PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR]
    scraper = Scraper(collectors, args.collector_timeout, RateLimitedLog(LOG), extra=extra)
    if args.once:
        return _run_once(scraper)
    _log_start(collectors, paths)
    return _serve(args, scraper, config, sim, demo_dir)


def _log_start(collectors: Sequence[Collector], paths: HostPaths) -> None:
    fields = {
        "version": __version__,
        "collectors": ",".join(c.name for c in collectors) or "none",
        "procfs": paths.procfs,
        "sysfs": paths.sysfs,
        "configfs": paths.configfs,
        "kmsg": paths.kmsg,
    }
    LOG.info("starting", extra={"fields": fields})


def _serve(
    args: argparse.Namespace, scraper: Scraper, config: Any, sim: Any, demo_dir: str | None
) -> int:
    from exporter.serving import ListenError, serve

    tick = banner = None
    if sim is not None:
        tick = _demo_tick(sim, args.demo_interval)

        def banner(urls: list[str]) -> None:
            shown = "\n".join(f"  metrics: {u}{args.telemetry_path}" for u in urls)
            print(f"fctarget-exporter demo: simulated host in {demo_dir}", flush=True)
            print(f"{shown}  (Ctrl-C to stop)", flush=True)

    listens = [parse_listen(a) for a in args.listen]
    try:
        asyncio.run(serve(scraper, args, config, listens, (tick, banner)))
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
