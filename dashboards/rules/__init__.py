"""The shipped Prometheus rules (fctarget.rules.yml and *.rules.yml beside it) and the code that
rewrites them.

Prometheus rule files cannot read configuration, so the runbook links are written into the file:
every alert's `runbook_url` is `<base>#<alert name in lower case>`, the anchor of the alert's
runbook section in docs/alerts.md. The shipped file carries DEFAULT_RUNBOOK_BASE (the page as the
Debian package installs it); `python -m dashboards.rules --runbook-base URL -o FILE` writes a copy
for another base (a wiki, an internal Git host). The shipped file is its own source: rewriting it
with the default base gives it back unchanged (tests/test_rules.py checks that).

`shorten_for` is for tests only: the end-to-end test loads the real rules with every `for:`
divided by a factor, so that alerts reach firing in seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

RULES = Path(__file__).resolve().parent / "fctarget.rules.yml"
# Every shipped rule file (fctarget.rules.yml and one per opt-in data source).
ALL_RULES = sorted(RULES.parent.glob("*.rules.yml"))
DEFAULT_RUNBOOK_BASE = "file:///usr/share/doc/fctarget-exporter/docs/alerts.md"

_ALERT_RE = re.compile(r"^\s*- alert: (\S+)\s*$")
_RUNBOOK_RE = re.compile(r"^(\s*runbook_url: ).*$")
_FOR_RE = re.compile(r"^(\s*for: )(\d+)([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A URL a YAML plain scalar can hold as is; anything else is written as a quoted string.
_PLAIN_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s#'\"{}\[\],&*!|>%@`]*$")


def anchor(alert: str) -> str:
    """The runbook section's anchor: the heading `### <alert>` lowercased (GitHub's rule)."""
    return alert.lower()


def runbook_url(base: str, alert: str) -> str:
    return f"{base}#{anchor(alert)}"


def with_runbook_base(text: str, base: str) -> str:
    """`text` (a rule file) with every alert's runbook_url built from `base`."""
    if "#" in base:
        raise ValueError(f"runbook base must not contain '#': {base!r}")
    out = []
    alert = ""
    for line in text.splitlines(keepends=True):
        m = _ALERT_RE.match(line)
        if m:
            alert = m.group(1)
        m = _RUNBOOK_RE.match(line)
        if m:
            if not alert:
                raise ValueError("runbook_url outside an alerting rule")
            url = runbook_url(base, alert)
            value = url if _PLAIN_URL_RE.match(base) else json.dumps(url)
            out.append(f"{m.group(1)}{value}\n")
            continue
        out.append(line)
    return "".join(out)


def shorten_for(text: str, factor: int) -> str:
    """`text` with every `for: <n><unit>` divided by `factor` (at least 1 s). Tests only."""

    def sub(m: re.Match[str]) -> str:
        seconds = int(m.group(2)) * _UNIT_SECONDS[m.group(3)]
        return f"{m.group(1)}{max(1, seconds // factor)}s\n"

    return "".join(_FOR_RE.sub(sub, line) for line in text.splitlines(keepends=True))
