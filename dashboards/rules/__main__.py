"""`python -m dashboards.rules [--runbook-base URL] [-o FILE] [RULE_FILE]`: write a rule file
(default fctarget.rules.yml) with runbook links under URL (default: the docs as the Debian package
installs them). See dashboards/rules/__init__.py.
"""

from __future__ import annotations

import argparse
import sys

from dashboards.rules import ALL_RULES, DEFAULT_RUNBOOK_BASE, RULES, with_runbook_base


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dashboards.rules", description=__doc__)
    ap.add_argument(
        "--runbook-base",
        default=DEFAULT_RUNBOOK_BASE,
        help="URL of docs/alerts.md; each alert links <URL>#<alert name in lower case> "
        "(default: %(default)s)",
    )
    ap.add_argument(
        "-o",
        "--output",
        default="-",
        help="where to write the rules; '-' (default) is stdout. The repository's own file is "
        "dashboards/rules/fctarget.rules.yml (written with the default base).",
    )
    ap.add_argument(
        "rules",
        nargs="?",
        default=str(RULES),
        help="the rule file to rewrite (default: %(default)s; the others are "
        f"{', '.join(p.name for p in ALL_RULES if p != RULES) or 'none'})",
    )
    args = ap.parse_args(argv)
    try:
        with open(args.rules, encoding="utf-8") as f:
            text = with_runbook_base(f.read(), args.runbook_base)
    except ValueError as err:
        ap.error(str(err))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
