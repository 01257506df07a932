"""End to end: the real exporter process on 127.0.0.1 follows a growing kernel log; link flaps
show up in HTTP scrapes."""

from __future__ import annotations

from pathlib import Path

from tests.exporter_proc import http_get, parse_samples, serving

BTIME = 1_700_000_000
P = 'host="host7",pci="0000:83:00.1"'


def rec(seq: int, usec: int, msg: str, prio: int = 4) -> bytes:
    return f"{prio},{seq},{usec},-;{msg}\n".encode()


def scrape(base: str) -> dict[str, float]:
    status, _, body = http_get(base + "/metrics")
    assert status == 200
    return parse_samples(body.decode())


def test_link_flaps_through_http_scrape(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "stat").write_text(f"cpu  1 2 3 4\nbtime {BTIME}\n")
    sysfs = tmp_path / "sys"
    fc = sysfs / "class/fc_host/host7"
    fc.mkdir(parents=True)
    (fc / "port_state").write_text("Online\n")
    kmsg = tmp_path / "kmsg"
    kmsg.write_bytes(
        rec(0, 0, "Linux version 6.1.0-56-amd64", prio=5)
        + rec(1, 9_000_000, "qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (16 Gbps).")
    )
    args = [
        "--collector.disable-defaults",
        "--collector.kmsg",
        f"--path.kmsg={kmsg}",
        f"--path.procfs={proc}",
        f"--path.sysfs={sysfs}",
        "--collector.kmsg.poll-interval=3600",  # only the scrape's catch-up reads new records
    ]
    with serving(args) as (base, _):
        got = scrape(base)
        assert got[f"fctarget_kmsg_link_up{{{P}}}"] == 1
        assert got[f'fctarget_kmsg_link_events_total{{event="loop_up",{P}}}'] == 1
        assert got['fctarget_scrape_collector_success{collector="kmsg"}'] == 1

        # cable pulled: the driver logs LOOP DOWN (fc_host goes Linkdown: not read by kmsg)
        with open(kmsg, "ab") as f:
            f.write(
                rec(2, 20_000_000, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0).")
            )
        (fc / "port_state").write_text("Linkdown\n")
        got = scrape(base)
        assert got[f"fctarget_kmsg_link_up{{{P}}}"] == 0
        assert got[f'fctarget_kmsg_link_events_total{{event="loop_down",{P}}}'] == 1
        assert got[f'fctarget_kmsg_link_last_event_timestamp_seconds{{event="loop_down",{P}}}'] == (
            BTIME + 20
        )

        # back at a lower speed, after a LIP; a forged user-space record is ignored
        with open(kmsg, "ab") as f:
            f.write(rec(3, 21_000_000, "qla2xxx [0000:83:00.1]-5809:7: LIP occurred (f7f7)."))
            f.write(rec(4, 21_500_000, "qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (8 Gbps)."))
            f.write(
                rec(5, 22_000_000, "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected.", prio=12)
            )
        (fc / "port_state").write_text("Online\n")
        got = scrape(base)
        assert got[f"fctarget_kmsg_link_up{{{P}}}"] == 1
        assert got[f'fctarget_kmsg_link_events_total{{event="loop_up",{P}}}'] == 2
        assert got[f'fctarget_kmsg_link_events_total{{event="loop_down",{P}}}'] == 1
        assert got[f'fctarget_kmsg_link_events_total{{event="lip",{P}}}'] == 1
        assert got["fctarget_kmsg_user_records_ignored_total"] == 1
        assert got["fctarget_kmsg_records_total"] == 6
        assert got["fctarget_kmsg_records_lost_total"] == 0


def test_unreadable_log_fails_only_kmsg(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    sysfs = tmp_path / "sys"
    sysfs.mkdir()
    args = [
        f"--path.kmsg={tmp_path / 'missing'}",
        f"--path.procfs={proc}",
        f"--path.sysfs={sysfs}",
    ]
    with serving(args) as (base, _):
        got = scrape(base)
    assert got['fctarget_scrape_collector_success{collector="kmsg"}'] == 0
    assert got["fctarget_kmsg_follower_up"] == 0
    others = [k for k in got if k.startswith("fctarget_scrape_collector_success")]
    assert len(others) >= 2  # the other collectors still ran
