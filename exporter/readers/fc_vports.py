"""The NPIV vport reader: `class/fc_vports/vport-H:C-N` (drivers/scsi/scsi_transport_fc.c), the
only code that opens these files. Formats in exporter/parsers/qla_host.py.

A vport device is a child of its parent port's Scsi_Host (`.../<pci>/hostH/vport-H:C-N`); the
LLD then creates the vport's own Scsi_Host below it (`.../vport-H:C-N/hostM`, with its own
fc_host, served by the fc_host collector like any port). Reading costs no firmware command: the
transport prints fields of struct fc_vport.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from exporter import fsread
from exporter.parsers import qla_host as q
from exporter.parsers.pci import bdf_above_host, host_number
from exporter.paths import HostPaths
from exporter.readers.fc_sysfs import read_port_names
from exporter.readers.problems import Problems

ATTRS = ("vport_state", "vport_last_state", "port_name", "node_name")


@dataclass(frozen=True)
class Vport:
    name: str  # "vport-6:0-0"
    parent_host: str  # "host6"
    parent_wwpn: str  # colon form; "" when unreadable
    pci: str  # the PCI function of the parent port
    vport_host: str  # the vport's own Scsi_Host ("host9"); "" while it has none
    wwpn: str  # the vport's port_name, colon form
    wwnn: str
    state: str | None
    last_state: str | None


def _vport_host(real: str) -> str:
    """The `hostM` directory below the vport device ("" when there is none)."""
    for entry in fsread.listdir(real):
        if host_number(entry) is not None:
            return entry
    return ""


def _field(d: str, name: str, raw: bytes | OSError, problems: Problems) -> str | None:
    if isinstance(raw, OSError):
        if raw.errno != errno.ENOENT:
            problems.os_error(f"{os.path.basename(d)}/{name}", os.path.join(d, name), raw)
        return None
    text = raw.decode("utf-8", "replace")
    try:
        if name.endswith("_name"):
            return q.parse_vport_wwn(text, name)
        return q.parse_vport_state(text)
    except ValueError as exc:
        problems.add(f"{os.path.basename(d)}/{name}", "parse", f"{os.path.join(d, name)}: {exc}")
        return None


def read_vport(paths: HostPaths, name: str, problems: Problems) -> Vport | None:
    """One vport; None when it went away while being read (vport_delete)."""
    d = paths.sys("class", "fc_vports", name)
    try:
        parent_no = q.parse_vport_name(name)[0]
    except ValueError as exc:
        problems.add(name, "name", str(exc))
        return None
    raw = fsread.read_many(os.path.join(d, a) for a in ATTRS)
    if not os.path.isdir(d):
        return None
    values = {a: _field(d, a, raw[os.path.join(d, a)], problems) for a in ATTRS}
    parent = f"host{parent_no}"
    real = fsread.realpath(d)
    parent_wwpn, _ = read_port_names(paths, parent, problems)
    return Vport(
        name=name,
        parent_host=parent,
        parent_wwpn=parent_wwpn,
        pci=bdf_above_host(real, parent) or "",
        vport_host=_vport_host(real),
        wwpn=values["port_name"] or "",
        wwnn=values["node_name"] or "",
        state=values["vport_state"],
        last_state=values["vport_last_state"],
    )


def read_fc_vports(paths: HostPaths, problems: Problems) -> tuple[Vport, ...]:
    """Every NPIV vport; () when the class is absent (FC transport not loaded, no vports)."""
    base = paths.sys("class", "fc_vports")
    try:
        names = sorted(os.listdir(base))
    except FileNotFoundError:
        return ()
    except OSError as exc:
        problems.os_error("class/fc_vports", base, exc)
        return ()
    out = []
    for name in names:
        vport = read_vport(paths, name, problems)
        if vport is not None:
            out.append(vport)
    return tuple(out)
