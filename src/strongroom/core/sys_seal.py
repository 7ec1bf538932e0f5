"""sys/init, sys/seal-status, sys/unseal, sys/seal, sys/health, sys/leader.

These are Vault's "special" handlers: plain JSON bodies without the envelope,
and the first four answer whatever the seal state.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING, Any

from strongroom.core.errors import BadRequest, Sealed
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

if TYPE_CHECKING:
    from strongroom.core.core import Core


async def seal_status(core: Core) -> dict[str, Any]:
    config = await core.seal_config()
    progress, nonce = core.unseal_progress
    body: dict[str, Any] = {
        "type": "shamir",
        "initialized": config is not None,
        "sealed": core.sealed,
        "t": config.secret_threshold if config else 0,
        "n": config.secret_shares if config else 0,
        "progress": progress,
        "nonce": nonce,
        "recovery_seal": False,
        "version": core.version,
        "migration": False,
    }
    if not core.sealed:
        body.update(core.status_fields())
    body["storage_type"] = core.config.storage_type
    return body


def _decode_key(text: str) -> bytes:
    """Unseal keys arrive as hex (the `keys` list) or base64 (`keys_base64`)."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("'key' must be a valid hex or base64 string") from None


def seal_paths(core: Core) -> list[Path]:
    async def read_init(req: Request, fd: FieldData) -> Response:
        return Response(raw={"initialized": await core.initialized()})

    async def write_init(req: Request, fd: FieldData) -> Response:
        keys, root_token = await core.initialize(
            fd.get("secret_shares"), fd.get("secret_threshold")
        )
        return Response(
            raw={
                "keys": [k.hex() for k in keys],
                "keys_base64": [base64.b64encode(k).decode() for k in keys],
                "root_token": root_token,
            }
        )

    async def read_seal_status(req: Request, fd: FieldData) -> Response:
        return Response(raw=await seal_status(core))

    async def write_unseal(req: Request, fd: FieldData) -> Response:
        if fd.get("reset"):
            core.reset_unseal()
            return Response(raw=await seal_status(core))
        text = fd.get("key")
        if not text:
            raise BadRequest(
                "'key' must be specified in request body as JSON, or 'reset' set to true"
            )
        if await core.seal_config() is None:
            raise BadRequest("Vault is not initialized")
        key = _decode_key(text)
        if len(key) < 16:
            raise BadRequest("invalid key: key is shorter than minimum 16 bytes")
        if len(key) > 33:
            raise BadRequest("invalid key: key is longer than maximum 33 bytes")
        await core.submit_unseal_key(key)
        return Response(raw=await seal_status(core))

    async def write_seal(req: Request, fd: FieldData) -> None:
        await core.seal()

    async def read_health(req: Request, fd: FieldData) -> Response:
        return await health(core, fd)

    async def read_leader(req: Request, fd: FieldData) -> Response:
        if core.ha is not None:
            if core.sealed:
                raise Sealed()
            return Response(raw=core.ha.leader_status())
        return Response(raw={"ha_enabled": False})

    async def step_down(req: Request, fd: FieldData) -> None:
        # Only the active node gets here (a standby forwards); single node: nothing to do.
        if core.ha is not None:
            core.ha.request_step_down()

    code = Field(FieldType.INT)
    return [
        Path(
            "init",
            fields={
                "secret_shares": Field(FieldType.INT, "Number of key shares", default=0),
                "secret_threshold": Field(FieldType.INT, "Shares needed to unseal", default=0),
                "pgp_keys": Field(FieldType.COMMA_STRING_LIST, deprecated=True),
                "root_token_pgp_key": Field(FieldType.STRING, deprecated=True),
                "stored_shares": Field(FieldType.INT, deprecated=True),
                "recovery_shares": Field(FieldType.INT, deprecated=True),
                "recovery_threshold": Field(FieldType.INT, deprecated=True),
                "recovery_pgp_keys": Field(FieldType.COMMA_STRING_LIST, deprecated=True),
            },
            operations={Operation.READ: read_init, Operation.UPDATE: write_init},
            synopsis="Initialize a new server: create the keys and the root token.",
        ),
        Path(
            "seal-status",
            operations={Operation.READ: read_seal_status},
            synopsis="The seal state and unseal progress.",
        ),
        Path(
            "unseal",
            fields={
                "key": Field(FieldType.STRING, "An unseal key share (hex or base64)"),
                "reset": Field(FieldType.BOOL, "Discard the shares given so far", default=False),
                "migrate": Field(FieldType.BOOL, deprecated=True),
            },
            operations={Operation.UPDATE: write_unseal},
            synopsis="Submit one unseal key share.",
        ),
        Path("seal", operations={Operation.UPDATE: write_seal}, synopsis="Seal the server."),
        Path(
            "health",
            fields={
                "standbyok": Field(FieldType.BOOL, default=False),
                "perfstandbyok": Field(FieldType.BOOL, default=False),
                "activecode": code,
                "standbycode": code,
                "sealedcode": code,
                "uninitcode": code,
                "drsecondarycode": code,
                "performancestandbycode": code,
            },
            operations={Operation.READ: read_health},
            synopsis="Health of the node, as a status code load balancers understand.",
        ),
        Path("leader", operations={Operation.READ: read_leader}, synopsis="The HA leader."),
        Path(
            "step-down",
            operations={Operation.UPDATE: step_down},
            synopsis="Give up active status (single node: nothing to do).",
        ),
    ]


async def health(core: Core, fd: FieldData) -> Response:
    try:
        fd.validate()
    except BadRequest:
        raise BadRequest() from None  # Vault answers bad health parameters with no message
    initialized = await core.initialized()
    sealed = core.sealed
    standby = sealed or (core.ha is not None and not core.ha.is_active)
    body: dict[str, Any] = {
        "initialized": initialized,
        "sealed": sealed,
        "standby": standby,
        "replication_performance_mode": "unknown" if sealed else "disabled",
        "replication_dr_mode": "unknown" if sealed else "disabled",
        "server_time_utc": int(time.time()),
        "version": core.version,
    }
    if not sealed:
        body.update(core.status_fields())

    def pick(name: str, default: int) -> int:
        return fd.get(name) if fd.has(name) else default

    if not initialized:
        status = pick("uninitcode", 501)
    elif sealed:
        status = pick("sealedcode", 503)
    elif standby and not fd.get("standbyok"):
        # perfstandbyok only concerns performance standbys, which strongroom has none of.
        status = pick("standbycode", 429)
    else:
        status = pick("activecode", 200)
    return Response(raw=body, status=status)
