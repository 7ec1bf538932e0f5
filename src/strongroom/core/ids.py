"""Random identifiers in the shapes Vault clients expect."""

from __future__ import annotations

import random
import secrets
import string

_BASE62 = (string.ascii_letters + string.digits).encode()
# Bytes below 248 (= 4 * 62) map onto the alphabet without bias; the rest are dropped.
_TO_BASE62 = bytes(_BASE62[b % 62] if b < 248 else 0 for b in range(256))
# Request IDs only need to be unique, not secret: a seeded PRNG is enough, and
# it spares a getrandom() system call on every response.
_REQUEST_IDS = random.Random(secrets.randbits(128))


def base62(n: int = 24) -> str:
    """`n` characters of [A-Za-z0-9] from the OS's CSPRNG (tokens, accessors)."""
    out = b""
    while len(out) < n:
        out += secrets.token_bytes(n + 8).translate(_TO_BASE62).replace(b"\0", b"")
    return out[:n].decode()


def request_id() -> str:
    """A random (version 4) UUID."""
    h = f"{_REQUEST_IDS.getrandbits(128) & _V4_MASK | _V4_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_V4_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_V4_BITS = (0x4 << 76) | (0x2 << 62)
