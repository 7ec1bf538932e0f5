"""`strongroom secrets …` and `strongroom auth …` against the real `bao` (OpenBao 2.7.2).

Same two methods as `test_kv_cmd.py`: a script run with both CLIs against two fresh
`bao server -dev`, and canned server answers both CLIs must render identically.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli_diff.runner import Run
from tests.cli_diff.script import S, Step
from tests.unit.cli.test_kv_cmd import (
    check_step,
    json_response,
    kv_server,
    pytestmark,  # noqa: F401 - the same skip condition
    run_both,
    same_against_fake,
    step_ids,
)

SECRETS_STEPS: list[Step] = [
    S("secrets list"),
    S("secrets list -detailed"),
    S("secrets list -format=json"),
    S("secrets list -format=yaml"),
    S("secrets list -detailed -format=json"),
    S("secrets list -detailed=false"),
    S("secrets list -format=pretty", strict=True),
    S("secrets list -format=raw", strict=True),
    S("secrets list extra", strict=True),
    S("secrets list -field=x", strict=True),
    S("secrets enable -path=kv1 kv", strict=True),
    S("secrets enable -path=kv2 -version=2 -description='team kv' kv", strict=True),
    S("secrets enable -path=kv1 kv", strict=True),
    S("secrets enable nosuchtype", strict=True),
    S("secrets enable", strict=True),
    S("secrets enable a b", strict=True),
    S("secrets enable -default-lease-ttl=bogus kv", strict=True),
    S("secrets enable -max-lease-ttl=1x kv", strict=True),
    S("secrets enable -options=novalue kv", strict=True),
    S("secrets enable -version=x kv", strict=True),
    S(
        "secrets enable -path=kv3 -default-lease-ttl=30m -max-lease-ttl=2h -force-no-cache "
        "-local -seal-wrap -external-entropy-access -audit-non-hmac-request-keys=a "
        "-audit-non-hmac-request-keys=' c ' -audit-non-hmac-response-keys=b "
        "-listing-visibility=unauth -passthrough-request-headers=X-A "
        "-allowed-response-headers=X-B -options=foo=bar -options=x=y kv",
        strict=True,
    ),
    S("secrets enable -path=/t1/ transit", strict=True),
    S("secrets enable -plugin-name=kv -path=pk plugin", strict=True),
    S("secrets enable -plugin-name=kv plugin", strict=True),
    S("secrets enable -plugin-version=v1.0.0 -path=kv9 kv", strict=True),
    S("secrets enable -path=kv4 -default-lease-ttl=system -max-lease-ttl=90 kv", strict=True),
    S(
        "secrets enable -output-curl-string -path=x -version=2 -description=d "
        "-options=a=b -default-lease-ttl=30m -audit-non-hmac-request-keys=k kv"
    ),
    S("secrets enable -output-policy -path=x kv", strict=True),
    S("secrets enable kv -path=late", strict=True),
    S("secrets list"),
    S("secrets list -detailed"),
    S("secrets list -format=json"),
    S("secrets tune -default-lease-ttl=1h -max-lease-ttl=24h kv1", strict=True),
    S("secrets tune -max-lease-ttl=1h -default-lease-ttl=2h kv1", strict=True),
    S("secrets tune -description='new desc' -listing-visibility=hidden /kv1/", strict=True),
    S("secrets tune -audit-non-hmac-response-keys=r -passthrough-request-headers=X kv1"),
    S("secrets tune -allowed-response-headers=Y -plugin-version=v1 kv1", strict=True),
    S("secrets list -detailed"),
    S("secrets tune -default-lease-ttl=system -max-lease-ttl=system kv1", strict=True),
    S("secrets tune -options=x=y -version=2 kv1", strict=True),
    S("secrets tune -default-lease-ttl=30m nosuch", strict=True),
    S("secrets tune", strict=True),
    S("secrets tune -default-lease-ttl=bogus kv1", strict=True),
    S("secrets tune -output-curl-string -description= -max-lease-ttl=90m kv1"),
    S("secrets list -detailed"),
    S("secrets list -format=yaml"),
    S("secrets move kv2 moved", strict=False),
    S("secrets move nosuch x", strict=True),
    S("secrets move a", strict=True),
    S("secrets move a b c", strict=True),
    S("secrets move -output-curl-string a b"),
    S("secrets disable moved", strict=True),
    S("secrets disable /moved/", strict=True),
    S("secrets disable sys", strict=True),
    S("secrets disable", strict=True),
    S("secrets disable -format=json kv1", strict=True),
    S("secrets list"),
    S("secrets", strict=True),
    S("secrets nosuch", strict=True),
]

AUTH_STEPS: list[Step] = [
    S("auth list"),
    S("auth list -detailed"),
    S("auth list -format=json"),
    S("auth list -format=yaml"),
    S("auth list extra", strict=True),
    S("auth enable userpass", strict=True),
    S("auth enable userpass", strict=True),
    S(
        "auth enable -path=up2 -description='second one' -token-type=batch "
        "-default-lease-ttl=1h -max-lease-ttl=3h userpass",
        strict=True,
    ),
    S(
        "auth enable -path=ap -local -seal-wrap -listing-visibility=unauth "
        "-passthrough-request-headers=X-A -allowed-response-headers=X-B "
        "-audit-non-hmac-request-keys=a -options=k=v approle",
        strict=True,
    ),
    S("auth enable -plugin-name=userpass -path=pup plugin", strict=True),
    S("auth enable nosuch", strict=True),
    S("auth enable", strict=True),
    S("auth enable -token-type=bogus -path=up9 userpass", strict=True),
    S("auth enable -output-curl-string -options=a=b -version=1 -token-type=batch approle"),
    S("auth list"),
    S("auth list -detailed"),
    S("auth list -format=json"),
    S("auth tune -default-lease-ttl=30m -max-lease-ttl=2h up2", strict=True),
    S("auth tune -default-lease-ttl=30m nosuchauth", strict=True),
    S("auth tune -token-type=service -description=changed up2/", strict=True),
    S(
        "auth tune -user-lockout-threshold=3 -user-lockout-duration=10m "
        "-user-lockout-counter-reset-duration=5m -user-lockout-disable userpass",
        strict=True,
    ),
    S("auth tune -user-lockout-threshold=x up2", strict=True),
    S("auth tune -user-lockout-threshold=-1 up2", strict=True),
    S("auth tune -user-lockout-threshold=0x10 -output-curl-string up2"),
    S("auth tune -output-curl-string -user-lockout-duration=0 -user-lockout-disable=false x"),
    S("auth tune -output-curl-string -default-lease-ttl=system -options=version=2 x"),
    S("auth tune", strict=True),
    S("auth list -detailed"),
    S("auth list -format=json"),
    S("auth move auth/up2 auth/up3"),
    S("auth move auth/nosuch auth/x", strict=True),
    S("auth move a", strict=True),
    S("auth disable up3", strict=True),
    S("auth disable /pup/", strict=True),
    S("auth disable token", strict=True),
    S("auth disable", strict=True),
    S("auth help token", strict=True),
    S("auth help userpass", strict=True),
    S("auth help cert", strict=True),
    S("auth help oidc", strict=True),
    S("auth help userpass/", strict=True),
    S("auth help ap/", strict=True),
    S("auth help nosuch", strict=True),
    S("auth help", strict=True),
    S("auth list"),
    S("auth", strict=True),
    S("auth nosuch", strict=True),
]


@pytest.fixture(scope="module")
def secrets_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    yield run_both(tmp_path_factory.mktemp("secrets-cmd"), SECRETS_STEPS)


@pytest.fixture(scope="module")
def auth_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    yield run_both(tmp_path_factory.mktemp("auth-cmd"), AUTH_STEPS)


@pytest.mark.parametrize("index", range(len(SECRETS_STEPS)), ids=step_ids(SECRETS_STEPS))
def test_secrets_same_as_bao(secrets_runs: tuple[Run, Run], index: int) -> None:
    check_step(secrets_runs, index)


@pytest.mark.parametrize("index", range(len(AUTH_STEPS)), ids=step_ids(AUTH_STEPS))
def test_auth_same_as_bao(auth_runs: tuple[Run, Run], index: int) -> None:
    check_step(auth_runs, index)


# --------------------------------------------------------------------------- canned responses

ODD_MOUNTS = {
    "zz/": {
        "type": "kv",
        "accessor": "kv_12345678",
        "uuid": "u1",
        "description": "has | a pipe",
        "config": {
            "default_lease_ttl": 3600,
            "max_lease_ttl": 0,
            "force_no_cache": True,
            "audit_non_hmac_request_keys": ["a", "b"],
            "listing_visibility": "unauth",
            "passthrough_request_headers": ["X-A"],
            "allowed_response_headers": ["X-B"],
            "token_type": "batch",
            "user_lockout_config": {"lockout_threshold": 3},
            "unknown": 1,
        },
        "options": {"version": "2", "b": "x"},
        "local": True,
        "seal_wrap": True,
        "external_entropy_access": True,
        "plugin_version": "v1.2.3",
        "running_plugin_version": "v1.2.3",
        "running_sha256": "abc",
        "deprecation_status": "supported",
        "extra_field": "ignored",
    },
    "cubbyhole/": {"type": "cubbyhole", "config": {"default_lease_ttl": 5}, "options": None},
    "aa/": {},
}


@pytest.mark.parametrize("group", ["secrets", "auth"])
@pytest.mark.parametrize(
    "flags",
    [[], ["-detailed"], ["-format=json"], ["-format=yaml"]],
    ids=["table", "detailed", "json", "yaml"],
)
def test_list_odd_mounts(group: str, flags: list[str]) -> None:
    path = "/v1/sys/mounts" if group == "secrets" else "/v1/sys/auth"
    routes = {f"GET {path}": (200, {"data": ODD_MOUNTS})}
    same_against_fake(kv_server(routes), [group, "list", *flags])


@pytest.mark.parametrize(
    "answer",
    [(204, None), (500, {"errors": ["boom"]}), (200, b"[1]"), (200, b"{")],
    ids=["empty", "error", "not-an-object", "truncated"],
)
@pytest.mark.parametrize("group", ["secrets", "auth"])
def test_list_failures(group: str, answer: tuple[int, object]) -> None:
    path = "/v1/sys/mounts" if group == "secrets" else "/v1/sys/auth"
    same_against_fake(kv_server({f"GET {path}": answer}), [group, "list"])


def test_auth_help_without_handler() -> None:
    routes = {"GET /v1/sys/auth": (200, {"data": {"ap/": {"type": "approle"}}})}
    same_against_fake(kv_server(routes), ["auth", "help", "ap"])


@pytest.mark.parametrize("group", ["secrets", "auth"])
@pytest.mark.parametrize(
    "status",
    [
        (200, {"data": {"migration_id": "m1", "migration_info": {"status": "failure"}}}),
        (200, {"data": {"migration_id": "m1", "migration_info": {"status": "success"}}}),
        (404, {"errors": []}),
        (200, None),
    ],
    ids=["failure", "success", "unknown-id", "empty"],
)
def test_move_statuses(group: str, status: tuple[int, object]) -> None:
    def handler(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and path == "/v1/sys/remount":
            return json_response(200, {"data": {"migration_id": "m1"}})
        return json_response(*status)

    sent = same_against_fake(handler, [group, "move", "a", "b"])
    assert sent == ["POST /v1/sys/remount", "GET /v1/sys/remount/status/m1"]


@pytest.mark.parametrize(
    "answer", [(200, None), (200, {"data": {}}), (400, {"errors": ["no"]})], ids=str
)
def test_move_start_answers(answer: tuple[int, object]) -> None:
    same_against_fake(kv_server({"POST /v1/sys/remount": answer}), ["secrets", "move", "a", "b"])
