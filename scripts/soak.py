"""Soak: the real exporter server scraped for N minutes while the simulated host moves and a
flood of qla2xxx link events pours into its kmsg FIFO. Asserts that RSS, open fds and threads
stay flat (the last quarter's mean against the first quarter's, with a tolerance) and prints
the numbers.

    python scripts/soak.py --minutes 30     (make soak; not part of make test)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import http_get, parse_samples, serving

RSS_TOLERANCE = 0.10  # last quarter may be 10% (and at least 4 MiB) above the first
RSS_SLACK_KB = 4096
COUNT_TOLERANCE = 2  # fds and threads: a worker thread or socket more or less


def proc_stats(pid: int) -> tuple[int, int, int]:
    """(RSS in KiB, open fds, threads) of `pid` from /proc."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads


def flood(fifo: str, pcis: list[str], stop: threading.Event, rate: float) -> int:
    """Write qla2xxx link events into `fifo` at about `rate` records/s; returns how many."""
    texts = ("LIP occurred (f7f7).", "LOOP DOWN detected (2 7 0 0).", "LOOP UP detected (16 Gbps).")
    seq = 1_000_000
    with open(fifo, "wb", buffering=0) as f:
        while not stop.is_set():
            batch = []
            for _ in range(int(rate / 10)):
                pci = pcis[seq % len(pcis)]
                text = texts[seq % len(texts)]
                usec = int(time.monotonic() * 1e6)
                batch.append(f"4,{seq},{usec},-;qla2xxx [{pci}]-500a:6: {text}\n".encode())
                seq += 1
            f.write(b"".join(batch))
            time.sleep(0.1)
    return seq - 1_000_000


def quarter_means(samples: list[tuple[int, int, int]]) -> tuple[list[float], list[float]]:
    q = max(1, len(samples) // 4)
    first = [statistics.mean(s[i] for s in samples[:q]) for i in range(3)]
    last = [statistics.mean(s[i] for s in samples[-q:]) for i in range(3)]
    return first, last


class _Run:
    """What the scrape loop saw."""

    def __init__(self) -> None:
        self.samples: list[tuple[int, int, int]] = []
        self.scrape_times: list[float] = []
        self.failures = 0
        self.last: dict[str, float] = {}


def _scrape_loop(base: str, pid: int, sim: SimulatedHost, opts: argparse.Namespace) -> _Run:
    run = _Run()
    deadline = time.monotonic() + opts.minutes * 60
    n = 0
    while time.monotonic() < deadline:
        sim.advance(opts.interval)
        if n % 30 == 0:
            sim.flap(n // 30 % len(sim.ports))
        start = time.monotonic()
        status, _, body = http_get(base + "/metrics", timeout=30)
        run.scrape_times.append(time.monotonic() - start)
        if status != 200:
            run.failures += 1
        else:
            run.last = parse_samples(body.decode())
            run.failures += sum(
                1
                for k, v in run.last.items()
                if k.startswith("fctarget_scrape_collector_success") and v != 1.0
            )
        run.samples.append(proc_stats(pid))
        n += 1
        time.sleep(max(0.0, opts.interval - (time.monotonic() - start)))
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes")
    ap.add_argument("--rate", type=float, default=500.0, help="link-event records per second")
    opts = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="fctarget-soak-")
    sim = SimulatedHost(os.path.join(tmp, "host"), SimParams(ports=4, luns=16, initiators=8))
    sim.build()
    fifo = os.path.join(tmp, "kmsg.fifo")
    os.mkfifo(fifo)
    p = sim.paths
    args = [
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={fifo}",
        "--collector.fc_host.stats-min-interval=0",
    ]
    stop = threading.Event()
    sent: list[int] = []
    pcis = sorted({port.pci for port in sim.ports})
    writer = threading.Thread(
        target=lambda: sent.append(flood(fifo, pcis, stop, opts.rate)), daemon=True
    )
    with serving(args) as (base, proc):
        writer.start()
        run = _scrape_loop(base, proc.pid, sim, opts)
        stop.set()
    writer.join(5)
    shutil.rmtree(tmp, ignore_errors=True)

    samples, scrape_times, failures = run.samples, run.scrape_times, run.failures
    events = run.last.get("fctarget_kmsg_qla2xxx_records_total", float("nan"))
    first, last = quarter_means(samples)
    print(f"soak: {opts.minutes:g} min, {len(samples)} scrapes every {opts.interval:g} s")
    print(f"  link events written: {sent[0] if sent else 'n/a'} (~{opts.rate:g}/s)")
    print(f"  qla2xxx records counted by the exporter: {events}")
    print(
        f"  scrape seconds: median {statistics.median(scrape_times):.3f}, "
        f"max {max(scrape_times):.3f}; non-200 or failed collectors: {failures}"
    )
    names = ("RSS KiB", "open fds", "threads")
    for name, a, b in zip(names, first, last, strict=True):
        print(f"  {name:9s} first quarter {a:10.1f}   last quarter {b:10.1f}")
    rss_ok = last[0] <= max(first[0] * (1 + RSS_TOLERANCE), first[0] + RSS_SLACK_KB)
    fds_ok = last[1] <= first[1] + COUNT_TOLERANCE
    threads_ok = last[2] <= first[2] + COUNT_TOLERANCE
    verdict = rss_ok and fds_ok and threads_ok and failures == 0
    print(
        f"  flat RSS {rss_ok}, fds {fds_ok}, threads {threads_ok}: {'PASS' if verdict else 'FAIL'}"
    )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
