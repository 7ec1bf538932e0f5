"""PostgreSQL's SCRAM-SHA-256 password verifier (RFC 5802/7677, as pg_authid stores it).

Used by `password_authentication=scram-sha-256`: the plugin then sends the
verifier instead of the password, so the clear password never reaches the
server (or its logs). `verify()` checks a password against a stored verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096
SALT_SIZE = 16


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(SALT_SIZE)
    stored_key, server_key = _keys(password, salt, iterations)
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


def verify(password: str, verifier: str) -> bool:
    """Whether `password` matches a `SCRAM-SHA-256$iter:salt$stored:server` verifier."""
    try:
        method, params, keys = verifier.split("$")
        iterations, salt = params.split(":")
        stored_b64, server_b64 = keys.split(":")
    except ValueError:
        return False
    if method != "SCRAM-SHA-256":
        return False
    stored_key, server_key = _keys(password, base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(stored_key, base64.b64decode(stored_b64)) and hmac.compare_digest(
        server_key, base64.b64decode(server_b64)
    )
