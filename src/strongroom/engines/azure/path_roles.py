"""roles/<name> (create/update, read, delete) and LIST roles (spec §4.3, §4.5)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .builder import StepFailed, build, undo_role_assign
from .client import Azure, AzureClients
from .errors import AzureError, internal_error, upstream
from .identity import (
    Teardown,
    add_to_groups,
    assign_roles,
    password_end,
    plan_assignments,
    remove_assignments,
    remove_memberships,
)
from .store import Role, Store
from .wal import ROLE_ASSIGN, Wal, WalEntry

NAME = r"\w(?:[\w\-.]*\w)?"
ROLE_NAME = rf"(?P<name>{NAME})"

S, B, DUR, LIST, RAW = (
    FieldType.STRING,
    FieldType.BOOL,
    FieldType.DURATION,
    FieldType.COMMA_STRING_LIST,
    FieldType.RAW,
)

SIGN_IN_AUDIENCES = (
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
)

ROLE_FIELDS: dict[str, Field] = {
    "name": Field(S, "Name of the role (lower-cased)."),
    "azure_roles": Field(
        RAW,
        'JSON list of Azure roles to assign: [{"role_name" or "role_id", "scope"}].',
    ),
    "azure_groups": Field(
        RAW, 'JSON list of Entra ID groups to join: [{"group_name" or "object_id"}].'
    ),
    "application_object_id": Field(
        S, "Object ID of an existing application: reads add a password to it."
    ),
    "persist_app": Field(B, "Create one application for the role now and add a password per read."),
    "sign_in_audience": Field(S, "signInAudience of the applications the engine creates."),
    "tags": Field(LIST, "Tags for the applications the engine creates."),
    "ttl": Field(DUR, "Default lease TTL of credentials (default: the mount's)."),
    "max_ttl": Field(DUR, "Maximum lease TTL of credentials (default: the mount's)."),
    "explicit_max_ttl": Field(
        DUR, "Hard limit of a credential's lease and the lifetime of its Azure password."
    ),
    "permanently_delete": Field(
        B, "Also purge deleted applications and service principals from the directory."
    ),
}


def _parse_list(raw: Any, what: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    """azure_roles / azure_groups: a JSON string (as Vault takes it) or a JSON list."""
    text = raw if isinstance(raw, str) else json.dumps(raw)
    label = "roles" if what == "roles" else "groups"
    try:
        value = json.loads(text) if isinstance(raw, str) else raw
        if value is None:
            value = []
        if not isinstance(value, list):
            raise ValueError(f"expected a JSON array, got {type(value).__name__}")
        out: list[dict[str, str]] = []
        for item in value:
            if not isinstance(item, dict):
                raise ValueError(f"expected objects in the array, got {type(item).__name__}")
            entry: dict[str, str] = {}
            for key in keys:
                field = item.get(key)
                if field is None:
                    field = ""
                if not isinstance(field, str):
                    raise ValueError(f"{key} must be a string")
                entry[key] = field
            out.append(entry)
    except ValueError as err:
        raise BadRequest(f"error parsing Azure {label} '{text}': {err}") from None
    return out


def _validate_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        if not 1 <= len(tag) <= 256:
            raise BadRequest("individual tag size must be between 1 and 256 characters (inclusive)")
        if any(ch.isspace() for ch in tag):
            raise BadRequest("whitespaces are not allowed in tags")
        if tag not in out:
            out.append(tag)
    return out


class Roles:
    def __init__(
        self,
        store: Store,
        clients: AzureClients,
        wal: Wal,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.clients = clients
        self.wal = wal
        self.clock = clock

    def paths(self) -> list[Path]:
        return [
            Path(
                pattern="roles/?",
                operations={Operation.LIST: self.list},
                synopsis="List the existing roles in this backend.",
            ),
            Path(
                pattern=f"roles/{ROLE_NAME}",
                fields=ROLE_FIELDS,
                operations={
                    Operation.READ: self.read,
                    Operation.UPDATE: self.write,
                    Operation.DELETE: self.delete,
                },
                existence_check=self.exists,
                synopsis="Manage the roles that describe the Azure identities to issue.",
                description=(
                    "A role gives each credential Azure role assignments (azure_roles) and "
                    "group memberships (azure_groups) on a new application and service "
                    "principal, or adds passwords to an existing application "
                    "(application_object_id), or to one the engine creates once for the role "
                    "(persist_app)."
                ),
            ),
        ]

    async def _need_config(self) -> None:
        if await self.store.config() is None:
            raise internal_error("config is nil")

    async def exists(self, req: Request, fd: FieldData) -> bool:
        return await self.store.role(fd.get("name").lower()) is not None

    async def list(self, req: Request, fd: FieldData) -> Response:
        names = await self.store.role_names()
        if not names:
            raise NotFound()
        return Response(data={"keys": names})

    async def read(self, req: Request, fd: FieldData) -> Response:
        await self._need_config()
        role = await self.store.role(fd.get("name").lower())
        if role is None:
            raise NotFound()
        return Response(data=role.to_api())

    # ------------------------------------------------------------------ write
    async def write(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name").lower()
        async with self.store.lock("role/" + name):
            await self._need_config()
            role = await self.store.role(name) or Role()
            self._apply(role, fd)
            azure = await self.clients.get()
            given_app = role.application_object_id and (
                role.application_object_id != role.managed_application_object_id
            )
            if given_app:
                try:
                    app = await azure.get_application(role.application_object_id)
                except AzureError as err:
                    raise _lookup_error("error loading Application", err) from None
                role.application_id = str(app.get("appId") or "")
                if role.permanently_delete:
                    raise BadRequest(
                        "permanently_delete must be false if application_object_id is provided"
                    )
                if role.persist_app and not role.managed:
                    raise BadRequest(
                        "persist_app cannot be used with an existing application_object_id"
                    )
            await self._resolve_roles(azure, role)
            await self._resolve_groups(azure, role)
            if not role.azure_roles and not role.azure_groups and not role.application_object_id:
                raise BadRequest(
                    "either Azure role definitions, group definitions, or an Application Object "
                    "ID must be provided"
                )
            entries: list[WalEntry] = []
            if role.persist_app:
                entries = await self._persist(azure, name, role)
            await self.store.put_role(name, role)
            await self.wal.commit(*entries)
        return None

    def _apply(self, role: Role, fd: FieldData) -> None:
        for name in ("ttl", "max_ttl", "explicit_max_ttl"):
            if fd.has(name):
                setattr(role, name, fd.get(name))
        if role.max_ttl and role.ttl > role.max_ttl:
            raise BadRequest("ttl cannot be greater than max_ttl")
        if role.explicit_max_ttl and role.ttl > role.explicit_max_ttl:
            raise BadRequest("ttl cannot be greater than explicit_max_ttl")
        if role.explicit_max_ttl and role.max_ttl > role.explicit_max_ttl:
            raise BadRequest("max_ttl cannot be greater than explicit_max_ttl")
        if fd.has("application_object_id"):
            given = fd.get("application_object_id")
            if role.managed and given != role.managed_application_object_id:
                raise BadRequest(
                    "application_object_id cannot be changed on a role whose application the "
                    "engine manages (persist_app); delete the role first"
                )
            role.application_object_id = given
            if not role.application_object_id or (
                role.application_object_id != role.managed_application_object_id
            ):
                role.application_id = ""
        role.permanently_delete = fd.get("permanently_delete") or False
        if fd.has("persist_app"):
            role.persist_app = fd.get("persist_app")
        if fd.has("sign_in_audience"):
            audience = fd.get("sign_in_audience")
            if audience and audience not in SIGN_IN_AUDIENCES:
                raise BadRequest(
                    "Invalid value for sign_in_audience field. Valid values are: "
                    + ", ".join(SIGN_IN_AUDIENCES)
                )
            role.sign_in_audience = audience
        if fd.has("tags"):
            role.tags = _validate_tags(fd.get("tags"))
        if fd.has("azure_roles"):
            role.azure_roles = _parse_list(
                fd.raw["azure_roles"], "roles", ("role_name", "role_id", "scope")
            )
        if fd.has("azure_groups"):
            role.azure_groups = _parse_list(
                fd.raw["azure_groups"], "groups", ("group_name", "object_id")
            )

    async def _resolve_roles(self, azure: Azure, role: Role) -> None:
        seen: set[tuple[str, str]] = set()
        for item in role.azure_roles or []:
            if item["role_id"]:
                try:
                    definition = await azure.get_role_definition(item["role_id"])
                except AzureError as err:
                    if (
                        err.code == "RoleDefinitionDoesNotExist"
                        or "RoleDefinitionDoesNotExist" in err.message
                    ):
                        raise BadRequest(
                            f"no role found for role_id: '{item['role_id']}'"
                        ) from None
                    raise _lookup_error("unable to lookup Azure role by id", err) from None
            else:
                try:
                    found = await azure.find_role_definitions(item["role_name"])
                except AzureError as err:
                    raise _lookup_error("unable to lookup Azure role by name", err) from None
                if not found:
                    raise BadRequest(f"no role found for role_name: '{item['role_name']}'")
                if len(found) > 1:
                    raise BadRequest(
                        f"multiple matches found for role_name: '{item['role_name']}'. Specify "
                        "role by ID instead."
                    )
                definition = found[0]
            item["role_id"] = str(definition.get("id") or item["role_id"])
            props = definition.get("properties") or {}
            item["role_name"] = str(props.get("roleName") or item["role_name"])
            if not item["scope"]:
                raise BadRequest(f"missing scope for Azure role '{item['role_name']}'")
            key = (item["role_id"].lower(), item["scope"].lower())
            if key in seen:
                raise BadRequest(
                    f"duplicate role_id and scope: '{item['role_id']}', '{item['scope']}'"
                )
            seen.add(key)

    async def _resolve_groups(self, azure: Azure, role: Role) -> None:
        seen: set[str] = set()
        for item in role.azure_groups or []:
            if item["object_id"]:
                try:
                    group = await azure.get_group(item["object_id"])
                except AzureError as err:
                    if "Request_ResourceNotFound" in f"{err.code} {err.message}":
                        raise BadRequest(
                            f"no group found for object_id: '{item['object_id']}'"
                        ) from None
                    raise _lookup_error("unable to lookup Azure group by id", err) from None
            else:
                try:
                    found = await azure.find_groups(item["group_name"])
                except AzureError as err:
                    raise _lookup_error("unable to lookup Azure group by name", err) from None
                if not found:
                    raise BadRequest(f"no group found for group_name: '{item['group_name']}'")
                if len(found) > 1:
                    raise BadRequest(
                        f"multiple matches found for group_name: '{item['group_name']}'. "
                        "Specify group by ObjectID instead."
                    )
                group = found[0]
            item["object_id"] = str(group.get("id") or item["object_id"])
            item["group_name"] = str(group.get("displayName") or item["group_name"])
            if item["object_id"].lower() in seen:
                raise BadRequest(f"duplicate object_id '{item['object_id']}'")
            seen.add(item["object_id"].lower())

    # ------------------------------------------------------------------ persisted apps
    async def _persist(self, azure: Azure, name: str, role: Role) -> list[WalEntry]:
        """Create the role's application (first time) or re-grant its SP; journal records."""
        if not role.managed:
            now = self.clock()
            try:
                built = await build(
                    azure,
                    self.wal,
                    display_name=f"vault-{name}-{int(time.time())}",
                    role=role,
                    now=now,
                    password_end=password_end(now, role.explicit_max_ttl),
                )
            except StepFailed as err:
                raise upstream(err.prefix, err.error) from None
            role.managed_application_object_id = built.app_object_id
            role.application_object_id = built.app_object_id
            role.application_id = built.app_id
            role.sp_object_id = built.sp_id
            role.role_assignment_ids = built.assignment_ids
            role.group_membership_ids = built.group_ids
            return built.entries
        # Later writes: the same SP, granted anew.
        report = Teardown()
        await remove_assignments(azure, role.role_assignment_ids, report)
        await remove_memberships(
            azure, role.sp_object_id, role.group_membership_ids, report, essential=True
        )
        if report.essential:
            raise upstream("error removing the previous grants", report.essential[0])
        role.role_assignment_ids, role.group_membership_ids = [], []
        plan = plan_assignments(role.azure_roles)
        entry = None
        if plan:
            entry = await self.wal.begin(
                ROLE_ASSIGN, sp_id=role.sp_object_id, assignment_ids=[a.id for a in plan]
            )
        group_ids = [g["object_id"] for g in role.azure_groups or []]
        try:
            role.role_assignment_ids = await assign_roles(azure, role.sp_object_id, plan)
            await add_to_groups(azure, role.sp_object_id, group_ids)
        except AzureError as err:
            if entry is not None:
                try:
                    await undo_role_assign(azure, entry.data)
                    await self.wal.commit(entry)
                except AzureError:
                    self.wal.release(entry)
            raise upstream("error granting the persisted application", err) from None
        role.group_membership_ids = group_ids
        return [entry] if entry is not None else []

    # ------------------------------------------------------------------ delete
    async def delete(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name").lower()
        warnings: list[str] = []
        async with self.store.lock("role/" + name):
            role = await self.store.role(name)
            if role is not None and role.managed:
                azure = await self.clients.get()
                report = Teardown()
                await remove_assignments(azure, role.role_assignment_ids, report)
                await remove_memberships(
                    azure, role.sp_object_id, role.group_membership_ids, report, essential=False
                )
                warnings = report.warnings
                try:
                    await azure.delete_application(role.managed_application_object_id)
                except AzureError as err:
                    if not err.not_found:
                        raise internal_error(f"error deleting application: {err}") from None
            await self.store.delete_role(name)
        return Response(warnings=warnings) if warnings else None


def _lookup_error(prefix: str, err: AzureError) -> VaultError:
    """A failed lookup: the root credentials refused is the caller's to fix (400), else 500."""
    if err.auth_failed:
        return BadRequest(f"{prefix}: {err}")
    return internal_error(f"{prefix}: {err}")
