"""The simulated FC target host: kernel formats, symlinks, counters, flaps, sessions, atomicity.

Expected values come from the real captures in tests/fixtures (Linux 6.1 configfs dump,
guest /proc/interrupts) and from the kernel format strings in shared/reference/KERNEL-FORMATS.md,
not from the simulator's own formatting code.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from pathlib import Path

import pytest

from exporter.parsers.cpulist import format_cpulist as cpulist
from exporter.parsers.cpulist import format_cpumask as cpumask_hex
from exporter.simulate import SimParams, SimulatedHost

FIXTURES = Path(__file__).parent / "fixtures"
DUMP = FIXTURES / "lio" / "real-kernel-6.1" / "configfs-dump.txt"
TGT = "/sys/kernel/config/target/"

# KERNEL-FORMATS.md 4.2: every fc_host statistics file of 6.1, in kernel order.
FC_STATS = [
    "seconds_since_last_reset",
    "tx_frames",
    "tx_words",
    "rx_frames",
    "rx_words",
    "lip_count",
    "nos_count",
    "error_frames",
    "dumped_frames",
    "link_failure_count",
    "loss_of_sync_count",
    "loss_of_signal_count",
    "prim_seq_protocol_err_count",
    "invalid_tx_word_count",
    "invalid_crc_count",
    "fcp_input_requests",
    "fcp_output_requests",
    "fcp_control_requests",
    "fcp_input_megabytes",
    "fcp_output_megabytes",
    "fcp_packet_alloc_failures",
    "fcp_packet_aborts",
    "fcp_frame_alloc_failures",
    "fc_no_free_exch",
    "fc_no_free_exch_xid",
    "fc_xid_not_found",
    "fc_xid_busy",
    "fc_seq_not_found",
    "fc_non_bls_resp",
    "cn_sig_warn",
    "cn_sig_alarm",
    "reset_statistics",
    "fpin_dn",
    "fpin_dn_unknown",
    "fpin_dn_timeout",
    "fpin_dn_unable_to_route",
    "fpin_dn_device_specific",
    "fpin_li",
    "fpin_li_failure_unknown",
    "fpin_li_link_failure_count",
    "fpin_li_loss_of_sync_count",
    "fpin_li_loss_of_signals_count",
    "fpin_li_prim_seq_err_count",
    "fpin_li_invalid_tx_word_count",
    "fpin_li_invalid_crc_count",
    "fpin_li_device_specific",
    "fpin_cn",
    "fpin_cn_clear",
    "fpin_cn_lost_credit",
    "fpin_cn_credit_stall",
    "fpin_cn_oversubscription",
    "fpin_cn_device_specific",
]
NEVER_FILLED = [
    "fcp_packet_alloc_failures",
    "fcp_packet_aborts",
    "fcp_frame_alloc_failures",
    "fc_no_free_exch",
    "fc_no_free_exch_xid",
    "fc_xid_not_found",
    "fc_xid_busy",
    "fc_seq_not_found",
    "fc_non_bls_resp",
    "cn_sig_warn",
    "cn_sig_alarm",
]
KMSG_RE = re.compile(r"^(\d+),(\d+),(\d+),-;(.*)$")


def load_dump() -> dict[str, str]:
    """path -> raw dump value (content with the trailing newline dropped, escaped)."""
    out: dict[str, str] = {}
    for line in DUMP.read_text().splitlines():
        path, _, value = line.partition("\t")
        out[path] = value
    return out


def dump_names(dump: dict[str, str], directory: str) -> set[str]:
    """Entry names directly inside a dumped directory (which ends with '/')."""
    names = set()
    for path in dump:
        if path.startswith(directory) and path != directory:
            rest = path[len(directory) :].rstrip("/")
            if "/" not in rest:
                names.add(rest)
    return names


def read(path: str | Path) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def kmsg_records(host: SimulatedHost) -> list[tuple[int, int, int, str]]:
    recs = []
    for line in read(host.paths.kmsg).splitlines():
        if line.startswith(" "):
            assert re.fullmatch(r" (SUBSYSTEM|DEVICE)=\S+", line), line
            continue
        m = KMSG_RE.match(line)
        assert m, line
        recs.append((int(m[1]), int(m[2]), int(m[3]), m[4]))
    return recs


@pytest.fixture(scope="module")
def dump() -> dict[str, str]:
    return load_dump()


@pytest.fixture
def host(tmp_path: Path) -> SimulatedHost:
    h = SimulatedHost(str(tmp_path), SimParams())
    h.build()
    return h


# --------------------------------------------------------------------------- layout


def test_paths_point_into_root(host: SimulatedHost, tmp_path: Path) -> None:
    assert host.paths.procfs == str(tmp_path / "proc")
    assert host.paths.sysfs == str(tmp_path / "sys")
    assert host.paths.configfs == str(tmp_path / "sys" / "kernel" / "config")
    assert host.paths.kmsg == str(tmp_path / "dev" / "kmsg")
    assert os.path.isfile(host.paths.kmsg)
    assert os.path.isfile(host.paths.proc("interrupts"))
    assert os.path.isdir(host.paths.target("qla2xxx"))


def test_pci_and_class_symlinks_resolve(host: SimulatedHost) -> None:
    sysfs = host.paths.sysfs
    expected = {6: "0000:83:00.0", 7: "0000:83:00.1"}
    for host_no, bdf in expected.items():
        for cls in ("scsi_host", "fc_host"):
            link = os.path.join(sysfs, "class", cls, f"host{host_no}")
            assert os.readlink(link).startswith("../../devices/pci")
            real = os.path.realpath(link)
            assert os.path.isdir(real)
            parts = real.split(os.sep)
            # KERNEL-FORMATS 1.4: the component just above hostN is the PCI function.
            assert parts[-3] == f"host{host_no}" and parts[-4] == bdf and parts[-2] == cls
        dev = os.path.realpath(os.path.join(sysfs, "bus", "pci", "devices", bdf))
        assert os.path.basename(dev) == bdf
        assert read(os.path.join(dev, "vendor")) == "0x1077\n"
        assert read(os.path.join(dev, "class")) == "0x0c0400\n"
        drv = os.path.realpath(os.path.join(dev, "driver"))
        assert drv == os.path.realpath(os.path.join(sysfs, "bus", "pci", "drivers", "qla2xxx"))
        assert os.path.realpath(os.path.join(drv, bdf)) == dev
        # card 0 sits on NUMA node 1 = CPUs 4-7 of 8 on 2 nodes
        assert read(os.path.join(dev, "numa_node")) == "1\n"
        assert read(os.path.join(dev, "local_cpulist")) == "4-7\n"
    assert read(os.path.join(sysfs, "devices/system/node/node0/cpulist")) == "0-3\n"
    assert read(os.path.join(sysfs, "devices/system/cpu/online")) == "0-7\n"
    assert read(os.path.join(sysfs, "module/qla2xxx/parameters/qlini_mode")) == "disabled\n"


def test_msi_irqs_match_interrupts(host: SimulatedHost) -> None:
    lines = read(host.paths.proc("interrupts")).splitlines()
    by_name = {}
    for line in lines[1:]:
        m = re.match(r"^\s*(\d+):.*  (\S+)$", line)
        if m:
            by_name[m[2]] = int(m[1])
    msi = os.path.join(host.paths.sysfs, "bus/pci/devices/0000:83:00.1/msi_irqs")
    irqs = sorted(int(n) for n in os.listdir(msi))
    names = ["default", "rsp_q", "atio_q"] + [f"qpair{q}" for q in range(4)]
    assert irqs == sorted(by_name[f"qla2xxx7_{n}"] for n in names)
    for n in irqs:
        assert read(os.path.join(msi, str(n))) == "msix\n"


# --------------------------------------------------------------------------- interrupts


def test_interrupts_61_matches_real_capture_shape(tmp_path: Path) -> None:
    h = SimulatedHost(str(tmp_path), SimParams(cpus=2, numa_nodes=1, ports=2, qpairs=1))
    h.build()
    ours = read(h.paths.proc("interrupts")).splitlines()
    real = read(FIXTURES / "simulate" / "guest-interrupts-6.1.txt").splitlines()
    # header and the arch rows whose values are zero are byte-identical to the real 6.1 capture
    assert ours[0] == real[0]
    for tag in ("NMI:", "SPU:", "PMI:", "IWI:", "RTR:", "TRM:", "THR:", "DFR:", "MCE:", "ERR:"):
        assert [x for x in ours if x.startswith(tag)] == [x for x in real if x.startswith(tag)]
    assert ours[-3:] == real[-3:]  # PIN / NPI / PIW
    # an IO-APIC row: same columns as the real one
    timer = next(x for x in ours if x.endswith("  timer"))
    assert re.fullmatch(r"  0: {6,10}\d+ {6,10}\d+   IO-APIC   2-edge      timer", timer)
    # KERNEL-FORMATS 1.2: hwirq of 0000:83:00.1 MSI-X 0 is 68683776
    line = next(x for x in ours if x.endswith("qla2xxx7_default"))
    assert re.fullmatch(
        r" {0,2}\d+: +\d+ +\d+  IR-PCI-MSI 68683776-edge      qla2xxx7_default", line
    )
    assert any(x.endswith("IR-PCI-MSI 68683777-edge      qla2xxx7_rsp_q") for x in ours)


def test_interrupts_618_and_3x_shapes(tmp_path: Path) -> None:
    h = SimulatedHost(str(tmp_path / "a"), SimParams(cpus=2, numa_nodes=1, interrupts_shape="6.18"))
    h.build()
    text = read(h.paths.proc("interrupts"))
    # one blank between the last counter and the chip, as in the real 6.18 capture
    assert re.search(
        r"^ *\d+:(?: {1,10}\d+){2} IR-PCI-MSIX-0000:83:00\.1   0-edge      qla2xxx7_default$",
        text,
        re.M,
    )
    assert re.search(r"^ *\d+:(?: {1,10}\d+){2}  IO-APIC   2-edge      timer$", text, re.M)
    h = SimulatedHost(
        str(tmp_path / "b"),
        SimParams(cpus=2, numa_nodes=1, interrupts_shape="3.x", irq_names="legacy"),
    )
    h.build()
    text = read(h.paths.proc("interrupts"))
    rows = re.findall(r"^ *\d+: +\d+ +\d+  IR-PCI-MSI-edge      qla2xxx \(default\)$", text, re.M)
    assert len(rows) == 2  # one per port, same name: legacy names repeat
    assert re.search(r"IR-PCI-MSI-edge      qla2xxx \(multiq\)$", text, re.M)


def test_cpumask_formats_match_real_samples() -> None:
    # real 6.18 /proc/irq/36: 2 CPUs -> "3" / "0-1"
    assert cpumask_hex([0, 1], 2) == "3"
    assert cpulist([0, 1]) == "0-1"
    # real LinuxKI sample (448 CPUs): CPUs 353,355,357
    expected = ",".join(["00000000"] * 2 + ["0000002a"] + ["00000000"] * 11)
    assert cpumask_hex([353, 355, 357], 448) == expected
    assert cpulist([353, 355, 357]) == "353,355,357"
    assert cpumask_hex([0, 1, 2, 3], 8) == "0f"


def irq_files(host: SimulatedHost, name: str) -> dict[str, str]:
    text = read(host.paths.proc("interrupts"))
    irq = re.search(rf"^\s*(\d+):.*  {re.escape(name)}$", text, re.M)
    assert irq
    d = host.paths.proc("irq", irq[1])
    assert os.path.isdir(os.path.join(d, name))
    return {
        n: read(os.path.join(d, n)) for n in os.listdir(d) if os.path.isfile(os.path.join(d, n))
    }


def test_irq_affinity_balanced_skewed_remote(host: SimulatedHost) -> None:
    local = {4, 5, 6, 7}
    effective = set()
    for q in range(4):
        f = irq_files(host, f"qla2xxx7_qpair{q}")
        assert f["node"] == "1\n"
        assert f["spurious"] == "count 0\nunhandled 0\nlast_unhandled 0 ms\n"
        cpu = int(f["effective_affinity_list"])
        assert f["smp_affinity_list"] == f"{cpu}\n"  # pinned
        assert f["effective_affinity"] == f"{1 << cpu:02x}\n"
        effective.add(cpu)
    assert effective == local  # four qpairs round-robin over the node's four CPUs
    host.set_irq_spread("skewed")
    cpus = {int(irq_files(host, f"qla2xxx7_qpair{q}")["effective_affinity_list"]) for q in range(4)}
    assert len(cpus) == 1
    host.set_irq_spread("remote_numa")
    for q in range(4):
        f = irq_files(host, f"qla2xxx7_qpair{q}")
        assert int(f["effective_affinity_list"]) in {0, 1, 2, 3}


def qla_counts(host: SimulatedHost, name: str) -> list[int]:
    text = read(host.paths.proc("interrupts"))
    ncpu = len(text.splitlines()[0].split())
    m = re.search(rf"^\s*\d+:((?:\s+\d+){{{ncpu}}})\s.*  {re.escape(name)}$", text, re.M)
    assert m
    return [int(x) for x in m[1].split()]


def test_interrupt_counts_follow_io(host: SimulatedHost) -> None:
    before = {q: sum(qla_counts(host, f"qla2xxx7_qpair{q}")) for q in range(4)}
    atio0 = sum(qla_counts(host, "qla2xxx7_atio_q"))
    cmds0 = sum(lun.cmds for lun in host.port(1).luns)
    host.advance(10)
    cmds = sum(lun.cmds for lun in host.port(1).luns) - cmds0
    assert cmds > 1000
    atio = sum(qla_counts(host, "qla2xxx7_atio_q")) - atio0
    assert 0.5 * cmds < atio <= cmds
    for q in range(4):
        counts = qla_counts(host, f"qla2xxx7_qpair{q}")
        assert sum(counts) > before[q]
        # only the effective CPU receives interrupts
        cpu = int(irq_files(host, f"qla2xxx7_qpair{q}")["effective_affinity_list"])
        assert [i for i, c in enumerate(counts) if c] == [cpu]
    # the other port's vectors use the other function's names
    assert sum(qla_counts(host, "qla2xxx6_default")) > 0


# --------------------------------------------------------------------------- fc_host


def fc_dir(host: SimulatedHost, port: int) -> str:
    p = host.port(port)
    return os.path.join(host.paths.sysfs, "class", "fc_host", p.host)


def test_fc_host_attributes_and_statistics(host: SimulatedHost) -> None:
    d = fc_dir(host, 1)
    assert read(f"{d}/port_name") == "0x21000024ff314c49\n"
    assert read(f"{d}/port_state") == "Online\n"
    assert read(f"{d}/speed") == "16 Gbit\n"
    assert re.fullmatch(r"0x[0-9a-f]{6}\n", read(f"{d}/port_id"))
    assert read(f"{d}/port_type") == "NPort (fabric via point-to-point)\n"
    assert sorted(os.listdir(f"{d}/statistics")) == sorted(FC_STATS)
    for name in FC_STATS:
        if name == "reset_statistics":
            assert os.stat(f"{d}/statistics/{name}").st_mode & 0o777 == 0o200
            continue
        value = read(f"{d}/statistics/{name}")
        assert re.fullmatch(r"0x[0-9a-f]+\n", value), (name, value)
        if name in NEVER_FILLED:
            assert value == "0xffffffffffffffff\n"
        if name.startswith("fcp_") and name not in NEVER_FILLED:
            assert value == "0x0\n"  # target port: no initiator I/O
    sh = os.path.join(host.paths.sysfs, "class", "scsi_host", "host7")
    assert read(f"{sh}/link_state") == "Link Up - F_Port\n"
    assert read(f"{sh}/total_isp_aborts") == "0\n"


def test_link_down_up_state_and_kmsg(host: SimulatedHost) -> None:
    d = fc_dir(host, 1)
    fabric = read(f"{d}/fabric_name")
    lips = int(read(f"{d}/statistics/lip_count"), 16)
    failures = int(read(f"{d}/statistics/link_failure_count"), 16)
    n0 = len(kmsg_records(host))
    host.link_down(1)
    assert read(f"{d}/port_state") == "Linkdown\n"
    assert read(f"{d}/speed") == "unknown\n"
    assert read(f"{d}/port_id") == "0x000000\n"
    assert read(f"{d}/fabric_name") == fabric
    sh = os.path.join(host.paths.sysfs, "class", "scsi_host", "host7")
    assert read(f"{sh}/link_state") == "Link Down\n"
    assert int(read(f"{d}/statistics/link_failure_count"), 16) == failures + 1
    # the other port is untouched
    assert read(f"{fc_dir(host, 0)}/port_state") == "Online\n"
    host.advance(5)  # stays down: no automatic recovery of an explicit link_down
    assert read(f"{d}/port_state") == "Linkdown\n"
    host.link_up(1)
    assert read(f"{d}/port_state") == "Online\n"
    assert int(read(f"{d}/statistics/lip_count"), 16) == lips + 1
    recs = kmsg_records(host)[n0:]
    assert [r[3] for r in recs] == [
        "qla2xxx [0000:83:00.1]-500b:7: LOOP DOWN detected (2 7 0 0).",
        "qla2xxx [0000:83:00.1]-500a:7: LOOP UP detected (16 Gbps).",
    ]
    assert all(r[0] == 4 for r in recs)  # ql_log_info -> pr_warn, facility 0


def test_kmsg_records_and_extended_logging(tmp_path: Path) -> None:
    h = SimulatedHost(str(tmp_path), SimParams(extended_logging=True))
    h.build()
    recs = kmsg_records(h)
    assert recs[1][3] == (
        "qla2xxx [0000:00:00.0]-0005: : QLogic Fibre Channel HBA Driver: 10.02.07.900-k."
    )
    assert any(r[3].startswith("qla2xxx [0000:83:00.0]-00fb:6: QLogic QLE2692 - ") for r in recs)
    assert any("-00fc:7: ISP2261: PCIe (8.0GT/s x8) @ 0000:83:00.1" in r[3] for r in recs)
    # dev_printk records carry SUBSYSTEM/DEVICE continuation lines (printk.c, >= 5.10)
    raw = read(h.paths.kmsg)
    assert ";scsi host7: qla2xxx\n SUBSYSTEM=scsi\n DEVICE=+scsi:host7\n" in raw
    n0 = len(recs)
    h.flap(0)
    new = kmsg_records(h)[n0:]
    assert [r[3] for r in new] == [
        "qla2xxx [0000:83:00.0]-500b:6: LOOP DOWN detected (2 7 0 0).",
        "qla2xxx [0000:83:00.0]-5009:6: LIP occurred (f7f7).",
        "qla2xxx [0000:83:00.0]-580c:6: LIP reset occurred (f7f7).",
        "qla2xxx [0000:83:00.0]-500a:6: LOOP UP detected (16 Gbps).",
    ]
    all_recs = kmsg_records(h)
    seqs = [r[1] for r in all_recs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    usecs = [r[2] for r in all_recs]
    assert usecs == sorted(usecs)
    # a record with a given facility, escaped like printk does
    h.kmsg_write("user\\line\twith tab", level=6, facility=1)
    last = read(h.paths.kmsg).splitlines()[-1]
    assert last.startswith("14,") and last.endswith(";user\\x5cline\\x09with tab")


def test_automatic_flaps(tmp_path: Path) -> None:
    h = SimulatedHost(str(tmp_path), SimParams(flap_every=60.0))
    h.build()
    d = fc_dir(h, 0)
    lips = int(read(f"{d}/statistics/lip_count"), 16)
    n0 = len(kmsg_records(h))
    h.advance(100)  # 35 s -> 135 s: port 0 (phase 0) flaps at 60 and 120
    new = [r[3] for r in kmsg_records(h)[n0:] if "[0000:83:00.0]" in r[3]]
    assert (
        new
        == [
            "qla2xxx [0000:83:00.0]-500b:6: LOOP DOWN detected (2 7 0 0).",
            "qla2xxx [0000:83:00.0]-500a:6: LOOP UP detected (16 Gbps).",
        ]
        * 2
    )
    assert int(read(f"{d}/statistics/lip_count"), 16) == lips + 2
    assert read(f"{d}/port_state") == "Online\n"


# --------------------------------------------------------------------------- configfs


def tpg(host: SimulatedHost, port: int) -> str:
    return host.tpg_dir(port)


def test_configfs_names_match_real_dump(host: SimulatedHost, dump: dict[str, str]) -> None:
    core = host.paths.target("core")
    real_bs = {
        "iblock": TGT + "core/iblock_2/blk0/",
        "fileio": TGT + "core/fileio_0/disk0/",
        "rd_mcp": TGT + "core/rd_mcp_1/rd0/",
    }
    for bs in host.backstores:
        d = os.path.join(core, bs.hba_dir, bs.name)
        real = real_bs[bs.plugin]
        for sub in ("", "attrib/", "pr/", "wwn/", "alua/default_tg_pt_gp/"):
            ours = set(os.listdir(d + "/" + sub))
            want = dump_names(dump, real + sub)
            if sub == "":
                want -= {"control"}  # write-only, left out
            assert ours == want, (bs.plugin, sub)
        for grp in ("scsi_dev", "scsi_tgt_dev", "scsi_lu"):
            assert set(os.listdir(f"{d}/statistics/{grp}")) == dump_names(
                dump, f"{real}statistics/{grp}/"
            )
        for name in dump_names(dump, real + "pr/"):
            assert read(f"{d}/pr/{name}") == dump[f"{real}pr/{name}"].replace("\\n", "\n") + "\n"
        if bs.plugin == "fileio":
            for name in dump_names(dump, real + "attrib/"):
                if name not in ("block_size",):
                    assert read(f"{d}/attrib/{name}") == dump[f"{real}attrib/{name}"] + "\n"
    lun0 = os.path.join(tpg(host, 0), "lun", "lun_0")
    real_lun = TGT + "loopback/naa.50014050000000a1/tpgt_1/lun/lun_0/"
    for grp in ("scsi_port", "scsi_tgt_port", "scsi_transport"):
        assert set(os.listdir(f"{lun0}/statistics/{grp}")) == dump_names(
            dump, f"{real_lun}statistics/{grp}/"
        )
    ours = {n for n in os.listdir(lun0) if not os.path.islink(os.path.join(lun0, n))}
    assert ours == {
        n for n in dump_names(dump, real_lun) if not dump.get(real_lun + n, "").startswith("->")
    }
    assert (
        read(f"{lun0}/alua_tg_pt_gp")
        == dump[real_lun + "alua_tg_pt_gp"].replace("\\n", "\n") + "\n"
    )
    acl = os.path.join(tpg(host, 0), "acls", host.acl(0, 0).name)
    assert sorted(os.listdir(acl)) == sorted(
        ["attrib", "auth", "param", "fabric_statistics"]
        + [f"lun_{m.mapped_lun}" for m in host.acl(0, 0).mapped]
    )  # no "info" for qla2xxx
    real_acl = TGT + "iscsi/iqn.2003-01.org.linux-iscsi.kvmlab:tgt0/tpgt_1/acls/"
    real_acl += "iqn.1994-05.com.example:kvmlab-init/lun_0/statistics/"
    for grp in ("scsi_auth_intr", "scsi_att_intr_port"):
        assert set(os.listdir(f"{acl}/lun_0/statistics/{grp}")) == dump_names(
            dump, f"{real_acl}{grp}/"
        )


def test_configfs_value_formats(host: SimulatedHost, dump: dict[str, str]) -> None:
    bs = host.backstores[1]  # fileio
    assert bs.plugin == "fileio"
    d = host.paths.target("core", bs.hba_dir, bs.name, "statistics")
    # scsi_tgt_dev/status has no newline (target_core_stat.c), like the real dump
    assert read(f"{d}/scsi_tgt_dev/status") == "activated"
    real = TGT + "core/fileio_0/disk0/statistics/"
    assert dump[real + "scsi_tgt_dev/status"] == "activated"
    assert read(f"{d}/scsi_lu/vend") == dump[real + "scsi_lu/vend"] + "\n" == "LIO-ORG \n"
    assert read(f"{d}/scsi_lu/rev") == dump[real + "scsi_lu/rev"] + "\n" == "4.0 \n"
    assert read(f"{d}/scsi_lu/prod") == f"{bs.name:<16}\n"
    assert read(f"{d}/scsi_lu/lu_name") == f"{bs.serial}\n"
    for name in ("role", "status", "state_bit"):
        grp = "scsi_dev" if name == "role" else "scsi_lu"
        assert read(f"{d}/{grp}/{name}") == dump[f"{real}{grp}/{name}"] + "\n"
    info = read(host.paths.target("core", bs.hba_dir, bs.name, "info"))
    assert re.fullmatch(
        r"Status: ACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 16384\n"
        r"        TCM FILEIO ID: 0        File: \S+  Size: \d+  Mode: Buffered-WCE Async: 0\n",
        info,
    )
    w = host.port(0).wwpn_colon
    assert w == "21:00:00:24:ff:31:4c:48"
    st = os.path.join(tpg(host, 0), "lun", "lun_0", "statistics")
    assert read(f"{st}/scsi_tgt_port/name") == "qla2xxxPort#1\n"
    assert read(f"{st}/scsi_tgt_port/port_index") == "naa.21000024ff314c48+t+1\n"
    assert read(f"{st}/scsi_transport/device") == "scsiTransportqla2xxx\n"
    assert read(f"{st}/scsi_transport/proto_id") == "0\n"
    lun0_bs = host.lun(0, 0).backstore
    assert read(f"{st}/scsi_transport/dev_name") == f"naa.21000024ff314c48+{lun0_bs.serial}\n"
    assert read(f"{st}/scsi_port/role") == f"Device{lun0_bs.dev_index}\n"
    t = tpg(host, 0)
    dyn = host.port(0).dynamic[0].name
    with open(f"{t}/dynamic_sessions", "rb") as f:
        assert f.read() == f"{dyn}\n\0".encode()
    assert read(f"{t}/enable") == "1\n"
    assert read(f"{t}/attrib/generate_node_acls") == "1\n"
    # tcm_qla2xxx.c tcm_qla2xxx_tpg_attrib_attrs[] (6.1, no CONFIG_TCM_QLA2XXX_DEBUG)
    assert set(os.listdir(f"{t}/attrib")) == {
        "generate_node_acls",
        "cache_dynamic_acls",
        "demo_mode_write_protect",
        "prod_mode_write_protect",
        "demo_mode_login_only",
    }
    assert set(os.listdir(t)) == {
        "enable",
        "dynamic_sessions",
        "fabric_prot_type",
        "attrib",
        "auth",
        "param",
        "np",
        "lun",
        "acls",
    }
    version = read(host.paths.target("version"))
    assert version.startswith("Target Engine Core ConfigFS Infrastructure v5.0 on Linux/x86_64")


def test_configfs_symlinks_resolve(host: SimulatedHost) -> None:
    for port in host.ports:
        t = tpg(host, port.index)
        for lun in port.luns:
            d = os.path.join(t, "lun", f"lun_{lun.lun}")
            links = [n for n in os.listdir(d) if os.path.islink(os.path.join(d, n))]
            assert len(links) == 1 and re.fullmatch(r"[0-9a-f]{10}", links[0])
            target = os.readlink(os.path.join(d, links[0]))
            assert target == f"../../../../../../target/core/{lun.backstore.path}"
            assert os.path.realpath(os.path.join(d, links[0])) == host.paths.target(
                "core", lun.backstore.path
            )
        for acl in port.acls:
            for m in acl.mapped:
                d = os.path.join(t, "acls", acl.name, f"lun_{m.mapped_lun}")
                links = [n for n in os.listdir(d) if os.path.islink(os.path.join(d, n))]
                assert len(links) == 1
                real = os.path.realpath(os.path.join(d, links[0]))
                assert real == os.path.join(t, "lun", f"lun_{m.lun.lun}")


def mapped_stats(host: SimulatedHost, port: int, acl: int, mapped: int) -> dict[str, str]:
    a = host.acl(port, acl)
    d = os.path.join(tpg(host, port), "acls", a.name, f"lun_{mapped}", "statistics")
    out = {}
    for grp in ("scsi_auth_intr", "scsi_att_intr_port"):
        for n in os.listdir(f"{d}/{grp}"):
            out[f"{grp}/{n}"] = read(f"{d}/{grp}/{n}")
    return out


def test_io_counters_consistent(tmp_path: Path) -> None:
    h = SimulatedHost(str(tmp_path), SimParams(dynamic_sessions=0))
    h.build()
    h.advance(30)
    h.advance(7.5)
    for port in h.ports:
        t = tpg(h, port.index)
        per_lun: dict[int, list[int]] = {}
        for acl in port.acls:
            d = os.path.join(t, "acls", acl.name)
            for m in acl.mapped:
                st = f"{d}/lun_{m.mapped_lun}/statistics/scsi_auth_intr"
                cmds = int(read(f"{st}/num_cmds"))
                assert cmds == m.cmds > 0
                assert int(read(f"{st}/read_mbytes")) == m.read_bytes >> 20
                assert int(read(f"{st}/write_mbytes")) == m.write_bytes >> 20
                # which TPG LUN this mapping uses, from the symlink
                link = next(x for x in os.scandir(f"{d}/lun_{m.mapped_lun}") if x.is_symlink())
                n = int(os.path.basename(os.path.realpath(link.path))[4:])
                acc = per_lun.setdefault(n, [0, 0, 0])
                acc[0] += cmds
                acc[1] += m.read_bytes
                acc[2] += m.write_bytes
        for lun in port.luns:
            st = os.path.join(t, "lun", f"lun_{lun.lun}", "statistics", "scsi_tgt_port")
            cmds, rb, wb = per_lun.get(lun.lun, [0, 0, 0])
            assert int(read(f"{st}/in_cmds")) == cmds
            assert int(read(f"{st}/read_mbytes")) == rb >> 20
            assert int(read(f"{st}/write_mbytes")) == wb >> 20
            assert h.expected_lun_totals(port.index, lun.lun) == (cmds, rb, wb)
    for bs in h.backstores:
        d = h.paths.target("core", bs.hba_dir, bs.name, "statistics")
        luns = [lun for p in h.ports for lun in p.luns if lun.backstore is bs]
        assert int(read(f"{d}/scsi_lu/num_cmds")) == sum(x.cmds for x in luns)
        assert int(read(f"{d}/scsi_lu/read_mbytes")) == sum(x.read_bytes for x in luns) >> 20
        assert int(read(f"{d}/scsi_lu/write_mbytes")) == sum(x.write_bytes for x in luns) >> 20
        assert h.backstore_totals(bs.index) == (
            sum(x.cmds for x in luns),
            sum(x.read_bytes for x in luns),
            sum(x.write_bytes for x in luns),
        )
        assert read(f"{d}/scsi_dev/ports") == f"{len(luns)}\n"


def test_dynamic_sessions_count_in_lun_not_acls(host: SimulatedHost) -> None:
    host.advance(20)
    port = host.port(0)
    acl_cmds = sum(m.cmds for a in port.acls for m in a.mapped)
    lun_cmds = sum(
        int(
            read(
                os.path.join(
                    tpg(host, 0), "lun", f"lun_{x.lun}", "statistics", "scsi_tgt_port", "in_cmds"
                )
            )
        )
        for x in port.luns
    )
    assert lun_cmds == acl_cmds + sum(d.cmds for d in port.dynamic)
    assert sum(d.cmds for d in port.dynamic) > 0


def test_sessions_logout_login_and_link(host: SimulatedHost) -> None:
    acl = host.acl(0, 2)
    s = mapped_stats(host, 0, 2, 0)
    assert s["scsi_att_intr_port/port_ident"] == f"{acl.name}+i+\n"
    assert s["scsi_att_intr_port/indx"] == "0\n"
    host.logout(0, 2)
    for m in acl.mapped:
        s = mapped_stats(host, 0, 2, m.mapped_lun)
        assert s["scsi_att_intr_port/port_ident"] == ""
        assert s["scsi_att_intr_port/indx"] == ""
        assert s["scsi_att_intr_port/port_auth_indx"] == f"{acl.acl_index}\n"
    frozen = mapped_stats(host, 0, 2, 0)["scsi_auth_intr/num_cmds"]
    host.advance(10)
    assert mapped_stats(host, 0, 2, 0)["scsi_auth_intr/num_cmds"] == frozen
    assert mapped_stats(host, 0, 1, 0)["scsi_att_intr_port/port_ident"] != ""
    host.link_down(0)
    assert mapped_stats(host, 0, 1, 0)["scsi_att_intr_port/port_ident"] == ""
    assert read(os.path.join(tpg(host, 0), "dynamic_sessions")) == ""
    host.link_up(0)
    assert mapped_stats(host, 0, 1, 0)["scsi_att_intr_port/port_ident"] != ""
    assert mapped_stats(host, 0, 2, 0)["scsi_att_intr_port/port_ident"] == ""  # still logged out
    host.login(0, 2)
    assert mapped_stats(host, 0, 2, 0)["scsi_att_intr_port/port_ident"] == f"{acl.name}+i+\n"


def test_remove_lun(host: SimulatedHost) -> None:
    t = tpg(host, 0)
    victim = host.lun(0, 1)
    bs = victim.backstore
    users = [(a, m) for a in host.port(0).acls for m in a.mapped if m.lun is victim]
    assert users
    host.remove_lun(0, 1)
    assert not os.path.exists(os.path.join(t, "lun", "lun_1"))
    for a, m in users:
        assert not os.path.exists(os.path.join(t, "acls", a.name, f"lun_{m.mapped_lun}"))
    core = host.paths.target("core", bs.hba_dir, bs.name)
    assert read(f"{core}/statistics/scsi_dev/ports") == "0\n"
    assert read(f"{core}/alua/default_tg_pt_gp/members") == ""
    host.advance(5)  # still consistent afterwards
    for a in host.port(0).acls:
        for m in a.mapped:
            d = os.path.join(t, "acls", a.name, f"lun_{m.mapped_lun}")
            assert os.path.exists(d) == (m.lun is not victim)


# --------------------------------------------------------------------------- atomicity


def test_concurrent_reads_never_see_partial_files(tmp_path: Path) -> None:
    h = SimulatedHost(str(tmp_path), SimParams(cpus=32, numa_nodes=2, qpairs=8))
    h.build()
    counter = os.path.join(tpg(h, 0), "lun", "lun_0", "statistics", "scsi_tgt_port", "in_cmds")
    stop = threading.Event()
    bad: list[str] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            c = read(counter)
            if not re.fullmatch(r"\d+\n", c):
                bad.append(c)
            text = read(h.paths.proc("interrupts"))
            if not (text.startswith(" ") and text.endswith("Posted-interrupt wakeup event\n")):
                bad.append(text[-80:])
            for name in os.listdir(os.path.dirname(counter)):
                if name not in {
                    "inst",
                    "dev",
                    "indx",
                    "name",
                    "port_index",
                    "in_cmds",
                    "write_mbytes",
                    "read_mbytes",
                    "hs_in_cmds",
                }:
                    bad.append(name)
            reads[0] += 1

    th = threading.Thread(target=reader)
    th.start()
    try:
        for _ in range(25):
            h.advance(1)
    finally:
        stop.set()
        th.join()
    assert reads[0] > 10
    assert bad == []


# --------------------------------------------------------------------------- hosts


def test_large_host_builds(tmp_path: Path) -> None:
    params = SimParams(
        ports=8,
        cpus=256,
        numa_nodes=8,
        qpairs=16,
        luns=256,
        initiators=16,
        mapped_luns_per_initiator=32,
    )
    h = SimulatedHost(str(tmp_path), params)
    h.build()
    h.advance(10)
    mapped = 0
    for port in h.ports:
        acls = os.path.join(tpg(h, port.index), "acls")
        for name in os.listdir(acls):
            mapped += sum(1 for n in os.listdir(os.path.join(acls, name)) if n.startswith("lun_"))
    assert mapped == 4096
    lines = read(h.paths.proc("interrupts")).splitlines()
    assert lines[0].split() == [f"CPU{c}" for c in range(256)]
    assert lines[0].startswith(" " * 12 + "CPU0 ")  # prec 4 (nr_irqs >= 1000) + 8
    qla = [x for x in lines if re.search(r"  qla2xxx\d+_\w+$", x)]
    assert len(qla) == 8 * (3 + 16)
    assert all(len(x.split()) == 1 + 256 + 3 for x in qla)
    # 8 cards' ports on their own NUMA nodes; qpairs stay on the port's node
    f = irq_files(h, "qla2xxx13_qpair5")
    node = int(f["node"])
    node_cpus = read(os.path.join(h.paths.sysfs, f"devices/system/node/node{node}/cpulist"))
    lo, hi = (int(x) for x in node_cpus.strip().split("-"))
    assert lo <= int(f["effective_affinity_list"]) <= hi


def test_demo_host(tmp_path: Path) -> None:
    h = SimulatedHost.demo(str(tmp_path))
    assert h.params.flap_every > 0
    assert h.now > 35
    s = mapped_stats(h, 0, h.params.initiators - 1, 0)
    assert s["scsi_att_intr_port/port_ident"] == ""
    h.advance(240)  # two flap periods
    assert sum("LOOP DOWN" in r[3] for r in kmsg_records(h)) >= 2 * len(h.ports)


def test_exporter_collectors_succeed_on_simulated_host(tmp_path: Path) -> None:
    from exporter.cli import collect_once, make_collectors
    from exporter.flags import build_parser
    from exporter.logsetup import LOG, RateLimitedLog
    from exporter.scrape import Scraper

    h = SimulatedHost(str(tmp_path), SimParams())
    h.build()
    h.advance(10)
    h.logout(1, 0)
    args = build_parser().parse_args([])
    scraper = Scraper(make_collectors(args, h.paths), 10.0, RateLimitedLog(LOG))
    body, failed = asyncio.run(collect_once(scraper))
    assert failed == []
    text = body.decode()
    assert 'fctarget_scrape_collector_success{collector="lio"} 1.0' in text
    assert re.search(r'fctarget_fc_host_link_up\{[^}]*host="host7"[^}]*\} 1\.0', text)
