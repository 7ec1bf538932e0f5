"""`python -m tests.fakes.gcp --port N`: run the fake Google Cloud on its own."""

from __future__ import annotations

import argparse
import signal
import sys

from .server import FakeGcpServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.gcp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    args = parser.parse_args(argv)
    server = FakeGcpServer(args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"fake GCP listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
