"""Secret IDs of a role: generate, custom, list, lookup, destroy (by value or accessor), tidy."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from strongroom.auth.cidrs import go_quoted_cidrs, is_subset, parse_cidrs
from strongroom.auth.token_fields import non_negative_duration
from strongroom.core.errors import BadRequest, NotFound, VaultError
from strongroom.core.request import Operation, Request, Response
from strongroom.core.timefmt import rfc3339
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .path_role import NAME, ROLE_NAME, internal, role_missing
from .store import AppRoleStore, RoleEntry, SecretIDEntry

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's time.Time{} as Vault prints a missing expiry
TIDY_WARNING = (
    "Tidy operation successfully started. Any information from the operation will be "
    "printed to OpenBao's server logs."
)
BAD_METADATA = "failed to parse metadata: failed to parse the input: invalid <key,value> format"


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def show_time(us: int) -> str:
    return rfc3339(EPOCH + timedelta(microseconds=us)) if us else ZERO_TIME


def secret_info(entry: SecretIDEntry) -> dict[str, Any]:
    """What lookups return about a secret ID (never the secret ID itself)."""
    return {
        "cidr_list": list(entry.cidr_list),
        "creation_time": show_time(entry.creation_time),
        "expiration_time": show_time(entry.expiration_time),
        "last_updated_time": show_time(entry.last_updated_time),
        "metadata": dict(entry.metadata),
        "secret_id_accessor": entry.accessor,
        "secret_id_num_uses": entry.num_uses,
        "secret_id_ttl": entry.ttl,
        "token_bound_cidrs": list(entry.token_bound_cidrs),
    }


def parse_metadata(raw: Any) -> dict[str, str]:
    """`metadata` is a JSON string of a string map (a JSON object is accepted too)."""
    if raw is None or raw == "":
        return {}
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            raise BadRequest(BAD_METADATA) from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(BAD_METADATA)
    return {str(k): v for k, v in value.items()}


def _subset_error(role_cidrs: list[str], secret_cidrs: list[str]) -> VaultError:
    return internal(
        "failed to verify subset relationship between CIDR blocks on the role "
        f"{go_quoted_cidrs(role_cidrs)} and CIDR blocks on the secret ID "
        f"{go_quoted_cidrs(secret_cidrs)}: %!w(<nil>)"
    )


def _accessor_missing(accessor: str) -> str:
    return f'failed to find accessor entry for secret_id_accessor: "{accessor}"'


def secret_id_paths(
    store: AppRoleStore, lock: asyncio.Lock, clock: Callable[[], datetime]
) -> list[Path]:
    def now_us() -> int:
        return micros(clock())

    async def role_or(name: str, error: Callable[[str], Exception]) -> RoleEntry:
        role = await store.get_role(name)
        if role is None:
            raise error(role_missing(name))
        return role

    async def live(role: RoleEntry, hashed: str | None) -> SecretIDEntry | None:
        """The stored secret ID, or None; an expired one is deleted on the way."""
        if hashed is None:
            return None
        entry = await store.get_secret(role.name, hashed)
        if entry is not None and entry.expired(now_us()):
            await store.delete_secret(entry)
            return None
        return entry

    async def create(role_name: str, fd: FieldData, secret_id: str) -> Response:
        role = await role_or(role_name, lambda m: VaultError(m, status=404))
        if not role.bind_secret_id:
            raise BadRequest("bind_secret_id is not set on the role")
        metadata = parse_metadata(fd.raw.get("metadata"))
        cidr_list = parse_cidrs(fd.get("cidr_list"))
        if (
            cidr_list
            and role.secret_id_bound_cidrs
            and not is_subset(role.secret_id_bound_cidrs, cidr_list)
        ):
            raise _subset_error(role.secret_id_bound_cidrs, cidr_list)
        token_cidrs = parse_cidrs(fd.get("token_bound_cidrs"), "token CIDR blocks")
        if (
            token_cidrs
            and role.token.token_bound_cidrs
            and not is_subset(role.token.token_bound_cidrs, token_cidrs)
        ):
            raise _subset_error(role.token.token_bound_cidrs, token_cidrs)
        num_uses = role.secret_id_num_uses
        if fd.has("num_uses"):
            num_uses = int(fd.get("num_uses"))
            if num_uses < 0:
                raise BadRequest("num_uses cannot be negative")
            if role.secret_id_num_uses > 0 and (
                num_uses == 0 or num_uses > role.secret_id_num_uses
            ):
                raise BadRequest("num_uses cannot be higher than the role's secret_id_num_uses")
        ttl = role.secret_id_ttl
        if fd.has("ttl"):
            ttl = non_negative_duration(fd, "ttl", prefix="Field validation failed: ")
            if role.secret_id_ttl > 0 and (ttl == 0 or ttl > role.secret_id_ttl):
                raise BadRequest("ttl cannot be longer than the role's secret_id_ttl")
        hashed = store.hmac(secret_id)
        async with lock:
            if await live(role, hashed) is not None:
                raise internal("failed to store secret_id: SecretID is already registered")
            accessor = str(uuid.uuid4())
            while await store.secret_hash_for_accessor(role.name, accessor) is not None:
                accessor = str(uuid.uuid4())
            now = now_us()
            entry = SecretIDEntry(
                secret_id_hmac=hashed,
                accessor=accessor,
                role=role.name,
                metadata=metadata,
                cidr_list=cidr_list,
                token_bound_cidrs=token_cidrs,
                num_uses=num_uses,
                ttl=ttl,
                creation_time=now,
                expiration_time=now + ttl * 1_000_000 if ttl else 0,
                last_updated_time=now,
            )
            await store.put_secret(entry)
        return Response(
            data={
                "secret_id": secret_id,
                "secret_id_accessor": accessor,
                "secret_id_num_uses": num_uses,
                "secret_id_ttl": ttl,
            }
        )

    async def generate(req: Request, fd: FieldData) -> Response | None:
        return await create(fd.get("role_name"), fd, str(uuid.uuid4()))

    async def custom(req: Request, fd: FieldData) -> Response | None:
        secret_id = fd.get("secret_id") or ""
        if not secret_id:
            raise BadRequest("missing secret_id")
        return await create(fd.get("role_name"), fd, secret_id)

    async def list_accessors(req: Request, fd: FieldData) -> Response | None:
        role = await role_or(fd.get("role_name"), BadRequest)
        keys = await store.list_accessors(role.name)
        if not keys:
            raise NotFound()
        return Response(data={"keys": keys})

    async def lookup(req: Request, fd: FieldData) -> Response | None:
        secret_id = fd.get("secret_id") or ""
        if not secret_id:
            raise BadRequest("missing secret_id")
        role = await role_or(fd.get("role_name"), internal)
        async with lock:
            entry = await live(role, store.hmac(secret_id))
        return Response(data=secret_info(entry)) if entry is not None else None

    async def destroy(req: Request, fd: FieldData) -> Response | None:
        secret_id = fd.get("secret_id") or ""
        if not secret_id:
            raise BadRequest("missing secret_id")
        role = await role_or(fd.get("role_name"), internal)
        async with lock:
            entry = await store.get_secret(role.name, store.hmac(secret_id))
            if entry is not None:
                await store.delete_secret(entry)
        return None

    def accessor_of(fd: FieldData) -> str:
        accessor = fd.get("secret_id_accessor") or ""
        if not accessor:
            raise BadRequest("missing secret_id_accessor")
        return accessor

    async def lookup_accessor(req: Request, fd: FieldData) -> Response | None:
        accessor = accessor_of(fd)
        role = await role_or(fd.get("role_name"), internal)
        async with lock:
            entry = await live(role, await store.secret_hash_for_accessor(role.name, accessor))
        if entry is None:
            return Response(data={"error": _accessor_missing(accessor)}, status=404)
        return Response(data=secret_info(entry))

    async def destroy_accessor(req: Request, fd: FieldData) -> Response | None:
        accessor = accessor_of(fd)
        role = await role_or(fd.get("role_name"), internal)
        async with lock:
            hashed = await store.secret_hash_for_accessor(role.name, accessor)
            entry = await store.get_secret(role.name, hashed) if hashed else None
            if entry is None:
                raise internal(_accessor_missing(accessor))
            await store.delete_secret(entry)
        return None

    async def tidy(req: Request, fd: FieldData) -> Response | None:
        now = now_us()
        for name in await store.list_roles():
            role = await store.get_role(name)
            if role is None:
                continue
            for accessor in await store.list_accessors(role.name):
                async with lock:
                    hashed = await store.secret_hash_for_accessor(role.name, accessor)
                    entry = await store.get_secret(role.name, hashed) if hashed else None
                    if entry is None:
                        await store.delete_accessor(role.name, accessor)
                    elif entry.expired(now):
                        await store.delete_secret(entry)
        return Response(warnings=[TIDY_WARNING], status=202)

    create_fields = {
        "role_name": ROLE_NAME,
        "metadata": Field(
            FieldType.RAW, "Key/value metadata for the secret ID, as a JSON string of a map."
        ),
        "cidr_list": Field(
            FieldType.COMMA_STRING_LIST, "CIDR blocks allowed to log in with the secret ID."
        ),
        "token_bound_cidrs": Field(
            FieldType.COMMA_STRING_LIST, "CIDR blocks bound to tokens from the secret ID."
        ),
        "num_uses": Field(FieldType.INT, "Logins allowed (default: the role's)."),
        "ttl": Field(FieldType.DURATION, "Lifetime (default: the role's secret_id_ttl)."),
    }
    secret_field = {"secret_id": Field(FieldType.STRING, "The secret ID.")}
    accessor_field = {
        "secret_id_accessor": Field(FieldType.STRING, "The accessor of the secret ID.")
    }
    role_only = {"role_name": ROLE_NAME}
    return [
        Path(
            pattern=rf"role/(?P<role_name>{NAME})/secret-id/?",
            fields=create_fields,
            operations={Operation.UPDATE: generate, Operation.LIST: list_accessors},
            synopsis="Generate a secret ID for the role, or list their accessors.",
        ),
        Path(
            pattern=rf"role/(?P<role_name>{NAME})/custom-secret-id",
            fields={**create_fields, **secret_field},
            operations={Operation.UPDATE: custom},
            synopsis="Register a secret ID of the caller's choosing.",
        ),
        Path(
            pattern=rf"role/(?P<role_name>{NAME})/secret-id/lookup/?",
            fields={**role_only, **secret_field},
            operations={Operation.UPDATE: lookup},
            synopsis="Read the properties of a secret ID.",
        ),
        Path(
            pattern=rf"role/(?P<role_name>{NAME})/secret-id/destroy/?",
            fields={**role_only, **secret_field},
            operations={Operation.UPDATE: destroy, Operation.DELETE: destroy},
            synopsis="Invalidate a secret ID.",
        ),
        Path(
            pattern=rf"role/(?P<role_name>{NAME})/secret-id-accessor/lookup/?",
            fields={**role_only, **accessor_field},
            operations={Operation.UPDATE: lookup_accessor},
            synopsis="Read the properties of a secret ID by its accessor.",
        ),
        Path(
            pattern=rf"role/(?P<role_name>{NAME})/secret-id-accessor/destroy/?",
            fields={**role_only, **accessor_field},
            operations={Operation.UPDATE: destroy_accessor, Operation.DELETE: destroy_accessor},
            synopsis="Invalidate a secret ID by its accessor.",
        ),
        Path(
            pattern=r"tidy/secret-id",
            operations={Operation.UPDATE: tidy},
            synopsis="Delete expired secret IDs.",
        ),
    ]
