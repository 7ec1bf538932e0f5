"""Names of the RAM users, STS sessions and inline policies the engine creates (spec §6).

    prefix = "<display name>-<role name>-", cut to (limit - 15) characters
    name   = prefix + "<unix seconds>-<random 0..9999>"

RAM user names take at most 64 characters, STS session names 32 (the
reference's own limit; STS allows 64). Characters the cloud would refuse
(e.g. the `@` of an e-mail display name) become `-`, so the lengths stay
what the reference produces. Inline policy names (letters, digits and `-`
only) are `<user name>-<hash>`, with `.` and `_` of the user name made `-`.
"""

from __future__ import annotations

import re
import secrets

USER_NAME_MAX = 64
SESSION_NAME_MAX = 32
_SUFFIX = 15  # "-" + 10-digit unix seconds + "-" + up to 4 digits, rounded as Vault does

_NOT_USER = re.compile(r"[^A-Za-z0-9._-]")
_NOT_SESSION = re.compile(r"[^A-Za-z0-9.@_-]")
_NOT_POLICY = re.compile(r"[^A-Za-z0-9-]")


def _generate(display_name: str, role_name: str, limit: int, now: int) -> str:
    prefix = f"{display_name}-{role_name}-"[: limit - _SUFFIX]
    return f"{prefix}{now}-{secrets.randbelow(10000)}"


def user_name(display_name: str, role_name: str, now: int) -> str:
    return _NOT_USER.sub("-", _generate(display_name, role_name, USER_NAME_MAX, now))


def session_name(display_name: str, role_name: str, now: int) -> str:
    return _NOT_SESSION.sub("-", _generate(display_name, role_name, SESSION_NAME_MAX, now))


def policy_name(user: str, policy_hash: str) -> str:
    return f"{_NOT_POLICY.sub('-', user)}-{policy_hash}"
