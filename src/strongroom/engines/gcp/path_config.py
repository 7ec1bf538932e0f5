"""config and config/rotate-root (§4.1, §4.2)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .client import CredentialsError, decode_key_data, parse_key_file
from .errors import GcpError, internal_error
from .ops import Ops, shielded
from .store import Config

S, B, DUR = FieldType.STRING, FieldType.BOOL, FieldType.DURATION

CONFIG_FIELDS: dict[str, Field] = {
    "credentials": Field(
        S, "Service account key file (JSON) of the root identity; never returned."
    ),
    "ttl": Field(DUR, "Default lease TTL of service account keys (0: the mount's default).", 0),
    "max_ttl": Field(DUR, "Maximum lease TTL of service account keys (0: the mount's max).", 0),
    "service_account_email": Field(
        S, "Service account for workload identity federation (Enterprise).", ""
    ),
    "identity_token_audience": Field(S, "Audience of the plugin identity token (Enterprise).", ""),
    "identity_token_ttl": Field(DUR, "TTL of the plugin identity token (Enterprise).", 3600),
    "rotation_period": Field(DUR, "Automated root rotation period (Enterprise).", 0),
    "rotation_schedule": Field(S, "Automated root rotation cron schedule (Enterprise).", ""),
    "rotation_window": Field(DUR, "Automated root rotation window (Enterprise).", 0),
    "disable_automated_rotation": Field(B, "Pause automated root rotation (Enterprise).", False),
}

_CE_WIF = "plugin workload identity not supported in Vault community edition"
_CE_ROTATION = "rotation manager capabilities not supported in Vault community edition"


def check_credentials(raw: str) -> dict[str, Any]:
    """The key file as a dict; 400 `invalid credentials JSON file: ...` if unusable."""
    try:
        info = parse_key_file(raw)
    except CredentialsError as err:
        raise BadRequest(str(err)) from None
    private_key = info.get("private_key")
    if private_key is not None:
        try:
            load_pem_private_key(str(private_key).encode(), password=None)
        except (ValueError, TypeError):
            raise BadRequest(
                "invalid credentials JSON file: private_key is not a PEM private key"
            ) from None
    return info


def config_paths(ops: Ops) -> list[Path]:
    lock = asyncio.Lock()
    store, clients = ops.store, ops.clients

    async def read(req: Request, fd: FieldData) -> Response:
        config = await store.config()
        if config is None:
            raise NotFound()
        return Response(data=config.to_api())

    async def write(req: Request, fd: FieldData) -> Response | None:
        if fd.has("credentials") and fd.has("identity_token_audience"):
            raise BadRequest("only one of 'credentials' or 'identity_token_audience' can be set")
        if fd.has("identity_token_audience"):
            if not fd.get("service_account_email"):
                raise BadRequest(
                    "missing required 'service_account_email' when 'identity_token_audience' is set"
                )
            raise BadRequest(_CE_WIF)
        if any(fd.get(n) for n in ("rotation_period", "rotation_schedule", "rotation_window")):
            raise BadRequest(_CE_ROTATION)
        async with lock:
            config = await store.config() or Config()
            if fd.has("credentials"):
                check_credentials(fd.get("credentials"))
                config.credentials = fd.get("credentials")
            for name in ("ttl", "max_ttl", "service_account_email"):
                if fd.has(name):
                    setattr(config, name, fd.get(name))
            await store.put_config(config)
            clients.reset()
        return None

    async def rotate_root(req: Request, fd: FieldData) -> Response:
        async with lock:
            config = await store.config()
            if config is None or not config.credentials:
                raise internal_error(
                    "unable to rotate root credentials: the config/rotate-root endpoint only "
                    "works with user-provided JSON credentials"
                )
            info = parse_key_file(config.credentials)
            email = str(info.get("client_email", ""))
            project = str(info.get("project_id", ""))
            old_id = str(info.get("private_key_id", ""))
            if not email or not old_id:
                raise internal_error(
                    "unable to rotate root credentials: the credentials have no client_email "
                    "or private_key_id"
                )
            try:
                api = await clients.root()
                key, entry = await ops.journaled_key(
                    api,
                    "root",
                    "",
                    f"projects/-/serviceAccounts/{email}",
                    algorithm="KEY_ALG_RSA_2048",
                    email=email,
                )
            except GcpError as err:
                raise internal_error(
                    f"unable to create new key for root credentials: {err}"
                ) from None
            try:
                new_info = decode_key_data(key.get("privateKeyData", ""))
                new_id = str(new_info.get("private_key_id", ""))
                config.credentials = base64.b64decode(key["privateKeyData"]).decode()
                await store.put_config(config)
            except BaseException:
                await shielded(ops.undo(entry))
                await ops.wal.commit(entry)
                raise
            clients.reset()
            await ops.wal.commit(entry)
            old_name = f"projects/{project or '-'}/serviceAccounts/{email}/keys/{old_id}"
            try:
                await ops.delete_key(api, old_name)  # as the old identity: the new key may lag
            except GcpError as err:
                raise internal_error(
                    f"failed to delete old key {old_name} ({err}): the new key is active, "
                    "but the old key still exists"
                ) from None
        return Response(data={"private_key_id": new_id})

    return [
        Path(
            pattern="config",
            fields=CONFIG_FIELDS,
            operations={Operation.READ: read, Operation.UPDATE: write},
            synopsis="Configure the root credentials used to manage Google Cloud identities.",
            description=(
                "credentials: the JSON key file of a service account allowed to create service "
                "accounts and keys and to set IAM policies. It is never returned. ttl and "
                "max_ttl bound the leases of service account keys."
            ),
        ),
        Path(
            pattern="config/rotate-root",
            operations={Operation.UPDATE: rotate_root},
            synopsis="Replace the root key with a new key of the same service account.",
        ),
    ]
