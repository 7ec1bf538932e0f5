"""What the engine keeps in its mount's storage (the barrier encrypts every value).

config        Config: the root AccessKey pair
role/<name>   Role
wal/<id>      WalEntry (see wal.py)
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from strongroom import jsonutil
from strongroom.storage.base import Storage

CONFIG_KEY = "config"
ROLE_PREFIX = "role/"


@dataclass
class Config:
    access_key: str
    secret_key: str

    def __repr__(self) -> str:  # never print the secret
        return f"Config(access_key={self.access_key!r})"


@dataclass
class RemotePolicy:
    name: str
    type: str

    def to_api(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type}


@dataclass
class InlinePolicy:
    hash: str  # 32 hex characters, part of the created policy's name
    policy_document: dict[str, Any]

    def to_api(self) -> dict[str, Any]:
        return {"hash": self.hash, "policy_document": self.policy_document}


@dataclass
class Role:
    role_arn: str = ""
    remote_policies: list[RemotePolicy] = field(default_factory=list)
    inline_policies: list[InlinePolicy] = field(default_factory=list)
    ttl: int = 0  # seconds; 0 = the mount's default
    max_ttl: int = 0

    @property
    def is_sts(self) -> bool:
        return bool(self.role_arn)

    def to_api(self) -> dict[str, Any]:
        """The read response; unset lists are null, as Vault shows them."""
        return {
            "role_arn": self.role_arn,
            "remote_policies": [p.to_api() for p in self.remote_policies] or None,
            "inline_policies": [p.to_api() for p in self.inline_policies] or None,
            "ttl": self.ttl,
            "max_ttl": self.max_ttl,
        }

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Role:
        return cls(
            role_arn=record.get("role_arn") or "",
            remote_policies=[RemotePolicy(**p) for p in record.get("remote_policies") or []],
            inline_policies=[InlinePolicy(**p) for p in record.get("inline_policies") or []],
            ttl=int(record.get("ttl") or 0),
            max_ttl=int(record.get("max_ttl") or 0),
        )


class Store:
    """Typed access to the mount's storage; writes of one role are serialised."""

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
        return Config(record.get("access_key", ""), record.get("secret_key", ""))

    async def put_config(self, config: Config) -> None:
        await self._put(CONFIG_KEY, asdict(config))

    async def delete_config(self) -> None:
        await self.storage.delete(CONFIG_KEY)

    async def role(self, name: str) -> Role | None:
        record = await self._get(ROLE_PREFIX + name)
        return Role.from_record(record) if record is not None else None

    async def put_role(self, name: str, role: Role) -> None:
        await self._put(ROLE_PREFIX + name, role.to_record())

    async def delete_role(self, name: str) -> None:
        await self.storage.delete(ROLE_PREFIX + name)

    async def role_names(self) -> list[str]:
        return sorted(n for n in await self.storage.list(ROLE_PREFIX) if not n.endswith("/"))
