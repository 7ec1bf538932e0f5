"""The barrier: AES-256-GCM encryption between the logical layers and physical storage.

Everything the core and engines store passes through here. The layout of one
encrypted value in physical storage is

    version (1 byte) | term (4 bytes, big-endian) | nonce (12 bytes) | ciphertext+tag

The term names the keyring key that encrypted the value, so values written
before a rotation stay readable after it. The storage key is the GCM associated
data: a ciphertext copied to another key fails to decrypt instead of silently
answering for it.

The keyring itself lives at `core/keyring`, encrypted with the root key (term 0
in its header: not a keyring term). The root key comes from the seal.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.storage.base import Op, Storage

KEYRING_PATH = "core/keyring"
ROOT_KEY_PATH = "core/root-key"
SEAL_CONFIG_PATH = "core/seal-config"
# Written by the seal/barrier themselves; a logical write to one of them would
# make the server impossible to unseal.
RESERVED_PATHS = frozenset({KEYRING_PATH, ROOT_KEY_PATH, SEAL_CONFIG_PATH})

KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12
BLOB_VERSION = 1
ROOT_TERM = 0  # term recorded in blobs encrypted directly with the root or unseal key
_HEADER = struct.Struct(">BI")  # version, term
_PREFIX_SIZE = _HEADER.size + NONCE_SIZE

AUTH_FAILED = "failed to decrypt keys from storage: cipher: message authentication failed"


class SealedError(Exception):
    """A data operation was attempted while the barrier is sealed."""

    def __init__(self) -> None:
        super().__init__("Vault is sealed")


class InvalidKeyError(Exception):
    """The root key (or unseal key) does not decrypt what it should."""


class AlreadyInitializedError(Exception):
    def __init__(self) -> None:
        super().__init__("Vault is already initialized")


class NotInitializedError(Exception):
    def __init__(self) -> None:
        super().__init__("Vault is not initialized")


class CorruptValueError(Exception):
    """A stored value fails to decrypt (tampered, moved, or an unknown term).

    The message names the storage key only; keys are not secret, values are.
    """


def encrypt_blob(aead: AESGCM, term: int, plaintext: bytes, aad: bytes) -> bytes:
    """Seal `plaintext` under a fresh random nonce in the blob layout above."""
    nonce = os.urandom(NONCE_SIZE)
    return _HEADER.pack(BLOB_VERSION, term) + nonce + aead.encrypt(nonce, plaintext, aad)


def blob_term(blob: bytes) -> int:
    """The term a blob was encrypted with; ValueError if the header is malformed."""
    if len(blob) < _PREFIX_SIZE:
        raise ValueError("ciphertext too short")
    version, term = _HEADER.unpack_from(blob)
    if version != BLOB_VERSION:
        raise ValueError(f"unsupported ciphertext version {version}")
    return term


def decrypt_blob(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    """Open a blob made by `encrypt_blob`; InvalidTag if key, AAD or bytes are wrong."""
    nonce = blob[_HEADER.size : _PREFIX_SIZE]
    return aead.decrypt(nonce, blob[_PREFIX_SIZE:], aad)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with trailing fraction zeros dropped, like Go's RFC3339Nano."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Term:
    """One data key of the keyring. The AESGCM object is built once, here."""

    number: int
    key: bytes = field(repr=False)
    install_time: datetime
    aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "aead", AESGCM(self.key))


@dataclass(frozen=True)
class Keyring:
    """All data keys ever installed; new writes use the highest term."""

    terms: dict[int, Term]

    @property
    def active(self) -> Term:
        return self.terms[max(self.terms)]

    @classmethod
    def first(cls, now: datetime) -> Keyring:
        return cls({1: Term(1, secrets.token_bytes(KEY_SIZE), now)})

    def rotated(self, now: datetime) -> Keyring:
        """A copy with one more term; the old keys stay for reading old values."""
        number = max(self.terms) + 1
        return Keyring({**self.terms, number: Term(number, secrets.token_bytes(KEY_SIZE), now)})

    def to_json(self) -> bytes:
        terms = [
            {
                "term": t.number,
                "key": base64.b64encode(t.key).decode(),
                "install_time": format_time(t.install_time),
            }
            for t in sorted(self.terms.values(), key=lambda t: t.number)
        ]
        return json.dumps({"version": 1, "terms": terms}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Keyring:
        doc = json.loads(raw)
        terms = {}
        for t in doc["terms"]:
            term = Term(
                number=int(t["term"]),
                key=base64.b64decode(t["key"]),
                install_time=datetime.fromisoformat(t["install_time"]),
            )
            terms[term.number] = term
        if not terms:
            raise ValueError("keyring has no terms")
        return cls(terms)


def _check_key_size(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise InvalidKeyError(
            f"failed to setup unseal key: crypto/aes: invalid key size {len(key)}"
        )


class Barrier:
    """Encrypting wrapper with the Storage interface, so engines can't tell it apart.

    Sealed (the initial state) it holds no keys and refuses every data operation
    with `SealedError`. `unseal(root_key)` loads the keyring; `seal()` forgets it.
    """

    def __init__(self, physical: Storage, clock: Callable[[], datetime] = _utcnow) -> None:
        self._physical = physical
        self._clock = clock
        self._keyring: Keyring | None = None
        self._root: AESGCM | None = None  # kept while unsealed to re-persist on rotate
        self._encryptions = 0  # with the active term since unseal or rotation
        self._lock = asyncio.Lock()  # serialises keyring changes

    # --- lifecycle ---------------------------------------------------------

    @property
    def sealed(self) -> bool:
        return self._keyring is None

    async def initialized(self) -> bool:
        return await self._physical.get(KEYRING_PATH) is not None

    async def initialize(self, root_key: bytes) -> None:
        """Create and persist the first keyring, encrypted with `root_key`. Stays sealed."""
        _check_key_size(root_key)
        async with self._lock:
            if await self.initialized():
                raise AlreadyInitializedError()
            keyring = Keyring.first(self._clock())
            await self._persist(keyring, AESGCM(root_key))

    async def unseal(self, root_key: bytes) -> None:
        """Decrypt the keyring with `root_key`; a no-op when already unsealed."""
        async with self._lock:
            if not self.sealed:
                return
            blob = await self._physical.get(KEYRING_PATH)
            if blob is None:
                raise NotInitializedError()
            _check_key_size(root_key)
            root = AESGCM(root_key)
            try:
                blob_term(blob)
                plaintext = decrypt_blob(root, blob, KEYRING_PATH.encode())
            except (InvalidTag, ValueError):
                raise InvalidKeyError(AUTH_FAILED) from None
            self._keyring = Keyring.from_json(plaintext)
            self._root = root
            self._encryptions = 0

    def seal(self) -> None:
        """Forget every key. Values in storage stay encrypted and untouched."""
        self._keyring = None
        self._root = None
        self._encryptions = 0

    async def rotate(self) -> int:
        """Install a new data key for future writes; returns its term."""
        async with self._lock:
            keyring = self._require_unsealed()
            root = self._root
            assert root is not None  # set together with the keyring
            rotated = keyring.rotated(self._clock())
            # Persist first: if the write fails, memory still matches storage.
            await self._persist(rotated, root)
            if self._keyring is keyring:  # not sealed while we were writing
                self._keyring = rotated
                self._encryptions = 0
            return rotated.active.number

    async def reload_keyring(self) -> None:
        """Re-read the keyring from storage: another HA node may have rotated it.

        Raises InvalidKeyError when the root key held since unseal no longer
        opens it (the root key itself was replaced elsewhere).
        """
        async with self._lock:
            self._require_unsealed()
            root = self._root
            assert root is not None
            blob = await self._physical.get(KEYRING_PATH)
            if blob is None:
                raise NotInitializedError()
            try:
                blob_term(blob)
                keyring = Keyring.from_json(decrypt_blob(root, blob, KEYRING_PATH.encode()))
            except (InvalidTag, ValueError):
                raise InvalidKeyError(AUTH_FAILED) from None
            if self._keyring is not None and set(keyring.terms) != set(self._keyring.terms):
                self._keyring = keyring
                self._encryptions = 0

    def key_status(self) -> dict[str, int | str]:
        active = self._require_unsealed().active
        return {
            "term": active.number,
            "install_time": format_time(active.install_time),
            "encryptions": self._encryptions,
        }

    # --- the Storage interface ---------------------------------------------

    async def get(self, key: str) -> bytes | None:
        self._require_unsealed()
        blob = await self._physical.get(key)
        if blob is None:
            return None
        # Look the keyring up after the read: a seal() meanwhile must win.
        return self._decrypt(self._require_unsealed(), key, blob)

    async def put(self, key: str, value: bytes) -> None:
        _check_writable(key)
        blob = self._encrypt(self._require_unsealed(), key, value)
        await self._physical.put(key, blob)

    async def delete(self, key: str) -> None:
        _check_writable(key)
        self._require_unsealed()
        await self._physical.delete(key)

    async def list(self, prefix: str) -> list[str]:
        # Keys are not secret and are stored as-is: listing passes straight through.
        self._require_unsealed()
        return await self._physical.list(prefix)

    async def scan(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        self._require_unsealed()
        return await self._physical.scan(prefix, after, limit)

    async def batch(self, ops: list[Op]) -> None:
        keyring = self._require_unsealed()
        sealed_ops = []
        for op in ops:
            _check_writable(op.key)
            value = None if op.value is None else self._encrypt(keyring, op.key, op.value)
            sealed_ops.append(Op(op.key, value))
        await self._physical.batch(sealed_ops)

    async def close(self) -> None:
        self.seal()
        await self._physical.close()

    # --- internals ---------------------------------------------------------

    def _require_unsealed(self) -> Keyring:
        keyring = self._keyring
        if keyring is None:
            raise SealedError()
        return keyring

    def _encrypt(self, keyring: Keyring, key: str, value: bytes) -> bytes:
        active = keyring.active
        blob = encrypt_blob(active.aead, active.number, bytes(value), key.encode())
        self._encryptions += 1
        return blob

    def _decrypt(self, keyring: Keyring, key: str, blob: bytes) -> bytes:
        try:
            number = blob_term(blob)
        except ValueError as exc:
            raise CorruptValueError(f"value at {key!r}: {exc}") from None
        term = keyring.terms.get(number)
        if term is None:
            raise CorruptValueError(f"value at {key!r}: no key for term {number}")
        try:
            return decrypt_blob(term.aead, blob, key.encode())
        except InvalidTag:
            raise CorruptValueError(f"value at {key!r}: message authentication failed") from None

    async def _persist(self, keyring: Keyring, root: AESGCM) -> None:
        blob = encrypt_blob(root, ROOT_TERM, keyring.to_json(), KEYRING_PATH.encode())
        await self._physical.put(KEYRING_PATH, blob)


def _check_writable(key: str) -> None:
    if key in RESERVED_PATHS:
        raise ValueError(f"cannot write reserved storage key {key!r} through the barrier")
