"""The real exporter process on a simulated host, scraped over HTTP on 127.0.0.1.

Values are checked against the simulator's own state (what it wrote into the tree), and the
whole exposition must pass `promtool check metrics` without a word.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import http_get, parse_samples, serving

MIB = 1 << 20


def path_flags(host: SimulatedHost) -> list[str]:
    p = host.paths
    return [
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={p.kmsg}",
    ]


def series(name: str, **labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def test_scrape_matches_simulated_host(tmp_path: Path) -> None:
    host = SimulatedHost(str(tmp_path), SimParams(ports=2, cpus=8, qpairs=2, seed=3))
    host.build()
    host.advance(30)
    with serving(path_flags(host)) as (base, _):
        status, _, body = http_get(base + "/metrics")
    assert status == 200
    text = body.decode()
    got = parse_samples(text)

    for coll in ("interrupts", "hba", "lio", "fc_host", "kmsg"):
        assert got[series("fctarget_scrape_collector_success", collector=coll)] == 1.0, coll
        assert series("fctarget_scrape_collector_duration_seconds", collector=coll) in got

    seen_vectors = 0
    for vec in host.vectors():
        port = host.port(vec.port)
        vector = f"qpair{vec.qpair}" if vec.kind == "qpair" else vec.kind
        for cpu, count in enumerate(vec.counts):
            key = series(
                "fctarget_irq_interrupts_total",
                pci=port.pci,
                host=port.host,
                irq=str(vec.irq),
                vector=vector,
                cpu=str(cpu),
            )
            if count:
                assert got[key] == count
            else:
                assert key not in got  # zero-count CPUs are left out
        seen_vectors += 1
    assert seen_vectors == 2 * (3 + 2)  # default, rsp_q, atio_q + 2 queue pairs per port

    for i in range(2):
        port = host.port(i)
        info = [
            k
            for k in got
            if k.startswith("fctarget_hba_info{") and f'wwpn="{port.wwpn_colon}"' in k
        ]
        assert len(info) == 1
        assert f'pci="{port.pci}"' in info[0]
        assert f'host="{port.host}"' in info[0]
        assert f'numa_node="{port.node}"' in info[0]
        for lun in port.luns:
            cmds, rd, wr = host.expected_lun_totals(i, lun.lun)
            labels = {
                "fabric": "qla2xxx",
                "target": port.wwpn_colon,
                "tpgt": "1",
                "lun": str(lun.lun),
            }
            assert got[series("fctarget_lio_lun_commands_total", **labels)] == cmds
            # the kernel reports whole MiB: bytes >> 20, exported as MiB * 2^20
            assert got[series("fctarget_lio_lun_read_bytes_total", **labels)] == (rd >> 20) * MIB
            assert got[series("fctarget_lio_lun_write_bytes_total", **labels)] == (wr >> 20) * MIB
            assert cmds > 0

    promtool_is_silent(body)


def promtool_is_silent(body: bytes) -> None:
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == b""
    assert check.stderr == b""


def test_demo_serves_joinable_irq_series() -> None:
    with serving(["--demo", "--demo.interval=0.5"]) as (base, proc):
        _, _, body = http_get(base + "/metrics")
        promtool_is_silent(body)  # the full demo scrape, every collector
        first = parse_samples(body.decode())
        assert first['fctarget_scrape_collector_success{collector="lio"}'] == 1
        irq = [k for k in first if k.startswith("fctarget_irq_interrupts_total{")]
        ports = [k for k in first if k.startswith("fctarget_hba_info{")]
        assert irq
        assert ports
        # every IRQ series joins to a port by pci and host
        port_keys = {
            (k.split('pci="')[1].split('"')[0], k.split('host="')[1].split('"')[0]) for k in ports
        }
        for k in irq:
            pci = k.split('pci="')[1].split('"')[0]
            hostname = k.split('host="')[1].split('"')[0]
            assert (pci, hostname) in port_keys
        # the simulated host is live: counters move between scrapes
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(0.5)
            _, _, body = http_get(base + "/metrics")
            later = parse_samples(body.decode())
            if sum(later.get(k, 0) for k in irq) > sum(first[k] for k in irq):
                break
        else:
            raise AssertionError("demo counters did not move")
    assert proc.stdout is not None
