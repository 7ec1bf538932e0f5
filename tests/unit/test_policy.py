"""The policy parser: HCL and JSON forms, normalization, OpenBao's error texts.

Every error text below was observed on a real OpenBao 2.7 dev server (see
tests/integration/test_policy_diff.py, which re-checks a list of them live).
"""

from __future__ import annotations

import pytest

from strongroom.core.policy import (
    CAP_CREATE,
    CAP_DELETE,
    CAP_DENY,
    CAP_LIST,
    CAP_PATCH,
    CAP_READ,
    CAP_SCAN,
    CAP_SUDO,
    CAP_UPDATE,
    PathRule,
    PolicyParseError,
    capability_names,
    go_quote,
    parse_policy,
)
from strongroom.core.policy_store import DEFAULT_POLICY_TEXT

FULL = """
path "secret/data/app/*" {
  capabilities        = ["create", "read", "update", "patch", "delete", "list"]
  allowed_parameters  = { "a" = ["1", "2"], "B" = [] }
  denied_parameters   = { "c" = [] }
  required_parameters = ["must"]
  min_wrapping_ttl    = "1m"
  max_wrapping_ttl    = "1h"
}
"""


def one(text: str) -> PathRule:
    rules = parse_policy(text).paths
    assert len(rules) == 1
    return rules[0]


def error(text: str) -> str:
    with pytest.raises(PolicyParseError) as caught:
        parse_policy(text)
    return str(caught.value)


# --------------------------------------------------------------------------- syntax


def test_full_hcl_block() -> None:
    rule = one(FULL)
    assert (rule.key, rule.path, rule.is_prefix) == ("secret/data/app/*", "secret/data/app/", True)
    perms = rule.permissions
    assert perms.capabilities == (
        CAP_CREATE | CAP_READ | CAP_UPDATE | CAP_PATCH | CAP_DELETE | CAP_LIST
    )
    assert perms.allowed_parameters == {"a": ["1", "2"], "b": []}  # keys lowercased
    assert perms.denied_parameters == {"c": []}
    assert perms.required_parameters == ["must"]
    assert (perms.min_wrapping_ttl, perms.max_wrapping_ttl) == (60, 3600)


def test_json_forms_read_like_hcl() -> None:
    hcl = parse_policy(
        'path "a/*" { capabilities = ["read", "list"] }\npath "b" { policy = "write" }'
    )
    as_object = parse_policy(
        '{"path": {"a/*": {"capabilities": ["read", "list"]}, "b": {"policy": "write"}}}'
    )
    as_list = parse_policy(
        '{"path": [{"a/*": {"capabilities": ["read", "list"]}}, {"b": {"policy": "write"}}]}'
    )
    expected = [(r.path, r.is_prefix, r.permissions.capabilities) for r in hcl.paths]
    for parsed in (as_object, as_list):
        assert [(r.path, r.is_prefix, r.permissions.capabilities) for r in parsed.paths] == expected


def test_json_parameters_and_durations() -> None:
    rule = one(
        '{"path": {"x": {"capabilities": ["update"], "allowed_parameters": {"K": ["v", 1, true]},'
        ' "min_wrapping_ttl": 30, "max_wrapping_ttl": "2h"}}}'
    )
    # OpenBao's JSON reader skips booleans inside lists.
    assert rule.permissions.allowed_parameters == {"k": ["v", 1]}
    assert (rule.permissions.min_wrapping_ttl, rule.permissions.max_wrapping_ttl) == (30, 7200)


@pytest.mark.parametrize(
    ("legacy", "caps"),
    [
        ("deny", CAP_DENY),
        ("read", CAP_READ | CAP_LIST),
        ("write", CAP_CREATE | CAP_READ | CAP_UPDATE | CAP_DELETE | CAP_LIST),
        ("sudo", CAP_CREATE | CAP_READ | CAP_UPDATE | CAP_DELETE | CAP_LIST | CAP_SUDO),
    ],
)
def test_legacy_policy_keyword(legacy: str, caps: int) -> None:
    assert one(f'path "x" {{ policy = "{legacy}" }}').permissions.capabilities == caps


def test_legacy_policy_adds_to_capabilities() -> None:
    rule = one('path "x" { capabilities = ["patch"] policy = "read" }')
    assert rule.permissions.capabilities == CAP_PATCH | CAP_READ | CAP_LIST


def test_every_capability_and_scan() -> None:
    rule = one('path "x" { capabilities = ["sudo", "scan", "list"] }')
    assert rule.permissions.capabilities == CAP_SUDO | CAP_SCAN | CAP_LIST
    assert capability_names(rule.permissions.capabilities) == ["list", "scan", "sudo"]
    assert capability_names(0) == ["deny"]
    assert capability_names(CAP_DENY) == ["deny"]


def test_deny_discards_the_rest_of_the_block() -> None:
    rule = one(
        'path "x" { capabilities = ["read", "deny", "bogus"] allowed_parameters = {"a" = []} '
        'min_wrapping_ttl = "nonsense" }'
    )
    assert rule.permissions.capabilities == CAP_DENY
    assert rule.permissions.allowed_parameters is None
    assert rule.permissions.min_wrapping_ttl == 0


def test_repeated_blocks_for_one_path_are_all_kept() -> None:
    rules = parse_policy(
        'path "x" { capabilities = ["read"] }\npath "x" { capabilities = ["list"] }'
    ).paths
    assert [r.permissions.capabilities for r in rules] == [CAP_READ, CAP_LIST]


def test_repeated_capabilities_key_appends() -> None:
    rule = one('path "x" { capabilities = ["read"] capabilities = ["list"] }')
    assert rule.permissions.capabilities == CAP_READ | CAP_LIST


def test_comments_commas_and_odd_keys() -> None:
    text = (
        "# hash\n// slashes\n/* block\n comment */\n"
        'name = "ignored"\n'
        'path "a" { capabilities = ["read",], comment = "why" },\n'
        'path b { capabilities = ["list"] }\n'
        'path "c" "extra" { capabilities = ["update"] }\n'
        'path { capabilities = ["delete"] }\n'
    )
    assert [(r.path, r.permissions.capabilities) for r in parse_policy(text).paths] == [
        ("a", CAP_READ),
        ("b", CAP_LIST),
        ("c", CAP_UPDATE),  # only the first label counts
        ("path", CAP_DELETE),  # a block without label is the path "path"
    ]


def test_string_escapes_and_heredoc() -> None:
    assert one('path "x" { capabilities = ["re\\u0061d"] }').permissions.capabilities == CAP_READ
    # A heredoc keeps its last newline (so, as in OpenBao, it is no policy name).
    assert error('path "x" {\n  policy = <<EOF\nread\nEOF\n}') == (
        'path "x": path "x": invalid policy "read\\n"'
    )


def test_empty_documents() -> None:
    assert parse_policy("").paths == []
    assert parse_policy("  \n").paths == []
    assert parse_policy("{}").paths == []
    assert one('path "x" {}').permissions.capabilities == 0


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    ("key", "path", "is_prefix", "wildcards"),
    [
        ("secret/foo", "secret/foo", False, False),
        ("/secret/foo", "secret/foo", False, False),  # one leading "/" stripped
        ("//secret", "/secret", False, False),
        ("secret/pre*", "secret/pre", True, False),
        ("secret/a/*", "secret/a/", True, False),
        ("*", "", True, False),
        ("secret/+/c", "secret/+/c", False, True),
        ("secret/x/+/z/*", "secret/x/+/z/*", False, True),  # the "*" stays
        ("+", "+", False, True),
        ("+/x", "+/x", False, True),
        ("a/+b", "a/+b", False, True),  # any "/+" makes it a wildcard rule
        ("a+b/c", "a+b/c", False, False),
        ("a/b+", "a/b+", False, False),
    ],
)
def test_pattern_normalization(key: str, path: str, is_prefix: bool, wildcards: bool) -> None:
    rule = one(f'path "{key}" {{ capabilities = ["read"] }}')
    assert (rule.path, rule.is_prefix, rule.has_segment_wildcards) == (path, is_prefix, wildcards)


def test_identity_templates_are_flagged() -> None:
    rule = one('path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }')
    assert rule.templated


@pytest.mark.parametrize(
    ("value", "seconds"),
    [('"1m"', 60), ("30", 30), ('"90"', 90), ('"1.5h"', 5400), ('"2d"', 172800), ("0x10", 16)],
)
def test_wrapping_ttl_durations(value: str, seconds: int) -> None:
    rule = one(f'path "x" {{ capabilities = ["read"] max_wrapping_ttl = {value} }}')
    assert rule.permissions.max_wrapping_ttl == seconds


# --------------------------------------------------------------------------- errors

ERRORS = [
    ('path "x" { capabilities = ["bogus"] }', 'path "x": path "x": invalid capability "bogus"'),
    ('path "x" { capabilities = ["Read"] }', 'path "x": path "x": invalid capability "Read"'),
    (
        'path "x" { capabilities = ["subscribe"] }',
        'path "x": path "x": invalid capability "subscribe"',
    ),
    ('path "x" { capabilities = [1] }', 'path "x": path "x": invalid capability "1"'),
    ('path "/x" { capabilities = ["bogus"] }', 'path "/x": path "/x": invalid capability "bogus"'),
    ('path "x" { policy = "bogus" }', 'path "x": path "x": invalid policy "bogus"'),
    (
        'path "x" { capabilities = ["bogus"] policy = "bogus" }',
        'path "x": path "x": invalid policy "bogus"',
    ),
    (
        'path "/x+*" { capabilities = ["read"] }',
        'path "/x+*": path "x+*": invalid use of wildcards (\'+*\' is forbidden)',
    ),
    (
        'path "a/+*" { capabilities = ["read"] }',
        'path "a/+*": path "a/+*": invalid use of wildcards (\'+*\' is forbidden)',
    ),
    (
        'path "x" { capabilities = ["read"] min_wrapping_ttl = "bogus" }',
        'path "x": error parsing min_wrapping_ttl: time: invalid duration "bogus"',
    ),
    (
        'path "x" { capabilities = ["read"] max_wrapping_ttl = "zz" min_wrapping_ttl = "yy" }',
        'path "x": error parsing min_wrapping_ttl: time: invalid duration "yy"',
    ),
    (
        'path "x" { capabilities = ["read"] min_wrapping_ttl = true }',
        'path "x": error parsing min_wrapping_ttl: could not parse duration from input',
    ),
    (
        'path "x" { capabilities = ["read"] min_wrapping_ttl = "1h" max_wrapping_ttl = "1m" }',
        'path "x": max_wrapping_ttl cannot be less than min_wrapping_ttl',
    ),
    (
        'path "x" { capabilities = ["read"] min_wrapping_ttl = 09 }',
        'path "x": path "x": strconv.ParseInt: parsing "09": invalid syntax',
    ),
    (
        'path "x" { capabilities = ["read"] foo = 1 }',
        'path "x": 1 error occurred:\n\t* invalid key "foo" on line 1\n\n',
    ),
    (
        'path "x" { capabilities = ["read"]\n foo = 1\n bar = 2 }',
        'path "x": 2 errors occurred:\n\t* invalid key "foo" on line 2\n'
        '\t* invalid key "bar" on line 3\n\n',
    ),
    (
        'path "x" { capabilities = ["read"] \n foo { } }',
        'path "x": 1 error occurred:\n\t* invalid key "foo" on line 0\n\n',
    ),
    (
        'foo = 1\nbar "x" { capabilities = ["read"] }',
        '2 errors occurred:\n\t* invalid key "foo" on line 1\n\t* invalid key "bar" on line 0\n\n',
    ),
    ('path = "x"', 'path "path": cannot check HCL keys of type *ast.LiteralType'),
    (
        'path "x" { capabilities = "read" }',
        'path "x": path "x": At 1:27: unknown slice type: *ast.LiteralType',
    ),
    (
        'path "x" { capabilities = [true] }',
        'path "x": path "x": At 1:28: root.Capabilities[0]: '
        "unknown type for string *ast.LiteralType",
    ),
    (
        'path "x" { capabilities = [["read"]] }',
        'path "x": path "x": At 1:28: root.Capabilities[0]: unknown type for string *ast.ListType',
    ),
    (
        'path "x" { allowed_parameters = "x" }',
        'path "x": path "x": At 1:33: root.allowed_parameters: not an object type for map '
        "(*ast.LiteralType)",
    ),
    (
        'path "x" { allowed_parameters = {"a" = "b"} }',
        'path "x": path "x": At 1:40: unknown slice type: *ast.LiteralType',
    ),
    (
        'path "x" { policy = ["read"] }',
        'path "x": path "x": At 1:21: root.Policy: unknown type for string *ast.ListType',
    ),
    ('name = ["x"]', "At 1:8: root.name: unknown type for string *ast.ListType"),
    (
        'path "x" { capabilities = ["read"] control_group = {} }',
        'path "x": error handling control_group: 1 error occurred:\n'
        "\t* requires at least one factor but had none\n\n",
    ),
    # Malformed HCL: Go HCL's messages and positions (end of input is
    # reported one or two columns after the last character, as Go does).
    ("bad", "At 1:5: key 'bad' expected start of object ('{') or assignment ('=')"),
    ("bad\n", "At 2:1: key 'bad' expected start of object ('{') or assignment ('=')"),
    ("\n\nbad   ", "At 3:7: key 'bad' expected start of object ('{') or assignment ('=')"),
    ('path "x" {', "At 1:12: object expected closing RBRACE got: EOF"),
    ('path "x" {\n', "At 2:2: object expected closing RBRACE got: EOF"),
    ('path "x" {\n\n  ', "At 3:4: object expected closing RBRACE got: EOF"),
    ('path "x" { capabilities = ', "At 1:28: object expected closing RBRACE got: EOF"),
    (
        'path "x" { capabilities = ["read"] } }',
        "At 1:38: expected: IDENT | STRING | ASSIGN | LBRACE got: RBRACE",
    ),
    (
        'path "x" { capabilities = ["read" }',
        "At 1:35: error parsing list, expected comma or list end, got: RBRACE",
    ),
    (
        'path "x" {\n  capabilities = ["read"\n}',
        "At 3:1: error parsing list, expected comma or list end, got: RBRACE",
    ),
    ('path "x" { capabilities = [read] }', "At 1:28: unexpected token while parsing list: IDENT"),
    ('path "x" { capabilities = ["read",', "At 1:35: unexpected token while parsing list: EOF"),
    (
        'path "x" = { capabilities = ["read"] }',
        "At 1:10: nested object expected: LBRACE got: ASSIGN",
    ),
    ('path "x { capabilities = ["read"] }', "At 1:36: literal not terminated"),
    ('path "x" { "abc\n" = 1 }', "At 2:8: literal not terminated"),
    ('path "x" { capabilities = }', "At 1:27: Unknown token: 1:27 RBRACE }"),
    ("}", "At 1:1: expected: IDENT | STRING | ASSIGN | LBRACE got: RBRACE"),
    ("= 1", "At 1:1: no object keys found!"),
    ("@", "At 1:1: illegal char"),
    ('path "x" { 1 = 1 }', "At 1:12: expected: IDENT | STRING | ASSIGN | LBRACE got: NUMBER"),
    (
        'path "x" { capabilities ["read"] }',
        "At 1:25: expected: IDENT | STRING | ASSIGN | LBRACE got: LBRACK",
    ),
    ('path "x" { capabilities = ["read"] } /* x', "At 1:42: comment not terminated"),
    ('path x/y { capabilities = ["read"] }', "At 1:7: expected '/' for comment"),
    ('path "x" { capabilities = ["re\\qad"] }', "At 1:32: illegal char escape"),
    (
        'path "x" { capabilities = ["read"] } \n path "x" ',
        "At 2:11: key 'path \"x\"' expected start of object ('{') or assignment ('=')",
    ),
    (
        'path "x" { capabilities = [{a=1] }',
        "At 1:28: error while trying to parse object within list: "
        "At 1:32: expected: IDENT | STRING | ASSIGN | LBRACE got: RBRACK",
    ),
    (
        'path "h" {\n  policy = <EOF\nread\nEOF\n}\n',
        "At 2:13: heredoc expected second '<', didn't see it",
    ),
    # Heredocs: Go cuts the anchor line's length off the end, indentation or not.
    (
        'path "h" {\n  policy = <<EOF\nread\n EOF\n}\n',
        'path "h": path "h": invalid policy "read\\n "',
    ),
    (
        'path "h" {\n  policy = <<-EOF\n  read\n    EOF\n}',
        'path "h": path "h": invalid policy "  read\\n"',
    ),
    (
        'path "h" {\n  capabilities = [<<-EOF\n    read\n    EOF\n  ]\n}',
        'path "h": path "h": invalid capability "read\\n"',
    ),
    # JSON: OpenBao's JSON reader has its own texts and no node positions.
    (
        '{"path": {"x": {"capabilities": ["read"], "foo": 1}}}',
        'path "x": 1 error occurred:\n\t* invalid key "foo" on line 1\n\n',
    ),
    (
        '{\n"path": {\n  "x": {\n    "capabilities": ["read"],\n    "foo": 1\n  }\n}}',
        'path "x": 1 error occurred:\n\t* invalid key "foo" on line 5\n\n',
    ),
    (
        '{"path": {"x": {"allowed_parameters": {"a": ["b"]}}}}',
        'path "x": 1 error occurred:\n\t* invalid key "a" on line 1\n\n',
    ),
    (
        '{"path": {"x": {"capabilities": "read"}}}',
        'path "x": path "x": At -: unknown slice type: *ast.LiteralType',
    ),
    ('{"name": ["x"]}', "At -: root.name: unknown type for string *ast.ListType"),
    ('{"path": {"x": {"capabilities": [null]}}}', "unexpected token while parsing list: NULL"),
    ("{bad}", "1:4: illegal char"),
    ('{"path": {"a\\/b": {"capabilities": ["read"]}}}', "1:14: illegal char escape"),
    ('{"path": {"a/*"0: {}}}', "expected: STRING got: NUMBER"),
    (
        '{"path": {"x": {"capabilities": ["read"]}, "y": "z"}}',
        'path "path": 2 errors occurred:\n\t* invalid key "x" on line 1\n'
        '\t* invalid key "y" on line 1\n\n',
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_error_texts(text: str, message: str) -> None:
    assert error(text) == message


def test_json_reader_leniency_matches_openbao() -> None:
    # OpenBao's JSON reader stops at the first thing that is not a comma.
    assert parse_policy('{"path": ').paths == []
    assert one('{"path": {"x": {"capabilities": ["read"]}}} junk').path == "x"
    assert one(
        '{"path": {"x": {"capabilities": ["read", true, "list"]}}}'
    ).permissions.capabilities == (CAP_READ | CAP_LIST)


def test_go_quote() -> None:
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("line\nnext\ttab\x01") == '"line\\nnext\\ttab\\x01"'
    assert go_quote("héllo") == '"héllo"'


# --------------------------------------------------------------------------- default policy


def test_default_policy_text_and_rules() -> None:
    assert DEFAULT_POLICY_TEXT.startswith("\n# Allow tokens to look up their own properties\n")
    assert '  capabilities = ["read"]\n}\npath "identity/entity/name/' in DEFAULT_POLICY_TEXT
    assert DEFAULT_POLICY_TEXT.endswith('    capabilities = ["read", "update"]\n}\n')
    rules = {
        r.key: capability_names(r.permissions.capabilities)
        for r in parse_policy(DEFAULT_POLICY_TEXT).paths
    }
    assert rules == {
        "auth/token/lookup-self": ["read"],
        "auth/token/renew-self": ["update"],
        "auth/token/revoke-self": ["update"],
        "sys/capabilities-self": ["update"],
        "identity/entity/id/{{identity.entity.id}}": ["read"],
        "identity/entity/name/{{identity.entity.name}}": ["read"],
        "sys/internal/ui/resultant-acl": ["read"],
        "sys/leases/renew": ["update"],
        "sys/leases/lookup": ["update"],
        "cubbyhole/*": ["create", "delete", "list", "read", "update"],
        "sys/wrapping/wrap": ["update"],
        "sys/wrapping/lookup": ["update"],
        "sys/wrapping/unwrap": ["update"],
        "sys/tools/hash": ["update"],
        "sys/tools/hash/*": ["update"],
        "identity/oidc/provider/+/authorize": ["read", "update"],
    }
