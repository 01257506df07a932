"""`--check`: a plain-language account of what the exporter can see on this host.

Read-only by construction. The LIO part runs the collector's reader
(exporter/readers/configfs.py) and cross-checks it with rtslib-fb where rtslib-fb has no side
effects: `FabricModule(name)` for the fabric specs (kernel module, WWN formats) and
`StorageObject.all()` for the backstores, with `CFSNode.configfs_dir` pointed at the configured
root. `RTSRoot()` is never used: it mounts configfs, runs modprobe and may write `dbroot`.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

from exporter.parsers.lio import normalize_wwn
from exporter.paths import HostPaths
from exporter.readers.configfs import read_configfs
from exporter.readers.configfs_model import ConfigfsSnapshot, ReadOptions
from exporter.readers.problems import Problem, Problems, ReadError
from exporter.readers.scsi_latency import DEFAULT_OBJECT, requirement_problem

# configfs fabric directory -> rtslib-fb fabric module name, where they differ.
_RTSLIB_FABRIC = {"fc": "tcm_fc"}


def _state(path: str) -> str:
    if not os.path.exists(path):
        return "missing"
    if not os.access(path, os.R_OK):
        return "not readable by this user"
    return "ok"


def explain(paths: HostPaths, collectors: list[str]) -> str:
    lines = [f"enabled collectors: {', '.join(collectors) or '(none)'}"]
    for label, path in (
        ("interrupts", paths.proc("interrupts")),
        ("fc_host", paths.sys("class", "fc_host")),
        ("scsi_host", paths.sys("class", "scsi_host")),
        ("LIO configfs", paths.target()),
        ("kernel log", paths.kmsg),
    ):
        lines.append(f"{label:13} {path}: {_state(path)}")
    if "lio" in collectors:
        lines.extend(explain_lio(paths.target(), paths.sysfs))
    lines.append(explain_scsi_latency(paths, DEFAULT_OBJECT, "scsi_latency" in collectors))
    return "\n".join(lines) + "\n"


def explain_scsi_latency(paths: HostPaths, object_path: str, enabled: bool) -> str:
    """Whether the scsi_latency collector could attach here, and if not, why."""
    missing = requirement_problem(paths, object_path)
    state = "could run here" if missing is None else f"cannot run here: {missing[1]}"
    return f"scsi_latency  ({'enabled' if enabled else 'not enabled'}) {state}"


def _mib(n: int | None) -> str:
    return "size unknown" if n is None else f"{n / 2**20:.1f} MiB"


def explain_lio(target: str, sysfs: str | None = None) -> list[str]:
    """What the lio collector sees under `target` (= <configfs>/target), and rtslib-fb's view."""
    problems = Problems("lio")
    try:
        snap = read_configfs(target, problems, ReadOptions(sysfs=sysfs))
    except ReadError as exc:
        problems.items.append(Problem(exc.key, exc.message))
        snap = ConfigfsSnapshot(present=False)
    out = [f"LIO {target}:"]
    if not snap.present and not problems:
        out.append(
            "  not present: configfs is not mounted or target_core_mod is not loaded "
            "(fctarget_lio_up 0; not an error on a host that serves no target)"
        )
        return out
    out.extend(_describe(snap))
    out.extend(_rtslib_view(target, snap))
    if problems:
        out.append("  problems (the lio collector reports failure):")
        out.extend(f"    {e.message}" for e in problems.items)
    else:
        out.append("  problems: none")
    return out


def _describe(snap: ConfigfsSnapshot) -> list[str]:
    out: list[str] = []
    fabrics = Counter(t.fabric for t in snap.targets)
    for fabric in sorted(fabrics):
        out.append(f"  fabric {fabric}: {fabrics[fabric]} target(s)")
        for t in (t for t in snap.targets if t.fabric == fabric):
            for tpg in t.tpgs:
                state = {True: "enabled", False: "DISABLED", None: "no enable attribute"}
                active = sum(1 for a in tpg.acls if a.session_active)
                unknown = sum(1 for a in tpg.acls if a.session_active is None)
                out.append(
                    f"    {t.target} tpgt {tpg.tag}: {state[tpg.enabled]}, {len(tpg.luns)} LUN(s), "
                    f"{len(tpg.acls)} ACL(s) ({active} with a session"
                    + (f", {unknown} unknown" if unknown else "")
                    + f"), {len(tpg.dynamic_sessions)} dynamic session(s)"
                )
                for acl in tpg.acls:
                    if acl.session_active is False:
                        name = normalize_wwn(acl.name, fabric)
                        out.append(f"      initiator {name}: configured, NO session")
                unbacked = [lun.lun for lun in tpg.luns if lun.hba is None]
                if unbacked:
                    out.append(f"      LUNs without a backstore: {unbacked}")
    kinds = Counter(b.backstore_type for b in snap.backstores)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
    out.append(f"  backstores: {len(snap.backstores)} ({summary})")
    for b in snap.backstores:
        en = {True: "enabled", False: "DISABLED", None: "state unknown"}[b.enabled]
        out.append(
            f"    {b.backstore_type}/{b.name} ({b.hba}): {en}, {_mib(b.size_bytes)}, "
            f"block size {b.block_size}, serial {b.serial or '-'}, wwn {b.naa or '-'}"
        )
    return out


@contextlib.contextmanager
def _rtslib_at(target: str) -> Iterator[Any]:
    """rtslib_fb rooted at `target`, with its delete paths disabled for the duration.

    StorageObject's lookup constructor deletes the hba directory if the device vanished between
    its glob and the lookup; an inspection tool must never do that.
    """
    from rtslib_fb import fabric, node, tcm

    saved_dir = node.CFSNode.configfs_dir
    saved_delete = node.CFSNode.delete
    saved_bs_delete = tcm._Backstore.delete

    def no_delete(_self: object) -> None:
        return None

    node.CFSNode.configfs_dir = target
    node.CFSNode.delete = no_delete
    tcm._Backstore.delete = no_delete
    try:
        yield fabric.FabricModule, tcm.StorageObject
    finally:
        node.CFSNode.configfs_dir = saved_dir
        node.CFSNode.delete = saved_delete
        tcm._Backstore.delete = saved_bs_delete


def _rtslib_view(target: str, snap: ConfigfsSnapshot) -> list[str]:
    try:
        with _rtslib_at(target) as (fabric_module, storage_object):
            return _rtslib_lines(fabric_module, storage_object, snap)
    except ImportError as exc:
        return [
            f"  rtslib-fb: not importable ({exc}); fabric specs and the backstore cross-check "
            "are skipped (the exporter itself does not need it)"
        ]


def _rtslib_lines(fabric_module: Any, storage_object: Any, snap: ConfigfsSnapshot) -> list[str]:
    from rtslib_fb.fabric import fabric_modules

    out = ["  rtslib-fb view:"]
    for fabric in sorted({t.fabric for t in snap.targets}):
        name = _RTSLIB_FABRIC.get(fabric, fabric)
        if name not in fabric_modules:
            out.append(f"    fabric {fabric}: unknown to rtslib-fb")
            continue
        try:
            fm = fabric_module(name)
            wwns = [fm.from_fabric_wwn(t.name) for t in snap.targets if t.fabric == fabric]
            out.append(
                f"    fabric {fabric}: kernel module {fm.kernel_module}, WWN types "
                f"{'/'.join(fm.wwn_types)}, targets {', '.join(wwns)}"
            )
        except Exception as exc:  # noqa: BLE001 - rtslib raises many types; report and go on
            out.append(f"    fabric {fabric}: rtslib-fb failed: {exc}")
    try:
        objects = list(storage_object.all())
    except Exception as exc:  # noqa: BLE001
        out.append(f"    backstores: rtslib-fb failed: {exc}")
        return out
    ours = {(b.backstore_type, b.name) for b in snap.backstores}
    for so in objects:
        try:
            status, serial = so.status, so.wwn
        except Exception as exc:  # noqa: BLE001
            out.append(f"    {so.plugin}/{so.name}: rtslib-fb failed: {exc}")
            continue
        seen = "" if (so.plugin, so.name) in ours else " (NOT seen by the walk)"
        out.append(f"    {so.plugin}/{so.name}: {status}, unit serial {serial}{seen}")
    return out
