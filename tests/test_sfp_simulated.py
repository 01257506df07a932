"""The sfp, fc_vport and fc_host (qla2xxx extras) collectors on the simulated host: every value
checked against the files the simulator wrote, decoded here with struct; the SFP cache counted
in reads; missing, short, empty and forbidden reads."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import struct
from pathlib import Path

import pytest

from exporter import fsread
from exporter.collector import CollectorContext
from exporter.collectors.fc_host import FcHostCollector
from exporter.collectors.fc_vport import FcVportCollector
from exporter.collectors.sfp import SfpCollector, SfpOptions
from exporter.flags import build_parser
from exporter.logsetup import RateLimitedLog
from exporter.parsers.lio import normalize_wwn
from exporter.readers.sfp import explain_sfp
from exporter.simulate import SimParams, SimulatedHost
from tests.collect_helpers import collect, port_labels

LOG = logging.getLogger("test.sfp")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def sim(tmp_path: Path) -> SimulatedHost:
    host = SimulatedHost(
        str(tmp_path), SimParams(ports=2, cpus=4, luns=2, initiators=1, qpairs=1, seed=3)
    )
    host.build()
    host.advance(10.0)
    return host


def sfp_collector(sim: SimulatedHost, minutes: float = 10.0) -> SfpCollector:
    args = argparse.Namespace(sfp_cache_interval=minutes)
    return SfpCollector(CollectorContext(sim.paths, args, LOG, RateLimitedLog(LOG)))


def sfp_file(sim: SimulatedHost, i: int) -> bytes:
    path = os.path.join(sim.paths.sysfs, "class", "scsi_host", sim.port(i).host, "device", "sfp")
    with open(path, "rb") as f:
        return f.read()


def decode(data: bytes) -> dict[str, float]:
    """The live values of the file, decoded here: A2h starts at byte 256; external calibration
    (A0h byte 92 bit 4) applies slope/offset at A2h 76..91 and the RX polynomial at 56..75."""
    a2 = data[256:]
    t, v, i, tx, rx = struct.unpack_from(">hHHHH", a2, 96)
    if data[92] & 0x10:
        c4, c3, c2, c1, c0 = struct.unpack_from(">5f", a2, 56)
        rx = c4 * rx**4 + c3 * rx**3 + c2 * rx**2 + c1 * rx + c0
        si, oi, sp, op, st, ot, sv, ov = struct.unpack_from(">HhHhHhHh", a2, 76)
        i, tx, t, v = si / 256 * i + oi, sp / 256 * tx + op, st / 256 * t + ot, sv / 256 * v + ov
    return {
        "fctarget_sfp_temperature_celsius": t / 256,
        "fctarget_sfp_supply_voltage_volts": v * 100e-6,
        "fctarget_sfp_tx_bias_amperes": i * 2e-6,
        "fctarget_sfp_tx_power_watts": tx * 1e-7,
        "fctarget_sfp_rx_power_watts": rx * 1e-7,
    }


def test_values_equal_the_simulated_files(sim: SimulatedHost) -> None:
    got, out = collect(sfp_collector(sim))
    assert out.errors == []
    for i in (0, 1):
        data = sfp_file(sim, i)
        assert len(data) == 512
        for name, value in decode(data).items():
            assert got[(name, port_labels(sim, i))] == pytest.approx(value, rel=1e-12)
        assert got[("fctarget_sfp_wavelength_meters", port_labels(sim, i))] == pytest.approx(850e-9)
        low_warn = struct.unpack_from(">H", data, 256 + 38)[0]
        if i == 1:  # external: 2 * AD + 1
            low_warn = 2 * low_warn + 1
        key = (
            "fctarget_sfp_rx_power_threshold_watts",
            port_labels(sim, i, threshold="low_warning"),
        )
        assert got[key] == pytest.approx(low_warn * 1e-7)
    info = {dict(k[1])["calibration"] for k in got if k[0] == "fctarget_sfp_info"}
    assert info == {"internal", "external"}


def test_rx_power_drifts_through_the_low_warning_and_cache_counts_reads(
    sim: SimulatedHost,
) -> None:
    c = sfp_collector(sim, minutes=5.0)
    clock = [1000.0]
    c.cache.clock = lambda: clock[0]
    got, _ = collect(c)
    assert c.cache.reads == 2  # one file read per port (eight firmware reads each)
    rx = ("fctarget_sfp_rx_power_watts", port_labels(sim, 0))
    low = ("fctarget_sfp_rx_power_threshold_watts", port_labels(sim, 0, threshold="low_warning"))
    assert got[rx] > got[low]
    sim.advance(600.0)
    clock[0] += 299.0
    cached, _ = collect(c)
    assert c.cache.reads == 2  # within the 5-minute interval: served from the cache
    assert cached[rx] == got[rx]
    assert cached[("fctarget_sfp_read_age_seconds", port_labels(sim, 0))] == 299.0
    clock[0] += 1.0
    fresh, _ = collect(c)
    assert c.cache.reads == 4
    assert fresh[rx] < fresh[low]  # 0.4 mW * exp(-0.0035 * 600) = 0.049 mW < 0.0501 mW
    assert fresh[rx] == pytest.approx(decode(sfp_file(sim, 0))["fctarget_sfp_rx_power_watts"])


@pytest.mark.parametrize(
    ("content", "what"), [(b"\x03" * 10, "parse"), (b"", "empty"), (None, "EPERM")]
)
def test_bad_reads_are_problems_and_cached(
    sim: SimulatedHost, monkeypatch: pytest.MonkeyPatch, content: bytes | None, what: str
) -> None:
    path = os.path.join(sim.paths.sysfs, "class", "scsi_host", "host6", "device", "sfp")
    real = fsread.read_bytes

    def fake(p: str, limit: int = fsread.MAX_SMALL_FILE) -> bytes:
        if p != path:
            return real(p, limit)
        if content is None:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return content

    monkeypatch.setattr(fsread, "read_bytes", fake)
    c = sfp_collector(sim)
    got, out = collect(c)
    assert out.errors == [f"sfp:host6/device/sfp:{what}"]
    assert not any(dict(k[1])["host"] == "host6" for k in got)
    assert ("fctarget_sfp_info", port_labels(sim, 1)) not in got  # info has more labels
    assert any(dict(k[1])["host"] == "host7" for k in got)  # the other port is served
    _, again = collect(c)
    assert again.errors == out.errors and c.cache.reads == 2  # failure cached, not re-read


def test_missing_sfp_file_is_an_absence(sim: SimulatedHost) -> None:
    os.unlink(os.path.join(sim.paths.sysfs, "devices", sim.port(0).devpath, "host6", "sfp"))
    got, out = collect(sfp_collector(sim))
    assert out.errors == []
    assert {dict(k[1])["host"] for k in got} == {"host7"}
    assert "host6: no sfp attribute" in "\n".join(explain_sfp(sim.paths))
    assert "host7: readable: FINISAR CORP. FTLF8529P4BCV-QL" in "\n".join(explain_sfp(sim.paths))


def test_flags() -> None:
    assert build_parser().parse_args([]).sfp_cache_interval == SfpOptions.cache_interval_minutes
    args = build_parser().parse_args(["--collector.sfp.cache-interval", "2.5"])
    assert SfpOptions.from_args(args).cache_interval_minutes == 2.5
    for bad in ("0", "nan", "-1", "x"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--collector.sfp.cache-interval", bad])


def test_vport_state_and_join(sim: SimulatedHost) -> None:
    c = FcVportCollector(
        CollectorContext(sim.paths, argparse.Namespace(), LOG, RateLimitedLog(LOG))
    )
    got, out = collect(c)
    assert out.errors == []
    v = sim.vports[0]
    d = os.path.join(sim.paths.sysfs, "class", "fc_vports", v.name)
    with open(os.path.join(d, "port_name")) as f:
        target = normalize_wwn(f.read().strip(), "qla2xxx")
    labels = {"vport": v.name, "target": target}
    key = port_labels(sim, 0, **labels)
    assert got[("fctarget_fc_vport_active", key)] == 1.0
    # the qla2xxx_npiv LIO target of this vport, as configfs names it, normalises to the same
    npiv_dir = f"{sim.port(0).wwpn_colon}@{v.wwpn:016x}:{v.wwnn:016x}"
    assert normalize_wwn(npiv_dir, "qla2xxx_npiv") == target
    sim.set_vport_state("Fabric Rejected WWN")
    got, _ = collect(c)
    assert got[("fctarget_fc_vport_active", key)] == 0.0
    assert (
        got[("fctarget_fc_vport_state", port_labels(sim, 0, state="Fabric Rejected WWN", **labels))]
        == 1.0
    )
    assert got[("fctarget_fc_vport_state", port_labels(sim, 0, state="Active", **labels))] == 0.0


def test_fc_host_firmware_extras(sim: SimulatedHost) -> None:
    args = argparse.Namespace(fc_host_stats_min_interval=0.0)
    c = FcHostCollector(CollectorContext(sim.paths, args, LOG, RateLimitedLog(LOG)))
    got, out = collect(c)
    assert out.errors == []
    size = "fctarget_fc_host_firmware_dump_size_bytes"
    assert got[(size, port_labels(sim, 1))] == 0.0
    sim.fw_dump(1, size=2663616)
    got, _ = collect(c)
    scsi = os.path.join(sim.paths.sysfs, "class", "scsi_host", "host7")
    with open(os.path.join(scsi, "fw_dump_size")) as f:
        assert got[(size, port_labels(sim, 1))] == int(f.read()) == 2663616
    with open(os.path.join(scsi, "thermal_temp")) as f:
        temp = int(f.read())
    assert got[("fctarget_fc_host_adapter_temperature_celsius", port_labels(sim, 1))] == temp
    assert got[("fctarget_fc_host_firmware_state", port_labels(sim, 1, state="ready"))] == 1.0
    assert (
        got[("fctarget_fc_host_max_supported_speed_bytes_per_second", port_labels(sim, 1))] == 2e9
    )
    assert ("fctarget_fc_host_firmware_dump_events_total", port_labels(sim, 1)) not in got
    c.fw_dumps.running = True  # as after start() on a host with udev
    c.fw_dumps.on_uevent({"ACTION": "change", "FW_DUMP": "7", "SUBSYSTEM": "pci"})
    got, _ = collect(c)
    assert got[("fctarget_fc_host_firmware_dump_events_total", port_labels(sim, 1))] == 1.0
    assert got[("fctarget_fc_host_firmware_dump_events_total", port_labels(sim, 0))] == 0.0
