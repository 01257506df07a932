"""End to end: simulated host -> real exporter -> real Prometheus (Debian's) with the shipped
rules, scrape and evaluation every second; the simulator is driven through a link outage, a LIP
storm of flaps and an IRQ rebalance, and everything is checked over Prometheus' HTTP API.

The shipped rules are loaded unchanged. Alerts with a long `for:` (link down 1m, IRQ 5m, no
session 10m) are checked going pending and back to inactive; alerts without `for:` (flapping,
LIP storm) firing. Every query of the dashboard must return data at the end.

Ports of the simulated host (SimParams(ports=4)): 0 = host6 (balanced interrupts, flapped),
1 = host7 (interrupts skewed on one CPU, then rebalanced), 2 = host8 (interrupts on the other
NUMA node), 3 = host9 (TPG disabled and link down: administratively down).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from dashboards import queries as dq
from dashboards import render
from dashboards.promlab import JOB, Lab, disable_tpg
from exporter.simulate import SimParams, SimulatedHost
from tests.test_dashboard import load as load_dashboard

PARAMS = SimParams(ports=4, cpus=8, numa_nodes=2, seed=3)
FLAPS = 12  # > the LIP storm threshold (10 in 5m) and the flapping one (3 in 15m)


def setup_host(h: SimulatedHost) -> None:
    h.set_irq_spread("skewed", port=1)
    h.set_irq_spread("remote_numa", port=2)
    disable_tpg(h, 3)
    h.link_down(3)
    h.logout(0, 3)


def alerts_of(lab: Lab, name: str) -> dict[str, str]:
    """{host or initiator: state} of one alert."""
    out = {}
    for a in lab.alerts():
        labels: dict[str, str] = a["labels"]
        if labels["alertname"] == name:
            out[labels.get("host") or labels.get("initiator") or ""] = a["state"]
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with Lab(tmp_path_factory.mktemp("lab"), PARAMS, setup=setup_host) as running:
        yield running


@pytest.mark.timeout(180)
def test_alerts_dashboard_and_png_on_a_real_prometheus(lab: Lab, tmp_path: Path) -> None:
    t_start = time.monotonic()
    hosts = [p.host for p in lab.host.ports]
    assert hosts == ["host6", "host7", "host8", "host9"]
    port0 = lab.host.port(0)

    # -- 1. steady state: skew, remote NUMA and the logged-out initiator go pending ----------
    lab.wait_for(
        lambda: alerts_of(lab, "FCTargetIRQImbalance").get("host7") == "pending",
        "FCTargetIRQImbalance pending for the skewed port host7",
    )
    lab.wait_for(
        lambda: alerts_of(lab, "FCTargetIRQRemoteNUMA").get("host8") == "pending",
        "FCTargetIRQRemoteNUMA pending for host8",
    )
    logged_out = lab.sim(lambda h: _initiator_name(h, 0, 3))
    lab.wait_for(
        lambda: alerts_of(lab, "FCTargetInitiatorNoSession").get(logged_out) == "pending",
        "FCTargetInitiatorNoSession pending for the logged-out initiator",
    )
    # balanced ports and the administratively disabled port stay quiet
    assert "host6" not in alerts_of(lab, "FCTargetIRQImbalance")
    assert set(alerts_of(lab, "FCTargetIRQRemoteNUMA")) == {"host8"}
    assert alerts_of(lab, "FCTargetPortLinkDown") == {}  # host9 is down but its TPG disabled
    assert (
        lab.query(f'fctarget_fc_port_up{{host="host9",instance="{lab.instance}"}}')[0]["value"][1]
        == "0"
    )
    assert alerts_of(lab, "FCTargetPortNotInTargetMode") == {}
    assert alerts_of(lab, "FCTargetExporterAbsent") == {}
    assert alerts_of(lab, "FCTargetCollectorFailing") == {}
    assert [r for r in lab.rule_health() if r[1] != "ok"] == []

    # -- 2. link down on port 0: pending (for: 1m), sessions of that port do not page --------
    lab.sim(lambda h: h.link_down(0))
    lab.wait_for(
        lambda: alerts_of(lab, "FCTargetPortLinkDown") == {"host6": "pending"},
        "FCTargetPortLinkDown pending for host6 only",
    )
    labels = next(
        a["labels"] for a in lab.alerts() if a["labels"]["alertname"] == "FCTargetPortLinkDown"
    )
    assert labels["wwpn"] == port0.wwpn_colon and labels["severity"] == "critical"
    lab.wait_for(
        lambda: alerts_of(lab, "FCTargetInitiatorNoSession") == {},
        "no FCTargetInitiatorNoSession while the port is down",
    )
    lab.sim(lambda h: h.link_up(0))
    lab.wait_for(
        lambda: "host6" not in alerts_of(lab, "FCTargetPortLinkDown"),
        "FCTargetPortLinkDown resolved after link up",
    )

    # -- 3. a storm of flaps on port 0, one flap on port 2 ------------------------------------
    for _ in range(FLAPS):
        lab.sim(lambda h: h.flap(0))
    lab.sim(lambda h: h.flap(2))
    lab.wait_for(
        lambda: alerts_of(lab, "FCTargetPortLinkFlapping").get("host6") == "firing",
        "FCTargetPortLinkFlapping firing for host6",
    )
    lab.wait_for(
        lambda: alerts_of(lab, "FCTargetPortLIPStorm").get("host6") == "firing",
        "FCTargetPortLIPStorm firing for host6",
    )
    assert set(alerts_of(lab, "FCTargetPortLinkFlapping")) == {"host6"}  # host8: one flap
    assert set(alerts_of(lab, "FCTargetPortLIPStorm")) == {"host6"}

    # -- 4. rebalance port 1: the imbalance resolves ------------------------------------------
    lab.sim(lambda h: h.set_irq_spread("balanced", port=1))
    took = lab.wait_for(
        lambda: "host7" not in alerts_of(lab, "FCTargetIRQImbalance"),
        "FCTargetIRQImbalance resolved after rebalancing host7",
        timeout=45,
    )
    assert took > 1  # the 5m window still held the skew for a while

    # -- 5. every dashboard query returns data --------------------------------------------
    dashboard = load_dashboard()
    values = render.default_values(JOB, lab.instance)
    end = time.time()
    start = lab.started_at
    empty = []
    for q in dq.queries(dashboard):
        if q.kind == "variable":
            selector, label = dq.label_values(dq.expand(q.expr, values))
            if not lab.label_values(label, selector):
                empty.append(f"variable {q.where}: {selector}")
            continue
        expr = dq.expand(q.expr, values)
        if not lab.query_range(expr, start, end, 1.0):
            empty.append(f"{q.where}: {expr}")
    assert empty == []
    # the recording rules have data too
    for name, health, err in lab.rule_health():
        if ":" in name:
            assert lab.query(name), name
        assert health == "ok", (name, err)

    # -- 6. the PNG of the key panels ----------------------------------------------------
    png = tmp_path / "dashboard.png"
    drawn = render.render_png(render.prometheus_fetch(lab.prom_url), values, start, end, png)
    assert drawn >= 20
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000

    # -- 7. exporter gone: FCTargetExporterDown goes pending ----------------------------------
    lab.stop_exporter()
    lab.wait_for(
        lambda: alerts_of(lab, "FCTargetExporterDown").get("") == "pending",
        "FCTargetExporterDown pending after the exporter stopped",
    )
    assert time.monotonic() - t_start < 150


def _initiator_name(h: SimulatedHost, port: int, initiator: int) -> str:
    return h.acl(port, initiator).name
