"""The console entry point: signal handling first, then the (slow to import) program.

Importing aiohttp and prometheus-client takes a noticeable fraction of a second. Until the
program's own handlers are in place, the kernel's defaults would apply: SIGHUP (a `systemctl
reload` right after start) would kill the process with a status systemd treats as clean, and
SIGTERM would skip the clean-up of `--demo`'s temporary directory. These handlers cover that
window; exporter.cli replaces them once it serves.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


class Terminated(SystemExit):
    """SIGTERM before the server's own handler: unwind (finally blocks run), exit 143."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


hup_pending = False


def _on_hup(_sig: int, _frame: FrameType | None) -> None:
    global hup_pending  # noqa: PLW0603 - set from a signal handler, read once by serve()
    hup_pending = True


def _on_term(_sig: int, _frame: FrameType | None) -> None:
    raise Terminated


def install_early_handlers() -> None:
    signal.signal(signal.SIGHUP, _on_hup)
    signal.signal(signal.SIGTERM, _on_term)


def main() -> int:
    install_early_handlers()
    try:
        from exporter.cli import main as cli_main

        return cli_main(sys.argv[1:])
    except KeyboardInterrupt:
        print("fctarget-exporter: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Terminated as exc:
        print("fctarget-exporter: terminated", file=sys.stderr)
        return int(str(exc.code))
