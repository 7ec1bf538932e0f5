"""`python -m tests.fakes.alicloud --port 9000`: the fake on its own, until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .models import DEFAULT_ACCOUNT_ID, DEFAULT_ROOT_KEY, DEFAULT_ROOT_SECRET, Account
from .server import FakeAliCloud


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.alicloud",
        description="A local fake of Alibaba Cloud RAM and STS.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument("--access-key", default=DEFAULT_ROOT_KEY, help="the root AccessKeyId")
    parser.add_argument("--secret-key", default=DEFAULT_ROOT_SECRET, help="its secret")
    args = parser.parse_args(argv)
    account = Account(args.account_id, args.access_key, args.secret_key)
    fake = FakeAliCloud(args.host, args.port, account).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"alicloud fake (RAM + STS) listening on {fake.url}", flush=True)
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
