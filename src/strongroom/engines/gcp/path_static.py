"""static-account/<name> CRUD, LIST, rotate-key (§4.6, §7.5).

A static account is a service account someone else made; the engine never
creates or deletes it. It manages only the bindings listed here (adding and
removing the difference on update) and, for access tokens, one key of its own.
"""

from __future__ import annotations

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import iam
from .errors import GcpError
from .ops import Ops, shielded
from .path_rolesets import NAME, finish, parsed_bindings, replace_token_key
from .store import ACCESS_TOKEN, SECRET_TYPES, StaticAccount, TokenGen, bindings_hash
from .wal import BINDINGS, KEY, WalEntry

S, LIST = FieldType.STRING, FieldType.COMMA_STRING_LIST

STATIC_FIELDS: dict[str, Field] = {
    "name": Field(S, "Name of the static account."),
    "secret_type": Field(
        S,
        "Type of secret: access_token (default) or service_account_key. Cannot change.",
        ACCESS_TOKEN,
    ),
    "service_account_email": Field(S, "Email of the existing service account. Cannot change."),
    "bindings": Field(S, "Bindings to manage for the account (HCL or JSON, raw or base64)."),
    "token_scopes": Field(LIST, "OAuth scopes of access tokens (access_token accounts)."),
}
SCOPES_IGNORED = "ignoring token_scopes, only valid for 'access_token' secret type static account"


def _diff(new: dict[str, list[str]], old: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for resource, roles in new.items():
        extra = sorted(set(roles) - set(old.get(resource, [])))
        if extra:
            out[resource] = extra
    return out


class StaticAccounts:
    def __init__(self, ops: Ops) -> None:
        self.ops = ops
        self.store = ops.store

    def paths(self) -> list[Path]:
        return [
            Path(
                pattern="static-accounts/?",
                operations={Operation.LIST: self.list},
                synopsis="List the static accounts.",
            ),
            Path(
                pattern="static-account/?",
                operations={Operation.LIST: self.list},
                synopsis="List the static accounts.",
            ),
            Path(
                pattern=f"static-account/{NAME}",
                fields=STATIC_FIELDS,
                operations={
                    Operation.READ: self.read,
                    Operation.CREATE: self.write,
                    Operation.UPDATE: self.write,
                    Operation.DELETE: self.delete,
                },
                existence_check=self.exists,
                synopsis="Read, write and delete static accounts.",
                description=(
                    "A static account issues secrets of an existing service account. The "
                    "engine manages only the bindings given here and, for access_token "
                    "accounts, one key; deleting the static account never deletes the "
                    "service account."
                ),
            ),
            Path(
                pattern=f"static-account/{NAME}/rotate-key",
                fields={"name": STATIC_FIELDS["name"]},
                operations={Operation.UPDATE: self.rotate_key},
                synopsis="Replace the key the static account mints access tokens with.",
            ),
        ]

    async def exists(self, req: Request, fd: FieldData) -> bool:
        return await self.store.static(fd.get("name")) is not None

    async def list(self, req: Request, fd: FieldData) -> Response:
        names = await self.store.static_names()
        if not names:
            raise NotFound()
        return Response(data={"keys": names})

    async def read(self, req: Request, fd: FieldData) -> Response:
        account = await self.store.static(fd.get("name"))
        if account is None:
            raise NotFound()
        return Response(data=account.to_api())

    async def write(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        async with self.store.lock("static/" + name):
            old = await self.store.static(name)
            warnings = await (self._create(name, fd) if old is None else self._update(old, fd))
        return Response(warnings=warnings) if warnings else None

    async def _create(self, name: str, fd: FieldData) -> list[str]:
        ops = self.ops
        warnings: list[str] = []
        secret_type = fd.get("secret_type")
        if secret_type not in SECRET_TYPES:
            raise BadRequest(f'invalid secret_type "{secret_type}"')
        email = fd.get("service_account_email") if fd.has("service_account_email") else ""
        if not email:
            raise BadRequest("email is required")
        scopes: list[str] = []
        if secret_type == ACCESS_TOKEN:
            scopes = fd.get("token_scopes") if fd.has("token_scopes") else []
            if not scopes:
                raise BadRequest(
                    "non-empty token_scopes must be provided for generating access_token secrets"
                )
        elif fd.has("token_scopes"):
            warnings.append(SCOPES_IGNORED)
        raw = fd.get("bindings") if fd.has("bindings") else ""
        bindings = parsed_bindings(raw) if raw else {}
        api = await ops.root("unable to create static account")
        try:
            found = await ops.find_account(api, email)
        except GcpError as err:
            raise BadRequest(f"unable to create static account: {err}") from None
        if found is None:
            raise BadRequest(
                f'unable to create static account, service account "{email}" should exist'
            )
        account = StaticAccount(
            name,
            secret_type,
            raw,
            bindings,
            str(found.get("projectId", "")),
            str(found.get("email", email)),
            None,
            token_scopes=scopes,
        )
        entries: list[WalEntry] = []
        try:
            if bindings:
                entries.append(
                    await ops.wal.begin(
                        BINDINGS,
                        owner_kind="static",
                        owner=name,
                        email=account.email,
                        added=bindings,
                        removed={},
                    )
                )
                try:
                    await ops.add_bindings(api, account.email, bindings)
                except GcpError as err:
                    raise BadRequest(f"unable to set IAM policy bindings: {err}") from None
            if secret_type == ACCESS_TOKEN:
                try:
                    key, entry = await ops.journaled_key(
                        api, "static", name, account.sa_name, email=account.email
                    )
                except GcpError as err:
                    raise BadRequest(f"unable to create key for token generation: {err}") from None
                entries.append(entry)
                account.token_gen = TokenGen(key["name"], key["privateKeyData"], scopes)
            await self.store.put_static(account)
        except BaseException:
            for entry in reversed(entries):
                await shielded(finish(ops, entry, "what was set up for the static account"))
            raise
        for entry in entries:
            await ops.wal.commit(entry)
        return warnings

    async def _update(self, account: StaticAccount, fd: FieldData) -> list[str]:
        ops = self.ops
        warnings: list[str] = []
        if fd.has("secret_type") and fd.get("secret_type") != account.secret_type:
            raise BadRequest("cannot update secret_type")
        if fd.has("service_account_email") and fd.get("service_account_email") != account.email:
            raise BadRequest("cannot update email")
        api = await ops.root("unable to update")
        try:
            found = await ops.find_account(api, account.email)
        except GcpError as err:
            raise BadRequest(f"unable to update: {err}") from None
        if found is None:
            raise BadRequest(f'unable to update: service account "{account.email}" does not exist')
        changed = False
        if fd.has("token_scopes"):
            scopes = fd.get("token_scopes")
            if account.secret_type != ACCESS_TOKEN:
                warnings.append(SCOPES_IGNORED)
            elif not scopes:
                raise BadRequest(
                    "non-empty token_scopes must be provided for generating access_token secrets"
                )
            elif scopes != account.token_scopes:
                account.token_scopes = scopes
                if account.token_gen is not None:
                    account.token_gen.scopes = scopes
                changed = True
        if fd.has("bindings"):
            raw = fd.get("bindings")
            if bindings_hash(raw) != account.bindings_hash:
                new = parsed_bindings(raw) if raw else {}
                added, removed = _diff(new, account.bindings), _diff(account.bindings, new)
                entry = await ops.wal.begin(
                    BINDINGS,
                    owner_kind="static",
                    owner=account.name,
                    email=account.email,
                    added=added,
                    removed=removed,
                )
                try:
                    try:
                        await ops.add_bindings(api, account.email, added)
                        await iam.remove_all(api, account.email, removed)
                    except GcpError as err:
                        raise BadRequest(f"unable to update IAM policy bindings: {err}") from None
                    account.raw_bindings, account.bindings = raw, new
                    await self.store.put_static(account)
                except BaseException:
                    await shielded(finish(ops, entry, "the bindings change"))
                    raise
                await ops.wal.commit(entry)
                changed = False
        if changed:
            await self.store.put_static(account)
        return warnings

    async def delete(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        ops = self.ops
        async with self.store.lock("static/" + name):
            account = await self.store.static(name)
            if account is None:
                return None
            entries: list[tuple[WalEntry, str]] = []
            if account.token_gen is not None:
                entry = await ops.wal.begin(
                    KEY,
                    owner_kind="static",
                    owner=name,
                    sa=account.sa_name,
                    key_name=account.token_gen.key_name,
                )
                entries.append((entry, f"key {account.token_gen.key_name}"))
            if account.bindings:
                entry = await ops.wal.begin(
                    BINDINGS,
                    owner_kind="static",
                    owner=name,
                    email=account.email,
                    added=account.bindings,
                    removed={},
                )
                entries.append((entry, f"bindings of {account.email}"))
            await self.store.delete_static(name)
            warnings = [await shielded(finish(ops, e, what)) for e, what in entries]
        warnings = [w for w in warnings if w]
        return Response(warnings=warnings) if warnings else None

    async def rotate_key(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        async with self.store.lock("static/" + name):
            account = await self.store.static(name)
            if account is None:
                raise BadRequest(f"account '{name}' not found")
            if account.secret_type != ACCESS_TOKEN:
                raise BadRequest("cannot rotate key for non-access-token static account")
            warnings = await replace_token_key(self.ops, "static", account)
        return Response(warnings=warnings) if warnings else None
