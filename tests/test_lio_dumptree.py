"""Turns a real configfs dump (`path<TAB>content` lines) into a real fixture tree, and tests that.

The dumps in tests/fixtures/lio/real-kernel-6.1/ were taken from a real Linux 6.1 LIO target
(see shared/reference/lio-in-qemu): directories are `<dir>`, symlinks `-> target`, unreadable
files `<error ENAME: ...; mode ...>`, and file content has one trailing newline removed and
`\\`, TAB, newline and control characters escaped (`\\\\`, `\\t`, `\\n`, `\\xNN`).

The kernel ends almost every attribute with a newline; the dumper dropped it, so the loader adds
it back except where the kernel prints none: empty attributes, contents ending in NUL (alua
`members`), and scsi_tgt_dev/status (target_core_stat.c prints "activated" bare).

An `<error ...>` entry becomes something that really fails to read even for root (tests run as
root and root ignores file modes): a directory in its place, so open()+read() fail (EISDIR).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from exporter.collector import CollectorContext, Output
from exporter.collectors.lio import LioCollector
from exporter.flags import build_parser
from exporter.logsetup import RateLimitedLog
from exporter.paths import HostPaths

FIXTURES = Path(__file__).parent / "fixtures" / "lio" / "real-kernel-6.1"
DUMP_AFTER = FIXTURES / "configfs-dump.txt"
DUMP_BEFORE = FIXTURES / "configfs-dump-before-io.txt"
STATS_DIFF = FIXTURES / "stats-diff.txt"
DUMP_ROOT = "/sys/kernel/config/"

_NO_NEWLINE_SUFFIXES = ("/statistics/scsi_tgt_dev/status",)
_ESC = re.compile(r"\\(\\|t|n|x[0-9a-fA-F]{2})")


def unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        s = m.group(1)
        if s == "\\":
            return "\\"
        if s == "t":
            return "\t"
        if s == "n":
            return "\n"
        return chr(int(s[1:], 16))

    return _ESC.sub(one, text)


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the configfs root, e.g. "target/core/fileio_0/disk0/info"
    kind: str  # "dir", "link", "file", "error"
    value: str  # link target, file content (exact, newline restored), or errno name


def parse_dump(dump: Path) -> list[Entry]:
    out: list[Entry] = []
    for line in dump.read_text().splitlines():
        path, _, content = line.partition("\t")
        if not path.startswith(DUMP_ROOT):
            raise ValueError(f"unexpected dump path {path!r}")
        rel = path[len(DUMP_ROOT) :].rstrip("/")
        if content == "<dir>":
            out.append(Entry(rel, "dir", ""))
        elif content.startswith("-> "):
            out.append(Entry(rel, "link", content[3:]))
        elif content.startswith("<error ") and content.endswith(">"):
            out.append(Entry(rel, "error", content[7:].split(":", 1)[0]))
        else:
            data = unescape(content)
            if data and not data.endswith("\x00") and not rel.endswith(_NO_NEWLINE_SUFFIXES):
                data += "\n"
            out.append(Entry(rel, "file", data))
    return out


def load_dump(dump: Path, configfs: Path) -> dict[str, Entry]:
    """Materialise `dump` under `configfs` (the configfs root; the tree lands in target/)."""
    entries = parse_dump(dump)
    for e in entries:
        p = configfs / e.path
        if e.kind == "dir":
            p.mkdir(parents=True, exist_ok=True)
        elif e.kind == "link":
            p.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(e.value, p)
        elif e.kind == "error":
            p.mkdir(parents=True, exist_ok=True)  # reading it fails with EISDIR, even as root
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(e.value.encode("utf-8"))
    return {e.path: e for e in entries}


def dump_values(dump: Path) -> dict[str, str]:
    """path (relative to configfs root) -> content as dumped (no newline), for expectations."""
    out = {}
    for line in dump.read_text().splitlines():
        path, _, content = line.partition("\t")
        out[path[len(DUMP_ROOT) :]] = content
    return out


Labels = tuple[tuple[str, str], ...]


@dataclass
class Scrape:
    """One lio collection: samples by metric sample name and sorted label pairs, and errors."""

    samples: dict[str, dict[Labels, float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    helps: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, **labels: str) -> float | None:
        return self.samples.get(name, {}).get(tuple(sorted(labels.items())))

    def value(self, name: str, **labels: str) -> float:
        v = self.get(name, **labels)
        if v is None:
            raise AssertionError(f"no sample {name}{labels}; have {self.samples.get(name)}")
        return v

    def series(self, name: str) -> dict[Labels, float]:
        return self.samples.get(name, {})


def run_lio(configfs: Path, *flags: str, sysfs: Path | None = None) -> Scrape:
    """Run the lio collector once on a fixture tree, with command-line `flags`."""
    args = build_parser().parse_args(list(flags))
    log = logging.getLogger("test.lio")
    paths = HostPaths(
        procfs=str(configfs / "no-proc"),
        sysfs=str(sysfs if sysfs is not None else configfs / "no-sys"),
        configfs=str(configfs),
    )
    ctx = CollectorContext(paths=paths, args=args, log=log, errlog=RateLimitedLog(log))
    out = Output("lio", ctx.errlog)
    LioCollector(ctx).collect_blocking(out)
    scrape = Scrape(errors=list(out.errors))
    for fam in out.families.values():
        scrape.helps[fam.metric.name] = fam.metric.documentation
        for s in fam.metric.samples:
            key = tuple(sorted(s.labels.items()))
            scrape.samples.setdefault(s.name, {})[key] = s.value
    return scrape


# -- tests of the loader itself ------------------------------------------------------------


def test_unescape_round_trip() -> None:
    assert unescape(r"a\nb\tc\\d\x00") == "a\nb\tc\\d\x00"
    assert unescape(r"\\n") == "\\n"  # an escaped backslash followed by n


def test_load_builds_real_files_links_and_unreadables(tmp_path: Path) -> None:
    entries = load_dump(DUMP_AFTER, tmp_path)
    t = tmp_path / "target"
    # exact bytes with the newline restored
    assert (t / "core/fileio_0/disk0/statistics/scsi_lu/num_cmds").read_bytes() == b"63\n"
    assert (t / "core/fileio_0/disk0/statistics/scsi_tgt_dev/status").read_bytes() == (b"activated")
    members = t / "core/fileio_0/disk0/alua/default_tg_pt_gp/members"
    assert members.read_bytes() == b"loopback/naa.50014050000000a1/tpgt_1/lun_0\n\x00"
    assert (t / "core/fileio_0/disk0/alias").read_bytes() == b""
    # the LUN symlink resolves inside the fixture tree
    link = t / "loopback/naa.50014050000000a1/tpgt_1/lun/lun_0/b9cd55ebc2"
    assert os.readlink(link) == "../../../../../../target/core/fileio_0/disk0"
    assert link.resolve() == (t / "core/fileio_0/disk0").resolve()
    # the write-only control files cannot be read, not even by root
    ctl = t / "core/fileio_0/disk0/control"
    assert entries["target/core/fileio_0/disk0/control"].kind == "error"
    try:
        ctl.read_bytes()
    except IsADirectoryError:
        pass
    else:
        raise AssertionError("control should be unreadable")
    # every dumped path exists
    assert all(os.path.lexists(tmp_path / rel) for rel in entries)
