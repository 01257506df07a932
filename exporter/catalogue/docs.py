"""docs/metrics.md, generated from the catalogue: `python -m exporter.catalogue.docs`."""

from __future__ import annotations

import sys
from pathlib import Path

from exporter.catalogue import load_all
from exporter.catalogue.spec import PREFIXES, Metric

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

_INTRO = """\
# Metrics reference

Generated from the catalogue in `exporter/catalogue/` by `make docs`; do not edit by hand
(a test fails when this file is stale). Names and labels are the exporter's public API: a rename
is recorded in CHANGELOG.md.

## Naming rule

`fctarget_<subsystem>_<what>[_<unit>][_total|_info]`. The subsystem is the one an operator
thinks in, and it names the collector that serves the family:

| prefix | collector | what |
|---|---|---|
| `fctarget_fc_host_` | fc_host | an FC port as the FC transport (`/sys/class/fc_host`) and qla2xxx (`/sys/class/scsi_host`) describe it |
| `fctarget_fc_vport_` | fc_vport | NPIV virtual ports (`/sys/class/fc_vports`) and their parent port |
| `fctarget_sfp_` | sfp | the port's SFP module: identity and SFF-8472 diagnostics with the module's own thresholds |
| `fctarget_hba_` | hba | the HBA's PCI function: identity, NUMA node |
| `fctarget_irq_` | interrupts | the HBA's MSI-X vectors and the CPUs that serve them |
| `fctarget_kmsg_` | kmsg | qla2xxx events in the kernel log, and the log follower itself |
| `fctarget_lio_` | lio | LIO target objects: TPGs, LUNs, ACLs, sessions, backstores |
| `fctarget_scsi_` | scsi_latency | the SCSI commands LIO answers: latency, status, in flight (eBPF) |
| `fctarget_scrape_`, `fctarget_exporter_` | (always) | the exporter itself |

- Units are base units and end the name: `_seconds`, `_bytes`, `_bytes_per_second`, `_celsius`,
  `_volts`, `_amperes`, `_watts`, `_meters`.
- Counters end in `_total`. Identity goes in the labels of an `_info` family (value 1), and only
  labels that do not change while the object exists: a state, a speed, a port id or the CPU an
  interrupt is routed to is a gauge, never a label.
- One label name per concept, across all families:

| label | meaning |
|---|---|
| `pci` | PCI function of the HBA port, `0000:83:00.1` (domain included, lowercase) |
| `host` | SCSI host as in sysfs, `host7` |
| `wwpn`, `wwnn` | FC port and node names as 8 colon-separated lowercase bytes |
| `fabric` | LIO fabric module directory: `qla2xxx`, `iscsi`, `loopback`, ... |
| `target` | LIO target name as configfs spells it, FC WWPNs normalised like `wwpn` (so the two join) |
| `tpgt` | target portal group tag |
| `vport` | NPIV vport device name, `vport-7:0-0` (parent host 7, channel 0, vport 0) |
| `threshold` | an SFP module's own limit: `high_alarm`, `low_alarm`, `high_warning`, `low_warning` |
| `lun` | LUN number in the TPG |
| `initiator` | initiator name of an ACL or session, FC WWPNs normalised like `wwpn` |
| `backstore` | LIO device name (`target/core/<core_hba>/<backstore>`); `backstore_type` its kind |
| `tg_pt_gp` | ALUA target port group of a backstore (`target/core/<core_hba>/<backstore>/alua/<tg_pt_gp>`) |
| `op` | `read`, `write` or `other` (by the CDB's opcode) |
| `status`, `sense_key` | SCSI status sent (`good`, `check_condition`, ...) and, for `check_condition`, the sense key |
| `irq`, `vector` | Linux IRQ number and the qla2xxx vector role (`default`, `rsp_q`, `atio_q`, `qpair<N>`) |
| `cpu`, `numa_node` | decimal CPU and NUMA node numbers (`-1` unknown) |
"""


def _row(m: Metric) -> str:
    labels = ", ".join(f"`{label}`" for label in m.labels) or "-"
    sources = "<br>".join(f"`{s}`" for s in m.sources)
    help_ = m.help.replace("|", "\\|")
    return f"| `{m.sample_name}` | {m.kind} | {labels} | {help_} | {sources} |"


def render() -> str:
    catalogue = load_all()
    parts = [_INTRO]
    for collector in PREFIXES:
        metrics = sorted(
            (m for m in catalogue.values() if m.collector == collector), key=lambda m: m.name
        )
        if not metrics:
            continue
        title = "always served" if collector == "scrape" else f"collector `{collector}`"
        parts.append(
            f"\n## {title}\n\n| name | type | labels | help | source |\n|---|---|---|---|---|"
        )
        parts.extend(_row(m) for m in metrics)
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        return 0 if DOC.exists() and DOC.read_text() == text else 1
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
