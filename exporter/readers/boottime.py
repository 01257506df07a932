"""When the kernel booted, to turn /dev/kmsg's timestamps (microseconds since boot) into wall-clock
time: `btime` of <procfs>/stat for a saved log, the monotonic clock for the live device."""

from __future__ import annotations

import os
import time

from exporter import fsread


def read_btime(procfs: str) -> float | None:
    """`btime` (boot time, epoch seconds) from <procfs>/stat (fs/proc/stat.c), or None."""
    try:
        data = fsread.read_bytes(os.path.join(procfs, "stat"), 1 << 20)
    except OSError:
        return None
    for line in data.split(b"\n"):
        if line.startswith(b"btime "):
            value = line[6:].strip()
            if value.isdigit() and len(value) <= 20:  # a u64 (fs/proc/stat.c); longer: garbled
                return float(value)
    return None


def monotonic_boot_time() -> float:
    # The record timestamp is local_clock() since boot, which tracks CLOCK_MONOTONIC (both stop
    # during suspend) more closely than btime does.
    return time.time() - time.monotonic()
