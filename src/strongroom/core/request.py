"""The two plain objects every layer speaks: Request and Response."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strongroom.core.mounts import MountEntry
    from strongroom.core.tokens import TokenEntry
    from strongroom.storage import Storage


class Operation(enum.StrEnum):
    READ = "read"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    HELP = "help"


# POST/PUT arrive as UPDATE; the core turns them into CREATE when the target
# does not exist yet, so ACL rules can grant one without the other.
WRITE_OPS = frozenset({Operation.CREATE, Operation.UPDATE})


@dataclass(slots=True)
class Request:
    operation: Operation
    path: str  # full API path below /v1/, e.g. "secret/data/app"
    data: dict[str, Any] = field(default_factory=dict)
    client_token: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    remote_addr: str = ""
    request_id: str = ""
    wrap_ttl: int = 0
    # Filled in by the core while routing:
    rel_path: str = ""  # path inside the mount
    mount: MountEntry | None = None
    storage: Storage | None = None
    token: TokenEntry | None = None
    # True when the ACL check already knows the target exists (write → update).
    exists: bool | None = None
    # The audit broker's per-request state (core/audit): None = not audited yet.
    audit: Any = None


@dataclass(slots=True)
class Secret:
    """A response's lease: what the lease manager must track and later revoke."""

    ttl: int
    renewable: bool = True
    max_ttl: int = 0
    internal: dict[str, Any] = field(default_factory=dict)  # kept for revoke, never returned
    lease_id: str = ""
    # Called once the lease is stored (True) or could not be (False, after the core
    # revoked the credential): an engine's write-ahead entry can be settled only then.
    on_lease_stored: Callable[[bool], Awaitable[None]] | None = None


@dataclass(slots=True)
class Login:
    """An auth method's verdict on a login: the core turns it into a token.

    TTLs in seconds (0 = the auth mount's defaults). The issued token is an
    orphan whose path is the login request's path, as in Vault.
    """

    policies: list[str]
    display_name: str
    metadata: dict[str, str] | None = None
    ttl: int = 0
    max_ttl: int = 0
    period: int = 0
    explicit_max_ttl: int = 0
    num_uses: int = 0
    no_default_policy: bool = False
    renewable: bool = True
    bound_cidrs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Response:
    data: dict[str, Any] | None = None
    secret: Secret | None = None
    auth: dict[str, Any] | None = None
    login: Login | None = None  # set by auth methods' login paths
    warnings: list[str] = field(default_factory=list)
    # 0 lets the HTTP layer choose 200 or 204; set for 202, 404-with-envelope, etc.
    status: int = 0
    # Special (non-envelope) handlers put their whole JSON body here.
    raw: Any = None
    # Vault copies `data` keys to the top level for some legacy sys routes.
    top_level_copy: bool = False
    lease_duration: int = 0  # KV v1 refresh hint when there is no lease
    headers: dict[str, str] = field(default_factory=dict)
    # Set when the response was wrapped (core/wrapping): the envelope carries only this.
    wrap_info: dict[str, Any] | None = None
    request_id: str = ""  # "" = the HTTP layer makes one up
