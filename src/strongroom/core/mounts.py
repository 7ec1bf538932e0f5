"""Mount entries and the mount table (secret engines and auth methods)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class MountConfig:
    default_lease_ttl: int = 0  # 0 = the system default
    max_lease_ttl: int = 0
    force_no_cache: bool = False
    # Optional settings shown only when set (audit keys, listing_visibility, …).
    extra: dict[str, Any] = field(default_factory=dict)
    token_type: str = ""  # auth mounts only

    def to_api(self, is_auth: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "default_lease_ttl": self.default_lease_ttl,
            "force_no_cache": self.force_no_cache,
            "max_lease_ttl": self.max_lease_ttl,
        }
        out.update(self.extra)
        if is_auth:
            out["token_type"] = self.token_type or "default-service"
        return out


@dataclass
class MountEntry:
    path: str  # with trailing "/", e.g. "secret/"; auth mounts without the "auth/" prefix
    type: str
    description: str = ""
    accessor: str = ""
    uuid: str = ""
    config: MountConfig = field(default_factory=MountConfig)
    options: dict[str, str] | None = None
    local: bool = False
    seal_wrap: bool = False
    external_entropy_access: bool = False
    plugin_version: str = ""
    is_auth: bool = False
    builtin: bool = False  # sys/, cubbyhole/, identity/, token/: no deprecation_status

    @classmethod
    def new(cls, path: str, type_: str, *, is_auth: bool = False, **kwargs: Any) -> MountEntry:
        prefix = f"auth_{type_}" if is_auth else type_
        return cls(
            path=path,
            type=type_,
            accessor=f"{prefix}_{secrets.token_hex(4)}",
            uuid=str(uuid.uuid4()),
            is_auth=is_auth,
            **kwargs,
        )

    @property
    def api_path(self) -> str:
        """The path requests use: "secret/" or "auth/userpass/"."""
        return f"auth/{self.path}" if self.is_auth else self.path

    @property
    def storage_prefix(self) -> str:
        return f"auth/{self.uuid}/" if self.is_auth else f"logical/{self.uuid}/"

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> MountEntry:
        record = dict(record)
        record["config"] = MountConfig(**record.get("config", {}))
        return cls(**record)

    def to_api(self, version: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accessor": self.accessor,
            "config": self.config.to_api(self.is_auth),
        }
        if not self.builtin:
            out["deprecation_status"] = "supported"
        out.update(
            {
                "description": self.description,
                "external_entropy_access": self.external_entropy_access,
                "local": self.local,
                "options": self.options,
                "plugin_version": self.plugin_version,
                "running_plugin_version": f"v{version}+builtin.strongroom",
                "running_sha256": "",
                "seal_wrap": self.seal_wrap,
                "type": self.type,
                "uuid": self.uuid,
            }
        )
        return out
