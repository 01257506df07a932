"""The kmsg collector: emit (snapshot in, families out) and the whole collector on real kernel
log captures, with the qla2xxx ports of a real-layout sysfs tree."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
from pathlib import Path

import pytest

from exporter.catalogue import kmsg as cat
from exporter.collector import CollectorContext, Output
from exporter.collectors.kmsg import KmsgCollector, KmsgOptions, KmsgSnapshot, qla2xxx_ports
from exporter.logsetup import RateLimitedLog
from exporter.parsers.qla2xxx_links import LinksSnapshot, PortLinks
from exporter.paths import HostPaths
from exporter.readers.kmsg import FollowerError, KmsgState
from tests.exporter_proc import parse_samples, run_exporter
from tests.test_kmsg_follow import BTIME, FIX, procfs

LOG = logging.getLogger("test.kmsg")


def qla2xxx_sysfs(root: Path, ports: dict[str, tuple[int, ...]]) -> str:
    """A sysfs tree in the kernel's layout: PCI functions bound to qla2xxx with their hosts."""
    sys = root / "sys"
    drv = sys / "bus/pci/drivers/qla2xxx"
    drv.mkdir(parents=True)
    for pci, hosts in ports.items():
        dev = sys / "devices/pci0000:00/0000:00:03.0" / pci
        dev.mkdir(parents=True)
        (dev / "numa_node").write_text("-1\n")
        for h in hosts:
            (dev / f"host{h}").mkdir()
        (dev / "driver").symlink_to(os.path.relpath(drv, dev))
        (drv / pci).symlink_to(os.path.relpath(dev, drv))
        link = sys / "bus/pci/devices" / pci
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(dev, link.parent))
    return str(sys)


def fixture_file(tmp_path: Path, name: str) -> str:
    """Copy a fixture to tmp_path without its `# Source:` line: a plain `cat /dev/kmsg` file."""
    data = (FIX / name).read_bytes()
    if data.startswith(b"#"):
        data = data.split(b"\n", 1)[1]
    out = tmp_path / name
    out.write_bytes(data)
    return str(out)


def make_collector(tmp_path: Path, kmsg: str, accept_user: bool, sysfs: str) -> KmsgCollector:
    args = argparse.Namespace(
        kmsg_accept_user_records=accept_user, kmsg_poll_interval=0.05, collector_timeout=5.0
    )
    paths = HostPaths(procfs=procfs(tmp_path), sysfs=sysfs, configfs="/nonexistent", kmsg=kmsg)
    return KmsgCollector(CollectorContext(paths, args, LOG, RateLimitedLog(LOG)))


def samples(out: Output) -> dict[str, float]:
    got: dict[str, float] = {}
    for fam in out.families.values():
        for s in fam.metric.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            got[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return got


def collect(c: KmsgCollector) -> tuple[dict[str, float], Output]:
    async def main() -> Output:
        await c.start()
        try:
            out = Output(c.name, RateLimitedLog(LOG))
            await c.collect(out)
            return out
        finally:
            await c.stop()

    out = asyncio.run(main())
    return samples(out), out


P3 = 'host="host3",pci="0000:02:00.0"'


@pytest.mark.parametrize("accept_user", [False, True])
def test_collector_on_real_61_guest_log(tmp_path: Path, accept_user: bool) -> None:
    kmsg = fixture_file(tmp_path, "guest-kmsg-6.1.txt")
    got, out = collect(make_collector(tmp_path, kmsg, accept_user, str(tmp_path / "nosys")))
    assert out.errors == []
    assert got["fctarget_kmsg_records_total"] == 430
    assert got["fctarget_kmsg_records_lost_total"] == 0
    assert got["fctarget_kmsg_malformed_records_total"] == 0
    assert got["fctarget_kmsg_follower_up"] == 1
    if not accept_user:
        # the two qla2xxx lines were echoed from user space (facility 1): not trusted
        assert got["fctarget_kmsg_user_records_ignored_total"] == 2
        assert not any(k.startswith("fctarget_kmsg_link_") for k in got)
        return
    assert got["fctarget_kmsg_user_records_ignored_total"] == 0
    assert got[f'fctarget_kmsg_link_events_total{{event="loop_up",{P3}}}'] == 1
    assert got[f'fctarget_kmsg_link_events_total{{event="loop_down",{P3}}}'] == 1
    assert got[f"fctarget_kmsg_link_up{{{P3}}}"] == 0
    ts = got[f'fctarget_kmsg_link_last_event_timestamp_seconds{{event="loop_down",{P3}}}']
    assert ts == pytest.approx(BTIME + 33.115695)


def old_format_kmsg(tmp_path: Path) -> str:
    """The 2.6.35 dmesg sample turned into kernel records (same text, seq, timestamps)."""
    lines = (FIX / "kmsg-qla2xxx-ubuntuforums-2011-2.6.35-oldformat.txt").read_text().splitlines()
    out = []
    for seq, ln in enumerate(ln for ln in lines if not ln.startswith("#")):
        m = re.match(r"\[\s*(\d+)\.(\d{6})\] ?(.*)$", ln)
        assert m is not None
        usec = int(m.group(1)) * 1_000_000 + int(m.group(2))
        out.append(f"6,{seq},{usec},-;{m.group(3)}\n")
    p = tmp_path / "old.kmsg"
    p.write_text("".join(out))
    return str(p)


def test_collector_old_prefix_resolves_host_from_sysfs(tmp_path: Path) -> None:
    sysfs = qla2xxx_sysfs(tmp_path, {"0000:0c:00.0": (4,), "0000:0c:00.1": (5,)})
    fc = Path(sysfs) / "class/fc_host/host4"
    fc.mkdir(parents=True)
    (fc / "port_state").write_text("Linkdown\n")
    got, out = collect(make_collector(tmp_path, old_format_kmsg(tmp_path), False, sysfs))
    assert out.errors == []
    p4 = 'host="host4",pci="0000:0c:00.0"'
    assert got[f'fctarget_kmsg_link_events_total{{event="lip_reset",{p4}}}'] == 1
    assert got[f'fctarget_kmsg_link_events_total{{event="lip",{p4}}}'] == 1
    assert got[f'fctarget_kmsg_link_events_total{{event="loop_up",{p4}}}'] == 1
    # the kernel log's view only: LOOP UP last (fc_host port_state is the fc_host collector's)
    assert got[f"fctarget_kmsg_link_up{{{p4}}}"] == 1
    assert not any("mismatch" in k or "speed" in k for k in got)
    # the second port never appears in the log: its counters exist at 0, its link_up does not
    p5 = 'host="host5",pci="0000:0c:00.1"'
    for ev in ("lip", "loop_up", "isp_abort"):
        assert got[f'fctarget_kmsg_link_events_total{{event="{ev}",{p5}}}'] == 0
    assert f"fctarget_kmsg_link_up{{{p5}}}" not in got
    ts = got[f'fctarget_kmsg_link_last_event_timestamp_seconds{{event="loop_up",{p4}}}']
    assert ts == pytest.approx(BTIME + 2.280910)
    # 5 qla2xxx lines of 0000:0c:00.1 and 1 of 0000:0c:00.0 (MRK-IOCB) are not link events
    assert got['fctarget_kmsg_qla2xxx_unparsed_records_total{reason="message"}'] == 6
    assert got['fctarget_kmsg_qla2xxx_unparsed_records_total{reason="prefix"}'] == 0


def test_collector_old_prefix_without_sysfs_keeps_series(tmp_path: Path) -> None:
    got, _ = collect(
        make_collector(tmp_path, old_format_kmsg(tmp_path), False, str(tmp_path / "nosys"))
    )
    p = 'host="",pci="0000:0c:00.0"'
    assert got[f"fctarget_kmsg_link_up{{{p}}}"] == 1
    assert got[f'fctarget_kmsg_link_events_total{{event="loop_up",{p}}}'] == 1


def test_collector_reports_failure_when_log_unreadable(tmp_path: Path) -> None:
    got, out = collect(
        make_collector(tmp_path, str(tmp_path / "missing"), False, str(tmp_path / "nosys"))
    )
    assert out.errors == ["kmsg:follower:ENOENT"]
    assert got["fctarget_kmsg_follower_up"] == 0
    assert got["fctarget_kmsg_records_total"] == 0


def test_once_replays_a_saved_file(tmp_path: Path) -> None:
    kmsg = fixture_file(tmp_path, "guest-kmsg-6.1.txt")
    sysfs = tmp_path / "sys"
    sysfs.mkdir()
    r = run_exporter(
        "--once",
        "--collector.disable-defaults",
        "--collector.kmsg",
        "--collector.kmsg.accept-user-records",
        f"--path.kmsg={kmsg}",
        f"--path.procfs={procfs(tmp_path)}",
        f"--path.sysfs={sysfs}",
    )
    assert r.returncode == 0, r.stderr
    got = parse_samples(r.stdout)
    assert got[f'fctarget_kmsg_link_events_total{{event="loop_up",{P3}}}'] == 1
    assert got[f"fctarget_kmsg_link_up{{{P3}}}"] == 0
    assert got['fctarget_scrape_collector_success{collector="kmsg"}'] == 1


def test_once_fails_cleanly_when_log_missing(tmp_path: Path) -> None:
    r = run_exporter(
        "--once",
        "--collector.disable-defaults",
        "--collector.kmsg",
        f"--path.kmsg={tmp_path / 'nope'}",
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "does not exist" in r.stderr
    assert parse_samples(r.stdout)['fctarget_scrape_collector_success{collector="kmsg"}'] == 0


def emitted(snapshot: KmsgSnapshot) -> tuple[list[str], dict[str, float]]:
    out = Output("kmsg", RateLimitedLog(LOG))
    KmsgCollector.emit(snapshot, out)
    return list(out.families), samples(out)


READER = KmsgState(records=40, lost=2, malformed=1, overruns=1, user_ignored=3, up=True, error=None)


def test_emit_maps_the_snapshot_to_catalogue_families() -> None:
    links = LinksSnapshot(
        qla2xxx_records=9,
        unparsed={"prefix": 1, "message": 4, "too_many_ports": 0},
        ports={
            # new prefix: the host is in the log
            ("0000:83:00.1", 7): PortLinks(
                {"loop_up": 2, "lip": 1}, {"loop_up": 5.5, "lip": 4.0}, True
            ),
            # old prefix: the host comes from sysfs
            ("0000:0c:00.0", None): PortLinks({"loop_down": 1}, {"loop_down": 9.0}, False),
            # only a non-link event so far: no link_up
            ("0000:0d:00.0", None): PortLinks({"rscn": 1}, {"rscn": 3.0}, None),
        },
    )
    ports = {"0000:83:00.0": (6,), "0000:83:00.1": (7,), "0000:0c:00.0": (4,)}
    names, got = emitted(KmsgSnapshot(READER, links, ports))
    assert names == [
        cat.LINK_EVENTS.name,
        cat.LINK_LAST_EVENT_TIMESTAMP.name,
        cat.LINK_UP.name,
        cat.RECORDS.name,
        cat.RECORDS_LOST.name,
        cat.OVERRUNS.name,
        cat.MALFORMED_RECORDS.name,
        cat.USER_RECORDS_IGNORED.name,
        cat.QLA2XXX_RECORDS.name,
        cat.QLA2XXX_UNPARSED_RECORDS.name,
        cat.FOLLOWER_UP.name,
    ]
    ev = "fctarget_kmsg_link_events_total"
    p7 = 'host="host7",pci="0000:83:00.1"'
    p4 = 'host="host4",pci="0000:0c:00.0"'
    pd = 'host="",pci="0000:0d:00.0"'
    p6 = 'host="host6",pci="0000:83:00.0"'
    assert sum(1 for k in got if k.startswith(ev + "{")) == 4 * 12  # every event of 4 ports
    assert got[f'{ev}{{event="loop_up",{p7}}}'] == 2
    assert got[f'{ev}{{event="lip",{p7}}}'] == 1
    assert got[f'{ev}{{event="loop_down",{p7}}}'] == 0
    assert got[f'{ev}{{event="loop_down",{p4}}}'] == 1
    assert got[f'{ev}{{event="rscn",{pd}}}'] == 1
    assert got[f'{ev}{{event="loop_up",{p6}}}'] == 0  # silent in the log, known to sysfs
    ts = "fctarget_kmsg_link_last_event_timestamp_seconds"
    assert {k: v for k, v in got.items() if k.startswith(ts)} == {
        f'{ts}{{event="loop_down",{p4}}}': 9.0,
        f'{ts}{{event="lip",{p7}}}': 4.0,
        f'{ts}{{event="loop_up",{p7}}}': 5.5,
        f'{ts}{{event="rscn",{pd}}}': 3.0,
    }
    up = "fctarget_kmsg_link_up"
    assert {k: v for k, v in got.items() if k.startswith(up)} == {
        f"{up}{{{p4}}}": 0.0,
        f"{up}{{{p7}}}": 1.0,
    }
    assert got["fctarget_kmsg_records_total"] == 40
    assert got["fctarget_kmsg_records_lost_total"] == 2
    assert got["fctarget_kmsg_overruns_total"] == 1
    assert got["fctarget_kmsg_malformed_records_total"] == 1
    assert got["fctarget_kmsg_user_records_ignored_total"] == 3
    assert got["fctarget_kmsg_qla2xxx_records_total"] == 9
    un = "fctarget_kmsg_qla2xxx_unparsed_records_total"
    assert got[f'{un}{{reason="prefix"}}'] == 1
    assert got[f'{un}{{reason="message"}}'] == 4
    assert got[f'{un}{{reason="too_many_ports"}}'] == 0
    assert got["fctarget_kmsg_follower_up"] == 1


def test_emit_follower_down_and_empty_log() -> None:
    reader = KmsgState(0, 0, 0, 0, 0, up=False, error=FollowerError("ENOENT", "gone"))
    links = LinksSnapshot(0, {"prefix": 0, "message": 0, "too_many_ports": 0}, {})
    _, got = emitted(KmsgSnapshot(reader, links, {}))
    assert got["fctarget_kmsg_follower_up"] == 0
    assert not any(k.startswith("fctarget_kmsg_link_") for k in got)


def test_qla2xxx_ports_from_a_real_layout_tree(tmp_path: Path) -> None:
    sysfs = qla2xxx_sysfs(
        tmp_path, {"0000:83:00.0": (6,), "0000:83:00.1": (8, 7), "0000:84:00.0": ()}
    )
    paths = HostPaths(procfs=str(tmp_path / "proc"), sysfs=sysfs, configfs="/nonexistent")
    # 0000:84:00.0 is bound to qla2xxx but has no SCSI host yet: no port to count events for.
    assert qla2xxx_ports(paths) == {"0000:83:00.0": (6,), "0000:83:00.1": (7, 8)}


def test_options_defaults_are_the_flag_defaults() -> None:
    from exporter.flags import build_parser

    args = build_parser().parse_args([])
    assert KmsgOptions.from_args(args) == KmsgOptions()
    args = build_parser().parse_args(
        ["--collector.kmsg.accept-user-records", "--collector.kmsg.poll-interval=0.001"]
    )
    assert KmsgOptions.from_args(args) == KmsgOptions(accept_user_records=True, poll_interval=0.01)


def test_first_scrape_reads_the_backlog_at_full_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scrape-time back-off (readers/kmsg_pace.py) must not apply while the first scrape
    # waits for the records present at start: `--once` would wait for the back-off instead.
    from exporter.readers import kmsg_pace

    monkeypatch.setattr(kmsg_pace, "SCRAPE_PAUSE", 5.0)
    lines = [f"6,{seq},{seq * 1000},-;record {seq}\n" for seq in range(20000)]
    log = tmp_path / "kmsg.txt"
    log.write_text("".join(lines))
    got, out = collect(make_collector(tmp_path, str(log), False, str(tmp_path / "nosys")))
    assert out.errors == []
    assert got["fctarget_kmsg_records_total"] == 20000
