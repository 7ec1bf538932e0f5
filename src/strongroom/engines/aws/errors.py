"""AWS failures as Vault errors: a 400 with the engine's prefix, 502 when AWS throttles."""

from __future__ import annotations

from strongroom.core.errors import BadRequest, VaultError, multierror

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)


class AwsError(Exception):
    """One failed AWS call, reduced to what is safe to show: code, message, operation.

    `throttled` tells the lease manager to pause the mount's revocations.
    """

    def __init__(self, operation: str, code: str, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code
        self.message = message
        self.status = status

    @property
    def throttled(self) -> bool:
        return self.code in THROTTLING_CODES

    @property
    def no_such_entity(self) -> bool:
        return self.code == "NoSuchEntity"

    def __str__(self) -> str:
        if self.code:
            return f"{self.code}: {self.message} (calling {self.operation})"
        return f"{self.message} (calling {self.operation})"


class RevocationFailed(Exception):
    """A revocation that must be retried later; the text names the user, never a secret."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


def internal_error(message: str) -> VaultError:
    """A 500 the way Vault renders a Go error from a handler."""
    return VaultError(multierror(message), status=500)


def upstream(prefix: str, err: AwsError) -> VaultError:
    """The error a credential request returns when an AWS call failed."""
    if err.throttled:
        return VaultError("upstream rate limited", status=502)
    return BadRequest(f"{prefix}: {err}")
