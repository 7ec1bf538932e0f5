"""config and rotate-root (spec §4.1, §4.2).

rotate-root adds a new password to the root application and keeps it as
*pending*: Entra ID takes a while to accept a new secret everywhere, so the
engine goes on with the old one. `RootRotation.promote_due()` (run by the
backend's background task) switches to the new secret once it is
`STRONGROOM_AZURE_ROOT_ROTATION_DELAY` seconds old (default 60) and removes
every other password of the root application.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from strongroom.core.errors import BadRequest
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .client import AzureClients
from .errors import AzureError, internal_error
from .identity import rfc3339
from .settings import UnknownEnvironment, cloud_for, rotation_delay
from .store import DEFAULT_ROOT_PASSWORD_TTL, Config, Store
from .wal import ROTATE_ROOT, Wal

log = logging.getLogger("strongroom.azure")

S, INT, B, DUR = FieldType.STRING, FieldType.INT, FieldType.BOOL, FieldType.DURATION

CONFIG_FIELDS: dict[str, Field] = {
    "subscription_id": Field(S, "The subscription ID for the Azure Active Directory."),
    "tenant_id": Field(S, "The tenant ID for the Azure Active Directory."),
    "client_id": Field(S, "The OAuth2 client ID of the application the engine acts as."),
    "client_secret": Field(S, "The OAuth2 client secret (never returned)."),
    "environment": Field(
        S,
        "The Azure cloud: AzurePublicCloud (default), AzureUSGovernmentCloud or AzureChinaCloud.",
    ),
    "root_password_ttl": Field(
        DUR, "Lifetime of the secret rotate-root creates (default 4380h, about 6 months)."
    ),
    "identity_token_audience": Field(S, "Audience of the plugin identity token (Enterprise)."),
    "identity_token_ttl": Field(DUR, "TTL of the plugin identity token (Enterprise)."),
    "rotation_period": Field(DUR, "Automated root rotation period (Enterprise)."),
    "rotation_schedule": Field(S, "Automated root rotation cron schedule (Enterprise)."),
    "rotation_window": Field(DUR, "Automated root rotation window (Enterprise)."),
    "disable_automated_rotation": Field(B, "Pause automated root rotation (Enterprise)."),
}

_CE_WIF = "plugin workload identity not supported in Vault community edition"
_CE_ROTATION = "rotation manager capabilities not supported in Vault community edition"
# Passwords named this way are rotate-root's; others on the root app are left to the operator.
ROOT_PASSWORD_PREFIX = "vault-"


class RootRotation:
    """rotate-root's two halves: add a pending secret now, promote it once it has propagated."""

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
        self.lock = asyncio.Lock()  # config writes, rotation and promotion
        self.wakeup = asyncio.Event()

    async def rotate(self) -> None:
        async with self.lock:
            config = await self.store.config()
            if config is None:
                raise internal_error("config is nil")
            azure = await self.clients.get()
            app_object_id = await self._root_app(azure.settings.client_id)
            now = self.clock()
            display = f"{ROOT_PASSWORD_PREFIX}{uuid.uuid4()}"
            end = now + timedelta(seconds=config.root_password_ttl or DEFAULT_ROOT_PASSWORD_TTL)
            entry = await self.wal.begin(
                ROTATE_ROOT, app_object_id=app_object_id, display_name=display
            )
            try:
                created = await azure.add_app_password(app_object_id, display, rfc3339(end))
            except AzureError as err:
                if 400 <= err.status < 500:
                    await self.wal.commit(entry)
                else:
                    self.wal.release(entry)
                raise internal_error(f"failed to add new password: {err}") from None
            config.new_client_secret = str(created.get("secretText") or "")
            config.new_client_secret_key_id = str(created.get("keyId") or "")
            config.new_client_secret_expiration_date = str(
                created.get("endDateTime") or rfc3339(end)
            )
            config.new_client_secret_created = now.timestamp()
            try:
                await self.store.put_config(config)
            except BaseException:
                try:
                    await azure.remove_app_password(app_object_id, config.new_client_secret_key_id)
                    await self.wal.commit(entry)
                except Exception:
                    self.wal.release(entry)
                raise
            await self.wal.commit(entry)
        self.wakeup.set()

    async def _root_app(self, client_id: str) -> str:
        azure = await self.clients.get()
        try:
            apps = await azure.find_applications("appId", client_id)
        except AzureError as err:
            raise internal_error(f"error loading the root application: {err}") from None
        if not apps:
            raise internal_error("no application found")
        if len(apps) > 1:
            raise internal_error("multiple applications found - double check your client_id")
        return str(apps[0]["id"])

    async def promote_due(self) -> float:
        """Promote a pending secret old enough; seconds until it is worth looking again."""
        async with self.lock:
            config = await self.store.config()
            if config is None or not config.rotation_pending:
                return 60.0
            age = self.clock().timestamp() - config.new_client_secret_created
            wait = rotation_delay() - age
            if wait > 0:
                return min(wait, 60.0)
            azure = await self.clients.get()
            app_object_id = await self._root_app(azure.settings.client_id)
            app = await azure.get_application(app_object_id)
            for password in app.get("passwordCredentials") or []:
                key_id = str(password.get("keyId") or "")
                if not key_id or key_id == config.new_client_secret_key_id:
                    continue
                try:
                    await azure.remove_app_password(app_object_id, key_id)
                except AzureError as err:
                    if "no password credential found with keyid" not in err.message.lower():
                        raise
            config.client_secret = config.new_client_secret
            config.client_secret_key_id = config.new_client_secret_key_id
            config.root_password_expiration_date = config.new_client_secret_expiration_date
            config.clear_pending()
            await self.store.put_config(config)
            self.clients.reset()
            log.info("azure: the rotated root secret is now in use; the old ones are removed")
            return 60.0

    async def run(self) -> None:
        """The background task: promote pending secrets when due (also after a restart)."""
        while True:
            try:
                wait = await self.promote_due()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("azure: promoting the rotated root secret failed, will retry: %s", err)
                wait = 10.0
            self.wakeup.clear()
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=max(0.05, wait))
            except TimeoutError:
                pass

    async def undo(self, data: dict[str, str]) -> None:
        """Journal rollback: remove a rotate-root password that never made it into the config."""
        config = await self.store.config()
        keep = {config.client_secret_key_id, config.new_client_secret_key_id} if config else set()
        azure = await self.clients.get()
        app = await azure.get_application(str(data["app_object_id"]))
        for password in app.get("passwordCredentials") or []:
            key_id = str(password.get("keyId") or "")
            if password.get("displayName") == data.get("display_name") and key_id not in keep:
                await azure.remove_app_password(str(data["app_object_id"]), key_id)


def config_paths(store: Store, clients: AzureClients, rotation: RootRotation) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.config() is not None

    async def read(req: Request, fd: FieldData) -> Response:
        config = await store.config() or Config(root_password_ttl=0)
        return Response(data=config.to_api())

    async def write(req: Request, fd: FieldData) -> Response | None:
        async with rotation.lock:
            existing = await store.config()
            config = existing or Config()
            for name in ("subscription_id", "tenant_id", "client_id", "client_secret"):
                if fd.has(name):
                    setattr(config, name, fd.get(name))
            if fd.has("environment"):
                environment = fd.get("environment")
                if environment:
                    try:
                        cloud_for(environment)
                    except UnknownEnvironment as err:
                        raise BadRequest(f"err: {err}") from None
                config.environment = environment
            if fd.has("root_password_ttl"):
                config.root_password_ttl = fd.get("root_password_ttl")
            elif existing is None:
                config.root_password_ttl = DEFAULT_ROOT_PASSWORD_TTL
            for name in (
                "identity_token_audience",
                "identity_token_ttl",
                "rotation_period",
                "rotation_schedule",
                "rotation_window",
                "disable_automated_rotation",
            ):
                if fd.has(name):
                    setattr(config, name, fd.get(name))
            if config.client_secret and config.identity_token_audience:
                raise BadRequest(
                    "only one of 'client_secret' or 'identity_token_audience' can be set"
                )
            if config.identity_token_audience:
                raise BadRequest(_CE_WIF)
            if config.rotation_schedule and config.rotation_period:
                raise BadRequest(
                    "mutually exclusive fields rotation_schedule and rotation_period were both "
                    "specified"
                )
            if config.rotation_schedule or config.rotation_period or config.rotation_window:
                raise BadRequest(_CE_ROTATION)
            if config.root_password_ttl < 0:
                raise BadRequest("root_password_ttl must be a positive duration")
            await store.put_config(config)
            clients.reset()
        return None

    async def delete(req: Request, fd: FieldData) -> None:
        async with rotation.lock:
            await store.delete_config()
            clients.reset()

    async def rotate_root(req: Request, fd: FieldData) -> None:
        await rotation.rotate()

    return [
        Path(
            pattern="config",
            fields=CONFIG_FIELDS,
            operations={
                Operation.READ: read,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Configure the Azure credentials the engine manages identities with.",
            description=(
                "The subscription, tenant, and the client ID and secret of an Entra ID "
                "application allowed to manage applications, service principals, group "
                "members and role assignments. The client secret is never returned. The "
                "endpoints come from `environment`; a server may override them with "
                "STRONGROOM_AZURE_*_ENDPOINT settings."
            ),
        ),
        Path(
            pattern="rotate-root",
            operations={Operation.UPDATE: rotate_root},
            synopsis="Replace the root client secret with one only the engine knows.",
            description=(
                "A new password is added to the root application at once and used once it "
                "has propagated (about a minute); then the application's other passwords "
                "are removed."
            ),
        ),
    ]
