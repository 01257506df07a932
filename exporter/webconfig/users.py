"""basic_auth_users and basic_auth_excluded_paths: bcrypt hashes checked for form, the dummy
hash an unknown user is checked against, and the `Authorization: Basic` header decoded."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from typing import Any

import bcrypt

from exporter.webconfig.fields import mapping, string, strings, where
from exporter.webconfig.model import WebConfigError

# bcrypt modular-crypt format: $2a$ / $2b$ / $2y$, two-digit cost, 53 characters of salt+hash.
_BCRYPT = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")
_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def bcrypt_cost(hashed: bytes) -> int:
    """The cost field of a (validated) bcrypt hash: b"$2y$12$..." -> 12."""
    return int(hashed[4:6])


def dummy_hash(users: Mapping[str, bytes]) -> bytes:
    """A hash to check a password against when the user name is unknown, at the highest cost
    among `users`, so that an unknown user takes as long as a wrong password and user names
    cannot be told apart by timing. No hashing is needed to make it: checking a password only
    uses the cost and the salt, and nothing hashes to the random rest."""
    cost = max((bcrypt_cost(h) for h in users.values()), default=10)
    tail = "".join(secrets.choice(_BCRYPT_ALPHABET) for _ in range(31))
    return bytes(bcrypt.gensalt(cost)) + tail.encode()


def users_from_config(top: Mapping[str, Any], source: str) -> dict[str, bytes]:
    """basic_auth_users: user name -> bcrypt hash."""
    users: dict[str, bytes] = {}
    raw_users = mapping(top.get("basic_auth_users"), source, "basic_auth_users", None)
    for user, raw_hash in raw_users.items():
        at = f"basic_auth_users.{user}"
        if ":" in user:
            raise WebConfigError(f"{where(source, at)}: user names cannot contain ':'")
        hashed = string(raw_hash, source, at)
        if not _BCRYPT.match(hashed):
            raise WebConfigError(f"{where(source, at)}: not a bcrypt hash ($2y$10$...)")
        users[user] = hashed.encode()
    return users


def excluded_paths_from_config(top: Mapping[str, Any], source: str) -> frozenset[str]:
    """basic_auth_excluded_paths: paths served without authentication."""
    key = "basic_auth_excluded_paths"
    return frozenset(strings(top.get(key), source, key))


def parse_basic_auth(header: str) -> tuple[str, str] | None:
    """`Authorization: Basic base64(user:password)` -> (user, password); None if malformed."""
    scheme, _, param = header.strip().partition(" ")
    if scheme.lower() != "basic" or not param:
        return None
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password
