"""approle storage: roles, the role-id index, and secret IDs kept only as salted hashes.

Layout below the mount's storage view:

    salt                              per-mount random HMAC key (hex), made once
    role/<name>                       RoleEntry (JSON); names are lowercase
    role_id/<hmac(role_id)>           -> role name (login's lookup by role ID)
    secret_id/<role>/<hmac(secret)>   SecretIDEntry (JSON), never the secret itself
    accessor/<role>/<accessor>        -> hmac(secret) (lookups, destroys and lists
                                         by accessor; LIST is one storage list)

`hmac(x)` is HMAC-SHA256 under the salt, hex: a copy of the storage yields no
usable secret ID, and secrets are found by key rather than compared in a loop.
Times are stored as integer microseconds since the epoch.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from strongroom.auth.token_fields import TokenSettings
from strongroom.jsonutil import dumps_compact, loads
from strongroom.storage.base import Op, Storage

SALT_KEY = "salt"
ROLE_PREFIX = "role/"
ROLE_ID_PREFIX = "role_id/"
SECRET_ID_PREFIX = "secret_id/"
ACCESSOR_PREFIX = "accessor/"


@dataclass
class RoleEntry:
    name: str
    role_id: str
    bind_secret_id: bool = True
    secret_id_bound_cidrs: list[str] = field(default_factory=list)
    secret_id_num_uses: int = 0
    secret_id_ttl: int = 0
    local_secret_ids: bool = False
    token: TokenSettings = field(default_factory=TokenSettings)

    def to_json(self) -> bytes:
        doc = asdict(self)
        doc["token"] = self.token.to_dict()
        return dumps_compact(doc)

    @classmethod
    def from_json(cls, raw: bytes) -> RoleEntry:
        doc: dict[str, Any] = loads(raw)
        known = {f.name for f in fields(cls)} - {"token"}
        role = cls(**{k: v for k, v in doc.items() if k in known})
        role.token = TokenSettings.from_dict(doc.get("token"))
        return role

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "bind_secret_id": self.bind_secret_id,
            "local_secret_ids": self.local_secret_ids,
            "secret_id_bound_cidrs": list(self.secret_id_bound_cidrs) or None,
            "secret_id_num_uses": self.secret_id_num_uses,
            "secret_id_ttl": self.secret_id_ttl,
            **self.token.to_api(),
        }
        return dict(sorted(out.items()))


@dataclass
class SecretIDEntry:
    secret_id_hmac: str
    accessor: str
    role: str
    metadata: dict[str, str] = field(default_factory=dict)
    cidr_list: list[str] = field(default_factory=list)
    token_bound_cidrs: list[str] = field(default_factory=list)
    num_uses: int = 0  # remaining uses; 0 = unlimited
    ttl: int = 0  # seconds as issued; 0 = no expiry
    creation_time: int = 0  # microseconds since the epoch
    expiration_time: int = 0  # microseconds; 0 = never
    last_updated_time: int = 0

    def expired(self, now_us: int) -> bool:
        return self.expiration_time != 0 and now_us >= self.expiration_time

    def to_json(self) -> bytes:
        return dumps_compact(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> SecretIDEntry:
        doc: dict[str, Any] = loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


class AppRoleStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._salt = b""

    async def setup(self) -> None:
        raw = await self.storage.get(SALT_KEY)
        if raw is None:
            raw = secrets.token_hex(32).encode()
            await self.storage.put(SALT_KEY, raw)
        self._salt = raw

    def hmac(self, value: str) -> str:
        if not self._salt:
            raise RuntimeError("approle store used before setup()")
        return hmac.new(self._salt, value.encode(), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------ roles
    async def get_role(self, name: str) -> RoleEntry | None:
        raw = await self.storage.get(ROLE_PREFIX + name.lower())
        return RoleEntry.from_json(raw) if raw is not None else None

    async def put_role(self, role: RoleEntry, old_role_id: str | None = None) -> None:
        ops = [Op(ROLE_PREFIX + role.name, role.to_json())]
        if old_role_id is not None and old_role_id != role.role_id:
            ops.append(Op(ROLE_ID_PREFIX + self.hmac(old_role_id), None))
        ops.append(Op(ROLE_ID_PREFIX + self.hmac(role.role_id), role.name.encode()))
        await self.storage.batch(ops)

    async def list_roles(self) -> list[str]:
        return sorted(await self.storage.list(ROLE_PREFIX))

    async def role_name_for_id(self, role_id: str) -> str | None:
        raw = await self.storage.get(ROLE_ID_PREFIX + self.hmac(role_id))
        return raw.decode() if raw is not None else None

    async def delete_role(self, role: RoleEntry) -> None:
        for accessor in await self.list_accessors(role.name):
            hashed = await self.storage.get(self._accessor_key(role.name, accessor))
            if hashed is not None:
                await self.storage.delete(self._secret_key(role.name, hashed.decode()))
            await self.storage.delete(self._accessor_key(role.name, accessor))
        await self.storage.batch(
            [
                Op(ROLE_ID_PREFIX + self.hmac(role.role_id), None),
                Op(ROLE_PREFIX + role.name, None),
            ]
        )

    # ------------------------------------------------------------ secret IDs
    @staticmethod
    def _secret_key(role: str, hashed: str) -> str:
        return f"{SECRET_ID_PREFIX}{role}/{hashed}"

    @staticmethod
    def _accessor_key(role: str, accessor: str) -> str:
        return f"{ACCESSOR_PREFIX}{role}/{accessor}"

    async def get_secret(self, role: str, hashed: str) -> SecretIDEntry | None:
        raw = await self.storage.get(self._secret_key(role, hashed))
        if raw is None:
            return None
        entry = SecretIDEntry.from_json(raw)
        # The key already matched; compare again in constant time all the same.
        if not hmac.compare_digest(entry.secret_id_hmac, hashed):
            return None
        return entry

    async def secret_hash_for_accessor(self, role: str, accessor: str) -> str | None:
        if "/" in accessor or not accessor:
            return None
        raw = await self.storage.get(self._accessor_key(role, accessor))
        return raw.decode() if raw is not None else None

    async def put_secret(self, entry: SecretIDEntry) -> None:
        await self.storage.batch(
            [
                Op(self._secret_key(entry.role, entry.secret_id_hmac), entry.to_json()),
                Op(self._accessor_key(entry.role, entry.accessor), entry.secret_id_hmac.encode()),
            ]
        )

    async def update_secret(self, entry: SecretIDEntry) -> None:
        await self.storage.put(self._secret_key(entry.role, entry.secret_id_hmac), entry.to_json())

    async def delete_secret(self, entry: SecretIDEntry) -> None:
        await self.storage.batch(
            [
                Op(self._secret_key(entry.role, entry.secret_id_hmac), None),
                Op(self._accessor_key(entry.role, entry.accessor), None),
            ]
        )

    async def delete_accessor(self, role: str, accessor: str) -> None:
        """Drop a dangling accessor index entry (its secret ID is gone)."""
        await self.storage.delete(self._accessor_key(role, accessor))

    async def list_accessors(self, role: str) -> list[str]:
        return [k for k in await self.storage.list(f"{ACCESSOR_PREFIX}{role}/") if "/" not in k]
