"""The normaliser and the comparison rules of the differential CLI test (no servers)."""

from __future__ import annotations

from pathlib import Path

from tests.cli_diff.compare import compare_step
from tests.cli_diff.normalize import Context, canonical, equivalent, normalize
from tests.cli_diff.runner import Result, Run, _capture, _fill
from tests.cli_diff.script import S


def test_volatile_values_become_placeholders() -> None:
    text = (
        "token                s.FqUVISPTYybEQAJGm5PFpKsy\n"
        "token                hvs.CAESIJ4lq0dyvOIvLvO1c0cXoiVbJk6w\n"
        "token_accessor       aCVNb6PDLKnKMsEWkz1MennY\n"
        "request_id           5ec54719-320b-78b2-9d8d-3ae2c0c0fb25\n"
        "created_time         2026-11-25T05:48:10.196129402Z\n"
        "creation_time        1795599874\n"
        "wrapping_token_creation_time:    2026-11-25 05:52:36.815275585 +0000 UTC\n"
        "Install Time        25 Nov 26 05:45 UTC\n"
        "Cluster Name    vault-cluster-0981f12c\n"
        "cubbyhole/    cubbyhole    cubbyhole_85eefd76    x\n"
        "userpass/     userpass     auth_userpass_1a2b3c4d    n/a\n"
        "id    auth/userpass/login/alice/h"
        "0b95684aa5e8d9d3b0e1a2f8c9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9\n"
        "Unseal Key 1: q30KTSCCKhGPmEFJCF3L0VFglFBK3kY2Sg7U1S+cNjck\n"
        'URL: GET http://127.0.0.1:41223/v1/secret/foo and "127.0.0.1:1"\n'
    )
    out = normalize(text)
    for placeholder in (
        "<TOKEN>",
        "<ID24>",
        "<UUID>",
        "<TIME>",
        "<EPOCH>",
        "<CLUSTER>",
        "cubbyhole_<ACC>",
        "auth_userpass_<ACC>",
        "alice/h<HEX>",
        "Unseal Key 1: <KEY>",
        "127.0.0.1:<PORT>/v1",
        '"127.0.0.1:1"',
    ):
        assert placeholder in out, (placeholder, out)
    assert out.count("<TOKEN>") == 2
    assert out.count("<TIME>") == 3


def test_program_names_and_version_lines() -> None:
    bao = (
        'run "bao login" again\n'
        "OpenBao v2.7.2 (9e0a0d3c3504a0a00b45e61355afac5e35c78379), "
        "committed 2026-10-26T20:32:27Z\n"
    )
    ours = 'run "strongroom login" again\nstrongroom v0.1.0\n'
    assert normalize(bao) == normalize(ours)
    # a server-side name inside a value is left alone
    assert "v2.7.2+builtin.bao" in normalize("running    v2.7.2+builtin.bao")


def test_alignment_is_ignored_but_cells_are_not() -> None:
    a = "Key      Value\n---      -----\ntoken    s.AAAAAAAAAAAAAAAAAAAAAAAA\n"
    b = "Key    Value\n---    -----\ntoken  s.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n"
    assert canonical(a) == canonical(b)
    assert canonical("a    b\n") != canonical("a b\n")
    assert canonical("a    b\n") != canonical("a    b    \n")  # trailing padding shows


def test_ticking_durations_tolerate_a_few_seconds() -> None:
    assert equivalent(canonical("ttl    59m58s\n"), canonical("ttl    1h\n"))
    assert equivalent(canonical('  "ttl": 3597,\n'), canonical('  "ttl": 3600,\n'))
    assert equivalent(canonical("ttl: 3599\n"), canonical("ttl: 3600\n"))
    assert not equivalent(canonical("ttl    59m\n"), canonical("ttl    1h\n"))
    assert not equivalent(canonical("ttl    1h\n"), canonical("ttl    1h1m\n"))
    assert not equivalent(canonical("ttl    1h\n"), canonical("ttl    n/a\n"))


def test_unordered_curl_headers_and_move_progress_line() -> None:
    a = 'curl -H "X-Vault-Request: true" -H "X-Vault-Token: $(bao print token)" "http://x"'
    b = 'curl -H "X-Vault-Token: $(bao print token)" -H "X-Vault-Request: true" "http://x"'
    assert normalize(a) == normalize(b)
    started = "Started moving a/ to b/\n"
    waiting = "Waiting for terminal status in migration of secrets engine a/ to b/\n"
    assert normalize(started + waiting + "Success!\n") == normalize(started + "Success!\n")


def test_context_literals() -> None:
    ctx = Context.of(tmp="/tmp/run1/tmp", unseal_key="abc+def=")
    assert normalize("open /tmp/run1/tmp/x.hcl: abc+def=", ctx) == "open <TMP>/x.hcl: <UNSEAL_KEY>"


def _run(cli: str, step, code: int, out: str, err: str = "") -> tuple[Result, Run]:
    result = Result(0, step, step.args, code, out, err)
    return result, Run(cli, "openbao", [result], Context({}))


def test_strict_steps_compare_bytes() -> None:
    step = S("read kv1/a", strict=True)
    a, ra = _run("bao", step, 0, "Key    Value\n---    -----\na      1\n")
    b, rb = _run("strongroom", step, 0, "Key  Value\n---  -----\na    1\n")
    mismatch = compare_step(a, ra, b, rb)
    assert mismatch is not None and "stdout differs" in mismatch.report
    loose = S("read kv1/a")
    a, ra = _run("bao", loose, 0, a.stdout)
    b, rb = _run("strongroom", loose, 0, b.stdout)
    assert compare_step(a, ra, b, rb) is None


def test_exit_codes_must_match() -> None:
    step = S("read kv1/missing")
    a, ra = _run("bao", step, 2, "", "No value found at kv1/missing\n")
    b, rb = _run("strongroom", step, 1, "", "No value found at kv1/missing\n")
    mismatch = compare_step(a, ra, b, rb)
    assert mismatch is not None and "exit code bao=2 strongroom=1" in mismatch.report


def test_placeholders_and_captures(tmp_path: Path) -> None:
    assert _fill("x={t1} {tmp}/f {nope}", {"t1": "s.abc", "tmp": str(tmp_path)}) == (
        f"x=s.abc {tmp_path}/f MISSING-nope"
    )
    assert _capture("json:auth.client_token", '{"auth": {"client_token": "s.x"}}') == "s.x"
    assert _capture("json:a.1", '{"a": ["x", "y"]}') == "y"
    assert _capture("json:a", "not json") is None
    assert _capture("stdout", "  s.tok \n") == "s.tok"
    assert _capture(r"re:Key 1: (\S+)", "Unseal Key 1: abc\n") == "abc"
