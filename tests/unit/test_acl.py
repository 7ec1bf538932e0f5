"""The ACL engine: matching and precedence (spec §5.3), merging (§5.4),
parameter constraints (§5.5), sudo (§5.6), the policy store's caching, and
the cost of a check on the request path."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.core import policy as policy_module
from strongroom.core.acl import ACL, ROOT_ACL
from strongroom.core.core import Core
from strongroom.core.errors import AclDenied, BadRequest, VaultError
from strongroom.core.mounts import MountEntry
from strongroom.core.policy import parse_policy
from strongroom.core.policy_store import PolicyStore
from strongroom.core.request import Operation, Request
from strongroom.engines import register_builtin
from strongroom.jsonutil import JsonNumber
from strongroom.storage.inmem import InmemStorage
from tests.unit.test_core_pipeline import CountingStorage

R, L, C, U, D, P = (
    Operation.READ,
    Operation.LIST,
    Operation.CREATE,
    Operation.UPDATE,
    Operation.DELETE,
    Operation.PATCH,
)


def acl(*texts: str) -> ACL:
    return ACL(parse_policy(text, f"p{i}") for i, text in enumerate(texts))


def rule(pattern: str, *caps: str, extra: str = "") -> str:
    quoted = ", ".join(f'"{c}"' for c in caps)
    return f'path "{pattern}" {{\n  capabilities = [{quoted}]\n  {extra}\n}}\n'


# --------------------------------------------------------------------------- §5.3 table


TABLE_1 = acl(rule("a/*", "read", "list") + rule("a/+/c", "delete") + rule("a/+/+", "patch"))
TABLE_2 = acl(rule("a/*", "read", "list") + rule("a/a/*", "create") + rule("a/a/b", "update"))
TABLE_3 = acl(rule("a/*", "read", "list") + rule("a/x/+/z/*", "sudo") + rule("a/x/y/*", "list"))
TABLE_4 = acl(rule("a/pre*", "update") + rule("a/prefix*", "delete"))
TABLE_5 = acl(rule("a/*", "read", "list") + rule("a/dir/", "list"))


@pytest.mark.parametrize(
    ("table", "path", "caps"),
    [
        (TABLE_1, "a/q/c", ["delete"]),  # a/+/c beats a/+/+ (fewer "+") and a/* (later wildcard)
        (TABLE_1, "a/q/r", ["patch"]),
        (TABLE_1, "a/q", ["list", "read"]),
        (TABLE_1, "a/q/r/s", ["list", "read"]),  # "+" is one segment only
        (TABLE_2, "a/a/b", ["update"]),  # exact wins outright
        (TABLE_2, "a/a/c", ["create"]),  # longest prefix
        (TABLE_2, "a/a/", ["create"]),
        (TABLE_2, "a/a", ["list", "read"]),
        (TABLE_3, "a/x/y/z/w", ["list"]),  # a/x/y/*: its wildcard comes later
        (TABLE_3, "a/x/q/z/w", ["sudo"]),
        (TABLE_4, "a/prefixed", ["delete"]),
        (TABLE_4, "a/prex", ["update"]),
        (TABLE_4, "a/pre", ["update"]),
        (TABLE_5, "a/dir", ["list", "read"]),  # "a/dir/" is not "a/dir"
        (TABLE_5, "a/dir/", ["list"]),
        (TABLE_5, "b", ["deny"]),
    ],
)
def test_reference_table(table: ACL, path: str, caps: list[str]) -> None:
    assert table.capabilities(path) == caps


def test_only_the_winning_rule_applies() -> None:
    table = acl(rule("a/*", "read") + rule("a/b/*", "update"))
    assert table.allows(U, "a/b/c")
    assert not table.allows(R, "a/b/c")  # a/* would grant it, but a/b/* won


def test_list_of_a_folder_also_tries_the_exact_path_without_slash() -> None:
    table = acl(rule("p", "list"))
    assert table.allows(L, "p/")
    assert not table.allows(R, "p/")  # only list operations fall back
    assert table.capabilities("p/") == ["list"]


def test_list_trailing_slash_retry_only_when_nothing_matched() -> None:
    # "+/+/+/" matches "b/ab/b/" itself, so the catch-all "*" that would win
    # for "b/ab/b" is never consulted (observed on OpenBao).
    table = acl(rule("*", "deny") + rule("+/+/+/", "list", "patch"))
    assert table.capabilities("b/ab/b/") == ["list", "patch"]
    table = acl(rule("a/*", "update") + rule("a/b", "list"))
    assert table.allows(L, "a/b/")  # exact "a/b" first
    table = acl(rule("a/b*", "list") + rule("c/+", "read"))
    assert table.capabilities("c/x/") == ["read"]  # retried as "c/x"


@pytest.mark.parametrize(
    ("rules", "path", "winner"),
    [
        # 1. the first "+" or "*" appearing later wins
        ([("a/+/c/d", "read"), ("a/b/+/d", "list")], "a/b/c/d", "list"),
        ([("a/*", "read"), ("a/+/c", "list")], "a/b/c", "list"),  # tie: not-a-prefix wins
        ([("ab*", "read"), ("a+/+", "list")], "ab/x", "read"),  # "+" at index 1 < "*" at 2
        # 2. same position: a pattern ending in "*" loses to one that does not
        ([("a/+/c*", "read"), ("a/+/cd", "list")], "a/b/cd", "list"),
        # 3. more "+" segments lose
        ([("a/+/+", "read"), ("a/+/c", "list")], "a/b/c", "list"),
        # 4. shorter (without "*") loses
        ([("a/+/c/*", "read"), ("a/+/c/d/*", "list")], "a/b/c/d/e", "list"),
        # 5. lexicographically smaller loses
        ([("a/+/b*", "read"), ("a/+/a*", "list")], "a/x/bb", "read"),
        ([("+/x", "read"), ("+/y", "list")], "q/x", "read"),
    ],
)
def test_precedence(rules: list[tuple[str, str]], path: str, winner: str) -> None:
    table = acl("".join(rule(p, c) for p, c in rules))
    assert table.capabilities(path) == [winner]


def test_segment_wildcards_need_matching_segment_counts() -> None:
    table = acl(rule("s/+/c", "read") + rule("s/+/d/*", "list") + rule("+", "update"))
    assert table.allows(R, "s/q/c")
    assert not table.allows(R, "s/q/r/c")
    assert not table.allows(R, "s/q/c/x")
    assert table.allows(L, "s/q/d/")
    assert table.allows(L, "s/q/d/x/y")
    assert not table.allows(L, "s/q/d")  # needs at least the "*" rule's segments
    assert table.allows(U, "anything")
    assert not table.allows(U, "two/segments")
    assert table.allows(R, "s//c")  # an empty segment is still a segment


def test_last_segment_of_a_wildcard_glob_is_a_string_prefix() -> None:
    table = acl(rule("k/+/ab*", "read"))
    assert table.allows(R, "k/x/abc")
    assert table.allows(R, "k/x/ab/c/d")
    assert not table.allows(R, "k/x/a")


def test_prefix_glob_is_a_raw_string_prefix() -> None:
    table = acl(rule("secret/pre*", "read") + rule("*", "list"))
    for path in ("secret/pre", "secret/prefix/x", "secret/prex"):
        assert table.allows(R, path)
    assert table.allows(L, "anything/at/all")
    assert not table.allows(R, "secret/pr")


def test_leading_slash_in_pattern_and_capability_path() -> None:
    table = acl(rule("/a/b", "read"))
    assert table.allows(R, "a/b")
    assert table.capabilities("/a/b") == ["read"]


def test_templated_paths_never_match() -> None:
    table = acl(rule("identity/entity/id/{{identity.entity.id}}", "read"))
    assert table.capabilities("identity/entity/id/{{identity.entity.id}}") == ["deny"]


# --------------------------------------------------------------------------- operations


def test_operation_to_capability() -> None:
    table = acl(rule("x", "read") + rule("y", "create") + rule("z", "update", "patch"))
    assert table.allows(R, "x") and not table.allows(L, "x")
    assert table.allows(C, "y") and not table.allows(U, "y")
    assert table.allows(U, "z") and table.allows(P, "z") and not table.allows(D, "z")
    assert table.allows(Operation.HELP, "nowhere")
    assert not table.allows(R, "nowhere")


def test_deny_and_empty_rules() -> None:
    table = acl(rule("x", "deny") + rule("y") + rule("z/*", "read"))
    assert table.capabilities("x") == ["deny"]
    assert table.capabilities("y") == ["deny"]
    assert not table.allows(R, "x") and not table.allows(R, "y")


def test_root() -> None:
    assert ROOT_ACL.capabilities("anything") == ["root"]
    assert ROOT_ACL.allows(D, "sys/raw/x", sudo=True)
    assert ROOT_ACL.has_sudo("x") and ROOT_ACL.has_mount_access("secret/")
    assert ROOT_ACL.resultant() == {"root": True}


# --------------------------------------------------------------------------- §5.4 merges


def test_merge_unions_capabilities_of_the_same_pattern() -> None:
    assert acl(rule("a/a/b", "update"), rule("a/a/b", "read")).capabilities("a/a/b") == [
        "read",
        "update",
    ]


def test_exact_and_glob_are_separate_tables() -> None:
    p1, p2, p3 = rule("a/*", "read", "list"), rule("a/merge", "read"), rule("a/merge", "deny")
    assert acl(p1, p2).capabilities("a/merge") == ["read"]
    assert acl(p1, p2, p3).capabilities("a/merge") == ["deny"]
    assert acl(p1, p2, p3).capabilities("a/other") == ["list", "read"]


@pytest.mark.parametrize("order", [0, 1])
def test_deny_wins_in_either_order(order: int) -> None:
    texts = [rule("x", "read", "sudo"), rule("x", "deny")]
    if order:
        texts.reverse()
    merged = acl(*texts)
    assert merged.capabilities("x") == ["deny"]
    assert merged.resultant()["exact_paths"]["x"] == {"capabilities": ["deny"]}


def test_deny_merge_drops_parameter_maps() -> None:
    merged = acl(
        rule("x", "read", extra='allowed_parameters = {"a" = []} max_wrapping_ttl = "1h"'),
        rule("x", "deny"),
    )
    # OpenBao drops the parameter maps but keeps the wrapping limits.
    assert merged.resultant()["exact_paths"]["x"] == {
        "capabilities": ["deny"],
        "max_wrapping_ttl": 3600,
    }


def test_merge_wrapping_ttls_keep_the_smaller_non_zero() -> None:
    merged = acl(
        rule("x", "read", extra='min_wrapping_ttl = "2m" max_wrapping_ttl = "1h"'),
        rule("x", "read", extra='min_wrapping_ttl = "1m"'),
        rule("x", "read", extra='max_wrapping_ttl = "2h"'),
    )
    view = merged.resultant()["exact_paths"]["x"]
    assert (view["min_wrapping_ttl"], view["max_wrapping_ttl"]) == (60, 3600)


def test_merge_parameters() -> None:
    merged = acl(
        rule(
            "x",
            "update",
            extra='allowed_parameters = {"a" = ["1"], "b" = ["2"]} required_parameters = ["r"]',
        ),
        rule(
            "x",
            "update",
            extra='allowed_parameters = {"a" = ["3"], "b" = []} required_parameters = ["r", "s"]',
        ),
        rule("x", "update", extra='denied_parameters = {"c" = ["4"]}'),
    )
    view = merged.resultant()["exact_paths"]["x"]
    assert view["allowed_parameters"] == {"a": ["3", "1"], "b": []}
    assert view["denied_parameters"] == {"c": ["4"]}
    assert view["required_parameters"] == ["r", "s"]
    merged = acl(
        rule("x", "update", extra='allowed_parameters = {"a" = ["1"], "b" = ["2"]}'),
        rule("x", "update", extra='allowed_parameters = {"a" = ["3"], "b" = []}'),
    )
    assert merged.allows(U, "x", {"a": "1", "b": "anything"})
    assert merged.allows(U, "x", {"a": "3"})
    assert not merged.allows(U, "x", {"a": "2"})


def test_merge_crossing_min_above_max_denies() -> None:
    merged = acl(
        rule("x", "read", extra='max_wrapping_ttl = "1m"'),
        rule("x", "read", extra='min_wrapping_ttl = "2m"'),
    )
    for ttl in (30, 60, 90, 120, 300):
        assert not merged.allows(R, "x", wrap_ttl=ttl)


# --------------------------------------------------------------------------- §5.5 parameters


def constrained(extra: str) -> ACL:
    return acl(rule("x", "create", "read", "update", "patch", "delete", "list", extra=extra))


def test_required_parameters() -> None:
    table = constrained('required_parameters = ["Must"]')
    assert table.allows(U, "x", {"must": "1"})
    assert not table.allows(U, "x", {"Must": "1"})  # the lowercased name must be the key
    assert not table.allows(U, "x", {"other": "1"})
    assert not table.allows(R, "x")  # required even without any data
    assert table.allows(D, "x") and table.allows(L, "x")  # not checked for these


def test_no_data_is_allowed() -> None:
    table = constrained('denied_parameters = {"*" = []} allowed_parameters = {"a" = ["1"]}')
    assert table.allows(U, "x", {})
    assert table.allows(R, "x")


def test_denied_star_denies_any_data() -> None:
    table = constrained('denied_parameters = {"*" = []}')
    assert not table.allows(U, "x", {"anything": "1"})
    assert not table.allows(R, "x", {"q": "1"})  # read parameters count too
    assert table.allows(D, "x")


def test_denied_parameters() -> None:
    table = constrained('denied_parameters = {"a" = [], "b" = ["no", "pre-*"]}')
    assert not table.allows(U, "x", {"a": "whatever"})
    assert not table.allows(U, "x", {"A": "whatever"})  # request keys are lowercased
    assert not table.allows(U, "x", {"b": "no"})
    assert not table.allows(U, "x", {"b": "pre-fix"})
    assert table.allows(U, "x", {"b": "yes", "c": "1"})


def test_allowed_parameters() -> None:
    table = constrained('allowed_parameters = {"a" = [], "b" = ["1", "2"]}')
    assert table.allows(U, "x", {"a": "anything", "b": "2"})
    assert table.allows(U, "x", {"A": "anything"})
    assert not table.allows(U, "x", {"b": "3"})
    assert not table.allows(U, "x", {"c": "1"})


def test_allowed_star() -> None:
    assert constrained('allowed_parameters = {"*" = []}').allows(U, "x", {"any": "thing"})
    table = constrained('allowed_parameters = {"*" = [], "b" = ["1"]}')
    assert table.allows(U, "x", {"other": "x", "b": "1"})
    assert not table.allows(U, "x", {"b": "2"})
    table = constrained('allowed_parameters = {"*" = ["v"]}')
    assert table.allows(U, "x", {"other": "x"})  # only "*" set: anything goes


def test_denied_is_checked_before_allowed() -> None:
    table = constrained('allowed_parameters = {"a" = []} denied_parameters = {"a" = ["bad"]}')
    assert table.allows(U, "x", {"a": "good"})
    assert not table.allows(U, "x", {"a": "bad"})


@pytest.mark.parametrize(
    ("entry", "value", "matches"),
    [
        ("pre-*", "pre-x", True),
        ("pre-*", "xpre-", False),
        ("*-suf", "a-suf", True),
        ("*-suf", "-sufa", False),
        ("*mid*", "amidb", True),
        ("*mid*", "mi", False),
        ("*", "anything", False),  # shorter than two characters: literal
        ("*", "*", True),
        ("x", "x", True),
        ("**", "", True),
    ],
)
def test_value_globs(entry: str, value: str, matches: bool) -> None:
    table = constrained(f'allowed_parameters = {{"k" = ["{entry}"]}}')
    assert table.allows(U, "x", {"k": value}) is matches


@pytest.mark.parametrize(
    ("entries", "value", "matches"),
    [
        ("[true]", True, True),
        ("[true]", "true", False),
        ("[false]", True, False),
        ("[1]", 1, False),  # Vault compares json.Number with int64: never equal
        ("[1]", JsonNumber("1"), False),
        ("[1]", "1", False),
        ('[["a"]]', ["a"], True),
        ('[["a"]]', "a", False),
        ('["a"]', None, False),
        ("[]", None, True),
        ("[]", {"nested": 1}, True),
    ],
)
def test_non_string_values(entries: str, value: Any, matches: bool) -> None:
    table = constrained(f'allowed_parameters = {{"k" = {entries}}}')
    assert table.allows(U, "x", {"k": value}) is matches


def test_parameters_are_ignored_for_delete_and_list() -> None:
    table = constrained('allowed_parameters = {"a" = []}')
    assert table.allows(D, "x", {"zzz": "1"})
    assert table.allows(L, "x", {"zzz": "1"})


def test_wrapping_constraints() -> None:
    table = constrained('min_wrapping_ttl = "1m" max_wrapping_ttl = "1h"')
    assert not table.allows(R, "x")  # must ask for wrapping
    assert not table.allows(R, "x", wrap_ttl=30)
    assert table.allows(R, "x", wrap_ttl=60)
    assert table.allows(R, "x", wrap_ttl=3600)
    assert not table.allows(R, "x", wrap_ttl=3601)
    assert constrained('max_wrapping_ttl = "1h"').allows(D, "x", wrap_ttl=5)


# --------------------------------------------------------------------------- §5.6 sudo


def test_sudo_paths_need_sudo() -> None:
    table = acl(rule("sys/auth/*", "create", "update", "read") + rule("sys/audit", "read", "sudo"))
    assert table.allows(U, "sys/auth/x")
    assert not table.allows(U, "sys/auth/x", sudo=True)
    assert table.allows(R, "sys/audit", sudo=True)
    assert table.has_sudo("sys/audit") and not table.has_sudo("sys/auth/x")
    assert not acl(rule("sys/audit", "sudo")).allows(R, "sys/audit", sudo=True)  # sudo alone


def test_system_backend_declares_the_sudo_paths() -> None:
    core = Core(InmemStorage())
    backend = core.sys_backend
    for rel in (
        "auth/x",
        "auth/token/tune",
        "remount",
        "audit",
        "audit/file",
        "raw/x",
        "rotate",
        "rotate/keyring",
        "config/cors",
        "config/auditing/request-headers/x",
        "plugins/catalog/secret/x",
        "leases/lookup/auth/",
        "leases/revoke-prefix/x",
        "leases/revoke-force/x",
        "seal",
        "step-down",
    ):
        assert backend.is_sudo(rel), rel
    for rel in ("auth", "mounts/x", "policy/x", "policies/acl/x", "key-status", "host-info"):
        assert not backend.is_sudo(rel), rel


# --------------------------------------------------------------------------- mounts, resultant


def test_mount_access() -> None:
    table = acl(
        rule("secret/data/app/*", "read")
        + rule("kv/*", "deny")
        + rule("kv2/+/x", "list")
        + rule("other", "read")
    )
    assert table.has_mount_access("secret/")
    assert not table.has_mount_access("kv/")
    assert table.has_mount_access("kv2/")
    assert not table.has_mount_access("cubbyhole/")
    assert not acl(rule("secret/x", "deny")).has_mount_access("secret/")


def test_resultant_acl() -> None:
    table = acl(
        rule(
            "a/*",
            "read",
            "list",
            extra='allowed_parameters = {"X" = ["1", 2]} required_parameters = ["r"]',
        )
        + rule("e", "sudo", "read")
        + rule("e", "list")
        + rule("w/+/x", "read")
        + rule("n")
    )
    assert table.resultant() == {
        "exact_paths": {
            "e": {"capabilities": ["list", "read", "sudo"]},
            "n": {"capabilities": ["deny"]},
        },
        "glob_paths": {
            "a/": {
                "capabilities": ["list", "read"],
                "allowed_parameters": {"x": ["1", 2]},
                "required_parameters": ["r"],
            }
        },
        "root": False,
    }
    all_caps = acl(rule("x", "scan", "patch", "update", "sudo", "read", "list", "delete", "create"))
    # resultant-acl keeps OpenBao's (unsorted) order
    assert all_caps.resultant()["exact_paths"]["x"]["capabilities"] == [
        "create", "delete", "list", "read", "sudo", "update", "patch", "scan",
    ]  # fmt: skip


# --------------------------------------------------------------------------- policy store


async def new_store() -> PolicyStore:
    from datetime import UTC, datetime

    store = PolicyStore(InmemStorage(), lambda: datetime(2026, 1, 2, 3, 4, 5, 123456, UTC))
    await store.load()
    return store


async def put(store: PolicyStore, name: str, text: str, **kwargs: Any) -> None:
    await store.put(name, text, parse_policy(text), **kwargs)


async def test_store_loads_default_and_lists_root_last() -> None:
    store = await new_store()
    assert store.names() == ["default", "root"]
    default = store.get("default")
    assert default is not None and default.version == 1
    assert default.modified == "2026-01-02T03:04:05.123456Z"
    root = store.get("ROOT")
    assert root is not None and (root.raw, root.version) == ("", 0)
    await put(store, "b/c", rule("x", "read"))
    await put(store, "Zed", rule("x", "read"))
    assert store.names() == ["default", "zed", "b/c", "root"]


async def test_store_caches_acls_and_invalidates_on_change() -> None:
    store = await new_store()
    await put(store, "dev", rule("secret/*", "read"))
    first = store.acl(["default", "dev"])
    assert store.acl(["default", "dev"]) is first
    assert first.allows(R, "secret/x")
    await put(store, "dev", rule("secret/*", "list"))
    second = store.acl(["default", "dev"])
    assert second is not first
    assert not second.allows(R, "secret/x") and second.allows(L, "secret/")
    await store.delete("dev")
    assert not store.acl(["default", "dev"]).allows(L, "secret/")
    assert store.acl(["root"]) is ROOT_ACL
    assert store.acl(["nosuch"]).capabilities("x") == ["deny"]


async def test_store_reload_from_storage() -> None:
    storage = InmemStorage()
    from datetime import UTC, datetime

    store = PolicyStore(storage, lambda: datetime.now(UTC))
    await store.load()
    text = rule("a", "read")
    await store.put("dev", text, parse_policy(text), cas=0, cas_required=True)
    again = PolicyStore(storage, lambda: datetime.now(UTC))
    await again.load()
    dev = again.get("dev")
    assert dev is not None and (dev.version, dev.cas_required) == (1, True)
    assert again.acl(["dev"]).allows(R, "a")


async def test_store_check_and_set() -> None:
    store = await new_store()
    await put(store, "p", rule("a", "read"), cas=0)
    with pytest.raises(
        BadRequest, match="check-and-set parameter 5 did not match the current version 1"
    ):
        await put(store, "p", rule("a", "read"), cas=5)
    with pytest.raises(BadRequest, match="check-and-set parameter set to -1 on existing entry"):
        await put(store, "p", rule("a", "read"), cas=-1)
    await put(store, "p", rule("a", "read"), cas=1)
    with pytest.raises(BadRequest, match="parameter 1 did not match the current version 0"):
        await put(store, "new", rule("a", "read"), cas=1)
    await put(store, "new2", rule("a", "read"), cas=-1)
    await put(store, "req", rule("a", "read"), cas_required=True, cas=0)
    with pytest.raises(BadRequest, match="check-and-set parameter required for this call"):
        await put(store, "req", rule("a", "read"))
    await put(store, "req", rule("a", "read"), cas=1)  # and cas_required is cleared
    await put(store, "req", rule("a", "read"))
    assert store.get("req").version == 3  # type: ignore[union-attr]


async def test_store_protects_root_and_default() -> None:
    store = await new_store()
    with pytest.raises(BadRequest, match='cannot update "root" policy'):
        await put(store, "Root", rule("a", "read"))
    with pytest.raises(BadRequest, match='cannot delete "root" policy'):
        await store.delete("root")
    with pytest.raises(BadRequest, match="cannot delete default policy"):
        await store.delete("DEFAULT")
    await put(store, "default", rule("a", "read"))
    assert store.get("default").version == 2  # type: ignore[union-attr]


# --------------------------------------------------------------------------- request path


async def core_with_token(storage: InmemStorage, policy: str) -> tuple[Core, str, str]:
    core = Core(storage)
    register_builtin(core)
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    await core.enable_mount(MountEntry.new("secret/", "kv", options={"version": "2"}))
    await core.enable_mount(MountEntry.new("kv1/", "kv"))
    await core.handle(
        Request(Operation.UPDATE, "sys/policies/acl/app", {"policy": policy}, client_token=root)
    )
    created = await core.handle(
        Request(Operation.UPDATE, "auth/token/create", {"policies": ["app"]}, client_token=root)
    )
    assert created.auth is not None
    return core, root, created.auth["client_token"]


async def test_kv_read_by_a_policy_token_costs_one_storage_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage = CountingStorage()
    core, root, token = await core_with_token(
        storage, rule("secret/data/app/*", "read") + rule("kv1/*", "read")
    )
    await core.handle(
        Request(Operation.UPDATE, "secret/data/app/x", {"data": {"a": "1"}}, client_token=root)
    )
    await core.handle(Request(Operation.UPDATE, "kv1/x", {"a": "1"}, client_token=root))
    await core.handle(Request(Operation.READ, "secret/data/app/x", client_token=token))  # warm up

    # Nothing is parsed or compiled on the request path once warm.
    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("policy parsed on the request path")

    monkeypatch.setattr(policy_module, "parse_policy", no_parsing)
    monkeypatch.setattr("strongroom.core.policy_store.parse_policy", no_parsing)
    monkeypatch.setattr("strongroom.core.policy_store.ACL", no_parsing)
    storage.gets = 0
    resp = await core.handle(Request(Operation.READ, "secret/data/app/x", client_token=token))
    assert resp.data is not None and resp.data["data"] == {"a": "1"}
    assert storage.gets == 1
    storage.gets = 0
    resp = await core.handle(Request(Operation.READ, "kv1/x", client_token=token))
    assert resp.data == {"a": "1"}
    assert storage.gets == 1


async def test_policy_changes_apply_to_the_next_request() -> None:
    core, root, token = await core_with_token(InmemStorage(), rule("kv1/*", "read"))
    await core.handle(Request(Operation.UPDATE, "kv1/x", {"a": "1"}, client_token=root))
    await core.handle(Request(Operation.READ, "kv1/x", client_token=token))
    await core.handle(
        Request(
            Operation.UPDATE, "sys/policy/app", {"policy": rule("kv1/*", "list")}, client_token=root
        )
    )
    with pytest.raises(AclDenied):
        await core.handle(Request(Operation.READ, "kv1/x", client_token=token))
    await core.handle(Request(Operation.DELETE, "sys/policy/app", client_token=root))
    with pytest.raises(AclDenied):
        await core.handle(Request(Operation.LIST, "kv1/", client_token=token))


async def test_create_versus_update_follows_the_existence_check() -> None:
    core, root, token = await core_with_token(InmemStorage(), rule("kv1/*", "create"))
    await core.handle(Request(Operation.UPDATE, "kv1/new", {"a": "1"}, client_token=token))
    with pytest.raises(AclDenied):
        await core.handle(Request(Operation.UPDATE, "kv1/new", {"a": "2"}, client_token=token))
    core, root, token = await core_with_token(InmemStorage(), rule("kv1/*", "update"))
    await core.handle(Request(Operation.UPDATE, "kv1/old", {"a": "1"}, client_token=root))
    await core.handle(Request(Operation.UPDATE, "kv1/old", {"a": "2"}, client_token=token))
    with pytest.raises(AclDenied):
        await core.handle(Request(Operation.UPDATE, "kv1/new", {"a": "1"}, client_token=token))


async def test_unknown_route_is_denied_before_it_is_not_found() -> None:
    core, root, token = await core_with_token(InmemStorage(), rule("kv1/*", "read"))
    with pytest.raises(AclDenied):
        await core.handle(Request(Operation.READ, "nonexist/foo", client_token=token))
    await core.handle(
        Request(
            Operation.UPDATE, "sys/policy/app", {"policy": rule("*", "read")}, client_token=root
        )
    )
    with pytest.raises(VaultError) as caught:
        await core.handle(Request(Operation.READ, "nonexist/foo", client_token=token))
    assert caught.value.status == 404
