"""roles/<name> of the AWS engine: validation texts (§3.4.2), read shapes (§3.4.3), legacy roles."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.core.context import BackendContext
from strongroom.core.errors import BadRequest, NotFound, UnsupportedPath, VaultError
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response
from strongroom.engines.aws import AwsBackend, factory
from strongroom.storage.inmem import InmemStorage

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
ARN = "arn:aws:iam::123456789012:role/Deploy"
POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


class Env:
    def __init__(self) -> None:
        self.storage = InmemStorage()
        self.backend: AwsBackend = factory(
            BackendContext(storage=self.storage, mount=MountEntry.new("aws/", "aws"))
        )

    async def __call__(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> Response | None:
        req = Request(operation=op, path="aws/" + rel, rel_path=rel, data=data or {})
        return await self.backend.handle(req)

    async def error(
        self, op: Operation, rel: str, data: dict[str, Any] | None = None
    ) -> VaultError:
        with pytest.raises(VaultError) as err:
            await self(op, rel, data)
        return err.value


@pytest.fixture
async def env() -> Env:
    e = Env()
    yield e
    await e.backend.cleanup()


def validation(*messages: str) -> str:
    """Vault's text: a %q-quoted go-multierror."""
    messages = tuple(m.replace("\\", "\\\\").replace('"', '\\"') for m in messages)
    if len(messages) == 1:
        inner = f"1 error occurred:\\n\\t* {messages[0]}\\n\\n"
    else:
        inner = f"{len(messages)} errors occurred:\\n\\t* " + "\\n\\t* ".join(messages) + "\\n\\n"
    return f'error(s) validating supplied role data: "{inner}"'


EMPTY_ROLE = {
    "credential_type": "iam_user",
    "policy_arns": None,
    "role_arns": None,
    "policy_document": "",
    "iam_groups": None,
    "iam_tags": None,
    "session_tags": None,
    "external_id": "",
    "default_sts_ttl": 0,
    "max_sts_ttl": 0,
    "user_path": "",
    "permissions_boundary_arn": "",
    "mfa_serial_number": "",
}


async def test_read_shape_all_keys_with_nulls(env: Env) -> None:
    assert await env(U, "roles/r", {"credential_type": "iam_user"}) is None
    resp = await env(R, "roles/r")
    assert resp is not None and resp.data == EMPTY_ROLE
    assert list(resp.data) == list(EMPTY_ROLE)


async def test_read_shape_with_values(env: Env) -> None:
    await env(
        U,
        "roles/d",
        {
            "credential_type": "assumed_role",
            "role_arns": f"{ARN}, {ARN}2",
            "policy_arns": [POLICY],
            "policy_document": '{\n  "Version": "2012-10-17",\n  "Statement": []\n}',
            "iam_groups": "a,b",
            "session_tags": ["team=blue", "env=dev=x"],
            "external_id": "ext",
            "default_sts_ttl": "15m",
            "max_sts_ttl": 7200,
        },
    )
    data = (await env(R, "roles/d")).data
    assert data["role_arns"] == [ARN, ARN + "2"]
    assert data["policy_arns"] == [POLICY]
    assert data["policy_document"] == '{"Version":"2012-10-17","Statement":[]}'
    assert data["iam_groups"] == ["a", "b"]
    assert data["session_tags"] == {"team": "blue", "env": "dev=x"}
    assert (data["default_sts_ttl"], data["max_sts_ttl"]) == (900, 7200)
    assert "wait_for_propagation" not in data  # strongroom's fields only when used


async def test_partial_update_keeps_other_fields(env: Env) -> None:
    await env(
        U, "roles/p", {"credential_type": "iam_user", "policy_arns": POLICY, "iam_tags": {"a": "1"}}
    )
    await env(U, "roles/p", {"iam_groups": ["g"]})
    data = (await env(R, "roles/p")).data
    assert data["policy_arns"] == [POLICY] and data["iam_tags"] == {"a": "1"}
    assert data["iam_groups"] == ["g"]
    await env(U, "roles/p", {"policy_arns": ""})  # an empty list clears, and shows as []
    assert (await env(R, "roles/p")).data["policy_arns"] == []


@pytest.mark.parametrize(
    ("data", "messages"),
    [
        ({}, ["did not supply credential_type"]),
        ({"credential_type": "iam"}, ["unrecognized credential type: iam"]),
        (
            {"credential_type": "iam_user", "default_sts_ttl": 60, "max_sts_ttl": 30},
            [
                "default_sts_ttl parameter only valid for assumed_role, federation_token, and "
                "session_token credential types",
                "max_sts_ttl parameter only valid for assumed_role, federation_token, and "
                "session_token credential types",
                '"default_sts_ttl" value must be less than or equal to "max_sts_ttl" value',
            ],
        ),
        (
            {"credential_type": "assumed_role", "user_path": "/x"},
            [
                "user_path parameter only valid for iam_user credential type",
                "the specified value for user_path is invalid. It must match "
                '"^\\\\/([\\\\x21-\\\\x7F]{0,510}\\\\/)?$" regexp',
            ],
        ),
        (
            {"credential_type": "federation_token", "permissions_boundary_arn": POLICY},
            ["cannot supply permissions_boundary_arn when credential_type isn't iam_user"],
        ),
        (
            {"credential_type": "session_token", "policy_arns": POLICY},
            ["cannot supply a policy or role when using credential_type session_token"],
        ),
        (
            {"credential_type": "iam_user", "role_arns": ARN},
            ["cannot supply role_arns when credential_type isn't assumed_role"],
        ),
        (
            {"credential_type": "iam_user", "session_tags": {"a": "b"}},
            ["cannot supply session_tags when credential_type isn't assumed_role"],
        ),
        (
            {"credential_type": "federation_token", "external_id": "x"},
            ["cannot supply external_id when credential_type isn't assumed_role"],
        ),
        (
            {"credential_type": "session_token", "wait_for_propagation": True},
            ["wait_for_propagation parameter only valid for iam_user credential type"],
        ),
    ],
)
async def test_validation_texts(env: Env, data: dict[str, Any], messages: list[str]) -> None:
    err = await env.error(U, "roles/v", data)
    assert isinstance(err, BadRequest)
    assert err.messages == [validation(*messages)]


async def test_user_path_regex_text_exactly() -> None:
    e = Env()
    err = await e.error(U, "roles/v", {"credential_type": "iam_user", "user_path": "x"})
    assert err.messages == [
        'error(s) validating supplied role data: "1 error occurred:\\n\\t* the specified value '
        'for user_path is invalid. It must match \\"^\\\\\\\\/([\\\\\\\\x21-\\\\\\\\x7F]{0,510}'
        '\\\\\\\\/)?$\\" regexp\\n\\n"'
    ]


async def test_boundary_error_replaces_earlier_errors(env: Env) -> None:
    """Vault's quirk: an unparsable boundary ARN drops the errors collected before it."""
    err = await env.error(
        U,
        "roles/v",
        {
            "credential_type": "assumed_role",
            "permissions_boundary_arn": "arn:aws:s3:::bucket",
            "user_path": "/",
        },
    )
    assert err.messages == [
        validation(
            "invalid permissions_boundary_arn parameter: expected a service of iam but got s3"
        )
    ]
    err = await env.error(
        U, "roles/v", {"credential_type": "iam_user", "permissions_boundary_arn": "nope"}
    )
    assert err.messages == [
        validation("invalid permissions_boundary_arn parameter: arn: invalid prefix")
    ]
    err = await env.error(
        U,
        "roles/v",
        {"credential_type": "iam_user", "permissions_boundary_arn": "arn:aws:iam::1:role/x"},
    )
    assert err.messages == [
        validation(
            "invalid permissions_boundary_arn parameter: expected a resource type of policy "
            "but got role/x"
        )
    ]


async def test_policy_document_must_be_json(env: Env) -> None:
    err = await env.error(
        U, "roles/v", {"credential_type": "iam_user", "policy_document": "{nope\n"}
    )
    assert err.messages == ['cannot parse policy document: "{nope\\n"']


async def test_kv_pairs_errors(env: Env) -> None:
    err = await env.error(U, "roles/v", {"credential_type": "iam_user", "iam_tags": ["novalue"]})
    assert err.messages == [
        'error converting input for field "iam_tags": invalid key pair "novalue"'
    ]
    await env(U, "roles/v", {"credential_type": "iam_user", "iam_tags": "k=v"})
    assert (await env(R, "roles/v")).data["iam_tags"] == {"k": "v"}


async def test_legacy_parameters(env: Env) -> None:
    err = await env.error(U, "roles/l", {"policy": "{}", "arn": POLICY})
    assert err.status == 500 and err.messages == [
        "1 error occurred:\n\t* only one of policy or arn should be provided\n\n"
    ]
    err = await env.error(U, "roles/l", {"arn": POLICY, "credential_type": "iam_user"})
    assert err.messages == [
        "cannot supply deprecated role or policy parameters with an explicit credential_type"
    ]
    err = await env.error(U, "roles/l", {"policy": "{}", "policy_arns": POLICY})
    assert err.messages == ["cannot supply deprecated role or policy parameters with policy_arns"]
    err = await env.error(U, "roles/l", {"policy": "not json"})
    assert err.messages == ['unable to parse supplied data: "not json"']

    resp = await env(U, "roles/l", {"policy": '{"Version": "2012-10-17"}'})
    assert resp.warnings == [
        "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
    ]
    data = (await env(R, "roles/l")).data
    assert data["credential_type"] == "iam_user,federation_token"
    assert data["policy_document"] == '{"Version":"2012-10-17"}'
    await env(U, "roles/a", {"arn": ARN})
    data = (await env(R, "roles/a")).data
    assert data["credential_type"] == "assumed_role" and data["role_arns"] == [ARN]
    # Legacy roles keep to their path: STS types only through sts/, iam_user only creds/.
    err = await env.error(R, "creds/a")
    assert err.messages == [
        "attempted to retrieve assumed_role credentials through the creds path; this is not "
        "allowed for legacy roles"
    ]
    await env(U, "roles/u", {"arn": POLICY})
    err = await env.error(R, "sts/u")
    assert err.messages == [
        "attempted to retrieve iam_user credentials through the sts path; this is not allowed "
        "for legacy roles"
    ]


async def test_pre_011_storage_is_upgraded_on_read(env: Env) -> None:
    await env.storage.put("policy/old", POLICY.encode())
    await env.storage.put("policy/bad", b"garbage")
    data = (await env(R, "roles/old")).data
    assert data["credential_type"] == "iam_user" and data["policy_arns"] == [POLICY]
    assert await env.storage.get("policy/old") is None
    assert await env.storage.get("role/old") is not None
    assert (await env(R, "roles/bad")).data["invalid_data"] == "garbage"
    resp = await env(U, "roles/bad", {"credential_type": "iam_user"})
    assert resp.warnings == ['Invalid data of "garbage" cleared out of role']


async def test_list_and_delete(env: Env) -> None:
    with pytest.raises(NotFound):
        await env(L, "roles/")
    await env(U, "roles/b", {"credential_type": "iam_user"})
    await env(U, "roles/a.b@c-d", {"credential_type": "iam_user"})
    await env.storage.put("policy/legacy", b"{}")
    assert (await env(L, "roles")).data == {"keys": ["a.b@c-d", "b", "legacy"]}
    assert await env(D, "roles/b") is None
    assert await env(D, "roles/never") is None  # 204 even when absent
    with pytest.raises(NotFound):
        await env(R, "roles/b")
    with pytest.raises(UnsupportedPath):
        await env(R, "roles/-bad")


async def test_creds_errors_without_aws(env: Env) -> None:
    err = await env.error(R, "creds/missing")
    assert err.status == 400 and err.messages == ['Role "missing" not found']
    await env(U, "roles/ar", {"credential_type": "assumed_role", "role_arns": [ARN, ARN + "2"]})
    err = await env.error(R, "creds/ar")
    assert err.messages == ["did not supply a role_arn parameter and unable to determine one"]
    err = await env.error(R, "creds/ar", {"role_arn": "arn:aws:iam::1:role/x"})
    assert err.messages == [
        'role_arn "arn:aws:iam::1:role/x" not in allowed role arns for Vault role "ar"'
    ]
    await env(U, "roles/fed", {"credential_type": "federation_token"})
    err = await env.error(R, "creds/fed")
    assert err.messages == [
        "must specify at least one of policy_arns or policy_document with federation_token "
        "credential_type"
    ]
