"""What the engine keeps in its mount's storage, as dataclass records.

Keys (below the mount's view; the barrier encrypts every value):

    config/root            RootConfig (holds the root secret key)
    config/lease           LeaseConfig
    role/<name>            Role
    policy/<name>          legacy (pre-0.11) role: raw policy JSON or an ARN
    static-roles/<name>    StaticRole
    static-creds/<name>    StaticCreds (holds a secret key)
    wal/<id>               WalEntry (see wal.py)
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from strongroom import jsonutil
from strongroom.storage.base import Storage

from .username import DEFAULT_USERNAME_TEMPLATE

ROOT_KEY = "config/root"
LEASE_KEY = "config/lease"
ROLE_PREFIX = "role/"
LEGACY_PREFIX = "policy/"
STATIC_ROLE_PREFIX = "static-roles/"
STATIC_CREDS_PREFIX = "static-creds/"

IAM_USER = "iam_user"
ASSUMED_ROLE = "assumed_role"
FEDERATION_TOKEN = "federation_token"
SESSION_TOKEN = "session_token"
CREDENTIAL_TYPES = (IAM_USER, ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN)
STS_TYPES = (ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN)
DEFAULT_PROPAGATION_TIMEOUT = 30  # seconds
MAX_PROPAGATION_TIMEOUT = 300


def _from_dict(cls: type, record: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in record.items() if k in names})


@dataclass
class RootConfig:
    access_key: str = ""
    secret_key: str = ""
    region: str = ""
    iam_endpoint: str = ""
    sts_endpoint: str = ""
    sts_region: str = ""
    sts_fallback_endpoints: list[str] = field(default_factory=list)
    sts_fallback_regions: list[str] = field(default_factory=list)
    max_retries: int = -1
    username_template: str = DEFAULT_USERNAME_TEMPLATE
    role_arn: str = ""
    identity_token_audience: str = ""
    identity_token_ttl: int = 0
    rotation_schedule: str = ""
    rotation_policy: str = ""
    rotation_period: int = 0
    rotation_window: int = 0
    disable_automated_rotation: bool = False

    def to_api(self) -> dict[str, Any]:
        """The read response: everything but the secret key."""
        out = asdict(self)
        del out["secret_key"]
        return out


@dataclass
class LeaseConfig:
    lease: int = 0  # seconds
    lease_max: int = 0


@dataclass
class Role:
    credential_types: list[str] = field(default_factory=list)
    policy_arns: list[str] | None = None
    role_arns: list[str] | None = None
    policy_document: str = ""
    iam_groups: list[str] | None = None
    iam_tags: dict[str, str] | None = None
    session_tags: dict[str, str] | None = None
    external_id: str = ""
    default_sts_ttl: int = 0  # seconds
    max_sts_ttl: int = 0
    user_path: str = ""
    permissions_boundary_arn: str = ""
    mfa_serial_number: str = ""
    invalid_data: str = ""
    prohibit_flexible_cred_path: bool = False
    version: int = 3
    # strongroom: wait until AWS accepts a new iam_user key before returning it.
    wait_for_propagation: bool = False
    propagation_timeout: int = 0  # seconds; 0 = the default

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "credential_type": ",".join(self.credential_types),
            "policy_arns": self.policy_arns,
            "role_arns": self.role_arns,
            "policy_document": self.policy_document,
            "iam_groups": self.iam_groups,
            "iam_tags": self.iam_tags,
            "session_tags": self.session_tags,
            "external_id": self.external_id,
            "default_sts_ttl": self.default_sts_ttl,
            "max_sts_ttl": self.max_sts_ttl,
            "user_path": self.user_path,
            "permissions_boundary_arn": self.permissions_boundary_arn,
            "mfa_serial_number": self.mfa_serial_number,
        }
        if self.wait_for_propagation:
            # strongroom's own fields appear only when used: Vault's shape stays exact.
            out["wait_for_propagation"] = True
            out["propagation_timeout"] = self.propagation_timeout or DEFAULT_PROPAGATION_TIMEOUT
        if self.invalid_data:
            out["invalid_data"] = self.invalid_data
        return out

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Role:
        return _from_dict(cls, record)


@dataclass
class StaticRole:
    name: str
    username: str
    id: str = ""  # the IAM UserId, guards against a deleted-and-recreated user
    rotation_period: int = 0  # seconds
    assume_role_arn: str = ""
    assume_role_session_name: str = ""
    external_id: str = ""

    def to_api(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StaticCreds:
    access_key: str
    secret_key: str
    expiration: float  # unix seconds of the next rotation


class Store:
    """Typed access to the mount's storage; role writes are serialised per name."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, key: str) -> asyncio.Lock:
        found = self._locks.get(key)
        if found is None:
            found = self._locks[key] = asyncio.Lock()
        return found

    async def _get(self, key: str) -> dict[str, Any] | None:
        raw = await self.storage.get(key)
        return jsonutil.loads(raw) if raw is not None else None

    async def _put(self, key: str, record: dict[str, Any]) -> None:
        await self.storage.put(key, jsonutil.dumps_compact(record))

    # ------------------------------------------------------------ config
    async def root(self) -> RootConfig | None:
        record = await self._get(ROOT_KEY)
        return _from_dict(RootConfig, record) if record is not None else None

    async def put_root(self, config: RootConfig) -> None:
        await self._put(ROOT_KEY, asdict(config))

    async def lease(self) -> LeaseConfig | None:
        record = await self._get(LEASE_KEY)
        return _from_dict(LeaseConfig, record) if record is not None else None

    async def put_lease(self, config: LeaseConfig) -> None:
        await self._put(LEASE_KEY, asdict(config))

    # ------------------------------------------------------------ roles
    async def role(self, name: str) -> Role | None:
        record = await self._get(ROLE_PREFIX + name)
        return Role.from_record(record) if record is not None else None

    async def put_role(self, name: str, role: Role) -> None:
        await self._put(ROLE_PREFIX + name, role.to_record())

    async def legacy_policy(self, name: str) -> str | None:
        raw = await self.storage.get(LEGACY_PREFIX + name)
        return raw.decode() if raw is not None else None

    async def delete_role(self, name: str) -> None:
        await self.storage.delete(LEGACY_PREFIX + name)
        await self.storage.delete(ROLE_PREFIX + name)

    async def role_names(self) -> list[str]:
        modern = [n for n in await self.storage.list(ROLE_PREFIX) if not n.endswith("/")]
        legacy = [n for n in await self.storage.list(LEGACY_PREFIX) if not n.endswith("/")]
        return modern + legacy

    # ------------------------------------------------------------ static roles
    async def static_role(self, name: str) -> StaticRole | None:
        record = await self._get(STATIC_ROLE_PREFIX + name)
        return _from_dict(StaticRole, record) if record is not None else None

    async def put_static_role(self, role: StaticRole) -> None:
        await self._put(STATIC_ROLE_PREFIX + role.name, asdict(role))

    async def delete_static_role(self, name: str) -> None:
        await self.storage.delete(STATIC_ROLE_PREFIX + name)

    async def static_role_names(self) -> list[str]:
        return [n for n in await self.storage.list(STATIC_ROLE_PREFIX) if not n.endswith("/")]

    async def static_creds(self, name: str) -> StaticCreds | None:
        record = await self._get(STATIC_CREDS_PREFIX + name)
        if record is None:
            return None
        record["expiration"] = float(record["expiration"])
        return _from_dict(StaticCreds, record)

    async def put_static_creds(self, name: str, creds: StaticCreds) -> None:
        await self._put(STATIC_CREDS_PREFIX + name, asdict(creds))

    async def delete_static_creds(self, name: str) -> None:
        await self.storage.delete(STATIC_CREDS_PREFIX + name)
