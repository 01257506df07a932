"""`--check` for the qla2xxx collector: which debugfs sources are readable here, and why not.

Runs the collector's reader (exporter/readers/qla_debugfs.py) once, fw_resource_count included
(one firmware mailbox command per HBA: --check is run by hand), and says in words what each
problem means: not mounted, permissions (root or CAP_DAC_READ_SEARCH), kernel lockdown, a file
this kernel does not have.
"""

from __future__ import annotations

from exporter.paths import HostPaths
from exporter.readers.problems import Problems
from exporter.readers.qla_debugfs import SOURCES, FwResourceCache, lockdown_mode, read_qla_debugfs

_ABSENT = {
    "tgt_counters": "absent (kernels before 4.5)",
    "tgt_sess": "absent",
    "rports": "absent (kernels before 5.11: no per-initiator login state, tgt_sess only)",
    "fw_resource_count": "absent (kernels before 4.5)",
}


def explain_qla2xxx(paths: HostPaths) -> list[str]:
    problems = Problems("qla2xxx")
    snap = read_qla_debugfs(paths, problems, FwResourceCache(0.0))
    out = [f"qla2xxx debugfs {paths.debug('qla2xxx')}:"]
    mode = lockdown_mode(paths)
    if mode and mode != "none":
        out.append(
            f"  kernel lockdown: {mode} (kernels 5.4 to 5.16 refuse 0400 debugfs files under any "
            "lockdown mode; 5.17 and later allow read-only ones)"
        )
    if not snap.ports and not problems:
        out.append(
            "  no qla2xxx directory: the module is not loaded or no HBA has debugfs support "
            "(ISP25xx and later)"
        )
    for port in snap.ports:
        out.append(f"  {port.host} ({port.pci or 'no PCI function'}, wwpn {port.wwpn or '?'}):")
        for source in SOURCES:
            state = port.readable.get(source)
            if state is None:
                text = _ABSENT[source]
            else:
                text = "readable" if state else "NOT readable (see problems)"
            out.append(f"    {source:18} {text}")
    if problems:
        out.append("  problems (the qla2xxx collector reports failure):")
        out.extend(f"    {p.message}" for p in problems.items)
    return out
