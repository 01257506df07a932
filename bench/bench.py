"""Scrape benchmark on a large simulated FC target host (`make bench`).

Builds a large host (256 CPUs, 8 ports, 4096 LUN mappings, 128 initiators x 32 mapped
LUNs) and reports, in one run:
- full-scrape latency p50/p99 and CPU seconds per scrape (collect + encode, in process, the
  way the HTTP handler does it);
- peak RSS of this process;
- the raw-read floor: open/read/close of exactly the files one scrape reads, in a tight loop;
- the split into read (time inside file-system calls, each collector run alone so that GIL
  waits of concurrent siblings do not count as I/O), build (the rest of collection: parsing and
  building families) and encode stages.
Targets: read stage <= 2x floor, p99 < 250 ms, peak RSS <= 60 MB. Exit status 1 if one is missed
and --strict is given.
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from exporter.cli import make_collectors
from exporter.collector import Output
from exporter.flags import build_parser
from exporter.logsetup import LOG, RateLimitedLog
from exporter.paths import HostPaths
from exporter.scrape import Scraper
from exporter.simulate import SimParams, SimulatedHost


class IoMeter:
    """Wraps the file-system calls collectors use; sums the time spent inside them."""

    NAMES = ("open", "read", "close", "scandir", "listdir", "readlink", "stat", "lstat")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.files: set[str] = set()
        self.recording = False
        self._lock = threading.Lock()
        self._orig: dict[str, Callable[..., Any]] = {}

    def _wrap(self, fn: Callable[..., Any], is_open: bool) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                with self._lock:
                    self.seconds += dt
                    if is_open and self.recording and args and isinstance(args[0], str):
                        self.files.add(args[0])

        return wrapper

    def install(self) -> None:
        for name in self.NAMES:
            self._orig[name] = getattr(os, name)
            setattr(os, name, self._wrap(self._orig[name], name == "open"))
        self._orig["builtins.open"] = builtins.open
        builtins.open = self._wrap(builtins.open, True)

    def uninstall(self) -> None:
        for name, fn in self._orig.items():
            if name == "builtins.open":
                builtins.open = fn
            else:
                setattr(os, name, fn)
        self._orig.clear()


def read_floor(files: list[str], rounds: int) -> float:
    """Seconds to open/read/close every file once (best of `rounds`)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for path in files:
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.read(fd, 65536)
                finally:
                    os.close(fd)
            except OSError:
                pass
        best = min(best, time.perf_counter() - t0)
    return best


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def scrape_loop(scraper: Scraper, n: int) -> dict[str, Any]:
    """Latency and CPU of full scrapes, collectors concurrent as in the HTTP handler."""
    lat: list[float] = []
    cpu: list[float] = []
    encode_s: list[float] = []
    size = 0
    samples = 0
    for _ in range(n):
        c0 = time.process_time()
        t0 = time.perf_counter()
        items = await scraper.collect()
        t1 = time.perf_counter()
        body = await asyncio.to_thread(scraper.encoder.encode, items, False)
        t2 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        lat.append(t2 - t0)
        encode_s.append(t2 - t1)
        size = len(body)
        # lines that are not comments, counted without splitting the body (the harness must not
        # add the RSS it measures)
        samples = body.count(b"\n") - body.count(b"\n#") - body.startswith(b"#")
        failed = Scraper.failed(items)
        if failed:
            raise SystemExit(f"collectors failed during the benchmark: {failed}")
        del items, body  # not alive while the next scrape runs, as in the HTTP handler
    return {
        "p50_ms": statistics.median(lat) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "cpu_s_per_scrape": statistics.mean(cpu),
        "encode_ms_median": statistics.median(encode_s) * 1e3,
        "body_bytes": size,
        "samples": samples,
    }


async def stage_loop(scraper: Scraper, n: int, meter: IoMeter) -> dict[str, Any]:
    """Read vs build: each collector alone (so that time inside a file-system call is not
    inflated by sibling threads holding the GIL), summed over the collectors of one scrape."""
    read_s: list[float] = []
    build_s: list[float] = []
    for _ in range(n):
        total_read = total = 0.0
        for c in scraper.collectors:
            meter.seconds = 0.0
            t0 = time.perf_counter()
            await c.collect(Output(c.name, scraper.errlog))
            total += time.perf_counter() - t0
            total_read += meter.seconds
        read_s.append(total_read)
        build_s.append(total - total_read)
    return {
        "read_ms_median": statistics.median(read_s) * 1e3,
        "build_ms_median": statistics.median(build_s) * 1e3,
    }


def vm_hwm_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(opts: argparse.Namespace) -> int:
    """Measure in a process of its own, so that RSS is the exporter's, not the simulator's."""
    root = opts.child
    args = build_parser().parse_args(
        [
            f"--path.procfs={root}/proc",
            f"--path.sysfs={root}/sys",
            f"--path.configfs={root}/sys/kernel/config",
            f"--path.kmsg={root}/dev/kmsg",
            *opts.exporter_args,
        ]
    )
    scraper = Scraper(make_collectors(args, build_paths(args)), 30.0, RateLimitedLog(LOG))
    meter = IoMeter()

    async def run() -> dict[str, Any]:
        await scraper.start()
        try:
            meter.install()
            meter.recording = True
            await scraper.collect()  # warm-up; records the file list
            meter.recording = False
            meter.uninstall()  # latency is measured without the meter's wrappers
            res = await scrape_loop(scraper, opts.scrapes)
            meter.install()
            res.update(await stage_loop(scraper, max(5, opts.scrapes // 3), meter))
            meter.uninstall()
            return res
        finally:
            await scraper.stop()

    res = asyncio.run(run())
    files = sorted(meter.files)
    floor = read_floor(files, 5)
    res.update(
        {
            "files_read_per_scrape": len(files),
            "read_floor_ms": floor * 1e3,
            "read_vs_floor": (res["read_ms_median"] / (floor * 1e3)) if floor else 0.0,
            "peak_rss_mb": vm_hwm_mb(),
        }
    )
    print(json.dumps(res))
    return 0


def build_paths(args: argparse.Namespace) -> HostPaths:
    return HostPaths(procfs=args.procfs, sysfs=args.sysfs, configfs=args.configfs, kmsg=args.kmsg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scrapes", type=int, default=30)
    ap.add_argument("--small", action="store_true", help="a small host (quick check)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--child", metavar="ROOT", help=argparse.SUPPRESS)
    ap.add_argument("exporter_args", nargs="*", help="extra exporter flags (after --)")
    opts = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if opts.child:
        return child(opts)

    params = (
        SimParams(ports=2, cpus=8, luns=16, initiators=8, mapped_luns_per_initiator=4)
        if opts.small
        else SimParams(
            ports=8,
            cpus=256,
            numa_nodes=8,
            qpairs=16,
            luns=256,
            initiators=16,
            mapped_luns_per_initiator=32,
        )
    )
    with tempfile.TemporaryDirectory(prefix="fctarget-bench-") as root:
        t0 = time.perf_counter()
        host = SimulatedHost(root, params)
        host.build()
        host.advance(10)
        build_host_s = time.perf_counter() - t0
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            root,
            "--scrapes",
            str(opts.scrapes),
            "--",
            *opts.exporter_args,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 2
        res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    res = {
        "host": {
            "ports": params.ports,
            "cpus": params.cpus,
            "luns": params.luns,
            "initiators": params.initiators * params.ports,
            "mapped_luns_per_initiator": params.mapped_luns_per_initiator,
        },
        "host_build_s": build_host_s,
        **res,
    }
    misses = []
    if res["read_vs_floor"] > 2.0:
        misses.append(f"read stage {res['read_vs_floor']:.2f}x the floor (target <= 2x)")
    if res["p99_ms"] >= 250:
        misses.append(f"p99 {res['p99_ms']:.0f} ms (target < 250 ms)")
    if res["peak_rss_mb"] > 60:
        misses.append(f"peak RSS {res['peak_rss_mb']:.1f} MB (target <= 60 MB)")
    res["missed_targets"] = misses
    if opts.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:28} {v:.3f}" if isinstance(v, float) else f"{k:28} {v}")
    return 1 if (misses and opts.strict) else 0


if __name__ == "__main__":
    raise SystemExit(main())
