"""config/root, config/lease and config/rotate-root (§3.1 to §3.3)."""

from __future__ import annotations

import asyncio
from typing import Any

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.durations import DurationError, go_duration, parse_duration
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .client import AwsClients
from .errors import AwsError, internal_error
from .store import LeaseConfig, RootConfig, Store
from .username import DEFAULT_USERNAME_TEMPLATE

S, INT, B, DUR, LIST = (
    FieldType.STRING,
    FieldType.INT,
    FieldType.BOOL,
    FieldType.DURATION,
    FieldType.COMMA_STRING_LIST,
)

ROOT_FIELDS: dict[str, Field] = {
    "access_key": Field(S, "Access key with permission to create new keys.", ""),
    "secret_key": Field(S, "Secret key with permission to create new keys (never returned).", ""),
    "region": Field(
        S, "Region for API calls (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1).", ""
    ),
    "iam_endpoint": Field(S, "Endpoint to use for IAM API calls.", ""),
    "sts_endpoint": Field(S, "Endpoint to use for STS API calls.", ""),
    "sts_region": Field(S, "Signing region for STS; only used when sts_endpoint is set.", ""),
    "sts_fallback_endpoints": Field(LIST, "STS endpoints tried in order after sts_endpoint.", []),
    "sts_fallback_regions": Field(
        LIST, "Regions of the fallback endpoints, in the same order.", []
    ),
    "max_retries": Field(INT, "Maximum retries for recoverable errors (-1: SDK default).", -1),
    "username_template": Field(S, "Template for generated IAM user, session and token names.", ""),
    "role_arn": Field(S, "Role to assume with the plugin identity token (Enterprise).", ""),
    "identity_token_audience": Field(S, "Audience of the plugin identity token (Enterprise).", ""),
    "identity_token_ttl": Field(DUR, "TTL of the plugin identity token (Enterprise).", 0),
    "rotation_period": Field(DUR, "Automated root rotation period (Enterprise).", 0),
    "rotation_schedule": Field(S, "Automated root rotation cron schedule (Enterprise).", ""),
    "rotation_window": Field(DUR, "Automated root rotation window (Enterprise).", 0),
    "disable_automated_rotation": Field(B, "Pause automated root rotation (Enterprise).", False),
    "rotation_policy": Field(S, "Automated root rotation policy (Enterprise).", ""),
}

_CE_WIF = "plugin workload identity not supported in Vault community edition"
_CE_ROTATION = "rotation manager capabilities not supported in Vault community edition"


def config_paths(store: Store, clients: AwsClients) -> list[Path]:
    lock = asyncio.Lock()

    async def root_exists(req: Request, fd: FieldData) -> bool:
        return await store.root() is not None

    async def read_root(req: Request, fd: FieldData) -> Response:
        config = await store.root()
        if config is None:
            raise NotFound()
        return Response(data=config.to_api())

    async def write_root(req: Request, fd: FieldData) -> Response | None:
        async with lock:
            existing = await store.root()
            config = existing or RootConfig()
            for name in ROOT_FIELDS:
                if name == "username_template":
                    continue
                if existing is None or fd.has(name):
                    setattr(config, name, fd.get(name))
            # Vault's quirk: an absent template resets to the default even on update.
            config.username_template = fd.get("username_template") or DEFAULT_USERNAME_TEMPLATE
            _validate_root(config)
            await store.put_root(config)
            clients.reset()
        return None

    async def read_lease(req: Request, fd: FieldData) -> Response:
        config = await store.lease()
        if config is None:
            raise NotFound()
        return Response(
            data={"lease": go_duration(config.lease), "lease_max": go_duration(config.lease_max)}
        )

    async def write_lease(req: Request, fd: FieldData) -> Response | None:
        lease_raw, max_raw = fd.get("lease"), fd.get("lease_max")
        if not lease_raw:
            raise BadRequest("'lease' is a required parameter")
        if not max_raw:
            raise BadRequest("'lease_max' is a required parameter")
        try:
            lease = parse_duration(lease_raw)
        except DurationError as err:
            raise BadRequest(f"Invalid lease: {err}") from None
        try:
            lease_max = parse_duration(max_raw)
        except DurationError as err:
            raise BadRequest(f"Invalid lease_max: {err}") from None
        await store.put_lease(LeaseConfig(lease, lease_max))
        return None

    async def rotate_root(req: Request, fd: FieldData) -> Response:
        async with lock:
            config = await store.root()
            if config is None:
                raise internal_error("no configuration found for config/root")
            if not config.access_key or not config.secret_key:
                raise BadRequest(
                    "Cannot call config/rotate-root when either access_key or secret_key is empty"
                )
            try:
                old_iam = await clients.iam()
                caller = await old_iam.call("GetUser")
            except AwsError as err:
                raise internal_error(f"error calling GetUser: {err}") from None
            username = caller["User"]["UserName"]
            try:
                created = await old_iam.call("CreateAccessKey", UserName=username)
            except AwsError as err:
                raise internal_error(f"error calling CreateAccessKey: {err}") from None
            old_key = config.access_key
            key = created["AccessKey"]
            config.access_key, config.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
            await store.put_root(config)
            clients.reset()
            try:  # with the old key: the new one may not work everywhere yet
                await old_iam.call("DeleteAccessKey", AccessKeyId=old_key, UserName=username)
            except AwsError as err:
                raise internal_error(f"error deleting old access key: {err}") from None
        return Response(data={"access_key": config.access_key})

    return [
        Path(
            pattern="config/root",
            fields=ROOT_FIELDS,
            operations={Operation.READ: read_root, Operation.UPDATE: write_root},
            existence_check=root_exists,
            synopsis="Configure the root credentials used to manage AWS identities.",
            description=(
                "The access key and secret key of an IAM user (or, without them, the "
                "server's default AWS credential chain), the region, and custom IAM/STS "
                "endpoints. The secret key is never returned."
            ),
        ),
        Path(
            pattern="config/lease",
            fields={
                "lease": Field(S, "Default lease for iam_user credentials (e.g. 30m, 1h).", ""),
                "lease_max": Field(S, "Maximum lease for iam_user credentials.", ""),
            },
            operations={Operation.READ: read_lease, Operation.UPDATE: write_lease},
            synopsis="Configure the default and maximum lease of iam_user credentials.",
        ),
        Path(
            pattern="config/rotate-root",
            operations={Operation.UPDATE: rotate_root},
            synopsis="Replace the root access key with a new one (the old key is deleted).",
        ),
    ]


def _validate_root(config: RootConfig) -> None:
    if len(config.sts_fallback_endpoints) != len(config.sts_fallback_regions):
        raise BadRequest("fallback endpoints and fallback regions must be the same length")
    if config.rotation_schedule and config.rotation_period:
        raise BadRequest(
            "mutually exclusive fields rotation_schedule and rotation_period were both specified"
        )
    if config.access_key and config.identity_token_audience:
        raise BadRequest("only one of 'access_key' or 'identity_token_audience' can be set")
    if config.identity_token_audience and not config.role_arn:
        raise BadRequest("missing required 'role_arn' when 'identity_token_audience' is set")
    if config.identity_token_audience:
        raise BadRequest(_CE_WIF)
    rotation: Any = (config.rotation_schedule, config.rotation_period, config.rotation_window)
    if any(rotation):
        raise BadRequest(_CE_ROTATION)
