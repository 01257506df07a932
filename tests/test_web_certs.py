"""Test PKI and a running exporter for the web tests: a CA, server and client certificates made
with `cryptography`, and the real exporter started as a subprocess on 127.0.0.1."""

from __future__ import annotations

import contextlib
import datetime
import http.client
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path
    serial: int


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class TestCA:
    """A throw-away certificate authority writing PEM files under `directory`."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path, name: str = "test-ca") -> None:
        self.dir = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cert_path = directory / f"{name}.crt"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, server: bool, sans: list[x509.GeneralName]) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        serial = x509.random_serial_number()
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path = self.dir / f"{name}.crt"
        key_path = self.dir / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        return Issued(cert_path, key_path, serial)

    def server_cert(self, name: str = "server") -> Issued:
        return self.issue(
            name,
            server=True,
            sans=[
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ],
        )

    def client_cert(self, name: str = "client", dns: str = "scraper.example") -> Issued:
        return self.issue(name, server=False, sans=[x509.DNSName(dns)])


def bcrypt_hash(password: str, cost: int = 4) -> str:
    # Cost 4 keeps the tests fast; the format is the same as the operator's cost-10 hashes.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _with_file_limit(nofile: int) -> list[str]:
    """The start of a command running `python -m exporter` with RLIMIT_NOFILE set to `nofile`
    (set in the child itself: no preexec_fn in a threaded test process)."""
    code = (
        "import resource, runpy; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile})); "
        "runpy.run_module('exporter', run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", code]


class Exporter:
    """The real exporter in a subprocess, monitoring an empty host tree (collectors off)."""

    def __init__(
        self,
        tmp: Path,
        config: Path | None,
        extra: list[str] | None = None,
        nofile: int | None = None,
    ) -> None:
        self.port = free_port()
        self.stderr_path = tmp / f"exporter-{self.port}.log"
        start = [sys.executable, "-m", "exporter"] if nofile is None else _with_file_limit(nofile)
        argv = [
            *start,
            "--collector.disable-defaults",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=debug",
        ]
        if config is not None:
            argv.append(f"--web.config.file={config}")
        argv += extra or []
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def wait_listening(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exporter exited early: {self.log()}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                if "listening" in self.log():
                    return
            time.sleep(0.05)
        raise AssertionError(f"exporter did not listen within {timeout}s: {self.log()}")

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def sighup_and_wait(self, marker: str, timeout: float = 10.0) -> None:
        before = self.log().count(marker)
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log().count(marker) > before:
                return
            time.sleep(0.05)
        raise AssertionError(f"no {marker!r} after SIGHUP: {self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


@contextlib.contextmanager
def running_exporter(
    tmp: Path, config: Path | None, extra: list[str] | None = None, nofile: int | None = None
) -> Iterator[Exporter]:
    exp = Exporter(tmp, config, extra, nofile)
    try:
        exp.wait_listening()
        yield exp
    finally:
        exp.stop()


def client_context(ca: TestCA, client: Issued | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca.cert_path))
    if client is not None:
        ctx.load_cert_chain(str(client.cert), str(client.key))
    return ctx


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    peer_serial: int | None


def https_get(
    port: int,
    ctx: ssl.SSLContext,
    path: str = "/metrics",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Reply:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        der = conn.sock.getpeercert(binary_form=True) if conn.sock is not None else None
        serial = x509.load_der_x509_certificate(der).serial_number if der else None
        return Reply(resp.status, resp.headers, body, serial)
    finally:
        conn.close()


def basic(user: str, password: str) -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    os.chmod(path, 0o600)
    return path
