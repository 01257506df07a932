"""A local lab: simulated FC target host + the real exporter + a real Prometheus with our rules.

Used by the end-to-end test (tests/test_e2e_prometheus.py) and by scripts/render-dashboard-png.py.
Everything listens on 127.0.0.1 on free ports and lives under one work directory:

    with Lab(workdir, SimParams(ports=4)) as lab:
        lab.sim(lambda h: h.link_down(0))
        lab.wait_for(lambda: lab.alert_state("FCTargetPortLinkDown", host="host6") == "pending")

A background thread advances the simulated host in real time (`advance(elapsed)` every 0.2 s), so
the rates Prometheus computes are per real second. Calls into the simulator from the test go
through `lab.sim()`, which holds the same lock.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from exporter.simulate import SimParams, SimulatedHost

RULES = Path(__file__).resolve().parent / "rules" / "fctarget.rules.yml"
REPO = Path(__file__).resolve().parent.parent
JOB = "fctarget"  # the job name the shipped rules expect

T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not os.access(found, os.X_OK):
        raise RuntimeError(
            "prometheus not found: install Debian's prometheus package "
            "(scripts/install-system-deps.sh)"
        )
    return found


def http_json(url: str, params: dict[str, str] | None = None, timeout: float = 10) -> Any:
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:
        body = err.read().decode(errors="replace")
        raise RuntimeError(f"GET {url}: HTTP {err.code}: {body}") from err


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


class Lab:
    def __init__(  # noqa: PLR0913 - keyword-only options, each with a default
        self,
        workdir: Path,
        params: SimParams,
        *,
        rules: Path = RULES,
        interval: str = "1s",
        setup: Callable[[SimulatedHost], None] | None = None,
        hosts: int = 1,
    ) -> None:
        self.workdir = workdir
        # Several hosts: a pair (or more) of target hosts under one Prometheus, each with its own
        # exporter (instance). Host 0 is `self.host`; `setup` runs on every host.
        self.hosts = [
            SimulatedHost(str(workdir / ("host" if i == 0 else f"host{i}")), params)
            for i in range(hosts)
        ]
        self.host = self.hosts[0]
        self.rules = rules
        self.interval = interval
        self.setup = setup
        self.lock = threading.Lock()
        self.exporter_ports = [free_port() for _ in self.hosts]
        self.exporter_port = self.exporter_ports[0]
        self.prom_port = free_port()
        self.instances = [f"127.0.0.1:{p}" for p in self.exporter_ports]
        self.instance = self.instances[0]
        self.prom_url = f"http://127.0.0.1:{self.prom_port}"
        self.exporters: list[subprocess.Popen[bytes] | None] = [None for _ in self.hosts]
        self.prometheus: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._logs: list[Any] = []
        self.started_at = 0.0

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Lab:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def exporter(self) -> subprocess.Popen[bytes] | None:
        return self.exporters[0]

    def start(self) -> None:
        for host in self.hosts:
            host.build()
            if self.setup is not None:
                self.setup(host)
            host.advance(1.0)
        self._ticker = threading.Thread(target=self._tick, name="sim-ticker", daemon=True)
        self._ticker.start()
        for i in range(len(self.hosts)):
            self.start_exporter(i)
        self.prometheus = self._spawn("prometheus", self.prometheus_cmd())
        self._wait_http(f"{self.prom_url}/-/ready", self.prometheus, "prometheus")
        self.started_at = time.time()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(5)
        for proc in (self.prometheus, *self.exporters):
            _terminate(proc)
        for f in self._logs:
            f.close()
        self._logs.clear()

    def stop_exporter(self, host: int = 0) -> None:
        _terminate(self.exporters[host])

    def start_exporter(self, host: int = 0, configfs: str | None = None) -> None:
        """(Re)start the exporter of one host, optionally reading another configfs (an empty
        directory is a host whose LIO configuration was not restored)."""
        _terminate(self.exporters[host])
        name = "exporter" if host == 0 else f"exporter{host}"
        proc = self._spawn(name, self.exporter_cmd(host, configfs))
        self.exporters[host] = proc
        self._wait_http(f"http://{self.instances[host]}/-/healthy", proc, name)

    def exporter_cmd(self, host: int = 0, configfs: str | None = None) -> list[str]:
        p = self.hosts[host].paths
        return [
            sys.executable,
            "-m",
            "exporter",
            f"--web.listen-address={self.instances[host]}",
            f"--path.procfs={p.procfs}",
            f"--path.sysfs={p.sysfs}",
            f"--path.configfs={configfs or p.configfs}",
            f"--path.kmsg={p.kmsg}",
            "--collector.fc_host.stats-min-interval=0",
            "--collector.kmsg.poll-interval=0.2",
            # the opt-in sources the simulated host writes, so that every dashboard row has data
            "--collector.sfp",
            "--collector.sfp.cache-interval=0.01",
            "--collector.qla2xxx",
            "--collector.qla2xxx.fw-resource",
            f"--path.debugfs={p.debugfs}",
        ]

    def prometheus_cmd(self) -> list[str]:
        config = {
            "global": {"scrape_interval": self.interval, "evaluation_interval": self.interval},
            "rule_files": [str(self.rules)],
            "scrape_configs": [
                {
                    "job_name": JOB,
                    "scrape_timeout": self.interval,
                    "static_configs": [{"targets": self.instances}],
                }
            ],
        }
        cfg = self.workdir / "prometheus.yml"
        cfg.write_text(json.dumps(config, indent=2))  # JSON is YAML
        return [
            prometheus_binary(),
            f"--config.file={cfg}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.prom_port}",
            "--log.level=warn",
        ]

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        self._logs.append(log)
        return subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_http(self, url: str, proc: subprocess.Popen[bytes], name: str) -> None:
        deadline = time.monotonic() + 30
        while not _http_ok(url):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited {proc.returncode}:\n{self.log(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after 30 s:\n{self.log(name)}")
            time.sleep(0.1)

    def _tick(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.2):
            now = time.monotonic()
            with self.lock:
                for host in self.hosts:
                    host.advance(now - last)
            last = now

    # ------------------------------------------------------------------ simulator

    def sim(self, action: Callable[[SimulatedHost], T], host: int = 0) -> T:
        """Run `action(host)` on one simulated host without racing the ticker."""
        with self.lock:
            return action(self.hosts[host])

    # ------------------------------------------------------------------ Prometheus API

    def api(self, path: str, **params: str) -> Any:
        reply = http_json(f"{self.prom_url}/api/v1/{path}", params)
        if reply.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {reply}")
        return reply["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_range(
        self, expr: str, start: float, end: float, step: float = 1.0
    ) -> list[dict[str, Any]]:
        data = self.api(
            "query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=str(step)
        )
        result: list[dict[str, Any]] = data["result"]
        return result

    def label_values(self, label: str, selector: str) -> list[str]:
        values: list[str] = self.api(f"label/{label}/values", **{"match[]": selector})
        return values

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts

    def alert_state(self, name: str, **labels: str) -> str:
        """'firing', 'pending' or 'inactive' for the alert whose labels include `labels`."""
        states = {
            a["state"]
            for a in self.alerts()
            if a["labels"].get("alertname") == name
            and all(a["labels"].get(k) == v for k, v in labels.items())
        }
        for s in ("firing", "pending"):
            if s in states:
                return s
        return "inactive"

    def rule_health(self) -> list[tuple[str, str, str]]:
        """(rule name, health, lastError) of every loaded rule."""
        out = []
        for g in self.api("rules")["groups"]:
            for r in g["rules"]:
                out.append((r["name"], r.get("health", ""), r.get("lastError", "")))
        return out

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 30) -> float:
        """Poll `check` every 0.25 s; return the seconds it took, fail with `what`."""
        t0 = time.monotonic()
        while True:
            if check():
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")
            time.sleep(0.25)


def _terminate(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def disable_tpg(host: SimulatedHost, port: int) -> None:
    """`targetcli /qla2xxx/<wwpn>/tpg1 disable`: tpgt_1/enable reads 0 (the simulator has no
    call for it; written atomically like the simulator's own files)."""
    path = os.path.join(host.tpg_dir(port), "enable")
    tmp = os.path.join(host.root, ".lab-enable.tmp")  # outside the tree the exporter walks
    with open(tmp, "w", encoding="ascii") as f:
        f.write("0\n")
    os.replace(tmp, path)
