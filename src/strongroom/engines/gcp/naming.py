"""Names of the service accounts the engine creates for rolesets (§9)."""

from __future__ import annotations

import hashlib
import re

PREFIX = "vault"
MAX_ID = 30
MAX_NAME_PART = 14
MAX_DISPLAY = 100
_UNSAFE = re.compile(r"[^a-zA-Z0-9-]+")


def account_id(roleset: str, unix_seconds: int) -> str:
    """`vault<name>-<unix seconds>`, the name sanitised, lowercased and cut to fit 30.

    The reference keeps capitals (and so builds ids Google rejects); lowercasing
    changes nothing for names Google would accept.
    """
    name = _UNSAFE.sub("-", roleset).lower()
    suffix = f"-{unix_seconds}"
    room = min(MAX_NAME_PART, MAX_ID - len(PREFIX) - len(suffix))
    return f"{PREFIX}{name[:room]}{suffix}"


def email(account: str, project: str) -> str:
    return f"{account}@{project}.iam.gserviceaccount.com"


def display_name(roleset: str) -> str:
    full = f"Service account for Vault secrets backend role set role set {roleset}"
    if len(full) <= MAX_DISPLAY:
        return full
    head, tail = full[:92], full[92:]
    return head + hashlib.sha256(tail.encode()).hexdigest()[:8]
