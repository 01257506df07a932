"""The fc_host collector on real-layout sysfs trees built in tmp_path."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter import fsread
from exporter.collector import CollectorContext, Output
from exporter.collectors.fc_host import FcHostCollector
from exporter.encode import Encoder
from exporter.logsetup import RateLimitedLog
from exporter.parsers.pci import bdf_above_host
from exporter.paths import HostPaths
from tests.collect_helpers import Key, samples

LOG = logging.getLogger("test.fc_host")
FIXTURES = Path(__file__).parent / "fixtures" / "fc_host"
TWO_PORTS = FIXTURES / "qle2672-two-ports.txt"

DEV7 = "devices/pci0000:80/0000:80:03.0/0000:83:00.1/host7"
DEV6 = "devices/pci0000:80/0000:80:03.0/0000:83:00.0/host6"
FC7 = f"{DEV7}/fc_host/host7"
FC6 = f"{DEV6}/fc_host/host6"
SCSI7 = f"{DEV7}/scsi_host/host7"
WWPN7 = "21:00:00:24:ff:31:4c:48"
WWPN6 = "21:00:00:24:ff:31:4c:49"
L7 = {"pci": "0000:83:00.1", "host": "host7", "wwpn": WWPN7}
L6 = {"pci": "0000:83:00.0", "host": "host6", "wwpn": WWPN6}
ALL_ONES = "0xffffffffffffffff"


# ------------------------------------------------------------------------- fixture trees


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m.group(1)], s)


def load_fixture(path: Path) -> dict[str, str]:
    """`path<TAB>content` lines; content keeps its escapes (`-> x` = symlink)."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        rel, _, content = line.partition("\t")
        out[rel] = content
    return out


def build_tree(root: Path, entries: dict[str, str]) -> HostPaths:
    sysfs = root / "sys"
    for rel, content in entries.items():
        full = sysfs / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith("-> "):
            full.symlink_to(content[3:])
        elif content == "<write-only>":
            full.write_bytes(b"")
            full.chmod(0o200)
        else:
            full.write_text(_unescape(content))
    return HostPaths(
        procfs=str(root / "proc"),
        sysfs=str(sysfs),
        configfs=str(sysfs / "kernel" / "config"),
        kmsg=str(root / "kmsg"),
    )


@pytest.fixture
def entries() -> dict[str, str]:
    return load_fixture(TWO_PORTS)


@pytest.fixture
def tree(tmp_path: Path, entries: dict[str, str]) -> HostPaths:
    return build_tree(tmp_path, entries)


def make(paths: HostPaths, interval: float = 0.0) -> FcHostCollector:
    args = argparse.Namespace(fc_host_stats_min_interval=interval)
    return FcHostCollector(CollectorContext(paths, args, LOG, RateLimitedLog(LOG)))


def scrape(c: FcHostCollector) -> Output:
    out = Output("fc_host", RateLimitedLog(LOG))
    c.collect_blocking(out)
    return out


def value(out: Output, name: str, labels: dict[str, str]) -> float | None:
    return samples(out).get((name, frozenset(labels.items())))


def series(out: Output, name: str) -> list[dict[str, str]]:
    return [dict(lbl) for (n, lbl) in samples(out) if n == name]


def stats_of(entries: dict[str, str], fc_dir: str) -> dict[str, str]:
    prefix = f"{fc_dir}/statistics/"
    return {k.removeprefix(prefix): v for k, v in entries.items() if k.startswith(prefix)}


# ------------------------------------------------------------------------- the whole fixture


def test_identity_labels(tree: HostPaths) -> None:
    out = scrape(make(tree))
    assert out.errors == []
    info = sorted(series(out, "fctarget_fc_host_info"), key=lambda d: d["host"])
    assert info == [
        {
            **L6,
            "wwnn": "20:00:00:24:ff:31:4c:49",
            "symbolic_name": "QLE2672 FW:v8.07.12 DVR:v10.02.07.900-k",
            "system_hostname": "",  # no such file in this capture: empty, no error
            "supported_speeds": "4 Gbit, 8 Gbit, 16 Gbit",
            "supported_classes": "Class 3",
            "tgtid_bind_type": "wwpn",  # "wwpn (World Wide Port Name)"
        },
        {
            **L7,
            "wwnn": "20:00:00:24:ff:31:4c:48",
            "symbolic_name": "QLE2672 FW:v8.07.12 DVR:v10.02.07.900-k",
            "system_hostname": "",  # no such file in this capture: empty, no error
            "supported_speeds": "4 Gbit, 8 Gbit, 16 Gbit",
            "supported_classes": "Class 3",
            "tgtid_bind_type": "wwpn",  # "wwpn (World Wide Port Name)"
        },
    ]
    assert value(out, "fctarget_fc_host_port_id", L7) == 0x010200
    assert value(out, "fctarget_fc_host_port_id", L6) == 0  # not logged in
    # only the Online port has a fabric; host6 (Linkdown, fabric_name all ones) has none
    assert series(out, "fctarget_fc_host_fabric_info") == [
        {
            **L7,
            "fabric_name": "10:00:00:05:1e:0a:5b:01",
            "port_type": "NPort (fabric via point-to-point)",
        }
    ]
    assert value(out, "fctarget_fc_host_info", info[1]) == 1
    adapter = {
        **L7,
        "driver": "qla2xxx",
        "model": "QLE2672",
        "model_description": "QLogic 16Gb 2-port FC to PCIe Gen3 x8 Adapter",
        "serial_number": "RFD1419K12345",
        "firmware_version": "8.07.12 (d0d5)",
        "driver_version": "10.02.07.900-k",
    }
    assert value(out, "fctarget_fc_host_adapter_info", adapter) == 1


def test_state_speed_and_link(tree: HostPaths) -> None:
    out = scrape(make(tree))
    assert value(out, "fctarget_fc_host_link_up", L7) == 1
    assert value(out, "fctarget_fc_host_link_up", L6) == 0
    states7 = {
        d["state"]: value(out, "fctarget_fc_host_port_state", d)
        for d in series(out, "fctarget_fc_host_port_state")
        if d["host"] == "host7"
    }
    assert len(states7) == 12  # every state scsi_transport_fc.c defines, so none is missed
    assert states7["Online"] == 1
    assert sum(v or 0 for v in states7.values()) == 1
    assert value(out, "fctarget_fc_host_port_state", {**L6, "state": "Linkdown"}) == 1
    assert value(out, "fctarget_fc_host_port_state", {**L6, "state": "Online"}) == 0
    assert value(out, "fctarget_fc_host_speed_bytes_per_second", L7) == 2e9
    assert value(out, "fctarget_fc_host_speed_bytes_per_second", L6) is None  # "unknown"
    topology7 = {
        d["topology"]: value(out, "fctarget_fc_host_topology", d)
        for d in series(out, "fctarget_fc_host_topology")
        if d["host"] == "host7"
    }
    assert topology7 == {"Loop": 0, "FL_Port": 0, "N_Port to N_Port": 0, "F_Port": 1}
    # host6 is "Link Down": no topology series at all
    assert [d for d in series(out, "fctarget_fc_host_topology") if d["host"] == "host6"] == []
    assert value(out, "fctarget_fc_host_isp_aborts_total", L7) == 3
    assert value(out, "fctarget_fc_host_isp_aborts_total", L6) == 0
    assert value(out, "fctarget_fc_host_target_mode_active", L7) == 1
    assert value(out, "fctarget_fc_host_initiator_mode_active", L7) == 0
    assert value(out, "fctarget_fc_host_dev_loss_tmo_seconds", L7) == 30
    assert value(out, "fctarget_fc_host_npiv_vports_max", L7) == 254
    assert value(out, "fctarget_fc_host_npiv_vports_inuse", L7) == 0
    assert value(out, "fctarget_fc_host_qlini_mode_info", {"mode": "disabled"}) == 1
    assert value(out, "fctarget_fc_host_qlini_mode_allows_target", {}) == 1


def _expected_metric(name: str) -> tuple[str, float]:
    """The documented naming rule, written out independently of the code under test."""
    if name == "seconds_since_last_reset":
        return "fctarget_fc_host_stats_reset_age_seconds", 1.0
    if name.endswith("_megabytes"):
        return "fctarget_fc_host_" + name[: -len("_megabytes")] + "_bytes_total", 2.0**20
    if name.endswith("_count"):
        name = name[: -len("_count")]
    return "fctarget_fc_host_" + name + "_total", 1.0


def test_every_statistics_file(tree: HostPaths, entries: dict[str, str]) -> None:
    out = scrape(make(tree))
    got = samples(out)
    stats = stats_of(entries, FC7)
    expected: dict[Key, float] = {}
    for name, raw in stats.items():
        if name == "reset_statistics" or raw == ALL_ONES + "\\n":
            continue
        metric, scale = _expected_metric(name)
        expected[(metric, frozenset(L7.items()))] = int(raw.removesuffix("\\n"), 16) * scale
    have = {
        k: v
        for k, v in got.items()
        if k[0].startswith("fctarget_fc_host_")
        and dict(k[1]).get("host") == "host7"
        and k[0] in {e[0] for e in expected}
    }
    assert have == expected
    # spot checks against the fixture text
    assert value(out, "fctarget_fc_host_lip_total", L7) == 4
    assert value(out, "fctarget_fc_host_tx_words_total", L7) == 0x2F1E0A5B6
    assert value(out, "fctarget_fc_host_fcp_input_bytes_total", L7) == 2 * 1048576
    assert value(out, "fctarget_fc_host_stats_reset_age_seconds", L7) == 0x4B2F1
    assert value(out, "fctarget_fc_host_fpin_li_link_failure_total", L7) == 2
    # all ones = not filled by qla2xxx: omitted, never 1.8e19
    assert value(out, "fctarget_fc_host_fc_xid_busy_total", L7) is None
    assert value(out, "fctarget_fc_host_cn_sig_warn_total", L7) is None
    assert all(v < 2**64 - 1 for v in got.values())
    assert value(out, "fctarget_fc_host_stats_age_seconds", L7) == 0


def test_all_ones_snapshot_when_chip_down(tree: HostPaths) -> None:
    out = scrape(make(tree))
    host6 = [n for (n, lbl) in samples(out) if dict(lbl).get("host") == "host6"]
    stat_names = {n for n in host6 if n.endswith("_total") and "isp_aborts" not in n}
    assert stat_names == set()
    assert value(out, "fctarget_fc_host_stats_reset_age_seconds", L6) is None
    # the snapshot was taken: its age is there, so "no counters" reads as "not available"
    assert value(out, "fctarget_fc_host_stats_age_seconds", L6) == 0
    assert out.errors == []


def test_unknown_statistics_file_is_exported(tmp_path: Path, entries: dict[str, str]) -> None:
    entries[f"{FC7}/statistics/fc_future_widget_count"] = "0x2a\\n"
    out = scrape(make(build_tree(tmp_path, entries)))
    other = {**L7, "file": "fc_future_widget_count"}
    assert value(out, "fctarget_fc_host_other_statistic_total", other) == 42
    assert series(out, "fctarget_fc_host_other_statistic_total") == [other]
    assert out.errors == []


def test_exposition_and_help(tree: HostPaths) -> None:
    text = Encoder().encode(scrape(make(tree)).metrics()).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["fctarget_fc_host_lip"].type == "counter"
    assert "initiator I/O only" in families["fctarget_fc_host_fcp_input_requests"].documentation
    assert families["fctarget_fc_host_stats_reset_age_seconds"].type == "gauge"
    assert "fctarget_fc_host_lip_total{" in text


def test_promtool_accepts_every_family(tmp_path: Path, entries: dict[str, str]) -> None:
    # an unknown statistics file too: the generic rule must still give a lint-clean name
    entries[f"{FC7}/statistics/new-fpin_thing_count"] = "0x7\\n"
    body = Encoder().encode(scrape(make(build_tree(tmp_path, entries))).metrics())
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    assert (check.returncode, check.stdout, check.stderr) == (0, b"", b"")
    assert b'fctarget_fc_host_other_statistic_total{file="new-fpin_thing_count"' in body


# ------------------------------------------------------------------------- bad input


def test_no_fc_hosts(tmp_path: Path) -> None:
    (tmp_path / "sys").mkdir()
    out = scrape(make(HostPaths(sysfs=str(tmp_path / "sys"))))
    assert out.errors == []
    assert samples(out) == {}


def test_missing_optional_attributes(tmp_path: Path, entries: dict[str, str]) -> None:
    for attr in ("symbolic_name", "port_state", "speed", "fabric_name"):
        del entries[f"{FC7}/{attr}"]
    del entries[f"{SCSI7}/port_speed"]
    del entries[f"{SCSI7}/link_state"]
    out = scrape(make(build_tree(tmp_path, entries)))
    assert out.errors == []  # an attribute the driver does not provide is not a failure
    info = next(d for d in series(out, "fctarget_fc_host_info") if d["host"] == "host7")
    assert info["symbolic_name"] == ""
    assert value(out, "fctarget_fc_host_port_id", L7) == 0x010200
    assert series(out, "fctarget_fc_host_fabric_info") == []  # port_state unknown: not Online
    assert value(out, "fctarget_fc_host_link_up", L7) is None
    assert value(out, "fctarget_fc_host_speed_bytes_per_second", L7) is None
    assert [d for d in series(out, "fctarget_fc_host_topology") if d["host"] == "host7"] == []
    assert value(out, "fctarget_fc_host_lip_total", L7) == 4
    assert value(out, "fctarget_fc_host_link_up", L6) == 0


def test_speed_falls_back_to_qla_port_speed(tmp_path: Path, entries: dict[str, str]) -> None:
    del entries[f"{FC7}/speed"]
    out = scrape(make(build_tree(tmp_path, entries)))
    assert value(out, "fctarget_fc_host_speed_bytes_per_second", L7) == 2e9
    assert out.errors == []


def test_missing_port_name_is_an_error_but_costs_only_the_label(
    tmp_path: Path, entries: dict[str, str]
) -> None:
    del entries[f"{FC7}/port_name"]
    out = scrape(make(build_tree(tmp_path, entries)))
    assert any("host7/port_name" in e for e in out.errors)
    no_wwpn = {**L7, "wwpn": ""}
    assert value(out, "fctarget_fc_host_link_up", no_wwpn) == 1
    assert value(out, "fctarget_fc_host_lip_total", no_wwpn) == 4
    assert value(out, "fctarget_fc_host_link_up", L6) == 0


def test_unreadable_attribute_eisdir(tmp_path: Path, entries: dict[str, str]) -> None:
    del entries[f"{FC7}/port_state"]
    paths = build_tree(tmp_path, entries)
    (tmp_path / "sys" / FC7 / "port_state").mkdir()  # reading it fails with EISDIR
    out = scrape(make(paths))
    assert out.errors == ["fc_host:host7/port_state:EISDIR"]
    assert value(out, "fctarget_fc_host_link_up", L7) is None
    assert series(out, "fctarget_fc_host_port_state") == [
        d for d in series(out, "fctarget_fc_host_port_state") if d["host"] == "host6"
    ]
    assert value(out, "fctarget_fc_host_speed_bytes_per_second", L7) == 2e9
    assert value(out, "fctarget_fc_host_lip_total", L7) == 4


def test_unreadable_statistics_file(tmp_path: Path, entries: dict[str, str]) -> None:
    del entries[f"{FC7}/statistics/lip_count"]
    paths = build_tree(tmp_path, entries)
    (tmp_path / "sys" / FC7 / "statistics" / "lip_count").mkdir()
    out = scrape(make(paths))
    assert out.errors == ["fc_host:host7/statistics/lip_count:EISDIR"]
    assert value(out, "fctarget_fc_host_lip_total", L7) is None
    assert value(out, "fctarget_fc_host_nos_total", L7) == 2
    assert value(out, "fctarget_fc_host_tx_frames_total", L7) == 0x1A2B3C4


def test_unlistable_statistics_directory(tmp_path: Path, entries: dict[str, str]) -> None:
    for k in [k for k in entries if k.startswith(f"{FC7}/statistics/")]:
        del entries[k]
    entries[f"{FC7}/statistics"] = "not a directory\\n"  # listing it fails with ENOTDIR
    out = scrape(make(build_tree(tmp_path, entries)))
    assert out.errors == ["fc_host:host7/statistics:ENOTDIR"]
    assert value(out, "fctarget_fc_host_stats_age_seconds", L7) is None
    assert value(out, "fctarget_fc_host_link_up", L7) == 1
    assert value(out, "fctarget_fc_host_stats_age_seconds", L6) == 0


def test_unlistable_class_directory(tmp_path: Path) -> None:
    (tmp_path / "sys" / "class").mkdir(parents=True)
    (tmp_path / "sys" / "class" / "fc_host").write_text("")
    out = scrape(make(HostPaths(sysfs=str(tmp_path / "sys"))))
    assert out.errors == ["fc_host:class/fc_host:ENOTDIR"]


def test_statistics_enoent_means_driver_has_none(tmp_path: Path, entries: dict[str, str]) -> None:
    # scsi_transport_fc.c: a listed statistics file reads ENOENT when the LLD has no
    # get_fc_host_stats; a dangling symlink gives the same errno on a fixture tree.
    for k in [k for k in entries if k.startswith(f"{FC7}/statistics/")]:
        entries[k] = "-> /nonexistent/fc_host/stat"
    out = scrape(make(build_tree(tmp_path, entries)))
    assert out.errors == []
    assert value(out, "fctarget_fc_host_lip_total", L7) is None
    assert value(out, "fctarget_fc_host_stats_age_seconds", L7) is None
    assert value(out, "fctarget_fc_host_link_up", L7) == 1


def test_garbage_values(tmp_path: Path, entries: dict[str, str]) -> None:
    entries[f"{FC7}/port_id"] = "banana\\n"
    entries[f"{FC7}/speed"] = "warp 9\\n"
    entries[f"{FC7}/statistics/tx_frames"] = "lots\\n"
    entries[f"{SCSI7}/total_isp_aborts"] = "three\\n"
    out = scrape(make(build_tree(tmp_path, entries)))
    assert sorted(out.errors) == [
        "fc_host:host7/port_id:parse",
        "fc_host:host7/speed:parse",
        "fc_host:host7/statistics/tx_frames:parse",
        "fc_host:host7/total_isp_aborts:parse",
    ]
    assert value(out, "fctarget_fc_host_port_id", L7) is None
    (fabric,) = series(out, "fctarget_fc_host_fabric_info")
    assert fabric["port_type"] == "NPort (fabric via point-to-point)"
    assert value(out, "fctarget_fc_host_speed_bytes_per_second", L7) is None
    assert value(out, "fctarget_fc_host_tx_frames_total", L7) is None
    assert value(out, "fctarget_fc_host_isp_aborts_total", L7) is None
    assert value(out, "fctarget_fc_host_rx_frames_total", L7) == 0x2B3C4D5
    assert value(out, "fctarget_fc_host_link_up", L7) == 1


def test_unknown_port_state_is_not_missed(tmp_path: Path, entries: dict[str, str]) -> None:
    entries[f"{FC7}/port_state"] = "Hibernating\\n"
    out = scrape(make(build_tree(tmp_path, entries)))
    assert value(out, "fctarget_fc_host_port_state", {**L7, "state": "Hibernating"}) == 1
    assert value(out, "fctarget_fc_host_port_state", {**L7, "state": "Online"}) == 0
    assert value(out, "fctarget_fc_host_link_up", L7) == 0


def test_host_vanishes_mid_scrape(
    tree: HostPaths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = fsread.read_many

    def vanishing(paths: Iterable[str]) -> dict[str, bytes | OSError]:
        paths = list(paths)
        if any("/host7/statistics/" in x for x in paths):
            # rmmod / vport delete between reading the attributes and the statistics
            shutil.rmtree(tmp_path / "sys" / DEV7)
        return real(paths)

    monkeypatch.setattr(fsread, "read_many", vanishing)
    out = scrape(make(tree))
    assert out.errors == []
    assert {d["host"] for d in series(out, "fctarget_fc_host_info")} == {"host6"}
    assert value(out, "fctarget_fc_host_link_up", L6) == 0


def _collect_as_nobody(sysfs: str) -> dict[str, Any]:
    """Run the collector in a forked child that dropped root (as root, mode 000 is no barrier)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 1
        try:
            os.close(r)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            out = scrape(make(HostPaths(sysfs=sysfs)))
            rows = [
                [s.name, s.labels, s.value] for m in out.metrics() for s in m.to_metric().samples
            ]
            os.write(w, json.dumps({"errors": out.errors, "samples": rows}).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result: dict[str, Any] = json.loads(data)
    return result


def test_eacces_as_unprivileged_user(entries: dict[str, str]) -> None:
    """A real EACCES: the collector runs as `nobody` on a tree with mode-000 files."""
    root = Path(tempfile.mkdtemp(prefix="fc_host_eacces_", dir="/tmp"))
    try:
        root.chmod(0o755)
        paths = build_tree(root, entries)
        for rel in (f"{FC7}/port_state", f"{FC7}/statistics/lip_count"):
            (root / "sys" / rel).chmod(0)
        result = _collect_as_nobody(paths.sysfs)
    finally:
        shutil.rmtree(root)
    assert sorted(result["errors"]) == [
        "fc_host:host7/port_state:EACCES",
        "fc_host:host7/statistics/lip_count:EACCES",
    ]
    got = {(n, frozenset(lbl.items())): v for n, lbl, v in result["samples"]}
    assert ("fctarget_fc_host_link_up", frozenset(L7.items())) not in got
    assert ("fctarget_fc_host_lip_total", frozenset(L7.items())) not in got
    assert got[("fctarget_fc_host_nos_total", frozenset(L7.items()))] == 2
    assert got[("fctarget_fc_host_speed_bytes_per_second", frozenset(L7.items()))] == 2e9
    assert got[("fctarget_fc_host_link_up", frozenset(L6.items()))] == 0


def test_qlini_mode_enabled_means_no_target_mode(tmp_path: Path, entries: dict[str, str]) -> None:
    entries["module/qla2xxx/parameters/qlini_mode"] = "enabled\\n"
    out = scrape(make(build_tree(tmp_path, entries)))
    assert value(out, "fctarget_fc_host_qlini_mode_info", {"mode": "enabled"}) == 1
    assert value(out, "fctarget_fc_host_qlini_mode_allows_target", {}) == 0


def test_qla2xxx_not_loaded(tmp_path: Path, entries: dict[str, str]) -> None:
    del entries["module/qla2xxx/parameters/qlini_mode"]
    out = scrape(make(build_tree(tmp_path, entries)))
    assert series(out, "fctarget_fc_host_qlini_mode_info") == []
    assert out.errors == []


def test_npiv_vport_resolves_to_physical_function(tmp_path: Path, entries: dict[str, str]) -> None:
    vdev = f"{DEV7}/vport-7:0-0/host9"
    entries["class/fc_host/host9"] = f"-> ../../{vdev}/fc_host/host9"
    entries[f"{vdev}/fc_host/host9/port_name"] = "0x2100000000000009\\n"
    entries[f"{vdev}/fc_host/host9/port_type"] = "NPIV VPORT\\n"
    entries[f"{vdev}/fc_host/host9/port_state"] = "Online\\n"
    out = scrape(make(build_tree(tmp_path, entries)))
    l9 = {"pci": "0000:83:00.1", "host": "host9", "wwpn": "21:00:00:00:00:00:00:09"}
    assert value(out, "fctarget_fc_host_link_up", l9) == 1
    assert out.errors == []


def test_pci_from_device_path() -> None:
    f = bdf_above_host
    assert f("/sys/devices/pci0000:80/0000:80:03.0/0000:83:00.1/host7/fc_host/host7", "host7") == (
        "0000:83:00.1"
    )
    assert f("/sys/devices/pci0001:00/0001:00:02.0/0001:05:00.0/host3/fc_host/host3", "host3") == (
        "0001:05:00.0"
    )
    # FCoE: the SCSI host hangs off a netdev of the NIC's function
    fcoe = "/sys/devices/pci0000:00/0000:00:03.0/0000:05:00.0/net/eth2/ctlr_0/host5/fc_host/host5"
    assert f(fcoe, "host5") == "0000:05:00.0"
    assert f("/sys/devices/virtual/net/eth0/host2/fc_host/host2", "host2") is None


# ------------------------------------------------------------------------- statistics cache


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _count_stat_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real: Callable[[Iterable[str]], dict[str, bytes | OSError]] = fsread.read_many

    def counting(paths: Iterable[str]) -> dict[str, bytes | OSError]:
        paths = list(paths)
        reads.extend(x for x in paths if "/statistics/" in x)
        return real(paths)

    monkeypatch.setattr(fsread, "read_many", counting)
    return reads


def test_stats_min_interval_serves_cache(
    tree: HostPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _count_stat_reads(monkeypatch)
    c = make(tree, interval=5.0)
    clock = FakeClock()
    c.stats.clock = clock
    lip = tmp_path / "sys" / FC7 / "statistics" / "lip_count"

    out = scrape(c)
    first_reads = len(reads)
    # every statistics file of both hosts, once, but never the write-only reset_statistics
    assert first_reads == 2 * 51
    assert not any(r.endswith("reset_statistics") for r in reads)
    assert value(out, "fctarget_fc_host_lip_total", L7) == 4

    lip.write_text("0x5\n")
    clock.t += 3.0
    out = scrape(c)
    assert len(reads) == first_reads  # no mailbox commands inside the interval
    assert value(out, "fctarget_fc_host_lip_total", L7) == 4
    assert value(out, "fctarget_fc_host_stats_age_seconds", L7) == 3.0
    assert value(out, "fctarget_fc_host_link_up", L7) == 1  # attributes are still read every scrape

    clock.t += 2.0
    out = scrape(c)
    assert len(reads) == 2 * first_reads
    assert value(out, "fctarget_fc_host_lip_total", L7) == 5
    assert value(out, "fctarget_fc_host_stats_age_seconds", L7) == 0


def test_cached_failure_still_fails_the_scrape(tmp_path: Path, entries: dict[str, str]) -> None:
    entries[f"{FC7}/statistics/tx_frames"] = "lots\\n"
    c = make(build_tree(tmp_path, entries), interval=60.0)
    assert scrape(c).errors == ["fc_host:host7/statistics/tx_frames:parse"]
    assert scrape(c).errors == ["fc_host:host7/statistics/tx_frames:parse"]


def test_cache_is_per_port(tree: HostPaths, tmp_path: Path) -> None:
    c = make(tree, interval=3600.0)
    assert value(scrape(c), "fctarget_fc_host_lip_total", L7) == 4
    # host7 is now another HBA port (driver reload renumbered hosts): no stale counters
    (tmp_path / "sys" / FC7 / "port_name").write_text("0x21000024ff000001\n")
    (tmp_path / "sys" / FC7 / "statistics" / "lip_count").write_text("0x1\n")
    out = scrape(c)
    assert value(out, "fctarget_fc_host_lip_total", {**L7, "wwpn": "21:00:00:24:ff:00:00:01"}) == 1


def test_default_interval_flag() -> None:
    from exporter.flags import build_parser

    assert build_parser().parse_args([]).fc_host_stats_min_interval == 5.0
    args = build_parser().parse_args(["--collector.fc_host.stats-min-interval", "0"])
    assert args.fc_host_stats_min_interval == 0.0


def _walk(paths: HostPaths) -> Iterator[str]:
    for d, _, files in os.walk(paths.sysfs):
        for f in files:
            yield os.path.join(d, f)


def test_never_writes(tree: HostPaths) -> None:
    before = {p: os.stat(p).st_mtime_ns for p in _walk(tree)}
    scrape(make(tree))
    assert {p: os.stat(p).st_mtime_ns for p in _walk(tree)} == before
    assert errno.EACCES  # (module used above; keeps the import honest)
