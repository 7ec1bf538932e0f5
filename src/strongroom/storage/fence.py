"""What an HA storage and the HA manager share: the write fence and the lock's holder.

Kept apart from any driver so the core and the HTTP layer can use them
without importing one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from strongroom.core.errors import VaultError


class NotActiveError(VaultError):
    """A write refused because this node does not (or no longer) hold the HA lock."""

    status = 503

    def __init__(self) -> None:
        super().__init__("node is not active")


class WriteFence:
    """Whether, and as whom, this node may write: installed by the HA manager.

    `identity` is the lock identity of the current term ("" between terms);
    `deadline` is the `time.monotonic()` after which the lock must be presumed
    lost (the HA manager sets it to the last successful renewal's send time
    plus the lock TTL minus a safety margin). Past it, writes are refused here
    before they reach the database; the database check is the real guarantee.
    """

    def __init__(self) -> None:
        self.identity = ""
        self.deadline = 0.0

    def holds(self) -> bool:
        return bool(self.identity) and time.monotonic() < self.deadline

    def check(self) -> str:
        """The identity to write as; raises NotActiveError when writes must stop."""
        identity = self.identity
        if not identity or time.monotonic() >= self.deadline:
            raise NotActiveError()
        return identity

    def grant(self, identity: str, deadline: float) -> None:
        self.identity, self.deadline = identity, deadline

    def extend(self, identity: str, deadline: float) -> None:
        if self.identity == identity:
            self.deadline = max(self.deadline, deadline)

    def revoke(self) -> None:
        self.identity, self.deadline = "", 0.0


@dataclass(frozen=True)
class LockHolder:
    identity: str
    value: str
    live: bool  # valid_until is still in the future (database clock)
