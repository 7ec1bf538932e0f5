"""What the engine keeps in its mount's storage (the barrier encrypts every value).

config          Config (holds the root client secret)
roles/<name>    Role
wal/<id>        WalEntry (see wal.py)
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from strongroom import jsonutil
from strongroom.storage.base import Storage

CONFIG_KEY = "config"
ROLE_PREFIX = "roles/"
DEFAULT_ROOT_PASSWORD_TTL = 4380 * 3600  # 182.5 days
SP_CREDENTIAL = "service_principal"


def _from_dict(cls: type, record: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in record.items() if k in names})


@dataclass
class Config:
    subscription_id: str = ""
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = ""
    client_secret_key_id: str = ""
    environment: str = ""
    root_password_ttl: int = DEFAULT_ROOT_PASSWORD_TTL
    root_password_expiration_date: str = ""
    # rotate-root's new secret until it is promoted (see path_config.py)
    new_client_secret: str = ""
    new_client_secret_created: float = 0.0  # unix seconds
    new_client_secret_expiration_date: str = ""
    new_client_secret_key_id: str = ""
    identity_token_audience: str = ""
    identity_token_ttl: int = 0
    rotation_schedule: str = ""
    rotation_window: int = 0
    rotation_period: int = 0
    disable_automated_rotation: bool = False

    def to_api(self) -> dict[str, Any]:
        """The read response: never a secret."""
        out: dict[str, Any] = {
            "subscription_id": self.subscription_id,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "environment": self.environment,
            "root_password_ttl": self.root_password_ttl,
            "identity_token_audience": self.identity_token_audience,
            "identity_token_ttl": self.identity_token_ttl,
            "rotation_schedule": self.rotation_schedule,
            "rotation_window": self.rotation_window,
            "rotation_period": self.rotation_period,
            "disable_automated_rotation": self.disable_automated_rotation,
        }
        if self.root_password_expiration_date:
            out["root_password_expiration_date"] = self.root_password_expiration_date
        return out

    @property
    def rotation_pending(self) -> bool:
        return bool(self.new_client_secret)

    def clear_pending(self) -> None:
        self.new_client_secret = ""
        self.new_client_secret_created = 0.0
        self.new_client_secret_expiration_date = ""
        self.new_client_secret_key_id = ""


@dataclass
class Role:
    credential_type: str = SP_CREDENTIAL
    azure_roles: list[dict[str, str]] | None = None  # role_name, role_id, scope
    azure_groups: list[dict[str, str]] | None = None  # group_name, object_id
    application_id: str = ""
    application_object_id: str = ""
    sign_in_audience: str = ""
    tags: list[str] | None = None
    ttl: int = 0
    max_ttl: int = 0
    explicit_max_ttl: int = 0
    permanently_delete: bool = False
    persist_app: bool = False
    # persisted apps only: what the engine made when the role was written
    managed_application_object_id: str = ""
    sp_object_id: str = ""
    role_assignment_ids: list[str] = field(default_factory=list)
    group_membership_ids: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {
            "ttl": self.ttl,
            "max_ttl": self.max_ttl,
            "explicit_max_ttl": self.explicit_max_ttl,
            "azure_roles": self.azure_roles,
            "azure_groups": self.azure_groups,
            "application_object_id": self.application_object_id,
            "permanently_delete": self.permanently_delete,
            "persist_app": self.persist_app,
            "sign_in_audience": self.sign_in_audience,
            "tags": self.tags,
        }

    @property
    def managed(self) -> bool:
        """The role owns its application (persist_app made it)."""
        return bool(self.managed_application_object_id)


class Store:
    """Typed access to the mount's storage, with named locks for read-modify-write."""

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

    async def config(self) -> Config | None:
        record = await self._get(CONFIG_KEY)
        if record is None:
            return None
        record["new_client_secret_created"] = float(record.get("new_client_secret_created", 0))
        return _from_dict(Config, record)

    async def put_config(self, config: Config) -> None:
        await self._put(CONFIG_KEY, asdict(config))

    async def delete_config(self) -> None:
        await self.storage.delete(CONFIG_KEY)

    async def role(self, name: str) -> Role | None:
        record = await self._get(ROLE_PREFIX + name)
        return _from_dict(Role, record) if record is not None else None

    async def put_role(self, name: str, role: Role) -> None:
        await self._put(ROLE_PREFIX + name, asdict(role))

    async def delete_role(self, name: str) -> None:
        await self.storage.delete(ROLE_PREFIX + name)

    async def role_names(self) -> list[str]:
        return [n for n in await self.storage.list(ROLE_PREFIX) if not n.endswith("/")]
