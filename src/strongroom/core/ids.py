"""Random identifiers in the shapes Vault clients expect."""

from __future__ import annotations

import secrets
import string
import uuid

_BASE62 = string.ascii_letters + string.digits


def base62(n: int = 24) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(n))


def request_id() -> str:
    return str(uuid.uuid4())
