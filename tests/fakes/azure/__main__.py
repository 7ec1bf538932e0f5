"""`python -m tests.fakes.azure --port N [--cert-dir DIR] [--http]`: run the fake on its own.

Prints one line with its URL, the CA file to trust and the seeded identities,
then serves until interrupted. The tenant, subscription and the root
application's client ID and secret can be chosen with flags.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from pathlib import Path

from .models import ROOT_APP_ID, ROOT_SECRET, SUBSCRIPTION_ID, TENANT_ID, AzureModel
from .server import FakeAzure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.azure", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument(
        "--cert-dir",
        type=Path,
        default=None,
        help="where the throw-away CA and certificate go (default: a temp dir)",
    )
    parser.add_argument("--http", action="store_true", help="plain HTTP (azure-identity refuses)")
    parser.add_argument("--tenant", default=TENANT_ID)
    parser.add_argument("--subscription", default=SUBSCRIPTION_ID)
    parser.add_argument("--root-client-id", default=ROOT_APP_ID)
    parser.add_argument("--root-secret", default=ROOT_SECRET)
    args = parser.parse_args(argv)
    cert_dir = args.cert_dir
    if cert_dir is None and not args.http:
        cert_dir = Path(tempfile.mkdtemp(prefix="fake-azure-"))
    model = AzureModel(args.tenant, args.subscription, args.root_client_id, args.root_secret)
    fake = FakeAzure(args.host, args.port, cert_dir, tls=not args.http, model=model).start()
    print(
        json.dumps(
            {
                "url": fake.url,
                "ca": fake.ca,
                "tenant_id": model.tenant_id,
                "subscription_id": model.subscription_id,
                "client_id": model.root_app_id,
            }
        ),
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
