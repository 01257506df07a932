"""Low-level configfs reads for the configfs reader: one open/read/close per attribute.

The hot path of the exporter on large hosts (tens of thousands of attributes per scrape): reads
return the OSError instead of raising it, counters take a fast path for the common `digits\\n`,
and failures are grouped by file kind and errno before they become problems, so 4096 unreadable
LUNs are one problem (with one example path and a count), not 4096.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass

from exporter.parsers import lio as p
from exporter.readers.names import label_name
from exporter.readers.problems import Problems

_O_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
_PAGE = 65536  # a configfs attribute is at most one page
_FAST_DIGITS = 19


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute file of a configfs object, relative to the object's directory."""

    rel: str  # with a leading "/", e.g. "/statistics/scsi_tgt_port/in_cmds"
    kind: str  # the problem key's object: one key per kind of file, not per file
    # ENODEV is None without a problem where the kernel uses it for "no backing device / no
    # session / mapping gone" (target_core_stat.c).
    enodev_ok: bool = False
    # Absent on older kernels (an attribute added later): None without a problem.
    optional: bool = False


class Vanished(Exception):
    """The object being read (LUN, ACL, device) was removed while the walk ran."""


class Files:
    """Reads attributes, records failures grouped by (kind, errno), flushes them as problems."""

    def __init__(self) -> None:
        self._failures: dict[str, tuple[str, str, str, int]] = {}  # key -> kind, what, msg, n
        self.escaped = 0  # names met that were not UTF-8 (served escaped)

    def label(self, name: str) -> str:
        """A directory-entry name for a label: valid UTF-8 (escaped and counted if it was not)."""
        safe, escaped = label_name(name)
        self.escaped += escaped
        return safe

    def problem(self, kind: str, path: str, err: OSError | str) -> None:
        """A failed or garbled read of `path`; `err` is the OSError or the parser's message."""
        if isinstance(err, OSError):
            what = errno.errorcode.get(err.errno or 0, str(err.errno))
            why = err.strerror or str(err)
        else:
            what, why = "EINVAL", err
        key = f"{kind}:{what}"
        slot = self._failures.get(key)
        if slot is None:
            self._failures[key] = (kind, what, f"cannot use {kind}: {why} ({path})", 1)
        else:
            self._failures[key] = (*slot[:3], slot[3] + 1)

    def flush(self, problems: Problems) -> None:
        """Every grouped failure as one problem `<source>:<kind>:<errno name>`."""
        for _key, (kind, what, msg, n) in sorted(self._failures.items()):
            problems.add(kind, what, f"{msg} and {n - 1} more" if n > 1 else msg)
        self._failures.clear()

    @staticmethod
    def read(path: str) -> bytes | OSError:
        try:
            fd = os.open(path, _O_FLAGS)
        except OSError as exc:
            return exc
        try:
            return os.read(fd, _PAGE)
        except OSError as exc:
            return exc
        finally:
            os.close(fd)

    def scan(self, path: str, kind: str) -> list[os.DirEntry[str]] | None:
        """Entries of a directory; None (and no problem) if it vanished, None + problem else."""
        try:
            with os.scandir(path) as it:
                return list(it)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problem(kind, path, exc)
            return None

    def value(self, owner: str, attr: Attr, parse: Callable[[bytes], object]) -> object:
        """Read and parse `attr` of the object whose directory is `owner`; None on failure.

        Raises Vanished if the file is gone because `owner` is gone (a LUN or ACL removed
        while the walk ran).
        """
        path = owner + attr.rel
        data = self.read(path)
        if isinstance(data, OSError):
            self.failed(data, path, attr, owner)
            return None
        try:
            return parse(data)
        except ValueError as exc:
            self.problem(attr.kind, path, str(exc))
            return None

    def failed(self, exc: OSError, path: str, attr: Attr, owner: str) -> None:
        if exc.errno == errno.ENOENT:
            if not os.path.isdir(owner):
                raise Vanished(owner)
            if attr.optional:
                return
        if exc.errno == errno.ENODEV and attr.enodev_ok:
            return
        self.problem(attr.kind, path, exc)

    def uint(self, owner: str, attr: Attr) -> int | None:
        """`value(owner, attr, parse_uint)` with a fast path for `digits\\n` (the hot loop)."""
        path = owner + attr.rel
        data = self.read(path)
        if type(data) is bytes:
            # bytes.isdigit: ASCII only; at most 19 digits is below 2**64, so the value needs no
            # range check (anything longer goes through parse_uint's, which raises ValueError).
            if len(data) <= _FAST_DIGITS + 1 and data[-1:] == b"\n" and data[:-1].isdigit():
                return int(data[:-1])
            try:
                return p.parse_uint(data)
            except ValueError as exc:
                self.problem(attr.kind, path, str(exc))
                return None
        assert isinstance(data, OSError)
        self.failed(data, path, attr, owner)
        return None

    def flag(self, owner: str, attr: Attr) -> bool | None:
        v = self.value(owner, attr, p.parse_bool)
        return v if isinstance(v, bool) else None

    def text(self, owner: str, attr: Attr, parse: Callable[[bytes], str]) -> str | None:
        v = self.value(owner, attr, parse)
        return v if isinstance(v, str) else None
