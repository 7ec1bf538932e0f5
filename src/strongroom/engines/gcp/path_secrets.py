"""The secrets: access tokens and leased keys of rolesets and static accounts, impersonated
account CRUD and tokens (§4.5, §4.6, §4.7, §7.3, §7.6, §7.7).

Access tokens are plain data (Google cannot revoke them); service account keys
are leased. A key's journal entry stays until the core has stored its lease
(`on_lease_stored`), so a crash in between leaves an entry the rollback acts
on, never an unleased key.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from strongroom.core.errors import BadRequest, NotFound, UnsupportedOperation
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.durations import human_duration
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .client import CredentialsError, Token, decode_key_data
from .errors import GcpError
from .ops import Ops
from .path_rolesets import NAME
from .store import ACCESS_TOKEN, SERVICE_ACCOUNT_KEY, Account, ImpersonatedAccount, TokenGen
from .wal import WalEntry

S, DUR, LIST = FieldType.STRING, FieldType.DURATION, FieldType.COMMA_STRING_LIST
ROLESET = r"(?P<roleset>\w(?:[\w\-.]*\w)?)"
DEFAULT_IMPERSONATED_TTL = 3600

KEY_FIELDS: dict[str, Field] = {
    "key_algorithm": Field(
        S, "Key algorithm (Google's ServiceAccountKeyAlgorithm).", "KEY_ALG_RSA_2048"
    ),
    "key_type": Field(
        S,
        "Private key type (Google's ServiceAccountPrivateKeyType).",
        "TYPE_GOOGLE_CREDENTIALS_FILE",
    ),
    "ttl": Field(DUR, "Lease TTL of the key (0: config ttl, else the mount default).", 0),
}
IMPERSONATED_FIELDS: dict[str, Field] = {
    "name": Field(S, "Name of the impersonated account."),
    "service_account_email": Field(
        S, "Email of the service account to impersonate. Cannot change."
    ),
    "token_scopes": Field(LIST, "OAuth scopes of the access tokens."),
    "ttl": Field(DUR, "Lifetime of the access tokens (default 1h, at most 12h).", 0),
}


def _reject_create(req: Request, fd: FieldData) -> Any:
    raise UnsupportedOperation()


class Secrets:
    def __init__(self, ops: Ops) -> None:
        self.ops = ops
        self.store = ops.store

    def paths(self) -> list[Path]:
        roleset_fields = {"roleset": Field(S, "Name of the role set.")}
        static_fields = {"name": Field(S, "Name of the static account.")}
        out: list[Path] = []
        for pattern in (f"roleset/{ROLESET}/token", f"token/{ROLESET}"):
            out.append(
                Path(
                    pattern=pattern,
                    fields=roleset_fields,
                    operations={
                        Operation.READ: self.roleset_token,
                        Operation.UPDATE: self.roleset_token,
                        Operation.CREATE: _reject_create,
                    },
                    existence_check=self._roleset_exists,
                    synopsis="Generate an OAuth2 access token under a role set.",
                )
            )
        for pattern in (f"roleset/{ROLESET}/key", f"key/{ROLESET}"):
            out.append(
                Path(
                    pattern=pattern,
                    fields={**roleset_fields, **KEY_FIELDS},
                    operations={
                        Operation.READ: self.roleset_key,
                        Operation.UPDATE: self.roleset_key,
                        Operation.CREATE: _reject_create,
                    },
                    existence_check=self._roleset_exists,
                    synopsis="Generate a leased service account key under a role set.",
                )
            )
        out += [
            Path(
                pattern=f"static-account/{NAME}/token",
                fields=static_fields,
                operations={Operation.READ: self.static_token, Operation.UPDATE: self.static_token},
                synopsis="Generate an OAuth2 access token of a static account.",
            ),
            Path(
                pattern=f"static-account/{NAME}/key",
                fields={**static_fields, **KEY_FIELDS},
                operations={Operation.READ: self.static_key, Operation.UPDATE: self.static_key},
                synopsis="Generate a leased service account key of a static account.",
            ),
            Path(
                pattern="impersonated-accounts/?",
                operations={Operation.LIST: self.list_impersonated},
                synopsis="List the impersonated accounts.",
            ),
            Path(
                pattern="impersonated-account/?",
                operations={Operation.LIST: self.list_impersonated},
                synopsis="List the impersonated accounts.",
            ),
            Path(
                pattern=f"impersonated-account/{NAME}",
                fields=IMPERSONATED_FIELDS,
                operations={
                    Operation.READ: self.read_impersonated,
                    Operation.CREATE: self.write_impersonated,
                    Operation.UPDATE: self.write_impersonated,
                    Operation.DELETE: self.delete_impersonated,
                },
                existence_check=self._impersonated_exists,
                synopsis="Read, write and delete impersonated accounts.",
                description=(
                    "An impersonated account issues access tokens of an existing service "
                    "account through IAM Credentials generateAccessToken; the root identity "
                    "needs roles/iam.serviceAccountTokenCreator on it. No keys, no bindings."
                ),
            ),
            Path(
                pattern=f"impersonated-account/{NAME}/token",
                fields={"name": IMPERSONATED_FIELDS["name"]},
                operations={
                    Operation.READ: self.impersonated_token,
                    Operation.UPDATE: self.impersonated_token,
                },
                synopsis="Generate an OAuth2 access token by impersonating the account.",
            ),
        ]
        return out

    async def _roleset_exists(self, req: Request, fd: FieldData) -> bool:
        return await self.store.roleset(fd.get("roleset")) is not None

    # ------------------------------------------------------------------ access tokens
    async def roleset_token(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("roleset")
        roleset = await self.store.roleset(name)
        if roleset is None:
            raise BadRequest(f"role set '{name}' does not exists")
        if roleset.secret_type != ACCESS_TOKEN:
            raise BadRequest(
                f"role set '{name}' cannot generate access tokens (has secret type "
                f"{roleset.secret_type})"
            )
        return await self._token(
            roleset.token_gen,
            "unable to generate token - make sure your roleset service account and key are "
            "still valid",
        )

    async def static_token(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("name")
        account = await self.store.static(name)
        if account is None:
            raise BadRequest(f'static account "{name}" does not exists')
        if account.secret_type != ACCESS_TOKEN:
            raise BadRequest(
                f'static account "{name}" cannot generate access tokens (has secret type '
                f"{account.secret_type})"
            )
        return await self._token(
            account.token_gen,
            "unable to generate token - make sure your static account service account and key "
            "are still valid",
        )

    async def _token(self, token_gen: TokenGen | None, prefix: str) -> Response:
        if token_gen is None or not token_gen.b64_key_json:
            raise BadRequest("invalid token generator has no service account key")
        try:
            info = decode_key_data(token_gen.b64_key_json)
        except CredentialsError as err:
            raise BadRequest(f"{prefix}: {err}") from None
        ops = self.ops

        async def mint() -> Token:
            return await ops.clients.mint(info, list(token_gen.scopes))

        try:
            # A key Google made moments ago may not sign tokens yet: every error is retried.
            token = await ops.retry(mint, lambda err: isinstance(err, GcpError))
        except (GcpError, CredentialsError) as err:
            raise BadRequest(f"{prefix}: {err}") from None
        return Response(data=_token_data(token))

    # ------------------------------------------------------------------ keys
    async def roleset_key(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("roleset")
        roleset = await self.store.roleset(name)
        if roleset is None:
            raise BadRequest(f'role set "{name}" does not exists')
        if roleset.secret_type != SERVICE_ACCOUNT_KEY:
            raise BadRequest(
                f'role set "{name}" cannot generate service account keys (has secret type '
                f"{roleset.secret_type})"
            )
        internal = {"role_set": name, "role_set_bindings": roleset.bindings_hash}
        return await self._key(roleset, fd, internal)

    async def static_key(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("name")
        account = await self.store.static(name)
        if account is None:
            raise BadRequest(f'static account "{name}" does not exists')
        if account.secret_type != SERVICE_ACCOUNT_KEY:
            raise BadRequest(
                f'static account "{name}" cannot generate service account keys (has secret type '
                f"{account.secret_type})"
            )
        internal = {"static_account": name, "static_account_bindings": account.bindings_hash}
        return await self._key(account, fd, internal)

    async def _key(self, account: Account, fd: FieldData, internal: dict[str, Any]) -> Response:
        ops = self.ops
        api = await ops.root("unable to create service account key")
        async with self.store.lock("keys/" + account.sa_name):
            try:
                key, entry = await ops.journaled_key(
                    api,
                    "lease",
                    account.name,
                    account.sa_name,
                    algorithm=fd.get("key_algorithm"),
                    key_type=fd.get("key_type"),
                    email=account.email,
                )
            except GcpError as err:
                raise BadRequest(f"unable to create service account key: {err}") from None
        try:
            config = await self.store.config()
        except BaseException:
            self.ops.wal.release(entry)  # the rollback deletes the key
            raise
        ttl = fd.get("ttl") or (config.ttl if config else 0)
        return Response(
            data={
                "private_key_data": key.get("privateKeyData", ""),
                "key_algorithm": key.get("keyAlgorithm", ""),
                "key_type": key.get("privateKeyType", ""),
            },
            secret=Secret(
                ttl=ttl,
                renewable=True,
                max_ttl=config.max_ttl if config else 0,
                internal={
                    "secret_type": SERVICE_ACCOUNT_KEY,
                    "key_name": key["name"],
                    **internal,
                },
                on_lease_stored=functools.partial(self._settle, entry),
            ),
        )

    async def _settle(self, entry: WalEntry, lease_stored: bool) -> None:
        if lease_stored:
            await self.ops.wal.commit(entry)
        else:
            self.ops.wal.release(entry)  # the rollback makes sure the key is gone

    # ------------------------------------------------------------------ impersonated accounts
    async def _impersonated_exists(self, req: Request, fd: FieldData) -> bool:
        return await self.store.impersonated(fd.get("name")) is not None

    async def list_impersonated(self, req: Request, fd: FieldData) -> Response:
        names = await self.store.impersonated_names()
        if not names:
            raise NotFound()
        return Response(data={"keys": names})

    async def read_impersonated(self, req: Request, fd: FieldData) -> Response:
        account = await self.store.impersonated(fd.get("name"))
        if account is None:
            raise NotFound()
        return Response(data=account.to_api())

    async def delete_impersonated(self, req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with self.store.lock("impersonated/" + name):
            await self.store.delete_impersonated(name)

    async def write_impersonated(self, req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        ops = self.ops
        async with self.store.lock("impersonated/" + name):
            account = await self.store.impersonated(name)
            creating = account is None
            if account is None:
                email = fd.get("service_account_email") if fd.has("service_account_email") else ""
                if not email:
                    raise BadRequest("email is required")
                account = ImpersonatedAccount(name, email=email)
            elif (
                fd.has("service_account_email") and fd.get("service_account_email") != account.email
            ):
                raise BadRequest("cannot update email")
            if fd.has("token_scopes") or creating:
                scopes = fd.get("token_scopes") if fd.has("token_scopes") else []
                if not scopes:
                    raise BadRequest(
                        "non-empty token_scopes must be provided for generating secrets"
                    )
                account.token_scopes = scopes
            if fd.has("ttl"):
                account.ttl = fd.get("ttl")
            api = await ops.root("unable to verify the service account")
            try:
                found = await ops.find_account(api, account.email)
            except GcpError as err:
                raise BadRequest(f"unable to verify the service account: {err}") from None
            if found is None:
                verb = "create" if creating else "update"
                raise BadRequest(
                    f'unable to {verb} impersonated account, service account "{account.email}" '
                    "should exist"
                )
            account.project = str(found.get("projectId", ""))
            account.email = str(found.get("email", account.email))
            await self.store.put_impersonated(account)
        return None

    async def impersonated_token(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("name")
        ops = self.ops
        account = await self.store.impersonated(name)
        if account is None:
            raise BadRequest(f'impersonated account "{name}" does not exists')
        config = await self.store.config()
        warnings: list[str] = []
        lifetime = account.ttl
        max_ttl = config.max_ttl if config else 0
        if max_ttl and lifetime > max_ttl:
            warnings.append(
                f"impersonated account ttl {human_duration(lifetime)} is greater than the "
                f"configured max_ttl; using {human_duration(max_ttl)}"
            )
            lifetime = max_ttl
        if lifetime == 0:
            lifetime = config.ttl if config else 0
            if lifetime:
                warnings.append(
                    f"impersonated account has no ttl; using the configured ttl of "
                    f"{human_duration(lifetime)}"
                )
        if lifetime == 0:
            lifetime = DEFAULT_IMPERSONATED_TTL
        api = await ops.root("unable to generate token")
        url = api.url(
            "iamcredentials", f"v1/projects/-/serviceAccounts/{account.email}:generateAccessToken"
        )

        async def generate() -> dict[str, Any]:
            return await api.call(
                "iamcredentials.projects.serviceAccounts.generateAccessToken",
                "POST",
                url,
                body={"scope": account.token_scopes, "lifetime": f"{lifetime}s"},
            )

        try:
            found = await ops.retry(
                generate, lambda err: isinstance(err, GcpError) and err.transient
            )
        except GcpError as err:
            raise BadRequest(
                f"unable to generate token - make sure the configured credentials can "
                f"impersonate {account.email} (roles/iam.serviceAccountTokenCreator): {err}"
            ) from None
        expiry = datetime.fromisoformat(str(found["expireTime"]).replace("Z", "+00:00"))
        data = _token_data(Token(str(found["accessToken"]), expiry.astimezone(UTC)))
        return Response(data=data, warnings=warnings)


def _token_data(token: Token) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "token": token.token,
        "token_ttl": max(0, int((token.expiry - now).total_seconds())),
        "expires_at_seconds": int(token.expiry.timestamp()),
    }
