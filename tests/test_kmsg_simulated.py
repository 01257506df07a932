"""End to end on the simulated FC target host: its link flaps, appended to <root>/dev/kmsg as
kernel records, show up in HTTP scrapes of the real exporter process (all collectors on)."""

from __future__ import annotations

from pathlib import Path

from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import http_get, parse_samples, serving


def scrape(base: str) -> dict[str, float]:
    status, _, body = http_get(base + "/metrics")
    assert status == 200
    return parse_samples(body.decode())


def test_simulated_flaps_through_http(tmp_path: Path) -> None:
    sim = SimulatedHost(str(tmp_path / "host"), SimParams(ports=2))
    sim.build()
    p = sim.paths
    args = [
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={p.kmsg}",
        "--collector.kmsg.poll-interval=3600",  # only the scrape's catch-up reads new records
    ]
    ports = [sim.port(i) for i in range(2)]
    labels = [f'host="{pt.host}",pci="{pt.pci}"' for pt in ports]
    with serving(args) as (base, _):
        got = scrape(base)
        assert got['fctarget_scrape_collector_success{collector="kmsg"}'] == 1
        for pt, lab in zip(ports, labels, strict=True):
            # boot: one LOOP UP per port at its configured speed
            assert got[f'fctarget_kmsg_link_events_total{{event="loop_up",{lab}}}'] == 1
            # counters of events not seen yet exist at 0, so increase() sees the first one
            assert got[f'fctarget_kmsg_link_events_total{{event="loop_down",{lab}}}'] == 0
            assert got[f'fctarget_kmsg_link_events_total{{event="isp_abort",{lab}}}'] == 0
            assert got[f"fctarget_kmsg_link_up{{{lab}}}"] == 1
            # the exporter's link labels join the hba collector's port identity
            info = [k for k in got if k.startswith("fctarget_hba_info{")]
            assert any(f'pci="{pt.pci}"' in k and f'host="{pt.host}"' in k for k in info)

        sim.link_down(0)
        got = scrape(base)
        assert got[f"fctarget_kmsg_link_up{{{labels[0]}}}"] == 0
        assert got[f"fctarget_kmsg_link_up{{{labels[1]}}}"] == 1
        assert got[f'fctarget_kmsg_link_events_total{{event="loop_down",{labels[0]}}}'] == 1

        sim.link_up(0)
        sim.flap(1)
        got = scrape(base)
        for lab in labels:
            assert got[f"fctarget_kmsg_link_up{{{lab}}}"] == 1
            assert got[f'fctarget_kmsg_link_events_total{{event="loop_up",{lab}}}'] == 2
            assert got[f'fctarget_kmsg_link_events_total{{event="loop_down",{lab}}}'] == 1
        assert got["fctarget_kmsg_records_lost_total"] == 0
        assert got["fctarget_kmsg_user_records_ignored_total"] == 0
        assert got['fctarget_scrape_collector_success{collector="kmsg"}'] == 1


def test_ports_silent_in_the_log_have_zero_counters(tmp_path: Path) -> None:
    sim = SimulatedHost(str(tmp_path / "host"), SimParams(ports=2))
    sim.build()
    open(sim.paths.kmsg, "w").close()  # a log with no qla2xxx record at all
    sim.link_down(1)  # appends LOOP DOWN for port 1 only
    p = sim.paths
    r_args = [
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={p.kmsg}",
    ]
    with serving(r_args) as (base, _):
        got = scrape(base)
    quiet, down = sim.port(0), sim.port(1)
    q = f'host="{quiet.host}",pci="{quiet.pci}"'
    d = f'host="{down.host}",pci="{down.pci}"'
    for ev in ("lip", "loop_up", "loop_down", "link_down", "isp_abort"):
        assert got[f'fctarget_kmsg_link_events_total{{event="{ev}",{q}}}'] == 0
    assert got[f'fctarget_kmsg_link_events_total{{event="loop_down",{d}}}'] == 1
    assert f"fctarget_kmsg_link_up{{{q}}}" not in got  # the log has not said (fc_host has)
    assert got[f"fctarget_kmsg_link_up{{{d}}}"] == 0
    assert not any(
        k.startswith("fctarget_kmsg_link_last_event_timestamp_seconds{") and q in k for k in got
    )
