"""fctarget-exporter(1) is generated from the flags, renders cleanly, and ships in the .deb."""

from __future__ import annotations

import re
import subprocess

from exporter.flags import build_parser
from exporter.manpage import PAGE, render


def test_man_page_is_generated_from_the_flags() -> None:
    assert PAGE.read_text() == render(build_parser()), "stale: run `make docs`"


def test_man_page_renders_and_names_every_flag() -> None:
    r = subprocess.run(
        ["man", "--warnings", "-l", "-Tutf8", str(PAGE)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"MANWIDTH": "200", "PATH": "/usr/bin:/bin", "MAN_KEEP_FORMATTING": ""},
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # groff's warnings (bad requests, unknown escapes)
    # plain text: drop overstrike bold/underline (char BACKSPACE char) and typographic hyphens
    text = re.sub(".\b", "", r.stdout).replace("\u2010", "-").replace("\u2212", "-")
    for action in build_parser()._actions:
        for opt in action.option_strings:
            if action.help != "==SUPPRESS==":
                assert opt in text, opt
    assert "EXIT STATUS" in text


def test_the_debian_package_installs_it() -> None:
    script = (PAGE.parent / "debian" / "build-deb.sh").read_text()
    assert "usr/share/man/man1/fctarget-exporter.1.gz" in script
