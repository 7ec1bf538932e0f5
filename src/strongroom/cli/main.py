"""The `strongroom` command."""

from __future__ import annotations

import sys

from strongroom import __version__

USAGE = """Usage: strongroom <command> [args]

Common commands:
    server     Start a strongroom server
    version    Print the strongroom version
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "-help", "--help", "help"):
        print(USAGE, file=sys.stderr)
        return 127 if not args else 0
    command, rest = args[0], args[1:]
    if command in ("version", "-version", "-v", "--version"):
        print(f"strongroom v{__version__}")
        return 0
    if command == "server":
        from strongroom.cli import server

        return server.run(rest)
    print(USAGE, file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main())
