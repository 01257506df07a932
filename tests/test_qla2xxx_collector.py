"""The qla2xxx collector on the simulated host (both debugfs eras): every value equals the files
the simulator wrote; fw_resource_count reads are counted; each failure costs only its source."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import shutil
from pathlib import Path

import pytest

from exporter import fsread
from exporter.collector import CollectorContext
from exporter.collectors.qla2xxx import Qla2xxxCollector
from exporter.logsetup import RateLimitedLog
from exporter.readers import qla_debugfs as reader
from exporter.simulate import SimParams, SimulatedHost
from tests.collect_helpers import collect

LOG = logging.getLogger("test.qla2xxx")
Sample = tuple[str, frozenset[tuple[str, str]]]


def make_sim(tmp_path: Path, era: str = "6.x") -> SimulatedHost:
    host = SimulatedHost(
        str(tmp_path),
        SimParams(ports=2, cpus=4, luns=2, initiators=2, qpairs=1, seed=3, qla_debugfs=era),
    )
    host.build()
    host.advance(10.0)
    return host


def collector(paths: object, fw: bool = True, interval: float = 30.0) -> Qla2xxxCollector:
    args = argparse.Namespace(qla2xxx_fw_resource=fw, qla2xxx_fw_resource_min_interval=interval)
    return Qla2xxxCollector(CollectorContext(paths, args, LOG, RateLimitedLog(LOG)))  # type: ignore[arg-type]


def port_labels(sim: SimulatedHost, i: int, **extra: str) -> frozenset[tuple[str, str]]:
    p = sim.port(i)
    return frozenset({"pci": p.pci, "host": p.host, "wwpn": p.wwpn_colon, **extra}.items())


def debug_file(sim: SimulatedHost, i: int, *parts: str) -> str:
    path = os.path.join(sim.paths.debugfs, "qla2xxx", f"qla2xxx_{sim.port(i).host_no}", *parts)
    with open(path) as f:
        return f.read()


def file_counters(text: str) -> dict[str, int]:
    """tgt_counters decoded here, not by the exporter: `key = value` lines."""
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = int(v)
    return out


SIMPLE = {
    "qla_core_sbt_cmd": "fctarget_qla2xxx_commands_received_total",
    "qla_core_ret_sta_ctio": "fctarget_qla2xxx_status_ctio_completions_total",
    "qla_core_ret_ctio": "fctarget_qla2xxx_ctio_completions_total",
    "core_qla_que_buf": "fctarget_qla2xxx_data_transfers_queued_total",
    "core_qla_snd_status": "fctarget_qla2xxx_status_sent_total",
    "core_qla_free_cmd": "fctarget_qla2xxx_commands_freed_total",
    "num alloc iocb failed": "fctarget_qla2xxx_iocb_alloc_failures_total",
    "num term exchange sent": "fctarget_qla2xxx_exchanges_terminated_total",
    "num Q full sent": "fctarget_qla2xxx_queue_full_sent_total",
    "DIF Inp Bytes": "fctarget_qla2xxx_dif_input_bytes_total",
}


@pytest.mark.parametrize("era", ["4.5", "6.x"])
def test_values_equal_the_files(tmp_path: Path, era: str) -> None:
    sim = make_sim(tmp_path, era)
    # a QUEUE FULL burst under load, ABTS, then a re-login storm: every counter moves
    while sim.now < 600.0 + 440.0:  # one period, ending inside the re-login window
        sim.advance(15.0)
    c = collector(sim.paths)
    got, out = collect(c)
    assert out.errors == []
    for i in range(2):
        files = file_counters(debug_file(sim, i, "tgt_counters"))
        assert files == sim.qla_state(i).counters
        for key, name in SIMPLE.items():
            if key in files:
                assert got[(name, port_labels(sim, i))] == files[key], (i, key)
        if era == "6.x":
            assert (
                got[("fctarget_qla2xxx_dif_errors_total", port_labels(sim, i, check="guard"))]
                == files["DIF Guard err"]
            )
            assert (
                got[("fctarget_qla2xxx_initiator_errors_total", port_labels(sim, i, kind="hw"))]
                == files["HW Error Count"]
            )
        else:
            assert not any(n == "fctarget_qla2xxx_dif_errors_total" for n, _ in got)
    st = sim.qla_state(0).counters
    assert st["num Q full sent"] > 0 and st["num term exchange sent"] > 0
    _check_fw(sim, got, era)
    _check_sessions(sim, got, era)


def _check_fw(sim: SimulatedHost, got: dict[Sample, float], era: str) -> None:
    """The six limit/free values per port, from the file text."""
    for i in range(2):
        text = debug_file(sim, i, "fw_resource_count")
        pairs = {
            "target_exchanges": ("Original TGT exchg count", "TGT exchg count"),
            "initiator_exchanges": (
                "Original Initiator Exchange count",
                "Initiator Exchange count",
            ),
            "iocbs": ("Original IOCB count", "IOCB count"),
        }
        for resource, (orig, cur) in pairs.items():
            lines = {
                ln.split("[")[0].lower(): int(ln.split("[")[1][:-1])
                for ln in text.splitlines()
                if ln.endswith("]") and "[" in ln and "estimate" not in ln
            }
            limit = lines[orig.lower()]
            free = lines["current " + cur.lower()]
            labels = port_labels(sim, i, resource=resource)
            assert got[("fctarget_qla2xxx_fw_resource_limit", labels)] == limit
            assert got[("fctarget_qla2xxx_fw_resource_free", labels)] == free
        est = (
            "fctarget_qla2xxx_driver_resource_estimate_used",
            port_labels(sim, i, resource="iocb"),
        )
        assert (est in got) == (era == "6.x")


def _check_sessions(sim: SimulatedHost, got: dict[Sample, float], era: str) -> None:
    for i in range(2):
        rows = debug_file(sim, i, "tgt_sess").splitlines()[2:]
        for row in rows:
            pid, wwpn, loop = row.split("  ")
            ident = port_labels(sim, i, initiator=wwpn)
            assert got[("fctarget_qla2xxx_session_port_id", ident)] == int(pid.replace(":", ""), 16)
            assert got[("fctarget_qla2xxx_session_loop_id", ident)] == int(loop)
        assert got[("fctarget_qla2xxx_sessions", port_labels(sim, i))] == len(rows)
        for login in sim.qla_state(i).logins:
            wwpn = ":".join(f"{b:02x}" for b in login.wwpn.to_bytes(8, "big"))
            ident = port_labels(sim, i, initiator=wwpn)
            key = ("fctarget_qla2xxx_initiator_logins_total", ident)
            if era == "4.5":
                assert key not in got  # no rports/ before v5.11: a documented absence
                continue
            gen = int(debug_file(sim, i, "rports", f"pn-{login.wwpn:016x}", "login_gen"))
            assert got[key] == gen == login.login_gen
            assert got[("fctarget_qla2xxx_initiator_logged_in", ident)] == int(login.session)
    if era == "6.x":
        storm = sim.qla_state(0).logins[0]
        assert storm.login_gen > 10  # the re-login storm


def test_logout_and_acl_join(tmp_path: Path) -> None:
    sim = make_sim(tmp_path)
    sim.logout(0, 1)
    got, _ = collect(collector(sim.paths, fw=False))
    acl = sim.acl(0, 1).name  # LIO's ACL name: the same colon form joins
    ident = port_labels(sim, 0, initiator=acl)
    assert got[("fctarget_qla2xxx_initiator_logged_in", ident)] == 0
    assert ("fctarget_qla2xxx_session_port_id", ident) not in got
    sim.login(0, 1)
    got, _ = collect(collector(sim.paths, fw=False))
    assert got[("fctarget_qla2xxx_initiator_logged_in", ident)] == 1
    assert got[("fctarget_qla2xxx_initiator_logins_total", ident)] == 2
    assert not any(n.startswith("fctarget_qla2xxx_fw_") for n, _ in got)  # off by default


def test_fw_resource_reads_are_rate_limited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim(tmp_path)
    c = collector(sim.paths, interval=30.0)
    assert c.fw is not None
    now = [1000.0]
    c.fw.clock = lambda: now[0]
    opened: list[str] = []
    real = fsread.read_text

    def counting(path: str, limit: int = 65536) -> str:
        if path.endswith("fw_resource_count"):
            opened.append(path)
        return real(path, limit)

    monkeypatch.setattr(fsread, "read_text", counting)
    for t in (0.0, 10.0, 29.9):
        now[0] = 1000.0 + t
        got, _ = collect(c)
    assert len(opened) == 2 and c.fw.reads == 2  # one read per HBA, then the cache
    assert got[("fctarget_qla2xxx_fw_resource_age_seconds", port_labels(sim, 0))] == pytest.approx(
        29.9
    )
    now[0] = 1030.0
    got, _ = collect(c)
    assert len(opened) == 4 and c.fw.reads == 4
    assert got[("fctarget_qla2xxx_fw_resource_age_seconds", port_labels(sim, 0))] == 0


def test_not_mounted_and_absent(tmp_path: Path) -> None:
    sim = SimulatedHost(str(tmp_path), SimParams(ports=1, cpus=2, luns=1, qla_debugfs="none"))
    sim.build()
    got, out = collect(collector(sim.paths))
    assert got == {} and out.errors == ["qla2xxx:debugfs:not_mounted"]
    os.makedirs(os.path.join(sim.paths.debugfs, "tracing"))  # mounted, qla2xxx not there
    got, out = collect(collector(sim.paths))
    assert got == {} and out.errors == []


def test_old_kernel_missing_files_are_absent(tmp_path: Path) -> None:
    sim = make_sim(tmp_path, "4.5")
    d = os.path.join(sim.paths.debugfs, "qla2xxx", f"qla2xxx_{sim.port(1).host_no}")
    os.unlink(os.path.join(d, "tgt_counters"))  # before v4.5
    got, out = collect(collector(sim.paths))
    assert out.errors == []
    assert ("fctarget_qla2xxx_commands_received_total", port_labels(sim, 1)) not in got
    assert ("fctarget_qla2xxx_commands_received_total", port_labels(sim, 0)) in got
    readable = {
        dict(lb)["source"]
        for n, lb in got
        if n == "fctarget_qla2xxx_source_readable" and dict(lb)["host"] == sim.port(1).host
    }
    assert readable == {"tgt_sess", "fw_resource_count"}


@pytest.mark.parametrize(
    ("code", "expect"),
    [(errno.EACCES, "CAP_DAC_READ_SEARCH"), (errno.EPERM, "lockdown is 'confidentiality'")],
)
def test_permission_and_lockdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, expect: str
) -> None:
    sim = make_sim(tmp_path)
    lockdown = os.path.join(sim.paths.sysfs, "kernel", "security")
    os.makedirs(lockdown)
    Path(lockdown, "lockdown").write_text("none integrity [confidentiality]\n")
    real = fsread.read_text
    target = f"qla2xxx_{sim.port(0).host_no}/tgt_counters"

    def refuse(path: str, limit: int = 65536) -> str:
        if path.endswith(target):
            raise OSError(code, os.strerror(code))
        return real(path, limit)

    monkeypatch.setattr(fsread, "read_text", refuse)
    got, out = collect(collector(sim.paths))
    name = errno.errorcode[code]
    assert out.errors == [f"qla2xxx:{target}:{name}"]
    assert (
        got[("fctarget_qla2xxx_source_readable", port_labels(sim, 0, source="tgt_counters"))] == 0
    )
    assert got[("fctarget_qla2xxx_source_readable", port_labels(sim, 0, source="tgt_sess"))] == 1
    assert ("fctarget_qla2xxx_commands_received_total", port_labels(sim, 1)) in got
    assert reader._explain(OSError(code, "x"), lambda: "confidentiality").find(expect) >= 0


def replace(path: Path, content: bytes) -> None:
    path.unlink()
    path.write_bytes(content)


def test_garbage_short_read_and_mailbox_failure(tmp_path: Path) -> None:
    sim = make_sim(tmp_path)
    d = os.path.join(sim.paths.debugfs, "qla2xxx", f"qla2xxx_{sim.port(0).host_no}")
    # the simulator hard-links equal files to one inode: replace, never write in place
    replace(Path(d, "tgt_counters"), b"\x00\xff\xfe garbage\n")
    replace(Path(d, "fw_resource_count"), b"Mailbox Command failed 258, mb 0x4005")
    rport = os.path.join(d, "rports", sorted(os.listdir(os.path.join(d, "rports")))[0])
    replace(Path(rport, "login_gen"), b"1")  # short read: no newline
    shutil.rmtree(os.path.join(d, "rports", sorted(os.listdir(os.path.join(d, "rports")))[1]))
    got, out = collect(collector(sim.paths))
    h = f"qla2xxx_{sim.port(0).host_no}"
    assert sorted(out.errors) == sorted(
        [
            f"qla2xxx:{h}/tgt_counters:parse",
            f"qla2xxx:{h}/fw_resource_count:mailbox",
            f"qla2xxx:{h}/rports/{os.path.basename(rport)}/login_gen:parse",
        ]
    )
    ok = ("fctarget_qla2xxx_source_readable", port_labels(sim, 0, source="tgt_sess"))
    assert got[ok] == 1
    assert (
        got[("fctarget_qla2xxx_source_readable", port_labels(sim, 0, source="tgt_counters"))] == 0
    )
    assert ("fctarget_qla2xxx_fw_resource_free", port_labels(sim, 1, resource="iocbs")) in got
    assert ("fctarget_qla2xxx_fw_resource_free", port_labels(sim, 0, resource="iocbs")) not in got


def test_check_says_what_is_readable_and_why_not(tmp_path: Path) -> None:
    from exporter.check import explain

    sim = make_sim(tmp_path / "old", "4.5")
    text, status = explain(sim.paths, ["qla2xxx"])
    assert status == 0
    assert f"    {sim.port(0).host} ({sim.port(0).pci}, wwpn {sim.port(0).wwpn_colon}):" in text
    assert "      tgt_counters       readable\n" in text
    assert "      rports             absent (kernels before 5.11" in text
    assert "the qla2xxx collector reports failure" not in text
    none = SimulatedHost(
        str(tmp_path / "none"), SimParams(ports=1, cpus=2, luns=1, qla_debugfs="none")
    )
    none.build()
    assert "debugfs is not mounted" in explain(none.paths, ["qla2xxx"])[0]
