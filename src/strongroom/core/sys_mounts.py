"""sys/mounts, sys/auth, their tune endpoints, sys/remount and the UI mount listing."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from strongroom.core.errors import BadRequest, NotFound, PermissionDenied
from strongroom.core.mounts import MountConfig, MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.durations import DurationError, parse_duration
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path, match_all

if TYPE_CHECKING:
    from strongroom.core.core import Core

RESERVED_SECRET_PREFIXES = ("sys/", "auth/", "cubbyhole/", "identity/")
# Settings shown in a mount's config only once they are set.
EXTRA_CONFIG_KEYS = (
    "audit_non_hmac_request_keys",
    "audit_non_hmac_response_keys",
    "listing_visibility",
    "passthrough_request_headers",
    "allowed_response_headers",
)


def _normalize_path(path: str) -> str:
    path = path.strip("/")
    return path + "/"


def _ttl(value: Any, field: str) -> int:
    """A tune TTL: a duration, or "system" for the system default (stored as 0)."""
    if value == "system":
        return 0
    try:
        seconds = parse_duration(value)
    except DurationError as err:
        raise BadRequest(str(err)) from None
    if seconds < 0:
        raise BadRequest(f"{field} must not be negative")
    return seconds


def _apply_config(config: MountConfig, data: dict[str, Any], system_max: int) -> None:
    default = (
        _ttl(data["default_lease_ttl"], "default_lease_ttl")
        if "default_lease_ttl" in data
        else config.default_lease_ttl
    )
    maximum = (
        _ttl(data["max_lease_ttl"], "max_lease_ttl")
        if "max_lease_ttl" in data
        else config.max_lease_ttl
    )
    effective_max = maximum or system_max
    if default and default > effective_max:
        raise BadRequest(
            f"backend max lease TTL of {effective_max} would be less than backend default "
            f"lease TTL of {default}"
        )
    config.default_lease_ttl, config.max_lease_ttl = default, maximum
    if "force_no_cache" in data:
        config.force_no_cache = bool(data["force_no_cache"])
    for key in EXTRA_CONFIG_KEYS:
        if key in data:
            value = data[key]
            if key != "listing_visibility" and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if key == "listing_visibility" and value not in ("", "unauth", "hidden"):
                raise BadRequest(f"invalid listing_visibility {value}")
            if value in ("", []):
                config.extra.pop(key, None)
            else:
                config.extra[key] = value
    if "token_type" in data:
        config.token_type = str(data["token_type"])


def _normalize_type(
    type_: str, options: dict[str, str] | None
) -> tuple[str, dict[str, str] | None]:
    if type_ == "kv-v2":
        return "kv", {**(options or {}), "version": "2"}
    if type_ == "kv-v1":
        return "kv", {**(options or {}), "version": "1"}
    return type_, options


def _options(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("options must be a map of strings")
    return {str(k): str(v) if not isinstance(v, bool) else str(v).lower() for k, v in value.items()}


def mount_paths(core: Core) -> list[Path]:
    def table(is_auth: bool) -> dict[str, Any]:
        return {e.path: e.to_api(core.version) for e in core.mounts(auth=is_auth)}

    def entry_for(path: str, is_auth: bool) -> MountEntry | None:
        return core.find_mount(_normalize_path(path), auth=is_auth)

    async def list_mounts(req: Request, fd: FieldData) -> Response:
        return Response(data=table(False), top_level_copy=True)

    async def list_auth(req: Request, fd: FieldData) -> Response:
        return Response(data=table(True), top_level_copy=True)

    async def enable(req: Request, fd: FieldData, is_auth: bool) -> None:
        path = _normalize_path(fd.get("path"))
        type_ = fd.get("type")
        if not type_:
            raise BadRequest("backend type must be specified as a string")
        # A mount created without options has {}; the CLI's explicit null stays null.
        options = _options(
            fd.get("options") if fd.has("options") else ({} if "options" not in req.data else None)
        )
        type_, options = _normalize_type(type_, options)
        if is_auth:
            if type_ == "token":
                raise BadRequest("token credential backend cannot be instantiated")
        elif path.startswith(RESERVED_SECRET_PREFIXES):
            raise BadRequest(f'cannot mount "{path}"')
        if type_ not in core.backend_types():
            raise BadRequest(f"plugin not found in the catalog: {type_}")
        entry = MountEntry.new(
            path,
            type_,
            is_auth=is_auth,
            description=fd.get("description"),
            options=options,
            local=fd.get("local"),
            seal_wrap=fd.get("seal_wrap"),
            external_entropy_access=fd.get("external_entropy_access"),
            plugin_version=fd.get("plugin_version"),
        )
        _, system_max = core.system.default_lease_ttl, core.system.max_lease_ttl
        _apply_config(entry.config, fd.get("config"), system_max)
        await core.enable_mount(entry)

    async def read_one(req: Request, fd: FieldData, is_auth: bool) -> Response:
        entry = entry_for(fd.get("path"), is_auth)
        if entry is None:
            kind = "auth engine" if is_auth else "secret engine mount"
            raise BadRequest(f"No {kind} at {_normalize_path(fd.get('path'))}")
        return Response(data=entry.to_api(core.version), top_level_copy=True)

    async def disable(req: Request, fd: FieldData, is_auth: bool) -> None:
        path = _normalize_path(fd.get("path"))
        if is_auth and path == "token/":
            raise BadRequest("token credential backend cannot be disabled")
        if not is_auth and path in ("sys/", "cubbyhole/", "identity/"):
            raise BadRequest(f'cannot unmount "{path}"')
        await core.disable_mount(("auth/" if is_auth else "") + path)

    async def read_tune(req: Request, fd: FieldData, is_auth: bool) -> Response:
        entry = entry_for(fd.get("path"), is_auth)
        if entry is None:
            raise BadRequest(f'cannot fetch sysview for path "{_normalize_path(fd.get("path"))}"')
        default, maximum = core.mount_ttls(entry)
        data: dict[str, Any] = {
            "description": entry.description,
            "default_lease_ttl": default,
            "max_lease_ttl": maximum,
            "force_no_cache": entry.config.force_no_cache,
        }
        if entry.options:
            data["options"] = entry.options
        data.update(entry.config.extra)
        if is_auth:
            data["token_type"] = entry.config.token_type or "default-service"
        return Response(data=data, top_level_copy=True)

    async def write_tune(req: Request, fd: FieldData, is_auth: bool) -> None:
        path = _normalize_path(fd.get("path"))
        entry = entry_for(path, is_auth)
        if entry is None:
            raise BadRequest(f'tune of path "{path}" failed: no mount entry found')
        data = dict(req.data)
        new_config = MountConfig(**{**entry.config.__dict__, "extra": dict(entry.config.extra)})
        _apply_config(new_config, data, core.system.max_lease_ttl)
        options = _options(data.get("options")) if "options" in data else None
        entry.config = new_config
        if "description" in data:
            entry.description = str(data["description"])
        if options is not None:
            if entry.type == "kv" and "version" in options:
                options["version"] = str(options["version"])
            entry.options = {**(entry.options or {}), **options}
        await core.save_mount(entry)
        await core.reload_mount(entry)

    async def remount(req: Request, fd: FieldData) -> Response:
        src, dst = _normalize_path(fd.get("from")), _normalize_path(fd.get("to"))
        await core.remount(src, dst)
        migration = str(uuid.uuid4())
        core.migrations[migration] = {"source_mount": src, "target_mount": dst, "status": "success"}
        return Response(
            data={"migration_id": migration},
            warnings=[
                "Mount move has been queued. Progress will be reported in the server log, "
                "tagged with the returned migration_id"
            ],
            top_level_copy=True,
        )

    async def remount_status(req: Request, fd: FieldData) -> Response:
        info = core.migrations.get(fd.get("migration_id"))
        if info is None:
            raise NotFound()
        return Response(data={"migration_id": fd.get("migration_id"), "migration_info": info})

    async def ui_mounts(req: Request, fd: FieldData) -> Response:
        token = await core.optional_token(req)
        out: dict[str, dict[str, Any]] = {"auth": {}, "secret": {}}
        for entry in [*core.mounts(auth=False), *core.mounts(auth=True)]:
            section = out["auth" if entry.is_auth else "secret"]
            if token is None:
                if entry.config.extra.get("listing_visibility") == "unauth":
                    full = entry.to_api(core.version)
                    section[entry.path] = {k: full[k] for k in ("description", "options", "type")}
            elif core.policies.acl(token.policies).has_mount_access(entry.api_path):
                section[entry.path] = entry.to_api(core.version)
        return Response(data=out)

    async def ui_mount(req: Request, fd: FieldData) -> Response:
        token = await core.optional_token(req)
        if token is None:
            raise PermissionDenied()
        path = fd.get("path")
        routed = core.route_for(path)
        if routed is None or not core.policies.acl(token.policies).has_mount_access(
            routed[0].entry.api_path
        ):
            raise PermissionDenied(
                "preflight capability check returned 403, please ensure client's policies "
                f'grant access to path "{path.rstrip("/")}/"'
            )
        entry = routed[0].entry
        return Response(data={**entry.to_api(core.version), "path": entry.path})

    mount_fields = {
        "path": Field(FieldType.STRING, "Where to mount, e.g. aws-us-west-2"),
        "type": Field(FieldType.STRING, "The engine type, e.g. kv, aws", default=""),
        "description": Field(FieldType.STRING, "A human-friendly description", default=""),
        "config": Field(FieldType.MAP, "default_lease_ttl, max_lease_ttl, ...", default={}),
        "options": Field(FieldType.MAP, "Engine options, e.g. version=2 for kv", default={}),
        "local": Field(FieldType.BOOL, "Not replicated", default=False),
        "seal_wrap": Field(FieldType.BOOL, default=False),
        "external_entropy_access": Field(FieldType.BOOL, default=False),
        "plugin_version": Field(FieldType.STRING, default=""),
        "plugin_name": Field(FieldType.STRING, deprecated=True),
    }
    tune_fields = {
        "path": Field(FieldType.STRING),
        "default_lease_ttl": Field(FieldType.RAW, 'A duration, or "system"'),
        "max_lease_ttl": Field(FieldType.RAW, 'A duration, or "system"'),
        "description": Field(FieldType.STRING),
        "options": Field(FieldType.MAP),
        "force_no_cache": Field(FieldType.BOOL),
        "token_type": Field(FieldType.STRING),
        "user_lockout_config": Field(FieldType.MAP),
        "plugin_version": Field(FieldType.STRING),
        **{key: Field(FieldType.RAW) for key in EXTRA_CONFIG_KEYS},
    }

    def scoped(is_auth: bool) -> list[Path]:
        base = "auth" if is_auth else "mounts"
        kind = "auth method" if is_auth else "secrets engine"
        path_group = match_all("path")
        return [
            Path(
                f"{base}/{path_group}/tune",
                fields=tune_fields,
                operations={
                    Operation.READ: lambda r, f: read_tune(r, f, is_auth),
                    Operation.UPDATE: lambda r, f: write_tune(r, f, is_auth),
                },
                synopsis=f"Tune a mounted {kind}'s lease TTLs and settings.",
            ),
            Path(
                f"{base}/{path_group}",
                fields=mount_fields,
                operations={
                    Operation.READ: lambda r, f: read_one(r, f, is_auth),
                    Operation.UPDATE: lambda r, f: enable(r, f, is_auth),
                    Operation.DELETE: lambda r, f: disable(r, f, is_auth),
                },
                synopsis=f"Enable, read or disable a {kind}.",
            ),
            Path(
                base,
                operations={Operation.READ: list_auth if is_auth else list_mounts},
                synopsis=f"List the mounted {kind}s.",
            ),
        ]

    return [
        *scoped(False),
        *scoped(True),
        Path(
            "remount",
            fields={
                "from": Field(FieldType.STRING, "The current mount path", required=True),
                "to": Field(FieldType.STRING, "The new mount path", required=True),
            },
            operations={Operation.UPDATE: remount},
            synopsis="Move a mount to a new path.",
        ),
        Path(
            "remount/status/(?P<migration_id>.+)",
            fields={"migration_id": Field()},
            operations={Operation.READ: remount_status},
        ),
        Path(
            "internal/ui/mounts",
            operations={Operation.READ: ui_mounts},
            synopsis="Mounts visible to the caller (used by UIs and CLIs).",
        ),
        Path(
            f"internal/ui/mounts/{match_all('path')}",
            fields={"path": Field()},
            operations={Operation.READ: ui_mount},
            synopsis="The mount serving a path (the CLI's preflight for kv commands).",
        ),
    ]
