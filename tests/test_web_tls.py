"""The real exporter behind --web.config.file: HTTPS, basic auth, client certificates, headers,
SIGHUP reload and idle clients, with real requests on 127.0.0.1."""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_web_certs import (
    REPO,
    Exporter,
    TestCA,
    basic,
    bcrypt_hash,
    client_context,
    https_get,
    running_exporter,
    write,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def auth_exporter(pki: TestCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    tmp = tmp_path_factory.mktemp("auth")
    srv = pki.server_cert("auth-server")
    cfg = write(
        tmp / "web.yml",
        f"""tls_server_config:
  cert_file: {srv.cert}
  key_file: {srv.key}
  min_version: TLS12
basic_auth_users:
  prometheus: {bcrypt_hash("s3cret")}
  grafana: {bcrypt_hash("other")}
http_server_config:
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
""",
    )
    with running_exporter(tmp, cfg) as exp:
        yield exp


def test_good_credentials_get_metrics(auth_exporter: Exporter, pki: TestCA) -> None:
    r = https_get(auth_exporter.port, client_context(pki), headers=basic("prometheus", "s3cret"))
    assert r.status == 200
    assert b"fctarget_exporter_build_info{" in r.body
    # and the second user too
    r2 = https_get(auth_exporter.port, client_context(pki), headers=basic("grafana", "other"))
    assert r2.status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("prometheus", "wrong"),
        basic("grafana", "s3cret"),  # another user's password
        basic("nobody", "s3cret"),
        {"Authorization": "Bearer s3cret"},
        {"Authorization": "Basic !!notbase64"},
    ],
    ids=["missing", "wrong-password", "other-users-password", "unknown-user", "bearer", "garbage"],
)
def test_bad_credentials_get_401(
    auth_exporter: Exporter, pki: TestCA, headers: dict[str, str]
) -> None:
    for path in ("/metrics", "/", "/-/healthy"):
        r = https_get(auth_exporter.port, client_context(pki), path=path, headers=headers)
        assert r.status == 401
        assert r.headers["WWW-Authenticate"].startswith("Basic ")
        assert b"fctarget_" not in r.body


def test_configured_headers_on_every_response(auth_exporter: Exporter, pki: TestCA) -> None:
    ok = https_get(auth_exporter.port, client_context(pki), headers=basic("prometheus", "s3cret"))
    denied = https_get(auth_exporter.port, client_context(pki))
    for r in (ok, denied):
        assert r.headers["X-Frame-Options"] == "deny"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_openmetrics_and_gzip_still_negotiated_over_tls(
    auth_exporter: Exporter, pki: TestCA
) -> None:
    import gzip

    r = https_get(
        auth_exporter.port,
        client_context(pki),
        headers={
            **basic("prometheus", "s3cret"),
            "Accept": "application/openmetrics-text; version=1.0.0",
            "Accept-Encoding": "gzip",
        },
    )
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/openmetrics-text")
    assert r.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(r.body).rstrip().endswith(b"# EOF")


def test_plain_http_refused_on_tls_port(auth_exporter: Exporter, pki: TestCA) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", auth_exporter.port, timeout=5)
    try:
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            conn.request("GET", "/metrics", headers=basic("prometheus", "s3cret"))
            conn.getresponse()
    finally:
        conn.close()
    # the server is still fine afterwards
    ok = https_get(auth_exporter.port, client_context(pki))
    assert ok.status == 401


def assert_prompt_scrape(exporter: Exporter, pki: TestCA) -> None:
    """An authenticated HTTPS scrape answers 200 within 3 s."""
    start = time.monotonic()
    r = https_get(
        exporter.port, client_context(pki), headers=basic("prometheus", "s3cret"), timeout=5
    )
    assert r.status == 200
    assert time.monotonic() - start < 3.0


def test_idle_tcp_client_does_not_stall_tls_scrapes(auth_exporter: Exporter, pki: TestCA) -> None:
    # prometheus-client's TLS server handshakes in its accept loop: one client that connects and
    # never sends a ClientHello blocks every later scrape. Ours must answer at once.
    idle = [socket.create_connection(("127.0.0.1", auth_exporter.port)) for _ in range(3)]
    try:
        time.sleep(0.2)  # let the server accept them
        assert_prompt_scrape(auth_exporter, pki)
    finally:
        for s in idle:
            s.close()


def test_trickling_clients_do_not_stall_tls_scrapes(auth_exporter: Exporter, pki: TestCA) -> None:
    # Slow-loris on both layers: one client trickles a TLS record header byte by byte (the
    # handshake never completes), another finishes the handshake and then trickles HTTP
    # request headers without ever ending them. A real scrape meanwhile is served at once.
    stop = threading.Event()
    errors: list[BaseException] = []

    def trickle(sock: socket.socket | ssl.SSLSocket, data: bytes) -> None:
        try:
            for i in range(len(data)):
                if stop.wait(0.1):
                    return
                sock.sendall(data[i : i + 1])
        except OSError as exc:  # the server may close it: also fine, but record it
            errors.append(exc)

    raw = socket.create_connection(("127.0.0.1", auth_exporter.port))
    tls = client_context(pki).wrap_socket(
        socket.create_connection(("127.0.0.1", auth_exporter.port)), server_hostname="127.0.0.1"
    )
    threads = [
        threading.Thread(target=trickle, args=(raw, b"\x16\x03\x01\x02\x00" + b"\x01" * 200)),
        threading.Thread(
            target=trickle,
            args=(tls, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200),
        ),
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)  # both are mid-request now
        for _ in range(3):
            assert_prompt_scrape(auth_exporter, pki)
        assert all(t.is_alive() for t in threads)  # still trickling: not just disconnected
        assert errors == []
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        raw.close()
        tls.close()


def test_tls_connection_idle_after_handshake_is_closed(pki: TestCA, tmp_path: Path) -> None:
    srv = pki.server_cert("idle-server")
    cfg = write(
        tmp_path / "web.yml",
        f"tls_server_config:\n  cert_file: {srv.cert}\n  key_file: {srv.key}\n",
    )
    with running_exporter(tmp_path, cfg, ["--web.read-header-timeout=1"]) as exp:
        tls = client_context(pki).wrap_socket(
            socket.create_connection(("127.0.0.1", exp.port), timeout=5),
            server_hostname="127.0.0.1",
        )
        try:
            start = time.monotonic()
            try:
                data = tls.recv(1)  # returns when the server closes the connection
            except (ssl.SSLError, ConnectionError):
                data = b""
            assert data == b""
            assert time.monotonic() - start < 3.0
        finally:
            tls.close()


def test_client_certificate_required(pki: TestCA, tmp_path: Path) -> None:
    srv = pki.server_cert("mtls-server")
    good = pki.client_cert("good-client")
    other_ca = TestCA(tmp_path, "other-ca")
    foreign = other_ca.client_cert("foreign-client")
    cfg = write(
        tmp_path / "web.yml",
        f"""tls_server_config:
  cert_file: {srv.cert}
  key_file: {srv.key}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {pki.cert_path}
""",
    )
    with running_exporter(tmp_path, cfg) as exp:
        assert https_get(exp.port, client_context(pki, good)).status == 200
        # No certificate, or one from a CA the server does not trust: the handshake fails
        # (with TLS 1.3 the client learns it on its first read).
        for ctx in (client_context(pki), client_context(pki, foreign)):
            with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
                https_get(exp.port, ctx)
        assert https_get(exp.port, client_context(pki, good)).status == 200


def test_client_allowed_sans(pki: TestCA, tmp_path: Path) -> None:
    srv = pki.server_cert("sans-server")
    allowed = pki.client_cert("allowed-client", dns="prometheus.example")
    other = pki.client_cert("other-client", dns="intruder.example")
    cfg = write(
        tmp_path / "web.yml",
        f"""tls_server_config:
  cert_file: {srv.cert}
  key_file: {srv.key}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {pki.cert_path}
  client_allowed_sans: [prometheus.example]
""",
    )
    with running_exporter(tmp_path, cfg) as exp:
        assert https_get(exp.port, client_context(pki, allowed)).status == 200
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            https_get(exp.port, client_context(pki, other))


def test_sighup_reloads_certificate_and_users_without_dropping_listener(
    pki: TestCA, tmp_path: Path
) -> None:
    first = pki.server_cert("reload-first")
    second = pki.server_cert("reload-second")
    cfg_path = tmp_path / "web.yml"

    def config(cert_name: str, password: str) -> str:
        return (
            f"tls_server_config:\n  cert_file: {cert_name}.crt\n  key_file: {cert_name}.key\n"
            f"basic_auth_users:\n  prometheus: {bcrypt_hash(password)}\n"
        )

    # relative paths resolve against the config file's directory, as in exporter-toolkit
    for issued in (first, second):
        (tmp_path / issued.cert.name).write_bytes(issued.cert.read_bytes())
        (tmp_path / issued.key.name).write_bytes(issued.key.read_bytes())
    write(cfg_path, config("reload-first", "old"))
    with running_exporter(tmp_path, cfg_path) as exp:
        ctx = client_context(pki)
        r = https_get(exp.port, ctx, headers=basic("prometheus", "old"))
        assert (r.status, r.peer_serial) == (200, first.serial)

        # A keep-alive connection opened before the reload keeps working through it.
        kept = http.client.HTTPSConnection("127.0.0.1", exp.port, context=ctx, timeout=5)
        kept.request("GET", "/-/healthy", headers=basic("prometheus", "old"))
        assert kept.getresponse().read() == b"Healthy\n"

        write(cfg_path, config("reload-second", "new"))
        exp.sighup_and_wait("web config reloaded")
        r = https_get(exp.port, ctx, headers=basic("prometheus", "new"))
        assert (r.status, r.peer_serial) == (200, second.serial)
        assert https_get(exp.port, ctx, headers=basic("prometheus", "old")).status == 401

        kept.request("GET", "/-/healthy", headers=basic("prometheus", "new"))
        assert kept.getresponse().status == 200
        kept.close()

        # A broken file on reload: logged, the previous config stays in force.
        write(cfg_path, "tls_server_config:\n  cert_file: missing.crt\n  key_file: x.key\n")
        exp.sighup_and_wait("web config reload failed")
        r = https_get(exp.port, ctx, headers=basic("prometheus", "new"))
        assert (r.status, r.peer_serial) == (200, second.serial)
        assert exp.proc.poll() is None
    assert "missing.crt" in exp.log()


def test_sighup_refuses_a_config_that_lowers_security(pki: TestCA, tmp_path: Path) -> None:
    # An empty file on SIGHUP used to turn TLS and basic auth off (plain HTTP, 200 without
    # credentials). Now an empty file is an error, and a file that drops TLS, client
    # certificates or basic auth is refused unless it says allow_downgrade_on_reload: true.
    srv = pki.server_cert("downgrade-server")
    client = pki.client_cert("downgrade-client")
    cfg_path = tmp_path / "web.yml"
    tls = (
        f"tls_server_config:\n  cert_file: {srv.cert}\n  key_file: {srv.key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.cert_path}\n"
    )
    auth = f"basic_auth_users:\n  prometheus: {bcrypt_hash('s3cret')}\n"
    write(cfg_path, tls + auth)
    with running_exporter(tmp_path, cfg_path) as exp:
        ctx = client_context(pki, client)

        def still_secure() -> None:
            assert https_get(exp.port, ctx).status == 401
            assert https_get(exp.port, ctx, headers=basic("prometheus", "s3cret")).status == 200
            with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
                https_get(exp.port, client_context(pki))  # no client certificate

        refusals = {
            "empty": ("", "the file is empty"),
            "no TLS": (auth, "TLS"),
            "no basic auth": (tls, "basic auth"),
            "no client certificates": (
                f"tls_server_config:\n  cert_file: {srv.cert}\n  key_file: {srv.key}\n" + auth,
                "client certificate",
            ),
            "metrics excluded from auth": (
                tls + auth + "basic_auth_excluded_paths: [/metrics]\n",
                "basic auth",
            ),
        }
        for name, (text, reason) in refusals.items():
            write(cfg_path, text)
            marker = "web config reload refused" if text else "web config reload failed"
            exp.sighup_and_wait(marker)
            said = [line for line in exp.log().splitlines() if marker in line][-1]
            assert reason in said, (name, said)
            still_secure()

        # Said explicitly: applied.
        write(cfg_path, "allow_downgrade_on_reload: true\n")
        exp.sighup_and_wait("web config reloaded")
        conn = http.client.HTTPConnection("127.0.0.1", exp.port, timeout=5)
        conn.request("GET", "/-/healthy")
        assert conn.getresponse().status == 200
        conn.close()
        # Raising security again needs no opt-in.
        write(cfg_path, tls + auth)
        exp.sighup_and_wait("web config reloaded")
        still_secure()


def test_sighup_without_config_file_keeps_running(tmp_path: Path) -> None:
    with running_exporter(tmp_path, None) as exp:
        exp.sighup_and_wait("no --web.config.file to reload")
        conn = http.client.HTTPConnection("127.0.0.1", exp.port, timeout=5)
        conn.request("GET", "/-/healthy")
        assert conn.getresponse().status == 200
        conn.close()


BAD_CONFIGS = {
    "unknown-top-key": ("basic_auth_user:\n  a: b\n", "basic_auth_user: unknown key"),
    "unknown-tls-key": (
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  certfile: x\n",
        "tls_server_config.certfile: unknown key",
    ),
    "missing-cert-file": (
        "tls_server_config:\n  cert_file: /nonexistent/s.crt\n  key_file: /nonexistent/s.key\n",
        "cannot read /nonexistent/s.crt",
    ),
    "bad-hash": ("basic_auth_users:\n  alice: plaintext\n", "not a bcrypt hash"),
    "bad-yaml": ("basic_auth_users: [\n", "web config"),
    "bad-client-auth": (
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_auth_type: Maybe\n",
        "invalid value 'Maybe'",
    ),
    "bad-header": (
        "http_server_config:\n  headers:\n    Server: nginx\n",
        "this header cannot be configured",
    ),
    "empty": ("", "the file is empty"),
    "only-comments": ("# TLS comes later\n\n", "the file is empty"),
    "bad-downgrade-opt-in": ("allow_downgrade_on_reload: yes please\n", "expected true or false"),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_config_fails_startup_with_one_line(pki: TestCA, tmp_path: Path, name: str) -> None:
    text, expected = BAD_CONFIGS[name]
    srv = pki.server_cert(f"bad-{name}")
    (tmp_path / "s.crt").write_bytes(srv.cert.read_bytes())
    (tmp_path / "s.key").write_bytes(srv.key.read_bytes())
    cfg = write(tmp_path / "web.yml", text)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "--collector.disable-defaults",
            "--web.listen-address=127.0.0.1:1",
            f"--web.config.file={cfg}",
        ],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fctarget-exporter: error: web config ")
    assert expected in lines[0]
    assert str(cfg) in lines[0]


def test_unreadable_config_file_fails_startup(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "--collector.disable-defaults",
            f"--web.config.file={tmp_path / 'absent.yml'}",
        ],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"fctarget-exporter: error: web config {tmp_path / 'absent.yml'}: "
        "cannot read: No such file or directory"
    )
