"""userpass and approle against a real strongroom process: the `bao` CLI and hvac.

Outputs were compared with the same commands against a real OpenBao 2.7.2 dev server.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
import hvac
import pytest
from hvac import exceptions

from tests.integration.server import BAO, ServerProcess

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = re.compile(r"(?:s|hvs)\.[A-Za-z0-9]{24,}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOGIN_BANNER = (
    "Success! You are now authenticated. The token information displayed below is\n"
    'already stored in the token helper. You do NOT need to run "bao login" again.\n'
    "Future OpenBao requests will automatically use this token.\n\n"
)

_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@dataclass
class Bao:
    addr: str
    home: Path

    def __call__(self, *args: str, token: str | None = "root") -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "BAO_ADDR": self.addr,
        }
        if token is not None:
            env["BAO_TOKEN"] = token
        return subprocess.run(
            [BAO, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def ok(self, *args: str, token: str | None = "root") -> str:
        res = self(*args, token=token)
        assert res.returncode == 0, f"bao {' '.join(args)} -> {res.returncode}\n{res.stderr}"
        return res.stdout


def rows(table: str) -> dict[str, str]:
    """A Key/Value table as a dict (header and underline checked, then skipped)."""
    lines = table.rstrip("\n").split("\n")
    assert re.fullmatch(r"Key +Value", lines[0]), table
    assert re.fullmatch(r"--- +-----", lines[1]), table
    out: dict[str, str] = {}
    for line in lines[2:]:
        key, value = re.split(r" {4,}", line, maxsplit=1)
        out[key] = value
    return out


@pytest.fixture
def bao(shared_dev: ServerProcess, tmp_path: Path) -> Bao:
    home = tmp_path / "home"
    home.mkdir()
    return Bao(shared_dev.addr, home)


@pytest.fixture
def client(shared_dev: ServerProcess) -> hvac.Client:
    return hvac.Client(url=shared_dev.addr, token="root")


# --------------------------------------------------------------------------- bao CLI


def test_bao_userpass_login(bao: Bao) -> None:
    mount = unique("up")
    assert bao.ok("auth", "enable", f"-path={mount}", "userpass") == (
        f"Success! Enabled userpass auth method at: {mount}/\n"
    )
    out = bao.ok(
        "write",
        f"auth/{mount}/users/alice",
        "password=s3cret-pw",
        "token_policies=dev",
        "token_ttl=30m",
    )
    assert out == f"Success! Data written to: auth/{mount}/users/alice\n"
    user = rows(bao.ok("read", f"auth/{mount}/users/alice"))
    assert user == {
        "token_bound_cidrs": "[]",
        "token_explicit_max_ttl": "0s",
        "token_max_ttl": "0s",
        "token_no_default_policy": "false",
        "token_num_uses": "0",
        "token_period": "0s",
        "token_policies": "[dev]",
        "token_strictly_bind_ip": "false",
        "token_ttl": "30m",
        "token_type": "default",
    }

    res = bao(
        "login",
        f"-path={mount}",
        "-method=userpass",
        "username=alice",
        "password=s3cret-pw",
        token=None,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(LOGIN_BANNER)
    table = rows(res.stdout[len(LOGIN_BANNER) :])
    assert list(table) == [
        "token",
        "token_accessor",
        "token_duration",
        "token_renewable",
        "token_policies",
        "identity_policies",
        "policies",
        "token_meta_username",
    ]
    assert TOKEN.fullmatch(table["token"])
    assert table["token_duration"] == "30m"
    assert table["token_renewable"] == "true"
    assert table["token_policies"] == table["policies"] == '["default" "dev"]'
    assert table["identity_policies"] == "[]"
    assert table["token_meta_username"] == "alice"
    # The token helper stored the new token.
    assert (bao.home / ".vault-token").read_text() == table["token"]

    # The stored token is used by later commands: lookup-self shows the login.
    me = rows(bao.ok("token", "lookup", token=None))
    assert me["display_name"] == f"{mount}-alice"
    assert me["path"] == f"auth/{mount}/login/alice"
    assert me["policies"] == "[default dev]"
    assert me["meta"] == "map[username:alice]"


def test_bao_userpass_wrong_password(bao: Bao) -> None:
    mount = unique("up")
    bao.ok("auth", "enable", f"-path={mount}", "userpass")
    bao.ok("write", f"auth/{mount}/users/bob", "password=right")
    for user in ("bob", "nobody"):
        res = bao(
            "login",
            f"-path={mount}",
            "-method=userpass",
            f"username={user}",
            "password=wrong",
            token=None,
        )
        assert res.returncode == 2
        assert res.stdout == ""
        assert "Code: 400. Errors:\n\n* invalid username or password" in res.stderr
        assert f"PUT {bao.addr}/v1/auth/{mount}/login/{user}" in res.stderr
    assert not (bao.home / ".vault-token").exists()


def test_bao_approle_flow(bao: Bao) -> None:
    mount = unique("ar")
    bao.ok("auth", "enable", f"-path={mount}", "approle")
    bao.ok(
        "write",
        f"auth/{mount}/role/web",
        "token_policies=dev",
        "token_ttl=20m",
        "token_max_ttl=1h",
        "secret_id_num_uses=3",
        "secret_id_ttl=10m",
    )
    role = rows(bao.ok("read", f"auth/{mount}/role/web"))
    assert role["secret_id_bound_cidrs"] == "<nil>"
    assert role["secret_id_ttl"] == "10m"
    assert role["token_policies"] == "[dev]"
    assert role["token_ttl"] == "20m"

    role_id = rows(bao.ok("read", f"auth/{mount}/role/web/role-id"))
    assert list(role_id) == ["role_id"] and UUID.fullmatch(role_id["role_id"])

    secret = rows(bao.ok("write", f"auth/{mount}/role/web/secret-id", "num_uses=3"))
    assert list(secret) == [
        "secret_id",
        "secret_id_accessor",
        "secret_id_num_uses",
        "secret_id_ttl",
    ]
    assert secret["secret_id_num_uses"] == "3" and secret["secret_id_ttl"] == "10m"

    listed = bao.ok("list", f"auth/{mount}/role/web/secret-id")
    assert listed == f"Keys\n----\n{secret['secret_id_accessor']}\n"

    out = bao.ok(
        "write",
        f"auth/{mount}/login",
        f"role_id={role_id['role_id']}",
        f"secret_id={secret['secret_id']}",
        token=None,
    )
    table = rows(out)
    assert list(table) == [
        "token",
        "token_accessor",
        "token_duration",
        "token_renewable",
        "token_policies",
        "identity_policies",
        "policies",
        "token_meta_role_name",
    ]
    assert TOKEN.fullmatch(table["token"])
    assert table["token_duration"] == "20m"
    assert table["token_policies"] == '["default" "dev"]'
    assert table["token_meta_role_name"] == "web"

    looked = rows(
        bao.ok(
            "write", f"auth/{mount}/role/web/secret-id/lookup", f"secret_id={secret['secret_id']}"
        )
    )
    assert looked["secret_id_num_uses"] == "2"
    assert looked["metadata"] == "map[]"

    bad = bao(
        "write",
        f"auth/{mount}/login",
        f"role_id={role_id['role_id']}",
        "secret_id=nope",
        token=None,
    )
    assert bad.returncode == 2
    assert "* invalid role or secret ID" in bad.stderr

    # bao login -method=approle is not a thing; the CLI logs in through `write`.
    auth_list = bao.ok("auth", "list")
    assert re.search(rf"^{mount}/\s+approle\s+auth_approle_[0-9a-f]{{8}}\s", auth_list, re.M)


def test_bao_write_f_generates_a_secret_id(bao: Bao) -> None:
    mount = unique("arf")
    bao.ok("auth", "enable", f"-path={mount}", "approle")
    bao.ok("write", f"auth/{mount}/role/web", "secret_id_ttl=10m")
    secret = rows(bao.ok("write", "-f", f"auth/{mount}/role/web/secret-id"))
    assert UUID.fullmatch(secret["secret_id"])
    assert secret["secret_id_num_uses"] == "0" and secret["secret_id_ttl"] == "10m"


def test_bao_auth_list_shows_both(bao: Bao) -> None:
    up, ar = unique("listup"), unique("listar")
    bao.ok("auth", "enable", f"-path={up}", "userpass")
    bao.ok("auth", "enable", f"-path={ar}", "approle")
    lines = bao.ok("auth", "list").splitlines()
    assert re.fullmatch(r"Path\s+Type\s+Accessor\s+Description\s+Version", lines[0])
    types = {line.split()[0]: line.split()[1] for line in lines[2:]}
    assert types[f"{up}/"] == "userpass"
    assert types[f"{ar}/"] == "approle"
    assert types["token/"] == "token"


# --------------------------------------------------------------------------- hvac


def test_hvac_userpass(client: hvac.Client, shared_dev: ServerProcess) -> None:
    mount = unique("hvup")
    client.sys.enable_auth_method("userpass", path=mount)
    client.auth.userpass.create_or_update_user(
        "carol", password="pw-carol", policies=["dev"], mount_point=mount, token_ttl="1h"
    )
    user = client.auth.userpass.read_user("carol", mount_point=mount)["data"]
    assert user["token_policies"] == ["dev"] and user["policies"] == ["dev"]
    assert user["token_ttl"] == 3600
    assert "password" not in user
    assert client.auth.userpass.list_user(mount_point=mount)["data"]["keys"] == ["carol"]

    login_client = hvac.Client(url=shared_dev.addr)
    resp = login_client.auth.userpass.login("carol", "pw-carol", mount_point=mount)
    auth = resp["auth"]
    assert auth["policies"] == ["default", "dev"]
    assert auth["metadata"] == {"username": "carol"}
    assert auth["lease_duration"] == 3600
    assert auth["orphan"] is True
    assert login_client.token == auth["client_token"]
    assert login_client.is_authenticated()
    me = login_client.auth.token.lookup_self()["data"]
    assert me["policies"] == ["default", "dev"]
    assert me["display_name"] == f"{mount}-carol"
    # The default policy's cubbyhole works for the new token.
    login_client.write("cubbyhole/note", v="1")
    assert login_client.read("cubbyhole/note")["data"] == {"v": "1"}

    with pytest.raises(exceptions.InvalidRequest, match="invalid username or password"):
        hvac.Client(url=shared_dev.addr).auth.userpass.login("carol", "nope", mount_point=mount)

    client.auth.userpass.update_password_on_user("carol", "pw-new", mount_point=mount)
    with pytest.raises(exceptions.InvalidRequest):
        hvac.Client(url=shared_dev.addr).auth.userpass.login("carol", "pw-carol", mount_point=mount)
    hvac.Client(url=shared_dev.addr).auth.userpass.login("carol", "pw-new", mount_point=mount)
    client.auth.userpass.delete_user("carol", mount_point=mount)
    with pytest.raises(exceptions.InvalidPath):
        client.auth.userpass.read_user("carol", mount_point=mount)


def test_hvac_approle(client: hvac.Client, shared_dev: ServerProcess) -> None:
    mount = unique("hvar")
    client.sys.enable_auth_method("approle", path=mount)
    client.auth.approle.create_or_update_approle(
        "web",
        token_policies=["dev"],
        token_ttl="20m",
        secret_id_num_uses=2,
        mount_point=mount,
    )
    role = client.auth.approle.read_role("web", mount_point=mount)["data"]
    assert role["token_policies"] == ["dev"] and role["secret_id_num_uses"] == 2
    assert client.auth.approle.list_roles(mount_point=mount)["data"]["keys"] == ["web"]

    role_id = client.auth.approle.read_role_id("web", mount_point=mount)["data"]["role_id"]
    assert UUID.fullmatch(role_id)
    generated = client.auth.approle.generate_secret_id(
        "web", metadata={"env": "dev"}, mount_point=mount
    )["data"]
    assert generated["secret_id_num_uses"] == 2
    info = client.auth.approle.read_secret_id("web", generated["secret_id"], mount_point=mount)
    assert info["data"]["metadata"] == {"env": "dev"}
    assert info["data"]["secret_id_accessor"] == generated["secret_id_accessor"]

    login_client = hvac.Client(url=shared_dev.addr)
    auth = login_client.auth.approle.login(role_id, generated["secret_id"], mount_point=mount)[
        "auth"
    ]
    assert auth["policies"] == ["default", "dev"]
    assert auth["metadata"] == {"env": "dev", "role_name": "web"}
    assert auth["lease_duration"] == 1200
    me = login_client.auth.token.lookup_self()["data"]
    assert me["display_name"] == mount
    assert me["path"] == f"auth/{mount}/login"

    # Second use is the last one; the third login fails.
    hvac.Client(url=shared_dev.addr).auth.approle.login(
        role_id, generated["secret_id"], mount_point=mount
    )
    with pytest.raises(exceptions.InvalidRequest, match="invalid role or secret ID"):
        hvac.Client(url=shared_dev.addr).auth.approle.login(
            role_id, generated["secret_id"], mount_point=mount
        )

    custom = client.auth.approle.create_custom_secret_id("web", "my-own-secret", mount_point=mount)
    assert custom["data"]["secret_id"] == "my-own-secret"
    client.auth.approle.destroy_secret_id("web", "my-own-secret", mount_point=mount)
    with pytest.raises(exceptions.InvalidRequest):
        hvac.Client(url=shared_dev.addr).auth.approle.login(
            role_id, "my-own-secret", mount_point=mount
        )


def test_unauthenticated_login_paths_over_http(shared_dev: ServerProcess) -> None:
    headers = {"X-Vault-Token": "root"}
    mount = unique("rawup")
    base = f"{shared_dev.addr}/v1"
    assert (
        httpx.post(
            f"{base}/sys/auth/{mount}", json={"type": "userpass"}, headers=headers
        ).status_code
        == 204
    )
    httpx.post(f"{base}/auth/{mount}/users/dan", json={"password": "pw"}, headers=headers)
    no_user = httpx.post(f"{base}/auth/{mount}/login", json={"password": "pw"})
    assert (no_user.status_code, no_user.json()) == (403, {"errors": ["permission denied"]})
    missing = httpx.post(f"{base}/auth/{mount}/login/dan", json={})
    assert (missing.status_code, missing.json()) == (500, {"errors": ["missing password"]})
    ok = httpx.post(f"{base}/auth/{mount}/login/dan", json={"password": "pw"})
    assert ok.status_code == 200
    body = ok.json()
    assert body["data"] is None and body["lease_id"] == "" and body["auth"]["orphan"] is True
    leases = httpx.request(
        "LIST", f"{base}/sys/leases/lookup/auth/{mount}/login/dan/", headers=headers
    ).json()["data"]["keys"]
    assert len(leases) == 1 and re.fullmatch(r"h[0-9a-f]{64}", leases[0])


DEV_POLICY = """
path "secret/data/app" {
  capabilities = ["read"]
}
"""


def test_login_tokens_read_exactly_what_their_policies_allow(bao: Bao, tmp_path: Path) -> None:
    policy = unique("dev")
    policy_file = tmp_path / "dev.hcl"
    policy_file.write_text(DEV_POLICY)
    bao.ok("policy", "write", policy, str(policy_file))
    bao.ok("kv", "put", "secret/app", "password=visible")
    bao.ok("kv", "put", "secret/other", "password=hidden")

    users = unique("up")
    bao.ok("auth", "enable", f"-path={users}", "userpass")
    bao.ok("write", f"auth/{users}/users/alice", "password=pw", f"token_policies={policy}")
    user_token = bao.ok(
        "login",
        "-method=userpass",
        f"-path={users}",
        "-token-only",
        "username=alice",
        "password=pw",
        token=None,
    ).strip()

    roles = unique("ar")
    bao.ok("auth", "enable", f"-path={roles}", "approle")
    bao.ok("write", f"auth/{roles}/role/web", f"token_policies={policy}")
    role_id = bao.ok("read", "-field=role_id", f"auth/{roles}/role/web/role-id")
    secret_id = bao.ok("write", "-f", "-field=secret_id", f"auth/{roles}/role/web/secret-id")
    role_token = bao.ok(
        "write",
        "-field=token",
        f"auth/{roles}/login",
        f"role_id={role_id}",
        f"secret_id={secret_id}",
        token=None,
    )

    for token in (user_token, role_token):
        assert "visible" in bao.ok("kv", "get", "-field=password", "secret/app", token=token)
        denied = bao("kv", "get", "secret/other", token=token)
        assert denied.returncode == 2
        assert "permission denied" in denied.stderr
        write = bao("kv", "put", "secret/app", "password=changed", token=token)
        assert write.returncode == 2
        assert "permission denied" in write.stderr
        caps = bao.ok("token", "capabilities", token, "secret/data/app", token=token)
        assert caps.strip() == "read"
    assert "visible" in bao.ok("kv", "get", "-field=password", "secret/app")
