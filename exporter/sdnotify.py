"""systemd's readiness protocol (sd_notify(3)): one datagram to $NOTIFY_SOCKET, no dependency.

With `Type=notify` systemd considers the service started only when READY=1 arrives, i.e. after
every listener is bound, so `systemctl start` fails when the port is taken instead of reporting
a service that dies a moment later.
"""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send `state` (e.g. "READY=1") if systemd asked for it; True if it was sent."""
    addr = os.environ.get("NOTIFY_SOCKET", "")
    if not addr or addr[0] not in "/@":
        return False
    # An abstract socket is spelled with a leading @ in the variable and a NUL byte on the wire.
    target = "\0" + addr[1:] if addr[0] == "@" else addr
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True
