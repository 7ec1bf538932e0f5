"""`policy`, `audit` and `login`: `strongroom` against the real `bao` (OpenBao 2.7.2).

Both CLIs run the same command lines against one `bao server -dev` that allows
API-created audit devices, each with its own HOME (so the token helper file each
one writes is compared too). `policy fmt` is local: both format copies of the
same file, and the rewritten files must be byte-identical.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.cli.commands.policy import HclError, format_hcl
from tests.cli_diff.servers import DEV_EXTRA_CONFIG, free_port
from tests.integration.server import STRONGROOM, ServerProcess
from tests.unit.cli.helpers import fake_api, run_cli
from tests.unit.cli.pair import BAO, Pair, assert_same

needs_bao = pytest.mark.skipif(not os.access(BAO, os.X_OK), reason="needs the bao binary")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """A `bao server -dev` (root token `root`, API audit devices allowed) with userpass."""
    if not os.access(BAO, os.X_OK):
        pytest.skip("needs the bao binary")
    base = tmp_path_factory.mktemp("policy-audit-login")
    extra = base / "extra.hcl"
    extra.write_text(DEV_EXTRA_CONFIG)
    port = free_port()
    server = ServerProcess(
        args=[
            BAO,
            "server",
            "-dev",
            "-dev-root-token-id=root",
            f"-dev-listen-address=127.0.0.1:{port}",
            "-dev-no-store-token",
            f"-config={extra}",
        ],
        addr=f"http://127.0.0.1:{port}",
        home=base,
        log_path=base / "server.log",
    )
    server.start()
    try:
        p = Pair(server.addr, base)
        (base / "dev.hcl").write_text(DEV_POLICY)
        (base / "bad.hcl").write_text('path "x" {\n  capabilities = ["bogus"]\n}\n')
        for args in (
            ["auth", "enable", "userpass"],
            ["write", "auth/userpass/users/alice", "password=pw", "token_policies=dev"],
            ["write", "auth/userpass/users/bob", "password=pw", "token_ttl=1h"],
            ["policy", "write", "dev", str(base / "dev.hcl")],
        ):
            out = p.run("bao", args)
            assert out.code == 0, out.stderr
        yield p
    finally:
        server.stop()


DEV_POLICY = """\
path "secret/data/*" {
  capabilities = ["create", "read", "update"]
}

path "kv1/*" {
  capabilities = ["read", "list"]
}
"""


# --------------------------------------------------------------------------- policy


def test_policy_write_read_list_delete(pair: Pair) -> None:
    dev, bad = str(pair.base / "dev.hcl"), str(pair.base / "bad.hcl")
    stdin_policy = 'path "secret/*" {\n  capabilities = ["read"]\n}\n'
    pair.check(["policy", "write", "Stdin", "-"], stdin=stdin_policy)
    for args in (
        ["policy", "write", "dev", dev],
        ["policy", "write", "Dev2", dev],
        ["policy", "write", " Sp ", dev],
        ["policy", "write", "x", "/nonexistent"],
        ["policy", "write", "x", str(pair.base)],
        ["policy", "write", "bad", bad],
        ["policy", "write", "x"],
        ["policy", "write", "a", "b", "c"],
        ["policy", "write", "-format=json", "x", dev],
        ["policy", "write", "-output-curl-string", "x", dev],
        ["policy", "list", "-format=json"],
        ["policy", "list", "-format=yaml"],
        ["policy", "list", "x"],
        ["policy", "list", "-output-curl-string"],
        ["policy", "read", "DEV"],
        ["policy", "read", "-format=json", "dev"],
        ["policy", "read", "-format=yaml", "stdin"],
        ["policy", "read", "-format=pretty", "dev"],
        ["policy", "read", "missing"],
        ["policy", "read", "root"],
        ["policy", "read"],
        ["policy", "read", "a", "b"],
        ["policy", "read", "-field=policy", "dev"],
        ["policy", "read", "-output-curl-string", "dev"],
        ["policy", "delete", "Dev2"],
        ["policy", "delete", "root"],
        ["policy", "delete"],
        ["policy", "delete", "-format=json", "x"],
        ["policy", "delete", "-output-curl-string", "x"],
        ["policy", "delete", "sp"],
        ["policy", "delete", "stdin"],
    ):
        pair.check(args)
    # No volatile values: byte for byte.
    for args in (["policy", "list"], ["policy", "read", "dev"], ["policy", "read", "default"]):
        pair.check(args, strict=True)


# --------------------------------------------------------------------------- policy fmt

FMT_CASES = {
    "messy": 'path "secret/*" {capabilities=["read"]}\npath "kv1/x"   {\n'
    '        capabilities = ["list","read"]\n   }\n',
    "comments": """\
# top comment
# second line

path "a" {
  # lead comment
  capabilities = ["read"] # line comment
  min_wrapping_ttl = "1s"
  max_wrapping_ttl="90s"   // another
}


# between

path "b" {
    capabilities = [
      "read",
      "list", # trailing
      # lead in list
      "update"
    ]
}
# end comment
""",
    "parameters": """\
path "sys/*" {
  capabilities = ["sudo", "read"]
  allowed_parameters = {
    "foo" = ["a", "b"]
    "*"   = []
  }
  denied_parameters = { "bar" = [] }
  required_parameters = ["foo"]
}
path "x" { capabilities = ["deny"] }
path "y" {
  policy = "read"
}
""",
    "standalone": """\
path "a" {
  # standalone one
  # standalone two

  capabilities = ["read"]

  # another

  min_wrapping_ttl = "1s"
  # trailing standalone
}
/* block
   comment */
path "c" {
  /* inner
     block */
  capabilities = ["read"] /* inline */
}
""",
    "empty blocks": 'path "a" { capabilities = ["read"] }\npath "b" {\n}\npath "c" {}\n'
    'path "d" {}\nname = "foo"\n',
    "crlf": 'path "a" {\r\n  capabilities = ["read"]\r\n}\r\n',
    "tabs and numbers": 'path "a" {\n\tcapabilities = ["read"]\n\tmax_wrapping_ttl = 300\n}',
    "unicode": 'path "ünïcode/{{identity.entity.id}}/*" {\n  capabilities = ["read"]\n'
    '  min_wrapping_ttl = "10s" # ü\n}\n',
    "multi-line lists": 'path "a" {\n  capabilities = ["read",\n  "list"]\n}\n'
    'path "b" {\n  capabilities = [ ]\n}\npath "c" {\n  capabilities = [\n  ]\n}\n',
    "trailing comments": 'path "a" {\n  capabilities = ["read"]\n}\n# t1\n\n# t2\n',
    "commas": 'path "a" { capabilities = ["read"], }\n'
    'path "b" { capabilities = ["read", ], max_wrapping_ttl = "1h" }\n',
    "blank lines": 'path "a" {\n  capabilities = ["read"]\n}\n\n\n\n'
    'path "b" {\n  capabilities = ["read"]\n}\n\n\n',
    "only a comment": "   \n\n# only comment\n",
    "empty": "",
    # errors
    "duplicate attribute": 'path "a" {\n  capabilities = ["read"]\n  capabilities = ["list"]\n}\n',
    "json policy": '{"path": {"secret/*": {"capabilities": ["read"]}}}\n',
    "bad capability": 'path "x" {\n  capabilities = ["bogus"]\n}\n',
    "syntax error": 'path "x" {\n  capabilities = ["read"\n}\n',
    "unknown key": "foo = 1\n",
}


def _fmt_both(pair_base: Path, name: str, text: str) -> None:
    outs = {}
    files = {}
    for cli in ("bao", "strongroom"):
        work = pair_base / f"fmt-{cli}"
        work.mkdir(exist_ok=True)
        target = work / "p.hcl"
        target.write_bytes(text.encode())
        binary = BAO if cli == "bao" else STRONGROOM
        result = subprocess.run(
            [binary, "policy", "fmt", "p.hcl"], cwd=work, capture_output=True, timeout=60
        )
        outs[cli] = (result.returncode, result.stdout, result.stderr)
        files[cli] = target.read_bytes()
    assert outs["strongroom"] == outs["bao"], name
    assert files["strongroom"] == files["bao"], name


@needs_bao
@pytest.mark.parametrize("name", sorted(FMT_CASES))
def test_policy_fmt(tmp_path: Path, name: str) -> None:
    _fmt_both(tmp_path, name, FMT_CASES[name])


def _random_policy(rng: random.Random) -> str:
    """A valid policy with random layout: spacing, comments, lists, nested objects."""

    def ws() -> str:
        return rng.choice(["", " ", "  ", "\t", " \n", "\n", "\n\n", "\n  "])

    def comment() -> str:
        return rng.choice(["# c", "// d", "/* e */", "/* f\n   g */", "#"])

    def caps() -> str:
        names = ["read", "list", "update", "sudo"]
        items = [f'"{rng.choice(names)}"' for _ in range(rng.randint(0, 3))]
        out = "[" + ws().replace("\n\n", "\n")
        for i, item in enumerate(items):
            out += item
            if i != len(items) - 1 or rng.random() < 0.3:
                out += ","
            out += " # lc\n" if rng.random() < 0.2 else ws()
        return out + "]"

    def attribute(key: str) -> str:
        if key == "capabilities":
            return f"capabilities{rng.choice(['', ' ', '   '])}={rng.choice(['', ' '])}{caps()}"
        if key == "allowed_parameters":
            inner = "".join(
                f'{ws()}"{k}" = [{rng.choice(["", chr(34) + "v" + chr(34)])}]'
                f"{rng.choice(['', ' # pc'])}\n"
                for k in rng.sample(["a", "bb", "*"], rng.randint(0, 3))
            )
            return f"allowed_parameters = {{\n{inner}}}"
        return f'{key} = "{rng.randint(1, 99)}s"'

    out = (comment() + "\n") if rng.random() < 0.3 else ""
    for i in range(rng.randint(0, 3)):
        keys = rng.sample(
            ["capabilities", "min_wrapping_ttl", "max_wrapping_ttl", "allowed_parameters"],
            rng.randint(0, 4),
        )
        body = ""
        for key in keys:
            if rng.random() < 0.25:
                body += comment() + "\n"
            body += rng.choice(["", " ", "    "]) + attribute(key)
            if rng.random() < 0.2:
                body += " " + comment().replace("\n", " ")
            body += rng.choice(["\n", "\n\n"])
        opener = rng.choice(["{\n", "{", "{ ", "{\n\n"])
        out += f'path "p{i}/*"{rng.choice([" ", ""])}{opener}{body}}}'
        out += rng.choice(["", " # after"]) + rng.choice(["\n", "\n\n", "\n\n\n"])
    if rng.random() < 0.2:
        out += comment() + "\n"
    return out


@needs_bao
def test_policy_fmt_random_layouts(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    for index in range(60):
        _fmt_both(tmp_path, f"random #{index}", _random_policy(rng))


def test_format_hcl_layout() -> None:
    assert format_hcl("") == "\n"
    assert format_hcl('path "a" {capabilities=["read"]}') == (
        'path "a" {\n  capabilities = ["read"]\n}\n'
    )
    # Adjacent one-line attributes are aligned, line comments too.
    assert format_hcl('path "a" {\n a = "1" # x\n bbb = "22" # y\n}\n') == (
        'path "a" {\n  a   = "1"  # x\n  bbb = "22" # y\n}\n'
    )
    # A list written over several lines stays one item per line, with commas.
    assert format_hcl('x = [\n"a", "b"]\n') == 'x = [\n  "a",\n  "b",\n]\n'
    # Blocks are separated by one blank line.
    assert format_hcl("a {}\nb {}\nc { x = 1 }\n") == "a {}\nb {}\n\nc {\n  x = 1\n}\n"
    with pytest.raises(HclError, match='The argument "x" at 3:1 was already set'):
        format_hcl("x = 1\n\nx = 2\n")
    with pytest.raises(HclError, match=r"At 1:1: expected: IDENT \| STRING got: LBRACE"):
        format_hcl("{}")


def test_policy_fmt_errors(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    missing = run_cli("policy", "fmt", str(tmp_path / "nope.hcl"), env=env)
    assert (missing.code, missing.stdout) == (1, "")
    assert missing.stderr == (
        f"Error reading source file: open {tmp_path}/nope.hcl: no such file or directory\n"
    )
    assert run_cli("policy", "fmt", str(tmp_path), env=env).stderr == (
        f"Error reading source file: read {tmp_path}: is a directory\n"
    )
    (tmp_path / "p.hcl").write_text('path "a" {capabilities=["read"]}')
    done = run_cli("policy", "fmt", "~/p.hcl", env=env)
    assert (done.code, done.stdout) == (0, f"Success! Formatted policy: {tmp_path}/p.hcl\n")
    assert (tmp_path / "p.hcl").read_text() == 'path "a" {\n  capabilities = ["read"]\n}\n'


# --------------------------------------------------------------------------- audit


def test_audit_commands(pair: Pair) -> None:
    pair.check(["audit", "list"], strict=True)  # none yet: stdout, exit 2
    for args in (
        ["audit", "list", "-format=json"],
        ["audit", "list", "-format=yaml"],
        ["audit", "list", "-detailed"],
        ["audit", "enable"],
        ["audit", "enable", "file"],
        ["audit", "enable", "nosuch"],
        ["audit", "enable", "file", "noequals"],
        ["audit", "enable", "file", "a=1", "a=2"],
        ["audit", "enable", "-format=json", "file"],
        ["audit", "enable", "-output-curl-string", "-path=p", "-description=d", "file", "a=b"],
        ["audit", "disable"],
        ["audit", "disable", "a", "b"],
        ["audit", "disable", "-format=json", "x"],
        ["audit", "disable", "-output-curl-string", "x"],
        ["audit", "list", "x"],
        ["audit", "list", "-field=x"],
        ["audit", "list", "-format=pretty"],
        ["audit", "list", "-output-curl-string"],
    ):
        pair.check(args)
    stdin = '{"file_path": "discard", "n": 5, "b": true, "z": null}'
    pair.check(["audit", "enable", "-output-curl-string", "file", "-"], stdin=stdin)
    pair.check(["audit", "enable", "-output-curl-string", "file", "-"], stdin='{"o": {}}')
    # Each CLI enables, lists and disables its own devices in turn.
    for cli in ("bao", "strongroom"):
        steps = [
            ["audit", "enable", "file", "file_path=discard"],
            ["audit", "enable", "-path=second", "-description=a second log", "file",
             "file_path=discard"],
            # One option per device: bao prints several in Go's random map order.
            ["audit", "enable", "-local", "-path=third/", "file", "file_path=discard"],
            ["audit", "enable", "-path=second", "file", "file_path=discard"],
        ]  # fmt: skip
        outs = [pair.run(cli, args) for args in steps]
        assert [o.code for o in outs] == [0, 0, 0, 2], outs
        if cli == "bao":
            reference = outs
        else:
            for want, got in zip(reference, outs, strict=True):
                assert_same(want, got)
            for args in (
                ["audit", "list"],
                ["audit", "list", "-detailed"],
                ["audit", "list", "-detailed=false"],
            ):
                pair.check(args, strict=True)
            for args in (
                ["audit", "list", "-format=json"],
                ["audit", "list", "-format=yaml"],
                ["audit", "list", "-detailed", "-format=json"],
            ):
                pair.check(args)
            pair.check(["audit", "list"], env={"BAO_DETAILED": "true"}, strict=True)
        for args in (
            ["audit", "disable", "file"],
            ["audit", "disable", "/second/"],
            ["audit", "disable", "third"],
        ):
            out = pair.run(cli, args)
            assert out.code == 0, out.stderr
    pair.check(["audit", "disable", "nosuch"], strict=True)


AUDIT_ANSWERS = [
    {"data": {}},
    {"data": {"x/": {"type": "file", "options": None, "local": True, "path": "x/"}}},
    {"data": {"b/": {"type": "socket", "description": "a | b", "path": "b/"}, "a/": {}}},
    # (one option each: the reference prints options in Go's random map order)
    {"data": {"x/": {"type": 5, "options": {"a": 1}}, "y/": {"options": {"b": None}}}},
    {"data": {"x/": "nope"}},
    {"data": {"x/": {"type": True, "local": 1}}},
    {"data": {"x/": {"local": "yes", "options": {"a": True}}}},
    {"data": {"x/": {"options": [1]}}},
    {"errors": []},
]


@needs_bao
@pytest.mark.parametrize("answer", AUDIT_ANSWERS, ids=json.dumps)
@pytest.mark.parametrize("fmt", ["table", "json"])
def test_audit_list_answers(tmp_path: Path, answer: dict, fmt: str) -> None:
    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, json.dumps(answer).encode()

    with fake_api(handle) as server:
        env = {"BAO_ADDR": server.url, "BAO_TOKEN": "t", "HOME": str(tmp_path)}
        for detailed in ([], ["-detailed"]):
            args = ["audit", "list", f"-format={fmt}", *detailed]
            want = subprocess.run([BAO, *args], env=env, capture_output=True, timeout=60)
            got = run_cli(*args, env=env)
            assert (got.code, got.stdout, got.stderr) == (
                want.returncode,
                want.stdout.decode(),
                want.stderr.decode(),
            ), args


def test_audit_list_null_entry(tmp_path: Path) -> None:
    """A null entry: JSON shows null (the reference crashes on the table)."""

    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b'{"data": {"x/": null}}'

    with fake_api(handle) as server:
        env = {"BAO_ADDR": server.url, "BAO_TOKEN": "t", "HOME": str(tmp_path)}
        assert run_cli("audit", "list", "-format=json", env=env).stdout == '{\n  "x/": null\n}\n'
        table = run_cli("audit", "list", env=env)
        assert (table.code, table.stderr) == (0, "")


# --------------------------------------------------------------------------- login

LOGIN_CASES: list[tuple[list[str], dict[str, str | None] | None, str]] = [
    (["login", "-method=userpass", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "-format=json", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "-format=yaml", "username=bob", "password=pw"], None, ""),
    (["login", "-method=userpass", "username=alice", "password=wrong"], None, ""),
    (["login", "-method=userpass", "username=alice"], None, ""),
    (["login", "-method=userpass", "password=pw"], None, ""),
    (["login", "-method=userpass", "-path=nosuch", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "-path=/userpass/", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "username=alice", "password=pw", "mount=other"], None, ""),
    (["login", "-method=/userpass/", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "-no-store", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "-token-only", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "-no-print", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "-no-print", "-no-store", "username=alice"], None, ""),
    (["login", "-method=userpass", "-field=token_policies", "username=alice", "password=pw"],
     None, ""),
    (["login", "-method=userpass", "-field=nope", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "username=a", "username=b"], None, ""),
    (["login", "-method=userpass", "-non-interactive", "username=alice"], None, ""),
    (["login", "-method=userpass", "-wrap-ttl=5m", "username=alice", "password=pw"], None, ""),
    (["login", "-method=userpass", "-wrap-ttl=5m", "-no-store", "username=alice", "password=pw"],
     None, ""),
    (["login", "-method=userpass", "-wrap-ttl=5m", "-token-only", "username=alice",
      "password=pw"], None, ""),
    (["login", "-method=approle", "role_id=x"], None, ""),
    (["login", "-method=ldap", "username=alice"], None, ""),
    (["login", "-method=cert", "name=x"], None, ""),
    (["login", "-method=cert", "-path=c2"], None, ""),
    (["login", "-method=kubernetes"], None, ""),
    (["login", "-method=kubernetes", "role=r", "jwt=x"], None, ""),
    (["login", "-method=kubernetes", "-non-interactive", "role=r"], None, ""),
    (["login", "-method=oidc"], None, ""),
    (["login", "-method=oidc", "skip_browser=maybe"], None, ""),
    # the token method
    (["login", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "root"], None, ""),
    (["login", "root"], {"BAO_TOKEN": None, "VAULT_TOKEN": "root"}, ""),
    (["login", "-format=json", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "-field=token_policies", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "-field=token", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "-no-store", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "-token-only", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "token=root", "lookup=false"], {"BAO_TOKEN": ""}, ""),
    (["login", "-format=json", "token=root", "lookup=false"], {"BAO_TOKEN": ""}, ""),
    (["login", "token=root", "lookup=maybe"], {"BAO_TOKEN": ""}, ""),
    (["login", "root", "extra=1"], {"BAO_TOKEN": ""}, ""),
    (["login", "-method=token", "-path=foo", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "-method=", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "-wrap-ttl=5m", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "nonexistent"], {"BAO_TOKEN": ""}, ""),
    (["login"], {"BAO_TOKEN": ""}, ""),
    (["login", "-non-interactive"], {"BAO_TOKEN": ""}, ""),
    (["login", "-"], {"BAO_TOKEN": ""}, "root\n"),
    (["login", "-token-only", "x=1", "-"], {"BAO_TOKEN": ""}, '{"token": "root"}'),
    (["login", "-method=token", "-"], {"BAO_TOKEN": ""}, ""),
    (["login", "-non-interactive", "-"], {"BAO_TOKEN": ""}, "root"),
    (["login", "a=1", "b"], {"BAO_TOKEN": ""}, ""),
    (["login", "-format=raw", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "-nonsense"], {"BAO_TOKEN": ""}, ""),
    (["login", "-output-curl-string", "root"], {"BAO_TOKEN": ""}, ""),
    (["login", "-output-curl-string", "-method=userpass", "username=alice", "password=pw"],
     None, ""),
    # where the token is stored
    (["login", "root"], {"BAO_TOKEN": "", "BAO_TOKEN_PATH": "{home}/custom-token"}, ""),
    (["login", "root"], {"BAO_TOKEN": "", "HOME": "/nonexistent"}, ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "env", "stdin"),
    LOGIN_CASES,
    ids=[f"{i} {' '.join(case[0])}" for i, case in enumerate(LOGIN_CASES)],
)
def test_login(pair: Pair, args: list[str], env: dict[str, str | None] | None, stdin: str) -> None:
    pair.check(args, stdin=stdin, env=env)


def test_login_stores_the_token(pair: Pair) -> None:
    token = pair.run("bao", ["token", "create", "-ttl=15m", "-policy=default", "-field=token"])
    assert token.code == 0
    got = pair.check(["login", token.stdout], env={"BAO_TOKEN": ""})[1]
    assert got.helper == token.stdout
    mode = os.stat(pair.homes["strongroom"] / ".vault-token").st_mode & 0o777
    assert mode == 0o600
    # The stored token is then used.
    env = pair.env("strongroom", {"BAO_TOKEN": None})
    lookup = [STRONGROOM, "token", "lookup", "-field=id"]
    after = subprocess.run(lookup, env=env, capture_output=True, timeout=60)
    assert (after.returncode, after.stdout.decode()) == (0, token.stdout)
    custom = pair.check(
        ["login", "root"], env={"BAO_TOKEN": "", "BAO_TOKEN_PATH": "{home}/custom-token"}
    )[1]
    assert (pair.homes["strongroom"] / "custom-token").read_text() == "root"
    assert custom.helper is None


def test_login_password_prompt_on_a_terminal(pair: Pair) -> None:
    outs = {}
    for cli in ("bao", "strongroom"):
        primary, secondary = os.openpty()
        try:
            os.write(primary, b"pw\n")
            outs[cli] = pair.run(
                cli, ["login", "-method=userpass", "username=alice"], stdin=secondary
            )
        finally:
            os.close(primary)
            os.close(secondary)
    assert outs["strongroom"].code == 0, outs["strongroom"].stderr
    assert outs["strongroom"].stderr.startswith("Password (will be hidden): \n")
    assert_same(outs["bao"], outs["strongroom"], what="password prompt")


def test_login_wrapped_answer_without_accessor(tmp_path: Path) -> None:
    """Canned answers: odd login responses print what the reference prints."""
    answers = [
        (200, {"wrap_info": {"token": "w", "wrapped_accessor": ""}}),
        (200, {"data": {"a": 1}}),
        (204, None),
        (200, {"auth": {"client_token": "s.x", "policies": ["a"]}, "warnings": ["careful"]}),
    ]
    for status, body in answers:

        def handle(
            method: str, path: str, raw: bytes, status=status, body=body
        ) -> tuple[int, dict[str, str], bytes]:
            return status, {}, b"" if body is None else json.dumps(body).encode()

        with fake_api(handle) as server:
            env = {"BAO_ADDR": server.url, "BAO_TOKEN": "", "HOME": str(tmp_path)}
            for extra in ([], ["-field=token"], ["-format=json"]):
                args = ["login", "-method=userpass", *extra, "username=u", "password=p"]
                (tmp_path / ".vault-token").unlink(missing_ok=True)
                if os.access(BAO, os.X_OK):
                    want = subprocess.run([BAO, *args], env=env, capture_output=True, timeout=60)
                    expected = (want.returncode, want.stdout.decode(), want.stderr.decode())
                    (tmp_path / ".vault-token").unlink(missing_ok=True)
                    got = run_cli(*args, env=env)
                    assert (got.code, got.stdout, got.stderr) == expected, (body, args)
                else:
                    assert "Traceback" not in run_cli(*args, env=env).stderr
