"""The --web.* flags (listen addresses, telemetry path, web config file, limits), added to the
command line's parser; a light module, loaded without aiohttp."""

from __future__ import annotations

import argparse

from exporter.flagtypes import count, positive_seconds
from exporter.web.limits import WebLimits

# 9100-9999 hold Prometheus's default port allocations and are full; 19181 lies outside that
# range, below the ephemeral range (32768+) and is not an IANA-registered service port.
DEFAULT_PORT = 19181
DEFAULT_LISTEN = f":{DEFAULT_PORT}"


def _telemetry_path(value: str) -> str:
    # aiohttp rejects a route without a leading slash with a traceback at start-up
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise argparse.ArgumentTypeError(f"{value!r}: a URL path starts with / and has no spaces")
    return value


def add_web_arguments(parser: argparse.ArgumentParser) -> None:
    web = parser.add_argument_group("web")
    web.add_argument(
        "--web.listen-address",
        dest="listen_address",
        action="append",
        metavar="ADDR",
        help=f"address to listen on, host:port or [v6]:port; repeatable (default {DEFAULT_LISTEN})",
    )
    web.add_argument(
        "--web.telemetry-path",
        dest="telemetry_path",
        default="/metrics",
        type=_telemetry_path,
        metavar="PATH",
        help="path under which to expose metrics (default /metrics)",
    )
    web.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default="",
        metavar="FILE",
        help="exporter-toolkit web configuration (TLS, basic auth, headers); reloaded on SIGHUP",
    )
    web.add_argument(
        "--web.max-requests",
        dest="max_requests",
        type=count,
        default=WebLimits.max_requests,
        metavar="N",
        help="scrapes handled at once; more are answered 503 at once (0: no limit; default 40)",
    )
    web.add_argument(
        "--web.idle-timeout",
        dest="idle_timeout",
        type=positive_seconds,
        default=WebLimits.idle_timeout,
        metavar="SECONDS",
        help="close a keep-alive connection idle this long (default 90)",
    )
    web.add_argument(
        "--web.read-header-timeout",
        dest="read_header_timeout",
        type=positive_seconds,
        default=WebLimits.read_header_timeout,
        metavar="SECONDS",
        help="close a connection whose request headers are not complete this long after it "
        "opened or after the request began (default 10)",
    )
