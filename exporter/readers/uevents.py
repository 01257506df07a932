"""qla2xxx FW_DUMP uevents, counted per SCSI host (the only code that listens for them).

qla_os.c qla2x00_uevent_emit(vha, QLA_UEVENT_CODE_FW_DUMP) sends a KOBJ_CHANGE uevent on the
HBA's PCI device whose one variable is `FW_DUMP=<host_no>` when the driver has captured a
firmware dump (parsers/qla_host.py parse_fw_dump_uevent). The watcher listens on the kernel's
uevent netlink socket through pyudev (filter: subsystem pci); where that socket cannot be opened
(a container without it) `start` returns False and the count is not served.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from exporter.parsers.qla_host import parse_fw_dump_uevent

LOG = logging.getLogger("fctarget.uevents")


class FwDumpWatcher:
    """Counts FW_DUMP uevents by `hostN` since `start`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._observer: Any = None
        self.running = False

    def on_uevent(self, properties: Mapping[str, str]) -> None:
        """One uevent's environment (pyudev Device.properties, or a test's dict)."""
        host_no = parse_fw_dump_uevent(properties)
        if host_no is None:
            return
        with self._lock:
            key = f"host{host_no}"
            self._counts[key] = self._counts.get(key, 0) + 1
        LOG.info("qla2xxx firmware dump on host%d (FW_DUMP uevent)", host_no)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def start(self) -> bool:
        """Listen for uevents in a daemon thread; False when the netlink socket is unavailable."""
        if self.running:
            return True
        try:
            import pyudev

            monitor = pyudev.Monitor.from_netlink(pyudev.Context(), source="kernel")
            monitor.filter_by("pci")
            observer = pyudev.MonitorObserver(
                monitor,
                callback=lambda device: self.on_uevent(dict(device.properties)),
                name="fctarget-fw-dump-uevents",
            )
            observer.daemon = True
            observer.start()
        except Exception as exc:  # noqa: BLE001 - no netlink here: the count is not served
            LOG.info("FW_DUMP uevent monitor unavailable", extra={"fields": {"error": str(exc)}})
            return False
        self._observer = observer
        self.running = True
        return True

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        self.running = False
        if observer is not None:
            observer.send_stop()
