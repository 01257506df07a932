"""The host roots every collector reads under, so that any collector can run on a fixture tree."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class HostPaths:
    procfs: str = "/proc"
    sysfs: str = "/sys"
    configfs: str = "/sys/kernel/config"
    kmsg: str = "/dev/kmsg"
    debugfs: str = "/sys/kernel/debug"

    def proc(self, *parts: str) -> str:
        return os.path.join(self.procfs, *parts)

    def sys(self, *parts: str) -> str:
        return os.path.join(self.sysfs, *parts)

    def debug(self, *parts: str) -> str:
        """`<debugfs>/...` (root-only: the kernel mounts it with mode 0700)."""
        return os.path.join(self.debugfs, *parts)

    def target(self, *parts: str) -> str:
        """`<configfs>/target/...`, the LIO tree."""
        return os.path.join(self.configfs, "target", *parts)
