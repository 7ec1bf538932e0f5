"""Password hashing for userpass: Argon2id (argon2-cffi), off the event loop.

Parameters follow OWASP's Argon2id baseline (19 MiB, 2 passes, 1 lane),
about 30 ms per hash on a server core: memory-hard against GPU guessing, yet
cheap enough that a login burst does not starve the server. Hashes are PHC
strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) that carry their own
parameters, so raising them later still verifies old hashes, and a
successful login rehashes an outdated one.

Every verification runs in a worker thread (`asyncio.to_thread`): the event
loop never blocks on the KDF. A login for a user that does not exist verifies
against a dummy hash of the same cost, so both cases take the same time.
"""

from __future__ import annotations

import asyncio
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM)
_dummy_hash: str | None = None
_dummy_lock = threading.Lock()


def hash_password(password: str) -> str:
    """A fresh salted Argon2id hash (PHC string). Blocking: call via `hash_async`."""
    return _hasher.hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Whether `password` matches `encoded`. Blocking: call via `verify_async`."""
    try:
        return _hasher.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    try:
        return _hasher.check_needs_rehash(encoded)
    except InvalidHashError:
        return True


def dummy_hash() -> str:
    """A hash of a random password with the live parameters (made once, lazily)."""
    global _dummy_hash
    with _dummy_lock:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_urlsafe(24))
        return _dummy_hash


async def hash_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_async(encoded: str | None, password: str) -> bool:
    """Verify in a thread; `encoded=None` (no such user) costs the same and fails."""
    if encoded is None:
        dummy = await asyncio.to_thread(dummy_hash)
        await asyncio.to_thread(verify_password, dummy, password)
        return False
    return await asyncio.to_thread(verify_password, encoded, password)
