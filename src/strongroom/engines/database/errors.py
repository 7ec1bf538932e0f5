"""Database failures, reduced to what is safe to show, and their Vault renderings."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from strongroom.core.errors import VaultError, multierror

REDACTED = "[password]"


class DatabaseError(Exception):
    """One failed database operation; the text never holds a secret.

    `unreachable` marks a connection that could not be made (the server is
    down, refused us, or the network failed); `throttled` a server that asked
    us to back off (too many connections): the lease manager then pauses the
    mount's revocations instead of hammering it.
    """

    def __init__(self, message: str, *, unreachable: bool = False, throttled: bool = False):
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable
        self.throttled = throttled
        # create_user: the creation failed part-way and undoing it failed too.
        self.rollback_failed = False

    def __str__(self) -> str:
        return self.message


class RevocationFailed(Exception):
    """A revocation to retry later (the lease manager backs off); names no secret."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its URL-escaped form) replaced, whitespace folded."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        escaped = quote(secret, safe="")
        if escaped != secret:
            text = text.replace(escaped, REDACTED)
    return " ".join(text.split())


def internal_error(message: str) -> VaultError:
    """A 500 the way Vault renders an error returned by a backend."""
    return VaultError(multierror(message), status=500)
