"""`--check`: a plain-language account of what the exporter can see on this host."""

from __future__ import annotations

import os

from exporter.paths import HostPaths


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
    return "\n".join(lines) + "\n"
