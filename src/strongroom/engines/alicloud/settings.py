"""Server settings of the engine: where RAM and STS are, read from the environment.

Endpoints are settings of the strongroom server, not Vault API fields (a role
or config write can never point the engine at another host). Defaults are
Alibaba Cloud's public endpoints over HTTPS.

    STRONGROOM_ALICLOUD_RAM_ENDPOINT     host[:port] or http(s)://host[:port]
                                         (default ram.aliyuncs.com)
    STRONGROOM_ALICLOUD_STS_ENDPOINT     the same for STS (default sts.aliyuncs.com)
    STRONGROOM_ALICLOUD_PROTOCOL         https (default) or http, for endpoints given
                                         without a scheme
    STRONGROOM_ALICLOUD_REGION           region of the SDK clients (default us-east-1)
    STRONGROOM_ALICLOUD_SIGNATURE        v1 (default): classic RPC, HMAC-SHA1, the wire
                                         format of Vault's plugin; v3: ACS3-HMAC-SHA256
    STRONGROOM_ALICLOUD_CONNECT_TIMEOUT  seconds (default 5)
    STRONGROOM_ALICLOUD_READ_TIMEOUT     seconds (default 30)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "STRONGROOM_ALICLOUD_"
DEFAULT_RAM = "ram.aliyuncs.com"
DEFAULT_STS = "sts.aliyuncs.com"

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


class SettingsError(ValueError):
    """An environment variable the engine cannot use; the text names it."""


@dataclass(frozen=True)
class Endpoint:
    host: str  # host[:port], as the SDK's Config.endpoint wants it
    protocol: str  # "http" | "https"

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.host}"


@dataclass(frozen=True)
class Settings:
    ram: Endpoint = Endpoint(DEFAULT_RAM, "https")
    sts: Endpoint = Endpoint(DEFAULT_STS, "https")
    region: str = "us-east-1"
    signature: str = "v1"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str) -> str:
            return env.get(PREFIX + name, "").strip() or default

        protocol = get("PROTOCOL", "https").lower()
        if protocol not in ("http", "https"):
            raise SettingsError(f"{PREFIX}PROTOCOL must be http or https, not {protocol!r}")
        signature = get("SIGNATURE", "v1").lower()
        if signature not in ("v1", "v3"):
            raise SettingsError(f"{PREFIX}SIGNATURE must be v1 or v3, not {signature!r}")
        return cls(
            ram=_endpoint(PREFIX + "RAM_ENDPOINT", get("RAM_ENDPOINT", DEFAULT_RAM), protocol),
            sts=_endpoint(PREFIX + "STS_ENDPOINT", get("STS_ENDPOINT", DEFAULT_STS), protocol),
            region=get("REGION", "us-east-1"),
            signature=signature,
            connect_timeout=_seconds(PREFIX + "CONNECT_TIMEOUT", get("CONNECT_TIMEOUT", "5")),
            read_timeout=_seconds(PREFIX + "READ_TIMEOUT", get("READ_TIMEOUT", "30")),
        )


def _endpoint(name: str, value: str, protocol: str) -> Endpoint:
    host = value
    if "://" in value:
        scheme, _, host = value.partition("://")
        protocol = scheme.lower()
        if protocol not in ("http", "https"):
            raise SettingsError(f"{name}: the scheme must be http or https, not {scheme!r}")
    host = host.rstrip("/")
    if not _HOST.match(host):
        raise SettingsError(f"{name}: expected host[:port] or http(s)://host[:port], got {value!r}")
    return Endpoint(host, protocol)


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {value!r}") from None
    if seconds <= 0:
        raise SettingsError(f"{name} must be positive")
    return seconds
