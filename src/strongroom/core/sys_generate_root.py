"""Root token generation: sys/generate-root/* (Vault) and sys/generate-root-token/* (OpenBao).

A threshold of unseal key shares proves the operators' quorum; the server
then creates a new root token and returns it XORed with a one-time pad the
initiator chose (or the server generated, shown once in `otp`), base64
encoded without padding, so the token never crosses the wire in the clear:

    encoded_token = base64.RawStd(token XOR otp)      (len(otp) == len(token))

`operator generate-root -decode=… -otp=…` undoes it. PGP-encrypted tokens
(`pgp_key`) are refused: strongroom has no OpenPGP support.

`sys/generate-root/*` are Vault's unauthenticated special handlers (plain
JSON); `sys/generate-root-token/*` are OpenBao's authenticated routes with
the same bodies inside the envelope. The attempt lives in memory.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strongroom.barrier import InvalidKeyError
from strongroom.core.errors import BadRequest
from strongroom.core.ids import base62
from strongroom.core.request import Operation, Request, Response
from strongroom.core.sys_rekey import check_key_length, decode_key, special
from strongroom.core.tokens import SERVICE_PREFIX, TOKEN_BODY_LENGTH
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

if TYPE_CHECKING:
    from strongroom.core.core import Core

OTP_LENGTH = len(SERVICE_PREFIX) + TOKEN_BODY_LENGTH  # the length of a root token
UNAUTHENTICATED = ["generate-root/attempt", "generate-root/update"]
PGP_UNSUPPORTED = (
    "PGP-encrypted root tokens (pgp_key) are not supported by strongroom; use an OTP "
    "(otp, or none to have one generated)"
)


def encode_token(token: str, otp: str) -> str:
    """base64 (standard alphabet, no padding) of the token XOR the OTP."""
    mixed = bytes(a ^ b for a, b in zip(token.encode(), otp.encode(), strict=True))
    return base64.b64encode(mixed).decode().rstrip("=")


def decode_token(encoded: str, otp: str) -> str:
    """The inverse of `encode_token`; ValueError with the reference CLI's wording."""
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError as err:
        raise ValueError(f"error decoding base64'd token: {err}") from None
    pad = otp.encode()
    if len(raw) != len(pad):
        raise ValueError(
            f"error xoring token: length of byte slices is not equivalent: {len(raw)} != {len(pad)}"
        )
    return bytes(a ^ b for a, b in zip(raw, pad, strict=True)).decode("utf-8", "replace")


@dataclass
class _Attempt:
    nonce: str
    otp: str
    owner: Any  # the TokenStore of the unseal that started it (a seal abandons it)
    progress: list[bytes] = field(default_factory=list)


class GenerateRootManager:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._attempt: _Attempt | None = None
        self._lock = asyncio.Lock()

    def _current(self) -> _Attempt | None:
        attempt = self._attempt
        if attempt is not None and attempt.owner is not self._core.tokens:
            self._attempt = attempt = None
        return attempt

    async def _threshold(self) -> int:
        config = await self._core.shamir.config()
        if config is None:
            raise BadRequest("server is not yet initialized")
        return config.secret_threshold

    async def status(self, otp: str = "") -> dict[str, Any]:
        required = await self._threshold()
        attempt = self._current()
        return {
            "nonce": attempt.nonce if attempt else "",
            "started": attempt is not None,
            "progress": len(attempt.progress) if attempt else 0,
            "required": required,
            "complete": False,
            "encoded_token": "",
            "encoded_root_token": "",
            "pgp_fingerprint": "",
            "otp": otp,
            "otp_length": OTP_LENGTH,
        }

    async def init(self, otp: str, pgp_key: str) -> str:
        """Start; returns the OTP when the server generated it ("" otherwise)."""
        await self._threshold()
        generated = ""
        if pgp_key:
            raise BadRequest(PGP_UNSUPPORTED)
        if not otp:
            otp = generated = base62(OTP_LENGTH)
        elif len(otp) != OTP_LENGTH:
            raise BadRequest("OTP string has incorrect length")
        async with self._lock:
            if self._current() is not None:
                raise BadRequest("root generation already in progress")
            self._attempt = _Attempt(str(uuid.uuid4()), otp, self._core.tokens)
        return generated

    def cancel(self) -> None:
        self._attempt = None

    async def update(self, key: bytes, nonce: str) -> dict[str, Any]:
        check_key_length(key)
        required = await self._threshold()
        async with self._lock:
            attempt = self._current()
            if attempt is None:
                raise BadRequest("no root generation in progress")
            if nonce != attempt.nonce:
                raise BadRequest(
                    "incorrect nonce supplied; nonce for this root generation operation is "
                    f'"{attempt.nonce}"'
                )
            if any(hmac.compare_digest(k, key) for k in attempt.progress):
                raise BadRequest(
                    "given key has already been provided during this generation operation"
                )
            attempt.progress.append(key)
            progress = len(attempt.progress)
            result: dict[str, Any] = {
                "nonce": nonce,
                "started": True,
                "progress": progress,
                "required": required,
                "complete": False,
                "encoded_token": "",
                "encoded_root_token": "",
                "pgp_fingerprint": "",
                "otp": "",
                "otp_length": 0,
            }
            if progress < required:
                return result
            shares, attempt.progress = attempt.progress, []
            try:
                await self._core.shamir.recover_root_key(shares)
            except (InvalidKeyError, ValueError) as err:
                raise BadRequest(f"root generation aborted: {err}") from None
            tokens = self._core.tokens
            assert tokens is not None
            token = await tokens.create_root_token()
            encoded = encode_token(token, attempt.otp)
            self._attempt = None
            result.update(complete=True, encoded_token=encoded, encoded_root_token=encoded)
            return result


def generate_root_paths(core: Core) -> list[Path]:
    manager = GenerateRootManager(core)

    async def attempt_read(req: Request, fd: FieldData) -> Response:
        return Response(raw=await manager.status())

    async def attempt_write(req: Request, fd: FieldData) -> Response:
        generated = await manager.init(fd.get("otp"), fd.get("pgp_key"))
        return Response(raw=await manager.status(generated))

    async def attempt_delete(req: Request, fd: FieldData) -> None:
        manager.cancel()

    async def update(req: Request, fd: FieldData) -> Response:
        return Response(raw=await manager.update(decode_key(fd.get("key")), fd.get("nonce")))

    def envelope(body: dict[str, Any]) -> Response:
        return Response(data=dict(sorted(body.items())))

    async def token_attempt_read(req: Request, fd: FieldData) -> Response:
        body = await manager.status()
        return envelope({k: v for k, v in body.items() if not k.startswith("encoded")})

    async def token_attempt_write(req: Request, fd: FieldData) -> Response:
        generated = await manager.init(fd.get("otp"), fd.get("pgp_key"))
        body = await manager.status(generated)
        return envelope({k: v for k, v in body.items() if not k.startswith("encoded")})

    async def token_update(req: Request, fd: FieldData) -> Response:
        if not fd.get("nonce"):
            raise BadRequest("nonce is required")
        if not fd.get("key"):
            raise BadRequest("key is required")
        body = await manager.update(decode_key(fd.get("key")), fd.get("nonce"))
        keep = ("started", "complete", "progress", "required", "nonce", "encoded_token")
        return envelope({k: body[k] for k in (*keep, "pgp_fingerprint")})

    attempt_fields = {
        "otp": Field(FieldType.STRING, "A base62 one-time pad as long as a token", default=""),
        "pgp_key": Field(FieldType.STRING, "Not supported", default=""),
    }
    key_fields = {
        "key": Field(FieldType.STRING, "An unseal key share (hex or base64)", default=""),
        "nonce": Field(FieldType.STRING, "The attempt's nonce", default=""),
    }
    return [
        Path(
            "generate-root/attempt",
            fields=attempt_fields,
            operations=special(
                {
                    Operation.READ: attempt_read,
                    Operation.UPDATE: attempt_write,
                    Operation.DELETE: attempt_delete,
                }
            ),
            synopsis="Start, inspect or cancel a root token generation.",
        ),
        Path(
            "generate-root/update",
            fields=key_fields,
            operations=special({Operation.UPDATE: update}),
            synopsis="Provide one unseal key share for the root token generation.",
        ),
        Path(
            "generate-root-token/attempt",
            fields=attempt_fields,
            operations={
                Operation.READ: token_attempt_read,
                Operation.UPDATE: token_attempt_write,
                Operation.DELETE: attempt_delete,
            },
            synopsis="Start, inspect or cancel a root token generation.",
        ),
        Path(
            "generate-root-token/update",
            fields=key_fields,
            operations={Operation.UPDATE: token_update},
            synopsis="Provide one unseal key share for the root token generation.",
        ),
    ]
