"""tls_server_config: Go's crypto/tls names mapped to Python's ssl, and the `ssl.SSLContext`
built from them (certificate and key, client certificates, versions, ciphers, curves)."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.webconfig import fields
from exporter.webconfig.model import WebConfigError

LOG = logging.getLogger("fctarget_exporter.webconfig")

TLS_SECTION = "tls_server_config"

# Go crypto/tls cipher suite names (tls.CipherSuites(); IANA names) -> OpenSSL names.
# TLS 1.3 suites map to None: neither Go nor Python 3.11 let them be configured.
GO_CIPHER_SUITES: Mapping[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    # Go's older spellings of the ChaCha20 suites
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}

# Go tls.CurveID names -> OpenSSL group names.
GO_CURVES: Mapping[str, str] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}

TLS_VERSIONS: Mapping[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

# client_auth_type -> (verify mode, needs client CA). "RequireClientCert" is the toolkit's
# pre-0.9 spelling of RequireAnyClientCert.
CLIENT_AUTH: Mapping[str, ssl.VerifyMode] = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "RequireClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNVERIFIED_AUTH = {
    "RequestClientCert": "VerifyClientCertIfGiven",
    "RequireAnyClientCert": "RequireAndVerifyClientCert",
    "RequireClientCert": "RequireAndVerifyClientCert",
}

TLS_KEYS = {
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
}
# Where the certificate, key and client CA come from: given inline or as a file, not both.
_SOURCES = ("cert", "key", "cert_file", "key_file", "client_ca", "client_ca_file")
_EXCLUSIVE = (("cert", "cert_file"), ("key", "key_file"), ("client_ca", "client_ca_file"))
_REQUIRED = (("cert", "cert_file"), ("key", "key_file"))
# As in exporter-toolkit: TLS is on when a certificate, key or client auth setting is given.
_TLS_ON = (*_SOURCES, "client_auth_type")


@dataclass(frozen=True)
class _Section:
    """The tls_server_config mapping, the file it is in and the directory its relative paths
    start from; reads its keys with errors that name them."""

    values: Mapping[str, Any]
    cfg: str
    base_dir: str

    def key(self, name: str = "") -> str:
        return f"{TLS_SECTION}.{name}" if name else TLS_SECTION

    def error(self, message: str, name: str = "") -> WebConfigError:
        return WebConfigError(f"{fields.where(self.cfg, self.key(name))}: {message}")

    def string(self, name: str) -> str:
        return fields.string(self.values.get(name), self.cfg, self.key(name))

    def strings(self, name: str) -> list[str]:
        return fields.strings(self.values.get(name), self.cfg, self.key(name))

    def boolean(self, name: str, default: bool) -> bool:
        return fields.boolean(self.values.get(name), self.cfg, self.key(name), default)

    def readable_file(self, name: str, value: str) -> str:
        path = fields.file_path(self.base_dir, value)
        fields.readable(path, self.cfg, self.key(name))
        return path

    def read_text(self, name: str, path: str) -> str:
        return fields.read_text(path, self.cfg, self.key(name))


def tls_from_config(
    top: Mapping[str, Any], source: str, base_dir: str
) -> tuple[ssl.SSLContext | None, frozenset[str]]:
    """The TLS context and client_allowed_sans of the file's top-level mapping `top`; no
    context when the file asks for no TLS."""
    values = fields.mapping(top.get(TLS_SECTION), source, TLS_SECTION, TLS_KEYS)
    if not any(values.get(n) for n in _TLS_ON):
        return None, frozenset()
    return _build_tls(_Section(values, source, base_dir))


def _build_tls(tls: _Section) -> tuple[ssl.SSLContext, frozenset[str]]:
    sources = {name: tls.string(name) for name in _SOURCES}
    auth = tls.string("client_auth_type") or "NoClientCert"
    _check_sources(tls, sources, auth)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.options |= ssl.OP_NO_COMPRESSION
    _load_certificate(ctx, tls, sources)
    _set_client_auth(ctx, tls, sources, auth)
    sans = frozenset(tls.strings("client_allowed_sans"))
    if sans and ctx.verify_mode != ssl.CERT_REQUIRED:
        raise tls.error("client_allowed_sans needs client_auth_type RequireAndVerifyClientCert")
    _set_versions(ctx, tls)
    _set_ciphers(ctx, tls)
    _set_curves(ctx, tls)
    return ctx, sans


def _check_sources(tls: _Section, sources: Mapping[str, str], auth: str) -> None:
    for inline, file in _EXCLUSIVE:
        if sources[inline] and sources[file]:
            raise tls.error(f"set {inline} or {file}, not both")
    for inline, file in _REQUIRED:
        if not (sources[inline] or sources[file]):
            raise tls.error(f"missing {file}")
    if auth not in CLIENT_AUTH:
        choices = ", ".join(n for n in CLIENT_AUTH if n != "RequireClientCert")
        raise tls.error(f"invalid value {auth!r} (one of {choices})", "client_auth_type")


def _load_certificate(ctx: ssl.SSLContext, tls: _Section, sources: Mapping[str, str]) -> None:
    cert_file, key_file = sources["cert_file"], sources["key_file"]
    try:
        if cert_file:
            cert_file = tls.readable_file("cert_file", cert_file)
        if key_file:
            key_file = tls.readable_file("key_file", key_file)
        if cert_file and key_file:
            ctx.load_cert_chain(cert_file, key_file)
        else:
            cert_text = sources["cert"] or tls.read_text("cert_file", cert_file)
            key_text = sources["key"] or tls.read_text("key_file", key_file)
            _load_chain_inline(ctx, cert_text, key_text)
    except ssl.SSLError as exc:
        raise tls.error(f"cannot load the certificate and key: {exc.reason or exc}") from None


def _load_chain_inline(ctx: ssl.SSLContext, cert: str, key: str) -> None:
    # ssl can only load certificates from files: hand it anonymous in-memory files.
    cert_fd = os.memfd_create("web-cert", os.MFD_CLOEXEC)
    key_fd = os.memfd_create("web-key", os.MFD_CLOEXEC)
    try:
        os.write(cert_fd, cert.encode())
        os.write(key_fd, key.encode())
        ctx.load_cert_chain(f"/proc/self/fd/{cert_fd}", f"/proc/self/fd/{key_fd}")
    finally:
        os.close(cert_fd)
        os.close(key_fd)


def _set_client_auth(
    ctx: ssl.SSLContext, tls: _Section, sources: Mapping[str, str], auth: str
) -> None:
    has_ca = bool(sources["client_ca"] or sources["client_ca_file"])
    if has_ca and auth == "NoClientCert":
        raise tls.error(
            "client CA configured without a client_auth_type that asks for client certificates"
        )
    if auth != "NoClientCert":
        if not has_ca:
            raise tls.error(
                f"client_auth_type {auth} needs client_ca_file "
                "(Python's ssl verifies every client certificate it asks for)"
            )
        _load_client_ca(ctx, tls, sources)
        if auth in _UNVERIFIED_AUTH:
            LOG.warning(
                "client_auth_type %s is treated as %s: Python's ssl verifies client certificates",
                auth,
                _UNVERIFIED_AUTH[auth],
            )
    ctx.verify_mode = CLIENT_AUTH[auth]


def _load_client_ca(ctx: ssl.SSLContext, tls: _Section, sources: Mapping[str, str]) -> None:
    try:
        if sources["client_ca_file"]:
            path = tls.readable_file("client_ca_file", sources["client_ca_file"])
            ctx.load_verify_locations(cafile=path)
        else:
            ctx.load_verify_locations(cadata=sources["client_ca"])
    except ssl.SSLError as exc:
        raise tls.error(f"cannot load the client CA: {exc.reason or exc}") from None


def _set_versions(ctx: ssl.SSLContext, tls: _Section) -> None:
    minimum = _version(tls, "min_version", "TLS12")
    maximum = _version(tls, "max_version", "TLS13")
    if minimum > maximum:
        raise tls.error("min_version is above max_version")
    ctx.minimum_version = minimum
    ctx.maximum_version = maximum


def _version(tls: _Section, name: str, default: str) -> ssl.TLSVersion:
    value = tls.string(name) or default
    if value not in TLS_VERSIONS:
        raise tls.error(f"unknown TLS version {value!r} (one of {', '.join(TLS_VERSIONS)})", name)
    return TLS_VERSIONS[value]


def _set_ciphers(ctx: ssl.SSLContext, tls: _Section) -> None:
    openssl_names = []
    for suite in tls.strings("cipher_suites"):
        if suite not in GO_CIPHER_SUITES:
            raise tls.error(f"unknown cipher {suite!r}", "cipher_suites")
        mapped = GO_CIPHER_SUITES[suite]
        if mapped is not None:
            openssl_names.append(mapped)
    if openssl_names:
        try:
            ctx.set_ciphers(":".join(openssl_names))
        except ssl.SSLError:
            raise tls.error(
                "none of the cipher suites is available in this OpenSSL", "cipher_suites"
            ) from None
    if tls.boolean("prefer_server_cipher_suites", True):
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE


def _set_curves(ctx: ssl.SSLContext, tls: _Section) -> None:
    curves = tls.strings("curve_preferences")
    for curve in curves:
        if curve not in GO_CURVES:
            raise tls.error(f"unknown curve {curve!r}", "curve_preferences")
    if curves:
        ctx.set_ecdh_curve(GO_CURVES[curves[0]])
        if len(curves) > 1:
            LOG.warning(
                "curve_preferences: Python's ssl uses one key-exchange group; using %s only",
                curves[0],
            )
