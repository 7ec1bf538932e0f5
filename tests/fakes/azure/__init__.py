"""A local fake of Azure: Entra ID tokens, Microsoft Graph and ARM role assignments.

State and rules live in `models.py`, the wire format in `responses.py`, the
listener (TLS, faults, control API) in `server.py`. Start it in-process with
`FakeAzure(cert_dir=...).start()` or on its own with
`python -m tests.fakes.azure --port N --cert-dir DIR`.
"""

from .models import (
    CONTRIBUTOR,
    OWNER,
    READER,
    ROOT_APP_ID,
    ROOT_SECRET,
    SUBSCRIPTION_ID,
    TENANT_ID,
    AzureModel,
)
from .server import FakeAzure

__all__ = [
    "CONTRIBUTOR",
    "OWNER",
    "READER",
    "ROOT_APP_ID",
    "ROOT_SECRET",
    "SUBSCRIPTION_ID",
    "TENANT_ID",
    "AzureModel",
    "FakeAzure",
]
