"""End to end for the dashboard's fixes: simulated host -> exporter -> real Prometheus, the
dashboard's own expressions (from fctarget.json, variables filled in) over the HTTP API.

Ports (SimParams(ports=3)): 0 = host6 (in service), 1 = host7 (TPG disabled, link down, an ACL
logged out: administratively down), 2 = host8. An iSCSI and a loopback target are added to the
configfs tree (the simulator builds only qla2xxx) so the target variable must list them.

The exporter must serve the "metric names v1" (CHANGELOG). Before the renames are merged here,
run the exporter and simulator of a checkout that has them with this branch's dashboards, e.g.
a directory with symlinks exporter -> /work/main/exporter, dashboards and tests -> this tree:
`cd mix && FCTARGET_E2E_EXPORTER_SRC=/work/main python -m pytest tests/test_e2e_dashboard.py`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dashboards import queries as dq
from dashboards import render
from dashboards.promlab import JOB, Lab, disable_tpg
from exporter.simulate import SimParams, SimulatedHost

PARAMS = SimParams(ports=3, cpus=4, numa_nodes=1, seed=11)
IQN = "iqn.2003-01.org.linux-iscsi.tgt1.x8664:sn.0123456789ab"
NAA = "naa.5001405aaaaaaaaa"
EXPORTER_SRC = os.environ.get("FCTARGET_E2E_EXPORTER_SRC", "")


def add_other_fabrics(h: SimulatedHost) -> None:
    """An enabled iSCSI TPG and a loopback TPG (no `enable`, a `nexus`), both without LUNs."""
    target = Path(h.paths.configfs) / "target"
    iscsi = target / "iscsi" / IQN / "tpgt_1"
    for sub in ("lun", "acls", "param", "attrib"):
        (iscsi / sub).mkdir(parents=True)
    (iscsi / "enable").write_text("1\n")
    (iscsi / "dynamic_sessions").write_bytes(b"\0")
    loop = target / "loopback" / NAA / "tpgt_1"
    (loop / "lun").mkdir(parents=True)
    (loop / "nexus").write_text("naa.5001405bbbbbbbbb\n")


def setup_host(h: SimulatedHost) -> None:
    disable_tpg(h, 1)
    h.link_down(1)
    h.logout(1, 0)  # an ACL of the disabled TPG: not counted
    h.logout(0, 1)  # an ACL of an enabled TPG: counted
    add_other_fabrics(h)


class ExporterFrom(Lab):
    """The lab, with the exporter run from FCTARGET_E2E_EXPORTER_SRC when set."""

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        if name != "exporter" or not EXPORTER_SRC:
            return super()._spawn(name, cmd)
        log = (self.workdir / f"{name}.log").open("wb")
        self._logs.append(log)
        return subprocess.Popen(cmd, cwd=EXPORTER_SRC, stdout=log, stderr=subprocess.STDOUT)


def value(lab: Lab, expr: str, values: dict[str, str]) -> dict[str, float]:
    """{instance or host: value} of an instant query of a dashboard expression."""
    out = {}
    for r in lab.query(dq.expand(expr, values)):
        m = r["metric"]
        out[m.get("host") or m.get("instance", "")] = float(r["value"][1])
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with ExporterFrom(tmp_path_factory.mktemp("dashlab"), PARAMS, setup=setup_host) as running:
        yield running


@pytest.mark.timeout(60)
def test_dashboard_fixes_on_a_real_prometheus(lab: Lab) -> None:
    values = render.default_values(JOB, lab.instance, rate_interval="5s")
    luns = f'fctarget_lio_tpg_luns{{instance="{lab.instance}"}}'
    lab.wait_for(lambda: bool(lab.query(luns)), "LIO metrics (names v1) scraped")
    lab.wait_for(
        lambda: bool(lab.query(f'count_over_time(up{{instance="{lab.instance}"}}[1m]) >= 6')),
        "6 scrapes for the rates",
    )
    w0, w1 = lab.host.port(0).wwpn_colon, lab.host.port(1).wwpn_colon

    # The target variable: LIO targets of every fabric, even with no fc_host metric at all.
    selector, label = dq.label_values(dq.expand(dq.VAR_TARGET, values))
    targets = set(lab.label_values(label, selector))
    assert targets == {w0, w1, lab.host.port(2).wwpn_colon, IQN, NAA}

    # host7 is down with its TPG disabled: not counted; its logged-out ACL neither.
    assert value(lab, dq.LINK_STATE, values)["host7"] == 0
    assert value(lab, dq.FLEET_PORTS_DOWN, values) == {lab.instance: 0}
    assert value(lab, dq.FLEET_NO_SESSION, values) == {lab.instance: 1}
    enabled = {
        r["metric"]["target"]: r["value"][1] for r in lab.query(dq.expand(dq.TPG_ENABLED, values))
    }
    assert enabled == {w0: "1", w1: "0", lab.host.port(2).wwpn_colon: "1", IQN: "1"}

    # Utilisation of the simulated traffic: in (0, 1] for every port with a link.
    for expr, _ in dq.PORT_UTILISATION:
        util = value(lab, expr, values)
        assert set(util) == {"host6", "host8"}, util
        assert all(0 < u < 1 for u in util.values()), util

    # Backstore aborts/resets and FPIN queries run and return series (zero increase).
    for expr in (dq.BACKSTORE_ABORTS, dq.BACKSTORE_RESETS, dq.FPIN_CONGESTION):
        assert lab.query(dq.expand(expr, values)), expr

    # A port in service goes down: counted.
    lab.sim(lambda h: h.link_down(0))
    lab.wait_for(
        lambda: value(lab, dq.FLEET_PORTS_DOWN, values) == {lab.instance: 1},
        "host6 counted as down",
        timeout=15,
    )
