#!/usr/bin/env python3
"""Draw the dashboard's key panels to a PNG (matplotlib), since Grafana cannot run here.

Two ways to get data:

  # from a running Prometheus that scrapes fctarget-exporter (last 15 minutes)
  .venv/bin/python scripts/render-dashboard-png.py --prometheus http://127.0.0.1:9090 \\
      --instance tgt1:19181 --minutes 15 --out dashboard.png

  # or run the local lab (simulated host + exporter + Prometheus with the shipped rules) through
  # the end-to-end test's story: link outage, LIP storm, IRQ skew then rebalance (~70 s)
  .venv/bin/python scripts/render-dashboard-png.py --lab --out docs/images/dashboard-e2e.png

Each subplot runs the dashboard's own query (dashboards/fctarget.json, variables filled in).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import render
from dashboards.promlab import JOB, Lab, disable_tpg
from exporter.simulate import SimParams, SimulatedHost


def lab_story(out: Path) -> int:
    def setup(h: SimulatedHost) -> None:
        h.set_irq_spread("skewed", port=1)  # host7: every vector on one CPU
        h.set_irq_spread("remote_numa", port=2)  # host8: handled on the other node
        disable_tpg(h, 3)  # host9: administratively down
        h.link_down(3)
        h.logout(0, 3)

    with (
        tempfile.TemporaryDirectory(prefix="fctarget-lab-") as tmp,
        Lab(Path(tmp), SimParams(ports=4, cpus=8, seed=3), setup=setup) as lab,
    ):
        print(f"lab: exporter {lab.instance}, Prometheus {lab.prom_url}", flush=True)
        steps = [
            (15, "steady", None),
            (10, "link down host6", lambda h: h.link_down(0)),
            (15, "link up host6", lambda h: h.link_up(0)),
            (15, "12 flaps on host6", lambda h: [h.flap(0) for _ in range(12)]),
            (15, "rebalance host7", lambda h: h.set_irq_spread("balanced", port=1)),
        ]
        for seconds, what, action in steps:
            print(f"  {what} ({seconds} s)", flush=True)
            if action is not None:
                lab.sim(action)
            time.sleep(seconds)
        values = render.default_values(JOB, lab.instance)
        return render.render_png(
            render.prometheus_fetch(lab.prom_url),
            values,
            lab.started_at,
            time.time(),
            out,
            title="fctarget-exporter: key dashboard panels on the simulated host "
            "(link outage, 12 flaps, IRQ skew rebalanced)",
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--prometheus", metavar="URL", help="Prometheus base URL")
    src.add_argument("--lab", action="store_true", help="run the local lab story first")
    ap.add_argument("--instance", help="exporter instance label (with --prometheus)")
    ap.add_argument("--job", default=JOB, help=f"scrape job (default {JOB})")
    ap.add_argument("--minutes", type=float, default=15, help="time range (with --prometheus)")
    ap.add_argument("--out", type=Path, default=Path("dashboard.png"))
    args = ap.parse_args()
    if args.lab:
        drawn = lab_story(args.out)
    else:
        if not args.instance:
            ap.error("--instance is required with --prometheus")
        end = time.time()
        start = end - 60 * args.minutes
        step = max(1.0, round((end - start) / 600))
        drawn = render.render_png(
            render.prometheus_fetch(args.prometheus),
            render.default_values(args.job, args.instance, rate_interval=f"{4 * step:.0f}s"),
            start,
            end,
            args.out,
            step=step,
        )
    print(f"{args.out}: {drawn} series")
    return 0 if drawn else 1


if __name__ == "__main__":
    sys.exit(main())
