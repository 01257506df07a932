"""Process behaviour of the command line: bad numbers, signals at any moment, the listener's
errors, readiness for systemd and the log lines an operator reads. Each runs the real program."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exporter.flagtypes import nonnegative_seconds, positive_seconds
from tests.exporter_proc import ROOT, exporter_cmd, free_port, run_exporter, serving


@pytest.mark.parametrize(
    "flags",
    [
        ["--collector.timeout", "nan"],
        ["--collector.timeout", "0"],
        ["--collector.timeout", "inf"],
        ["--demo", "--demo.interval", "0"],
        ["--demo", "--demo.interval", "nan"],
        ["--demo", "--demo.interval", "-1"],
    ],
)
def test_bad_numbers_are_one_line_and_exit_2(flags: list[str]) -> None:
    r = run_exporter(*flags, "--once")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "seconds must be finite" in lines[0], r.stderr


def test_seconds_types() -> None:
    assert positive_seconds("2.5") == 2.5
    assert nonnegative_seconds("0") == 0.0
    for bad in ("nan", "-0.1", "inf", "x", "-inf"):
        with pytest.raises(Exception, match=r"seconds|number"):
            nonnegative_seconds(bad)
    with pytest.raises(Exception, match="more than zero"):
        positive_seconds("0")


def test_no_abbreviated_flags() -> None:
    r = run_exporter("--onc", "--collector.disable-defaults")
    assert r.returncode == 2
    assert "unrecognized arguments: --onc" in r.stderr


def test_check_and_once_exclude_each_other() -> None:
    r = run_exporter("--check", "--once")
    assert r.returncode == 2
    assert "not allowed with argument" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        exporter_cmd(*args),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _after_entry(proc: subprocess.Popen[str], delay: float) -> None:
    """Wait until the program's own code runs (its early SIGTERM handler shows in the process's
    caught-signal mask), then `delay` more: a signal before that meets the interpreter's start-up,
    which is not the program's to handle."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        caught = int(
            next(line for line in status.splitlines() if line.startswith("SigCgt:"))[7:], 16
        )
        if caught & (1 << (signal.SIGTERM - 1)):
            break
        time.sleep(0.005)
    time.sleep(delay)


@pytest.mark.parametrize("delay", [0.05, 0.3])
def test_sighup_while_starting_does_not_kill(delay: float) -> None:
    port = free_port()
    proc = _start("--collector.disable-defaults", f"--web.listen-address=127.0.0.1:{port}")
    try:
        _after_entry(proc, delay)
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.7])
def test_sigterm_early_in_demo_removes_its_directory(delay: float, tmp_path: Path) -> None:
    # A TMPDIR of its own: other programs' demo directories do not count.
    proc = _start(
        "--demo", f"--web.listen-address=127.0.0.1:{free_port()}", env={"TMPDIR": str(tmp_path)}
    )
    _after_entry(proc, delay)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode in (0, 143), err
    assert "Traceback" not in err
    assert list(tmp_path.glob("fctarget-demo-*")) == []


@pytest.mark.parametrize("delay", [0.05, 0.4])
def test_ctrl_c_during_start_or_once_is_one_line_exit_130(delay: float) -> None:
    proc = _start("--demo", "--once")
    _after_entry(proc, delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    if proc.returncode == 0:  # it finished first: nothing to interrupt
        return
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["fctarget-exporter: interrupted"]


def test_ctrl_c_while_serving_is_a_clean_stop() -> None:
    with serving(["--collector.disable-defaults"]) as (_base, proc):
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        assert proc.returncode == 0


def test_port_in_use_names_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_exporter("--collector.disable-defaults", f"--web.listen-address=127.0.0.1:{port}")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f"fctarget-exporter: error: cannot listen on 127.0.0.1:{port}: address already in use"
    )
    assert "(" not in r.stderr.strip().splitlines()[-1]


def test_unresolvable_host_names_the_address() -> None:
    r = run_exporter("--collector.disable-defaults", "--web.listen-address=no-such-host.invalid:1")
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("fctarget-exporter: error: cannot listen on no-such-host.invalid:1: ")


def test_demo_banner_after_bind_and_with_the_right_scheme() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_exporter("--demo", f"--web.listen-address=127.0.0.1:{port}")
    assert r.returncode == 2
    assert "metrics: http" not in r.stdout  # no banner for a server that never listened


def test_readiness_is_notified_after_listening(tmp_path: Path) -> None:
    sock_path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(sock_path))
        notify.settimeout(20)
        port = free_port()
        proc = _start(
            "--collector.disable-defaults",
            f"--web.listen-address=127.0.0.1:{port}",
            env={"NOTIFY_SOCKET": str(sock_path)},
        )
        try:
            assert notify.recv(100) == b"READY=1"
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass  # listening when READY=1 arrived
            proc.send_signal(signal.SIGTERM)
            assert notify.recv(100) == b"STOPPING=1"
        finally:
            proc.kill() if proc.poll() is None else None
            _, err = proc.communicate(timeout=20)
    assert "starting" in err and "shutting down" in err
    start = next(line for line in err.splitlines() if "msg=starting" in line)
    for field in ("version=", "collectors=none", "procfs=/proc", "kmsg=/dev/kmsg"):
        assert field in start


_STUCK_COLLECTOR = """
import sys, time
from exporter.collector import ThreadedCollector, register

@register
class Stuck(ThreadedCollector):
    name = "stuck"
    description = "a worker that never returns, like a read of a hung sysfs attribute"
    def collect_blocking(self, out):
        time.sleep(600)

from exporter.entry import main
sys.argv[0] = "fctarget-exporter"
raise SystemExit(main())
"""


def test_once_ends_within_the_timeout_when_a_worker_never_returns() -> None:
    started = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-c", _STUCK_COLLECTOR, "--once", "--demo", "--collector.timeout=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert r.returncode == 1, r.stderr
    assert elapsed < 8, elapsed
    assert 'fctarget_scrape_collector_success{collector="stuck"} 0.0' in r.stdout
    assert 'fctarget_scrape_collector_success{collector="lio"} 1.0' in r.stdout
    assert "still stuck at exit: stuck" in r.stderr
