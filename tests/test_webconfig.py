"""The web config loader: the documented example (docs/security.md) passes promtool and works,
Go names map to what Python's ssl applies, bad files are rejected like promtool rejects them,
bcrypt is cached."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import bcrypt
import pytest

from exporter.web.auth import BasicAuthChecker
from exporter.webconfig import (
    GO_CIPHER_SUITES,
    WebConfigError,
    load_web_config,
    parse_basic_auth,
    parse_duration,
)
from tests.test_web_certs import (
    TestCA,
    basic,
    bcrypt_hash,
    client_context,
    https_get,
    running_exporter,
    write,
)

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "security.md"
EXAMPLE = REPO / "packaging" / "web-config.example.yml"


def documented_example() -> str:
    text = DOC.read_text()
    start = text.index("\n## TLS, basic auth and headers")
    m = re.search(r"```yaml\n(.*?)```", text[start:], re.S)
    assert m
    return m.group(1)


def promtool(config: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool missing: scripts/install-system-deps.sh installs Debian's prometheus"
    return subprocess.run(
        [exe, "check", "web-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def example_dir(tmp_path: Path) -> tuple[Path, TestCA]:
    """The documented example with the certificates it names, made by a test CA."""
    ca = TestCA(tmp_path, "prometheus-ca")
    srv = ca.server_cert("fctarget-exporter")
    assert srv.cert.name == "fctarget-exporter.crt"
    assert srv.key.name == "fctarget-exporter.key"
    write(tmp_path / "web-config.yml", documented_example())
    return tmp_path, ca


def test_documented_example_is_the_shipped_example() -> None:
    assert documented_example() == EXAMPLE.read_text()


def test_documented_example_passes_promtool(example_dir: tuple[Path, TestCA]) -> None:
    d, _ = example_dir
    r = promtool(d / "web-config.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout + r.stderr


def test_documented_example_loads_and_serves(example_dir: tuple[Path, TestCA]) -> None:
    d, ca = example_dir
    cfg = load_web_config(str(d / "web-config.yml"))
    assert cfg.tls is not None
    assert cfg.tls.verify_mode == ssl.CERT_REQUIRED
    assert cfg.tls.minimum_version == ssl.TLSVersion.TLSv1_2
    assert set(cfg.users) == {"prometheus"}
    assert cfg.headers == {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "deny",
        "Strict-Transport-Security": "max-age=31536000",
    }
    client = ca.client_cert("prometheus")
    with running_exporter(d, d / "web-config.yml") as exp:
        ctx = client_context(ca, client)
        assert https_get(exp.port, ctx, headers=basic("prometheus", "change-me")).status == 200
        assert https_get(exp.port, ctx, headers=basic("prometheus", "change-it")).status == 401


# Rejected by promtool and by us alike (the format stays the one operators know).
BAD = {
    "unknown-key": "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  cert_fil: x\n",
    "bad-version": (
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  min_version: TLS14\n"
    ),
    "bad-cipher": (
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n"
        "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA_INVENTED]\n"
    ),
    "bad-curve": (
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n"
        "  curve_preferences: [CurveP999]\n"
    ),
    "missing-key-file": "tls_server_config:\n  cert_file: s.crt\n",
    "missing-cert": "tls_server_config:\n  cert_file: nothere.crt\n  key_file: s.key\n",
    "ca-without-auth": (
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_ca_file: s.crt\n"
    ),
    "bad-hash": "basic_auth_users:\n  alice: notahash\n",
    "bad-header": "http_server_config:\n  headers:\n    X-Frame-Options: allowall\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_configs_rejected_like_promtool(tmp_path: Path, name: str) -> None:
    ca = TestCA(tmp_path)
    srv = ca.server_cert("s")
    assert srv.cert == tmp_path / "s.crt"
    path = write(tmp_path / "web.yml", BAD[name])
    assert promtool(path).returncode != 0
    with pytest.raises(WebConfigError) as err:
        load_web_config(str(path))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"web config {path}: ")


def tls_config(tmp_path: Path, extra: str) -> ssl.SSLContext:
    ca = TestCA(tmp_path)
    srv = ca.server_cert("s")
    path = write(
        tmp_path / "web.yml",
        f"tls_server_config:\n  cert_file: {srv.cert}\n  key_file: {srv.key}\n{extra}",
    )
    cfg = load_web_config(str(path))
    assert cfg.tls is not None
    return cfg.tls


def test_cipher_suites_map_to_openssl(tmp_path: Path) -> None:
    ctx = tls_config(
        tmp_path,
        "  cipher_suites:\n"
        "    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
        "    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
        "    - TLS_AES_128_GCM_SHA256\n",
    )
    tls12 = [c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 == ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]
    assert ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_every_go_cipher_name_is_known_to_openssl() -> None:
    available = {c["name"] for c in ssl.create_default_context().get_ciphers()}
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    available |= {c["name"] for c in ctx.get_ciphers()}
    for go, openssl in GO_CIPHER_SUITES.items():
        assert (openssl or go) in available, go


def test_versions_curves_and_server_preference(tmp_path: Path) -> None:
    ctx = tls_config(
        tmp_path,
        "  min_version: TLS13\n  max_version: TLS13\n  prefer_server_cipher_suites: false\n"
        "  curve_preferences: [CurveP384]\n",
    )
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert ctx.maximum_version == ssl.TLSVersion.TLSv1_3
    assert not ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_unverified_client_auth_types_need_a_ca(tmp_path: Path) -> None:
    with pytest.raises(WebConfigError, match="needs client_ca_file"):
        tls_config(tmp_path, "  client_auth_type: RequireAnyClientCert\n")


def test_inline_cert_and_key(tmp_path: Path) -> None:
    ca = TestCA(tmp_path)
    srv = ca.server_cert("inline")

    def block(text: str) -> str:
        return "|\n" + "".join(f"    {line}\n" for line in text.splitlines())

    path = write(
        tmp_path / "web.yml",
        "tls_server_config:\n"
        f"  cert: {block(srv.cert.read_text())}"
        f"  key: {block(srv.key.read_text())}"
        "  client_auth_type: VerifyClientCertIfGiven\n"
        f"  client_ca: {block(ca.cert_path.read_text())}",
    )
    cfg = load_web_config(str(path))
    assert cfg.tls is not None
    assert cfg.tls.verify_mode == ssl.CERT_OPTIONAL
    with running_exporter(tmp_path, path) as exp:
        r = https_get(exp.port, client_context(ca))
        assert (r.status, r.peer_serial) == (200, srv.serial)


def test_rate_limit_and_excluded_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path / "web.yml",
        f"basic_auth_users:\n  u: {bcrypt_hash('p')}\n"
        "basic_auth_excluded_paths: [/-/healthy]\n"
        "rate_limit:\n  interval: 1m\n  burst: 2\n",
    )
    cfg = load_web_config(str(path))
    assert cfg.rate_limit is not None
    assert (cfg.rate_limit.interval, cfg.rate_limit.burst) == (60.0, 2)
    assert cfg.auth_excluded_paths == frozenset({"/-/healthy"})
    import http.client

    with running_exporter(tmp_path, path) as exp:
        statuses = []
        for _ in range(3):
            conn = http.client.HTTPConnection("127.0.0.1", exp.port, timeout=5)
            conn.request("GET", "/-/healthy")
            statuses.append(conn.getresponse().status)
            conn.close()
    # healthy needs no password; the third request within a minute is over the burst
    assert statuses == [200, 200, 429]


def test_parse_duration() -> None:
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration("0") == 0.0
    for bad in ("", "1", "1x", "s", "1s garbage"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_parse_basic_auth() -> None:
    assert parse_basic_auth("Basic dXNlcjpwYTpzcw==") == ("user", "pa:ss")
    assert parse_basic_auth("basic dXNlcjo=") == ("user", "")
    assert parse_basic_auth("Basic dXNlcg==") is None  # no colon
    assert parse_basic_auth("Bearer dXNlcjpwYXNz") is None
    assert parse_basic_auth("Basic ***") is None


def test_bcrypt_success_is_cached_failure_is_not() -> None:
    users = {"alice": bcrypt.hashpw(b"right", bcrypt.gensalt(4))}
    checker = BasicAuthChecker()

    async def scenario() -> list[bool]:
        return [
            await checker.check(users, "alice", "right"),
            await checker.check(users, "alice", "right"),
            await checker.check(users, "alice", "wrong"),
            await checker.check(users, "alice", "wrong"),
            await checker.check(users, "bob", "right"),
        ]

    try:
        assert asyncio.run(scenario()) == [True, True, False, False, False]
        # one bcrypt for the two good checks, one per failure, one (dummy) for the unknown user
        assert checker.bcrypt_calls == 4
        # a changed hash (reload) does not reuse the old success
        users["alice"] = bcrypt.hashpw(b"new", bcrypt.gensalt(4))
        assert asyncio.run(checker.check(users, "alice", "right")) is False
    finally:
        checker.close()


def hash_cost(hashed: bytes) -> int:
    return int(hashed.split(b"$")[2])


def test_unknown_user_is_checked_at_the_configured_cost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fixed cost-10 dummy answered an unknown user in 90 ms where a wrong password for a
    # cost-12 user took 354 ms: user names could be told apart by timing. The dummy now has
    # the highest cost among the configured hashes (compared here by the cost field used).
    from aiohttp.test_utils import TestClient, TestServer

    from exporter.logsetup import RateLimitedLog
    from exporter.scrape import Scraper
    from exporter.web import auth
    from exporter.web.app import build_app
    from exporter.web.state import WebState

    used: list[bytes] = []
    real = auth._checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        used.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(auth, "_checkpw", spy)

    async def unknown_user(cfg_path: Path) -> bytes:
        state = WebState(load_web_config(str(cfg_path)))
        scraper = Scraper([], 1.0, RateLimitedLog(logging.getLogger("test")))
        app = build_app(scraper, state=state)
        try:
            async with TestClient(TestServer(app, host="127.0.0.1")) as client:
                r = await client.get("/metrics", headers=basic("nobody", "guess"))
                assert r.status == 401
        finally:
            state.auth.close()
        return used[-1]

    for costs in ((5,), (4, 11), (12, 4, 6)):
        users = "".join(f"  u{i}: {bcrypt_hash('pw', cost=c)}\n" for i, c in enumerate(costs))
        path = write(tmp_path / f"web-{len(costs)}.yml", f"basic_auth_users:\n{users}")
        assert hash_cost(asyncio.run(unknown_user(path))) == max(costs)
