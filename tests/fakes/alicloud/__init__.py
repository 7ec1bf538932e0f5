"""A local fake of Alibaba Cloud RAM and STS, in the style of moto.

* models.py     the account's state and every rule RAM/STS enforce (names,
                quotas, conflicts, permissions, trust, request signatures)
* responses.py  the wire: both request styles in, JSON bodies out
* server.py     the HTTP server, its fault injection and its /_fake/ control plane
* control.py    a client for the control plane, and official-SDK clients for the API

Run it on its own with `python -m tests.fakes.alicloud --port 9000`; the
official SDKs reach it through `Config(endpoint="127.0.0.1:9000", protocol="http")`.
"""

from .models import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_ROOT_KEY,
    DEFAULT_ROOT_SECRET,
    Account,
    AliCloudError,
)
from .server import FakeAliCloud, Fault

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_ROOT_KEY",
    "DEFAULT_ROOT_SECRET",
    "Account",
    "AliCloudError",
    "FakeAliCloud",
    "Fault",
]
