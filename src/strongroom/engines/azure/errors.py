"""Azure failures as values that are safe to show, and how they reach a Vault client."""

from __future__ import annotations

from strongroom.core.errors import BadRequest, VaultError, multierror

THROTTLING_CODES = frozenset(
    {
        "TooManyRequests",
        "Request_ThrottledTemporarily",
        "ThrottledRequest",
        "SubscriptionRequestsThrottled",
    }
)


class AzureError(Exception):
    """One failed call: Azure's status, error code and message, and what was called.

    `status` 0 means no answer (connection refused or dropped, timeout, TLS).
    `auth_failed` marks the token service refusing the root credentials.
    Nothing here ever holds a secret: Azure does not echo them in errors, and
    request bodies are never part of the text.
    """

    def __init__(
        self,
        operation: str,
        status: int,
        code: str,
        message: str,
        *,
        auth_failed: bool = False,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message
        self.auth_failed = auth_failed

    @property
    def throttled(self) -> bool:
        return self.status == 429 or self.code in THROTTLING_CODES

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def unreachable(self) -> bool:
        return self.status == 0 and not self.auth_failed

    def __str__(self) -> str:
        head = f"{self.code}: {self.message}" if self.code else self.message
        return f"{head} ({self.operation})" if self.operation else head


class RevocationFailed(Exception):
    """A revocation to retry later; the text names objects, never a secret."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


def internal_error(message: str) -> VaultError:
    """A 500 the way Vault renders a Go error returned by a handler."""
    return VaultError(multierror(message), status=500)


def upstream(prefix: str, err: AzureError) -> VaultError:
    """What a request returns when Azure failed it: 502 when throttled, else a 400."""
    if err.throttled:
        return VaultError(f"{prefix}: upstream rate limited: {err}", status=502)
    return BadRequest(f"{prefix}: {err}")
