"""Go flag parsing, the common flag sections and the global pre-scan (spec §7.2, §7.3)."""

from __future__ import annotations

import pytest

from strongroom.cli.flags import (
    FlagError,
    FlagSet,
    add_http_flags,
    add_output_flags,
    prescan_global_flags,
    trailing_flag_warning,
)


def command_flags() -> FlagSet:
    fs = FlagSet()
    add_http_flags(fs)
    add_output_flags(fs)
    fs.section("Command Options")
    fs.add("force", bool, False, "Allow no data.", aliases=("f",))
    fs.add("limit", int, -1, "Limit.")
    return fs


def test_parse_styles() -> None:
    opts, args = command_flags().parse(
        ["-format", "json", "--field=a", "-f", "-tls-skip-verify=false", "-header=A=b=c", "p", "-x"]
    )
    assert opts["format"] == "json"
    assert opts["field"] == "a"
    assert opts["force"] is True
    assert opts["tls-skip-verify"] is False
    assert opts["header"] == {"A": "b=c"}
    assert args == ["p", "-x"]


def test_double_dash_and_lone_dash() -> None:
    assert command_flags().parse(["--", "-h"])[1] == ["-h"]
    assert command_flags().parse(["-", "x"])[1] == ["-", "x"]


def test_wrap_ttl_duration() -> None:
    assert command_flags().parse(["-wrap-ttl=1.5s"])[0]["wrap-ttl"] == 1_500_000_000
    assert command_flags().parse(["-wrap-ttl=1d"])[0]["wrap-ttl"] == 86_400_000_000_000


@pytest.mark.parametrize(
    ("argv", "message", "remaining"),
    [
        (["-nonsense", "p"], "flag provided but not defined: -nonsense", ["p"]),
        (["---x", "p"], "bad flag syntax: ---x", ["---x", "p"]),
        (["-=x"], "bad flag syntax: -=x", ["-=x"]),
        (["-format"], "flag needs an argument: -format", []),
        (
            ["-tls-skip-verify=maybe"],
            'invalid boolean value "maybe" for -tls-skip-verify: '
            'strconv.ParseBool: parsing "maybe": invalid syntax',
            [],
        ),
        (
            ["-limit=0x10"],
            'invalid value "0x10" for flag -limit: '
            'strconv.ParseInt: parsing "0x10": invalid syntax',
            [],
        ),
        (
            ["-wrap-ttl=abc"],
            'invalid value "abc" for flag -wrap-ttl: time: invalid duration "abc"',
            [],
        ),
        (
            ["-header=novalue"],
            'invalid value "novalue" for flag -header: missing = in KV pair: "novalue"',
            [],
        ),
    ],
)
def test_errors(argv: list[str], message: str, remaining: list[str]) -> None:
    with pytest.raises(FlagError) as info:
        command_flags().parse(argv)
    assert str(info.value) == message
    assert info.value.remaining == remaining


def test_env_defaults() -> None:
    env = {"VAULT_ADDR": "http://vault", "BAO_FORMAT": "yaml", "BAO_SKIP_VERIFY": "junk"}
    opts, _ = command_flags().parse([], env)
    assert opts["address"] == "http://vault"
    assert opts["format"] == "yaml"
    assert opts["tls-skip-verify"] is False  # unusable values are ignored here


def test_help_layout() -> None:
    fs = FlagSet()
    add_output_flags(fs, field=False, detailed=True)
    assert fs.help() == (
        "Output Options:\n"
        "\n"
        "  -detailed\n"
        "      Enables additional metadata during some operations. The default is\n"
        "      false. This can also be specified via the BAO_DETAILED environment\n"
        "      variable.\n"
        "\n"
        "  -format=<string>\n"
        '      Print the output in the given format. Valid formats are "table", "json",\n'
        '      "yaml", or "pretty". "raw" is allowed for \'read\' operations only.\n'
        "      The default is table. This can also be specified via the BAO_FORMAT\n"
        "      environment variable."
    )


def test_prescan() -> None:
    g = prescan_global_flags(["read", "-format=JSON", "kv/t", "--format", "yaml"], {})
    assert g.format == "yaml"
    g = prescan_global_flags(["read", "kv/t", "-output-curl-string", "-detailed"], {})
    assert (g.output_curl_string, g.detailed, g.format) == (True, True, "table")
    # the reference parses the flag name instead of the value: -detailed=true is false
    assert (
        prescan_global_flags(["list", "-detailed=true", "x"], {"BAO_DETAILED": "1"}).detailed
        is False
    )
    assert prescan_global_flags(["list", "x"], {"BAO_DETAILED": "1"}).detailed is True
    assert prescan_global_flags(["read", "--", "-format=json"], {}).format == "table"
    assert prescan_global_flags(["read"], {"VAULT_FORMAT": "Json"}).format == "json"
    assert prescan_global_flags(["-v"], {}).args == ["version"]


def test_trailing_flag_warning() -> None:
    assert trailing_flag_warning(["kv/t", "-format=json", "-detailed", "-", "a=1"]) == ""
    assert trailing_flag_warning(["kv/t", "-x=1", "--", "-z"]) == (
        "Command flags must be provided before positional arguments. The following "
        "arguments will not be parsed as flags: [-x=1,--,-z]"
    )
