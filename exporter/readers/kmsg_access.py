"""Whether the kernel log can be read here, the way the kmsg reader opens it: `--check` asks
this instead of os.access(), which says nothing about kernel.dmesg_restrict (the kernel checks
it when /dev/kmsg is opened, devkmsg_open() in kernel/printk/printk.c)."""

from __future__ import annotations

import errno
import os


def _errno(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "error")


def probe(path: str) -> str | None:
    """Open and read the kernel log once, non-blocking; None when readable, else why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        hint = ""
        if exc.errno in (errno.EPERM, errno.EACCES):
            hint = " (needs CAP_SYSLOG while kernel.dmesg_restrict=1, or root)"
        return f"{_errno(exc)}: {exc.strerror}{hint}"
    try:
        os.read(fd, 8192)
    except BlockingIOError:
        pass  # readable, nothing pending
    except OSError as exc:
        if exc.errno != errno.EPIPE:  # EPIPE: the oldest record was overwritten; still readable
            return f"{_errno(exc)}: {exc.strerror}"
    finally:
        os.close(fd)
    return None
