"""The engine's server settings (environment variables) and the names it generates."""

from __future__ import annotations

import re

import pytest

from strongroom.engines.alicloud import naming
from strongroom.engines.alicloud.client import snake
from strongroom.engines.alicloud.settings import Endpoint, Settings, SettingsError

P = "STRONGROOM_ALICLOUD_"


def test_defaults_are_the_real_endpoints_over_https() -> None:
    s = Settings.from_env({})
    assert s.ram == Endpoint("ram.aliyuncs.com", "https")
    assert s.sts == Endpoint("sts.aliyuncs.com", "https")
    assert (s.region, s.signature, s.connect_timeout, s.read_timeout) == ("us-east-1", "v1", 5, 30)


def test_endpoints_as_urls_or_hosts() -> None:
    s = Settings.from_env(
        {
            P + "RAM_ENDPOINT": "http://127.0.0.1:9000/",
            P + "STS_ENDPOINT": "sts.example.test:8443",
            P + "SIGNATURE": "V3",
            P + "READ_TIMEOUT": "2.5",
        }
    )
    assert s.ram == Endpoint("127.0.0.1:9000", "http")
    assert s.sts == Endpoint("sts.example.test:8443", "https")
    assert s.ram.url == "http://127.0.0.1:9000"
    assert (s.signature, s.read_timeout) == ("v3", 2.5)
    plain = Settings.from_env({P + "PROTOCOL": "http", P + "RAM_ENDPOINT": "[::1]:9000"})
    assert plain.ram == Endpoint("[::1]:9000", "http")
    assert plain.sts == Endpoint("sts.aliyuncs.com", "http")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PROTOCOL", "ftp", "PROTOCOL must be http or https"),
        ("SIGNATURE", "v2", "SIGNATURE must be v1 or v3"),
        ("RAM_ENDPOINT", "ftp://host", "the scheme must be http or https"),
        ("STS_ENDPOINT", "http://host/path", "expected host[:port]"),
        ("CONNECT_TIMEOUT", "soon", "must be a number of seconds"),
        ("READ_TIMEOUT", "-1", "must be positive"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)) as info:
        Settings.from_env({P + name: value})
    assert P + name in str(info.value)


def test_user_names_follow_the_reference() -> None:
    name = naming.user_name("root", "policy-based", 1700000000)
    assert re.fullmatch(r"root-policy-based-1700000000-\d{1,4}", name)
    long = naming.user_name("userpass-" + "a" * 80, "role", 1700000000)
    assert long.startswith("userpass-" + "a" * 40 + "1700000000-")  # prefix cut to 49
    assert len(long) <= 64


def test_session_names_are_cut_to_32() -> None:
    name = naming.session_name("token", "role-based", 1700000000)
    assert re.fullmatch(r"token-role-based-1700000000-\d{1,4}", name)
    assert naming.session_name("userpass-alice", "role-based", 1).startswith("userpass-alice-ro1-")
    assert len(naming.session_name("x" * 50, "y", 1700000000)) <= 32


def test_disallowed_characters_become_dashes() -> None:
    user = naming.user_name("userpass-alice@example.com", "r_1", 1700000000)
    assert user.startswith("userpass-alice-example.com-r_1-1700000000-")
    assert naming.policy_name(user, "0" * 32) == (
        user.replace(".", "-").replace("_", "-") + "-" + "0" * 32
    )
    assert naming.session_name("a@b c", "r", 1700000000).startswith("a@b-c-r-")


def test_sdk_method_names() -> None:
    assert snake("AttachPolicyToUser") == "attach_policy_to_user"
    assert snake("CreateAccessKey") == "create_access_key"
    assert snake("GetCallerIdentity") == "get_caller_identity"
    assert snake("ListPoliciesForUser") == "list_policies_for_user"
