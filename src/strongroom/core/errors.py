"""Errors that become HTTP error responses, with Vault's exact texts.

A handler raises one of these; the HTTP layer turns it into
`{"errors": [...]}` with the status code. Messages never carry secret values.
"""

from __future__ import annotations


def multierror(message: str) -> str:
    """Go multierror rendering, which clients see verbatim for ACL/routing errors."""
    return f"1 error occurred:\n\t* {message}\n\n"


class VaultError(Exception):
    """An error with an HTTP status and the list of messages for the `errors` array."""

    status = 500

    def __init__(self, *messages: str, status: int | None = None) -> None:
        super().__init__(*messages)
        self.messages: list[str] = list(messages)
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return "; ".join(self.messages)


class BadRequest(VaultError):
    status = 400


class PermissionDenied(VaultError):
    """403. Without a valid token the text is plain; an ACL denial uses multierror."""

    status = 403

    def __init__(self, message: str = "permission denied") -> None:
        super().__init__(message)


class AclDenied(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(multierror("permission denied"))


class NotFound(VaultError):
    """404 with an empty errors list: a read or list that found nothing."""

    status = 404


class UnsupportedPath(VaultError):
    status = 404

    def __init__(self) -> None:
        super().__init__(multierror("unsupported path"))


class UnsupportedOperation(VaultError):
    status = 405

    def __init__(self) -> None:
        super().__init__(multierror("unsupported operation"))


class MethodNotAllowed(VaultError):
    status = 405


class Sealed(VaultError):
    status = 503

    def __init__(self) -> None:
        super().__init__("Vault is sealed")
