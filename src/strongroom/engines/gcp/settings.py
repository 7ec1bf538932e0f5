"""Server settings of the gcp engine: where Google is, read from the environment.

These are deliberately *not* Vault API fields (a Vault client cannot move the
engine's traffic somewhere else); an operator sets them where the server runs.

    STRONGROOM_GCP_ENDPOINT           one base URL for every service, laid out as
                                      <base>/<service>/ (e.g. <base>/iam/v1/...) and
                                      <base>/oauth2/token: what tests/fakes/gcp serves
    STRONGROOM_GCP_IAM_ENDPOINT       https://iam.googleapis.com/
    STRONGROOM_GCP_IAMCREDENTIALS_ENDPOINT  https://iamcredentials.googleapis.com/
    STRONGROOM_GCP_CRM_ENDPOINT       https://cloudresourcemanager.googleapis.com/
    STRONGROOM_GCP_STORAGE_ENDPOINT   https://storage.googleapis.com/
    STRONGROOM_GCP_PUBSUB_ENDPOINT    https://pubsub.googleapis.com/
    STRONGROOM_GCP_SECRETMANAGER_ENDPOINT  https://secretmanager.googleapis.com/
    STRONGROOM_GCP_TOKEN_URI          OAuth token endpoint for every key file (default:
                                      the key file's own `token_uri`, or
                                      <STRONGROOM_GCP_ENDPOINT>/oauth2/token)
    STRONGROOM_GCP_CA_BUNDLE          CA certificates (PEM file) to verify Google's TLS
    STRONGROOM_GCP_RETRY_TIMEOUT      seconds to wait out IAM's eventual consistency (80)
    STRONGROOM_GCP_RETRY_BASE         first back-off step of those retries, seconds (1)
    STRONGROOM_GCP_WORKERS            threads for Google calls per mount (16)
    STRONGROOM_GCP_TIMEOUT            read timeout of one Google call, seconds (60)

A per-service variable wins over STRONGROOM_GCP_ENDPOINT. Values are read when a
mount starts (server start, unseal, `secrets enable`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "STRONGROOM_GCP_"
SERVICES = ("iam", "iamcredentials", "cloudresourcemanager", "storage", "pubsub", "secretmanager")
_ALIASES = {"cloudresourcemanager": ("CRM", "CLOUDRESOURCEMANAGER")}


def _google(service: str) -> str:
    return f"https://{service}.googleapis.com/"


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(PREFIX + name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name} must be a number of seconds, not {raw!r}") from None
    return max(0.0, value)


@dataclass(frozen=True)
class Settings:
    endpoints: dict[str, str] = field(default_factory=dict)
    token_uri: str = ""
    ca_bundle: str = ""
    retry_timeout: float = 80.0
    retry_base: float = 1.0
    workers: int = 16
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def base(self, service: str) -> str:
        return self.endpoints.get(service) or _google(service)

    def url(self, service: str, path: str) -> str:
        return self.base(service) + path.lstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        common = env.get(PREFIX + "ENDPOINT", "").strip().rstrip("/")
        endpoints: dict[str, str] = {}
        for service in SERVICES:
            names = _ALIASES.get(service, (service.upper(),))
            value = next(
                (env[PREFIX + n + "_ENDPOINT"] for n in names if env.get(PREFIX + n + "_ENDPOINT")),
                "",
            )
            if not value and common:
                value = f"{common}/{service}"
            if value:
                endpoints[service] = value.rstrip("/") + "/"
        token_uri = env.get(PREFIX + "TOKEN_URI", "").strip()
        if not token_uri and common:
            token_uri = f"{common}/oauth2/token"
        return cls(
            endpoints=endpoints,
            token_uri=token_uri,
            ca_bundle=env.get(PREFIX + "CA_BUNDLE", "").strip(),
            retry_timeout=_float(env, "RETRY_TIMEOUT", 80.0),
            retry_base=_float(env, "RETRY_BASE", 1.0) or 1.0,
            workers=max(1, int(_float(env, "WORKERS", 16))),
            read_timeout=_float(env, "TIMEOUT", 60.0) or 60.0,
        )
