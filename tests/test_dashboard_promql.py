"""The dashboard's fixed queries on synthetic series, evaluated by promtool (`promtool test
rules` with an empty rule file): in-service ports only, ACLs of enabled TPGs only, the target
variable across fabrics (the simulator has only qla2xxx targets), utilisation in [0, 1]."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dashboards import queries as dq

VALUES = {"job": "fctarget", "instance": "h1:19181", "host": ".*", "__rate_interval": "1m"}
H1 = 'job="fctarget", instance="h1:19181"'
ACL = "fctarget_lio_acl_session_active"

W0, W1, W2 = "21:00:00:24:ff:31:4c:48", "21:00:00:24:ff:31:4c:49", "21:00:00:24:ff:31:4c:4a"
IQN = "iqn.2003-01.org.linux-iscsi.tgt1.x8664:sn.0123456789ab"
NAA = "naa.5001405aaaaaaaaa"
SERIES = [
    # host6: down, TPG enabled -> counted; host7: down, TPG disabled; host8: down, no TPG.
    (f'fctarget_fc_host_link_up{{{H1}, host="host6", wwpn="{W0}"}}', "0x5"),
    (f'fctarget_fc_host_link_up{{{H1}, host="host7", wwpn="{W1}"}}', "0x5"),
    (f'fctarget_fc_host_link_up{{{H1}, host="host8", wwpn="{W2}"}}', "0x5"),
    (f'fctarget_lio_tpg_enabled{{{H1}, fabric="qla2xxx", target="{W0}", tpgt="1"}}', "1x5"),
    (f'fctarget_lio_tpg_enabled{{{H1}, fabric="qla2xxx", target="{W1}", tpgt="1"}}', "0x5"),
    (f'fctarget_lio_tpg_enabled{{{H1}, fabric="iscsi", target="{IQN}", tpgt="1"}}', "1x5"),
    (f'fctarget_lio_tpg_luns{{{H1}, fabric="qla2xxx", target="{W0}", tpgt="1"}}', "2x5"),
    (f'fctarget_lio_tpg_luns{{{H1}, fabric="qla2xxx", target="{W1}", tpgt="1"}}', "2x5"),
    (f'fctarget_lio_tpg_luns{{{H1}, fabric="iscsi", target="{IQN}", tpgt="1"}}', "1x5"),
    (f'fctarget_lio_tpg_luns{{{H1}, fabric="loopback", target="{NAA}", tpgt="1"}}', "1x5"),
    # ACLs without a session: on an enabled TPG (counted), a disabled one (not), and on a
    # fabric without tpg_enabled (counted); one with a session.
    (f'{ACL}{{{H1}, fabric="qla2xxx", target="{W0}", tpgt="1", initiator="a"}}', "0x5"),
    (f'{ACL}{{{H1}, fabric="qla2xxx", target="{W1}", tpgt="1", initiator="b"}}', "0x5"),
    (f'{ACL}{{{H1}, fabric="iscsi", target="{IQN}", tpgt="1", initiator="c"}}', "1x5"),
    (f'{ACL}{{{H1}, fabric="tcm_fc", target="{W2}", tpgt="1", initiator="d"}}', "0x5"),
    (f'fctarget_exporter_build_info{{{H1}, version="1"}}', "1x5"),
    ('fctarget_exporter_build_info{job="fctarget", instance="h2:19181", version="1"}', "1x5"),
    # host6: 2e9 B/s link; 1e8 words/s received = 0.2, 5e7 sent = 0.1.
    (f'fctarget_fc_host_speed_bytes_per_second{{{H1}, host="host6", wwpn="{W0}"}}', "2e9x5"),
    (f'fctarget_fc_host_rx_words_total{{{H1}, host="host6", wwpn="{W0}"}}', "0+6e9x5"),
    (f'fctarget_fc_host_tx_words_total{{{H1}, host="host6", wwpn="{W0}"}}', "0+3e9x5"),
]


def expr_test(expr: str, samples: list[tuple[str, float]]) -> dict[str, object]:
    return {
        "expr": dq.expand(expr, VALUES),
        "eval_time": "4m",
        "exp_samples": [{"labels": labels, "value": value} for labels, value in samples],
    }


def test_dashboard_queries_on_synthetic_series(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool missing: scripts/install-system-deps.sh")
    selector, label = dq.label_values(dq.expand(dq.VAR_TARGET, VALUES))
    rx, tx = (expr for expr, _ in dq.PORT_UTILISATION)
    tests = [
        # label_values(selector, target) == the values of `count by (target) (selector)`
        expr_test(
            f"count by ({label}) ({selector})",
            [(f'{{target="{t}"}}', 1) for t in (W0, W1, IQN, NAA)],
        ),
        expr_test(
            dq.FLEET_PORTS_DOWN, [('{instance="h1:19181"}', 1), ('{instance="h2:19181"}', 0)]
        ),
        expr_test(
            dq.FLEET_NO_SESSION, [('{instance="h1:19181"}', 2), ('{instance="h2:19181"}', 0)]
        ),
        expr_test(rx, [(f'{{{H1}, host="host6"}}', 0.2)]),
        expr_test(tx, [(f'{{{H1}, host="host6"}}', 0.1)]),
    ]
    rules = tmp_path / "empty.rules.yml"
    rules.write_text("groups: []\n")
    spec = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in SERIES],
                "promql_expr_test": tests,
            }
        ],
    }
    test_file = tmp_path / "dashboard.test.yml"
    test_file.write_text(json.dumps(spec, indent=1))  # JSON is YAML
    r = subprocess.run(
        [promtool, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
