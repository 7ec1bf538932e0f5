"""Unseal-key rotation (sys/rekey, sys/rotate/root), root generation, and remount's leases."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from strongroom.core.core import Core
from strongroom.core.errors import BadRequest, MethodNotAllowed, PermissionDenied, Sealed
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.core.sys_generate_root import OTP_LENGTH, decode_token, encode_token
from strongroom.engines import register_builtin
from strongroom.storage.inmem import InmemStorage
from tests.support import counting_engine

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST


class Env:
    def __init__(self, core: Core, root: str, keys: list[bytes]) -> None:
        self.core, self.root, self.keys = core, root, keys

    async def __call__(
        self, op: Operation, path: str, data: dict | None = None, *, token: str = ""
    ) -> Response:
        req = Request(operation=op, path=path, data=data or {}, client_token=token)
        return await self.core.handle(req)

    async def raw(self, op: Operation, path: str, data: dict | None = None) -> dict[str, Any]:
        resp = await self(op, path, data)
        assert resp.raw is not None
        return resp.raw

    async def reseal_with(self, keys: list[bytes]) -> None:
        await self.core.seal()
        for key in keys:
            await self.core.submit_unseal_key(key)


async def make_env(shares: int, threshold: int) -> Env:
    core = Core(InmemStorage())
    core.run_scheduler = False
    register_builtin(core)
    counting_engine.register(core)
    keys, root = await core.initialize(shares, threshold)
    await core.unseal_with_shares(keys[:threshold])
    return Env(core, root, keys)


def hexkeys(keys: list[bytes]) -> list[str]:
    return [k.hex() for k in keys]


async def test_rekey_5_3_to_3_2_then_unseal_with_new_keys() -> None:
    env = await make_env(5, 3)
    status = await env.raw(R, "sys/rekey/init")
    assert status == {
        "nonce": "",
        "started": False,
        "t": 0,
        "n": 0,
        "progress": 0,
        "required": 3,
        "pgp_fingerprints": None,
        "backup": False,
        "verification_required": False,
    }
    started = await env.raw(U, "sys/rekey/init", {"secret_shares": 3, "secret_threshold": 2})
    nonce = started["nonce"]
    assert started["started"] and (started["t"], started["n"], started["required"]) == (2, 3, 3)
    old = hexkeys(env.keys)
    first = await env.raw(U, "sys/rekey/update", {"key": old[0], "nonce": nonce})
    assert first["progress"] == 1 and first["nonce"] == nonce
    await env.raw(U, "sys/rekey/update", {"key": old[3], "nonce": nonce})
    done = await env.raw(U, "sys/rekey/update", {"key": old[4], "nonce": nonce})
    assert done["complete"] is True and done["nonce"] == nonce
    assert len(done["keys"]) == 3 and len(done["keys_base64"]) == 3
    assert "verification_nonce" not in done
    new = [bytes.fromhex(k) for k in done["keys"]]
    assert [base64.b64decode(k) for k in done["keys_base64"]] == new
    assert (await env.raw(R, "sys/seal-status"))["t"] == 2
    assert (await env.raw(R, "sys/rekey/init"))["started"] is False
    # The old shares no longer open anything; two new ones do.
    await env.core.seal()
    await env.core.submit_unseal_key(env.keys[0])
    with pytest.raises(BadRequest, match="invalid key"):
        await env.core.submit_unseal_key(env.keys[1])  # the new threshold is 2
    await env.core.submit_unseal_key(new[2])
    await env.core.submit_unseal_key(new[0])
    assert not env.core.sealed
    assert (await env(R, "auth/token/lookup-self", token=env.root)).data is not None


async def test_rekey_bad_input_changes_nothing() -> None:
    env = await make_env(3, 2)
    for data, message in [
        ({"secret_shares": 3, "secret_threshold": 4}, "threshold cannot be larger than shares"),
        ({"secret_shares": 0, "secret_threshold": 1}, "shares must be at least one"),
        ({"secret_shares": 2, "secret_threshold": 2, "pgp_keys": ["k1", "k2"]}, "not supported"),
        ({"secret_shares": 2, "secret_threshold": 2, "backup": True}, "cannot request a backup"),
    ]:
        with pytest.raises(BadRequest, match=message):
            await env(U, "sys/rekey/init", data)
        assert (await env.raw(R, "sys/rekey/init"))["started"] is False
    nonce = (await env.raw(U, "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1}))[
        "nonce"
    ]
    with pytest.raises(BadRequest, match="rekey already in progress"):
        await env(U, "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1})
    old = hexkeys(env.keys)
    with pytest.raises(BadRequest, match=f'nonce for this rekey operation is "{nonce}"'):
        await env(U, "sys/rekey/update", {"key": old[0], "nonce": "wrong"})
    with pytest.raises(BadRequest, match="'key' must be specified"):
        await env(U, "sys/rekey/update", {"nonce": nonce})
    with pytest.raises(BadRequest, match="valid hex or base64"):
        await env(U, "sys/rekey/update", {"key": "!!", "nonce": nonce})
    with pytest.raises(BadRequest, match="shorter than minimum 16 bytes"):
        await env(U, "sys/rekey/update", {"key": "abcd", "nonce": nonce})
    assert (await env.raw(R, "sys/rekey/init"))["progress"] == 0
    await env(U, "sys/rekey/update", {"key": old[0], "nonce": nonce})
    with pytest.raises(BadRequest, match="already been provided"):
        await env(U, "sys/rekey/update", {"key": old[0], "nonce": nonce})
    # A wrong share: the combination fails, progress starts over, the attempt stays.
    with pytest.raises(BadRequest, match="root key verification failed"):
        await env(
            U, "sys/rekey/update", {"key": (b"\x01" * 32 + env.keys[1][-1:]).hex(), "nonce": nonce}
        )
    status = await env.raw(R, "sys/rekey/init")
    assert status["started"] and status["progress"] == 0 and status["nonce"] == nonce
    assert (await env.raw(R, "sys/seal-status"))["n"] == 3
    assert (await env(D, "sys/rekey/init")).raw is None
    assert (await env.raw(R, "sys/rekey/init"))["started"] is False
    with pytest.raises(BadRequest, match="no barrier rekey in progress"):
        await env(U, "sys/rekey/update", {"key": old[0], "nonce": nonce})
    with pytest.raises(MethodNotAllowed):
        await env(Operation.PATCH, "sys/rekey/init")


async def test_rekey_with_verification() -> None:
    env = await make_env(1, 1)
    nonce = (
        await env.raw(
            U,
            "sys/rekey/init",
            {"secret_shares": 3, "secret_threshold": 2, "require_verification": True},
        )
    )["nonce"]
    with pytest.raises(BadRequest, match="no rekey verification in progress"):
        await env(U, "sys/rekey/verify", {"key": env.keys[0].hex(), "nonce": "x"})
    done = await env.raw(U, "sys/rekey/update", {"key": env.keys[0].hex(), "nonce": nonce})
    vnonce = done["verification_nonce"]
    assert done["verification_required"] is True and vnonce
    new = done["keys"]
    # Not in force yet: the old key still unseals.
    assert (await env.raw(R, "sys/seal-status"))["n"] == 1
    with pytest.raises(BadRequest, match="verification must be performed"):
        await env(U, "sys/rekey/update", {"key": env.keys[0].hex(), "nonce": nonce})
    status = await env.raw(R, "sys/rekey/verify")
    assert status == {"nonce": vnonce, "started": True, "t": 2, "n": 3, "progress": 0}
    with pytest.raises(BadRequest, match="nonce for this verify operation"):
        await env(U, "sys/rekey/verify", {"key": new[0], "nonce": "bad"})
    # Shares of another key do not verify.
    other = await make_env(3, 2)
    await env(U, "sys/rekey/verify", {"key": other.keys[0].hex(), "nonce": vnonce})
    with pytest.raises(BadRequest, match="incorrect key shares"):
        await env(U, "sys/rekey/verify", {"key": other.keys[1].hex(), "nonce": vnonce})
    restarted = await env.raw(D, "sys/rekey/verify")
    assert restarted["nonce"] != vnonce and restarted["progress"] == 0
    vnonce = restarted["nonce"]
    part = await env.raw(U, "sys/rekey/verify", {"key": new[1], "nonce": vnonce})
    assert part["progress"] == 1
    final = await env.raw(U, "sys/rekey/verify", {"key": new[2], "nonce": vnonce})
    assert final == {"nonce": vnonce, "complete": True}
    await env.reseal_with([bytes.fromhex(new[0]), bytes.fromhex(new[2])])
    assert not env.core.sealed


async def test_rotate_root_envelope_routes_need_a_token() -> None:
    env = await make_env(1, 1)
    with pytest.raises(PermissionDenied):
        await env(R, "sys/rotate/root/init")
    resp = await env(R, "sys/rotate/root/init", token=env.root)
    assert resp.data == {"n": 0, "required": 1, "started": False, "t": 0}
    resp = await env(
        U, "sys/rotate/root/init", {"secret_shares": 2, "secret_threshold": 2}, token=env.root
    )
    assert resp.data["started"] is True and resp.data["verification_nonce"] == ""
    with pytest.raises(BadRequest, match="missing required field 'nonce'"):
        await env(U, "sys/rotate/root/update", {"key": env.keys[0].hex()}, token=env.root)
    done = await env(
        U,
        "sys/rotate/root/update",
        {"key": env.keys[0].hex(), "nonce": resp.data["nonce"]},
        token=env.root,
    )
    assert done.data["complete"] is True and len(done.data["keys"]) == 2
    assert list(done.data) == sorted(done.data)
    await env.reseal_with([bytes.fromhex(k) for k in done.data["keys"]])
    assert not env.core.sealed


async def test_rekey_backup_is_refused_clearly() -> None:
    env = await make_env(1, 1)
    with pytest.raises(BadRequest, match="no backed-up keys found"):
        await env(R, "sys/rekey/backup", token=env.root)
    with pytest.raises(PermissionDenied):
        await env(R, "sys/rekey/backup")


async def test_seal_abandons_a_rekey() -> None:
    env = await make_env(1, 1)
    await env(U, "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1})
    await env.core.seal()
    with pytest.raises(Sealed):
        await env(R, "sys/rekey/init")
    await env.core.submit_unseal_key(env.keys[0])
    assert (await env.raw(R, "sys/rekey/init"))["started"] is False


# --------------------------------------------------------------------------- generate-root


def test_otp_encoding_round_trip() -> None:
    token = "hvs." + "a" * 33
    otp = "Z" * OTP_LENGTH
    encoded = encode_token(token, otp)
    assert "=" not in encoded and decode_token(encoded, otp) == token
    with pytest.raises(ValueError, match="length of byte slices is not equivalent: 2 != 1"):
        decode_token("abc", "x")


async def test_generate_root_with_otp() -> None:
    env = await make_env(3, 2)
    status = await env.raw(R, "sys/generate-root/attempt")
    assert status["started"] is False and status["required"] == 2
    assert status["otp_length"] == OTP_LENGTH == len(env.root)
    otp = "k" * OTP_LENGTH
    with pytest.raises(BadRequest, match="OTP string has incorrect length"):
        await env(U, "sys/generate-root/attempt", {"otp": "short"})
    with pytest.raises(BadRequest, match="not supported"):
        await env(U, "sys/generate-root/attempt", {"pgp_key": "abc"})
    started = await env.raw(U, "sys/generate-root/attempt", {"otp": otp})
    assert started["started"] is True and started["otp"] == ""
    nonce = started["nonce"]
    with pytest.raises(BadRequest, match="root generation already in progress"):
        await env(U, "sys/generate-root/attempt", {"otp": otp})
    with pytest.raises(BadRequest, match="incorrect nonce supplied"):
        await env(U, "sys/generate-root/update", {"key": env.keys[0].hex(), "nonce": "x"})
    step = await env.raw(U, "sys/generate-root/update", {"key": env.keys[0].hex(), "nonce": nonce})
    assert step["progress"] == 1 and step["complete"] is False
    done = await env.raw(U, "sys/generate-root/update", {"key": env.keys[2].hex(), "nonce": nonce})
    assert done["complete"] is True and done["encoded_token"] == done["encoded_root_token"]
    token = decode_token(done["encoded_token"], otp)
    me = await env(R, "auth/token/lookup-self", token=token)
    assert me.data["policies"] == ["root"] and me.data["path"] == "auth/token/root"
    assert (await env.raw(R, "sys/generate-root/attempt"))["started"] is False


async def test_generate_root_server_made_otp_and_wrong_key() -> None:
    env = await make_env(1, 1)
    started = await env.raw(U, "sys/generate-root/attempt", {})
    otp = started["otp"]
    assert len(otp) == OTP_LENGTH
    with pytest.raises(BadRequest, match="root generation aborted"):
        await env(U, "sys/generate-root/update", {"key": "11" * 32, "nonce": started["nonce"]})
    done = await env.raw(
        U, "sys/generate-root/update", {"key": env.keys[0].hex(), "nonce": started["nonce"]}
    )
    assert decode_token(done["encoded_token"], otp).startswith("hvs.")
    await env(U, "sys/generate-root/attempt", {})
    await env(D, "sys/generate-root/attempt")
    assert (await env.raw(R, "sys/generate-root/attempt"))["started"] is False


async def test_generate_root_token_envelope_routes() -> None:
    env = await make_env(1, 1)
    with pytest.raises(PermissionDenied):
        await env(R, "sys/generate-root-token/attempt")
    resp = await env(U, "sys/generate-root-token/attempt", {}, token=env.root)
    data = resp.data
    assert set(data) == {
        "complete", "nonce", "otp", "otp_length", "pgp_fingerprint", "progress", "required",
        "started",
    }  # fmt: skip
    with pytest.raises(BadRequest, match="key is required"):
        await env(U, "sys/generate-root-token/update", {"nonce": data["nonce"]}, token=env.root)
    done = await env(
        U,
        "sys/generate-root-token/update",
        {"key": base64.b64encode(env.keys[0]).decode(), "nonce": data["nonce"]},
        token=env.root,
    )
    token = decode_token(done.data["encoded_token"], data["otp"])
    assert (await env(R, "auth/token/lookup-self", token=token)).data["policies"] == ["root"]


# --------------------------------------------------------------------------- remount


async def test_remount_keeps_data_and_moves_leases() -> None:
    env = await make_env(1, 1)
    root = env.root
    await env.core.enable_mount(MountEntry.new("kvx/", "kv"))
    await env.core.enable_mount(MountEntry.new("counting/", "counting"))
    await env(U, "kvx/a", {"v": "1"}, token=root)
    cred = await env(R, "counting/creds/r", token=root)
    lease_id = cred.secret.lease_id
    assert lease_id.startswith("counting/creds/r/")
    await env(U, "sys/remount", {"from": "kvx", "to": "kvy"}, token=root)
    await env(U, "sys/remount", {"from": "counting", "to": "moved"}, token=root)
    assert (await env(R, "kvy/a", token=root)).data == {"v": "1"}
    moved = lease_id.replace("counting/", "moved/", 1)
    assert await env.core.leases.get(lease_id) is None
    lease = await env.core.leases.get(moved)
    assert lease is not None and lease.path == "moved/creds/r"
    renewed = await env(U, "sys/leases/renew", {"lease_id": moved}, token=root)
    assert renewed.secret.lease_id == moved
    await env(U, "sys/leases/revoke", {"lease_id": moved}, token=root)
    revoked = await env(R, "moved/revoked", token=root)
    assert revoked.data["total"] == 1  # the moved lease reached its backend
    assert await env.core.leases.get(moved) is None
    for data, message in [
        ({"from": "kvy", "to": "auth/kvz"}, "cannot remount to destination"),
        ({"from": "kvy", "to": "sys/x"}, "cannot remount to destination"),
        ({"from": "nope", "to": "x"}, "no matching mount"),
    ]:
        with pytest.raises(BadRequest, match=message):
            await env(U, "sys/remount", data, token=root)


async def test_auth_remount_moves_token_leases() -> None:
    env = await make_env(1, 1)
    root = env.root
    await env(U, "sys/auth/userpass", {"type": "userpass"}, token=root)
    await env(U, "auth/userpass/users/al", {"password": "pw"}, token=root)
    login = await env(U, "auth/userpass/login/al", {"password": "pw"})
    token = login.auth["client_token"]
    with pytest.raises(BadRequest, match="cannot remount auth mount to non-auth mount"):
        await env(U, "sys/remount", {"from": "auth/userpass", "to": "up2"}, token=root)
    await env(U, "sys/remount", {"from": "auth/userpass", "to": "auth/up2"}, token=root)
    keys = (await env(L, "sys/leases/lookup/auth/up2/login/al/", token=root)).data["keys"]
    assert len(keys) == 1
    me = await env(R, "auth/token/lookup-self", token=token)
    assert me.data["path"] == "auth/up2/login/al"
    renewed = await env(U, "auth/token/renew-self", {"increment": "1h"}, token=token)
    assert renewed.auth["lease_duration"] == 3600
