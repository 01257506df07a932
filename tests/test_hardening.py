"""Measured defects: hostile names, numbers and sizes cost their own series, never the scrape.

Each test reproduces one tracker report on a simulated host (or on the parser it blamed) and
pins the fixed behaviour. Time limits are generous fixed budgets on inputs far larger than the
reports' (1 MB where the report used 64 KB), so a quadratic parser fails them by orders of
magnitude while a slow CI machine passes; bench/bench_hostile.py has the precise numbers.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from exporter.parsers import cpulist, fc_host, interrupts, lio, pci
from exporter.readers.configfs import read_configfs
from exporter.readers.problems import Problems
from exporter.simulate import SimParams, SimulatedHost
from tests.exporter_proc import parse_samples, run_exporter

HUGE = "9" * 400  # ~1e400: float() of it raises OverflowError
LONG = "7" * 5000  # past int()'s 4300-digit limit: int() raises ValueError
BUDGET = 2.0  # seconds for a 1 MB input on a slow 2-core machine


@pytest.fixture
def sim(tmp_path: Path) -> SimulatedHost:
    host = SimulatedHost(str(tmp_path / "host"), SimParams())
    host.build()
    host.advance(30.0)
    return host


def rewrite(path: str | Path, data: str | bytes) -> None:
    """Replace a file's content (the simulator hard-links equal files: unlink first)."""
    os.unlink(path)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def once(sim: SimulatedHost, rc: int = 0) -> tuple[dict[str, float], str]:
    """`--once` on the simulated host: its samples and log; exit 1 = some collector failed."""
    p = sim.paths
    r = run_exporter(
        "--once",
        f"--path.procfs={p.procfs}",
        f"--path.sysfs={p.sysfs}",
        f"--path.configfs={p.configfs}",
        f"--path.kmsg={p.kmsg}",
    )
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert r.returncode == rc, r.stderr[-3000:]
    return parse_samples(r.stdout), r.stderr


def success(samples: dict[str, float], collector: str) -> float:
    return samples[f'fctarget_scrape_collector_success{{collector="{collector}"}}']


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def raises_value_error_or_returns(fn: Callable[[], object]) -> None:
    with contextlib.suppress(ValueError):
        fn()


# -- 1: names that are not UTF-8 ---------------------------------------------------------------


def test_non_utf8_names_are_escaped_and_counted(sim: SimulatedHost) -> None:
    target = Path(sim.paths.target())
    core = target / "core" / "fileio_1"
    os.rename(core / "disk1", os.fsencode(core) + b"/disk\xff")
    acls = next(target.glob("qla2xxx/*/tpgt_1/acls"))
    first_acl = sorted(acls.iterdir())[0]
    os.rename(first_acl, os.fsencode(acls) + b"/init\xfe")
    stats = Path(sim.paths.sysfs, "class", "fc_host", "host6", "statistics")
    with open(os.fsencode(stats) + b"/disk\xff", "w") as f:
        f.write("0x5\n")

    samples, _ = once(sim)
    assert success(samples, "lio") == 1.0
    assert success(samples, "fc_host") == 1.0
    # The escaped spelling (exposition escapes the backslash once more).
    assert any('backstore="disk\\\\xff"' in k for k in samples if "backstore_info" in k)
    assert any('initiator="init\\\\xfe"' in k for k in samples if "acl_info" in k)
    assert any('file="disk\\\\xff"' in k for k in samples if "other_statistic" in k)
    assert samples["fctarget_lio_escaped_names_total"] == 2.0
    assert samples["fctarget_fc_host_escaped_names_total"] == 1.0


# -- 5: values of 1e308 and more ------------------------------------------------------------


def test_huge_values_cost_only_their_own_series(sim: SimulatedHost) -> None:
    target = Path(sim.paths.target())
    lun = next(target.glob("qla2xxx/*/tpgt_1/lun/lun_0"))
    rewrite(lun / "statistics/scsi_tgt_port/in_cmds", HUGE + "\n")
    ml = sorted(target.glob("qla2xxx/*/tpgt_1/acls/*/lun_*/statistics/scsi_auth_intr"))
    for d in ml:  # every mapped LUN of every ACL: no initiator sum can be served
        rewrite(d / "num_cmds", HUGE + "\n")
    dev = target / "core" / "fileio_1" / "disk1"
    rewrite(dev / "statistics/scsi_lu/num_cmds", HUGE + "\n")
    info = (dev / "info").read_text()
    rewrite(dev / "info", info.replace("Size: 17179869184", f"Size: {HUGE}"))
    fc = Path(sim.paths.sysfs, "class", "fc_host", "host6")
    scsi = Path(sim.paths.sysfs, "class", "scsi_host", "host6")
    rewrite(fc / "dev_loss_tmo", HUGE + "\n")
    rewrite(fc / "speed", HUGE + " Gbit\n")
    rewrite(scsi / "total_isp_aborts", HUGE + "\n")
    irq_path = Path(sim.paths.proc("interrupts"))
    lines = irq_path.read_text().splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if "qla2xxx6_default" in line)
    head, _, rest = lines[i].partition(":")
    fields = rest.split(None, 1)
    lines[i] = f"{head}: {HUGE} {fields[1]}"
    rewrite(irq_path, "".join(lines))

    samples, err = once(sim, rc=1)
    for collector in ("lio", "fc_host", "interrupts"):
        assert success(samples, collector) == 0.0, collector
    assert success(samples, "hba") == 1.0
    assert success(samples, "kmsg") == 1.0

    def has(name: str, *parts: str) -> bool:
        return any(k.startswith(name + "{") and all(p in k for p in parts) for k in samples)

    assert not has("fctarget_lio_lun_commands_total", 'lun="0"', lun.parent.parent.parent.name)
    assert has("fctarget_lio_lun_commands_total", 'lun="1"')
    assert has("fctarget_lio_lun_read_bytes_total", 'lun="0"')
    assert not has("fctarget_lio_acl_commands_total")
    assert has("fctarget_lio_acl_read_bytes_total")
    assert not has("fctarget_lio_backstore_commands_total", 'backstore="disk1"')
    assert not has("fctarget_lio_backstore_size_bytes", 'backstore="disk1"')
    assert has("fctarget_lio_backstore_commands_total", 'backstore="disk4"')
    assert has("fctarget_lio_backstore_read_bytes_total", 'backstore="disk1"')
    assert not has("fctarget_fc_host_dev_loss_tmo_seconds", 'host="host6"')
    assert not has("fctarget_fc_host_speed_bytes_per_second", 'host="host6"')
    assert has("fctarget_fc_host_speed_bytes_per_second", 'host="host7"')
    assert has("fctarget_fc_host_info", 'host="host6"')
    assert "total_isp_aborts" in err and "speed" in err


# -- 6: a 5,000-digit counter ---------------------------------------------------------------


def test_long_digit_counter_is_a_problem_not_a_lost_walk(sim: SimulatedHost) -> None:
    target = Path(sim.paths.target())
    lun = next(target.glob("qla2xxx/*/tpgt_1/lun/lun_0"))
    rewrite(lun / "statistics/scsi_tgt_port/in_cmds", LONG + "\n")
    problems = Problems("lio")
    snap = read_configfs(str(target), problems)
    luns = [lp for t in snap.targets for tpg in t.tpgs for lp in tpg.luns]
    assert len(luns) == sum(1 for _ in target.glob("qla2xxx/*/tpgt_1/lun/lun_*"))
    bad = [lp for lp in luns if lp.in_cmds is None]
    assert len(bad) == 1 and bad[0].lun == 0 and bad[0].read_mbytes is not None
    assert [p.key for p in problems.items] == ["lio:scsi_tgt_port/in_cmds:EINVAL"]


def test_counter_beyond_64_bits_is_refused() -> None:
    assert lio.parse_uint(b"18446744073709551615\n") == 2**64 - 1
    with pytest.raises(ValueError):
        lio.parse_uint(b"18446744073709551616\n")
    with pytest.raises(ValueError):
        lio.parse_uint(HUGE)


# -- 7: parse_backstore_info ----------------------------------------------------------------


@pytest.mark.parametrize(
    "filler",
    ["File: ", "Size: 1", " Size: ", "Status: ", "iBlock device: ", "PAGES/PAGE_SIZE: 1*"],
)
def test_backstore_info_is_linear(filler: str) -> None:
    text = "Status: ACTIVATED  " + filler * (1_000_000 // len(filler))
    assert timed(lambda: raises_value_error_or_returns(lambda: lio.parse_backstore_info(text))) < (
        BUDGET
    )


def test_backstore_info_keeps_its_fields() -> None:
    info = lio.parse_backstore_info(
        "Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 16384\n"
        "        TCM FILEIO ID: 0        File: /srv/a  Size: b.img  Size: 4096  Mode: Buffered\n"
    )
    assert info.file == "/srv/a"  # the first "  Size: " ends the name, as the kernel prints it
    assert info.size_bytes == 4096
    with pytest.raises(ValueError):
        lio.parse_backstore_info(f"Status: ACTIVATED  File: /x  Size: {HUGE}  Mode: O_DSYNC")


# -- 8: parse_cpulist -----------------------------------------------------------------------


def test_cpulist_is_linear_and_bounded() -> None:
    text = "0-65535," * (16 * 1024 // 8) + "1"
    assert timed(lambda: raises_value_error_or_returns(lambda: cpulist.parse_cpulist(text))) < 0.5
    big = ",".join(f"{i}-{i + 7}" for i in range(0, 65536, 8)) * 16  # ~1.3 MB, all overlaps
    assert timed(lambda: raises_value_error_or_returns(lambda: cpulist.parse_cpulist(big))) < BUDGET
    assert cpulist.parse_cpulist("8-11,0-3,2-5") == (0, 1, 2, 3, 4, 5, 8, 9, 10, 11)
    with pytest.raises(ValueError):
        cpulist.parse_cpulist("0-" + LONG)
    with pytest.raises(ValueError):
        cpulist.parse_cpulist("65536")


# -- 12: the interrupt description regex ----------------------------------------------------


@pytest.mark.parametrize("filler", ["a-", "-", " a", "1 ", "a  ", "\t-"])
def test_interrupt_line_is_linear(filler: str) -> None:
    desc = filler * (4090 // len(filler))
    lines = "".join(f"{n}: 1 {desc} x\n" for n in range(250))  # ~1 MB; the chip is the filler
    text = "   CPU0\n" + lines
    elapsed = timed(lambda: interrupts.parse_interrupts(text))
    assert elapsed < BUDGET


def test_interrupts_whole_file_is_bounded() -> None:
    line = "5: 1 " + "a-" * 2045 + " x\n"
    text = "   CPU0\n" + line * 2000  # 8 MB of the worst line the report found
    assert timed(lambda: interrupts.parse_interrupts(text)) < 4 * BUDGET


def test_interrupt_counter_of_400_digits_is_malformed_not_overflow() -> None:
    parsed = interrupts.parse_interrupts(
        f"   CPU0 CPU1\n 64: {HUGE} 1  IR-PCI-MSI 1-edge  qla2xxx6_default\n"
        " 65: 1 2  IR-PCI-MSI 2-edge  qla2xxx6_rsp_q\n"
    )
    assert [line.irq for line in parsed.lines] == [65]
    assert len(parsed.malformed) == 1


# -- 14: the parsers' documented contracts --------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: fc_host.speed_bits(HUGE + " Gbit"),
        lambda: fc_host.parse_speed(HUGE + " Gbit\n"),
        lambda: fc_host.parse_speed_list(f"8 Gbit, {HUGE} Gbit\n"),
        lambda: fc_host.parse_int(HUGE + "\n", "dev_loss_tmo"),
    ],
)
def test_fc_host_parsers_raise_value_error_not_overflow(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_name_parsers_return_none_for_long_numbers() -> None:
    assert pci.host_number("host" + LONG) is None
    # No hostN component recognised: the nearest function above the end of the path.
    assert pci.bdf_above_host(f"/sys/devices/pci0000:80/0000:83:00.1/host{LONG}") == "0000:83:00.1"
    assert pci.bdf_above_host("/sys/devices/0000:83:00.1/host7/x", "host7") == "0000:83:00.1"
    assert lio.parse_hba_dir("fileio_" + LONG) is None
    assert lio.parse_lun_dir("lun_" + LONG) is None
    assert lio.parse_tpgt_dir("tpgt_" + LONG) is None


def test_qla2xxx_vector_name_with_a_huge_host_number_is_no_qla2xxx_vector() -> None:
    """Found by `make fuzz`: documented to return None, it raised ValueError (5,000 digits)
    or returned a host number no float can hold (400)."""
    assert interrupts.classify_qla2xxx(f"qla2xxx{LONG}_default") is None
    assert interrupts.classify_qla2xxx(f"qla2xxx{HUGE}_rsp_q") is None
    v = interrupts.classify_qla2xxx("qla2xxx4294967295_qpair3")
    assert v is not None and v.host_no == 4294967295 and v.vector == "qpair3"
