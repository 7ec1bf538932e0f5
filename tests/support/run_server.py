"""`python -m tests.support.run_server [server] <server flags>`: a real server with `counting`.

The same `strongroom server` the CLI runs, plus the test engine, so the real
`bao` CLI can be pointed at dynamic secrets.
"""

from __future__ import annotations

import sys

from strongroom.cli.server import run
from tests.support.counting_engine import register


def main(argv: list[str]) -> int:
    if argv[:1] == ["server"]:
        argv = argv[1:]
    return run(argv, register=register)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
