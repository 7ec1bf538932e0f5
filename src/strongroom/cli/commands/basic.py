"""`version`, `print token` and the `server` entry in the command table."""

from __future__ import annotations

from strongroom import __version__
from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.env import resolve_token


@command
class Version(Command):
    name = "version"
    synopsis = "Prints the strongroom CLI version"
    usage = "version"
    description = f"""
  Prints the version of this {PROG} CLI. This does not print the target server
  version.

  Print the version:

      $ {PROG} version

  There are no arguments or flags to this command. Any additional arguments or
  flags are ignored.
"""
    http = False
    output = None

    def execute(self, ctx: Context, argv: list[str]) -> int:
        # Arguments and flags are ignored, like the reference command.
        return self.run(ctx, argv)

    def run(self, ctx: Context, args: list[str]) -> int:
        ctx.ui.output(f"{PROG} v{__version__}")
        return 0


register_group(
    "print",
    "Prints runtime configurations",
    f"""Usage: {PROG} print <subcommand>

  This command groups subcommands for interacting with the CLI's runtime values.""",
)


@command
class PrintToken(Command):
    name = "print token"
    synopsis = "Prints the token currently in use"
    usage = "print token"
    description = f"""
  Prints the value of the token that will be used for commands, after taking
  into account the configured token helper and the environment.

      $ {PROG} print token
"""
    http = False
    output = None

    def execute(self, ctx: Context, argv: list[str]) -> int:
        # Like the reference command, extra arguments and flags are ignored.
        return self.run(ctx, argv)

    def run(self, ctx: Context, args: list[str]) -> int:
        ctx.ui.output(resolve_token(ctx.environ))
        return 0


@command
class Server(Command):
    name = "server"
    synopsis = "Start a strongroom server"
    usage = "server [options]"
    http = False
    output = None

    def execute(self, ctx: Context, argv: list[str]) -> int:
        from strongroom.cli import server

        return server.run(argv)
