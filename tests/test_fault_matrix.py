"""Fault matrix: the real exporter server on a simulated host, one fault class at a time.

For every class: each scrape answers 200 within the collector timeout, every collector the
fault does not touch reports success 1, the ones it breaks report success 0 (where the fault is
an error rather than data the exporter can serve), and the log holds no traceback.

The tests run as root, so `chmod 000` does not deny a read; the unreadable-file class uses what
does fail for root: a directory where a file is expected (EISDIR), and symlink loops (ELOOP).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import http_get, parse_samples, serving

COLLECTORS = ("fc_host", "hba", "interrupts", "kmsg", "lio")
TIMEOUT = 5.0  # --collector.timeout; each scrape must answer within it (plus HTTP slack)
HUGE = "9" * 400
LONG = "7" * 5000


def rewrite(path: str | Path, data: str | bytes) -> None:
    os.unlink(path)  # the simulator hard-links equal files
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def as_dir(path: Path) -> None:
    os.unlink(path)
    path.mkdir()


class Host:
    def __init__(self, sim: SimulatedHost) -> None:
        self.sim = sim
        self.target = Path(sim.paths.target())
        self.fc = Path(sim.paths.sysfs, "class", "fc_host", "host6")
        self.scsi = Path(sim.paths.sysfs, "class", "scsi_host", "host6")
        self.irq = Path(sim.paths.proc("interrupts"))

    def lun(self, n: int = 0) -> Path:
        return next(self.target.glob(f"qla2xxx/*/tpgt_1/lun/lun_{n}"))

    def dev(self) -> Path:
        return self.target / "core" / "fileio_1" / "disk1"

    def irq_line(self, edit: Callable[[str], str]) -> None:
        lines = self.irq.read_text().splitlines(keepends=True)
        i = next(i for i, line in enumerate(lines) if "qla2xxx6_default" in line)
        lines[i] = edit(lines[i])
        rewrite(self.irq, "".join(lines))


def non_utf8(h: Host) -> None:
    core = h.target / "core" / "fileio_1"
    os.rename(core / "disk1", os.fsencode(core) + b"/disk\xff")
    acls = next(h.target.glob("qla2xxx/*/tpgt_1/acls"))
    os.rename(sorted(acls.iterdir())[0], os.fsencode(acls) + b"/init\xfe")
    with open(os.fsencode(h.fc) + b"/statistics/x\xff", "w") as f:
        f.write("0x5\n")


def huge_numbers(h: Host) -> None:
    rewrite(h.lun() / "statistics/scsi_tgt_port/in_cmds", HUGE + "\n")
    rewrite(h.fc / "dev_loss_tmo", HUGE + "\n")
    rewrite(h.fc / "speed", HUGE + " Gbit\n")
    rewrite(h.scsi / "total_isp_aborts", HUGE + "\n")
    h.irq_line(lambda line: line.replace(" 0 ", f" {HUGE} ", 1))


def long_digits(h: Host) -> None:
    rewrite(h.lun() / "statistics/scsi_tgt_port/in_cmds", LONG + "\n")
    rewrite(h.fc / "statistics/lip_count", "0x" + "f" * 5000 + "\n")
    rewrite(h.fc / "dev_loss_tmo", LONG + "\n")
    h.irq_line(lambda line: line.replace(" 0 ", f" {LONG} ", 1))


def quadratic(h: Host) -> None:
    for dev in (h.dev(), h.target / "core" / "fileio_4" / "disk4"):
        rewrite(dev / "info", "Status: ACTIVATED  " + "File: " * (65536 // 6 - 4))
    node0 = Path(h.sim.paths.sysfs, "devices/system/node/node0/cpulist")
    rewrite(node0, "0-65535," * 2048)  # 16 KB, ends in ",": garbled
    irq = next(Path(h.sim.paths.procfs, "irq").glob("*/smp_affinity_list"))
    rewrite(irq, "0-65535," * 2048)
    desc = "a-" * 2045 + " x"
    extra = "".join(f"{900 + n}: {'0 ' * len(h.sim.cpus)} {desc}\n" for n in range(50))
    rewrite(h.irq, h.irq.read_text() + extra)


def eisdir(h: Host) -> None:
    as_dir(h.lun() / "statistics/scsi_tgt_port/in_cmds")
    as_dir(h.fc / "speed")
    as_dir(h.fc / "statistics/tx_frames")
    fn = Path(os.path.realpath(h.fc)).parents[2]  # the PCI function above host6/fc_host/host6
    as_dir(fn / "numa_node")


def symlink_loops(h: Host) -> None:
    lun = h.lun()
    for link in [e for e in lun.iterdir() if e.is_symlink()]:
        link.unlink()
        os.symlink(link.name, link)  # points at itself
    os.symlink("loop", h.fc / "statistics" / "loop")
    stats = h.lun(1) / "statistics/scsi_tgt_port"
    os.unlink(stats / "in_cmds")
    os.symlink("in_cmds", stats / "in_cmds")


def bad_kmsg(h: Host) -> None:
    records = [
        b"6,99999,1,-;qla2xxx [0000:83:00.0]-500a:6: LOOP UP detected (16 Gbps).\n",
        b"garbage without header\n",
        b"6," + HUGE.encode() + b",1,-;x\n",
        b"6,1,1,-;" + b"\xff\xfe bad utf-8 \\xff\n",
        b"6,2,3,-;qla2xxx [0000:83:00.0]-500a:" + LONG.encode() + b": LOOP UP detected\n",
        b"6,3,4,-;" + b"A" * 200_000 + b"\n",
        b" ORPHAN=continuation\n",
        b"6,4,5,-;qla2xxx [0000:83:00.0]-500b:6: LOOP DOWN detected (2 7 0 0).\n",
    ]
    with open(h.sim.paths.kmsg, "ab") as f:
        f.write(b"".join(records) * 20)


# fault class -> (how to apply it before the server starts, the collectors that must fail)
FAULTS: dict[str, tuple[Callable[[Host], None], frozenset[str]]] = {
    "non_utf8_names": (non_utf8, frozenset()),
    "huge_numbers": (huge_numbers, frozenset({"lio", "fc_host", "interrupts"})),
    "long_digit_strings": (long_digits, frozenset({"lio", "fc_host", "interrupts"})),
    "quadratic_inputs": (quadratic, frozenset({"hba", "interrupts"})),
    # numa_node: the hba and interrupts collectors both read the PCI function.
    "eisdir": (eisdir, frozenset({"lio", "fc_host", "hba", "interrupts"})),
    "symlink_loops": (symlink_loops, frozenset({"lio", "fc_host"})),
    "bad_kmsg_records": (bad_kmsg, frozenset()),
    "deleted_mid_walk": (lambda h: None, frozenset()),
}


def churn(h: Host, stop: threading.Event) -> None:
    """Delete LUNs, ACLs and a backstore one after another while the walks run. configfs removes
    a directory with all its attributes at once (rmdir of the config group), so each goes in one
    rename out of the tree, never file by file."""
    acls = sorted(next(h.target.glob("qla2xxx/*/tpgt_1/acls")).iterdir())
    victims = sorted(h.target.glob("qla2xxx/*/tpgt_1/lun/lun_[2-9]")) + acls[1:3]
    assert len(victims) >= 4, victims  # LUNs 2 and 3 of both ports, two ACLs
    victims.append(h.target / "core" / "fileio_4" / "disk4")
    trash = h.target.parent.parent / "trash"
    trash.mkdir(exist_ok=True)
    for i, v in enumerate(victims):
        if stop.is_set():
            return
        v.rename(trash / str(i))
        time.sleep(0.02)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_class(tmp_path: Path, fault: str) -> None:
    sim = SimulatedHost(str(tmp_path / "host"), SimParams())
    sim.build()
    sim.advance(30.0)
    h = Host(sim)
    apply, failing = FAULTS[fault]
    apply(h)
    p = sim.paths
    args = [
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={p.kmsg}",
        f"--collector.timeout={TIMEOUT}",
        "--collector.fc_host.stats-min-interval=0",
        "--collector.kmsg.poll-interval=0.1",
    ]
    stop = threading.Event()
    mover = threading.Thread(target=churn, args=(h, stop), daemon=True)
    with serving(args) as (base, proc):
        if fault == "deleted_mid_walk":
            mover.start()
        try:
            for _ in range(6):
                start = time.monotonic()
                status, _, body = http_get(base + "/metrics", timeout=TIMEOUT + 5)
                assert time.monotonic() - start < TIMEOUT + 1
                assert status == 200
                samples = parse_samples(body.decode())
                got = {
                    c: samples[f'fctarget_scrape_collector_success{{collector="{c}"}}']
                    for c in COLLECTORS
                }
                if fault != "deleted_mid_walk":
                    assert got == {c: 0.0 if c in failing else 1.0 for c in COLLECTORS}
                else:  # the walk may or may not meet a half-moved object: never an error
                    assert got == dict.fromkeys(COLLECTORS, 1.0), got
                assert samples["fctarget_lio_up"] == 1.0
            if fault == "deleted_mid_walk":  # let the churn finish, then one more scrape
                mover.join(20)
                assert not mover.is_alive()
                start = time.monotonic()
                status, _, body = http_get(base + "/metrics", timeout=TIMEOUT + 5)
                assert time.monotonic() - start < TIMEOUT + 1
                assert status == 200
                samples = parse_samples(body.decode())
                for c in COLLECTORS:
                    assert samples[f'fctarget_scrape_collector_success{{collector="{c}"}}'] == 1
        finally:
            stop.set()
            if mover.is_alive():
                mover.join()
        assert http_get(base + "/-/healthy")[0] == 200
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err, err[-3000:]
    if fault == "deleted_mid_walk":  # the churn really ran: its LUNs are gone from the last scrape
        assert not list(h.target.glob("qla2xxx/*/tpgt_1/lun/lun_[2-9]"))
        assert not any('lun="3"' in k for k in samples if k.startswith("fctarget_lio_lun_info"))
    if fault == "non_utf8_names":
        assert samples["fctarget_lio_escaped_names_total"] >= 2.0
        assert samples["fctarget_fc_host_escaped_names_total"] >= 1.0
