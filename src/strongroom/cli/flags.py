"""Go `flag`-style parsing, as the vault/bao CLI does it (spec §7.2, §7.3).

`-name=value`, `-name value`, `--name=value`; booleans as `-name` or
`-name=false` (never `-name false`); `-` alone and the first positional
argument end the flags; `--` ends them and is dropped. Errors carry the
reference texts (`flag provided but not defined: -x`, `bad flag syntax: ---x`,
`invalid value "x" for flag -n: strconv.ParseInt: parsing "x": invalid syntax`).

Flags live in titled sections ("HTTP Options", "Output Options", "Command
Options") which `FlagSet.help()` renders like the reference help. The common
sections are added with `add_http_flags` / `add_output_flags`.

`prescan_global_flags` implements the reference CLI's scan of the whole argv
for `-format`, `-detailed`, `-output-curl-string` and `-output-policy`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.cli.env import getenv, parse_go_bool
from strongroom.cli.gotext import wrap_at_length

__all__ = [
    "Flag",
    "FlagError",
    "FlagSet",
    "GlobalFlags",
    "add_http_flags",
    "add_output_flags",
    "go_duration_ns",
    "prescan_global_flags",
    "trailing_flag_warning",
]

# Kinds: the Python types str/bool/int/list are accepted for compatibility;
# "duration" (nanoseconds, int) and "kv" (dict, repeatable key=value) are extra,
# and any other callable converts the raw text itself (raising FlagError).
DURATION = "duration"
KV = "kv"


class FlagError(ValueError):
    """A parse error; `remaining` holds the arguments Go's parser had not consumed."""

    def __init__(self, message: str, remaining: list[str] | None = None) -> None:
        super().__init__(message)
        self.remaining = remaining or []


@dataclass
class Flag:
    name: str
    kind: Any = str
    default: Any = None
    help: str = ""
    env: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    example: str = ""  # the `<...>` part of `-name=<...>` in help
    default_text: str = ""  # "The default is X." in help ("" = no sentence)
    env_text: str = ""  # the variable named in help (defaults to env[0])
    hidden: bool = False

    def usage(self) -> str:
        text = re.sub(r"\s+", " ", self.help).strip()
        if self.aliases:
            names = [f'"-{a}"' for a in self.aliases]
            if len(names) == 1:
                joined = names[0]
            elif len(names) == 2:
                joined = f"{names[0]} and {names[1]}"
            else:
                joined = ", ".join([*names[:-1], f"and {names[-1]}"])
            text += f" This is aliased as {joined}."
        if self.default_text:
            text += f" The default is {self.default_text}."
        env_name = self.env_text or (self.env[0] if self.env else "")
        if env_name:
            text += f" This can also be specified via the {env_name} environment variable."
        return text.strip()

    def placeholder(self) -> str:
        if self.kind is bool:
            return ""
        if self.example:
            return self.example
        return {
            str: "string",
            int: "int",
            list: "string",
            DURATION: "duration",
            KV: "key=value",
        }.get(self.kind, "string")


@dataclass
class _Section:
    title: str
    flags: list[Flag] = field(default_factory=list)


class FlagSet:
    """An ordered collection of flag sections; parse() returns (values, args)."""

    def __init__(self) -> None:
        self.sections: list[_Section] = []

    def section(self, title: str) -> FlagSet:
        """Start (or continue) a titled section; later add() calls go there."""
        for sec in self.sections:
            if sec.title == title:
                self.sections.remove(sec)
                self.sections.append(sec)
                return self
        self.sections.append(_Section(title))
        return self

    @property
    def flags(self) -> list[Flag]:
        return [f for sec in self.sections for f in sec.flags]

    def add(
        self,
        name: str,
        kind: Any = str,
        default: Any = None,
        help: str = "",
        env: tuple[str, ...] = (),
        *,
        aliases: tuple[str, ...] = (),
        example: str = "",
        default_text: str | None = None,
        env_text: str = "",
        hidden: bool = False,
    ) -> None:
        if not self.sections:
            self.sections.append(_Section("Command Options"))
        if default_text is None:
            default_text = "false" if kind is bool and not default else ""
        self.sections[-1].flags.append(
            Flag(name, kind, default, help, env, aliases, example, default_text, env_text, hidden)
        )

    def lookup(self) -> dict[str, Flag]:
        table: dict[str, Flag] = {}
        for flag in self.flags:
            table[flag.name] = flag
            for alias in flag.aliases:
                table[alias] = flag
        return table

    def defaults(self, environ: Mapping[str, str] | None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for flag in self.flags:
            if flag.kind is list:
                value: Any = list(flag.default or [])
            elif flag.kind == KV:
                value = dict(flag.default or {})
            else:
                value = flag.default
            if environ is not None:
                for var in flag.env:
                    if var in environ:
                        # Like the reference CLI, an unusable value is ignored here.
                        try:
                            value = _convert(flag, environ[var], value)
                        except FlagError:
                            pass
                        break
            values[flag.name] = value
        return values

    def parse(
        self, argv: list[str], environ: Mapping[str, str] | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        table = self.lookup()
        values = self.defaults(environ)
        i = 0
        while i < len(argv):
            arg = argv[i]
            if len(arg) < 2 or arg[0] != "-":
                return values, argv[i:]
            minuses = 2 if arg[1] == "-" else 1
            if arg == "--":
                return values, argv[i + 1 :]
            name = arg[minuses:]
            if not name or name[0] in "-=":
                raise FlagError(f"bad flag syntax: {arg}", argv[i:])
            name, eq, raw = name.partition("=")
            flag = table.get(name)
            i += 1
            if flag is None:
                raise FlagError(f"flag provided but not defined: -{name}", argv[i:])
            if flag.kind is bool:
                if eq:
                    try:
                        values[flag.name] = parse_go_bool(raw)
                    except ValueError as exc:
                        raise FlagError(
                            f'invalid boolean value "{raw}" for -{name}: {exc}', argv[i:]
                        ) from None
                else:
                    values[flag.name] = True
                continue
            if not eq:
                if i >= len(argv):
                    raise FlagError(f"flag needs an argument: -{name}")
                raw = argv[i]
                i += 1
            try:
                values[flag.name] = _convert(flag, raw, values[flag.name])
            except FlagError as exc:
                raise FlagError(
                    f'invalid value "{raw}" for flag -{name}: {exc}', argv[i:]
                ) from None
        return values, []

    def help(self) -> str:
        """The flag sections as the reference help prints them (no trailing newline)."""
        out = [f"{sec.title}:\n\n" + _render(sec.flags) for sec in self.sections]
        return "".join(out).rstrip("\n")

    def usage(self) -> str:
        """All flags without section titles (used by `strongroom server -h`)."""
        return _render(self.flags).rstrip("\n") + "\n"


def _render(flags: list[Flag]) -> str:
    out: list[str] = []
    for flag in sorted((f for f in flags if not f.hidden), key=lambda f: f.name):
        placeholder = flag.placeholder()
        out.append(f"  -{flag.name}=<{placeholder}>\n" if placeholder else f"  -{flag.name}\n")
        out.append(wrap_at_length(flag.usage(), 6) + "\n\n")
    return "".join(out)


def go_duration_ns(text: str) -> int:
    """A duration flag value in nanoseconds: seconds, `<n>d`, or Go syntax (`1.5s`)."""
    from decimal import Decimal

    from strongroom.durations import DurationError, parse_duration

    try:
        parse_duration(text)  # validates and gives Go's error text
    except DurationError as exc:
        raise FlagError(str(exc)) from None
    if text == "":
        return 0
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text) * 1_000_000_000
    if re.fullmatch(r"[+-]?\d+d", text):
        return int(text[:-1]) * 86_400 * 1_000_000_000
    sign = -1 if text.startswith("-") else 1
    units = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6, "s": 10**9}
    units.update({"m": 60 * 10**9, "h": 3600 * 10**9})
    total = Decimal(0)
    for number, unit in re.findall(r"([0-9]*\.?[0-9]*)([a-zA-Z\u00b5\u03bc]+)", text.lstrip("+-")):
        total += Decimal(number or "0") * units[unit]
    return sign * int(total)


def _convert(flag: Flag, raw: str, current: Any) -> Any:
    if flag.kind is bool:
        try:
            return parse_go_bool(raw)
        except ValueError as exc:
            raise FlagError(str(exc)) from None
    if flag.kind is int:
        if not re.fullmatch(r"[+-]?[0-9]+", raw) or not -(1 << 63) <= int(raw) < (1 << 63):
            reason = "value out of range" if re.fullmatch(r"[+-]?[0-9]+", raw) else "invalid syntax"
            raise FlagError(f'strconv.ParseInt: parsing "{raw}": {reason}')
        return int(raw)
    if flag.kind == DURATION:
        # The reference duration flags take "system" as -1 (seconds).
        return go_duration_ns("-1" if raw == "system" else raw)
    if flag.kind is list:
        return [*(current or []), raw]
    if flag.kind == KV:
        key, eq, value = raw.partition("=")
        if not eq:
            raise FlagError(f'missing = in KV pair: "{raw}"')
        return {**(current or {}), key: value}
    if callable(flag.kind) and flag.kind is not str:
        # A converter function (value -> parsed value); raises FlagError.
        return flag.kind(raw)
    return raw


# --------------------------------------------------------------------------- common sections


def _env(name: str) -> tuple[str, ...]:
    return (f"BAO_{name}", f"VAULT_{name}")


def add_http_flags(fs: FlagSet) -> None:
    """The "HTTP Options" every API command accepts."""
    fs.section("HTTP Options")
    fs.add(
        "address",
        str,
        "",
        "Address of the server. The default is https://127.0.0.1:8200.",
        env=_env("ADDR"),
        env_text="BAO_ADDR",
    )
    fs.add("agent-address", str, "", "Address of the Agent.", env=_env("AGENT_ADDR"))
    fs.add(
        "ca-cert",
        str,
        "",
        "Path on the local disk to a single PEM-encoded CA certificate to verify the "
        "server's SSL certificate. This takes precedence over -ca-path.",
        env=_env("CACERT"),
    )
    fs.add(
        "ca-path",
        str,
        "",
        "Path on the local disk to a directory of PEM-encoded CA certificates to verify "
        "the server's SSL certificate.",
        env=_env("CAPATH"),
    )
    fs.add(
        "client-cert",
        str,
        "",
        "Path on the local disk to a single PEM-encoded CA certificate to use for TLS "
        "authentication to the server. If this flag is specified, -client-key is also "
        "required.",
        env=_env("CLIENT_CERT"),
    )
    fs.add(
        "client-key",
        str,
        "",
        "Path on the local disk to a single PEM-encoded private key matching the client "
        "certificate from -client-cert.",
        env=_env("CLIENT_KEY"),
    )
    fs.add(
        "disable-redirects",
        bool,
        False,
        "Disable the default client behavior, which honors a single redirect response "
        "from a request.",
        env=_env("DISABLE_REDIRECTS"),
    )
    fs.add(
        "header",
        KV,
        None,
        "Key-value pair provided as key=value to provide http header added to any request "
        "done by the CLI. Trying to add headers starting with 'X-Vault-' is forbidden and "
        "will make the command fail. This can be specified multiple times.",
        example="key=value",
    )
    fs.add(
        "mfa",
        list,
        None,
        "Supply MFA credentials as part of X-Vault-MFA header.",
        env=_env("MFA"),
    )
    fs.add(
        "namespace",
        str,
        None,
        "The namespace to use for the command. Setting this is not necessary but allows "
        "using relative paths. -ns can be used as shortcut.",
        env=_env("NAMESPACE"),
        default_text="(not set)",
    )
    fs.add("ns", str, None, "", hidden=True)
    fs.add(
        "non-interactive",
        bool,
        False,
        "When set true, prevents asking the user for input via the terminal.",
    )
    fs.add(
        "output-curl-string",
        bool,
        False,
        "Instead of executing the request, print an equivalent cURL command string and exit.",
    )
    fs.add(
        "output-policy",
        bool,
        False,
        "Instead of executing the request, print an example HCL policy that would be "
        "required to run this command and exit.",
    )
    fs.add(
        "policy-override",
        bool,
        False,
        "Override a Sentinel policy that has a soft-mandatory enforcement_level specified.",
    )
    fs.add(
        "tls-server-name",
        str,
        "",
        "Name to use as the SNI host when connecting to the server via TLS.",
        env=_env("TLS_SERVER_NAME"),
    )
    fs.add(
        "tls-skip-verify",
        bool,
        False,
        "Disable verification of TLS certificates. Using this option is highly "
        "discouraged as it decreases the security of data transmissions to and from the "
        "server.",
        env=_env("SKIP_VERIFY"),
    )
    fs.add("unlock-key", str, "", "Key to unlock a namespace API lock.")
    fs.add(
        "wrap-ttl",
        DURATION,
        0,
        "Wraps the response in a cubbyhole token with the requested TTL. The response is "
        'available via the "unwrap" command. The TTL is specified as a numeric string '
        'with suffix like "30s" or "5m".',
        env=_env("WRAP_TTL"),
    )


def add_output_flags(fs: FlagSet, *, field: bool = True, detailed: bool = False) -> None:
    """The "Output Options": -field (optional), -format, -detailed (optional)."""
    fs.section("Output Options")
    if detailed:
        fs.add(
            "detailed",
            bool,
            False,
            "Enables additional metadata during some operations.",
            env=_env("DETAILED"),
        )
    if field:
        fs.add(
            "field",
            str,
            "",
            "Print only the field with the given name. Specifying this option will take "
            "precedence over other formatting directives. The result will not have a "
            "trailing newline making it ideal for piping to other processes.",
        )
    fs.add(
        "format",
        str,
        "table",
        'Print the output in the given format. Valid formats are "table", "json", "yaml", '
        'or "pretty". "raw" is allowed for \'read\' operations only.',
        env=_env("FORMAT"),
        default_text="table",
    )


# --------------------------------------------------------------------------- global pre-scan


@dataclass
class GlobalFlags:
    """What the reference CLI picks out of argv before running any command."""

    args: list[str]
    format: str = "table"
    detailed: bool = False
    output_curl_string: bool = False
    output_policy: bool = False


def _is_flag(arg: str, name: str) -> bool:
    return arg in (f"-{name}", f"--{name}")


def _flag_value(arg: str, name: str) -> str | None:
    for prefix in (f"-{name}=", f"--{name}="):
        if arg.startswith(prefix):
            return arg[len(prefix) :]
    return None


def prescan_global_flags(argv: list[str], environ: Mapping[str, str]) -> GlobalFlags:
    """Scan argv (up to `--`) for the global output flags; BAO_FORMAT/BAO_DETAILED fill in."""
    args = list(argv)
    result = GlobalFlags(args)
    fmt = ""
    have_detailed = False
    next_is_format = False
    for arg in argv:
        if next_is_format:
            next_is_format = False
            fmt = arg
            continue
        if arg == "--":
            break
        if len(argv) == 1 and arg in ("-v", "-version", "--version"):
            result.args = ["version"]
            break
        if _is_flag(arg, "output-curl-string"):
            result.output_curl_string = True
            continue
        if _is_flag(arg, "output-policy"):
            result.output_policy = True
            continue
        value = _flag_value(arg, "format")
        if value is not None:
            fmt = value
        if _is_flag(arg, "format"):
            next_is_format = True
        if _flag_value(arg, "detailed") is not None:
            # The reference CLI parses the flag's name instead of its value here,
            # so `-detailed=true` always ends up false.
            result.detailed = False
            have_detailed = True
        if _is_flag(arg, "detailed"):
            result.detailed = True
            have_detailed = True
    if not fmt:
        fmt = getenv("FORMAT", environ) or ""
    result.format = fmt.lower() or "table"
    if not have_detailed:
        env_detailed = getenv("DETAILED", environ)
        if env_detailed:
            try:
                result.detailed = parse_go_bool(env_detailed)
            except ValueError:
                result.detailed = False
    return result


GLOBAL_FLAG_NAMES = ("format", "detailed", "output-curl-string", "output-policy")


def trailing_flag_warning(args: list[str]) -> str:
    """The warning for flag-like arguments after the first positional one ("" if none)."""
    trailing = []
    for arg in args:
        if not arg.startswith("-") or arg == "-":
            continue
        name = arg.lstrip("-").partition("=")[0]
        if name in GLOBAL_FLAG_NAMES:
            continue
        trailing.append(arg)
    if not trailing:
        return ""
    return (
        "Command flags must be provided before positional arguments. The following "
        f"arguments will not be parsed as flags: [{','.join(trailing)}]"
    )
