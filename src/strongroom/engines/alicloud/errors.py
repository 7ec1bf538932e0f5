"""Alibaba Cloud failures, reduced to what is safe to show, and how users see them."""

from __future__ import annotations

from strongroom.core.errors import BadRequest, VaultError

# Codes that mean "the root credentials were not accepted".
_AUTH_PREFIXES = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSecurityToken",
    "MissingSecurityToken",
)
AUTH_HINT = "check the access_key and secret_key written to config"


class AliCloudError(Exception):
    """One failed RAM/STS call: error code, message, HTTP status, the action.

    `transport` is set when no answer came back (refused, reset, timed out):
    whether the call took effect is then unknown. `throttled` tells the lease
    manager to slow the mount's revocations down.
    """

    def __init__(
        self,
        action: str,
        code: str,
        message: str,
        status: int = 0,
        *,
        transport: bool = False,
    ) -> None:
        super().__init__(message)
        self.action = action
        self.code = code
        self.message = message
        self.status = status
        self.transport = transport

    @property
    def throttled(self) -> bool:
        return self.code.startswith("Throttling") or self.status == 429

    @property
    def not_found(self) -> bool:
        return self.code.startswith("EntityNotExist")

    @property
    def refused(self) -> bool:
        """A definite "no": the cloud answered 4xx, so the call changed nothing."""
        return 400 <= self.status < 500 and not self.throttled

    @property
    def auth_failed(self) -> bool:
        return self.code.startswith(_AUTH_PREFIXES)

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.code else self.message
        hint = f"; {AUTH_HINT}" if self.auth_failed else ""
        return f"{text} (calling {self.action}{hint})"


class RevocationFailed(Exception):
    """A revocation to retry later; the text names the user, never a secret."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


def upstream(what: str, err: AliCloudError) -> VaultError:
    """The error a request returns when a cloud call failed.

    A refusal (4xx: bad credentials, quotas, missing policies, …) is the
    caller's to fix: 400. Throttling, 5xx and an unreachable cloud are the
    upstream's trouble: 502.
    """
    if err.refused:
        return BadRequest(f"{what}: {err}")
    return VaultError(f"{what}: {err}", status=502)
