"""userpass storage: one record per user, keyed by the lowercased username.

Layout below the mount's storage view:

    user/<username>   UserEntry as JSON: the Argon2id hash of the password
                      (never the password) and the token_* settings
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strongroom.auth.token_fields import TokenSettings
from strongroom.jsonutil import dumps_compact, loads
from strongroom.storage.base import Storage

USER_PREFIX = "user/"


@dataclass
class UserEntry:
    username: str
    password_hash: str = ""
    token: TokenSettings = field(default_factory=TokenSettings)

    def to_json(self) -> bytes:
        return dumps_compact(
            {
                "username": self.username,
                "password_hash": self.password_hash,
                "token": self.token.to_dict(),
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> UserEntry:
        doc: dict[str, Any] = loads(raw)
        return cls(
            username=doc["username"],
            password_hash=doc.get("password_hash", ""),
            token=TokenSettings.from_dict(doc.get("token")),
        )


def normalize(username: str) -> str:
    return username.lower()


class UserStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def get(self, username: str) -> UserEntry | None:
        raw = await self.storage.get(USER_PREFIX + normalize(username))
        return UserEntry.from_json(raw) if raw is not None else None

    async def put(self, entry: UserEntry) -> None:
        await self.storage.put(USER_PREFIX + entry.username, entry.to_json())

    async def delete(self, username: str) -> None:
        await self.storage.delete(USER_PREFIX + normalize(username))

    async def list(self) -> list[str]:
        return sorted(await self.storage.list(USER_PREFIX))
