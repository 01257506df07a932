"""`--once > file.prom` read by the real node_exporter (Debian's prometheus-node-exporter)
through its textfile collector: every family arrives and node_exporter reports no clash."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.exporter_proc import free_port, run_exporter

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "prometheus-node-exporter"


def _node_exporter_scrape(textfile_dir: Path) -> tuple[str, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            NODE_EXPORTER,
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={textfile_dir}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        # a second scrape: the clash is reported on every gather
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            body = r.read().decode()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    return body, err


def test_once_output_is_a_clean_textfile(tmp_path: Path) -> None:
    r = run_exporter("--once", "--demo")
    assert r.returncode == 0, r.stderr
    (tmp_path / "fctarget.prom").write_text(r.stdout)
    body, err = _node_exporter_scrape(tmp_path)
    assert "collected before" not in body + err
    assert "node_textfile_scrape_error 0" in body
    ours = {line.split(" ")[0] for line in r.stdout.splitlines() if not line.startswith("#")}
    served = {line.split(" ")[0] for line in body.splitlines() if not line.startswith("#")}
    assert len(ours) > 300
    assert ours <= served


def test_a_process_family_in_the_textfile_is_a_clash(tmp_path: Path) -> None:
    # What --once used to write: node_exporter serves process_* itself and rejects ours.
    (tmp_path / "bad.prom").write_text(
        "# HELP process_open_fds Number of open file descriptors.\n"
        "# TYPE process_open_fds gauge\nprocess_open_fds 7.0\n"
    )
    body, err = _node_exporter_scrape(tmp_path)
    assert "collected before" in body + err
