"""Google Cloud failures as Vault errors, with nothing secret in their text."""

from __future__ import annotations

from strongroom.core.errors import BadRequest, VaultError, multierror

# Google's canonical status -> the reason word Go's googleapi client prints.
_REASONS = {
    "INVALID_ARGUMENT": "badRequest",
    "FAILED_PRECONDITION": "failedPrecondition",
    "OUT_OF_RANGE": "outOfRange",
    "UNAUTHENTICATED": "authError",
    "PERMISSION_DENIED": "forbidden",
    "NOT_FOUND": "notFound",
    "ALREADY_EXISTS": "alreadyExists",
    "ABORTED": "aborted",
    "RESOURCE_EXHAUSTED": "rateLimitExceeded",
    "INTERNAL": "backendError",
    "UNAVAILABLE": "backendError",
    "DEADLINE_EXCEEDED": "deadlineExceeded",
}


class GcpError(Exception):
    """One failed Google call: HTTP status (0: no answer), Google status, message.

    `throttled` tells the lease manager to slow the mount's revocations down.
    """

    def __init__(self, operation: str, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def throttled(self) -> bool:
        # 429 is also how Google says a hard limit was hit ("Maximum number of service
        # accounts on project reached."): waiting does not help that one.
        return self.status == 429 and "Maximum number" not in self.message

    @property
    def transient(self) -> bool:
        """Worth trying again: no answer, a server error, or throttling."""
        return self.status == 0 or self.status >= 500 or self.throttled

    def __str__(self) -> str:
        if self.status == 0:
            return f"{self.message} (calling {self.operation})"
        if self.code.startswith("oauth2:"):
            return self.message
        reason = _REASONS.get(self.code, self.code[:1].lower() + self.code[1:])
        text = f"googleapi: Error {self.status}: {self.message}"
        return f"{text}, {reason}" if reason else text


class RevocationFailed(Exception):
    """A revocation that must be retried later; the text names the key, never a secret."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


def internal_error(message: str) -> VaultError:
    """A 500 the way Vault renders a Go error from a handler."""
    return VaultError(multierror(message), status=500)


def bad_request(prefix: str, err: Exception) -> BadRequest:
    return BadRequest(f"{prefix}: {err}" if prefix else str(err))
