"""The command line's flags, node_exporter style: --web.*, --path.*, --[no-]collector.NAME and
each collector's --collector.NAME.OPTION, the run modes and logging."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from exporter import __version__
from exporter.collector import REGISTRY
from exporter.flagtypes import positive_seconds
from exporter.web.flags import DEFAULT_PORT, add_web_arguments


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any) -> None:
        # No prefix matching (`--onc`): a flag means exactly what it says, as in node_exporter.
        super().__init__(allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        # One clear line instead of a usage dump.
        self.exit(2, f"fctarget-exporter: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    import exporter.collectors  # noqa: F401 - registers every collector

    p = _Parser(
        prog="fctarget-exporter",
        description=(
            "Prometheus exporter for Linux LIO SCSI targets served over QLogic qla2xxx Fibre "
            "Channel HBAs: FC link state and events, HBA interrupt spread over CPUs, and what "
            "the target serves per port, LUN, backstore and initiator."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Examples:\n"
            f"  fctarget-exporter                         monitor this host on :{DEFAULT_PORT}\n"
            "  fctarget-exporter --demo                  serve a simulated FC target host\n"
            "  fctarget-exporter --once                  print one scrape and exit\n"
            "  fctarget-exporter --no-collector.kmsg     everything but the kernel log\n"
        ),
    )
    add_web_arguments(p)
    paths = p.add_argument_group("host paths (point these at a fixture tree to test)")
    paths.add_argument(
        "--path.procfs",
        dest="procfs",
        default="/proc",
        metavar="DIR",
        help="procfs mountpoint (default /proc)",
    )
    paths.add_argument(
        "--path.sysfs",
        dest="sysfs",
        default="/sys",
        metavar="DIR",
        help="sysfs mountpoint (default /sys)",
    )
    paths.add_argument(
        "--path.configfs",
        dest="configfs",
        default=None,
        metavar="DIR",
        help="configfs mountpoint holding target/ (default <sysfs>/kernel/config)",
    )
    paths.add_argument(
        "--path.kmsg",
        dest="kmsg",
        default="/dev/kmsg",
        metavar="FILE",
        help="kernel log device, or a saved file of /dev/kmsg records (default /dev/kmsg)",
    )
    paths.add_argument(
        "--path.debugfs",
        dest="debugfs",
        default=None,
        metavar="DIR",
        help="debugfs mountpoint holding qla2xxx/ (default <sysfs>/kernel/debug)",
    )
    coll = p.add_argument_group(
        "collectors",
        "every collector NAME below has --collector.NAME and --no-collector.NAME",
    )
    coll.add_argument(
        "--collector.timeout",
        dest="collector_timeout",
        type=positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="per-collector timeout for one scrape (default 10)",
    )
    coll.add_argument(
        "--collector.disable-defaults",
        dest="disable_defaults",
        action="store_true",
        help="disable every collector not enabled explicitly",
    )
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        state = "enabled" if cls.default_enabled else "disabled"
        coll.add_argument(
            f"--collector.{name}",
            dest=f"collector_{name}",
            action="store_true",
            default=None,
            help=f"{cls.description} (default {state})",
        )
        coll.add_argument(
            f"--no-collector.{name}",
            dest=f"collector_{name}",
            action="store_false",
            help=argparse.SUPPRESS,
        )
    for name in sorted(REGISTRY):
        group = p.add_argument_group(f"collector {name}")
        REGISTRY[name].add_arguments(group)
    run = p.add_argument_group("run mode")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--once",
        action="store_true",
        help="collect once, print the fctarget_* families to stdout and exit "
        "(exit 1 if a collector failed); for node_exporter's textfile collector, so the "
        "process_* and python_* families are left out",
    )
    run.add_argument(
        "--demo",
        action="store_true",
        help="run on a built-in simulated FC target host instead of this machine",
    )
    run.add_argument(
        "--demo.interval",
        dest="demo_interval",
        type=positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how often the simulated host advances (default 5)",
    )
    mode.add_argument(
        "--check", action="store_true", help="explain what the exporter sees on this host and exit"
    )
    log = p.add_argument_group("logging")
    log.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "error"],
        help="(default info)",
    )
    log.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=["logfmt", "json"],
        help="(default logfmt)",
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"fctarget-exporter {__version__} (python {sys.version.split()[0]})",
    )
    return p
