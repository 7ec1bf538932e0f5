"""roleset/<name> CRUD, LIST rolesets, roleset/<name>/rotate and rotate-key (§4.3, §4.4).

A roleset owns one service account, created by the engine and replaced
whenever its bindings change or it is rotated ("new account", §7.1):

    journal  old account (+ its bindings), new account (+ its bindings)
    create   the new account
    wait     until Google shows it, then grant its bindings (etag loop per resource)
    key      a token-generator key (access_token rolesets)
    save     the roleset
    delete   the old account's bindings and the old account (its keys go with it)

If anything before "save" fails, the new account's bindings and the account
are removed before the error is returned (and the journal retries if even
that fails); the old account stays in service.
"""

from __future__ import annotations

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import naming
from .bindings import BindingsError, parse_bindings
from .errors import GcpError
from .ops import Ops, shielded
from .store import (
    ACCESS_TOKEN,
    SECRET_TYPES,
    RoleSet,
    StaticAccount,
    TokenGen,
    bindings_hash,
)
from .wal import ACCOUNT, KEY, WalEntry

NAME = r"(?P<name>\w(?:[\w\-.]*\w)?)"
S, LIST = FieldType.STRING, FieldType.COMMA_STRING_LIST

ROLESET_FIELDS: dict[str, Field] = {
    "name": Field(S, "Name of the role set."),
    "secret_type": Field(
        S,
        "Type of secret: access_token (default) or service_account_key. Cannot change.",
        ACCESS_TOKEN,
    ),
    "project": Field(S, "Project of the role set's service account. Cannot change."),
    "bindings": Field(
        S, "Bindings: resources and the roles to grant on each (HCL or JSON, raw or base64)."
    ),
    "token_scopes": Field(LIST, "OAuth scopes of access tokens (access_token role sets)."),
}
SCOPES_IGNORED = "ignoring token_scopes, only valid for 'access_token' secret type role set"


def parsed_bindings(raw: str) -> dict[str, list[str]]:
    try:
        found = parse_bindings(raw)
    except BindingsError as err:
        raise BadRequest(f"unable to parse bindings: {err}") from None
    if not found:
        raise BadRequest("unable to parse any bindings from given bindings HCL")
    return {res: sorted(roles) for res, roles in found.items()}


class RoleSets:
    def __init__(self, ops: Ops) -> None:
        self.ops = ops
        self.store = ops.store

    def paths(self) -> list[Path]:
        return [
            Path(
                pattern="rolesets/?",
                operations={Operation.LIST: self.list},
                synopsis="List the role sets.",
            ),
            Path(
                pattern="roleset/?",
                operations={Operation.LIST: self.list},
                synopsis="List the role sets.",
            ),
            Path(
                pattern=f"roleset/{NAME}",
                fields=ROLESET_FIELDS,
                operations={
                    Operation.READ: self.read,
                    Operation.CREATE: self.write,
                    Operation.UPDATE: self.write,
                    Operation.DELETE: self.delete,
                },
                existence_check=self.exists,
                synopsis="Read, write and delete role sets.",
                description=(
                    "A role set owns a service account that the engine creates in `project` and "
                    "grants `bindings` to; it issues OAuth2 access tokens or leased service "
                    "account keys (secret_type). Changing the bindings replaces the service "
                    "account, which invalidates every secret issued before."
                ),
            ),
            Path(
                pattern=f"roleset/{NAME}/rotate",
                fields={"name": ROLESET_FIELDS["name"]},
                operations={Operation.UPDATE: self.rotate},
                synopsis="Replace the role set's service account (and its bindings and key).",
            ),
            Path(
                pattern=f"roleset/{NAME}/rotate-key",
                fields={"name": ROLESET_FIELDS["name"]},
                operations={Operation.UPDATE: self.rotate_key},
                synopsis="Replace the key the role set mints access tokens with.",
            ),
        ]

    # ------------------------------------------------------------------ handlers
    async def exists(self, req: Request, fd: FieldData) -> bool:
        return await self.store.roleset(fd.get("name")) is not None

    async def list(self, req: Request, fd: FieldData) -> Response:
        names = await self.store.roleset_names()
        if not names:
            raise NotFound()
        return Response(data={"keys": names})

    async def read(self, req: Request, fd: FieldData) -> Response:
        roleset = await self.store.roleset(fd.get("name"))
        if roleset is None:
            raise NotFound()
        return Response(data=roleset.to_api())

    async def write(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        warnings: list[str] = []
        async with self.store.lock("roleset/" + name):
            old = await self.store.roleset(name)
            secret_type = fd.get("secret_type")
            if secret_type not in SECRET_TYPES:
                raise BadRequest(f'invalid "secret_type" value: "{secret_type}"')
            if old is not None and fd.has("secret_type") and secret_type != old.secret_type:
                raise BadRequest("cannot change secret_type after roleset creation")
            if old is not None:
                secret_type = old.secret_type
            project = old.project if old is not None else ""
            if fd.has("project"):
                given = fd.get("project")
                if not given:
                    raise BadRequest("given empty project")
                if old is not None and given != old.project:
                    raise BadRequest(
                        f"cannot change project for existing role set (old: {old.project}, "
                        f"new: {given})"
                    )
                project = given
            elif old is None:
                raise BadRequest("project argument is required for new role set")
            scopes = old.token_gen.scopes if old is not None and old.token_gen else []
            if fd.has("token_scopes"):
                scopes = fd.get("token_scopes")
                if secret_type != ACCESS_TOKEN:
                    warnings.append(SCOPES_IGNORED)
                    scopes = []
                elif not scopes:
                    raise BadRequest("cannot provide empty token_scopes")
            elif old is None and secret_type == ACCESS_TOKEN:
                raise BadRequest("token_scopes must be provided for creating access token role set")
            raw = old.raw_bindings if old is not None else ""
            if fd.has("bindings"):
                raw = fd.get("bindings")
                if not raw:
                    raise BadRequest("bindings are empty")
            elif old is None:
                raise BadRequest("bindings are required for new role set")

            if old is not None and bindings_hash(raw) == old.bindings_hash:
                # Metadata only: no cloud calls.
                if old.token_gen is not None and scopes:
                    old.token_gen.scopes = scopes
                await self.store.put_roleset(old)
                return Response(warnings=warnings) if warnings else None
            bindings = parsed_bindings(raw)
            warnings += await self.new_account(
                old, name, project, secret_type, raw, bindings, scopes
            )
        return Response(warnings=warnings) if warnings else None

    async def delete(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        async with self.store.lock("roleset/" + name):
            roleset = await self.store.roleset(name)
            if roleset is None:
                return None
            entry = await self.ops.wal.begin(
                ACCOUNT,
                owner=name,
                project=roleset.project,
                email=roleset.email,
                bindings=roleset.bindings,
            )
            await self.store.delete_roleset(name)
            warning = await shielded(self._finish(entry, f"service account {roleset.email}"))
        return Response(warnings=[warning]) if warning else None

    async def rotate(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        async with self.store.lock("roleset/" + name):
            roleset = await self.store.roleset(name)
            if roleset is None:
                raise BadRequest(f"roleset '{name}' not found")
            scopes = roleset.token_gen.scopes if roleset.token_gen else []
            warnings = await self.new_account(
                roleset,
                name,
                roleset.project,
                roleset.secret_type,
                roleset.raw_bindings,
                roleset.bindings,
                scopes,
            )
        return Response(warnings=warnings) if warnings else None

    async def rotate_key(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        async with self.store.lock("roleset/" + name):
            roleset = await self.store.roleset(name)
            if roleset is None:
                raise BadRequest(f"roleset '{name}' not found")
            if roleset.secret_type != ACCESS_TOKEN:
                raise BadRequest("cannot rotate key for non-access-token role set")
            warnings = await replace_token_key(self.ops, "roleset", roleset)
        return Response(warnings=warnings) if warnings else None

    # ------------------------------------------------------------------ new account (§7.1)
    async def new_account(
        self,
        old: RoleSet | None,
        name: str,
        project: str,
        secret_type: str,
        raw: str,
        bindings: dict[str, list[str]],
        scopes: list[str],
    ) -> list[str]:
        ops = self.ops
        api = await ops.root("unable to create service account")
        old_entry = None
        old_email = old.email if old is not None else ""
        if old is not None and old.email:
            old_entry = await ops.wal.begin(
                ACCOUNT, owner=name, project=old.project, email=old.email, bindings=old.bindings
            )
        seconds = int(ops.now())
        if old is not None and old.email.startswith(naming.account_id(name, seconds) + "@"):
            seconds += 1  # a rotation within the second the account was made
        account_id = naming.account_id(name, seconds)
        email = naming.email(account_id, project)
        entry = await ops.wal.begin(
            ACCOUNT, owner=name, project=project, email=email, bindings=bindings
        )
        try:
            for attempt in range(3):
                try:
                    await ops.create_account(api, project, account_id, naming.display_name(name))
                    break
                except GcpError as err:
                    if err.status == 409 and err.code == "ALREADY_EXISTS" and attempt < 2:
                        seconds += 1  # another roleset with the same prefix, this second
                        account_id = naming.account_id(name, seconds)
                        email = naming.email(account_id, project)
                        await ops.wal.update(entry, email=email)
                        continue
                    if 400 <= err.status < 500:
                        entry.data["definite"] = True  # nothing was created
                    raise BadRequest(f"unable to create service account: {err}") from None
            try:
                await ops.bind_new_account(api, project, email, bindings)
            except Exception as err:  # a GcpError, or NotReady after the whole budget
                raise BadRequest(
                    f"error getting service account and creating IAM bindings after creation: {err}"
                ) from None
            token_gen = None
            if secret_type == ACCESS_TOKEN:
                sa_name = f"projects/{project}/serviceAccounts/{email}"
                try:
                    key = await ops.create_key(api, sa_name)
                except GcpError as err:
                    raise BadRequest(f"unable to create key for token generation: {err}") from None
                token_gen = TokenGen(key["name"], key["privateKeyData"], list(scopes))
            await self.store.put_roleset(
                RoleSet(name, secret_type, raw, bindings, project, email, token_gen)
            )
        except BaseException:
            await shielded(self._abandon(entry, old_entry))
            raise
        await ops.wal.commit(entry)
        if old_entry is None:
            return []
        warning = await shielded(self._finish(old_entry, f"old service account {old_email}"))
        return [warning] if warning else []

    async def _abandon(self, entry: WalEntry, old_entry: WalEntry | None) -> None:
        """The new account did not make it: remove what was built; the old one stays."""
        ops = self.ops
        if old_entry is not None:
            await ops.wal.commit(old_entry)
        if entry.data.get("definite"):
            await ops.wal.commit(entry)
            return
        await self._finish(entry, "the new service account")

    async def _finish(self, entry: WalEntry, what: str) -> str:
        """Undo a journal entry now; on failure keep it for the rollback and say so."""
        return await finish(self.ops, entry, what)


async def finish(ops: Ops, entry: WalEntry, what: str) -> str:
    """Undo a journal entry now; on failure keep it for the rollback and return a warning."""
    try:
        await ops.undo(entry)
    except Exception as err:
        ops.wal.release(entry)
        return f"unable to clean up {what} ({err}); strongroom will keep trying in the background"
    await ops.wal.commit(entry)
    return ""


async def replace_token_key(ops: Ops, kind: str, account: RoleSet | StaticAccount) -> list[str]:
    """rotate-key (§7.2): a new token-generator key, saved, then the old one deleted."""
    api = await ops.root("unable to rotate key")
    old_name = account.token_gen.key_name if account.token_gen else ""
    old_entry = None
    if old_name:
        old_entry = await ops.wal.begin(
            KEY, owner_kind=kind, owner=account.name, sa=account.sa_name, key_name=old_name
        )
    try:
        key, entry = await ops.journaled_key(
            api, kind, account.name, account.sa_name, email=account.email
        )
    except GcpError as err:
        if old_entry is not None:
            await ops.wal.commit(old_entry)
        raise BadRequest(f"unable to create new key: {err}") from None
    scopes = account.token_gen.scopes if account.token_gen else []
    account.token_gen = TokenGen(key["name"], key["privateKeyData"], list(scopes))
    try:
        if isinstance(account, RoleSet):
            await ops.store.put_roleset(account)
        else:
            await ops.store.put_static(account)
    except BaseException:
        await shielded(ops.undo(entry))
        await ops.wal.commit(entry)
        if old_entry is not None:
            await ops.wal.commit(old_entry)
        raise
    await ops.wal.commit(entry)
    if old_entry is None:
        return []
    warning = await shielded(finish(ops, old_entry, f"old key {old_name}"))
    return [warning] if warning else []
