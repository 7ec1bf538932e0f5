"""The command framework: UI streams, the per-run context, commands and their registry.

A command module defines subclasses of `Command` and registers them with the
`@command` decorator::

    from strongroom.cli.base import Command, Context, command

    @command
    class Read(Command):
        name = "read"                      # nested: "kv metadata get"
        synopsis = "Read data and retrieves secrets"
        usage = "read [options] PATH"      # after "Usage: strongroom "
        description = '''
      Reads data from the server at the given path.
    '''
        output = "field"                   # None | "format" | "field" | "list"
        allow_raw = True                   # accepts -format=raw

        def add_flags(self, fs):           # the "Command Options" section
            fs.add("force", bool, False, "Allow no data.", aliases=("f",))

        def run(self, ctx: Context, args: list[str]) -> int:
            if (code := ctx.expect_args(args, 1)) is not None:
                return code
            ...

and the module is listed in `strongroom.cli.commands.MODULES` under its
top-level word. Groups (`operator`, `kv metadata`) are registered with
`register_group(name, synopsis, help_text)`; running a group without a
subcommand prints its help and exits 1.

Conventions inside `run` (they mirror the reference CLI):

* `ctx.client()` raises `ClientSetupError`: print `str(exc)`, return 2
  (`status` returns 1);
* API calls raise `ClientError` subclasses (`ApiError`, `TransportError`,
  `OutputStringError`) and `SecretDecodeError`: print
  `f"Error <verb> {path}: {exc}"`, return 2; an `ApiError.secret` (404 with
  warnings) is then shown with `ctx.output_secret`;
* usage problems print one line on stderr and return 1;
* results go through `ctx.output_secret`, `ctx.output_data`,
  `ctx.output_secret_or_field`, `ctx.print_field` or the `output` module,
  which honour the global format (`ctx.format`), `-field` and colors;
* `ctx.ui.output/error/warn` print lines; `ctx.ui.raw` prints as is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, ClassVar

from strongroom.cli import output as out
from strongroom.cli.client import Client, ClientSetupError
from strongroom.cli.env import EnvError, Settings
from strongroom.cli.flags import (
    FlagError,
    FlagSet,
    GlobalFlags,
    add_http_flags,
    add_output_flags,
    trailing_flag_warning,
)
from strongroom.cli.secret import Secret

__all__ = [
    "PROG",
    "UI",
    "Command",
    "Context",
    "Group",
    "command",
    "find_command",
    "register_group",
    "registry",
]

PROG = "strongroom"


class UI:
    """stdout/stderr as bytes (undecodable argv bytes round-trip via surrogateescape).

    With `color` (stdout is a terminal, table format, BAO_CLI_NO_COLOR unset)
    messages are wrapped in ANSI codes like the reference CLI does: output in
    a reset code, errors red, warnings yellow. `plain` never colors (help text).
    """

    _RESET = "\x1b[0m"

    def __init__(
        self,
        stdout: BinaryIO,
        stderr: BinaryIO,
        stdout_is_tty: bool = False,
        color: bool = False,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.stdout_is_tty = stdout_is_tty
        self.color = color

    @classmethod
    def system(cls) -> UI:
        try:
            tty = os.isatty(sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            tty = False
        return cls(sys.stdout.buffer, sys.stderr.buffer, tty)

    @staticmethod
    def _bytes(text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}{self._RESET}" if self.color else text

    def output(self, text: str) -> None:
        self.stdout.write(self._bytes(self._paint(text, "0") + "\n"))
        self.stdout.flush()

    def plain(self, text: str) -> None:
        self.stdout.write(self._bytes(text + "\n"))
        self.stdout.flush()

    def raw(self, text: str) -> None:
        self.stdout.write(self._bytes(text))
        self.stdout.flush()

    def error(self, text: str) -> None:
        self.stderr.write(self._bytes(self._paint(text, "91") + "\n"))
        self.stderr.flush()

    def warn(self, text: str) -> None:
        self.stderr.write(self._bytes(self._paint(text, "93") + "\n"))
        self.stderr.flush()

    def error_plain(self, text: str) -> None:
        self.stderr.write(self._bytes(text + "\n"))
        self.stderr.flush()

    def error_raw(self, text: str) -> None:
        self.stderr.write(self._bytes(text))
        self.stderr.flush()


@dataclass
class Context:
    """Everything a command run needs: streams, environment, global flags, parsed flags."""

    ui: UI
    environ: Mapping[str, str]
    stdin: IO[bytes]
    globals: GlobalFlags
    opts: dict[str, Any] = field(default_factory=dict)
    _client: Client | None = None
    clients: list[Client] = field(default_factory=list)

    @property
    def format(self) -> str:
        return self.globals.format

    @property
    def detailed(self) -> bool:
        return self.globals.detailed

    @property
    def field(self) -> str:
        return self.opts.get("field") or ""

    # -- the API client

    def settings(self) -> Settings:
        """Environment settings overridden by the HTTP flags; raises ClientSetupError."""
        try:
            s = Settings.from_env(self.environ)
        except EnvError as exc:
            raise ClientSetupError(f"failed to read environment: {exc}") from None
        o = self.opts
        if o.get("address"):
            s.address = o["address"]
        if o.get("agent-address"):
            s.agent_address = o["agent-address"]
        for key, attr in (
            ("ca-cert", "ca_cert"),
            ("ca-path", "ca_path"),
            ("client-cert", "client_cert"),
            ("client-key", "client_key"),
            ("tls-server-name", "tls_server_name"),
        ):
            if key in o:
                setattr(s, attr, o[key] or "")
        if "tls-skip-verify" in o:
            s.tls_skip_verify = bool(o["tls-skip-verify"])
        if "disable-redirects" in o:
            s.disable_redirects = bool(o["disable-redirects"])
        namespace = o.get("ns") if o.get("ns") is not None else o.get("namespace")
        if namespace is not None:
            s.namespace = namespace
        if o.get("header"):
            s.headers = list(o["header"].items())
        if o.get("mfa"):
            s.mfa = list(o["mfa"])
        if o.get("policy-override"):
            s.policy_override = True
        if o.get("wrap-ttl"):
            from strongroom.durations import go_duration

            s.wrap_ttl = go_duration(o["wrap-ttl"] / 1_000_000_000)
        s.output_curl_string = self.globals.output_curl_string
        s.output_policy = self.globals.output_policy
        return s

    def env_tls(self) -> Any:
        from strongroom.cli.env import getenv, parse_go_bool
        from strongroom.cli.tls import TLSOptions

        def get(name: str) -> str:
            return getenv(name, self.environ) or ""

        skip = get("SKIP_VERIFY")
        return TLSOptions(
            get("CACERT"),
            get("CAPATH"),
            get("CLIENT_CERT"),
            get("CLIENT_KEY"),
            get("TLS_SERVER_NAME"),
            bool(skip) and parse_go_bool(skip),
        )

    def client(self) -> Client:
        """The API client (built once); raises ClientSetupError with the reference text."""
        if self._client is None:
            settings = self.settings()
            self._client = Client.from_settings(settings, self.env_tls())
            self.clients.append(self._client)
        return self._client

    # -- helpers for command bodies

    def expect_args(self, args: list[str], count: int) -> int | None:
        """Exit code 1 with the reference message unless exactly `count` arguments."""
        if len(args) < count:
            self.ui.error(f"Not enough arguments (expected {count}, got {len(args)})")
            return 1
        if len(args) > count:
            self.ui.error(f"Too many arguments (expected {count}, got {len(args)})")
            return 1
        return None

    def output_secret(self, secret: Secret | None) -> int:
        return out.output_secret(self.ui, self.format, secret)

    def output_data(self, data: Any) -> int:
        return out.output_data(self.ui, self.format, data)

    def print_field(self, data: Secret | dict[str, Any], name: str) -> int:
        return out.print_raw_field(self.ui, self.format, data, name)

    def output_secret_or_field(self, secret: Secret) -> int:
        """`-field` when given, the whole secret otherwise (warnings first in table format)."""
        if self.field:
            # Warnings come with the value, but not with the missing-field error.
            if self.format == "table" and out.raw_field(secret, self.field) is not None:
                out.print_warnings(self.ui, secret)
            return self.print_field(secret, self.field)
        return self.output_secret(secret)


class Command:
    """Base class of every CLI command (see the module docstring for an example)."""

    name: ClassVar[str] = ""
    synopsis: ClassVar[str] = ""
    usage: ClassVar[str] = ""
    description: ClassVar[str] = ""
    http: ClassVar[bool] = True
    # None: no output flags; "format": -format; "field": -field and -format;
    # "list": -detailed and -format.
    output: ClassVar[str | None] = "field"
    allow_raw: ClassVar[bool] = False

    def add_flags(self, fs: FlagSet) -> None:
        """Add the command's own flags (their section is "Command Options")."""

    def run(self, ctx: Context, args: list[str]) -> int:
        raise NotImplementedError

    def flag_set(self) -> FlagSet:
        fs = FlagSet()
        if self.http:
            add_http_flags(fs)
        if self.output == "field":
            add_output_flags(fs, field=True)
        elif self.output == "format":
            add_output_flags(fs, field=False)
        elif self.output == "list":
            add_output_flags(fs, field=False, detailed=True)
        before = len(fs.sections)
        fs.section("Command Options")
        self.add_flags(fs)
        # Drop the default section when add_flags put its flags elsewhere.
        fs.sections = [
            sec
            for i, sec in enumerate(fs.sections)
            if sec.flags or i < before or sec.title != "Command Options"
        ]
        return fs

    def help(self) -> str:
        text = f"Usage: {PROG} {self.usage or self.name}\n"
        description = self.description.strip("\n")
        if description:
            text += "\n" + description.replace("{prog}", PROG) + "\n"
        flags = self.flag_set().help()
        if flags:
            text += "\n" + flags
        return text.rstrip("\n")

    def execute(self, ctx: Context, argv: list[str]) -> int:
        """Parse flags, apply the common checks, then run()."""
        fs = self.flag_set()
        try:
            ctx.opts, args = fs.parse(argv, ctx.environ)
        except FlagError as exc:
            self._warn_trailing(ctx, exc.remaining)
            ctx.ui.error(str(exc))
            return 1
        self._warn_trailing(ctx, args)
        if self.output is not None and ctx.format == "raw" and not self.allow_raw:
            ctx.ui.error("This command does not support the -format=raw option.")
            return 1
        return self.run(ctx, args)

    @staticmethod
    def _warn_trailing(ctx: Context, args: list[str]) -> None:
        warning = trailing_flag_warning(args)
        if warning and ctx.format == "table":
            ctx.ui.warn(warning)


class Group(Command):
    """A command group such as `operator`: prints its help (exit 1) when run."""

    http = False
    output = None
    help_text: str = ""

    def help(self) -> str:
        text = self.help_text.strip("\n").replace("{prog}", PROG)
        subs = sorted(
            (name[len(self.name) + 1 :], cls)
            for name, cls in registry.items()
            if name.startswith(self.name + " ") and " " not in name[len(self.name) + 1 :]
        )
        if subs:
            width = max(len(n) for n, _ in subs)
            text += "\n\nSubcommands:\n" + "\n".join(
                f"    {n.ljust(width)}    {c.synopsis}" for n, c in subs
            )
        return text

    def execute(self, ctx: Context, argv: list[str]) -> int:
        ctx.ui.error_plain(self.help())
        return 1


registry: dict[str, type[Command]] = {}


def command(cls: type[Command]) -> type[Command]:
    """Class decorator: register a command under its `name`."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    registry[cls.name] = cls
    return cls


def register_group(name: str, synopsis: str, help_text: str) -> None:
    """Register a command group (a name whose subcommands are registered separately)."""
    cls = type(
        "Group_" + name.replace(" ", "_").replace("-", "_"),
        (Group,),
        {"name": name, "synopsis": synopsis, "help_text": help_text},
    )
    registry[name] = cls


def find_command(words: list[str]) -> tuple[str, int] | None:
    """The longest registered command name that prefixes `words`: (name, words used)."""
    for used in range(len(words), 0, -1):
        name = " ".join(words[:used])
        if name in registry:
            return name, used
    return None
