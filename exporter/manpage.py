"""fctarget-exporter(1), generated from the argparse parser so the man page cannot drift from the
flags: `python -m exporter.manpage` writes packaging/fctarget-exporter.1 (a test compares)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exporter import __version__

PAGE = Path(__file__).resolve().parent.parent / "packaging" / "fctarget-exporter.1"

_SEE_ALSO = (
    "The documentation installed in /usr/share/doc/fctarget-exporter (README.md and docs/: "
    "flags, collectors, metrics, alerts and runbooks, security)."
)


def _esc(text: str) -> str:
    """roff: backslashes and hyphens of options are literal; a leading dot or quote is not a
    request."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + out if out[:1] in (".", "'") else out


def _option(action: argparse.Action) -> list[str]:
    names = ", ".join(f"\\fB{_esc(o)}\\fR" for o in action.option_strings)
    if action.metavar or (action.nargs != 0 and not isinstance(action, argparse._VersionAction)):
        meta = action.metavar or (action.dest or "").upper()
        if action.nargs != 0 and not isinstance(action.const, bool):
            names += f" \\fI{_esc(str(meta))}\\fR"
    help_text = (action.help or "").replace("%%", "%")
    return [".TP", names, _esc(help_text)]


def render(parser: argparse.ArgumentParser) -> str:
    lines = [
        f'.TH FCTARGET\\-EXPORTER 1 "" "fctarget-exporter {__version__}" "User Commands"',
        ".SH NAME",
        "fctarget\\-exporter \\- Prometheus exporter for LIO SCSI targets on QLogic FC HBAs",
        ".SH SYNOPSIS",
        "\\fBfctarget\\-exporter\\fR [\\fIOPTION\\fR]...",
        ".SH DESCRIPTION",
        _esc(parser.description or ""),
    ]
    for group in parser._action_groups:
        actions = [
            a for a in group._group_actions if a.help != argparse.SUPPRESS and a.option_strings
        ]
        if not actions:
            continue
        lines.append(f".SH {_esc((group.title or 'options').upper())}")
        if group.description:
            lines.append(_esc(group.description))
        for action in actions:
            lines.extend(_option(action))
    lines += [
        ".SH EXIT STATUS",
        "0 on success; 1 when \\fB\\-\\-once\\fR saw a collector fail or \\fB\\-\\-check\\fR "
        "found nothing to monitor or an unusable source; 2 for bad flags or an address that "
        "cannot be listened on; 130 on Ctrl\\-C.",
        ".SH SIGNALS",
        "SIGHUP reloads \\fB\\-\\-web.config.file\\fR; SIGTERM and SIGINT stop the server.",
        ".SH SEE ALSO",
        _esc(_SEE_ALSO),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    from exporter.flags import build_parser

    text = render(build_parser())
    if argv[1:] == ["--check"]:
        return 0 if PAGE.exists() and PAGE.read_text() == text else 1
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
