"""The documentation stays true: one flag table with every flag, metrics.md as the catalogue
generates it, and every relative link of README.md and docs/ leading to a file and a heading."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from exporter.catalogue import docs as catalogue_docs
from exporter.flags import build_parser

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
FLAGS = DOCS / "flags.md"
README_MAX_BYTES = 20 * 1024

_FENCE = re.compile(r"^```.*?^```[^\n]*$", re.M | re.S)
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+?)\s*#*\s*$", re.M)


def parser_flags() -> dict[str, object]:
    """Every long option of the program with its argparse default."""
    flags: dict[str, object] = {}
    for action in build_parser()._actions:
        for opt in action.option_strings:
            if opt.startswith("--") and opt != "--help":
                flags[opt] = action.default
    return flags


def flag_table_rows(text: str) -> list[list[str]]:
    """Rows (cells) of the markdown table(s) whose first cell names a flag."""
    rows = []
    for line in _FENCE.sub("", text).splitlines():
        if line.startswith("| `--"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def flags_of_cell(cell: str) -> list[str]:
    """`--[no-]collector.x` documents both forms; a cell may name several flags."""
    out = []
    for span in re.findall(r"`([^`]+)`", cell):
        word = span.split()[0]
        if word.startswith("--[no-]"):
            bare = word.removeprefix("--[no-]")
            out += [f"--{bare}", f"--no-{bare}"]
        elif word.startswith("--"):
            out.append(word)
    return out


def test_the_flag_table_lists_every_flag_once_and_nothing_else() -> None:
    documented: list[str] = []
    for row in flag_table_rows(FLAGS.read_text()):
        documented += flags_of_cell(row[0])
    assert sorted(documented) == sorted(parser_flags())  # every flag, no stale one, no duplicate


def _default_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_flag_table_states_the_real_defaults() -> None:
    defaults = parser_flags()
    checked = 0
    for row in flag_table_rows(FLAGS.read_text()):
        for flag in flags_of_cell(row[0]):
            value = defaults[flag]
            if value in (None, "", argparse.SUPPRESS) or isinstance(value, bool):
                continue
            assert f"`{_default_text(value)}`" in row[1], (flag, row[1])
            checked += 1
    assert checked >= 10


def test_there_is_one_flag_table() -> None:
    # README and the other pages link to docs/flags.md instead of copying the list.
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        if page != FLAGS:
            assert flag_table_rows(page.read_text()) == [], page.name


def test_metrics_reference_is_generated_from_the_catalogue() -> None:
    assert (DOCS / "metrics.md").read_text() == catalogue_docs.render()


def test_readme_is_short() -> None:
    assert len(README.read_bytes()) < README_MAX_BYTES


def github_anchor(heading: str, seen: dict[str, int]) -> str:
    """The id GitHub gives a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
    n = seen.get(slug, 0)
    seen[slug] = n + 1
    return slug if n == 0 else f"{slug}-{n}"


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    text = _FENCE.sub("", page.read_text())
    return {github_anchor(h, seen) for h in _HEADING.findall(text)}


def test_github_anchor() -> None:
    seen: dict[str, int] = {}
    got = github_anchor("TLS, basic auth and headers (`--web.config.file`)", seen)
    assert got == "tls-basic-auth-and-headers---webconfigfile"
    assert github_anchor("FC ports: `fc_host`", seen) == "fc-ports-fc_host"
    assert github_anchor("FCTargetPortLinkDown", seen) == "fctargetportlinkdown"
    assert github_anchor("FCTargetPortLinkDown", seen) == "fctargetportlinkdown-1"


PAGES = [README, *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    links = _LINK.findall(_FENCE.sub("", page.read_text()))
    broken = []
    for link in links:
        if re.match(r"[a-z]+:", link):  # http:, https:, mailto:
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists() or (anchor and anchor not in anchors(target)):
            broken.append(link)
    assert broken == []


def test_readme_links_every_docs_page() -> None:
    linked = {
        (README.parent / link.partition("#")[0]).resolve()
        for link in _LINK.findall(README.read_text())
        if not re.match(r"[a-z]+:", link)
    }
    pages = {p.resolve() for p in DOCS.glob("*.md")} - {
        (DOCS / "DESIGN.md").resolve(),
        (DOCS / "CONTRIBUTING.md").resolve(),
    }
    assert pages - linked == set()


# Words that belong to the history of the work, not to the product.
_DEV_NOTES = re.compile(
    r"earlier session|this session|issue [0-9]+|build machine|this (?:2-core )?VM|shared/reference"
    r"|\bcommit [0-9a-f]{7,40}\b",
    re.I,
)


def test_docs_speak_of_the_product_only() -> None:
    hits = []
    for page in PAGES:
        for n, line in enumerate(page.read_text().splitlines(), 1):
            if _DEV_NOTES.search(line):
                hits.append(f"{page.name}:{n}: {line.strip()}")
    assert hits == []
