"""`--check`: a plain-language account of what the exporter can see on this host.

Read-only by construction. The LIO part runs the collector's reader
(exporter/readers/configfs.py) and cross-checks it with rtslib-fb where rtslib-fb has no side
effects: `FabricModule(name)` for the fabric specs (kernel module, WWN formats) and
`StorageObject.all()` for the backstores, with `CFSNode.configfs_dir` pointed at the configured
root. `RTSRoot()` is never used: it mounts configfs, runs modprobe and may write `dbroot`.
"""

from __future__ import annotations

import contextlib
import errno
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from exporter.parsers.fc_host import target_mode_allowed
from exporter.parsers.lio import normalize_wwn
from exporter.paths import HostPaths
from exporter.readers import kmsg_access
from exporter.readers.configfs import read_configfs
from exporter.readers.configfs_model import Backstore, ConfigfsSnapshot, ReadOptions
from exporter.readers.fc_sysfs import FcStats, StatsCache, read_fc_sysfs
from exporter.readers.fc_vports import read_fc_vports
from exporter.readers.problems import Problem, Problems, ReadError
from exporter.readers.procirq import read_interrupts
from exporter.readers.scsi_latency import DEFAULT_OBJECT, requirement_problem
from exporter.readers.sfp import explain_sfp

# configfs fabric directory -> rtslib-fb fabric module name, where they differ.
_RTSLIB_FABRIC = {"fc": "tcm_fc"}


@dataclass
class Report:
    """What --check found: lines to print, findings to look at, and why it cannot monitor."""

    lines: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    fc_ports: int = 0
    lio_targets: int = 0

    def source(self, label: str, text: str) -> None:
        self.lines.append(f"  {label:13} {text}")


class _NoStats(StatsCache):
    """--check never reads fc_host statistics: each read is a firmware mailbox command."""

    def get(self, fc_dir: str, host: str, port_key: bytes, now: float) -> FcStats:
        return FcStats(now, port_key, {})


def _errno(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "error")


def _check_fc(paths: HostPaths, report: Report) -> None:
    problems = Problems("fc_host")
    snap = read_fc_sysfs(paths, problems, _NoStats(min_interval=0.0))
    mode = snap.qlini_mode
    if mode is None:
        report.source("qla2xxx", "module not loaded (no /sys/module/qla2xxx)")
    else:
        allowed = target_mode_allowed(mode)
        verdict = {True: "target mode allowed", False: "INITIATOR ONLY: tcm_qla2xxx cannot "
                   "serve LUNs", None: "unknown mode"}[allowed]  # fmt: skip
        report.source("qla2xxx", f"module loaded, qlini_mode={mode} ({verdict})")
        if allowed is False:
            report.findings.append(f"qla2xxx qlini_mode={mode}: ports run as initiators only")
    report.fc_ports = len(snap.ports)
    if not snap.ports:
        report.source("FC ports", f"none in {paths.sys('class', 'fc_host')}")
    for port in snap.ports:
        speed = f"{port.speed_bits / 1e9:g} Gbit/s" if port.speed_bits else "speed unknown"
        report.source(
            "FC port",
            f"{port.host} wwpn {port.wwpn or '?'} pci {port.pci or '?'}: "
            f"{port.port_state or 'state unknown'}, {speed}",
        )
        if port.port_state not in (None, "Online"):
            report.findings.append(f"FC port {port.host} ({port.wwpn}) is {port.port_state}")
    report.findings.extend(p.message for p in problems.items)


def _check_interrupts(paths: HostPaths, report: Report) -> None:
    problems = Problems("interrupts")
    parsed = read_interrupts(paths, problems, lambda line: "qla2xxx" in line)
    if parsed is None:
        why = problems.items[0].message if problems.items else "unreadable"
        report.source("interrupts", f"CANNOT READ: {why}")
        report.blockers.append(f"interrupts collector: {why}")
        return
    count = sum(1 for line in parsed.lines if any("qla2xxx" in a for a in line.actions))
    report.source("interrupts", f"{paths.proc('interrupts')}: readable, {count} qla2xxx IRQs")


def _check_kmsg(paths: HostPaths, report: Report) -> None:
    why = kmsg_access.probe(paths.kmsg)
    if why is None:
        report.source("kernel log", f"{paths.kmsg}: readable")
    else:
        report.source("kernel log", f"{paths.kmsg}: CANNOT READ: {why}")
        report.blockers.append(f"kmsg collector: {paths.kmsg}: {why}")


def _check_vports(paths: HostPaths, report: Report) -> None:
    problems = Problems("fc_vport")
    vports = read_fc_vports(paths, problems)
    listed = "".join(f", {v.name} ({v.state or 'state unknown'})" for v in vports)
    report.source("NPIV vports", f"{len(vports)} in {paths.sys('class', 'fc_vports')}{listed}")
    report.findings.extend(p.message for p in problems.items)


def explain_scsi_latency(paths: HostPaths, enabled: bool) -> str:
    """Whether the scsi_latency collector could attach here, and if not, why."""
    missing = requirement_problem(paths, DEFAULT_OBJECT)
    state = "could run here" if missing is None else f"cannot run here: {missing[1]}"
    return f"({'enabled' if enabled else 'not enabled'}) {state}"


def _check_web_config(path: str, report: Report) -> None:
    from exporter.webconfig import WebConfigError, load_web_config

    try:
        config = load_web_config(path)
    except WebConfigError as exc:
        report.source("web config", f"INVALID: {exc}")
        report.blockers.append(f"--web.config.file: {exc}")
        return
    tls = "TLS on" if config.tls is not None else "plain HTTP"
    report.source("web config", f"{path}: valid, {tls}, {len(config.users)} basic auth user(s)")


def _verdict(report: Report) -> tuple[str, int]:
    if report.blockers:
        return f"verdict: NOT READY: {'; '.join(report.blockers)}", 1
    if report.fc_ports == 0 and report.lio_targets == 0:
        return (
            "verdict: NOTHING TO MONITOR: no FC port and no LIO target on this host "
            "(are qla2xxx and tcm_qla2xxx loaded, and the LIO configuration restored?)",
            1,
        )
    look = f"; {len(report.findings)} finding(s) to look at" if report.findings else ""
    return (
        f"verdict: ready: {report.fc_ports} FC port(s), {report.lio_targets} LIO target(s){look}",
        0,
    )


def explain(paths: HostPaths, collectors: list[str], web_config_file: str = "") -> tuple[str, int]:
    """The --check report and its exit status (0 ready, 1 nothing to monitor or blocked)."""
    report = Report([f"enabled collectors: {', '.join(collectors) or '(none)'}", "sources:"])
    _check_fc(paths, report)
    if "interrupts" in collectors:
        _check_interrupts(paths, report)
    if "kmsg" in collectors:
        _check_kmsg(paths, report)
    if "fc_vport" in collectors:
        _check_vports(paths, report)
    if "sfp" in collectors:  # one read per port: eight firmware commands each
        report.lines.extend(f"  {line}" for line in explain_sfp(paths))
    else:
        report.source("SFP optics", "sfp collector disabled (--collector.sfp; needs CAP_SYS_ADMIN)")
    if "qla2xxx" in collectors:
        from exporter.check_qla2xxx import explain_qla2xxx

        report.lines.extend(f"  {line}" for line in explain_qla2xxx(paths))
    report.source("scsi_latency", explain_scsi_latency(paths, "scsi_latency" in collectors))
    if web_config_file:
        _check_web_config(web_config_file, report)
    lio_lines, snap = explain_lio(paths.target(), paths.sysfs, report.findings)
    report.lio_targets = len(snap.targets)
    report.lines.extend(lio_lines)
    if report.findings:
        report.lines.append("findings:")
        report.lines.extend(f"  - {f}" for f in report.findings)
    verdict, status = _verdict(report)
    report.lines.append(verdict)
    return "\n".join(report.lines) + "\n", status


def _mib(n: int | None) -> str:
    return "size unknown" if n is None else f"{n / 2**20:.1f} MiB"


def explain_lio(
    target: str, sysfs: str | None = None, findings: list[str] | None = None
) -> tuple[list[str], ConfigfsSnapshot]:
    """What the lio collector sees under `target` (= <configfs>/target), and rtslib-fb's view;
    what needs attention is appended to `findings`."""
    findings = [] if findings is None else findings
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
        return out, snap
    out.extend(_describe(snap, findings))
    out.extend(_rtslib_view(target, snap))
    findings.extend(f"LIO (the lio collector reports failure): {e.message}" for e in problems.items)
    return out, snap


def _describe(snap: ConfigfsSnapshot, findings: list[str]) -> list[str]:
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
                if tpg.enabled is False:
                    findings.append(f"{fabric} {t.target} tpgt {tpg.tag} is disabled")
                for acl in tpg.acls:
                    if acl.session_active is False and tpg.enabled is not False:
                        name = normalize_wwn(acl.name, fabric)
                        out.append(f"      initiator {name}: configured, NO session")
                        findings.append(f"initiator {name} on {t.target} has no session")
                unbacked = [lun.lun for lun in tpg.luns if lun.hba is None]
                if unbacked:
                    out.append(f"      LUNs without a backstore: {unbacked}")
                    findings.append(f"{t.target} tpgt {tpg.tag}: LUNs without a backstore")
    kinds = Counter(b.backstore_type for b in snap.backstores)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
    out.append(f"  backstores: {len(snap.backstores)} ({summary})")
    for b in snap.backstores:
        en = {True: "enabled", False: "DISABLED", None: "state unknown"}[b.enabled]
        out.append(
            f"    {b.backstore_type}/{b.name} ({b.hba}): {en}, {_mib(b.size_bytes)}, "
            f"block size {b.block_size}, serial {b.serial or '-'}, wwn {b.naa or '-'}"
        )
        out.extend(_alua_and_risks(b))
    return out


def _alua_and_risks(b: Backstore) -> list[str]:
    """The device's ALUA groups (state, LUNs) and what makes it risky, one line each."""
    out = []
    if b.alua_groups:
        groups = "; ".join(
            f"{g.name} (id {'-' if g.group_id is None else g.group_id}) "
            f"{g.state or 'state unknown'}, {g.members if g.members is not None else '?'} LUN(s)"
            for g in b.alua_groups
        )
        out.append(f"      ALUA: {groups}")
    risks = [
        text
        for flag, text in (
            (b.volatile_cache, "volatile write cache"),
            (b.read_only, "read-only"),
            (b.user.blocked if b.user else None, "tcmu device BLOCKED"),
        )
        if flag
    ]
    if risks:
        out.append(f"      risks: {', '.join(risks)}")
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
