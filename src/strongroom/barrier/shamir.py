"""Shamir's secret sharing over GF(2^8), share-compatible with Vault's unseal keys.

Each secret byte is the constant term of its own random polynomial of degree
threshold-1; a share holds that polynomial evaluated at one x for every byte,
followed by a single trailing byte holding x. Any `threshold` shares fix every
polynomial (Lagrange interpolation at 0 recovers the bytes); fewer reveal nothing.
"""

from __future__ import annotations

import secrets

# GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1.
_POLY = 0x11B
# 0x03 generates the multiplicative group of this field, so every non-zero
# element is 3^k for exactly one k in 0..254.
_GENERATOR = 0x03


def _build_tables() -> tuple[list[int], list[int]]:
    """EXP[k] = 3^k, LOG[3^k] = k. EXP is doubled so EXP[LOG a + LOG b] needs no mod."""
    exp = [0] * 510
    log = [0] * 256
    value = 1
    for k in range(255):
        exp[k] = value
        log[value] = k
        # value *= 3, i.e. value ^ (value * 2), reduced by the field polynomial
        doubled = value << 1
        if doubled & 0x100:
            doubled ^= _POLY
        value ^= doubled
    for k in range(255, 510):
        exp[k] = exp[k - 255]
    return exp, log


_EXP, _LOG = _build_tables()


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(256)")
    if a == 0:
        return 0
    return _EXP[_LOG[a] + 255 - _LOG[b]]


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    """Split `secret` into `parts` shares, any `threshold` of which recover it."""
    if not 2 <= threshold <= parts <= 255:
        raise ValueError(
            f"invalid split: need 2 <= threshold <= parts <= 255, "
            f"got parts={parts} threshold={threshold}"
        )
    if not secret:
        raise ValueError("cannot split an empty secret")

    rng = secrets.SystemRandom()
    xs = rng.sample(range(1, 256), parts)  # distinct and non-zero: f(0) is the secret
    shares = [bytearray(len(secret) + 1) for _ in range(parts)]
    for share, x in zip(shares, xs, strict=True):
        share[-1] = x

    for i, byte in enumerate(secret):
        # coefficients[0] is the secret byte; the rest are uniformly random.
        coefficients = [byte, *secrets.token_bytes(threshold - 1)]
        for share, x in zip(shares, xs, strict=True):
            share[i] = _evaluate(coefficients, x)
    return [bytes(share) for share in shares]


def _evaluate(coefficients: list[int], x: int) -> int:
    """Horner's rule: c0 + x*(c1 + x*(c2 + ...)); addition in GF(2^8) is XOR."""
    log_x = _LOG[x]  # x is never 0 here
    y = 0
    for c in reversed(coefficients):
        y = (0 if y == 0 else _EXP[_LOG[y] + log_x]) ^ c
    return y


def combine(shares: list[bytes]) -> bytes:
    """Recover the secret from `threshold` or more shares made by `split`.

    With fewer than the threshold this returns a wrong value rather than an
    error: nothing in the shares says what the threshold was.
    """
    if len(shares) < 2:
        raise ValueError("less than two shares cannot be used to reconstruct the secret")
    length = len(shares[0])
    if length < 2:
        raise ValueError("shares must be at least two bytes")
    if any(len(share) != length for share in shares):
        raise ValueError("all shares must be the same length")
    xs = [share[-1] for share in shares]
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate share detected")
    if 0 in xs:
        raise ValueError("invalid share: x coordinate is zero")

    weights = _lagrange_weights_at_zero(xs)
    secret = bytearray(length - 1)
    for i in range(length - 1):
        acc = 0
        for share, w in zip(shares, weights, strict=True):
            acc ^= _mul(share[i], w)
        secret[i] = acc
    return bytes(secret)


def _lagrange_weights_at_zero(xs: list[int]) -> list[int]:
    """w_i = prod_{j != i} x_j / (x_j - x_i), so f(0) = sum_i y_i * w_i.

    They depend only on the x coordinates, so they are computed once, not per byte.
    Subtraction in GF(2^8) is XOR.
    """
    weights = []
    for i, xi in enumerate(xs):
        w = 1
        for j, xj in enumerate(xs):
            if j != i:
                w = _mul(w, _div(xj, xj ^ xi))
        weights.append(w)
    return weights
