"""Vault's default password policy: 20 characters, at least one lowercase letter,
one uppercase letter, one digit and one dash, drawn uniformly from those sets.

`sys/policies/password` does not exist in strongroom yet, so a named policy is
refused by the engine (see path_config.py); this is the only generator.
"""

from __future__ import annotations

import secrets
import string

LENGTH = 20
_RULES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-")
CHARSET = "".join(sorted("".join(_RULES)))

POLICY_UNSUPPORTED = (
    "password policies are not supported yet: strongroom has no sys/policies/password; "
    "leave password_policy empty to use the default policy"
)


def generate() -> str:
    """A password that satisfies the default policy (rejection sampling, like Vault)."""
    while True:
        candidate = "".join(secrets.choice(CHARSET) for _ in range(LENGTH))
        if all(any(ch in rule for ch in candidate) for rule in _RULES):
            return candidate


def satisfies_default_policy(password: str) -> bool:
    return (
        len(password) == LENGTH
        and all(ch in CHARSET for ch in password)
        and all(any(ch in rule for ch in password) for rule in _RULES)
    )
