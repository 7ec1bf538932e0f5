"""Shamir secret sharing over GF(2^8), in Vault's share format."""

from __future__ import annotations

import itertools
import os

import pytest

from strongroom.barrier import shamir


def _slow_mul(a: int, b: int) -> int:
    """Carry-less multiply reduced by 0x11b, bit by bit: the reference for the tables."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return product


def test_table_multiplication_matches_the_aes_field() -> None:
    for a in range(256):
        for b in range(256):
            assert shamir._mul(a, b) == _slow_mul(a, b)


@pytest.mark.parametrize(
    ("parts", "threshold"), [(2, 2), (3, 2), (5, 3), (7, 7), (10, 4), (255, 3)]
)
def test_round_trip(parts: int, threshold: int) -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, parts, threshold)
    assert len(shares) == parts
    assert all(len(share) == 33 for share in shares)
    xs = [share[-1] for share in shares]
    assert len(set(xs)) == parts and 0 not in xs
    assert shamir.combine(shares[:threshold]) == secret
    assert shamir.combine(shares) == secret


@pytest.mark.parametrize(("parts", "threshold"), [(5, 3), (6, 4), (4, 2)])
def test_every_threshold_subset_recovers(parts: int, threshold: int) -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, parts, threshold)
    for subset in itertools.permutations(shares, threshold):
        assert shamir.combine(list(subset)) == secret


def test_fewer_than_threshold_gives_a_different_value() -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, 5, 3)
    for subset in itertools.combinations(shares, 2):
        assert shamir.combine(list(subset)) != secret


def test_share_layout_is_y_bytes_then_x() -> None:
    # Hand-made shares of f(x) = 0x42 + 3x, where 3*2 = 6 and 3*3 = 5 in GF(2^8)
    # and addition is XOR: f(2) = 0x44, f(3) = 0x47. Pins the format and the field.
    assert shamir.combine([b"\x44\x02", b"\x47\x03"]) == b"\x42"
    # f(x) = 0x42 + x at x = 1 and 2
    assert shamir.combine([b"\x43\x01", b"\x40\x02"]) == b"\x42"


def test_shares_are_random() -> None:
    secret = b"same secret"
    assert shamir.split(secret, 3, 2) != shamir.split(secret, 3, 2)


def test_duplicate_share_rejected() -> None:
    shares = shamir.split(os.urandom(16), 3, 2)
    with pytest.raises(ValueError, match="duplicate"):
        shamir.combine([shares[0], shares[0]])


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([], "less than two"),
        ([b"\x01\x02"], "less than two"),
        ([b"\x01\x02", b"\x01\x02\x03"], "same length"),
        ([b"\x01", b"\x02"], "at least two bytes"),
    ],
)
def test_combine_rejects_malformed_input(shares: list[bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        shamir.combine(shares)


@pytest.mark.parametrize(("parts", "threshold"), [(3, 1), (2, 3), (256, 2), (1, 1), (0, 0)])
def test_split_validates_arguments(parts: int, threshold: int) -> None:
    with pytest.raises(ValueError):
        shamir.split(b"secret", parts, threshold)


def test_split_rejects_empty_secret() -> None:
    with pytest.raises(ValueError, match="empty"):
        shamir.split(b"", 3, 2)
