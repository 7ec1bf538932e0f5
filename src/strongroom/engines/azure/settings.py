"""Where the engine reaches Azure: per-environment endpoints and the server-side overrides.

The Vault API has no endpoint fields; the operator (or a test) points the engine
elsewhere with environment variables of the strongroom server process, read
each time the engine builds its Azure clients (after a config write, or the
first use after start-up):

    STRONGROOM_AZURE_LOGIN_ENDPOINT   token authority, e.g. https://login.microsoftonline.com
    STRONGROOM_AZURE_GRAPH_ENDPOINT   Microsoft Graph base, e.g. https://graph.microsoft.com/v1.0
    STRONGROOM_AZURE_ARM_ENDPOINT     Azure Resource Manager base, e.g. https://management.azure.com
    STRONGROOM_AZURE_CA_BUNDLE        PEM file of CAs to trust for all three (default: system)
    STRONGROOM_AZURE_MAX_RETRIES      SDK retries of a failed call (default 3; 0 disables)
    STRONGROOM_AZURE_ROOT_ROTATION_DELAY
                                      seconds between rotate-root adding the new secret and
                                      switching to it / removing the old ones (default 60)

Unset, the endpoints are the real ones of the configured `environment`. The
token audiences (`<resource>/.default`) stay those of the environment whatever
the endpoints are: a proxy or a fake stands in for the real service.
The `AZURE_SUBSCRIPTION_ID`, `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
`AZURE_CLIENT_SECRET` and `AZURE_ENVIRONMENT` variables override the stored
config, as in Vault.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_LOGIN = "STRONGROOM_AZURE_LOGIN_ENDPOINT"
ENV_GRAPH = "STRONGROOM_AZURE_GRAPH_ENDPOINT"
ENV_ARM = "STRONGROOM_AZURE_ARM_ENDPOINT"
ENV_CA = "STRONGROOM_AZURE_CA_BUNDLE"
ENV_RETRIES = "STRONGROOM_AZURE_MAX_RETRIES"
ENV_ROTATION_DELAY = "STRONGROOM_AZURE_ROOT_ROTATION_DELAY"

DEFAULT_RETRIES = 3
DEFAULT_ROTATION_DELAY = 60.0


@dataclass(frozen=True)
class Cloud:
    name: str
    authority: str
    graph: str
    arm: str
    graph_audience: str
    arm_audience: str


CLOUDS = {
    "AZUREPUBLICCLOUD": Cloud(
        "AzurePublicCloud",
        "https://login.microsoftonline.com",
        "https://graph.microsoft.com/v1.0",
        "https://management.azure.com",
        "https://graph.microsoft.com",
        "https://management.azure.com",
    ),
    "AZUREUSGOVERNMENTCLOUD": Cloud(
        "AzureUSGovernmentCloud",
        "https://login.microsoftonline.us",
        "https://graph.microsoft.us/v1.0",
        "https://management.usgovcloudapi.net",
        "https://graph.microsoft.us",
        "https://management.usgovcloudapi.net",
    ),
    "AZURECHINACLOUD": Cloud(
        "AzureChinaCloud",
        "https://login.chinacloudapi.cn",
        "https://microsoftgraph.chinacloudapi.cn/v1.0",
        "https://management.chinacloudapi.cn",
        "https://microsoftgraph.chinacloudapi.cn",
        "https://management.chinacloudapi.cn",
    ),
}


class UnknownEnvironment(ValueError):
    pass


def cloud_for(environment: str) -> Cloud:
    """The cloud of a config's `environment` ("" is the public cloud), case-insensitive."""
    key = (environment or "AzurePublicCloud").upper()
    found = CLOUDS.get(key)
    if found is None:
        raise UnknownEnvironment(f'no cloud configuration matching the name "{key}"')
    return found


@dataclass(frozen=True)
class Endpoints:
    cloud: Cloud
    authority: str
    graph: str
    arm: str
    ca_bundle: str  # "" = the system's trust store
    custom_authority: bool  # instance discovery only knows Microsoft's hosts
    max_retries: int

    @property
    def graph_scope(self) -> str:
        return self.cloud.graph_audience + "/.default"

    @property
    def arm_scope(self) -> str:
        return self.cloud.arm_audience + "/.default"


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def endpoints(environment: str) -> Endpoints:
    cloud = cloud_for(environment)
    login = _env(ENV_LOGIN).rstrip("/")
    retries_raw = _env(ENV_RETRIES)
    try:
        retries = max(0, int(retries_raw)) if retries_raw else DEFAULT_RETRIES
    except ValueError:
        retries = DEFAULT_RETRIES
    return Endpoints(
        cloud=cloud,
        authority=login or cloud.authority,
        graph=(_env(ENV_GRAPH) or cloud.graph).rstrip("/"),
        arm=(_env(ENV_ARM) or cloud.arm).rstrip("/"),
        ca_bundle=_env(ENV_CA),
        custom_authority=bool(login) and login != cloud.authority,
        max_retries=retries,
    )


def rotation_delay() -> float:
    raw = _env(ENV_ROTATION_DELAY)
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_ROTATION_DELAY
    except ValueError:
        return DEFAULT_ROTATION_DELAY
