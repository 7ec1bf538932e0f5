"""`strongroom kv …` against the real `bao` (OpenBao 2.7.2).

Two ways, both comparing stdout, stderr and the exit code:

* a script of kv commands is run once with `bao` and once with `strongroom`, each
  against its own fresh `bao server -dev`; the outputs must be identical once
  volatile values (times, UUIDs, accessors, ports) are masked — the masking keeps
  the spacing, so table alignment is compared too (`strict` steps byte for byte);
* edge cases a real server does not produce are served by a canned HTTP server that
  both CLIs talk to, and the outputs must be byte-identical.

The helpers here are shared with `test_secrets_auth_cmd.py`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli_diff.normalize import normalize
from tests.cli_diff.runner import Result, Run, bao_binary, run_script
from tests.cli_diff.script import S, Step
from tests.cli_diff.servers import free_port
from tests.integration.server import BAO, STRONGROOM, ServerProcess
from tests.unit.cli.helpers import fake_api

pytestmark = pytest.mark.skipif(not os.path.exists(BAO), reason="needs the bao binary")

# --------------------------------------------------------------------------- shared helpers


def start_bao_dev(tmp: Path) -> ServerProcess:
    """A `bao server -dev` (root token `root`, KV v2 at secret/) on a free port."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = ServerProcess(
        args=[
            BAO,
            "server",
            "-dev",
            "-dev-root-token-id=root",
            f"-dev-listen-address=127.0.0.1:{port}",
            "-dev-no-store-token",
        ],
        addr=f"http://127.0.0.1:{port}",
        home=tmp,
        log_path=tmp / "server.log",
    )
    return server.start()


def run_both(tmp: Path, steps: list[Step]) -> tuple[Run, Run]:
    """Run `steps` with bao and with strongroom, each against its own fresh dev server."""

    def one(cli: str) -> Run:
        server = start_bao_dev(tmp / f"{cli}-server")
        try:
            return run_script(
                cli,
                server="openbao",
                addr=server.addr,
                uninit_addr="",
                unseal_key="",
                workdir=tmp / f"{cli}-run",
                steps=steps,
            )
        finally:
            server.stop()

    with ThreadPoolExecutor(2) as pool:
        ref, got = pool.submit(one, "bao"), pool.submit(one, "strongroom")
        return ref.result(), got.result()


_PROGRAM = re.compile(r"(?<![\w.+/-])(?:bao|strongroom)(?![\w-])")
_ADDRESS = re.compile(r"127\.0\.0\.1:\d+")


def _exact(text: str) -> str:
    """Only the program name and the server port hidden: every other byte counts."""
    return _ADDRESS.sub("127.0.0.1:<PORT>", _PROGRAM.sub("<CLI>", text))


def _shown(result: Result, run: Run, strict: bool) -> tuple[int | None, str, str]:
    if strict:
        return result.code, _exact(result.stdout), _exact(result.stderr)
    return result.code, normalize(result.stdout, run.ctx), normalize(result.stderr, run.ctx)


def check_step(runs: tuple[Run, Run], index: int) -> None:
    """Step `index` printed the same with both CLIs (masked, spacing kept)."""
    ref, got = runs
    want, have = ref.results[index], got.results[index]
    strict = want.step.strict
    assert "Traceback" not in have.stderr
    assert _shown(have, got, strict) == _shown(want, ref, strict), want.step.describe()


def step_ids(steps: list[Step]) -> list[str]:
    return [f"{i:03d} {s.describe()}"[:120] for i, s in enumerate(steps)]


Handler = Callable[[str, str, bytes], tuple[int, dict[str, str], bytes]]


def json_response(status: int, body: object) -> tuple[int, dict[str, str], bytes]:
    payload = b"" if body is None else json.dumps(body).encode()
    return status, {"Content-Type": "application/json"}, payload


def run_cli(binary: str, args: list[str], addr: str, stdin: str = "") -> tuple[int, str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "BAO_ADDR": addr,
        "BAO_TOKEN": "root",
    }
    proc = subprocess.run(
        [binary, *args], env=env, input=stdin.encode(), capture_output=True, timeout=30
    )
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace").replace("strongroom", "bao"),
    )


def same_against_fake(handler: Handler, args: list[str], stdin: str = "") -> list[str]:
    """Run bao and strongroom against one canned server; both must print the same.

    Returns the requests strongroom sent (`METHOD path`), for extra checks.
    """
    with fake_api(handler) as api:
        want = run_cli(bao_binary(), args, api.url, stdin)
        start = len(api.requests)
        have = run_cli(STRONGROOM, args, api.url, stdin)
        sent = [f"{m} {p}" for m, p, _, _ in api.requests[start:]]
    assert "Traceback" not in have[2]
    assert have == want, args
    return sent


# --------------------------------------------------------------------------- the kv script

KV_STEPS: list[Step] = [
    S("secrets enable -path=kv1 kv"),
    S("secrets enable -path=kv2 -version=2 kv"),
    # put
    S("kv put secret/app user=alice pass=v1"),
    S("kv put -mount=secret app2 a=1 b=2"),
    S("kv put -format=json secret/app3 a=1"),
    S("kv put -format=yaml secret/app4 a=1"),
    S("kv put -field=version secret/app user=alice pass=v2", strict=True),
    S("kv put -field=nope secret/app5 a=1", strict=True),
    S("kv put -cas=0 secret/app a=3", strict=True),
    S("kv put -cas=2 secret/app user=alice pass=v3"),
    S("kv put secret/app", strict=True),
    S("kv put", strict=True),
    S("kv put secret/app noequals", strict=True),
    S("kv put secret/stdin v=-", stdin="piped value"),
    S("kv put secret/json -", stdin='{"n": 1.50, "o": {"x": [1, "y"]}, "t": true}'),
    S("kv put -non-interactive secret/empty v=-", stdin="ignored"),
    S("kv put kv1/k a=1 b=2 ttl=1h", strict=True),
    S("kv put -mount=kv1 k2 a=1", strict=True),
    S("kv put -format=json kv1/k3 a=1", strict=True),
    S("kv put nosuchmount/x a=1"),
    S("kv put -output-curl-string secret/app a=b"),
    S("kv put -output-policy secret/app a=b", strict=True),
    S("kv put -output-curl-string -cas=3 -mount=secret app a=b"),
    S("kv put -wrap-ttl=5m secret/wrapped a=1"),
    S("kv put -bogus secret/app a=1", strict=True),
    S("kv put secret/app -format=json a=1"),
    # get
    S("kv get secret/app"),
    S("kv get -mount=secret app"),
    S("kv get -version=1 secret/app"),
    S("kv get -version=99 secret/app", strict=True),
    S("kv get -version=x secret/app", strict=True),
    S("kv get -format=json secret/app"),
    S("kv get -format=yaml secret/app"),
    S("kv get -format=TABLE secret/app"),
    S("kv get secret/app -format=json"),
    S("kv get -field=user secret/app", strict=True),
    S("kv get -field=nope secret/app", strict=True),
    S("kv get -field=data secret/app", strict=True),
    S("kv get -format=json -field=user secret/app", strict=True),
    S("kv get -format=yaml -field=data secret/app", strict=True),
    S("kv get -field=o secret/json", strict=True),
    S("kv get secret/json"),
    S("kv get secret/stdin"),
    S("kv get secret/empty"),
    S("kv get kv1/k", strict=True),
    S("kv get -field=a kv1/k", strict=True),
    S("kv get -field=nope kv1/k", strict=True),
    S("kv get -format=json kv1/k"),
    S("kv get -mount=kv1 k", strict=True),
    S("kv get -mount=kv1 /k2/", strict=True),
    S("kv get kv1/missing", strict=True),
    S("kv get secret/missing", strict=True),
    S("kv get -format=json secret/missing", strict=True),
    S("kv get nosuchmount/x"),
    S("kv get /secret/app/"),
    S("kv get secret", strict=True),
    S("kv get -mount=/secret/ app"),
    S("kv get", strict=True),
    S("kv get a b", strict=True),
    S("kv get -format=raw secret/app", strict=True),
    S("kv get -output-curl-string secret/app"),
    S("kv get -output-policy -version=2 secret/app", strict=True),
    S("kv get -wrap-ttl=5m secret/app"),
    S("kv get -address=http://127.0.0.1:1 secret/app"),
    # patch
    S("kv patch secret/app pass=v4"),
    S("kv patch -method=rw secret/app extra=1"),
    S("kv patch -method=patch -mount=secret app extra=2"),
    S("kv patch -method=bogus secret/app extra=3", strict=True),
    S("kv patch -remove-data=extra secret/app"),
    S("kv patch -cas=1 secret/app extra=4"),
    S("kv patch -format=json secret/app extra=5"),
    S("kv patch -field=version secret/app extra=6", strict=True),
    S("kv patch secret/nothere a=1"),
    S("kv patch -method=rw secret/nothere a=1", strict=True),
    S("kv patch kv1/k a=1", strict=True),
    S("kv patch secret/app", strict=True),
    S("kv patch", strict=True),
    S("kv patch -output-curl-string secret/app a=1"),
    S("kv patch -output-curl-string -method=rw secret/app a=1"),
    S("kv get secret/app"),
    # list / scan
    S("kv list secret/", strict=True),
    S("kv list -mount=secret", strict=True),
    S("kv list -format=json secret", strict=True),
    S("kv list -format=yaml secret/", strict=True),
    S("kv list kv1/", strict=True),
    S("kv list -mount=kv1", strict=True),
    S("kv list secret/nothing", strict=True),
    S("kv list -format=json secret/nothing", strict=True),
    S("kv list kv1/nothing", strict=True),
    S("kv list", strict=True),
    S("kv list a b", strict=True),
    S("kv list -detailed secret/", strict=True),
    S("kv scan secret/", strict=True),
    S("kv scan -format=json kv1/", strict=True),
    S("kv scan secret/nothing", strict=True),
    # delete / undelete / destroy
    S("kv delete secret/app2", strict=True),
    S("kv get secret/app2"),
    S("kv get -field=a secret/app2", strict=True),
    S("kv get -format=json secret/app2"),
    S("kv delete -versions=1 secret/app", strict=True),
    S("kv delete -versions=2,3 -versions=' 4 ' secret/app", strict=True),
    S("kv delete -mount=secret app3", strict=True),
    S("kv delete -format=json secret/app4", strict=True),
    S("kv delete kv1/k2", strict=True),
    S("kv delete -versions=1 kv1/k3", strict=True),
    S("kv delete", strict=True),
    S("kv delete -output-curl-string -versions=1 secret/app"),
    S("kv undelete secret/app", strict=True),
    S("kv undelete -versions=1 secret/app", strict=True),
    S("kv undelete -mount=secret -versions=1 app2", strict=True),
    S("kv undelete -versions=1 kv1/k", strict=True),
    S("kv undelete -format=json -versions=2 secret/app", strict=True),
    S("kv undelete -versions=1 nosuchmount/x"),
    S("kv get secret/app2"),
    S("kv destroy secret/app", strict=True),
    S("kv destroy -versions=1 secret/app", strict=True),
    S("kv destroy -versions=1 kv1/k", strict=True),
    S("kv destroy -mount=secret -versions=1 app2", strict=True),
    S("kv get -version=1 secret/app"),
    # rollback
    S("kv rollback -version=2 secret/app"),
    S("kv rollback -version=2 -format=json secret/app"),
    S("kv rollback -mount=secret -version=3 app"),
    S("kv rollback secret/app", strict=True),
    S("kv rollback -version=0 secret/app", strict=True),
    S("kv rollback -version=1", strict=True),
    S("kv rollback -version=1 secret/app", strict=True),
    S("kv rollback -version=99 secret/app", strict=True),
    S("kv rollback -version=1 secret/nothere", strict=True),
    S("kv rollback -version=1 kv1/k", strict=True),
    # metadata
    S("kv metadata get secret/app"),
    S("kv metadata get -mount=secret app"),
    S("kv metadata get -format=json secret/app"),
    S("kv metadata get -format=yaml secret/app"),
    S("kv metadata get secret/nope", strict=True),
    S("kv metadata get kv1/k", strict=True),
    S("kv metadata get -field=x secret/app", strict=True),
    S("kv metadata put -max-versions=5 -custom-metadata=owner=me -custom-metadata=t=x secret/app"),
    S("kv metadata put -cas-required -delete-version-after=1h30m secret/meta", strict=True),
    S("kv metadata put -cas-required=false -delete-version-after=0 secret/meta", strict=True),
    S("kv metadata put -delete-version-after=bogus secret/meta", strict=True),
    S("kv metadata put -custom-metadata=bad secret/meta", strict=True),
    S("kv metadata put -cas-required=maybe secret/meta", strict=True),
    S("kv metadata put -max-versions=x secret/meta", strict=True),
    S("kv metadata put -format=json secret/meta2", strict=True),
    S("kv metadata put kv1/k", strict=True),
    S("kv metadata put -output-curl-string -delete-version-after=90m -max-versions=2 secret/m"),
    S("kv metadata get secret/app"),
    S("kv metadata get secret/meta"),
    S("kv put secret/meta a=1"),
    S("kv put -cas=0 secret/meta a=1"),
    S("kv metadata patch -remove-custom-metadata=t -custom-metadata=new=1 secret/app"),
    S("kv metadata patch -max-versions=3 -mount=secret app", strict=True),
    S("kv metadata patch -output-curl-string -cas-required secret/app"),
    S("kv metadata patch kv1/k", strict=True),
    S("kv metadata get secret/app"),
    S("kv metadata delete secret/app", strict=True),
    S("kv metadata delete -mount=secret never", strict=True),
    S("kv metadata delete kv1/k", strict=True),
    S("kv metadata delete -format=json secret/app", strict=True),
    S("kv metadata delete", strict=True),
    S("kv get secret/app", strict=True),
    S("kv metadata", strict=True),
    S("kv metadata nosuch", strict=True),
    # enable-versioning
    S("kv enable-versioning kv2", strict=True),
    S("kv enable-versioning /kv1/", strict=True),
    S("kv enable-versioning nosuch", strict=True),
    S("kv enable-versioning", strict=True),
    S("kv enable-versioning -output-curl-string kv1"),
    S("kv get kv1/k"),
    S("kv list kv1/", strict=True),
    # the group
    S("kv", strict=True),
    S("kv nosuch", strict=True),
]


@pytest.fixture(scope="module")
def kv_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    yield run_both(tmp_path_factory.mktemp("kv-cmd"), KV_STEPS)


@pytest.mark.parametrize("index", range(len(KV_STEPS)), ids=step_ids(KV_STEPS))
def test_kv_same_as_bao(kv_runs: tuple[Run, Run], index: int) -> None:
    check_step(kv_runs, index)


# --------------------------------------------------------------------------- canned responses

V2_MOUNT = {"data": {"path": "secret/", "type": "kv", "options": {"version": "2"}}}
V1_MOUNT = {"data": {"path": "kv1/", "type": "kv", "options": None}}
META = {
    "created_time": "2026-01-02T03:04:05.123Z",
    "custom_metadata": {"owner": "ops"},
    "deletion_time": "",
    "destroyed": False,
    "version": 3,
}


def kv_server(routes: dict[str, tuple[int, object]]) -> Handler:
    """Answer `METHOD /v1/path` (query ignored) from `routes`; else 404 {"errors":[]}."""

    def handler(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        key = f"{method} {path.split('?')[0]}"
        status, payload = routes.get(key, (404, {"errors": []}))
        if isinstance(payload, bytes):
            return status, {"Content-Type": "application/json"}, payload
        return json_response(status, payload)

    return handler


PREFLIGHT_V2 = "GET /v1/sys/internal/ui/mounts/secret/app"


@pytest.mark.parametrize(
    ("preflight", "args"),
    [
        ((500, {"errors": ["internal error", "second"]}), ["kv", "get", "secret/app"]),
        ((500, b"not json"), ["kv", "put", "secret/app", "a=1"]),
        ((200, b""), ["kv", "get", "secret/app"]),
        ((200, b"{bad json"), ["kv", "list", "secret/app"]),
        ((200, {"data": None}), ["kv", "get", "secret/app"]),
        (
            (200, {"data": {"path": "secret/", "options": {"version": "1"}}}),
            ["kv", "get", "secret/app"],
        ),
        (
            (403, {"errors": ["permission denied"]}),
            ["kv", "get", "-output-curl-string", "secret/app"],
        ),
        ((403, {"errors": ["permission denied"]}), ["kv", "metadata", "get", "secret/app"]),
    ],
    ids=["500", "500-raw", "empty", "bad-json", "no-data", "v1-option", "403-curl", "403"],
)
def test_preflight_answers(preflight: tuple[int, object], args: list[str]) -> None:
    same_against_fake(kv_server({PREFLIGHT_V2: preflight}), args)


def test_v2_secret_with_warnings_and_custom_metadata() -> None:
    secret = {
        "request_id": "r",
        "data": {"data": {"k": "v", "longer_key": 1.5}, "metadata": META},
        "warnings": ["something odd happened"],
    }
    routes = {PREFLIGHT_V2: (200, V2_MOUNT), "GET /v1/secret/data/app": (200, secret)}
    for args in (
        ["kv", "get", "secret/app"],
        ["kv", "get", "-field=k", "secret/app"],
        ["kv", "get", "-format=json", "secret/app"],
    ):
        same_against_fake(kv_server(routes), args)


@pytest.mark.parametrize(
    "data",
    [{"data": "a string", "metadata": META}, {"data": {"data": {"x": 1}}, "metadata": META}],
    ids=["not-a-map", "nested-data"],
)
def test_get_field_odd_data(data: dict[str, object]) -> None:
    routes = {PREFLIGHT_V2: (200, V2_MOUNT), "GET /v1/secret/data/app": (200, {"data": data})}
    same_against_fake(kv_server(routes), ["kv", "get", "-field=x", "secret/app"])
    same_against_fake(kv_server(routes), ["kv", "get", "-field=data", "secret/app"])


def test_get_404_with_warnings_is_shown() -> None:
    body = {"data": None, "warnings": ["Invalid path for a versioned K/V secrets engine."]}
    routes = {"GET /v1/sys/internal/ui/mounts/kv1/x": (200, V1_MOUNT), "GET /v1/kv1/x": (404, body)}
    same_against_fake(kv_server(routes), ["kv", "get", "kv1/x"])


@pytest.mark.parametrize("status", [405, 403])
def test_patch_falls_back_to_read_then_write(status: int) -> None:
    routes = {
        PREFLIGHT_V2: (200, V2_MOUNT),
        "PATCH /v1/secret/data/app": (status, {"errors": ["nope"]}),
        "GET /v1/secret/data/app": (200, {"data": {"data": {"a": "1"}, "metadata": META}}),
        "PUT /v1/secret/data/app": (200, {"data": {**META, "version": 4}}),
    }
    sent = same_against_fake(kv_server(routes), ["kv", "patch", "secret/app", "b=2"])
    assert sent[-3:] == [
        "PATCH /v1/secret/data/app",
        "GET /v1/secret/data/app",
        "PUT /v1/secret/data/app",
    ]
    # with -method=patch there is no fallback
    same_against_fake(kv_server(routes), ["kv", "patch", "-method=patch", "secret/app", "b=2"])


@pytest.mark.parametrize(
    "read",
    [
        {"data": {"data": {"a": "1"}}},
        {"data": {"data": {"a": "1"}, "metadata": "x"}},
        {"data": {"data": None, "metadata": META}},
        {"data": {"data": "x", "metadata": META}},
    ],
    ids=["no-metadata", "metadata-not-map", "no-data", "data-not-map"],
)
def test_read_then_write_checks(read: dict[str, object]) -> None:
    routes = {PREFLIGHT_V2: (200, V2_MOUNT), "GET /v1/secret/data/app": (200, read)}
    same_against_fake(kv_server(routes), ["kv", "patch", "-method=rw", "secret/app", "b=2"])
    same_against_fake(kv_server(routes), ["kv", "rollback", "-version=1", "secret/app"])


def test_write_returning_no_secret() -> None:
    routes = {PREFLIGHT_V2: (200, V2_MOUNT), "PUT /v1/secret/data/app": (204, None)}
    same_against_fake(kv_server(routes), ["kv", "put", "secret/app", "a=1"])
    routes["PATCH /v1/secret/data/app"] = (204, None)
    same_against_fake(kv_server(routes), ["kv", "patch", "secret/app", "a=1"])


def test_write_404_with_warnings() -> None:
    body = {"data": None, "warnings": ["Invalid path"]}
    routes = {PREFLIGHT_V2: (200, V2_MOUNT), "PUT /v1/secret/data/app": (404, body)}
    same_against_fake(kv_server(routes), ["kv", "put", "secret/app", "a=1"])


@pytest.mark.parametrize(
    "metadata",
    [
        {"current_version": 1},
        {"current_version": 1, "versions": {"x": {"created_time": "t"}}},
        {
            "current_version": 10,
            "custom_metadata": None,
            "delete_version_after": "0s",
            "versions": {
                "10": {"created_time": "t10", "deletion_time": "", "destroyed": False},
                "9": {"created_time": "t9", "deletion_time": "", "destroyed": True},
            },
        },
    ],
    ids=["no-versions", "bad-version", "sorted-numerically"],
)
def test_metadata_get_shapes(metadata: dict[str, object]) -> None:
    routes = {
        PREFLIGHT_V2: (200, V2_MOUNT),
        "GET /v1/secret/metadata/app": (200, {"data": metadata}),
    }
    same_against_fake(kv_server(routes), ["kv", "metadata", "get", "secret/app"])


def test_namespaced_mount_path() -> None:
    """A mount path carrying a namespace prefix the argument does not repeat."""
    mount = {"data": {"path": "ns1/secret/", "options": {"version": "2"}}}
    routes = {
        PREFLIGHT_V2: (200, mount),
        "GET /v1/secret/data/app": (200, {"data": {"data": {"a": 1}, "metadata": META}}),
    }
    same_against_fake(kv_server(routes), ["kv", "get", "secret/app"])
