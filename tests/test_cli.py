"""Command-line behaviour: clear one-line errors, --version, --once, collector flags, HTTP."""

from __future__ import annotations

import gzip

from exporter.cli import enabled_collectors, parse_listen
from exporter.collector import REGISTRY
from exporter.flags import build_parser
from exporter.web.flags import DEFAULT_PORT
from tests.exporter_proc import http_get, run_exporter, serving


def test_bad_flag_is_one_clear_line() -> None:
    r = run_exporter("--no-such-flag")
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unrecognized arguments: --no-such-flag" in lines[0]
    assert "Traceback" not in r.stderr


def test_unreadable_path_is_one_clear_line(tmp_path: object) -> None:
    r = run_exporter("--path.procfs", "/nonexistent/proc", "--once")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "fctarget-exporter: error: --path.procfs /nonexistent/proc: not a readable directory"
    )


def test_bad_listen_address() -> None:
    r = run_exporter("--web.listen-address", "127.0.0.1", "--collector.disable-defaults")
    assert r.returncode == 2
    assert "has no port" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_telemetry_path_is_one_clear_line() -> None:
    for bad in ("metrics", "/me trics"):
        r = run_exporter("--web.telemetry-path", bad, "--collector.disable-defaults")
        assert r.returncode == 2
        assert r.stderr.strip().splitlines() == [
            f"fctarget-exporter: error: argument --web.telemetry-path: {bad!r}: a URL path "
            "starts with / and has no spaces (see --help)"
        ]


def test_bad_web_limits_are_one_clear_line() -> None:
    cases = [
        ("--web.max-requests", "-1", "expected a whole number, 0 or more"),
        ("--web.max-requests", "1.5", "expected a whole number, 0 or more"),
        ("--web.idle-timeout", "nan", "seconds must be finite and more than zero"),
        ("--web.idle-timeout", "-5", "seconds must be finite and more than zero"),
        ("--web.idle-timeout", "0", "seconds must be finite and more than zero"),
        ("--web.read-header-timeout", "inf", "seconds must be finite and more than zero"),
    ]
    for flag, value, reason in cases:
        r = run_exporter(f"{flag}={value}", "--collector.disable-defaults")
        assert r.returncode == 2, (flag, value)
        assert r.stderr.strip().splitlines() == [
            f"fctarget-exporter: error: argument {flag}: {value!r}: {reason} (see --help)"
        ]
    r = run_exporter("--web.read-header-timeout=soon", "--collector.disable-defaults")
    assert r.stderr.strip().splitlines() == [
        "fctarget-exporter: error: argument --web.read-header-timeout: 'soon' is not a number "
        "of seconds (see --help)"
    ]


def test_web_limit_flags() -> None:
    args = build_parser().parse_args([])
    assert (args.max_requests, args.idle_timeout, args.read_header_timeout) == (40, 90.0, 10.0)
    args = build_parser().parse_args(
        ["--web.max-requests=0", "--web.idle-timeout=2.5", "--web.read-header-timeout=3"]
    )
    assert (args.max_requests, args.idle_timeout, args.read_header_timeout) == (0, 2.5, 3.0)


def test_parse_listen() -> None:
    assert parse_listen(":19181") == ("0.0.0.0", 19181)
    assert parse_listen("[::1]:80") == ("::1", 80)
    assert parse_listen("127.0.0.1:1") == ("127.0.0.1", 1)


def test_version() -> None:
    r = run_exporter("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("fctarget-exporter 0.")


def test_default_port_outside_prometheus_allocations() -> None:
    assert not 9100 <= DEFAULT_PORT <= 9999


def test_collector_flags_toggle() -> None:
    p = build_parser()
    every = sorted(n for n, c in REGISTRY.items() if c.default_enabled)
    assert enabled_collectors(p.parse_args([])) == every
    assert enabled_collectors(p.parse_args(["--collector.disable-defaults"])) == []
    for name in REGISTRY:
        args = p.parse_args([f"--no-collector.{name}"])
        assert name not in enabled_collectors(args)
        args = p.parse_args(["--collector.disable-defaults", f"--collector.{name}"])
        assert enabled_collectors(args) == [name]


def test_once_without_collectors_prints_metadata_and_warns() -> None:
    r = run_exporter("--once", "--collector.disable-defaults")
    assert r.returncode == 0, r.stderr
    assert "fctarget_exporter_build_info{" in r.stdout
    assert "no collector is enabled" in r.stderr


def test_once_serves_only_the_exporters_own_families() -> None:
    # node_exporter's textfile collector rejects process_* / python_* it already serves itself.
    r = run_exporter("--once", "--demo")
    assert r.returncode == 0, r.stderr
    names = {line.split("{")[0].split(" ")[0] for line in r.stdout.splitlines()}
    names = {n for n in names if n and n != "#"}
    assert len(names) > 50
    assert {n for n in names if not n.startswith("fctarget_")} == set()


def test_http_endpoints(tmp_path: object) -> None:
    with serving(["--collector.disable-defaults", "--web.telemetry-path=/m"]) as (base, _):
        status, headers, body = http_get(base + "/m")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert b"fctarget_exporter_build_info{" in body
        status, headers, gz = http_get(base + "/m", {"Accept-Encoding": "gzip"})
        assert headers.get("Content-Encoding") == "gzip"
        assert b"fctarget_exporter_build_info{" in gzip.decompress(gz)
        status, headers, om = http_get(
            base + "/m", {"Accept": "application/openmetrics-text;version=1.0.0"}
        )
        assert headers["Content-Type"].startswith("application/openmetrics-text")
        assert om.endswith(b"# EOF\n")
        status, _, page = http_get(base + "/")
        assert status == 200
        assert b'href="/m"' in page
        assert http_get(base + "/-/healthy")[0] == 200
