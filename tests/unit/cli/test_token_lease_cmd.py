"""`token` and `lease` commands: `strongroom` against the real `bao` (OpenBao 2.7.2).

Both CLIs run the same command lines against one `bao server -dev` (each with its
own HOME); exit code, stdout and stderr must match once volatile values (tokens,
accessors, times, ticking TTLs) are normalised with the differential suite's
normaliser. Responses a dev server cannot produce (a renewable secret lease,
odd capability answers) come from a canned HTTP server that both CLIs talk to.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.cli_diff.servers import DEV_EXTRA_CONFIG, free_port
from tests.integration.server import ServerProcess
from tests.unit.cli.helpers import fake_api
from tests.unit.cli.pair import BAO, Pair, assert_same

pytestmark = pytest.mark.skipif(not os.access(BAO, os.X_OK), reason="needs the bao binary")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """A `bao server -dev` (root token `root`) with userpass and a `dev` policy."""
    base = tmp_path_factory.mktemp("token-lease")
    extra = base / "extra.hcl"
    extra.write_text(DEV_EXTRA_CONFIG)
    port = free_port()
    server = ServerProcess(
        args=[
            BAO,
            "server",
            "-dev",
            "-dev-root-token-id=root",
            f"-dev-listen-address=127.0.0.1:{port}",
            "-dev-no-store-token",
            f"-config={extra}",
        ],
        addr=f"http://127.0.0.1:{port}",
        home=base,
        log_path=base / "server.log",
    )
    server.start()
    try:
        p = Pair(server.addr, base)
        for args in (
            ["auth", "enable", "userpass"],
            ["write", "auth/userpass/users/alice", "password=pw", "token_policies=dev"],
            ["policy", "write", "dev", "-"],
        ):
            stdin = 'path "secret/*" { capabilities = ["read"] }\n'
            out = p.run("bao", args, stdin)
            assert out.code == 0, out.stderr
        yield p
    finally:
        server.stop()


def _value(pair: Pair, args: list[str]) -> str:
    out = pair.run("bao", args)
    assert out.code == 0, out.stderr
    return out.stdout.strip()


# --------------------------------------------------------------------------- token create

CREATE_CASES = [
    ["token", "create", "-policy=dev", "-ttl=1h", "-display-name=cli", "-metadata=k=v"],
    ["token", "create", "-format=json", "-policy=dev", "-ttl=1h"],
    ["token", "create", "-format=yaml", "-orphan", "-ttl=10m"],
    ["token", "create", "-field=token_policies", "-policy=dev", "-no-default-policy"],
    ["token", "create", "-field=token_duration", "-ttl=32d"],
    ["token", "create", "-format=json", "-field=policies", "-policy=a", "-policy=b"],
    ["token", "create", "-field=nope"],
    ["token", "create", "-type=batch", "-ttl=5m"],
    ["token", "create", "-wrap-ttl=5m", "-ttl=5m"],
    ["token", "create", "-period=1h", "-explicit-max-ttl=2h", "-use-limit=3"],
    ["token", "create", "-renewable=false", "-ttl=1h"],
    ["token", "create", "-role=nosuch"],
    ["token", "create", "-ttl=-5s"],
    ["token", "create", "-ttl=bogus"],
    ["token", "create", "-use-limit=x"],
    ["token", "create", "-metadata=novalue"],
    ["token", "create", "extra"],
    ["token", "create", "-format=raw"],
    ["token", "create", "-format=pretty"],
    ["token", "create", "-nonsense"],
    # the request bodies
    ["token", "create", "-output-curl-string"],
    [
        "token",
        "create",
        "-output-curl-string",
        "-id=my-id",
        "-policy= a ",
        "-policy=b,c",
        "-metadata=k=v=w",
        "-metadata==x",
        "-ttl=system",
        "-explicit-max-ttl=90",
        "-period=1.5s",
        "-orphan",
        "-no-default-policy",
        "-display-name=dn",
        "-use-limit=2",
        "-renewable=false",
        "-entity-alias=ea",
    ],
    ["token", "create", "-output-curl-string", "-role=r1", "-type=batch"],
    ["token", "create", "-output-policy", "-orphan"],
]


@pytest.mark.parametrize("args", CREATE_CASES, ids=" ".join)
def test_token_create(pair: Pair, args: list[str]) -> None:
    pair.check(args)


# --------------------------------------------------------------------------- lookup / renew


def test_token_lookup(pair: Pair) -> None:
    token = _value(pair, ["token", "create", "-ttl=1h", "-policy=dev", "-field=token"])
    accessor = _value(pair, ["token", "lookup", "-field=accessor", token])
    for args in (
        ["token", "lookup"],
        ["token", "lookup", "-format=json"],
        ["token", "lookup", token],
        ["token", "lookup", "-format=yaml", token],
        ["token", "lookup", "-field=policies", token],
        ["token", "lookup", "-field=nope", token],
        ["token", "lookup", "-accessor", accessor],
        ["token", "lookup", "-accessor", "-format=json", accessor],
        ["token", "lookup", "nonexistent"],
        ["token", "lookup", "-accessor", "nonexistent"],
        ["token", "lookup", "-accessor"],
        ["token", "lookup", "-accessor", "a", "b"],
        ["token", "lookup", "a", "b"],
        ["token", "lookup", token, "-field=x"],
        ["token", "lookup", "-output-curl-string", token],
        ["token", "lookup", "-output-curl-string", "-accessor", accessor],
        ["token", "lookup", "-output-curl-string"],
    ):
        pair.check(args)
    pair.check(["token", "lookup"], env={"BAO_TOKEN": token})


def test_token_renew(pair: Pair) -> None:
    token = _value(pair, ["token", "create", "-ttl=1h", "-field=token"])
    accessor = _value(pair, ["token", "lookup", "-field=accessor", token])
    for args in (
        ["token", "renew", token],
        ["token", "renew", "-increment=30m", "-format=json", token],
        ["token", "renew", "-i=20m", "-format=yaml", token],
        ["token", "renew", "-accessor", accessor],
        ["token", "renew"],
        ["token", "renew", "nonexistent"],
        ["token", "renew", "-field=x", token],
        ["token", "renew", token, "-field=x"],
        ["token", "renew", "a", "b"],
        ["token", "renew", "-format=raw", token],
        ["token", "renew", "-increment=bogus", token],
        ["token", "renew", "-output-curl-string"],
        ["token", "renew", "-output-curl-string", "-increment=90s", token],
        ["token", "renew", "-output-curl-string", "-increment=500ms", "-accessor", accessor],
    ):
        pair.check(args)
    pair.check(["token", "renew", "-increment=10m"], env={"BAO_TOKEN": token})


# --------------------------------------------------------------------------- revoke

REVOKE_USAGE = [
    ["token", "revoke"],
    ["token", "revoke", "-self", "x"],
    ["token", "revoke", "a", "b"],
    ["token", "revoke", "-self", "-accessor"],
    ["token", "revoke", "-self", "-mode=orphan"],
    ["token", "revoke", "-accessor", "-mode=orphan", "x"],
    ["token", "revoke", "-accessor", "-mode=path", "x"],
    ["token", "revoke", "-mode=bogus", "x"],
    ["token", "revoke", "-format=json", "x"],
    ["token", "revoke", "-field=x", "x"],
    ["token", "revoke", "-accessor", "nonexistent"],
    ["token", "revoke", "nonexistent"],
    ["token", "revoke", "-mode=orphan", "nonexistent"],
    ["token", "revoke", "-mode=path", "auth/token/create/nothing"],
    ["token", "revoke", "-output-curl-string", "-self"],
    ["token", "revoke", "-output-curl-string", "-accessor", "x"],
    ["token", "revoke", "-output-curl-string", "-mode=path", "a/b"],
    ["token", "revoke", "-output-curl-string", "-mode=orphan", "t"],
    ["token", "revoke", "-output-curl-string", "t"],
]


@pytest.mark.parametrize("args", REVOKE_USAGE, ids=" ".join)
def test_token_revoke_cases(pair: Pair, args: list[str]) -> None:
    pair.check(args)


@pytest.mark.parametrize("how", ["token", "accessor", "self", "orphan"])
def test_token_revoke_for_real(pair: Pair, how: str) -> None:
    """Each CLI revokes its own fresh token; a lookup afterwards fails the same way."""
    outs = {}
    for cli in ("bao", "strongroom"):
        token = _value(pair, ["token", "create", "-ttl=1h", "-field=token"])
        accessor = _value(pair, ["token", "lookup", "-field=accessor", token])
        env: dict[str, str | None] | None = None
        args = {
            "token": ["token", "revoke", token],
            "accessor": ["token", "revoke", "-accessor", accessor],
            "self": ["token", "revoke", "-self"],
            "orphan": ["token", "revoke", "-mode=orphan", token],
        }[how]
        if how == "self":
            env = {"BAO_TOKEN": token}
        outs[cli] = pair.run(cli, args, env=env)
        after = pair.run(cli, ["token", "lookup", token])
        assert after.code == 2 and "bad token" in after.stderr
    assert_same(outs["bao"], outs["strongroom"], what=how)
    assert outs["strongroom"].stdout == "Success! Revoked token (if it existed)\n"


# --------------------------------------------------------------------------- capabilities


def test_token_capabilities(pair: Pair) -> None:
    token = _value(pair, ["token", "create", "-ttl=1h", "-policy=dev", "-field=token"])
    for args in (
        ["token", "capabilities", "secret/x"],
        ["token", "capabilities", "-format=json", "secret/x"],
        ["token", "capabilities", "-format=yaml", "secret/x"],
        ["token", "capabilities", token, "secret/x"],
        ["token", "capabilities", token, "sys/foo"],
        ["token", "capabilities", "-format=json", token, "cubbyhole/x"],
        ["token", "capabilities", "root", "secret/x"],
        ["token", "capabilities", "nonexistent", "secret/x"],
        ["token", "capabilities"],
        ["token", "capabilities", "a", "b", "c"],
        ["token", "capabilities", "-field=x", "x"],
        ["token", "capabilities", "-accessor", "x", "y"],
        ["token", "capabilities", "-format=pretty", "x"],
        ["token", "capabilities", "-output-curl-string", "x"],
        ["token", "capabilities", "-output-curl-string", token, "x"],
    ):
        pair.check(args, strict="-output-curl-string" not in args and token not in args)
    pair.check(["token", "capabilities", "cubbyhole/x"], env={"BAO_TOKEN": token})


# --------------------------------------------------------------------------- leases


def test_lease_commands(pair: Pair) -> None:
    login = pair.run("bao", ["write", "-format=json", "auth/userpass/login/alice", "password=pw"])
    assert login.code == 0, login.stderr
    listing = json.loads(
        _value(pair, ["list", "-format=json", "sys/leases/lookup/auth/userpass/login/alice/"])
    )
    lease = f"auth/userpass/login/alice/{listing[0]}"
    for args in (
        ["lease", "lookup", lease],
        ["lease", "lookup", "-format=json", lease],
        ["lease", "lookup", "-format=yaml", lease],
        ["lease", "lookup", "auth/nosuch/lease"],
        ["lease", "lookup"],
        ["lease", "lookup", "a", "b"],
        ["lease", "lookup", "-field=x", lease],
        ["lease", "lookup", "-output-curl-string", lease],
        ["lease", "renew", lease],
        ["lease", "renew", "-increment=10m", lease],
        ["lease", "renew", "-format=json", "auth/nosuch/lease"],
        ["lease", "renew"],
        ["lease", "renew", "a", "b"],
        ["lease", "renew", "-output-curl-string", "-increment=90s", "x"],
        ["lease", "renew", "-output-curl-string", "-increment=500ms", "x"],
        ["lease", "revoke"],
        ["lease", "revoke", "a", "b"],
        ["lease", "revoke", "-force", "x"],
        ["lease", "revoke", "-f", "x"],
        ["lease", "revoke", "-format=json", "x"],
        ["lease", "revoke", "nonexistent/x"],
        ["lease", "revoke", "-sync", "nonexistent/x"],
        ["lease", "revoke", "-prefix", "nonexistent/x"],
        ["lease", "revoke", "-prefix", "-sync", "nonexistent/x"],
        ["lease", "revoke", "-prefix", "-force", "nonexistent"],
        ["lease", "revoke", "-output-curl-string", "x"],
        ["lease", "revoke", "-output-curl-string", "-sync", "x"],
        ["lease", "revoke", "-output-curl-string", "-prefix", "x"],
        ["lease", "revoke", "-output-curl-string", "-prefix", "-force", "x"],
        ["lease", "revoke", lease],
        ["lease"],
    ):
        pair.check(args)
    denied = pair.check(["lease", "revoke", "-prefix", "-force", "auth/x"], env={"BAO_TOKEN": ""})
    assert denied[1].code == 2


# --------------------------------------------------------------------------- canned answers


def _serve(routes: dict[str, tuple[int, object]]):
    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, payload = routes.get(path.split("?")[0], (404, {"errors": []}))
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return status, {"Content-Type": "application/json"}, raw

    return handle


def _canned(pair: Pair, routes: dict[str, tuple[int, object]], args: list[str]) -> None:
    with fake_api(_serve(routes)) as server:
        env: dict[str, str | None] = {"BAO_ADDR": server.url, "BAO_TOKEN": "t"}
        want = pair.run("bao", args, env=env)
        got = pair.run("strongroom", args, env=env)
    assert_same(want, got, strict=True, what=" ".join(args))


RENEWED = {
    "request_id": "r",
    "lease_id": "database/creds/ro/abc",
    "renewable": True,
    "lease_duration": 3600,
    "data": None,
    "warnings": ['TTL of "1h" exceeded the effective max_ttl of "30m"; TTL value is capped'],
}
CANNED = [
    ({"/v1/sys/leases/renew": (200, RENEWED)}, ["lease", "renew", "database/creds/ro/abc"]),
    (
        {"/v1/sys/leases/renew": (200, RENEWED)},
        ["lease", "renew", "-format=json", "database/creds/ro/abc"],
    ),
    ({"/v1/sys/leases/renew": (204, b"")}, ["lease", "renew", "x"]),
    ({"/v1/sys/leases/renew": (204, b"")}, ["lease", "renew", "-format=json", "x"]),
    ({"/v1/sys/leases/lookup": (502, b"not json")}, ["lease", "lookup", "x"]),
    ({"/v1/sys/leases/revoke/x": (500, {"errors": ["boom"]})}, ["lease", "revoke", "x"]),
    (
        {"/v1/sys/leases/revoke-prefix/x": (500, {"errors": ["boom"]})},
        ["lease", "revoke", "-prefix", "x"],
    ),
    (
        {"/v1/sys/leases/revoke-force/x": (500, {"errors": ["boom"]})},
        ["lease", "revoke", "-prefix", "-force", "x"],
    ),
    (
        {"/v1/sys/capabilities-self": (200, {"data": {"capabilities": ["update", "read"]}})},
        ["token", "capabilities", "x"],
    ),
    (
        {"/v1/sys/capabilities-self": (200, {"data": {"x": ["update", "read"]}})},
        ["token", "capabilities", "-format=json", "x"],
    ),
    ({"/v1/sys/capabilities-self": (200, {"data": {"y": []}})}, ["token", "capabilities", "x"]),
    ({"/v1/sys/capabilities-self": (204, b"")}, ["token", "capabilities", "x"]),
    (
        {"/v1/sys/capabilities-self": (200, {"data": {"capabilities": []}})},
        ["token", "capabilities", "x"],
    ),
    ({"/v1/auth/token/create": (204, b"")}, ["token", "create"]),
    ({"/v1/auth/token/create": (204, b"")}, ["token", "create", "-format=json"]),
    ({"/v1/auth/token/lookup-self": (200, b"[1]")}, ["token", "lookup"]),
    ({"/v1/auth/token/renew-self": (200, b"{")}, ["token", "renew"]),
    ({"/v1/auth/token/revoke": (503, {"errors": ["Vault is sealed"]})}, ["token", "revoke", "t"]),
]


@pytest.mark.parametrize(("routes", "args"), CANNED, ids=[" ".join(a) for _, a in CANNED])
def test_canned_answers(pair: Pair, routes: dict[str, tuple[int, object]], args: list[str]) -> None:
    _canned(pair, routes, args)


def test_unreachable_server(pair: Pair) -> None:
    env: dict[str, str | None] = {"BAO_ADDR": f"http://127.0.0.1:{free_port()}"}
    for args in (
        ["token", "create"],
        ["token", "lookup"],
        ["token", "revoke", "-self"],
        ["token", "capabilities", "x"],
        ["lease", "lookup", "x"],
        ["lease", "revoke", "x"],
    ):
        got = pair.check(args, env=env)[1]
        assert got.code == 2 and "connection refused" in got.stderr


def test_help_and_groups(pair: Pair) -> None:
    for args in (["token"], ["lease"]):
        want = pair.run("bao", args)
        got = pair.run("strongroom", args)
        assert (got.code, got.stdout) == (want.code, want.stdout)
        subcommands = want.stderr.split("Subcommands:")[1]
        assert got.stderr.endswith("Subcommands:" + subcommands)
    for args in (
        ["token", "create", "-h"],
        ["token", "lookup", "-h"],
        ["token", "renew", "-h"],
        ["token", "revoke", "-h"],
        ["token", "capabilities", "-h"],
        ["lease", "lookup", "-h"],
        ["lease", "renew", "-h"],
        ["lease", "revoke", "-h"],
    ):
        want = pair.run("bao", args)
        got = pair.run("strongroom", args)
        assert got.code == want.code == 0
        # The same flags, in the same sections.
        starts = ("  -", "HTTP", "Output", "Command")
        flags = [line for line in want.stdout.splitlines() if line.startswith(starts)]
        mine = [line for line in got.stdout.splitlines() if line.startswith(starts)]
        assert mine == flags
