"""--web.config.file: the exporter-toolkit web configuration (TLS, basic auth, headers).

The YAML format is the one every Prometheus exporter reads
(https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md), so
`promtool check web-config` validates our files too. Loading turns the file into a ready
`WebConfig` (an `ssl.SSLContext`, the users' bcrypt hashes, extra headers) or raises
`WebConfigError` with one line that names the file and the offending key.

Go's crypto/tls and Python's ssl differ in a few places; where Python cannot do what the file
asks, loading fails or the stricter behaviour is chosen and logged, never a silently weaker one:
- `RequestClientCert` / `RequireAnyClientCert` ask for a certificate without verifying it; Python
  verifies every certificate it requests, so they act as `VerifyClientCertIfGiven` /
  `RequireAndVerifyClientCert` and need `client_ca_file`.
- `cipher_suites` applies to TLS 1.2 and below (as in Go); TLS 1.3 suites are always enabled.
- `curve_preferences`: Python 3.11's ssl sets a single key-exchange group, the first one listed.
- `http2`: accepted for compatibility; this server speaks HTTP/1.1 only.

The modules: `model` (WebConfig, WebConfigError, security_downgrades), `load` (reading the file,
the top-level sections, headers, rate_limit), `tls` (tls_server_config -> ssl.SSLContext),
`users` (basic auth users, the dummy hash, the Authorization header), `fields` (typed values
with one-line errors).
"""

from exporter.webconfig.fields import parse_duration
from exporter.webconfig.load import (
    ALLOW_DOWNGRADE_KEY,
    ALLOWED_HEADERS,
    decode_web_config,
    load_web_config,
    parse_web_config,
    reload_web_config,
)
from exporter.webconfig.model import RateLimit, WebConfig, WebConfigError, security_downgrades
from exporter.webconfig.tls import CLIENT_AUTH, GO_CIPHER_SUITES, GO_CURVES, TLS_VERSIONS
from exporter.webconfig.users import bcrypt_cost, dummy_hash, parse_basic_auth

__all__ = [
    "ALLOWED_HEADERS",
    "ALLOW_DOWNGRADE_KEY",
    "CLIENT_AUTH",
    "GO_CIPHER_SUITES",
    "GO_CURVES",
    "TLS_VERSIONS",
    "RateLimit",
    "WebConfig",
    "WebConfigError",
    "bcrypt_cost",
    "decode_web_config",
    "dummy_hash",
    "load_web_config",
    "parse_basic_auth",
    "parse_duration",
    "parse_web_config",
    "reload_web_config",
    "security_downgrades",
]
