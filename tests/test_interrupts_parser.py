"""/proc/interrupts, cpulist/cpumask and qla2xxx vector-name parsers on real and built files."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.parsers.cpulist import (
    format_cpulist,
    format_cpumask,
    parse_cpulist,
    parse_cpumask,
)
from exporter.parsers.interrupts import (
    IrqLine,
    QlaVector,
    classify_qla2xxx,
    parse_interrupts,
    parse_irq_line,
    qla2xxx_vectors,
)
from tests.fixtures.interrupts.make_qla_fixtures import Irq, header, line

FIX = Path(__file__).parent / "fixtures" / "interrupts"


def load(name: str) -> str:
    return (FIX / name).read_text()


def by_irq(text: str) -> dict[int, IrqLine]:
    return {ln.irq: ln for ln in parse_interrupts(text).lines}


# ------------------------------------------------------------------ real captures


def test_real_61_guest() -> None:
    parsed = parse_interrupts(load("real-6.1-guest.txt"))
    assert parsed.cpus == (0, 1)
    assert parsed.malformed == ()
    assert [ln.irq for ln in parsed.lines] == [0, 1, 4, 8, 9, 12, *range(24, 34)]
    lines = {ln.irq: ln for ln in parsed.lines}
    assert lines[0] == IrqLine(0, (100, 0), "IO-APIC", 2, None, "edge", ("timer",))
    assert lines[9].handler == "fasteoi"
    assert lines[27] == IrqLine(
        27, (0, 9308), "PCI-MSI", 49153, None, "edge", ("virtio1-requests",)
    )
    # arch rows (NMI, LOC, ..., ERR/MIS with one number) are not IRQ lines
    assert all(not any(a.startswith("Non-maskable") for a in ln.actions) for ln in parsed.lines)
    assert all(qla2xxx_vectors(ln) == () for ln in parsed.lines)


def test_real_618_per_device_msix() -> None:
    parsed = parse_interrupts(load("real-6.18-virtio-pci-msix.txt"))
    assert parsed.cpus == (0, 1)
    assert len(parsed.lines) == 19
    lines = {ln.irq: ln for ln in parsed.lines}
    assert lines[36] == IrqLine(
        36, (0, 120707), "PCI-MSIX-0000:00:02.0", 1, None, "edge", ("virtio1-req.0",)
    )
    assert lines[24].chip == "IO-APIC" and lines[24].actions == ("ACPI:Ged",)
    assert lines[32].counts == (265, 0) and lines[32].hwirq == 4
    assert parsed.counts_by_cpu(lines[36]) == {0: 0, 1: 120707}


# ------------------------------------------------------------------ constructed qla2xxx files


# The three chip/hwirq shapes exactly as the issue and kernel/irq/proc.c print them (per CPU
# "%10u ", chip " %8s", hwirq " %*d" when the IRQ has a domain, flow "-%-8s", then "  action"),
# with and without the IR- (interrupt remapping) prefix.
_HDR = "           CPU0       CPU1       \n"


@pytest.mark.parametrize(
    ("row", "chip", "hwirq", "vector"),
    [
        # <= 4.2: no irq domain for x86 MSI, so no hwirq; LIO wiki era names
        (
            " 74:         15          0   PCI-MSI-edge      qla2xxx (default)",
            "PCI-MSI",
            None,
            QlaVector("qla2xxx (default)", "default", None),
        ),
        (
            " 75:          0       5000  IR-PCI-MSI-edge      qla2xxx (rsp_q)",
            "IR-PCI-MSI",
            None,
            QlaVector("qla2xxx (rsp_q)", "rsp_q", None),
        ),
        # 4.3 - 6.1: hierarchical domains, hwirq = msi index | pci_dev_id << 11 (1048576: index
        # 0 of 0000:02:00.0; 524290: index 2 of 0000:01:00.0)
        (
            " 83:       1234          0   PCI-MSI 1048576-edge      qla2xxx3_default",
            "PCI-MSI",
            1048576,
            QlaVector("qla2xxx3_default", "default", 3),
        ),
        (
            " 84:          7          0  IR-PCI-MSI 524290-edge      qla2xxx3_atio_q",
            "IR-PCI-MSI",
            524290,
            QlaVector("qla2xxx3_atio_q", "atio_q", 3),
        ),
        # 6.2+: per-device MSI domains, hwirq = the MSI-X table index
        (
            " 85:          0        999  PCI-MSIX-0000:02:00.0   3-edge      qla2xxx3_qpair0",
            "PCI-MSIX-0000:02:00.0",
            3,
            QlaVector("qla2xxx3_qpair0", "qpair0", 3),
        ),
        (
            " 86:          0          1  IR-PCI-MSIX-0000:83:00.1   0-edge      qla2xxx7_default",
            "IR-PCI-MSIX-0000:83:00.1",
            0,
            QlaVector("qla2xxx7_default", "default", 7),
        ),
    ],
)
def test_the_three_chip_shapes(row: str, chip: str, hwirq: int | None, vector: QlaVector) -> None:
    parsed = parse_interrupts(_HDR + row + "\n")
    assert parsed.malformed == ()
    (ln,) = parsed.lines
    assert ln.irq == int(row.split(":", maxsplit=1)[0])
    assert ln.counts == tuple(int(x) for x in row.split(":", 1)[1].split()[:2])
    assert (ln.chip, ln.hwirq, ln.handler) == (chip, hwirq, "edge")
    assert qla2xxx_vectors(ln) == (vector,)


def test_legacy_names_duplicated_for_two_ports() -> None:
    lines = by_irq(load("qla-3.10-legacy-2ports.txt"))
    assert lines[74] == IrqLine(
        74, (15, 0, 0, 0), "IR-PCI-MSI", None, None, "edge", ("qla2xxx (default)",)
    )
    assert lines[0].chip == "IO-APIC" and lines[0].handler == "edge" and lines[0].hwirq is None
    assert lines[9].chip == "IO-APIC" and lines[9].handler == "fasteoi"
    names = {irq: [v.vector for v in qla2xxx_vectors(ln)] for irq, ln in lines.items()}
    assert names == {
        0: [],
        9: [],
        74: ["default"],
        75: ["rsp_q"],
        76: ["multiq"],
        77: ["default"],
        78: ["rsp_q"],
        79: ["multiq"],
        80: [],
    }
    assert all(v.host_no is None for ln in lines.values() for v in qla2xxx_vectors(ln))
    assert lines[78].counts == (0, 0, 0, 4000)


def test_modern_names_noncontiguous_cpus_freed_and_shared() -> None:
    parsed = parse_interrupts(load("qla-4.19-modern-noncontig.txt"))
    assert parsed.cpus == (0, 1, 3, 4)
    lines = {ln.irq: ln for ln in parsed.lines}
    assert lines[112] == IrqLine(
        112, (0, 0, 9000, 1), "IR-PCI-MSI", 68681730, None, "edge", ("qla2xxx7_atio_q",)
    )
    assert parsed.counts_by_cpu(lines[113]) == {0: 0, 1: 0, 3: 0, 4: 12345}
    assert lines[114].counts[0] == 4294967295  # a %10u counter at its widest
    assert lines[120].hwirq == 0x8301 << 11
    assert lines[124].actions == () and lines[124].counts == (0, 0, 1, 0)
    assert lines[16].actions == ("ehci_hcd:usb1", "qla2xxx")
    assert qla2xxx_vectors(lines[16]) == (QlaVector("qla2xxx", "legacy", None),)
    got = {irq: qla2xxx_vectors(ln) for irq, ln in lines.items() if qla2xxx_vectors(ln)}
    assert {irq: (v[0].host_no, v[0].vector) for irq, v in got.items()} == {
        16: (None, "legacy"),
        110: (7, "default"),
        111: (7, "rsp_q"),
        112: (7, "atio_q"),
        113: (7, "qpair0"),
        114: (7, "qpair1"),
        120: (8, "default"),
        121: (8, "rsp_q"),
        122: (8, "atio_q"),
        123: (8, "qpair0"),
    }


def test_612_per_device_msix_wide_irq_numbers() -> None:
    parsed = parse_interrupts(load("qla-6.12-msix.txt"))
    lines = {ln.irq: ln for ln in parsed.lines}
    assert sorted(lines) == [1, 1083, 1084, 1085, 1086, 1087]
    assert lines[1084] == IrqLine(
        1084, (0, 4711), "IR-PCI-MSIX-0000:83:00.1", 1, None, "edge", ("qla2xxx7_rsp_q",)
    )
    assert lines[1].chip == "IR-IO-APIC"


def test_613_one_space_less() -> None:
    lines = by_irq(load("qla-6.13-msix.txt"))
    assert lines[47] == IrqLine(
        47, (0, 99), "PCI-MSIX-0000:5e:00.0", 3, None, "edge", ("qla2xxx12_qpair60",)
    )
    assert qla2xxx_vectors(lines[47]) == (QlaVector("qla2xxx12_qpair60", "qpair60", 12),)
    assert lines[24].actions == ("ACPI:Ged",)


def test_arm64_level_edge_column() -> None:
    parsed = parse_interrupts(load("qla-arm64-6.1.txt"))
    lines = {ln.irq: ln for ln in parsed.lines}
    assert sorted(lines) == [11, 14, 55, 56, 57]  # IPI0/IPI1/Err rows skipped
    assert lines[11] == IrqLine(11, (5000, 4800), "GICv3", 27, "Level", None, ("arch_timer",))
    assert lines[14].actions == ("kvm guest ptimer",)
    assert lines[56] == IrqLine(56, (0, 1024), "ITS-MSI", 524289, "Edge", None, ("qla2xxx3_rsp_q",))
    assert lines[57] == IrqLine(57, (6, 0), "GICv3", 40, "Level", "fasteoi", ("qla2xxx",))


def test_xen_style_handler_without_hwirq() -> None:
    ln = parse_irq_line(" 64:       1234          0   xen-percpu    -virq      timer0", 2)
    assert ln == IrqLine(64, (1234, 0), "xen-percpu", None, None, "virq", ("timer0",))


def test_malformed_lines_are_reported_not_fatal() -> None:
    text = "           CPU0       CPU1\n 10:   5   6  PCI-MSI 1-edge  a\n 11:   7\n"
    parsed = parse_interrupts(text)
    assert [ln.irq for ln in parsed.lines] == [10]
    assert parsed.malformed == (" 11:   7",)


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "garbage\n", " 10: 1 2 x\n", "CPU0 CPU0\n", "CPU0 CPUx\n"],
)
def test_bad_header_raises_valueerror(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interrupts(text)


# ------------------------------------------------------------------ qla2xxx names


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("qla2xxx7_default", QlaVector("qla2xxx7_default", "default", 7)),
        ("qla2xxx0_rsp_q", QlaVector("qla2xxx0_rsp_q", "rsp_q", 0)),
        ("qla2xxx123_atio_q", QlaVector("qla2xxx123_atio_q", "atio_q", 123)),
        ("qla2xxx12_qpair61", QlaVector("qla2xxx12_qpair61", "qpair61", 12)),
        ("qla2xxx (default)", QlaVector("qla2xxx (default)", "default", None)),
        ("qla2xxx (rsp_q)", QlaVector("qla2xxx (rsp_q)", "rsp_q", None)),
        ("qla2xxx (atio_q)", QlaVector("qla2xxx (atio_q)", "atio_q", None)),
        ("qla2xxx (multiq)", QlaVector("qla2xxx (multiq)", "multiq", None)),
        ("qla2xxx", QlaVector("qla2xxx", "legacy", None)),
        ("qla2xxx12_qpair6", QlaVector("qla2xxx12_qpair6", "qpair6", 12)),
        ("qla2xxx7_foo", None),
        ("qla2xxx_default", None),
        ("qla2xxx (qpair0)", None),
        ("qla4xxx", None),
        ("qla2xxx7_default ", None),
        ("nvme0q1", None),
    ],
)
def test_classify(action: str, expected: QlaVector | None) -> None:
    assert classify_qla2xxx(action) == expected


# ------------------------------------------------------------------ cpu lists and masks


def test_cpulist_forms() -> None:
    assert parse_cpulist("0-3,8,10-11\n") == (0, 1, 2, 3, 8, 10, 11)
    assert parse_cpulist("353,355,357") == (353, 355, 357)
    assert parse_cpulist("\n") == ()
    assert format_cpulist((11, 10, 0, 1, 2, 3, 8)) == "0-3,8,10-11"
    assert format_cpulist(()) == ""


def test_cpumask_real_linuxki_sample() -> None:
    # real-world/irqnames-qla2xxx-linuxki-issue51.txt: mask and list of the same IRQ
    words = ["00000000"] * 14
    words[2] = "0000002a"
    assert parse_cpumask(",".join(words)) == (353, 355, 357)
    words[2] = "00000a80"
    assert parse_cpumask(",".join(words)) == (359, 361, 363)
    assert parse_cpumask("3\n") == (0, 1)  # procirq-msi_irqs-local-6.18.txt smp_affinity
    assert parse_cpumask("2\n") == (1,)  # ... and its effective_affinity (list "1")


@pytest.mark.parametrize("text", ["a", "1-", "-1", "3-1", "1,,2", "0-99999999", "1 2", "١"])
def test_cpulist_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cpulist(text)


@pytest.mark.parametrize("text", ["", "xyz", "123456789", "1,,2", "0x3"])
def test_cpumask_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cpumask(text)


@given(st.sets(st.integers(0, 600), max_size=60))
def test_cpulist_roundtrip(cpus: set[int]) -> None:
    text = format_cpulist(cpus)
    assert parse_cpulist(text) == tuple(sorted(cpus))
    words = []
    value = sum(1 << c for c in cpus)
    for _ in range(max(1, (max(cpus, default=0) // 32) + 1)):
        words.append(f"{value & 0xFFFFFFFF:08x}")
        value >>= 32
    assert parse_cpumask(",".join(reversed(words))) == tuple(sorted(cpus))


@given(st.sets(st.integers(0, 600), max_size=60), st.integers(0, 70))
def test_cpumask_format_roundtrip(cpus: set[int], spare: int) -> None:
    nr_cpu_ids = max(cpus, default=0) + 1 + spare
    text = format_cpumask(cpus, nr_cpu_ids)
    assert len(text.split(",")) == (nr_cpu_ids + 31) // 32
    assert parse_cpumask(text) == tuple(sorted(cpus))


# ------------------------------------------------------------------ properties

_CHIPS = ["IO-APIC", "IR-PCI-MSI", "PCI-MSI", "IR-PCI-MSIX-0000:83:00.1", "GICv3", "ITS-MSI"]
_ACTIONS = ["qla2xxx7_default", "qla2xxx (rsp_q)", "qla2xxx", "virtio1-req.0", "kvm guest ptimer"]


@settings(max_examples=300)
@given(
    cpus=st.lists(st.integers(0, 300), min_size=1, max_size=6, unique=True).map(sorted),
    irq=st.integers(0, 99999),
    counts_seed=st.lists(st.integers(0, 2**32 - 1), min_size=6, max_size=6),
    chip=st.sampled_from(_CHIPS),
    hwirq=st.one_of(st.none(), st.integers(0, 2**31 - 1)),
    handler=st.sampled_from([None, "edge", "fasteoi"]),
    level=st.sampled_from([None, "Level", "Edge"]),
    actions=st.lists(st.sampled_from(_ACTIONS), max_size=3),
    era=st.sampled_from(["4.19", "6.12", "6.13"]),
    prec=st.integers(3, 5),
)
def test_any_kernel_shape_round_trips(  # noqa: PLR0913, PLR0917 - one per hypothesis strategy
    cpus: list[int],
    irq: int,
    counts_seed: list[int],
    chip: str,
    hwirq: int | None,
    handler: str | None,
    level: str | None,
    actions: list[str],
    era: str,
    prec: int,
) -> None:
    counts = counts_seed[: len(cpus)]
    spec = Irq(irq, counts, chip, hwirq, handler, actions, level)
    parsed = parse_interrupts(header(cpus, prec) + line(spec, prec, era) + "ERR:          0\n")
    assert parsed.cpus == tuple(cpus)
    assert parsed.lines == (
        IrqLine(irq, tuple(counts), chip, hwirq, level, handler, tuple(actions)),
    )


@settings(max_examples=400)
@given(st.text(max_size=400))
def test_garbage_never_raises_other_than_valueerror(text: str) -> None:
    for parse in (parse_interrupts, parse_cpulist, parse_cpumask):
        with contextlib.suppress(ValueError):
            parse(text)
    classify_qla2xxx(text)


@settings(max_examples=300)
@given(st.lists(st.text(alphabet=" 0123456789:-,CPUabqlx2()_\t", max_size=80), max_size=8))
def test_numeric_garbage_lines(lines: list[str]) -> None:
    try:
        parsed = parse_interrupts("           CPU0       CPU1\n" + "\n".join(lines))
    except ValueError:
        return
    for ln in parsed.lines:
        assert len(ln.counts) == 2


def test_keep_prefilter_skips_other_lines_unparsed() -> None:
    text = load("qla-4.19-modern-noncontig.txt") + " 77: garbage that would be malformed\n"
    parsed = parse_interrupts(text, keep=lambda ln: "qla2xxx" in ln)
    assert [ln.irq for ln in parsed.lines] == [16, 110, 111, 112, 113, 114, 120, 121, 122, 123]
    assert parsed.malformed == ()
    assert parse_interrupts(text).malformed == (" 77: garbage that would be malformed",)
