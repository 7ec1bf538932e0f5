"""What the engine keeps in its mount's storage, as dataclass records.

Keys (below the mount's view; the barrier encrypts every value):

    config                          Config (holds the root key file)
    roleset/<name>                  RoleSet (holds its token generator's key file)
    static-account/<name>           StaticAccount (likewise)
    impersonated-account/<name>     ImpersonatedAccount
    wal/<id>                        WalEntry (see wal.py)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from strongroom import jsonutil
from strongroom.storage.base import Storage

CONFIG_KEY = "config"
ROLESET_PREFIX = "roleset/"
STATIC_PREFIX = "static-account/"
IMPERSONATED_PREFIX = "impersonated-account/"

ACCESS_TOKEN = "access_token"
SERVICE_ACCOUNT_KEY = "service_account_key"
SECRET_TYPES = (ACCESS_TOKEN, SERVICE_ACCOUNT_KEY)


def _from_dict(cls: type, record: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in record.items() if k in names})


def bindings_hash(raw: str) -> str:
    """base64(SHA-256(raw bindings)): how a key lease notices its bindings changed."""
    return base64.b64encode(hashlib.sha256(raw.encode()).digest()).decode()


@dataclass
class Config:
    credentials: str = ""  # the root key file, verbatim; never returned
    ttl: int = 0
    max_ttl: int = 0
    service_account_email: str = ""
    identity_token_audience: str = ""
    identity_token_ttl: int = 0

    def to_api(self) -> dict[str, Any]:
        return {
            "ttl": self.ttl,
            "max_ttl": self.max_ttl,
            "service_account_email": self.service_account_email,
            "identity_token_audience": self.identity_token_audience,
            "identity_token_ttl": self.identity_token_ttl,
            "rotation_schedule": "",
            "rotation_window": 0,
            "rotation_period": 0,
            "disable_automated_rotation": False,
        }


@dataclass
class TokenGen:
    """A long-lived key the engine keeps to mint access tokens (§3)."""

    key_name: str  # projects/P/serviceAccounts/E/keys/K
    b64_key_json: str  # privateKeyData as keys.create returned it
    scopes: list[str] = field(default_factory=list)


@dataclass
class Account:
    """What rolesets and static accounts share: an SA, bindings and maybe a token key."""

    name: str
    secret_type: str = ACCESS_TOKEN
    raw_bindings: str = ""
    bindings: dict[str, list[str]] = field(default_factory=dict)  # resource -> sorted roles
    project: str = ""
    email: str = ""
    token_gen: TokenGen | None = None

    @property
    def sa_name(self) -> str:
        return f"projects/{self.project}/serviceAccounts/{self.email}"

    @property
    def bindings_hash(self) -> str:
        return bindings_hash(self.raw_bindings)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Any:
        token_gen = record.get("token_gen")
        out = _from_dict(cls, record)
        out.token_gen = _from_dict(TokenGen, token_gen) if token_gen else None
        return out

    def sorted_bindings(self) -> dict[str, list[str]]:
        return {res: sorted(roles) for res, roles in sorted(self.bindings.items())}


@dataclass
class RoleSet(Account):
    kind = "roleset"

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "secret_type": self.secret_type,
            "bindings": self.sorted_bindings(),
            "service_account_email": self.email,
            "project": self.project,
        }
        if self.secret_type == ACCESS_TOKEN:
            out["token_scopes"] = list(self.token_gen.scopes) if self.token_gen else []
        return out


@dataclass
class StaticAccount(Account):
    kind = "static"
    token_scopes: list[str] = field(default_factory=list)  # also kept when no key exists yet

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "service_account_project": self.project,
            "service_account_email": self.email,
            "secret_type": self.secret_type,
        }
        if self.bindings:
            out["bindings"] = self.sorted_bindings()
        if self.secret_type == ACCESS_TOKEN:
            scopes = self.token_gen.scopes if self.token_gen else self.token_scopes
            out["token_scopes"] = list(scopes)
        return out


@dataclass
class ImpersonatedAccount:
    name: str
    project: str = ""
    email: str = ""
    token_scopes: list[str] = field(default_factory=list)
    ttl: int = 0

    def to_api(self) -> dict[str, Any]:
        return {
            "service_account_project": self.project,
            "service_account_email": self.email,
            "token_scopes": list(self.token_scopes),
            "ttl": self.ttl,
        }


class Store:
    """Typed access to the mount's storage; writes to one object are serialised by name."""

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

    async def _names(self, prefix: str) -> list[str]:
        return sorted(n for n in await self.storage.list(prefix) if not n.endswith("/"))

    # ------------------------------------------------------------ config
    async def config(self) -> Config | None:
        record = await self._get(CONFIG_KEY)
        return _from_dict(Config, record) if record is not None else None

    async def put_config(self, config: Config) -> None:
        await self._put(CONFIG_KEY, asdict(config))

    # ------------------------------------------------------------ rolesets
    async def roleset(self, name: str) -> RoleSet | None:
        record = await self._get(ROLESET_PREFIX + name)
        return RoleSet.from_record(record) if record is not None else None

    async def put_roleset(self, roleset: RoleSet) -> None:
        await self._put(ROLESET_PREFIX + roleset.name, roleset.to_record())

    async def delete_roleset(self, name: str) -> None:
        await self.storage.delete(ROLESET_PREFIX + name)

    async def roleset_names(self) -> list[str]:
        return await self._names(ROLESET_PREFIX)

    # ------------------------------------------------------------ static accounts
    async def static(self, name: str) -> StaticAccount | None:
        record = await self._get(STATIC_PREFIX + name)
        return StaticAccount.from_record(record) if record is not None else None

    async def put_static(self, account: StaticAccount) -> None:
        await self._put(STATIC_PREFIX + account.name, account.to_record())

    async def delete_static(self, name: str) -> None:
        await self.storage.delete(STATIC_PREFIX + name)

    async def static_names(self) -> list[str]:
        return await self._names(STATIC_PREFIX)

    # ------------------------------------------------------------ impersonated accounts
    async def impersonated(self, name: str) -> ImpersonatedAccount | None:
        record = await self._get(IMPERSONATED_PREFIX + name)
        return _from_dict(ImpersonatedAccount, record) if record is not None else None

    async def put_impersonated(self, account: ImpersonatedAccount) -> None:
        await self._put(IMPERSONATED_PREFIX + account.name, asdict(account))

    async def delete_impersonated(self, name: str) -> None:
        await self.storage.delete(IMPERSONATED_PREFIX + name)

    async def impersonated_names(self) -> list[str]:
        return await self._names(IMPERSONATED_PREFIX)

    # ------------------------------------------------------------ either kind
    async def account(self, kind: str, name: str) -> RoleSet | StaticAccount | None:
        return await (self.roleset(name) if kind == "roleset" else self.static(name))
