"""`python -m dashboards.rules [--runbook-base URL] [-o FILE]`: write the rules with runbook links
under URL (default: the docs as the Debian package installs them). See dashboards/rules/__init__.py.
"""

from __future__ import annotations

import argparse
import sys

from dashboards.rules import DEFAULT_RUNBOOK_BASE, RULES, with_runbook_base


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
    args = ap.parse_args(argv)
    try:
        text = with_runbook_base(RULES.read_text(encoding="utf-8"), args.runbook_base)
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
