"""Unseal-key rotation: sys/rekey/* (Vault) and sys/rotate/root/* (OpenBao).

A rekey gathers a threshold of the *current* unseal key shares, checks them
by decrypting the stored root key, then guards that same root key with a
*new* unseal key split into new shares (`secret_shares`/`secret_threshold`).
With `require_verification` the new shares are handed out but not yet in
force: a threshold of them must come back through `verify` first, so an
operator cannot lose the keys by mistyping them. Every step carries the
operation's nonce.

`sys/rekey/*` are Vault's special handlers (plain JSON, no token needed:
the key shares are the credential). `sys/rotate/root/*` are OpenBao's
authenticated routes with the same steps in the usual envelope.
`sys/rekey/backup` exists for PGP-encrypted backups, which strongroom does
not make: PGP is refused at `init` with a clear 400.

The attempt lives in memory; sealing the server abandons it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strongroom.barrier import InvalidKeyError, SealConfig, SealConfigError
from strongroom.barrier.seal import combine_shares, new_unseal_key
from strongroom.core.errors import BadRequest, MethodNotAllowed
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Handler, Path

if TYPE_CHECKING:
    from strongroom.core.core import Core

MIN_KEY, MAX_KEY = 16, 33
PGP_UNSUPPORTED = (
    "PGP encryption of unseal keys (pgp_keys) is not supported by strongroom; "
    "omit pgp_keys to receive the new keys in the clear"
)
UNAUTHENTICATED = ["rekey/init", "rekey/update", "rekey/verify"]
SUDO = ["rekey/backup"]
_ALL_OPS = (
    Operation.READ,
    Operation.LIST,
    Operation.CREATE,
    Operation.UPDATE,
    Operation.PATCH,
    Operation.DELETE,
)


def decode_key(text: str) -> bytes:
    """A key share sent as hex or standard base64 (Vault's order and limits)."""
    if not text:
        raise BadRequest("'key' must be specified in request body as JSON")
    try:
        key = bytes.fromhex(text)
        if MIN_KEY <= len(key) <= MAX_KEY:
            return key
    except ValueError:
        pass
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("'key' must be a valid hex or base64 string") from None
    return key


def check_key_length(key: bytes) -> None:
    if len(key) < MIN_KEY:
        raise BadRequest(f"key is shorter than minimum {MIN_KEY} bytes")
    if len(key) > MAX_KEY:
        raise BadRequest(f"key is longer than maximum {MAX_KEY} bytes")


def special(handlers: dict[Operation, Handler]) -> dict[Operation, Handler]:
    """A special handler's operations: any other method answers 405 with no message."""

    async def not_allowed(req: Request, fd: FieldData) -> None:
        raise MethodNotAllowed()

    return {op: handlers.get(op, not_allowed) for op in _ALL_OPS}


@dataclass
class _Attempt:
    nonce: str
    config: SealConfig
    require_verification: bool
    owner: Any  # the TokenStore of the unseal that started it (a seal abandons it)
    progress: list[bytes] = field(default_factory=list)
    # Once the new keys exist and wait for verification:
    verification_nonce: str = ""
    new_unseal_key: bytes = b""
    root_key: bytes = b""
    verification_progress: list[bytes] = field(default_factory=list)

    @property
    def verifying(self) -> bool:
        return bool(self.new_unseal_key)


class RekeyManager:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._attempt: _Attempt | None = None
        self._lock = asyncio.Lock()

    def _current(self) -> _Attempt | None:
        attempt = self._attempt
        if attempt is not None and attempt.owner is not self._core.tokens:
            self._attempt = attempt = None  # started before the last seal
        return attempt

    async def _seal_config(self) -> SealConfig:
        config = await self._core.shamir.config()
        if config is None:
            raise BadRequest("server is not yet initialized")
        return config

    # ------------------------------------------------------------ status
    async def status(self) -> dict[str, Any]:
        required = (await self._seal_config()).secret_threshold
        attempt = self._current()
        body: dict[str, Any] = {
            "nonce": "",
            "started": False,
            "t": 0,
            "n": 0,
            "progress": 0,
            "required": required,
            "pgp_fingerprints": None,
            "backup": False,
            "verification_required": False,
        }
        if attempt is not None:
            body.update(
                nonce=attempt.nonce,
                started=True,
                t=attempt.config.secret_threshold,
                n=attempt.config.secret_shares,
                progress=len(attempt.progress),
                verification_required=attempt.require_verification,
            )
            if attempt.verification_nonce:
                body["verification_nonce"] = attempt.verification_nonce
        return body

    def verify_status(self) -> dict[str, Any]:
        attempt = self._current()
        if attempt is None:
            raise BadRequest("no rekey configuration found")
        return {
            "nonce": attempt.verification_nonce,
            "started": attempt.verifying,
            "t": attempt.config.secret_threshold,
            "n": attempt.config.secret_shares,
            "progress": len(attempt.verification_progress),
        }

    # ------------------------------------------------------------ steps
    async def init(
        self,
        shares: int,
        threshold: int,
        pgp_keys: list[str],
        backup: bool,
        require_verification: bool,
    ) -> None:
        if backup and not pgp_keys:
            raise BadRequest(
                "cannot request a backup of the new keys without providing PGP keys for encryption"
            )
        if pgp_keys:
            raise BadRequest(PGP_UNSUPPORTED)
        config = SealConfig(secret_shares=shares, secret_threshold=threshold)
        try:
            config.validate()
        except SealConfigError as err:
            raise BadRequest(str(err)) from None
        await self._seal_config()
        async with self._lock:
            if self._current() is not None:
                raise BadRequest("rekey already in progress")
            self._attempt = _Attempt(
                nonce=str(uuid.uuid4()),
                config=config,
                require_verification=require_verification,
                owner=self._core.tokens,
            )

    def cancel(self) -> None:
        self._attempt = None

    async def update(self, key: bytes, nonce: str) -> dict[str, Any] | None:
        """Add one current share; the new keys once the threshold is reached, else None."""
        check_key_length(key)
        current = await self._seal_config()
        async with self._lock:
            attempt = self._current()
            if attempt is None:
                raise BadRequest("no barrier rekey in progress")
            if attempt.verifying:
                raise BadRequest(
                    "rekey operation already finished; verification must be performed; nonce "
                    f'for the verification operation is "{attempt.verification_nonce}"'
                )
            if nonce != attempt.nonce:
                raise BadRequest(
                    f'incorrect nonce supplied; nonce for this rekey operation is "{attempt.nonce}"'
                )
            if any(hmac.compare_digest(k, key) for k in attempt.progress):
                raise BadRequest(
                    "given key has already been provided during this generation operation"
                )
            attempt.progress.append(key)
            if len(attempt.progress) < current.secret_threshold:
                return None
            shares, attempt.progress = attempt.progress, []
            try:
                root_key = await self._core.shamir.recover_root_key(shares)
            except (InvalidKeyError, ValueError) as err:
                raise BadRequest(f"root key verification failed: {err}") from None
            new_key, new_shares = new_unseal_key(
                attempt.config.secret_shares, attempt.config.secret_threshold
            )
            result: dict[str, Any] = {
                "nonce": nonce,
                "complete": True,
                "keys": [s.hex() for s in new_shares],
                "keys_base64": [base64.b64encode(s).decode() for s in new_shares],
                "pgp_fingerprints": None,
                "backup": False,
                "verification_required": attempt.require_verification,
            }
            if attempt.require_verification:
                attempt.new_unseal_key, attempt.root_key = new_key, root_key
                attempt.verification_nonce = str(uuid.uuid4())
                result["verification_nonce"] = attempt.verification_nonce
                return result
            await self._core.shamir.rekey(root_key, new_key, attempt.config)
            self._attempt = None
            return result

    async def verify(self, key: bytes, nonce: str) -> dict[str, Any] | None:
        """Add one *new* share; the rekey takes effect once a threshold of them matches."""
        check_key_length(key)
        async with self._lock:
            attempt = self._current()
            if attempt is None:
                raise BadRequest("no rekey in progress")
            if not attempt.verifying:
                raise BadRequest("no rekey verification in progress")
            if nonce != attempt.verification_nonce:
                raise BadRequest(
                    "incorrect nonce supplied; nonce for this verify operation is "
                    f'"{attempt.verification_nonce}"'
                )
            if any(hmac.compare_digest(k, key) for k in attempt.verification_progress):
                raise BadRequest("given key has already been provided during this verify operation")
            attempt.verification_progress.append(key)
            threshold = attempt.config.secret_threshold
            if len(attempt.verification_progress) < threshold:
                return None
            shares, attempt.verification_progress = attempt.verification_progress, []
            try:
                candidate = combine_shares(threshold, shares)
            except (InvalidKeyError, ValueError):
                candidate = b""
            if not hmac.compare_digest(candidate, attempt.new_unseal_key):
                raise BadRequest("rekey verification failed; incorrect key shares supplied")
            await self._core.shamir.rekey(attempt.root_key, attempt.new_unseal_key, attempt.config)
            done = attempt.verification_nonce
            self._attempt = None
            return {"nonce": done, "complete": True}

    def restart_verification(self) -> None:
        attempt = self._current()
        if attempt is None:
            raise BadRequest("no rekey in progress")
        if not attempt.verifying:
            raise BadRequest("no rekey verification in progress")
        attempt.verification_nonce = str(uuid.uuid4())
        attempt.verification_progress = []


def _envelope(data: dict[str, Any]) -> Response:
    return Response(data=dict(sorted(data.items())))


def rekey_paths(core: Core) -> list[Path]:
    manager = RekeyManager(core)

    # -------------------------------------------------------- Vault: sys/rekey/*
    async def init_read(req: Request, fd: FieldData) -> Response:
        return Response(raw=await manager.status())

    async def init_write(req: Request, fd: FieldData) -> Response:
        await manager.init(
            fd.get("secret_shares"),
            fd.get("secret_threshold"),
            fd.get("pgp_keys"),
            fd.get("backup"),
            fd.get("require_verification"),
        )
        return Response(raw=await manager.status())

    async def init_delete(req: Request, fd: FieldData) -> None:
        manager.cancel()

    async def update(req: Request, fd: FieldData) -> Response:
        key = decode_key(fd.get("key"))
        result = await manager.update(key, fd.get("nonce"))
        return Response(raw=result if result is not None else await manager.status())

    async def verify_read(req: Request, fd: FieldData) -> Response:
        return Response(raw=manager.verify_status())

    async def verify_write(req: Request, fd: FieldData) -> Response:
        key = decode_key(fd.get("key"))
        result = await manager.verify(key, fd.get("nonce"))
        return Response(raw=result if result is not None else manager.verify_status())

    async def verify_delete(req: Request, fd: FieldData) -> Response:
        manager.restart_verification()
        return Response(raw=manager.verify_status())

    async def backup_read(req: Request, fd: FieldData) -> Response:
        raise BadRequest("no backed-up keys found")

    async def backup_delete(req: Request, fd: FieldData) -> None:
        return None

    # ---------------------------------------------------- OpenBao: sys/rotate/root/*
    async def rotate_init_read(req: Request, fd: FieldData) -> Response:
        status = await manager.status()
        if not status["started"]:
            return _envelope({k: status[k] for k in ("started", "t", "n", "required")})
        keep = ("nonce", "started", "t", "n", "progress", "required", "verification_required")
        data = {k: status[k] for k in keep}
        data["verification_nonce"] = status.get("verification_nonce", "")
        return _envelope(data)

    async def rotate_init_write(req: Request, fd: FieldData) -> Response:
        await init_write(req, fd)
        return await rotate_init_read(req, fd)

    async def rotate_update(req: Request, fd: FieldData) -> Response:
        if not fd.get("key"):
            raise BadRequest("missing required field 'key'")
        if not fd.get("nonce"):
            raise BadRequest("missing required field 'nonce'")
        result = await manager.update(decode_key(fd.get("key")), fd.get("nonce"))
        if result is None:
            return await rotate_init_read(req, fd)
        result.setdefault("verification_nonce", "")
        return _envelope(result)

    async def rotate_verify_read(req: Request, fd: FieldData) -> Response:
        try:
            return _envelope(manager.verify_status())
        except BadRequest:
            raise BadRequest("no rotation configuration found") from None

    async def rotate_verify_write(req: Request, fd: FieldData) -> Response:
        if not fd.get("key"):
            raise BadRequest("missing required field 'key'")
        if not fd.get("nonce"):
            raise BadRequest("missing required field 'nonce'")
        result = await manager.verify(decode_key(fd.get("key")), fd.get("nonce"))
        return _envelope(result if result is not None else manager.verify_status())

    async def rotate_verify_delete(req: Request, fd: FieldData) -> Response:
        manager.restart_verification()
        return _envelope(manager.verify_status())

    init_fields = {
        "secret_shares": Field(FieldType.INT, "New number of key shares", default=0),
        "secret_threshold": Field(FieldType.INT, "New threshold", default=0),
        "pgp_keys": Field(FieldType.COMMA_STRING_LIST, "Not supported", default=[]),
        "backup": Field(FieldType.BOOL, "Not supported (needs pgp_keys)", default=False),
        "require_verification": Field(
            FieldType.BOOL, "Check the new shares before they take effect", default=False
        ),
    }
    key_fields = {
        "key": Field(FieldType.STRING, "A key share (hex or base64)", default=""),
        "nonce": Field(FieldType.STRING, "The operation's nonce", default=""),
    }
    return [
        Path(
            "rekey/init",
            fields=init_fields,
            operations=special(
                {
                    Operation.READ: init_read,
                    Operation.UPDATE: init_write,
                    Operation.DELETE: init_delete,
                }
            ),
            synopsis="Start, inspect or cancel an unseal-key rotation.",
        ),
        Path(
            "rekey/update",
            fields=key_fields,
            operations=special({Operation.UPDATE: update}),
            synopsis="Provide one current unseal key share for the rotation.",
        ),
        Path(
            "rekey/verify",
            fields=key_fields,
            operations=special(
                {
                    Operation.READ: verify_read,
                    Operation.UPDATE: verify_write,
                    Operation.DELETE: verify_delete,
                }
            ),
            synopsis="Prove the new unseal key shares before they take effect.",
        ),
        Path(
            "rekey/backup",
            operations={Operation.READ: backup_read, Operation.DELETE: backup_delete},
            synopsis="PGP-encrypted key backups (strongroom makes none).",
        ),
        Path(
            "rotate/root/init",
            fields=init_fields,
            operations={
                Operation.READ: rotate_init_read,
                Operation.UPDATE: rotate_init_write,
                Operation.DELETE: init_delete,
            },
            synopsis="Start, inspect or cancel an unseal-key rotation.",
        ),
        Path(
            "rotate/root/update",
            fields=key_fields,
            operations={Operation.UPDATE: rotate_update},
            synopsis="Provide one current unseal key share for the rotation.",
        ),
        Path(
            "rotate/root/verify",
            fields=key_fields,
            operations={
                Operation.READ: rotate_verify_read,
                Operation.UPDATE: rotate_verify_write,
                Operation.DELETE: rotate_verify_delete,
            },
            synopsis="Prove the new unseal key shares before they take effect.",
        ),
    ]
