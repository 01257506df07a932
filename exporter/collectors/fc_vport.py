"""NPIV virtual ports: state and identity from `/sys/class/fc_vports`, joined to the parent port
(pci, host, wwpn as fc_host serves them) and to the qla2xxx_npiv LIO target (`target`).

All reading is exporter/readers/fc_vports.py (no firmware command); this module maps the vports
to the families of exporter/catalogue/fc_vport.py.
"""

from __future__ import annotations

from exporter.catalogue import fc_vport as C
from exporter.collector import Output, SnapshotCollector, register
from exporter.parsers.qla_host import VPORT_ACTIVE, VPORT_STATES
from exporter.readers.fc_vports import Vport, read_fc_vports
from exporter.readers.problems import Problems


@register
class FcVportCollector(SnapshotCollector[tuple[Vport, ...]]):
    name = "fc_vport"
    description = "NPIV vports from fc_vports sysfs: state, parent port, vport WWPN (LIO target)"

    def read(self, problems: Problems) -> tuple[Vport, ...]:
        return read_fc_vports(self.ctx.paths, problems)

    def emit(self, snapshot: tuple[Vport, ...], out: Output) -> None:
        for v in snapshot:
            labels = [v.pci, v.parent_host, v.parent_wwpn, v.name, v.wwpn]
            out.family(C.INFO).add([*labels, v.wwnn, v.vport_host], 1)
            if v.state is None:
                continue
            out.family(C.ACTIVE).add(labels, 1 if v.state == VPORT_ACTIVE else 0)
            state = out.family(C.STATE)
            for s in VPORT_STATES:
                state.add([*labels, s], 1 if s == v.state else 0)
            if v.state not in VPORT_STATES:
                state.add([*labels, v.state], 1)
