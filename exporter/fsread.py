"""Blocking file helpers for worker threads.

Collectors read all their files in one batch inside `asyncio.to_thread`: one thread hop per
collector instead of one per file (see bench/ for the measurement that chose this).
Every helper turns OS errors into values so that one bad file costs one series, not the scrape.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

# sysfs/configfs attributes are at most one page; /proc/interrupts can be large on big hosts.
MAX_SMALL_FILE = 64 * 1024
MAX_LARGE_FILE = 64 * 1024 * 1024


def read_bytes(path: str, limit: int = MAX_SMALL_FILE) -> bytes:
    """Read a whole file (up to `limit` bytes). Raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            chunk = os.read(fd, min(65536, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str, limit: int = MAX_SMALL_FILE) -> str:
    """Read a file as text; undecodable bytes become U+FFFD rather than an exception."""
    return read_bytes(path, limit).decode("utf-8", "replace")


def try_read_text(path: str) -> str | OSError:
    """Like read_text, but returns the OSError instead of raising it."""
    try:
        return read_text(path)
    except OSError as exc:
        return exc


def read_attr(path: str) -> str | None:
    """A one-value sysfs/configfs attribute without its trailing newline; None if unreadable."""
    try:
        return read_text(path).rstrip("\n")
    except OSError:
        return None


def read_many(paths: Iterable[str]) -> dict[str, bytes | OSError]:
    """Read many small files; each result is the content or the OSError it raised."""
    out: dict[str, bytes | OSError] = {}
    for p in paths:
        try:
            out[p] = read_bytes(p)
        except OSError as exc:
            out[p] = exc
    return out


def listdir(path: str) -> list[str]:
    """Sorted directory entries; [] when the directory is missing or unreadable."""
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def realpath(path: str) -> str:
    return os.path.realpath(path)
