"""Differential test: strongroom's ACL engine against a real OpenBao dev server.

A seeded generator writes the same random policies to both servers (exact
paths, `*` globs, `+` segments, deny, legacy `policy = ...`, repeated
patterns across policies, HCL and JSON forms), creates tokens holding random
sets of them on each, and asks both `sys/capabilities` about the same paths.
Every answer must agree. A second test sends the same malformed documents to
both and compares the error texts (line/column included).

Set STRONGROOM_DIFF_SEED to explore other seeds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.server import BAO, ServerProcess, dev_server, free_port

SEED = int(os.environ.get("STRONGROOM_DIFF_SEED", "20261125"))
POLICIES = 60
TOKEN_SETS = 70
PATHS_PER_SET = 30
SEGMENTS = ["a", "b", "c", "ab", "abc", "x"]
CAPS = ["create", "read", "update", "delete", "list", "sudo", "patch"]

pytestmark = pytest.mark.skipif(
    shutil.which(BAO) is None, reason="the OpenBao CLI (bao) is not installed"
)


def bao_dev_server(tmp: Path) -> ServerProcess:
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    return ServerProcess(
        args=[
            BAO,
            "server",
            "-dev",
            "-dev-root-token-id=root",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        addr=f"http://127.0.0.1:{port}",
        home=tmp,
        log_path=tmp / "bao.log",
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, httpx.Client]]:
    bao = bao_dev_server(tmp_path_factory.mktemp("openbao")).start()
    ours = dev_server(tmp_path_factory.mktemp("strongroom")).start()
    clients = {
        name: httpx.Client(base_url=f"{server.addr}/v1/", headers={"X-Vault-Token": "root"})
        for name, server in (("openbao", bao), ("strongroom", ours))
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            client.close()
        ours.stop()
        bao.stop()


# ---------------------------------------------------------------------------
# Generators


def random_pattern(rng: random.Random) -> str:
    if rng.random() < 0.02:
        return "*"
    segments = [rng.choice(SEGMENTS) for _ in range(rng.randint(1, 4))]
    for index in range(len(segments)):
        if rng.random() < 0.25:
            segments[index] = "+"
    if rng.random() < 0.04:  # "+" inside a segment is not a segment wildcard
        segments[rng.randrange(len(segments))] = rng.choice(["a+b", "+a", "b+"])
    pattern = "/".join(segments)
    glob = rng.random()
    if glob < 0.25:
        pattern += "/*"
    elif glob < 0.45 and not pattern.endswith("+"):
        pattern += "*"
    elif glob < 0.52:
        pattern += "/"
    if rng.random() < 0.05:
        pattern = "/" + pattern
    return pattern


def random_rule(rng: random.Random, pool: list[str]) -> dict[str, Any]:
    pattern = rng.choice(pool) if rng.random() < 0.6 else random_pattern(rng)
    roll = rng.random()
    rule: dict[str, Any] = {"path": pattern}
    if roll < 0.1:
        rule["capabilities"] = ["deny"]
    elif roll < 0.14:
        rule["policy"] = rng.choice(["deny", "read", "write", "sudo"])
    elif roll < 0.17:
        rule["capabilities"] = []
    else:
        rule["capabilities"] = rng.sample(CAPS, rng.randint(1, 4))
        if rng.random() < 0.05:
            rule["capabilities"].append("deny")
    if rng.random() < 0.2:
        for field in ("allowed_parameters", "denied_parameters"):
            if rng.random() < 0.5:
                rule[field] = {
                    key: rng.sample(["v1", "v2", "pre-*", 7, True], rng.randint(0, 2))
                    for key in rng.sample(["k", "K2", "*", "m"], rng.randint(1, 2))
                }
        if rng.random() < 0.4:
            rule["required_parameters"] = rng.sample(["k", "r", "s"], rng.randint(1, 2))
        if rng.random() < 0.3:
            rule["min_wrapping_ttl"] = rng.choice(["1m", 30, "90s"])
        if rng.random() < 0.3:
            rule["max_wrapping_ttl"] = rng.choice(["1h", 7200, "2h30m"])
    return rule


def render_hcl(rules: list[dict[str, Any]]) -> str:
    blocks = []
    for rule in rules:
        body = []
        if "capabilities" in rule:
            body.append(f"  capabilities = {json.dumps(rule['capabilities'])}")
        if "policy" in rule:
            body.append(f"  policy = {json.dumps(rule['policy'])}")
        for field in ("allowed_parameters", "denied_parameters"):
            if field in rule:
                entries = " ".join(
                    f"{json.dumps(k)} = {json.dumps(v)}" for k, v in rule[field].items()
                )
                body.append(f"  {field} = {{ {entries} }}")
        for field in ("required_parameters", "min_wrapping_ttl", "max_wrapping_ttl"):
            if field in rule:
                body.append(f"  {field} = {json.dumps(rule[field])}")
        blocks.append(f"path {json.dumps(rule['path'])} {{\n" + "\n".join(body) + "\n}\n")
    return "\n".join(blocks)


def render_json(rules: list[dict[str, Any]]) -> str:
    # The list form keeps repeated patterns apart.
    entries = [{rule["path"]: {k: v for k, v in rule.items() if k != "path"}} for rule in rules]
    return json.dumps({"path": entries})


def instantiate(pattern: str, rng: random.Random) -> str:
    """A concrete path the pattern (probably) matches, or a near miss."""
    path = pattern.lstrip("/")
    glob = path.endswith("*")
    path = path.rstrip("*")
    parts = [rng.choice(SEGMENTS) if part == "+" else part for part in path.split("/")]
    path = "/".join(parts)
    if glob and rng.random() < 0.7:
        path += rng.choice(["", "c", "/", "x/y", "/a/b", "bc/d"])
    twist = rng.random()
    if twist < 0.15:
        path += "/"
    elif twist < 0.25:
        path = path.rstrip("/")
    elif twist < 0.3:
        path += "/" + rng.choice(SEGMENTS)
    return path


def random_path(rng: random.Random) -> str:
    path = "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 5)))
    roll = rng.random()
    if roll < 0.2:
        path += "/"
    elif roll < 0.25:
        path = path.replace("/", "//", 1)
    return path


def build_corpus(
    rng: random.Random,
) -> tuple[dict[str, str], list[tuple[list[str], bool, list[str]]]]:
    pool = [random_pattern(rng) for _ in range(40)]
    policies: dict[str, list[dict[str, Any]]] = {}
    texts: dict[str, str] = {}
    for index in range(POLICIES):
        rules = [random_rule(rng, pool) for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.1:  # the same pattern twice in one policy
            rules.append({**rules[0], "capabilities": rng.sample(CAPS, 2)})
            rules[-1].pop("policy", None)
        name = f"p{index:02d}"
        policies[name] = rules
        texts[name] = render_json(rules) if rng.random() < 0.2 else render_hcl(rules)
    sets = []
    for _ in range(TOKEN_SETS):
        names = rng.sample(sorted(policies), rng.randint(1, 3))
        patterns = [rule["path"] for name in names for rule in policies[name]]
        paths = [instantiate(rng.choice(patterns), rng) for _ in range(PATHS_PER_SET // 2)]
        paths += [random_path(rng) for _ in range(PATHS_PER_SET - len(paths))]
        sets.append((names, rng.random() < 0.2, sorted(set(paths) - {""})))
    return texts, sets


# ---------------------------------------------------------------------------
# Tests


def test_random_policies_give_the_same_capabilities(
    servers: dict[str, httpx.Client],
) -> None:
    rng = random.Random(SEED)
    texts, sets = build_corpus(rng)
    for name, text in texts.items():
        for server, client in servers.items():
            resp = client.put(f"sys/policies/acl/{name}", json={"policy": text})
            assert resp.status_code == 204, (server, name, text, resp.text)

    compared = 0
    mismatches: list[str] = []
    for names, no_default, paths in sets:
        answers = {}
        for server, client in servers.items():
            created = client.post(
                "auth/token/create",
                json={"policies": names, "no_default_policy": no_default},
            )
            assert created.status_code == 200, (server, created.text)
            token = created.json()["auth"]["client_token"]
            resp = client.post("sys/capabilities", json={"token": token, "paths": paths})
            assert resp.status_code == 200, (server, resp.text)
            answers[server] = resp.json()["data"]
        for path in paths:
            compared += 1
            theirs, ours = answers["openbao"].get(path), answers["strongroom"].get(path)
            if theirs != ours:
                rules = "\n".join(texts[n] for n in names)
                mismatches.append(f"{names} {path!r}: openbao {theirs} strongroom {ours}\n{rules}")
    print(f"compared {compared} (policy set, path) capability answers; seed {SEED}")
    assert compared >= 500
    assert not mismatches, f"{len(mismatches)} of {compared} differ:\n" + "\n".join(mismatches[:10])


def test_resultant_acl_merges_like_openbao(servers: dict[str, httpx.Client]) -> None:
    rng = random.Random(SEED + 1)
    texts, sets = build_corpus(rng)
    for name, text in texts.items():
        for client in servers.values():
            assert client.put(f"sys/policies/acl/r{name}", json={"policy": text}).status_code == 204
    for names, _, _ in sets[:25]:
        views = {}
        for server, client in servers.items():
            created = client.post("auth/token/create", json={"policies": [f"r{n}" for n in names]})
            token = created.json()["auth"]["client_token"]
            resp = client.get("sys/internal/ui/resultant-acl", headers={"X-Vault-Token": token})
            assert resp.status_code == 200, (server, resp.text)
            views[server] = resp.json()["data"]
        assert views["strongroom"] == views["openbao"], names


# Malformed (and oddly formed) documents: both servers must answer alike.
ODD_DOCUMENTS = [
    "bad",
    "bad\n",
    "\n\nbad   ",
    'path "x" {',
    'path "x" {\n\n  ',
    'path "x" { capabilities = ["read"] } }',
    'path "x" { capabilities = ["read" }',
    'path "x" { capabilities = [read] }',
    'path "x" = { capabilities = ["read"] }',
    'path "x { capabilities = ["read"] }',
    'path "x" { capabilities = ',
    'path "x" { capabilities = }',
    'path "x" { capabilities = ["read",',
    "}",
    "= 1",
    "@",
    'path "x" { capabilities ["read"] }',
    'path "x" { capabilities = ["read"] } /* x',
    'path x/y { capabilities = ["read"] }',
    'path "x" { capabilities = ["bogus"] }',
    'path "x" { capabilities = ["read", "READ"] }',
    'path "x" { capabilities = ["deny", "bogus"] }',
    'path "x+*" { capabilities = ["read"] }',
    'path "/x" { capabilities = ["bogus"] }',
    'path "x" { capabilities = ["read"] foo = 1 bar = 2 }',
    'foo = 1\nbar "x" { capabilities = ["read"] }',
    'path "x" { capabilities = "read" }',
    'path "x" { capabilities = [true] }',
    'path "x" { capabilities = [["read"]] }',
    'path "x" { allowed_parameters = "x" }',
    'path "x" { allowed_parameters = {"a" = "b"} }',
    'path "x" { policy = "bogus" }',
    'path "x" { policy = ["read"] }',
    'path "x" { capabilities = ["read"] min_wrapping_ttl = "bogus" }',
    'path "x" { capabilities = ["read"] min_wrapping_ttl = "1h" max_wrapping_ttl = "1m" }',
    'path "x" { capabilities = ["read"] min_wrapping_ttl = true }',
    'path "x" { capabilities = ["read"] min_wrapping_ttl = 09 }',
    'path "x" { capabilities = ["read"] control_group = {} }',
    'path = "x"',
    'name = ["x"]',
    'path "x" { capabilities = ["re\\qad"] }',
    'path "x" {\n  policy = <EOF\nread\nEOF\n}\n',
    'path "h" {\n  policy = <<EOF\nread\n EOF\n}\n',
    'path "h" {\n  policy = <<-EOF\n  read\n    EOF\n}',
    'path "h" {\n  capabilities = [<<-EOF\n    read\n    EOF\n  ]\n}',
    'path "h" {\n  policy = <<EOF\nread\nEOF\n}\n',
    'path "x" { capabilities = ["read"] min_wrapping_ttl = 1.5 }',
    '{"path": {"x": {"capabilities": ["read"], "foo": 1}}}',
    '{"path": {"x": {"allowed_parameters": {"a": ["b"]}}}}',
    '{"path": {"x": {"capabilities": "read"}}}',
    '{"path": {"x": {"capabilities": [null]}}}',
    "{bad}",
    '{"path": {"a\\/b": {"capabilities": ["read"]}}}',
    '{"path": {"x": {"capabilities": ["read"]}, "y": "z"}}',
    '{\n"path": {\n  "x": {\n    "capabilities": ["read"],\n    "foo": 1\n  }\n}}',
    # These parse on both (leniencies of OpenBao's JSON reader).
    '{"path": ',
    '{"path": {"x": {"capabilities": ["read"]}}} junk',
    "   ",
]


def test_parse_errors_match_openbao(servers: dict[str, httpx.Client]) -> None:
    answers: dict[str, list[tuple[int, Any]]] = {}
    for server, client in servers.items():
        answers[server] = []
        for text in ODD_DOCUMENTS:
            resp = client.put("sys/policies/acl/odd", json={"policy": text})
            answers[server].append((resp.status_code, resp.json() if resp.content else None))
    for text, theirs, ours in zip(
        ODD_DOCUMENTS, answers["openbao"], answers["strongroom"], strict=True
    ):
        assert ours == theirs, text


# ---------------------------------------------------------------------------
# Enforcement: parameter constraints, create vs update and wrapping limits on
# real KV v1 requests. Only allow/deny is compared (403 or not).

PARAM_VALUES: list[Any] = ["v1", "v2", "pre-x", "x-suf", "amidb", "*", 7, True, None, ["v1"]]


def random_constrained_rule(rng: random.Random, index: int) -> str:
    caps = rng.sample(["create", "read", "update", "patch"], rng.randint(2, 4))
    lines = [f"  capabilities = {json.dumps(caps)}"]
    for field in ("allowed_parameters", "denied_parameters"):
        if rng.random() < 0.4:
            entries = []
            for key in rng.sample(["k", "K2", "*", "m", "n"], rng.randint(1, 3)):
                values = rng.sample(
                    ["v1", "pre-*", "*-suf", "*mid*", "*", 7, True], rng.randint(0, 2)
                )
                entries.append(f"{json.dumps(key)} = {json.dumps(values)}")
            lines.append(f"  {field} = {{ {' '.join(entries)} }}")
    if rng.random() < 0.15:
        lines.append(f"  required_parameters = {json.dumps(rng.sample(['k', 'M', 'r'], 1))}")
    if rng.random() < 0.1:
        lines.append(f"  min_wrapping_ttl = {json.dumps(rng.choice(['1m', 30]))}")
    if rng.random() < 0.1:
        lines.append(f"  max_wrapping_ttl = {json.dumps(rng.choice(['1h', 300]))}")
    body = "\n".join(lines)
    return f'path "kv/c{index}/*" {{\n{body}\n}}\n'


def test_parameter_constraints_enforced_like_openbao(servers: dict[str, httpx.Client]) -> None:
    rng = random.Random(SEED + 2)
    rules = [random_constrained_rule(rng, i) for i in range(25)]
    tokens = {}
    for server, client in servers.items():
        assert client.post("sys/mounts/kv", json={"type": "kv"}).status_code == 204
        assert client.put("sys/policies/acl/constrained", json={"policy": "\n".join(rules)})
        created = client.post("auth/token/create", json={"policies": ["constrained"]})
        tokens[server] = created.json()["auth"]["client_token"]
        for index in range(25):  # half the keys exist (writes to them are updates)
            client.put(f"kv/c{index}/old", json={"seed": "1"})

    compared, mismatches = 0, []
    outcomes = {True: 0, False: 0}
    for _ in range(300):
        index = rng.randrange(25)
        key = rng.choice(["old", f"new{rng.randrange(10**6)}"])
        data = {
            name: rng.choice(PARAM_VALUES)
            for name in rng.sample(["k", "K2", "m", "M", "n", "r", "z"], rng.randint(0, 3))
        }
        method = rng.choice(["PUT", "PUT", "GET"])
        headers = {}
        if rng.random() < 0.3:
            headers["X-Vault-Wrap-TTL"] = rng.choice(["20s", "2m", "10m", "2h"])
        denied = {}
        for server, client in servers.items():
            request_headers = {"X-Vault-Token": tokens[server], **headers}
            if method == "PUT":
                resp = client.put(
                    f"kv/c{index}/{key}", json=data or {"x": "y"}, headers=request_headers
                )
            else:
                params = {k: v for k, v in data.items() if isinstance(v, str)}
                resp = client.get(f"kv/c{index}/{key}", params=params, headers=request_headers)
            denied[server] = resp.status_code == 403
        compared += 1
        outcomes[denied["openbao"]] += 1
        if denied["openbao"] != denied["strongroom"]:
            mismatches.append(
                f"{method} kv/c{index}/{key} {data} {headers}: {denied}\n{rules[index]}"
            )
    print(f"compared {compared} enforced requests ({outcomes[True]} denied by both)")
    assert outcomes[True] > 30 and outcomes[False] > 30
    assert not mismatches, "\n".join(mismatches[:5])
