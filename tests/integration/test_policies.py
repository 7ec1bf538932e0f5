"""ACL policies on a real strongroom server: the policy and capabilities APIs,
enforcement (create vs update, sudo paths, the default policy) and the real
`bao` CLI and hvac using them. Expected texts were observed on OpenBao 2.7.2.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hvac
import pytest

from tests.integration.server import BAO, ServerProcess

DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


class Api:
    """A thin HTTP client for one server and token."""

    def __init__(self, addr: str, token: str = "root") -> None:
        self.client = httpx.Client(base_url=f"{addr}/v1/", headers={"X-Vault-Token": token})
        self.addr = addr

    def __call__(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, json=body, **kwargs)

    def as_token(self, token: str) -> Api:
        return Api(self.addr, token)

    def policy(self, name: str, text: str) -> None:
        resp = self("PUT", f"sys/policies/acl/{name}", {"policy": text})
        assert resp.status_code == 204, resp.text

    def token(self, *policies: str, **extra: Any) -> str:
        resp = self("POST", "auth/token/create", {"policies": list(policies), **extra})
        assert resp.status_code == 200, resp.text
        return resp.json()["auth"]["client_token"]


@pytest.fixture(scope="module")
def api(shared_dev: ServerProcess) -> Iterator[Api]:
    client = Api(shared_dev.addr)
    yield client
    client.client.close()


def status(resp: httpx.Response) -> int:
    return resp.status_code


# --------------------------------------------------------------------------- policy CRUD


def test_acl_api_crud(api: Api) -> None:
    text = 'path "secret/data/crud/*" {\n  capabilities = ["read"]\n}\n'
    assert status(api("PUT", "sys/policies/acl/Crud-One", {"policy": text})) == 204
    read = api("GET", "sys/policies/acl/crud-one")
    assert read.status_code == 200
    body = read.json()
    data = body["data"]
    assert "policy" not in body  # no top-level copy on this API
    assert data["name"] == "crud-one" and data["policy"] == text
    assert (data["version"], data["cas_required"]) == (1, False)
    assert data["modified"].endswith("Z")
    assert data["allow_wildcards_in_identity_templates"] is False
    assert data["allow_slashes_in_identity_templates"] is False
    assert api("GET", "sys/policies/acl/CRUD-ONE").json()["data"]["name"] == "crud-one"
    keys = api("LIST", "sys/policies/acl").json()["data"]["keys"]
    assert "crud-one" in keys and keys[-1] == "root"
    assert api("GET", "sys/policies/acl", params={"list": "true"}).json()["data"]["keys"] == keys
    assert status(api("PUT", "sys/policies/acl/crud-one", {"policy": text})) == 204
    assert api("GET", "sys/policies/acl/crud-one").json()["data"]["version"] == 2
    assert status(api("DELETE", "sys/policies/acl/crud-one")) == 204
    missing = api("GET", "sys/policies/acl/crud-one")
    assert (missing.status_code, missing.json()) == (404, {"errors": []})
    assert status(api("DELETE", "sys/policies/acl/never-there")) == 204
    assert api("GET", "sys/policies/acl").json() == {
        "errors": ["1 error occurred:\n\t* unsupported operation\n\n"]
    }


def test_legacy_api_with_top_level_copy_and_rules_warning(api: Api) -> None:
    text = 'path "legacy/*" { capabilities = ["list"] }'
    assert status(api("PUT", "sys/policy/Legacy", {"policy": text})) == 204
    body = api("GET", "sys/policy/legacy").json()
    assert body["data"]["rules"] == text and body["rules"] == text
    assert body["name"] == "legacy" and body["version"] == 1
    warned = api("PUT", "sys/policy/legacy", {"rules": text})
    assert warned.status_code == 200
    assert warned.json()["data"] is None
    assert warned.json()["warnings"] == ["'rules' is deprecated, please use 'policy' instead"]
    assert api("GET", "sys/policy/legacy").json()["data"]["version"] == 2
    listing = api("GET", "sys/policy").json()
    assert listing["keys"] == listing["policies"] == listing["data"]["keys"]
    assert "legacy" in listing["keys"] and listing["keys"][-1] == "root"
    assert api("LIST", "sys/policy").json()["data"]["policies"] == listing["keys"]
    root = api("GET", "sys/policy/root").json()
    assert root["data"] == {
        "name": "root",
        "rules": "",
        "version": 0,
        "cas_required": False,
        "allow_wildcards_in_identity_templates": False,
        "allow_slashes_in_identity_templates": False,
    }
    # The new API does not take "rules".
    resp = api("PUT", "sys/policies/acl/legacy", {"rules": text})
    assert resp.json() == {"errors": ["'policy' parameter not supplied or empty"]}
    assert status(api("DELETE", "sys/policy/legacy")) == 204


def test_default_and_root_policies(api: Api) -> None:
    default = api("GET", "sys/policies/acl/default").json()["data"]
    assert default["policy"].startswith("\n# Allow tokens to look up their own properties\n")
    assert (
        'path "cubbyhole/*" {\n    capabilities = ["create", "read", "update", "delete", "list"]\n}'
        in (default["policy"])
    )
    root = api("GET", "sys/policies/acl/root").json()["data"]
    assert (root["policy"], root["version"]) == ("", 0)
    assert "modified" not in root
    errors = [
        (
            api("PUT", "sys/policies/acl/root", {"policy": 'path "x" {}'}),
            'cannot update "root" policy',
        ),
        (api("DELETE", "sys/policies/acl/root"), 'cannot delete "root" policy'),
        (api("DELETE", "sys/policy/ROOT"), 'cannot delete "root" policy'),
        (api("DELETE", "sys/policies/acl/default"), "cannot delete default policy"),
        (api("DELETE", "sys/policy/default"), "cannot delete default policy"),
    ]
    for resp, message in errors:
        assert (resp.status_code, resp.json()) == (400, {"errors": [message]})


def test_write_errors(api: Api) -> None:
    cases = [
        ({}, "'policy' parameter not supplied or empty"),
        ({"policy": ""}, "'policy' parameter not supplied or empty"),
        (
            {"policy": "bad"},
            "failed to parse policy: At 1:5: key 'bad' expected start of object ('{') "
            "or assignment ('=')",
        ),
        (
            {"policy": 'path "x" {\n  capabilities = ["read",\n}'},
            "failed to parse policy: At 3:1: unexpected token while parsing list: RBRACE",
        ),
        (
            {"policy": 'path "x" { capabilities = ["bogus"] }'},
            'failed to parse policy: path "x": path "x": invalid capability "bogus"',
        ),
        (
            {"policy": 'path "x+*" { capabilities = ["read"] }'},
            'failed to parse policy: path "x+*": path "x+*": '
            "invalid use of wildcards ('+*' is forbidden)",
        ),
    ]
    for body, message in cases:
        resp = api("PUT", "sys/policies/acl/broken", body)
        assert (resp.status_code, resp.json()) == (400, {"errors": [message]}), body


def test_base64_policy_text_is_decoded(api: Api) -> None:
    import base64

    text = 'path "b64/*" { capabilities = ["read"] }'
    encoded = base64.b64encode(text.encode()).decode()
    assert status(api("PUT", "sys/policies/acl/b64", {"policy": encoded})) == 204
    assert api("GET", "sys/policies/acl/b64").json()["data"]["policy"] == text


def test_json_policy(api: Api) -> None:
    name = unique("json")
    api.policy(name, '{"path": {"json/*": {"capabilities": ["read", "list"]}}}')
    token = api.token(name)
    caps = api("POST", "sys/capabilities", {"token": token, "path": "json/x"}).json()
    assert caps["capabilities"] == ["list", "read"]


def test_check_and_set(api: Api) -> None:
    name = unique("cas")
    text = 'path "x" {}'
    assert status(api("PUT", f"sys/policies/acl/{name}", {"policy": text, "cas": 0})) == 204
    mismatch = api("PUT", f"sys/policies/acl/{name}", {"policy": text, "cas": 5})
    assert mismatch.json() == {
        "errors": ["check-and-set parameter 5 did not match the current version 1"]
    }
    existing = api("PUT", f"sys/policies/acl/{name}", {"policy": text, "cas": -1})
    assert existing.json() == {"errors": ["check-and-set parameter set to -1 on existing entry"]}
    new = api("PUT", f"sys/policies/acl/{unique('cas')}", {"policy": text, "cas": 1})
    assert new.json() == {
        "errors": ["check-and-set parameter 1 did not match the current version 0"]
    }
    body = {"policy": text, "cas": 1, "cas_required": True}
    assert status(api("PUT", f"sys/policies/acl/{name}", body)) == 204
    assert api("GET", f"sys/policies/acl/{name}").json()["data"]["cas_required"] is True
    required = api("PUT", f"sys/policies/acl/{name}", {"policy": text})
    assert required.json() == {"errors": ["check-and-set parameter required for this call"]}
    assert status(api("PUT", f"sys/policy/{name}", {"policy": text, "cas": 2})) == 204
    data = api("GET", f"sys/policies/acl/{name}").json()["data"]
    assert (data["version"], data["cas_required"]) == (3, False)


# --------------------------------------------------------------------------- capabilities


def test_capabilities_endpoints(api: Api) -> None:
    name = unique("caps")
    api.policy(
        name,
        'path "app/*" { capabilities = ["read", "list"] }\n'
        'path "app/+/c" { capabilities = ["delete", "update"] }',
    )
    token = api.token(name)
    accessor = api("POST", "auth/token/lookup", {"token": token}).json()["data"]["accessor"]

    single = api("POST", "sys/capabilities", {"token": token, "path": "app/q/c"}).json()
    assert single["data"] == {"app/q/c": ["delete", "update"], "capabilities": ["delete", "update"]}
    assert single["capabilities"] == ["delete", "update"]  # top-level copy
    many = api(
        "POST", "sys/capabilities", {"token": token, "paths": ["app/foo", "other", "/app/q/c"]}
    )
    assert many.json()["data"] == {
        "app/foo": ["list", "read"],
        "other": ["deny"],
        "/app/q/c": ["delete", "update"],
    }
    split = api("POST", "sys/capabilities", {"token": token, "path": "app/x,other"}).json()
    assert split["data"] == {"app/x": ["list", "read"], "other": ["deny"]}
    root = api("POST", "sys/capabilities", {"token": "root", "path": "anything"}).json()
    assert root["data"] == {"anything": ["root"], "capabilities": ["root"]}

    by_accessor = api("POST", "sys/capabilities-accessor", {"accessor": accessor, "path": "app/x"})
    assert by_accessor.json()["data"]["capabilities"] == ["list", "read"]
    self_caps = api.as_token(token)(
        "POST", "sys/capabilities-self", {"paths": ["app/x", "sys/capabilities-self"]}
    )
    assert self_caps.json()["data"] == {
        "app/x": ["list", "read"],
        "sys/capabilities-self": ["update"],
    }

    errors = [
        (
            api("POST", "sys/capabilities", {"path": "a"}),
            500,
            "1 error occurred:\n\t* no token found\n\n",
        ),
        (
            api("POST", "sys/capabilities", {"token": "", "path": "a"}),
            500,
            "1 error occurred:\n\t* no token found\n\n",
        ),
        (
            api("POST", "sys/capabilities", {"token": "bogus", "path": "a"}),
            400,
            "1 error occurred:\n\t* invalid token\n\n",
        ),
        (api("POST", "sys/capabilities", {"token": token}), 400, "paths must be supplied"),
        (
            api("POST", "sys/capabilities", {"token": token, "paths": ["a", ""]}),
            400,
            "1 error occurred:\n\t* missing path\n\n",
        ),
        (api("POST", "sys/capabilities-accessor", {"path": "a"}), 400, "missing accessor"),
        (
            api("POST", "sys/capabilities-accessor", {"accessor": "bogus", "path": "a"}),
            400,
            "1 error occurred:\n\t* invalid accessor\n\n",
        ),
    ]
    for resp, code, message in errors:
        assert (resp.status_code, resp.json()) == (code, {"errors": [message]})
    # sys/capabilities is not in the default policy; capabilities-self is.
    denied = api.as_token(token)("POST", "sys/capabilities", {"token": token, "path": "a"})
    assert (denied.status_code, denied.json()) == (403, DENIED)


def test_resultant_acl(api: Api) -> None:
    name = unique("result")
    api.policy(
        name,
        'path "res/*" { capabilities = ["read"] allowed_parameters = {"A" = ["1"]} }\n'
        'path "res/+/x" { capabilities = ["list"] }',
    )
    data = api.as_token(api.token(name))("GET", "sys/internal/ui/resultant-acl").json()["data"]
    assert data["root"] is False
    assert data["glob_paths"]["res/"] == {
        "capabilities": ["read"],
        "allowed_parameters": {"a": ["1"]},
    }
    assert data["glob_paths"]["cubbyhole/"] == {
        "capabilities": ["create", "delete", "list", "read", "update"]
    }
    assert data["exact_paths"]["auth/token/lookup-self"] == {"capabilities": ["read"]}
    assert "res/+/x" not in data["exact_paths"]  # segment-wildcard rules are not shown
    assert api("GET", "sys/internal/ui/resultant-acl").json()["data"] == {"root": True}


# --------------------------------------------------------------------------- enforcement


def test_default_only_token(api: Api) -> None:
    token = api.token("default", ttl="1h")
    me = api.as_token(token)
    assert me("GET", "auth/token/lookup-self").json()["data"]["policies"] == ["default"]
    assert status(me("POST", "auth/token/renew-self", {})) == 200
    assert status(me("PUT", "cubbyhole/note", {"v": "1"})) == 204
    assert me("GET", "cubbyhole/note").json()["data"] == {"v": "1"}
    assert me("LIST", "cubbyhole/").json()["data"]["keys"] == ["note"]
    assert status(me("DELETE", "cubbyhole/note")) == 204
    assert status(me("POST", "sys/capabilities-self", {"path": "x"})) == 200
    assert status(me("GET", "sys/internal/ui/resultant-acl")) == 200
    for method, path, body in [
        ("GET", "secret/data/x", None),
        ("PUT", "secret/data/x", {"data": {"a": "1"}}),
        ("GET", "sys/mounts", None),
        ("POST", "sys/mounts/nope", {"type": "kv"}),
        ("GET", "sys/policy", None),
        ("LIST", "sys/policies/acl", None),
        ("PUT", "sys/policies/acl/mine", {"policy": 'path "x" {}'}),
        ("POST", "auth/token/create", {}),
        ("POST", "auth/token/lookup", {"token": token}),
        ("GET", "sys/key-status", None),
        ("GET", "nonexist/foo", None),
        ("GET", "sys/nonexist", None),
    ]:
        resp = me(method, path, body)
        assert (resp.status_code, resp.json()) == (403, DENIED), (method, path)
    assert status(me("POST", "auth/token/revoke-self", {})) == 204
    gone = me("GET", "auth/token/lookup-self")
    assert (gone.status_code, gone.json()) == (403, {"errors": ["permission denied"]})


def test_create_versus_update(api: Api) -> None:
    mount = unique("kvcu")
    assert status(api("POST", f"sys/mounts/{mount}", {"type": "kv"})) == 204
    create_only = unique("create")
    api.policy(create_only, f'path "{mount}/*" {{ capabilities = ["create"] }}')
    writer = api.as_token(api.token(create_only))
    assert status(writer("PUT", f"{mount}/x", {"a": "1"})) == 204
    assert writer("PUT", f"{mount}/x", {"a": "2"}).json() == DENIED
    update_only = unique("update")
    api.policy(update_only, f'path "{mount}/*" {{ capabilities = ["update"] }}')
    updater = api.as_token(api.token(update_only))
    assert status(updater("PUT", f"{mount}/x", {"a": "3"})) == 204
    assert updater("PUT", f"{mount}/new", {"a": "1"}).json() == DENIED
    assert api("GET", f"{mount}/x").json()["data"] == {"a": "3"}
    # Policies have an existence check too.
    name = unique("pol")
    api.policy(name, 'path "sys/policies/acl/*" { capabilities = ["create"] }')
    author = api.as_token(api.token(name))
    target = unique("made")
    assert status(author("PUT", f"sys/policies/acl/{target}", {"policy": 'path "x" {}'})) == 204
    assert author("PUT", f"sys/policies/acl/{target}", {"policy": 'path "y" {}'}).json() == DENIED


def test_parameter_constraints(api: Api) -> None:
    mount = unique("kvp")
    assert status(api("POST", f"sys/mounts/{mount}", {"type": "kv"})) == 204
    name = unique("params")
    api.policy(
        name,
        f'path "{mount}/*" {{\n  capabilities = ["create", "update", "read"]\n'
        '  allowed_parameters = { "env" = ["dev-*", "test"], "note" = [] }\n'
        '  denied_parameters = { "note" = ["secret*"] }\n}\n',
    )
    me = api.as_token(api.token(name))
    assert status(me("PUT", f"{mount}/a", {"env": "dev-1", "note": "hi"})) == 204
    assert me("PUT", f"{mount}/b", {"env": "prod"}).json() == DENIED
    assert me("PUT", f"{mount}/b", {"other": "x"}).json() == DENIED
    assert me("PUT", f"{mount}/b", {"note": "secret stuff"}).json() == DENIED
    assert me("PUT", f"{mount}/b", {"ENV": "test"}).status_code == 204


def test_sudo_paths_with_a_token_lacking_sudo(api: Api) -> None:
    name = unique("nosudo")
    grant = '{ capabilities = ["create", "read", "update", "delete", "list"] }'
    api.policy(name, f'path "sys/*" {grant}\npath "auth/*" {grant}')
    me = api.as_token(api.token(name))
    mount = unique("sudomnt")
    expectations = [
        ("GET", "sys/auth", None, 200),
        ("GET", "sys/auth/token/tune", None, 403),
        ("POST", f"sys/auth/{mount}", {"type": "userpass"}, 403),
        ("POST", f"sys/mounts/{mount}", {"type": "kv"}, 204),
        ("DELETE", f"sys/mounts/{mount}", None, 204),
        ("POST", "sys/rotate", {}, 403),
        ("POST", "sys/rotate/keyring", {}, 403),
        ("LIST", "sys/leases/lookup/auth/", None, 403),
        ("GET", "sys/key-status", None, 200),
        ("POST", "sys/remount", {"from": "a", "to": "b"}, 403),
        ("GET", "sys/audit", None, 403),
        ("POST", "sys/seal", {}, 403),
        ("GET", "sys/policies/acl/default", None, 200),
    ]
    for method, path, body, code in expectations:
        resp = me(method, path, body)
        assert resp.status_code == code, (method, path, resp.text)
        if code == 403:
            assert resp.json() == DENIED
    # No sudo needed for these (strongroom may not serve them: then 404, not 403).
    for path in ("sys/host-info", "sys/metrics"):
        assert me("GET", path).status_code != 403, path
    # The token store's own root-or-sudo checks.
    orphan = me("POST", "auth/token/create", {"no_parent": True})
    assert orphan.json() == {"errors": ["root or sudo privileges required to create orphan token"]}
    custom = me("POST", "auth/token/create", {"id": "my-custom-id"})
    assert custom.json() == {"errors": ["root or sudo privileges required to specify token id"]}
    accessors = me("LIST", "auth/token/accessors/")
    assert accessors.json() == DENIED


def test_sudo_capability_opens_sudo_paths(api: Api) -> None:
    name = unique("sudo")
    grant = '{ capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'
    api.policy(name, f'path "sys/*" {grant}\npath "auth/*" {grant}')
    me = api.as_token(api.token(name))
    mount = unique("sudoauth")
    assert status(me("POST", f"sys/auth/{mount}", {"type": "userpass"})) == 204
    assert status(me("GET", f"sys/auth/{mount}/tune")) == 200
    assert status(me("DELETE", f"sys/auth/{mount}")) == 204
    assert me("GET", "sys/audit").status_code != 403  # (not served by strongroom yet)
    orphan = me("POST", "auth/token/create", {"no_parent": True, "policies": [name]})
    assert orphan.status_code == 200 and orphan.json()["auth"]["orphan"] is True
    assert status(me("LIST", "auth/token/accessors/")) == 200


def test_policy_change_takes_effect_on_the_next_request(api: Api) -> None:
    mount = unique("kvlive")
    assert status(api("POST", f"sys/mounts/{mount}", {"type": "kv"})) == 204
    assert status(api("PUT", f"{mount}/x", {"v": "1"})) == 204
    name = unique("live")
    token = api.token(name)  # the policy does not exist yet
    me = api.as_token(token)
    assert me("GET", f"{mount}/x").json() == DENIED
    api.policy(name, f'path "{mount}/*" {{ capabilities = ["read"] }}')
    assert me("GET", f"{mount}/x").json()["data"] == {"v": "1"}
    api.policy(name, f'path "{mount}/*" {{ capabilities = ["deny"] }}')
    assert me("GET", f"{mount}/x").json() == DENIED
    api.policy(name, f'path "{mount}/*" {{ capabilities = ["read"] }}')
    assert status(me("GET", f"{mount}/x")) == 200
    assert status(api("DELETE", f"sys/policies/acl/{name}")) == 204
    assert me("GET", f"{mount}/x").json() == DENIED


def test_unknown_policy_warning_on_token_create(api: Api) -> None:
    name = unique("known")
    api.policy(name, 'path "x" {}')
    resp = api("POST", "auth/token/create", {"policies": [name, "no-such-policy"]})
    assert resp.json()["warnings"] == ['Policy "no-such-policy" does not exist']
    assert api("POST", "auth/token/create", {"policies": [name]}).json()["warnings"] is None


def test_ui_mounts_follow_the_acl(api: Api) -> None:
    name = unique("ui")
    api.policy(name, 'path "secret/data/ui/*" { capabilities = ["read"] }')
    me = api.as_token(api.token(name))
    listing = me("GET", "sys/internal/ui/mounts").json()["data"]
    # As on OpenBao: the default policy grants paths below sys/, identity/ and auth/token/.
    assert set(listing["secret"]) == {"secret/", "cubbyhole/", "identity/", "sys/"}
    assert set(listing["auth"]) == {"token/"}
    alone = api.as_token(api.token(name, no_default_policy=True))
    listing = alone("GET", "sys/internal/ui/mounts").json()["data"]
    assert (set(listing["secret"]), listing["auth"]) == ({"secret/"}, {})
    assert me("GET", "sys/internal/ui/mounts/secret/ui/x").json()["data"]["path"] == "secret/"
    hidden = unique("hidden")
    assert status(api("POST", f"sys/mounts/{hidden}", {"type": "kv"})) == 204
    for path in (f"{hidden}/x", "nonexist/foo"):
        resp = me("GET", f"sys/internal/ui/mounts/{path}")
        assert (resp.status_code, resp.json()) == (
            403,
            {
                "errors": [
                    "preflight capability check returned 403, please ensure client's policies "
                    f'grant access to path "{path}/"'
                ]
            },
        )


# --------------------------------------------------------------------------- clients


def bao(
    addr: str, home: Path, token: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "BAO_ADDR": addr,
        "BAO_TOKEN": token,
    }
    return subprocess.run(
        [BAO, *args], env=env, input=stdin, capture_output=True, text=True, timeout=30, check=False
    )


def test_bao_cli_kv_get_limited_by_policy(
    api: Api, shared_dev: ServerProcess, tmp_path: Path
) -> None:
    run = lambda token, *args, stdin=None: bao(shared_dev.addr, tmp_path, token, *args, stdin=stdin)  # noqa: E731
    assert run("root", "kv", "put", "secret/app/x", "a=1").returncode == 0
    assert run("root", "kv", "put", "secret/other", "b=2").returncode == 0
    policy = 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n'
    wrote = run("root", "policy", "write", "appread", "-", stdin=policy)
    assert wrote.stdout == "Success! Uploaded policy: appread\n"
    token = run("root", "token", "create", "-policy=appread", "-field=token").stdout.strip()

    got = run(token, "kv", "get", "-field=a", "secret/app/x")
    assert (got.returncode, got.stdout) == (0, "1")
    for args in (
        ("kv", "get", "secret/other"),
        ("kv", "put", "secret/app/x", "a=2"),
        ("kv", "list", "secret/"),
    ):
        denied = run(token, *args)
        assert denied.returncode == 2, args
        assert "Code: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n" in denied.stderr
    assert run(token, "token", "capabilities", "secret/data/app/x").stdout == "read\n"
    assert run(token, "token", "capabilities", "secret/data/other").stdout == "deny\n"
    assert run("root", "policy", "read", "appread").stdout == policy
    assert "appread\n" in run("root", "policy", "list").stdout
    missing = run("root", "policy", "read", "root")
    assert (missing.returncode, missing.stderr) == (2, "No policy named: root\n")
    assert run("root", "policy", "delete", "appread").stdout == "Success! Deleted policy: appread\n"


def test_hvac_policy_calls(shared_dev: ServerProcess) -> None:
    client = hvac.Client(url=shared_dev.addr, token="root")
    rules = 'path "hvac/*" {\n  capabilities = ["read", "list"]\n}\n'
    client.sys.create_or_update_acl_policy(name="hvac-pol", policy=rules)
    assert client.sys.read_acl_policy("hvac-pol")["data"]["policy"] == rules
    assert "hvac-pol" in client.sys.list_acl_policies()["data"]["keys"]
    token = client.auth.token.create(policies=["hvac-pol"])["auth"]["client_token"]
    caps = client.sys.get_capabilities(paths=["hvac/x", "other"], token=token)
    assert caps["data"] == {"hvac/x": ["list", "read"], "other": ["deny"]}
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid capability"):
        client.sys.create_or_update_acl_policy(
            name="bad", policy='path "x" { capabilities = ["x"] }'
        )
    client.sys.delete_acl_policy("hvac-pol")
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.read_acl_policy("hvac-pol")


def test_policies_survive_restart(tmp_path: Path) -> None:
    from tests.integration.server import FILE_CONFIG, config_server

    server = config_server(tmp_path / "srv", FILE_CONFIG).start()
    try:
        init = httpx.put(
            f"{server.addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}
        ).json()
        key, root = init["keys_base64"][0], init["root_token"]
        httpx.put(f"{server.addr}/v1/sys/unseal", json={"key": key})
        client = Api(server.addr, root)
        assert client("GET", "sys/policies/acl/default").json()["data"]["version"] == 1
        client.policy("kept", 'path "kept/*" { capabilities = ["read"] }')
        token = client.token("kept")
        server.stop()
        server.start()
        httpx.put(f"{server.addr}/v1/sys/unseal", json={"key": key})
        caps = client("POST", "sys/capabilities", {"token": token, "path": "kept/x"}).json()
        assert caps["data"]["capabilities"] == ["read"]
        assert client("GET", "sys/policies/acl/kept").json()["data"]["version"] == 1
    finally:
        server.stop()
