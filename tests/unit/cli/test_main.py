"""Dispatch: help, usage errors, exit codes, output-mode capture, no tracebacks."""

from __future__ import annotations

import pytest

from strongroom import __version__
from strongroom.cli import main as cli_main
from strongroom.cli.base import Command, command, registry
from tests.unit.cli.helpers import fake_api, run_cli

ENV = {"BAO_ADDR": "http://127.0.0.1:1", "BAO_TOKEN": "t"}


def test_top_level_help() -> None:
    for args in ([], ["help"], ["nonsense"]):
        result = run_cli(*args, env=ENV)
        assert result.code == 127
        assert result.stdout == ""
        assert result.stderr.startswith("Usage: strongroom <command> [args]\n\nCommon commands:\n")
    result = run_cli("-h", env=ENV)
    assert (result.code, result.stderr) == (0, "")
    assert "    read        Read data and retrieves secrets\n" in result.stdout
    assert "\nOther commands:\n" in result.stdout


def test_command_help_goes_to_stdout() -> None:
    for args in (["read", "-h"], ["read", "kv/t", "--help"], ["read", "-help"]):
        result = run_cli(*args, env=ENV)
        assert result.code == 0
        assert result.stdout.startswith("Usage: strongroom read [options] PATH\n\n")
        assert "\nHTTP Options:\n\n  -address=<string>\n" in result.stdout
        assert "\nOutput Options:\n\n  -field=<string>\n" in result.stdout


def test_group_without_subcommand() -> None:
    for args in (["operator"], ["operator", "nope"]):
        result = run_cli(*args, env=ENV)
        assert result.code == 1
        assert result.stderr.startswith("Usage: strongroom operator <subcommand> [options] [args]")
        assert (
            "\nSubcommands:\n    generate-root    Generates a new root token\n"
            "    init             Initializes a server\n"
        ) in result.stderr
    assert run_cli("operator", "-h", env=ENV).code == 0


def test_flags_before_subcommand() -> None:
    result = run_cli("-format=json", "read", "kv/t", env=ENV)
    assert result.code == 1
    assert result.stderr.startswith(
        "Invalid flags before the subcommand. If these flags are for\n"
        "the subcommand, please put them after the subcommand.\n\n"
        "Usage: strongroom read [options] PATH\n"
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["read"], {}, "Not enough arguments (expected 1, got 0)\n"),
        (["status", "extra"], {}, "Too many arguments (expected 0, got 1)\n"),
        (["unwrap", "a", "b"], {}, "Too many arguments (expected 0-1, got 2)\n"),
        (["read", "-nonsense", "kv/t"], {}, "flag provided but not defined: -nonsense\n"),
        (["status", "-format=xml"], {}, "Invalid output format: xml\n"),
        (["version"], {"BAO_FORMAT": "xml"}, "Invalid output format: xml\n"),
        (["status", "-format=raw"], {}, "This command does not support the -format=raw option.\n"),
        (["write", "kv/t"], {}, "Must supply data or use -force\n"),
        (["operator", "seal", "-format=json"], {}, "flag provided but not defined: -format\n"),
    ],
)
def test_usage_errors(args: list[str], env: dict[str, str], message: str) -> None:
    result = run_cli(*args, env={**ENV, **env})
    assert (result.stdout, result.stderr, result.code) == ("", message, 1)


def test_version_and_print_token(tmp_path) -> None:
    for args in (["version"], ["-v"], ["-version"], ["--version"], ["version", "-x", "y"]):
        assert run_cli(*args, env=ENV).stdout == f"strongroom v{__version__}\n"
    helper_env = {"HOME": str(tmp_path), "BAO_TOKEN": "", "VAULT_TOKEN": "ignored"}
    (tmp_path / ".vault-token").write_text("s.fromhelper")
    assert run_cli("print", "token", env=helper_env).stdout == "s.fromhelper\n"
    assert run_cli("print", "token", env={"VAULT_TOKEN": "v"}).stdout == "v\n"


def test_field_has_no_newline_unless_tty() -> None:
    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b'{"data":{"x":"value"},"lease_duration":60}'

    with fake_api(handle) as server:
        env = {"BAO_ADDR": server.url, "BAO_TOKEN": "t"}
        assert run_cli("read", "-field=x", "kv/t", env=env).stdout == "value"
        tty = run_cli("read", "-field=x", "kv/t", env=env, tty=True)
        assert tty.stdout == "\x1b[0mvalue\x1b[0m\n"  # a newline (and colors) on a terminal
        assert run_cli("read", "-field=refresh_interval", "kv/t", env=env).stdout == "60"


def test_trailing_flags_warning() -> None:
    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b'{"data":{"a":"1"}}'

    with fake_api(handle) as server:
        result = run_cli("read", "kv/t", "-x=1", env={"BAO_ADDR": server.url})
    assert result.stderr == (
        "Command flags must be provided before positional arguments. The following "
        "arguments will not be parsed as flags: [-x=1]\n"
    )
    assert server.requests[0][1] == "/v1/kv/t?-x=1"


def test_output_curl_string_capture() -> None:
    result = run_cli("read", "-output-curl-string", "kv/t", env=ENV)
    assert result.code == 0
    assert result.stdout == (
        'curl -H "X-Vault-Request: true" -H "X-Vault-Token: $(bao print token)" '
        '"http://127.0.0.1:1/v1/kv/t"\n'
    )
    failed = run_cli("read", "-output-curl-string", env=ENV)
    assert failed.code == 1
    assert failed.stderr == (
        "Not enough arguments (expected 1, got 0)\nUnable to generate cURL string from command\n"
    )
    none = run_cli("version", "-output-policy", env=ENV)
    assert (none.stdout, none.stderr, none.code) == (
        f"strongroom v{__version__}\n",
        "Could not generate policy",
        1,
    )
    policy = run_cli("write", "-output-policy", "sys/policy/x", "policy=a", env=ENV)
    assert policy.stdout == 'path "sys/policy/x" {\n  capabilities = ["create", "update"]\n}\n'


def test_unexpected_exception_is_one_line(monkeypatch, capsys) -> None:
    @command
    class Boom(Command):
        name = "test-boom"
        http = False
        output = None

        def run(self, ctx, args):  # type: ignore[no-untyped-def]
            raise RuntimeError("kaboom")

    monkeypatch.setattr(cli_main, "_load", lambda word: None)
    monkeypatch.delenv("STRONGROOM_DEBUG", raising=False)
    try:
        code = cli_main.main(["test-boom"])
    finally:
        registry.pop("test-boom", None)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == "Error: kaboom\n"
    assert "Traceback" not in captured.err


def test_colors_on_a_terminal() -> None:
    # Bytes observed from `bao` with stdout on a pseudo-terminal.
    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/v1/kv/nope"):
            return 404, {}, b'{"errors":[]}'
        return 200, {}, b'{"data":{"a":"1"},"warnings":["careful"]}'

    with fake_api(handle) as server:
        env = {"BAO_ADDR": server.url, "BAO_TOKEN": "t"}
        missing = run_cli("read", "kv/nope", env=env, tty=True)
        assert missing.stderr == "\x1b[91mNo value found at kv/nope\x1b[0m\n"
        field = run_cli("read", "-field=a", "kv/t", env=env, tty=True)
        assert field.stdout == "\x1b[0m1\x1b[0m\n"
        assert field.stderr == (
            "\x1b[93mWARNING! The following warnings were returned from OpenBao:\n\x1b[0m\n"
            "\x1b[93m  * careful\x1b[0m\n"
            "\x1b[93m\x1b[0m\n"
        )
        plain = run_cli("read", "kv/nope", env={**env, "BAO_CLI_NO_COLOR": "1"}, tty=True)
        assert plain.stderr == "No value found at kv/nope\n"
        as_json = run_cli("read", "-format=json", "kv/nope", env=env, tty=True)
        assert as_json.stderr == "No value found at kv/nope\n"
        assert run_cli("read", "-h", env=env, tty=True).stdout.startswith("Usage: strongroom read")
