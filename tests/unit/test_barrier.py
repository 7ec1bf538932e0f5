"""The barrier (encryption above physical storage) and the Shamir seal."""

from __future__ import annotations

import itertools
import json
import os
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from strongroom.barrier import (
    AlreadyInitializedError,
    Barrier,
    CorruptValueError,
    InvalidKeyError,
    NotInitializedError,
    SealConfig,
    SealConfigError,
    SealedError,
    ShamirSeal,
)
from strongroom.barrier import barrier as barrier_module
from strongroom.storage import Op
from strongroom.storage.file import FileStorage
from strongroom.storage.inmem import InmemStorage

ROOT_KEY = bytes(range(32))
AUTH_FAILED = "failed to decrypt keys from storage: cipher: message authentication failed"


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def physical() -> InmemStorage:
    return InmemStorage()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 5, 45, 52, 255684, tzinfo=UTC))


@pytest.fixture
async def barrier(physical: InmemStorage, clock: FakeClock) -> AsyncIterator[Barrier]:
    b = Barrier(physical, clock=clock)
    await b.initialize(ROOT_KEY)
    await b.unseal(ROOT_KEY)
    yield b


def _term_of(blob: bytes) -> int:
    version, term = struct.unpack(">BI", blob[:5])
    assert version == 1
    return term


# --- init / unseal / seal -------------------------------------------------------


async def test_initialize_creates_keyring_and_stays_sealed(physical: InmemStorage) -> None:
    b = Barrier(physical)
    assert not await b.initialized()
    assert b.sealed
    await b.initialize(ROOT_KEY)
    assert await b.initialized()
    assert b.sealed
    assert await physical.get("core/keyring") is not None
    with pytest.raises(AlreadyInitializedError, match="Vault is already initialized"):
        await b.initialize(ROOT_KEY)


async def test_unseal_with_wrong_key_fails(physical: InmemStorage) -> None:
    b = Barrier(physical)
    await b.initialize(ROOT_KEY)
    with pytest.raises(InvalidKeyError) as excinfo:
        await b.unseal(os.urandom(32))
    assert str(excinfo.value) == AUTH_FAILED
    assert b.sealed
    await b.unseal(ROOT_KEY)
    assert not b.sealed


async def test_unseal_before_initialize(physical: InmemStorage) -> None:
    with pytest.raises(NotInitializedError):
        await Barrier(physical).unseal(ROOT_KEY)


@pytest.mark.parametrize(
    "operation",
    [
        lambda b: b.get("x"),
        lambda b: b.put("x", b"v"),
        lambda b: b.delete("x"),
        lambda b: b.list(""),
        lambda b: b.batch([Op("x", b"v")]),
        lambda b: b.rotate(),
    ],
)
async def test_data_operations_refused_while_sealed(barrier: Barrier, operation) -> None:  # type: ignore[no-untyped-def]
    await barrier.put("x", b"v")
    barrier.seal()
    assert barrier.sealed
    with pytest.raises(SealedError, match=r"^Vault is sealed$"):
        await operation(barrier)
    with pytest.raises(SealedError):
        barrier.key_status()


async def test_reseal_and_unseal_keeps_data(barrier: Barrier, physical: InmemStorage) -> None:
    await barrier.put("secret/a", b"alpha")
    barrier.seal()
    fresh = Barrier(physical)  # as after a restart
    await fresh.unseal(ROOT_KEY)
    assert await fresh.get("secret/a") == b"alpha"


# --- encryption -----------------------------------------------------------------


async def test_values_are_encrypted_in_physical_storage(
    barrier: Barrier, physical: InmemStorage
) -> None:
    plaintext = b"my database password"
    await barrier.put("logical/abc/creds", plaintext)
    assert await barrier.get("logical/abc/creds") == plaintext
    blob = await physical.get("logical/abc/creds")  # same key, no renaming
    assert blob is not None
    assert plaintext not in blob
    # version | term | nonce | ciphertext | 16-byte tag
    assert len(blob) == 1 + 4 + 12 + len(plaintext) + 16
    assert _term_of(blob) == 1


async def test_each_write_uses_a_fresh_nonce(barrier: Barrier, physical: InmemStorage) -> None:
    await barrier.put("a", b"same")
    first = await physical.get("a")
    await barrier.put("a", b"same")
    second = await physical.get("a")
    assert first is not None and second is not None
    assert first[5:17] != second[5:17]
    assert first != second


async def test_ciphertext_moved_to_another_key_fails(
    barrier: Barrier, physical: InmemStorage
) -> None:
    await barrier.put("a", b"belongs to a")
    blob = await physical.get("a")
    assert blob is not None
    await physical.put("b", blob)
    with pytest.raises(CorruptValueError) as excinfo:
        await barrier.get("b")
    assert "belongs to a" not in str(excinfo.value)


async def test_tampered_ciphertext_fails(barrier: Barrier, physical: InmemStorage) -> None:
    await barrier.put("a", b"value")
    blob = bytearray(await physical.get("a") or b"")
    blob[-1] ^= 1
    await physical.put("a", bytes(blob))
    with pytest.raises(CorruptValueError):
        await barrier.get("a")


async def test_missing_value_and_delete_and_list(barrier: Barrier) -> None:
    assert await barrier.get("nope") is None
    await barrier.put("dir/one", b"1")
    await barrier.put("dir/sub/two", b"2")
    assert await barrier.list("dir/") == ["one", "sub/"]
    await barrier.delete("dir/one")
    assert await barrier.get("dir/one") is None


async def test_batch_encrypts_puts_and_applies_deletes(
    barrier: Barrier, physical: InmemStorage
) -> None:
    await barrier.put("old", b"x")
    await barrier.batch([Op("n1", b"plain-one"), Op("n2", b"plain-two"), Op("old", None)])
    assert await barrier.get("n1") == b"plain-one"
    assert await barrier.get("n2") == b"plain-two"
    assert await barrier.get("old") is None
    assert b"plain-one" not in (await physical.get("n1") or b"")


async def test_reserved_keys_cannot_be_written_through_the_barrier(barrier: Barrier) -> None:
    for key in ("core/keyring", "core/root-key", "core/seal-config"):
        with pytest.raises(ValueError):
            await barrier.put(key, b"clobber")
        with pytest.raises(ValueError):
            await barrier.delete(key)
    barrier.seal()
    await barrier.unseal(ROOT_KEY)  # keyring intact


async def test_aead_built_once_per_term_not_per_call(
    barrier: Barrier, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = []
    real = barrier_module.AESGCM

    def counting(key: bytes) -> object:
        built.append(1)
        return real(key)

    monkeypatch.setattr(barrier_module, "AESGCM", counting)
    for i in range(20):
        await barrier.put(f"k{i}", b"v")
        assert await barrier.get(f"k{i}") == b"v"
    assert built == []


async def test_plaintext_never_reaches_the_disk(tmp_path: Path) -> None:
    marker = b"PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()
    value = marker * 64
    b = Barrier(FileStorage(str(tmp_path)))
    await b.initialize(ROOT_KEY)
    await b.unseal(ROOT_KEY)
    await b.put("secret/data/app", value)
    await b.batch([Op("secret/data/batched", value)])
    await b.rotate()
    await b.put("secret/data/after-rotate", value)
    assert await b.get("secret/data/app") == value

    def files_containing_marker() -> list[Path]:
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert files
        return [p for p in files if marker in p.read_bytes()]

    assert files_containing_marker() == []  # db and WAL while open
    await b.close()
    assert files_containing_marker() == []  # after the WAL is checkpointed


async def test_close_closes_physical(tmp_path: Path) -> None:
    physical = FileStorage(str(tmp_path))
    b = Barrier(physical)
    await b.close()
    assert b.sealed
    with pytest.raises(RuntimeError, match="closed"):
        await physical.get("x")


# --- keyring rotation and key status ---------------------------------------------


async def test_rotation_keeps_old_values_readable(barrier: Barrier, physical: InmemStorage) -> None:
    await barrier.put("old", b"written with term 1")
    assert await barrier.rotate() == 2
    await barrier.put("new", b"written with term 2")
    assert _term_of(await physical.get("old") or b"") == 1
    assert _term_of(await physical.get("new") or b"") == 2
    assert await barrier.get("old") == b"written with term 1"
    assert await barrier.get("new") == b"written with term 2"
    assert await barrier.rotate() == 3

    # The rotated keyring was persisted: a restarted barrier reads everything.
    restarted = Barrier(physical)
    await restarted.unseal(ROOT_KEY)
    assert restarted.key_status()["term"] == 3
    assert await restarted.get("old") == b"written with term 1"
    assert await restarted.get("new") == b"written with term 2"


async def test_key_status(barrier: Barrier, clock: FakeClock) -> None:
    assert barrier.key_status() == {
        "term": 1,
        "install_time": "2026-11-25T05:45:52.255684Z",
        "encryptions": 0,
    }
    await barrier.put("a", b"1")
    await barrier.batch([Op("b", b"2"), Op("c", b"3"), Op("a", None)])
    assert barrier.key_status()["encryptions"] == 3

    clock.now = datetime(2027, 1, 2, 3, 4, 5, 500000, tzinfo=UTC) + timedelta(hours=1)
    await barrier.rotate()
    assert barrier.key_status() == {
        "term": 2,
        "install_time": "2027-01-02T04:04:05.5Z",  # Go-style: trailing zeros dropped
        "encryptions": 0,
    }
    await barrier.put("d", b"4")
    assert barrier.key_status()["encryptions"] == 1


def test_format_time_whole_seconds_and_other_zones() -> None:
    from datetime import timezone

    plus_two = timezone(timedelta(hours=2))
    assert barrier_module.format_time(datetime(2026, 1, 1, 12, tzinfo=plus_two)) == (
        "2026-01-01T10:00:00Z"
    )


# --- the Shamir seal ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shares", "threshold", "reason"),
    [
        (0, 0, "shares must be at least one"),
        (0, 1, "shares must be at least one"),
        (1, 0, "threshold must be at least one"),
        (3, 1, "threshold must be greater than one for multiple shares"),
        (300, 1, "threshold must be greater than one for multiple shares"),
        (256, 2, "shares must be less than 256"),
        (300, 256, "shares must be less than 256"),
        (255, 256, "threshold must be less than 256"),
        (3, 4, "threshold cannot be larger than shares"),
        (1, 2, "threshold cannot be larger than shares"),
    ],
)
async def test_seal_config_validation(
    physical: InmemStorage, shares: int, threshold: int, reason: str
) -> None:
    with pytest.raises(SealConfigError) as excinfo:
        await ShamirSeal(physical).initialize(shares, threshold)
    assert str(excinfo.value) == f"invalid seal configuration: {reason}"
    assert isinstance(excinfo.value, ValueError)
    assert await physical.list("") == []  # nothing written


async def test_single_share_is_the_unseal_key(physical: InmemStorage) -> None:
    seal = ShamirSeal(physical)
    assert await seal.config() is None
    keys, root_key = await seal.initialize(1, 1)
    assert len(keys) == 1 and len(keys[0]) == 32 and len(root_key) == 32
    assert await seal.config() == SealConfig(secret_shares=1, secret_threshold=1, type="shamir")
    assert await seal.recover_root_key(keys) == root_key


async def test_seal_config_is_plain_json_in_physical_storage(physical: InmemStorage) -> None:
    await ShamirSeal(physical).initialize(5, 3)
    raw = await physical.get("core/seal-config")
    assert raw is not None
    doc = json.loads(raw)
    assert (doc["type"], doc["secret_shares"], doc["secret_threshold"]) == ("shamir", 5, 3)


async def test_root_key_is_stored_encrypted(physical: InmemStorage) -> None:
    keys, root_key = await ShamirSeal(physical).initialize(1, 1)
    stored = await physical.get("core/root-key")
    assert stored is not None
    assert root_key not in stored
    assert keys[0] not in stored


async def test_single_share_wrong_key_messages(physical: InmemStorage) -> None:
    seal = ShamirSeal(physical)
    await seal.initialize(1, 1)
    with pytest.raises(InvalidKeyError) as excinfo:
        await seal.recover_root_key([os.urandom(32)])
    assert str(excinfo.value) == f"invalid key: {AUTH_FAILED}"
    with pytest.raises(InvalidKeyError) as excinfo:
        await seal.recover_root_key([os.urandom(33)])
    assert str(excinfo.value) == (
        "invalid key: failed to setup unseal key: crypto/aes: invalid key size 33"
    )


async def test_split_shares_recover_root_key(physical: InmemStorage) -> None:
    seal = ShamirSeal(physical)
    keys, root_key = await seal.initialize(5, 3)
    assert len(keys) == 5
    assert all(len(k) == 33 for k in keys)
    for subset in itertools.combinations(keys, 3):
        assert await seal.recover_root_key(list(subset)) == root_key
    assert await seal.recover_root_key(keys) == root_key


async def test_too_few_or_wrong_shares_fail(physical: InmemStorage) -> None:
    seal = ShamirSeal(physical)
    keys, _ = await seal.initialize(5, 3)
    with pytest.raises(InvalidKeyError, match=r"^invalid key: "):
        await seal.recover_root_key(keys[:2])
    other_keys, _ = await ShamirSeal(InmemStorage()).initialize(5, 3)
    with pytest.raises(InvalidKeyError, match=f"^invalid key: {AUTH_FAILED}$"):
        await seal.recover_root_key(other_keys[:3])
    with pytest.raises(InvalidKeyError, match=r"^invalid key: .*duplicate"):
        await seal.recover_root_key([keys[0], keys[0], keys[1]])


async def test_recover_before_initialize(physical: InmemStorage) -> None:
    with pytest.raises(NotInitializedError):
        await ShamirSeal(physical).recover_root_key([os.urandom(32)])


async def test_seal_and_barrier_full_cycle(tmp_path: Path) -> None:
    physical = FileStorage(str(tmp_path))
    seal, b = ShamirSeal(physical), Barrier(physical)
    keys, root_key = await seal.initialize(3, 2)
    await b.initialize(root_key)
    await b.unseal(await seal.recover_root_key(keys[1:]))
    await b.put("secret/x", b"value")
    await b.close()

    physical = FileStorage(str(tmp_path))  # restart
    seal, b = ShamirSeal(physical), Barrier(physical)
    assert await b.initialized()
    assert b.sealed
    await b.unseal(await seal.recover_root_key([keys[2], keys[0]]))
    assert await b.get("secret/x") == b"value"
    await b.close()
