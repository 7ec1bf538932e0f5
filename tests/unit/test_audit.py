"""Audit devices: entry format and hashing, the hash chain, the broker's fail-closed rule."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from strongroom.core.audit import devices as devices_mod
from strongroom.core.audit.broker import AuditFailed
from strongroom.core.audit.chain import GENESIS, ChainState, chain_fields, line_hash, verify
from strongroom.core.audit.devices import FileDevice, parse_settings
from strongroom.core.audit.entry import RawEntry, RenderOptions, hmac_string, render
from strongroom.core.audit.formats import serialize
from strongroom.core.core import Core, CoreConfig
from strongroom.core.errors import AclDenied, BadRequest, NotFound, PermissionDenied
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines import register_builtin
from strongroom.storage.inmem import InmemStorage

R, U, L, D = Operation.READ, Operation.UPDATE, Operation.LIST, Operation.DELETE
SALT = b"salt"


# --------------------------------------------------------------------------- entries


def _entry(**kw: Any) -> RawEntry:
    base: dict[str, Any] = {
        "type": "response",
        "time": "2026-01-01T00:00:00Z",
        "auth": {"client_token": "tok", "accessor": "acc", "policies": ["root"]},
        "request": {
            "id": "r1",
            "client_token": "tok",
            "client_token_accessor": "acc",
            "path": "secret/data/x",
            "data": {"password": "hunter2", "n": 3, "nested": {"l": ["a", True]}, "keep": "k"},
        },
        "response": {
            "auth": {"client_token": "new", "accessor": "newacc"},
            "data": {"keys": ["a", "b"], "key_info": {"a": {}}, "secret": "s"},
            "wrap_info": {"token": "wt", "accessor": "wa", "ttl": 60},
        },
    }
    base.update(kw)
    return RawEntry(**base)


def test_render_hashes_every_string_and_the_tokens() -> None:
    doc = render(_entry(non_hmac_request_keys=frozenset({"keep"})), RenderOptions(SALT))
    h = lambda v: hmac_string(SALT, v)  # noqa: E731
    assert doc["auth"] == {"client_token": h("tok"), "accessor": h("acc"), "policies": ["root"]}
    req = doc["request"]
    assert req["client_token"] == h("tok") and req["client_token_accessor"] == h("acc")
    assert req["path"] == "secret/data/x"  # metadata stays readable
    assert req["data"] == {
        "password": h("hunter2"),
        "n": 3,
        "nested": {"l": [h("a"), True]},
        "keep": "k",
    }
    resp = doc["response"]
    assert resp["auth"] == {"client_token": h("new"), "accessor": h("newacc")}
    assert resp["wrap_info"] == {"token": h("wt"), "accessor": h("wa"), "ttl": 60}
    assert resp["data"]["secret"] == h("s")
    assert "hunter2" not in json.dumps(doc)
    assert h("x") == "hmac-sha256:" + __import__("hmac").new(SALT, b"x", "sha256").hexdigest()


def test_render_options() -> None:
    raw = render(_entry(), RenderOptions(SALT, log_raw=True))
    assert raw["request"]["data"]["password"] == "hunter2"
    assert raw["auth"]["client_token"] == "tok"
    clear_accessor = render(_entry(), RenderOptions(SALT, hmac_accessor=False))
    assert clear_accessor["auth"]["accessor"] == "acc"
    assert clear_accessor["auth"]["client_token"].startswith("hmac-sha256:")
    elided = render(_entry(is_list=True), RenderOptions(SALT, elide_list_responses=True))
    assert elided["response"]["data"]["keys"] == 2 and elided["response"]["data"]["key_info"] == 1
    not_list = render(_entry(), RenderOptions(SALT, elide_list_responses=True))
    assert isinstance(not_list["response"]["data"]["keys"], list)


def test_parse_settings() -> None:
    s = parse_settings("file", {"file_path": "/x", "mode": "0640", "format": "jsonx"})
    assert (s.file_path, s.mode, s.format, s.hmac_accessor) == ("/x", 0o640, "jsonx", True)
    assert parse_settings("file", {"path": "/y"}).file_path == "/y"
    sock = parse_settings("socket", {"address": "127.0.0.1:9", "socket_type": "udp"})
    assert sock.socket_type == "udp" and sock.write_timeout == 2.0
    for kind, options, message in [
        ("nosuch", {}, 'unknown backend type: "nosuch"'),
        ("syslog", {}, 'unknown backend type: "syslog"'),
        ("file", {}, "file_path is required"),
        ("file", {"file_path": "/x", "log_raw": "maybe"}, 'parsing "maybe": invalid syntax'),
        ("file", {"file_path": "/x", "mode": "abc"}, 'parsing "abc": invalid syntax'),
        ("file", {"file_path": "/x", "format": "xml"}, 'unknown format type "xml"'),
        ("socket", {}, "address is required"),
        ("socket", {"address": "a:1", "socket_type": "sctp"}, 'unknown socket_type "sctp"'),
    ]:
        with pytest.raises(BadRequest, match=message):
            parse_settings(kind, options)


# --------------------------------------------------------------------------- chain


def _write_log(path: Path, count: int, *, start_prev: str = GENESIS, fmt: str = "json") -> None:
    prev, lines = start_prev, []
    for seq in range(1, count + 1):
        line = b"PFX" + serialize({"type": "request", "n": seq}, fmt, seq, prev)
        prev = line_hash(line)
        lines.append(line)
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_chain_intact_and_fields(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    _write_log(log, 5)
    first = log.read_bytes().split(b"\n")[0]
    assert chain_fields(first) == (1, GENESIS)
    result = verify([log])
    assert result.ok and result.entries == 5 and not result.notes


def test_chain_jsonx(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    _write_log(log, 3, fmt="jsonx")
    text = log.read_text()
    assert text.startswith('PFX<?xml version="1.0" encoding="UTF-8"?><json:object')
    assert '<json:number name="n">1</json:number>' in text
    assert verify([log]).ok
    lines = log.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b">2<", b">9<")
    log.write_bytes(b"\n".join(lines))
    problem = verify([log]).problem
    assert problem is not None and problem.line == 2


@pytest.mark.parametrize(
    ("damage", "line", "reason"),
    [
        (lambda ls: ls.__setitem__(2, ls[2].replace(b'"n":3', b'"n":4')), 3, "altered"),
        (lambda ls: ls.pop(3), 4, "1 entry missing before this line"),
        (lambda ls: ls.pop(0), 1, "missing at the start"),
        (lambda ls: (ls.pop(1), ls.pop(1)), 2, "2 entries missing"),
        (lambda ls: ls.insert(2, ls[1]), 3, "out of sequence"),
        (lambda ls: ls.__setitem__(1, b'{"not":"chained"}'), 2, "hash-chain fields"),
    ],
)
def test_chain_names_the_first_bad_line(
    tmp_path: Path, damage: Any, line: int, reason: str
) -> None:
    log = tmp_path / "a.log"
    _write_log(log, 6)
    lines = log.read_bytes().split(b"\n")[:-1]
    damage(lines)
    log.write_bytes(b"\n".join(lines) + b"\n")
    result = verify([log])
    assert result.problem is not None
    assert result.problem.line == line, result.problem
    assert reason in result.problem.reason


def test_chain_incomplete_last_line(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    _write_log(log, 3)
    log.write_bytes(log.read_bytes() + b'{"cut":')
    problem = verify([log]).problem
    assert problem is not None and problem.line == 4 and "incomplete" in problem.reason


def test_chain_across_rotated_files(tmp_path: Path) -> None:
    old, new = tmp_path / "a.log.1", tmp_path / "a.log"
    _write_log(old, 4)
    last = old.read_bytes().split(b"\n")[-2]
    _write_log(new, 2, start_prev=line_hash(last))
    assert verify([old, new]).ok
    alone = verify([new])
    assert alone.ok and "continues from an earlier file" in alone.notes[0]
    other = tmp_path / "other.log"
    _write_log(other, 2)
    broken = verify([other, new]).problem
    assert broken is not None and broken.line == 1 and "does not continue" in broken.reason


def test_chain_state_continues_an_existing_file(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    _write_log(log, 3)
    last = log.read_bytes().split(b"\n")[-2]
    state = ChainState()
    assert state.continue_from_file(log) is False
    assert (state.seq, state.prev) == (3, line_hash(last))
    log.write_bytes(log.read_bytes() + b'{"partial')
    state = ChainState()
    assert state.continue_from_file(log) is True
    assert (state.seq, state.prev) == (3, line_hash(last))
    assert ChainState().continue_from_file(tmp_path / "missing") is False


def test_chain_state_reads_long_lines(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    line1 = serialize({"blob": "x" * 200_000}, "json", 1, GENESIS)
    line2 = serialize({"blob": "y" * 150_000}, "json", 2, line_hash(line1))
    log.write_bytes(line1 + b"\n" + line2 + b"\n")
    state = ChainState()
    state.continue_from_file(log)
    assert (state.seq, state.prev) == (2, line_hash(line2))


# --------------------------------------------------------------------------- broker


class Env:
    def __init__(self, core: Core, root: str, keys: list[bytes], tmp: Path) -> None:
        self.core, self.root, self.keys, self.tmp = core, root, keys, tmp

    async def __call__(
        self, op: Operation, path: str, data: dict | None = None, *, token: str | None = None
    ) -> Response:
        req = Request(
            operation=op,
            path=path,
            data=data or {},
            client_token=self.root if token is None else token,
            remote_addr="127.0.0.1",
        )
        return await self.core.handle(req)

    async def enable(self, name: str = "file", **options: str) -> Path:
        log = self.tmp / f"{name}.log"
        options.setdefault("file_path", str(log))
        await self(U, f"sys/audit/{name}", {"type": "file", "options": options})
        return Path(options["file_path"])


def entries(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
async def env(tmp_path: Path) -> Any:
    core = Core(InmemStorage())
    core.run_scheduler = False
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    await core.enable_mount(MountEntry.new("secret/", "kv", options={"version": "2"}))
    e = Env(core, root, keys, tmp_path)
    yield e
    await core.seal()


async def test_request_and_response_entries(env: Env) -> None:
    log = await env.enable()
    await env(U, "secret/data/audited", {"data": {"password": "hunter2"}})
    await env(R, "secret/data/audited")
    got = entries(log)
    assert [(e["type"], e["request"]["operation"]) for e in got] == [
        ("request", "update"),
        ("response", "update"),
        ("request", "read"),
        ("response", "read"),
    ]
    assert "hunter2" not in log.read_text()
    req = got[0]
    assert req["request"]["mount_type"] == "kv" and req["request"]["mount_point"] == "secret/"
    assert req["request"]["namespace"] == {"id": "root"}
    assert req["request"]["remote_address"] == "127.0.0.1"
    assert req["auth"]["policy_results"]["allowed"] is True
    assert req["auth"]["policies"] == ["root"]
    assert got[0]["request"]["id"] == got[1]["request"]["id"]
    hashed = (await env(U, "sys/audit-hash/file", {"input": env.root})).data
    assert hashed is not None
    assert req["auth"]["client_token"] == hashed["hash"] == req["request"]["client_token"]
    secret = (await env(U, "sys/audit-hash/file", {"input": "hunter2"})).data["hash"]
    assert got[3]["response"]["data"]["data"]["password"] == secret
    assert [e["seq"] for e in entries(log)] == list(range(1, 9))
    assert verify([log]).ok


async def test_denied_and_failed_requests_are_logged_with_their_error(env: Env) -> None:
    log = await env.enable()
    token = (await env(U, "auth/token/create", {"policies": ["default"]})).auth["client_token"]
    with pytest.raises(AclDenied):
        await env(R, "secret/data/nope", token=token)
    with pytest.raises(PermissionDenied):
        await env(R, "secret/data/nope", token="bogus")
    with pytest.raises(NotFound):
        await env(R, "secret/data/nope")
    got = entries(log)[2:]
    denied_req, denied_resp = got[0], got[1]
    assert denied_req["type"] == "request" and "permission denied" in denied_req["error"]
    assert denied_req["auth"]["policy_results"] == {"allowed": False}
    assert denied_resp["type"] == "response" and "permission denied" in denied_resp["error"]
    bogus = got[2]
    assert bogus["auth"] == {} and bogus["request"]["client_token"] == hmac_string(
        env.core.audit._devices["file/"].options.salt, "bogus"
    )
    assert got[4]["type"] == "request" and "error" not in got[4]
    assert got[5]["type"] == "response" and got[5]["error"] == "status 404"


async def test_fail_closed_refuses_before_the_backend_and_recovers(env: Env) -> None:
    log = await env.enable()
    await env(U, "secret/data/x", {"data": {"v": "1"}})
    log.chmod(0o444)
    with pytest.raises(AuditFailed) as err:
        await env(U, "secret/data/x", {"data": {"v": "2"}})
    assert err.value.status == 500
    with pytest.raises(AuditFailed):
        await env(R, "secret/data/x")
    log.chmod(0o600)
    resp = await env(R, "secret/data/x")
    assert resp.data["data"] == {"v": "1"}  # the refused write never ran
    assert verify([log]).ok


async def test_one_working_device_is_enough(env: Env) -> None:
    broken = await env.enable("broken")
    good = await env.enable("good")
    broken.chmod(0o444)
    await env(R, "auth/token/lookup-self")
    assert entries(good)[-1]["request"]["path"] == "auth/token/lookup-self"


async def test_audit_table_persists_across_seal(env: Env) -> None:
    log = await env.enable()
    table = (await env(R, "sys/audit")).data
    assert table == {
        "file/": {
            "description": "",
            "local": False,
            "options": {"file_path": str(log)},
            "path": "file/",
            "type": "file",
        }
    }
    before = (await env(U, "sys/audit-hash/file", {"input": "x"})).data["hash"]
    await env.core.seal()
    await env.core.unseal_with_shares(env.keys)
    assert (await env(R, "sys/audit")).data == table
    assert (await env(U, "sys/audit-hash/file", {"input": "x"})).data["hash"] == before
    await env(R, "auth/token/lookup-self")
    assert verify([log]).ok and entries(log)[-1]["seq"] == len(entries(log))


async def test_enable_bad_input_changes_nothing(env: Env) -> None:
    await env.enable()
    cases = [
        ({"type": "file", "options": {"file_path": str(env.tmp / "b.log")}}, "file", "in use"),
        ({"type": "file", "options": {"file_path": str(env.tmp / "b.log")}}, "file/sub", "in use"),
        (
            {"type": "file", "options": {"file_path": str(env.tmp / "no" / "dir" / "c.log")}},
            "c",
            "does not exist",
        ),
        ({"type": "nosuch"}, "d", 'unknown backend type: "nosuch"'),
        ({"type": "file", "options": {"file_path": "/x", "mode": "9"}}, "e", "invalid syntax"),
    ]
    for data, path, message in cases:
        with pytest.raises(BadRequest, match=message):
            await env(U, f"sys/audit/{path}", data)
    assert list((await env(R, "sys/audit")).data) == ["file/"]
    assert not (env.tmp / "b.log").exists() and not (env.tmp / "no").exists()
    with pytest.raises(BadRequest, match='unknown audit backend "nope/"'):
        await env(U, "sys/audit-hash/nope", {"input": "x"})
    with pytest.raises(BadRequest, match='"input" parameter is empty'):
        await env(U, "sys/audit-hash/file", {"input": ""})


async def test_disable(env: Env) -> None:
    log = await env.enable()
    await env(D, "sys/audit/file")
    await env(D, "sys/audit/never-there")
    assert (await env(R, "sys/audit")).data == {}
    count = len(entries(log))
    await env(R, "auth/token/lookup-self")
    assert len(entries(log)) == count


async def test_api_creation_can_be_refused(tmp_path: Path) -> None:
    core = Core(InmemStorage(), CoreConfig(allow_api_audit_creation=False))
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    req = Request(
        operation=U,
        path="sys/audit/file",
        data={"type": "file", "options": {"file_path": str(tmp_path / "a")}},
        client_token=root,
    )
    with pytest.raises(BadRequest, match="cannot enable audit device via API"):
        await core.handle(req)
    await core.seal()


async def test_concurrent_requests_keep_the_chain(env: Env) -> None:
    log = await env.enable()
    await asyncio.gather(*(env(R, "auth/token/lookup-self") for _ in range(300)))
    got = entries(log)
    assert len(got) == 600 and [e["seq"] for e in got] == list(range(1, 601))
    assert verify([log]).ok


async def test_slow_disk_does_not_block_the_event_loop(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = await env.enable()
    real = FileDevice._emit

    def slow(self: FileDevice, lines: list[bytes]) -> None:
        time.sleep(0.2)
        real(self, lines)

    monkeypatch.setattr(FileDevice, "_emit", slow)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    start = time.monotonic()
    await env(R, "auth/token/lookup-self")
    elapsed = time.monotonic() - start
    task.cancel()
    assert elapsed >= 0.4  # two entries, each awaited until written
    assert ticks >= 10  # the loop kept running meanwhile
    assert len(entries(log)) == 2


async def test_queue_is_bounded(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices_mod, "QUEUE_SIZE", 4)
    await env.enable()
    device = env.core.audit._devices["file/"]
    assert device._queue is not None and device._queue.maxsize == 4
    await asyncio.gather(*(env(R, "auth/token/lookup-self") for _ in range(50)))


async def test_reopen_starts_a_new_file_after_a_rename(env: Env) -> None:
    log = await env.enable()
    await env(R, "auth/token/lookup-self")
    rotated = log.with_suffix(".1")
    os.rename(log, rotated)
    await env(R, "auth/token/lookup-self")  # still the renamed file
    env.core.sighup()
    await env(R, "auth/token/lookup-self")
    assert len(entries(rotated)) == 4 and len(entries(log)) == 2
    assert entries(log)[0]["seq"] == 1
    assert verify([rotated, log]).ok


async def test_options_mode_prefix_raw_jsonx(env: Env) -> None:
    log = await env.enable(mode="0640", prefix="AUDIT ", log_raw="true", format="jsonx")
    assert log.stat().st_mode & 0o777 == 0o640
    await env(R, "auth/token/lookup-self")
    text = log.read_text()
    assert text.startswith('AUDIT <?xml version="1.0"')
    assert env.root in text  # log_raw
    assert verify([log]).ok


async def test_socket_device(env: Env) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    received: list[bytes] = []

    def accept() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            while b"response" not in b"".join(received):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                received.append(chunk)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    address = f"127.0.0.1:{server.getsockname()[1]}"
    await env(U, "sys/audit/sock", {"type": "socket", "options": {"address": address}})
    await env(R, "auth/token/lookup-self")
    await asyncio.to_thread(thread.join, 5)
    server.close()
    lines = b"".join(received).decode().splitlines()
    assert [json.loads(line)["type"] for line in lines[:2]] == ["request", "response"]
    assert env.root not in lines[0]


async def test_socket_device_down_fails_closed(env: Env) -> None:
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{port.getsockname()[1]}"
    port.close()  # nothing listens there
    await env(U, "sys/audit/sock", {"type": "socket", "options": {"address": address}})
    with pytest.raises(AuditFailed):
        await env(R, "auth/token/lookup-self")


async def test_unwrap_and_wrapping_are_audited(env: Env) -> None:
    log = await env.enable()
    await env(U, "secret/data/w", {"data": {"password": "hunter2"}})
    req = Request(operation=R, path="secret/data/w", client_token=env.root, wrap_ttl=60)
    wrapped = await env.core.handle(req)
    token = wrapped.wrap_info["token"]
    await env(U, "sys/wrapping/unwrap", token=token)
    got = entries(log)
    wrap_resp = got[3]
    assert wrap_resp["request"]["wrap_ttl"] == 60
    assert wrap_resp["response"]["wrap_info"]["token"].startswith("hmac-sha256:")
    assert "data" not in wrap_resp["response"]
    unwrap_resp = got[5]
    assert unwrap_resp["auth"]["policies"] == ["response-wrapping"]
    assert unwrap_resp["response"]["data"]["data"]["password"].startswith("hmac-sha256:")
    assert token not in log.read_text() and "hunter2" not in log.read_text()
