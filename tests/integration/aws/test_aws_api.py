"""The AWS engine over HTTP, hvac and the `bao` CLI, against moto's server (no boto3 mocking).

Every credential test looks inside moto with boto3: the user, its policies,
groups, tags and keys exist after issue and are gone after revoke.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import hvac
import pytest

from tests.fakes.aws_proxy import AwsProxy
from tests.integration.aws.conftest import Api, Moto, unique
from tests.integration.server import BAO, ServerProcess

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
EC2_READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"
EC2_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}],
}
ENVELOPE_KEYS = [
    "request_id",
    "lease_id",
    "renewable",
    "lease_duration",
    "data",
    "wrap_info",
    "warnings",
    "auth",
    "mount_type",
]


@pytest.fixture(scope="module")
def aws(api: Api, moto: Moto) -> str:
    """An aws mount talking straight to moto."""
    return api.mount_aws("aws", moto.url)


@pytest.fixture(scope="module")
def via_proxy(api: Api, module_proxy: AwsProxy) -> str:
    """An aws mount talking to moto through the proxy (to see the calls it makes)."""
    return api.mount_aws("awsp", module_proxy.url, max_retries=0)


@pytest.fixture(scope="module")
def hv(shared_dev: ServerProcess) -> hvac.Client:
    return hvac.Client(url=shared_dev.addr, token="root")


def bao(addr: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"BAO_ADDR": addr, "BAO_TOKEN": "root", "PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run(
        [BAO, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def table(output: str) -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in output.splitlines()[2:]:
        key, _, value = line.partition(" ")
        rows[key] = value.strip()
    return rows


def ensure_group(moto: Moto, name: str, inline: dict[str, Any] | None = None) -> None:
    iam = moto.iam
    try:
        iam.create_group(GroupName=name)
    except iam.exceptions.EntityAlreadyExistsException:
        return
    if inline:
        iam.put_group_policy(GroupName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))


# --------------------------------------------------------------------------- config


def test_config_root_read_hides_secret_and_partial_update(api: Api, aws: str, moto: Moto) -> None:
    data = api.ok("GET", f"{aws}/config/root")["data"]
    assert "secret_key" not in data
    assert "root-secret" not in json.dumps(data)
    assert data["access_key"] == "AKIAROOTEXAMPLE"
    assert data["iam_endpoint"] == moto.url and data["region"] == "us-east-1"
    assert data["max_retries"] == -1
    assert data["sts_fallback_endpoints"] == [] and data["sts_fallback_regions"] == []
    assert data["username_template"].startswith('{{ if (eq .Type "STS") }}')
    # A partial update keeps the rest (and the secret key).
    api.ok("POST", f"{aws}/config/root", {"max_retries": 3})
    data = api.ok("GET", f"{aws}/config/root")["data"]
    assert data["max_retries"] == 3 and data["access_key"] == "AKIAROOTEXAMPLE"
    api.ok("POST", f"{aws}/config/root", {"max_retries": -1})


def test_config_lease_formats(api: Api, aws: str) -> None:
    mount = unique("lease")
    api.ok("POST", f"sys/mounts/{mount}", {"type": "aws"})
    assert api.get(f"{mount}/config/lease").status_code == 404
    resp = api.post(f"{mount}/config/lease", {"lease": "90s"})
    assert resp.status_code == 400
    assert resp.json() == {"errors": ["'lease_max' is a required parameter"]}
    resp = api.post(f"{mount}/config/lease", {"lease": "1x", "lease_max": "1h"})
    assert resp.json()["errors"][0].startswith("Invalid lease: time: unknown unit")
    assert (
        api.post(f"{mount}/config/lease", {"lease": "90s", "lease_max": "32d"}).status_code == 204
    )
    data = api.ok("GET", f"{mount}/config/lease")["data"]
    assert data == {"lease": "1m30s", "lease_max": "768h0m0s"}


def test_hvac_config_and_roles(hv: hvac.Client, moto: Moto) -> None:
    mount = unique("hvaws")
    hv.sys.enable_secrets_engine("aws", path=mount)
    hv.secrets.aws.configure_root_iam_credentials(
        access_key="AKIAHVAC",
        secret_key="hvac-secret",
        region="us-east-1",
        iam_endpoint=moto.url,
        sts_endpoint=moto.url,
        mount_point=mount,
    )
    hv.secrets.aws.configure_lease(lease="1h", lease_max="2h", mount_point=mount)
    assert hv.secrets.aws.read_lease_config(mount_point=mount)["data"] == {
        "lease": "1h0m0s",
        "lease_max": "2h0m0s",
    }
    hv.secrets.aws.create_or_update_role(
        "ec2", "iam_user", policy_document=EC2_POLICY, iam_tags=["team=blue"], mount_point=mount
    )
    hv.secrets.aws.create_or_update_role(
        "ro", "iam_user", policy_arns=[READ_ONLY], mount_point=mount
    )
    role = hv.secrets.aws.read_role("ec2", mount_point=mount)["data"]
    assert role["credential_type"] == "iam_user"
    # hvac sends an indented document; it is stored compacted.
    assert role["policy_document"] == json.dumps(EC2_POLICY, sort_keys=True, separators=(",", ":"))
    assert role["iam_tags"] == {"team": "blue"}
    assert role["policy_arns"] is None and role["role_arns"] is None
    assert sorted(hv.secrets.aws.list_roles(mount_point=mount)["data"]["keys"]) == ["ec2", "ro"]

    creds = hv.secrets.aws.generate_credentials("ec2", mount_point=mount)
    assert creds["renewable"] is True and creds["lease_duration"] == 3600
    user = moto.owner_of(creds["data"]["access_key"])
    assert user is not None and user.startswith("vault-")
    tags = moto.iam.list_user_tags(UserName=user)["Tags"]
    assert tags == [{"Key": "team", "Value": "blue"}]
    hv.sys.revoke_lease(creds["lease_id"])
    assert moto.wait_gone(user)

    hv.secrets.aws.delete_role("ro", mount_point=mount)
    assert hv.secrets.aws.list_roles(mount_point=mount)["data"]["keys"] == ["ec2"]


def test_hvac_rotate_root(hv: hvac.Client, moto: Moto) -> None:
    mount = unique("rot")
    owner = unique("strongroom-root-")
    key, secret = moto.admin_key(owner)
    hv.sys.enable_secrets_engine("aws", path=mount)
    hv.secrets.aws.configure_root_iam_credentials(
        access_key=key,
        secret_key=secret,
        region="us-east-1",
        iam_endpoint=moto.url,
        sts_endpoint=moto.url,
        mount_point=mount,
    )
    result = hv.secrets.aws.rotate_root_iam_credentials(mount_point=mount)
    new_key = result["data"]["access_key"]
    assert new_key != key
    keys = [
        k["AccessKeyId"] for k in moto.iam.list_access_keys(UserName=owner)["AccessKeyMetadata"]
    ]
    assert keys == [new_key]  # the old key is deleted
    assert hv.read(f"{mount}/config/root")["data"]["access_key"] == new_key
    # The engine works with the new key.
    hv.secrets.aws.create_or_update_role(
        "r", "iam_user", policy_arns=[READ_ONLY], mount_point=mount
    )
    creds = hv.secrets.aws.generate_credentials("r", mount_point=mount)
    hv.sys.revoke_lease(creds["lease_id"])


def test_rotate_root_without_static_keys(api: Api) -> None:
    mount = unique("norot")
    api.ok("POST", f"sys/mounts/{mount}", {"type": "aws"})
    resp = api.post(f"{mount}/config/rotate-root")
    assert resp.status_code == 500
    assert resp.json() == {
        "errors": ["1 error occurred:\n\t* no configuration found for config/root\n\n"]
    }
    api.ok("POST", f"{mount}/config/root", {"region": "us-east-1"})
    resp = api.post(f"{mount}/config/rotate-root")
    assert resp.status_code == 400
    assert resp.json() == {
        "errors": ["Cannot call config/rotate-root when either access_key or secret_key is empty"]
    }


# --------------------------------------------------------------------------- iam_user


def test_iam_user_full_lifecycle(api: Api, aws: str, moto: Moto) -> None:
    ensure_group(moto, "devs")
    ensure_group(moto, "ops")
    api.ok(
        "POST",
        f"{aws}/roles/full",
        {
            "credential_type": "iam_user",
            "policy_document": json.dumps(EC2_POLICY, indent=2),
            "policy_arns": [READ_ONLY, EC2_READ_ONLY],
            "iam_groups": "devs,ops",
            "iam_tags": {"team": "blue", "env": "test"},
            "user_path": "/strongroom/",
            "permissions_boundary_arn": "arn:aws:iam::aws:policy/PowerUserAccess",
        },
    )
    resp = api.get(f"{aws}/creds/full")
    assert resp.status_code == 200
    body = resp.json()
    assert list(body) == ENVELOPE_KEYS
    assert UUID.match(body["request_id"])
    assert re.fullmatch(r"aws/creds/full/[A-Za-z0-9]{24}", body["lease_id"])
    assert body["renewable"] is True and body["lease_duration"] == 2764800
    assert body["wrap_info"] is None and body["warnings"] is None and body["auth"] is None
    assert body["mount_type"] == "aws"
    data = body["data"]
    assert sorted(data) == ["access_key", "secret_key", "security_token", "session_token"]
    assert data["security_token"] is None and data["session_token"] is None
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", data["access_key"])

    user = moto.owner_of(data["access_key"])
    assert user is not None
    assert re.fullmatch(r"vault-[A-Za-z0-9_.-]+-full-\d{10}-[A-Za-z0-9]{1,20}", user)
    iam = moto.iam
    got = iam.get_user(UserName=user)["User"]
    assert got["Path"] == "/strongroom/"
    attached = {
        p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    }
    assert attached == {READ_ONLY, EC2_READ_ONLY}
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["full"]
    doc = iam.get_user_policy(UserName=user, PolicyName="full")["PolicyDocument"]
    assert doc == EC2_POLICY
    groups = {g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]}
    assert groups == {"devs", "ops"}
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=user)["Tags"]}
    assert tags == {"team": "blue", "env": "test"}

    assert api.revoke(body["lease_id"]).status_code == 204
    assert not moto.user_exists(user)
    for group in ("devs", "ops"):
        members = [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]]
        assert user not in members


def test_iam_user_renew_ignores_increment(api: Api, moto: Moto) -> None:
    mount = api.mount_aws(unique("renew"), moto.url)
    api.ok("POST", f"{mount}/config/lease", {"lease": "1h", "lease_max": "2h"})
    api.ok("POST", f"{mount}/roles/r", {"credential_type": "iam_user", "policy_arns": READ_ONLY})
    body = api.ok("GET", f"{mount}/creds/r")
    assert body["lease_duration"] == 3600
    renewed = api.ok("PUT", "sys/leases/renew", {"lease_id": body["lease_id"], "increment": "100h"})
    assert renewed["lease_duration"] == 3600
    assert renewed["renewable"] is True
    api.revoke(body["lease_id"])


def test_role_not_found_and_unknown_path(api: Api, aws: str) -> None:
    resp = api.get(f"{aws}/creds/nope")
    assert resp.status_code == 400
    assert resp.json() == {"errors": ['Role "nope" not found']}
    assert api.get(f"{aws}/roles/nope").status_code == 404


def test_bao_cli_roles_and_creds_table(
    api: Api, aws: str, moto: Moto, shared_dev: ServerProcess
) -> None:
    out = bao(
        shared_dev.addr,
        "write",
        f"{aws}/roles/cli",
        "credential_type=iam_user",
        "policy_document=-",
        stdin=json.dumps(EC2_POLICY, indent=2),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"Success! Data written to: {aws}/roles/cli"
    out = bao(shared_dev.addr, "read", f"{aws}/roles/cli")
    rows = table(out.stdout)
    assert rows["credential_type"] == "iam_user"
    assert rows["policy_arns"] == "<nil>"
    assert rows["default_sts_ttl"] == "0s"
    out = bao(shared_dev.addr, "list", f"{aws}/roles")
    assert "cli" in out.stdout.split()
    out = bao(shared_dev.addr, "read", f"{aws}/creds/cli")
    assert out.returncode == 0, out.stderr
    rows = table(out.stdout)
    assert rows["lease_duration"] == "768h"
    assert rows["lease_renewable"] == "true"
    assert rows["security_token"] == "<nil>" and rows["session_token"] == "<nil>"
    user = moto.owner_of(rows["access_key"])
    assert user is not None
    out = bao(shared_dev.addr, "lease", "revoke", "-sync", rows["lease_id"])
    assert out.returncode == 0, out.stderr
    assert not moto.user_exists(user)


# --------------------------------------------------------------------------- STS types


@pytest.fixture(scope="module")
def deploy_role(moto: Moto) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    found = moto.iam.create_role(
        RoleName="DeployRole", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=7200
    )
    return found["Role"]["Arn"]


def test_assumed_role_shape_and_lease(api: Api, aws: str, deploy_role: str) -> None:
    api.ok(
        "POST",
        f"{aws}/roles/deploy",
        {"credential_type": "assumed_role", "role_arns": [deploy_role], "default_sts_ttl": "30m"},
    )
    body = api.ok("GET", f"{aws}/creds/deploy")
    assert list(body) == ENVELOPE_KEYS
    assert body["renewable"] is False
    assert 1795 <= body["lease_duration"] <= 1800
    data = body["data"]
    assert list(data) == [
        "access_key",
        "secret_key",
        "security_token",
        "session_token",
        "arn",
        "ttl",
    ]
    assert data["access_key"].startswith("ASIA")
    assert data["security_token"] == data["session_token"] and data["session_token"]
    assert data["ttl"] == body["lease_duration"]
    assert re.fullmatch(
        r"arn:aws:sts::123456789012:assumed-role/DeployRole/vault-[\w.-]+-deploy-\d+-\w+",
        data["arn"],
    )
    resp = api.request("PUT", "sys/leases/renew", json={"lease_id": body["lease_id"]})
    assert resp.status_code == 400 and resp.json() == {"errors": ["lease is not renewable"]}
    assert api.revoke(body["lease_id"]).status_code == 204  # a no-op, and it succeeds

    # sts/ with a JSON body: ttl and role_session_name honoured, lease id under sts/.
    body = api.ok("POST", f"{aws}/sts/deploy", {"ttl": "20m", "role_session_name": "ci job#7"})
    assert body["lease_id"].startswith(f"{aws}/sts/deploy/")
    assert 1195 <= body["data"]["ttl"] <= 1200
    assert body["data"]["arn"].endswith("/DeployRole/ci_job_7")


def test_assumed_role_arn_selection_errors(api: Api, aws: str, deploy_role: str) -> None:
    api.ok(
        "POST",
        f"{aws}/roles/two",
        {"credential_type": "assumed_role", "role_arns": [deploy_role, deploy_role + "2"]},
    )
    resp = api.get(f"{aws}/creds/two")
    assert resp.status_code == 400
    assert resp.json() == {
        "errors": ["did not supply a role_arn parameter and unable to determine one"]
    }
    resp = api.get(f"{aws}/creds/two", role_arn="arn:aws:iam::123456789012:role/Other")
    assert resp.json() == {
        "errors": [
            'role_arn "arn:aws:iam::123456789012:role/Other" not in allowed role arns for '
            'Vault role "two"'
        ]
    }
    body = api.ok("GET", f"{aws}/creds/two?role_arn={deploy_role}")
    assert "/DeployRole/" in body["data"]["arn"]


def test_federation_token_and_session_token(api: Api, aws: str, shared_dev: ServerProcess) -> None:
    api.ok(
        "POST",
        f"{aws}/roles/fed",
        {"credential_type": "federation_token", "policy_arns": [READ_ONLY]},
    )
    body = api.ok("POST", f"{aws}/sts/fed", {"ttl": "1h"})
    assert body["renewable"] is False
    assert list(body["data"]) == [
        "access_key",
        "secret_key",
        "security_token",
        "session_token",
        "ttl",
    ]
    assert 3595 <= body["data"]["ttl"] <= 3600 and body["lease_duration"] == body["data"]["ttl"]
    # Without any policy AWS would hand out the root user's permissions: refused.
    api.ok("POST", f"{aws}/roles/fed-empty", {"credential_type": "federation_token"})
    resp = api.get(f"{aws}/creds/fed-empty")
    assert resp.status_code == 400
    assert resp.json() == {
        "errors": [
            "must specify at least one of policy_arns or policy_document with "
            "federation_token credential_type"
        ]
    }

    api.ok("POST", f"{aws}/roles/sess", {"credential_type": "session_token"})
    out = bao(shared_dev.addr, "write", f"{aws}/sts/sess", "ttl=15m")
    assert out.returncode == 0, out.stderr
    rows = table(out.stdout)
    assert rows["lease_renewable"] == "false"
    assert rows["session_token"] == rows["security_token"] != "<nil>"
    assert re.fullmatch(r"1[45]m\d*s?|15m", rows["ttl"]), rows["ttl"]


def test_hvac_generate_credentials_both_endpoints(
    hv: hvac.Client, aws: str, deploy_role: str, moto: Moto
) -> None:
    hv.secrets.aws.create_or_update_role(
        "hv-deploy", "assumed_role", role_arns=[deploy_role], mount_point=aws
    )
    creds = hv.secrets.aws.generate_credentials(
        "hv-deploy", ttl="25m", endpoint="sts", role_session_name="hvac", mount_point=aws
    )
    assert creds["lease_id"].startswith(f"{aws}/sts/hv-deploy/")
    assert 1495 <= creds["data"]["ttl"] <= 1500
    assert creds["data"]["arn"].endswith("/hvac")
    creds = hv.secrets.aws.generate_credentials("hv-deploy", ttl="15m", mount_point=aws)
    assert creds["lease_id"].startswith(f"{aws}/creds/hv-deploy/")
    assert 895 <= creds["data"]["ttl"] <= 900


def test_sts_types_with_groups_merge_policies(
    api: Api, via_proxy: str, proxy: AwsProxy, moto: Moto, deploy_role: str
) -> None:
    group = unique("sts-group-")
    s3 = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    }
    ensure_group(moto, group, inline=s3)
    moto.iam.attach_group_policy(GroupName=group, PolicyArn=EC2_READ_ONLY)
    api.ok(
        "POST",
        f"{via_proxy}/roles/grp",
        {
            "credential_type": "assumed_role",
            "role_arns": [deploy_role],
            "iam_groups": [group],
            "policy_document": json.dumps(EC2_POLICY),
            "policy_arns": [READ_ONLY],
            "session_tags": ["project=x"],
            "external_id": "ext-123",
        },
    )
    api.ok("GET", f"{via_proxy}/creds/grp")
    [call] = proxy.calls_for("AssumeRole")
    merged = json.loads(call.params["Policy"])
    assert merged["Version"] == "2012-10-17"
    assert [s["Action"] for s in merged["Statement"]] == ["s3:*", "ec2:*"]
    assert call.params["PolicyArns.member.1.arn"] == READ_ONLY
    assert call.params["PolicyArns.member.2.arn"] == EC2_READ_ONLY
    assert call.params["Tags.member.1.Key"] == "project"
    assert call.params["ExternalId"] == "ext-123"


def test_sts_ttl_clamped_to_aws_maximum(api: Api, via_proxy: str, proxy: AwsProxy) -> None:
    api.ok(
        "POST",
        f"{via_proxy}/roles/fedlong",
        {"credential_type": "federation_token", "policy_arns": [READ_ONLY]},
    )
    body = api.ok("POST", f"{via_proxy}/sts/fedlong", {"ttl": "48h"})
    assert body["warnings"] == [
        'TTL of "48h" is more than AWS allows for federation_token credentials; '
        'the credentials were issued for "36h"'
    ]
    [call] = proxy.calls_for("GetFederationToken")
    assert call.params["DurationSeconds"] == "129600"


def test_assumed_role_clamped_to_role_max_session(
    api: Api, via_proxy: str, proxy: AwsProxy, deploy_role: str
) -> None:
    api.ok(
        "POST",
        f"{via_proxy}/roles/longrole",
        {"credential_type": "assumed_role", "role_arns": [deploy_role]},
    )
    # moto does not check durations; AWS answers like this above MaxSessionDuration.
    proxy.fail(
        "AssumeRole",
        code="ValidationError",
        status=400,
        message="The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        times=1,
    )
    body = api.ok("POST", f"{via_proxy}/sts/longrole", {"ttl": "5h"})
    assert body["warnings"] == [
        f'TTL of "5h" is more than AWS allows for role {deploy_role}; the credentials were '
        'issued for "2h"'
    ]
    durations = [c.params["DurationSeconds"] for c in proxy.calls_for("AssumeRole")]
    assert durations == ["18000", "7200"]
    assert proxy.calls_for("GetRole")
    assert 7195 <= body["data"]["ttl"] <= 7200


# --------------------------------------------------------------------------- static roles


def test_static_roles(api: Api, aws: str, moto: Moto) -> None:
    iam = moto.iam
    name = unique("svc-")
    iam.create_user(UserName=name)
    resp = api.post(f"{aws}/static-roles/svc", {"username": name})
    assert resp.json() == {"errors": ['missing "rotation_period" parameter']}
    resp = api.post(f"{aws}/static-roles/svc", {"username": name, "rotation_period": "30s"})
    assert resp.status_code == 500
    assert "must be greater than 60.00 seconds" in resp.json()["errors"][0]
    resp = api.post(f"{aws}/static-roles/svc", {"username": "nobody-here", "rotation_period": "1h"})
    assert resp.status_code == 500
    assert 'unable to validate username "nobody-here"' in resp.json()["errors"][0]

    data = api.ok("POST", f"{aws}/static-roles/svc", {"username": name, "rotation_period": "1h"})[
        "data"
    ]
    user_id = iam.get_user(UserName=name)["User"]["UserId"]
    assert data == {
        "name": "svc",
        "id": user_id,
        "username": name,
        "rotation_period": 3600,
        "assume_role_arn": "",
        "assume_role_session_name": "",
        "external_id": "",
    }
    assert api.ok("GET", f"{aws}/static-roles/svc")["data"] == data
    assert api.ok("LIST", f"{aws}/static-roles")["data"] == {"keys": ["svc"]}
    body = api.ok("GET", f"{aws}/static-creds/svc")
    assert body["lease_id"] == "" and body["lease_duration"] == 0
    creds = body["data"]
    assert sorted(creds) == ["access_key", "expiration", "secret_key"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", creds["expiration"])
    keys = [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]]
    assert keys == [creds["access_key"]]

    api.ok("POST", f"{aws}/static-roles/svc", {"rotation_period": "2h"})
    assert api.ok("GET", f"{aws}/static-roles/svc")["data"]["rotation_period"] == 7200
    resp = api.post(
        f"{aws}/static-roles/x",
        {"username": name, "rotation_period": "1h", "assume_role_arn": "arn:aws:iam::1:role/x"},
    )
    assert resp.status_code == 500

    assert api.delete(f"{aws}/static-roles/svc").status_code == 204
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    assert moto.user_exists(name)  # the user itself is left alone
    assert api.get(f"{aws}/static-creds/svc").status_code == 404
