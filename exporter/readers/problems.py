"""The one error path of every reader: partial failures collected under one key scheme.

A reader never raises for a file that is missing, unreadable or garbled: it records a `Problem`
and goes on, so one bad file costs only its own series. The collector hands the problems to
`Output.error`, which logs each distinct key once per interval (logsetup.RateLimitedLog) and marks
the collector failed in `fctarget_scrape_collector_success`.

Key scheme: `<source>:<object>:<what>`, e.g. `fc_host:host7/statistics/lip_count:EACCES` or
`configfs:core/fileio_0/disk0/info:parse`. The same failure gives the same key on every scrape,
so the rate limiter can tell a new failure from a repeated one.
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    origin: str = ""  # file:line of the reader code that met it, for the log line's source


def _origin(depth: int) -> str:
    frame = sys._getframe(depth + 1)
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


class ReadError(Exception):
    """A whole source could not be read (its root is unreadable): the reader's caller reports it
    as one problem; every other source is still served."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass
class Problems:
    """The partial failures met while reading one source in one scrape."""

    source: str
    items: list[Problem] = field(default_factory=list)

    def add(self, obj: str, what: str, message: str, *, _depth: int = 1) -> None:
        self.items.append(Problem(f"{self.source}:{obj}:{what}", message, _origin(_depth)))

    def os_error(self, obj: str, path: str, exc: OSError) -> None:
        """A failed read of `path`: keyed by the errno's name, so EACCES and EIO differ."""
        name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        self.add(obj, name, f"{path}: {exc.strerror or exc}", _depth=2)

    def extend(self, other: Problems) -> None:
        self.items.extend(other.items)

    def __bool__(self) -> bool:
        return bool(self.items)
