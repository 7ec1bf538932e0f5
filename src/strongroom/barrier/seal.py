"""The Shamir seal: guards the root key with an unseal key split into shares.

The seal config and the encrypted root key must be readable while sealed, so
they live in physical storage beside the barrier, not inside it. Neither is
useful without the unseal key: the root key is AES-GCM encrypted under it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.barrier import shamir
from strongroom.barrier.barrier import (
    AUTH_FAILED,
    KEY_SIZE,
    ROOT_KEY_PATH,
    ROOT_TERM,
    SEAL_CONFIG_PATH,
    InvalidKeyError,
    NotInitializedError,
    blob_term,
    decrypt_blob,
    encrypt_blob,
)
from strongroom.storage.base import Op, Storage


class SealConfigError(ValueError):
    """Bad share/threshold numbers; the message is Vault's, word for word."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid seal configuration: {reason}")


@dataclass
class SealConfig:
    secret_shares: int
    secret_threshold: int
    type: str = "shamir"

    def validate(self) -> None:
        """Raise SealConfigError for the first problem, in Vault's order."""
        shares, threshold = self.secret_shares, self.secret_threshold
        if shares < 1:
            raise SealConfigError("shares must be at least one")
        if threshold < 1:
            raise SealConfigError("threshold must be at least one")
        if shares > 1 and threshold == 1:
            raise SealConfigError("threshold must be greater than one for multiple shares")
        if shares > 255:
            raise SealConfigError("shares must be less than 256")
        if threshold > 255:
            raise SealConfigError("threshold must be less than 256")
        if threshold > shares:
            raise SealConfigError("threshold cannot be larger than shares")

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> SealConfig:
        doc = json.loads(raw)
        return cls(
            secret_shares=int(doc["secret_shares"]),
            secret_threshold=int(doc["secret_threshold"]),
            type=str(doc.get("type", "shamir")),
        )


class ShamirSeal:
    """Creates and recovers the root key from unseal key shares."""

    def __init__(self, physical: Storage) -> None:
        self._physical = physical

    async def config(self) -> SealConfig | None:
        raw = await self._physical.get(SEAL_CONFIG_PATH)
        return None if raw is None else SealConfig.from_json(raw)

    async def initialize(self, shares: int, threshold: int) -> tuple[list[bytes], bytes]:
        """Make a new root key; return (unseal key shares, root key).

        Overwrites any previous seal: the caller (core init) must first check that
        the barrier is not initialized.
        """
        config = SealConfig(secret_shares=shares, secret_threshold=threshold)
        config.validate()
        unseal_key = secrets.token_bytes(KEY_SIZE)
        root_key = secrets.token_bytes(KEY_SIZE)
        protected = encrypt_blob(AESGCM(unseal_key), ROOT_TERM, root_key, ROOT_KEY_PATH.encode())
        # One batch: a crash never leaves a config without its root key or the reverse.
        await self._physical.batch(
            [Op(SEAL_CONFIG_PATH, config.to_json()), Op(ROOT_KEY_PATH, protected)]
        )
        if shares == 1:
            return [unseal_key], root_key
        return shamir.split(unseal_key, shares, threshold), root_key

    async def rekey(self, root_key: bytes, unseal_key: bytes, config: SealConfig) -> None:
        """Guard the same root key with a new unseal key (sys/rekey): one atomic batch.

        Shares of the old unseal key no longer decrypt anything stored.
        """
        config.validate()
        protected = encrypt_blob(AESGCM(unseal_key), ROOT_TERM, root_key, ROOT_KEY_PATH.encode())
        await self._physical.batch(
            [Op(SEAL_CONFIG_PATH, config.to_json()), Op(ROOT_KEY_PATH, protected)]
        )

    async def recover_root_key(self, key_shares: list[bytes]) -> bytes:
        """Rebuild the unseal key from shares and decrypt the root key with it."""
        config = await self.config()
        protected = await self._physical.get(ROOT_KEY_PATH)
        if config is None or protected is None:
            raise NotInitializedError()
        unseal_key = _unseal_key(config, key_shares)
        if len(unseal_key) != KEY_SIZE:
            raise InvalidKeyError(
                f"invalid key: failed to setup unseal key: "
                f"crypto/aes: invalid key size {len(unseal_key)}"
            )
        try:
            blob_term(protected)
            return decrypt_blob(AESGCM(unseal_key), protected, ROOT_KEY_PATH.encode())
        except (InvalidTag, ValueError):
            raise InvalidKeyError(f"invalid key: {AUTH_FAILED}") from None


def new_unseal_key(shares: int, threshold: int) -> tuple[bytes, list[bytes]]:
    """A fresh unseal key and its shares (the key itself when there is one share)."""
    unseal_key = secrets.token_bytes(KEY_SIZE)
    if shares == 1:
        return unseal_key, [unseal_key]
    return unseal_key, shamir.split(unseal_key, shares, threshold)


def combine_shares(threshold: int, key_shares: list[bytes]) -> bytes:
    """The unseal key from `threshold` shares (raises InvalidKeyError)."""
    return _unseal_key(
        SealConfig(secret_shares=max(threshold, 1), secret_threshold=threshold), key_shares
    )


def _unseal_key(config: SealConfig, key_shares: list[bytes]) -> bytes:
    if not key_shares:
        raise InvalidKeyError("invalid key: no key shares given")
    if config.secret_threshold == 1:
        return bytes(key_shares[0])  # not split: the one share is the key itself
    try:
        return shamir.combine([bytes(s) for s in key_shares])
    except ValueError as exc:
        raise InvalidKeyError(f"invalid key: failed to compute unseal key: {exc}") from None
