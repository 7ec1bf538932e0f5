"""The `strongroom` command: argument pre-processing, dispatch and top-level help.

Dispatch follows the reference CLI (spec §7.2, §7.4):

1. `-format`, `-detailed`, `-output-curl-string`, `-output-policy` are picked
   out of the whole argv; an unknown format fails at once (exit 1).
2. `-h`/`-help`/`--help` anywhere before `--` prints help (stdout, exit 0);
   flags before the subcommand are a usage error (exit 1); an unknown command
   prints the top-level help on stderr (exit 127).
3. The command runs; in curl/policy mode its stderr is held back and replaced
   by the curl command or policy when a request was captured.

No traceback ever reaches the user: an unexpected exception prints
`Error: <message>` (exit 1); set STRONGROOM_DEBUG=1 to see the traceback.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from typing import IO

from strongroom.cli.base import PROG, UI, Context, find_command, registry
from strongroom.cli.flags import prescan_global_flags

__all__ = ["main", "run"]

VALID_FORMATS = ("table", "json", "yaml", "yml", "pretty", "raw")
# Listed first, in this order, in the top-level help.
COMMON_COMMANDS = (
    "read",
    "write",
    "delete",
    "list",
    "login",
    "agent",
    "server",
    "status",
    "unwrap",
)


def _load(word: str) -> None:
    """Import the module that registers the commands starting with `word`."""
    import importlib

    from strongroom.cli.commands import MODULES

    module = MODULES.get(word)
    if module is not None:
        importlib.import_module(module)


def _load_all() -> None:
    import importlib

    from strongroom.cli.commands import MODULES

    for module in dict.fromkeys(MODULES.values()):
        importlib.import_module(module)


def top_level_help() -> str:
    """`Usage: strongroom <command> [args]` with the command lists."""
    _load_all()
    top = {name: cls for name, cls in registry.items() if " " not in name}
    common = [n for n in COMMON_COMMANDS if n in top]
    other = sorted(n for n in top if n not in common)

    def block(names: list[str]) -> str:
        if not names:
            return ""
        width = max(len(n) for n in names) + 6
        return "\n".join(f"    {n.ljust(width)}{top[n].synopsis}".rstrip() for n in names)

    text = f"Usage: {PROG} <command> [args]\n\nCommon commands:\n{block(common)}\n"
    if other:
        text += f"\nOther commands:\n{block(other)}"
    return text.strip()


def run(
    argv: list[str],
    ui: UI,
    environ: Mapping[str, str],
    stdin: IO[bytes],
) -> int:
    """Run one command line; returns the exit code."""
    if argv[:1] == ["server"]:
        # The server has its own flag handling (and heavy imports): hand over at once.
        from strongroom.cli import server

        return server.run(argv[1:])
    g = prescan_global_flags(argv, environ)
    if g.format not in VALID_FORMATS:
        ui.error(f"Invalid output format: {g.format}")
        return 1
    from strongroom.cli.env import getenv

    # Colors like the reference: terminal stdout, table format, not disabled.
    ui.color = (
        ui.stdout_is_tty
        and g.format == "table"
        and not getenv("CLI_NO_COLOR", environ)
        and environ.get("TERM") != "dumb"
    )
    capture = g.output_curl_string or g.output_policy
    cmd_ui = UI(ui.stdout, io.BytesIO(), ui.stdout_is_tty, ui.color) if capture else ui
    ctx = Context(ui=cmd_ui, environ=environ, stdin=stdin, globals=g)
    code = _dispatch(g.args, ctx, ui)
    if not capture:
        return code
    return _finish_capture(code, ctx, ui, curl=g.output_curl_string)


def _dispatch(args: list[str], ctx: Context, term: UI) -> int:
    is_help = False
    top_flags: list[str] = []
    sub_index: int | None = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("-h", "-help", "--help"):
            is_help = True
            continue
        if sub_index is None:
            if arg in ("-v", "-version", "--version"):
                continue
            if arg.startswith("-"):
                top_flags.append(arg)
            elif arg:
                sub_index = i
    if sub_index is None:
        if is_help:
            term.plain(top_level_help())
            return 0
        term.error_plain(top_level_help())
        return 127
    words = args[sub_index:]
    _load(words[0])
    found = find_command(words)
    if found is None:
        term.error_plain(top_level_help())
        return 127
    name, used = found
    cmd = registry[name]()
    sub_args = args[sub_index + used :]
    if name == "server":
        return cmd.execute(ctx, sub_args)
    if is_help:
        term.plain(cmd.help())
        return 0
    if top_flags:
        term.error_plain(
            "Invalid flags before the subcommand. If these flags are for\n"
            "the subcommand, please put them after the subcommand.\n\n" + cmd.help()
        )
        return 1
    return cmd.execute(ctx, sub_args)


def _finish_capture(code: int, ctx: Context, term: UI, *, curl: bool) -> int:
    """Replace a captured request's failure by its curl command / policy."""
    held = ctx.ui.stderr.getvalue() if isinstance(ctx.ui.stderr, io.BytesIO) else b""
    if code == 0:
        term.error_raw("Could not generate cURL command" if curl else "Could not generate policy")
        return 1
    client = next((c for c in ctx.clients if c.last_output_request is not None), None)
    if client is None or client.last_output_request is None:
        if code == 127:
            return code
        term.stderr.write(held)
        term.error_plain(
            "Unable to generate cURL string from command"
            if curl
            else "Unable to generate policy from command"
        )
        return code
    request = client.last_output_request
    term.plain(client.curl_string(request) if curl else client.policy_string(request))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ui = UI.system()
    try:
        return run(args, ui, os.environ, sys.stdin.buffer)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into something that stopped reading (`| head`): not an error.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the exit-time flush
        except OSError:
            pass
        return 1
    except Exception as exc:
        if os.environ.get("STRONGROOM_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        message = str(exc) or type(exc).__name__
        try:
            ui.error(f"Error: {message}")
        except Exception:
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
