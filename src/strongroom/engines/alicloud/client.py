"""The official Alibaba Cloud SDK behind a small async facade, in a bounded thread pool.

The SDKs (`alibabacloud_ram20150501`, `alibabacloud_sts20150401`, on the tea
OpenAPI core) are synchronous here: `Api.call()` hands each call to the
mount's `ThreadPoolExecutor` (shut down in `cleanup()`), so a slow or
unreachable cloud only ties up pool threads, never the event loop.

    ram = await clients.ram(credentials)
    body = await ram.call("CreateUser", UserName="root-ram-1700000000-42")

Actions and parameters use the API's own names; each call builds the SDK's
`<Action>Request` model and returns the response body as a dict. The SDK
retries nothing (no retry options are set): issuing fails fast, and failed
revocations are retried by the lease manager with backoff.

The SDK is imported on first use, in a pool thread: servers without an
alicloud mount never load it, and its import never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from .errors import AliCloudError
from .settings import Endpoint, Settings, SettingsError

log = logging.getLogger("strongroom.alicloud")

DEFAULT_WORKERS = 16


@functools.cache
def sdk() -> SimpleNamespace:
    """The SDK modules this file uses, imported once."""
    from alibabacloud_ram20150501 import models as ram_models
    from alibabacloud_ram20150501.client import Client as RamClient
    from alibabacloud_sts20150401 import models as sts_models
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_tea_openapi.utils_models import Config
    from darabonba.exceptions import DaraException, UnretryableException
    from darabonba.runtime import RuntimeOptions

    if (os.environ.get("DEBUG") or "").lower() == "sdk":
        log.warning(
            "alicloud: DEBUG=sdk makes the Alibaba Cloud SDK print whole requests and "
            "responses, new secret keys included"
        )
    return SimpleNamespace(
        Config=Config,
        RuntimeOptions=RuntimeOptions,
        services={"ram": (RamClient, ram_models), "sts": (StsClient, sts_models)},
        DaraException=DaraException,
        UnretryableException=UnretryableException,
    )


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key={self.access_key!r})"


def snake(action: str) -> str:
    """ "AttachPolicyToUser" -> "attach_policy_to_user" (the SDK's method names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", action).lower()


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _transport_text(err: BaseException) -> str:
    """Why no answer came back, without the request URL (it carries the signature)."""
    text = str(getattr(err, "inner_exception", None) or err)
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip().lower()
    lowered = text.lower()
    if "timed out" in lowered:
        return "timed out"
    if "remotedisconnected" in lowered or "connection aborted" in lowered:
        return "the connection was closed without an answer"
    if "connection reset" in lowered:
        return "connection reset by peer"
    return re.sub(r"with url: \S+", "", text).strip()[:200] or type(err).__name__


def to_error(action: str, endpoint: Endpoint, err: BaseException) -> AliCloudError:
    """An SDK exception as an AliCloudError (no request values, so no secrets)."""
    code = getattr(err, "code", None)
    status = getattr(err, "status_code", None) or getattr(err, "statusCode", None)
    if isinstance(err, sdk().DaraException) and status:
        data = getattr(err, "data", None) or {}
        message = data.get("Message") if isinstance(data, dict) else None
        if code in (None, "None"):
            code = ""
        return AliCloudError(action, code, message or str(getattr(err, "message", "")), status)
    if isinstance(err, sdk().UnretryableException | OSError):
        return AliCloudError(
            action,
            "",
            f"could not reach {endpoint.url}: {_transport_text(err)}",
            transport=True,
        )
    # Validation in the SDK (a missing required parameter) or a body that is not JSON.
    text = " ".join(str(err).split())[:300] or type(err).__name__
    return AliCloudError(action, "", text, transport=isinstance(err, ValueError))


class Api:
    """One SDK client (RAM or STS); `await call("GetUser", UserName=...)`."""

    def __init__(
        self,
        service: str,
        client: Any,
        models: Any,
        endpoint: Endpoint,
        executor: ThreadPoolExecutor,
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        self._client = client
        self._models = models
        self._executor = executor

    async def call(self, action: str, **params: Any) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(self._call, action, params)
        )

    def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self._client, f"{snake(action)}_with_options")
        runtime = sdk().RuntimeOptions()
        try:
            if len(inspect.signature(method).parameters) == 1:  # no request model
                response = method(runtime)
            else:
                request = getattr(self._models, f"{action}Request")().from_map(params)
                response = method(request, runtime)
        except Exception as err:
            raise to_error(action, self.endpoint, err) from None
        body = getattr(response, "body", None)
        return body.to_map() if body is not None else {}


class AliCloudClients:
    """The mount's SDK clients (built per root credentials) and the pool they run in."""

    def __init__(
        self,
        settings: Settings,
        workers: int = DEFAULT_WORKERS,
        name: str = "alicloud",
        settings_error: str = "",
    ) -> None:
        self.settings = settings
        # Unusable STRONGROOM_ALICLOUD_* variables: no client is ever built (the
        # defaults would reach the real cloud, not what the operator meant).
        self.settings_error = settings_error
        self.workers = workers
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._cache: dict[str, tuple[Credentials, Api]] = {}
        self._lock = asyncio.Lock()

    def reset(self) -> None:
        """The root credentials changed: build new clients on the next call."""
        self._cache.clear()

    def shutdown(self) -> None:
        self.reset()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def ram(self, creds: Credentials) -> Api:
        return await self._get("ram", creds)

    async def sts(self, creds: Credentials) -> Api:
        return await self._get("sts", creds)

    async def _get(self, service: str, creds: Credentials) -> Api:
        if self.settings_error:
            raise SettingsError(self.settings_error)
        cached = self._cache.get(service)
        if cached is not None and cached[0] == creds:
            return cached[1]
        async with self._lock:
            cached = self._cache.get(service)
            if cached is not None and cached[0] == creds:
                return cached[1]
            loop = asyncio.get_running_loop()
            api = await loop.run_in_executor(
                self.executor, functools.partial(self._build, service, creds)
            )
            self._cache[service] = (creds, api)
            return api

    def _build(self, service: str, creds: Credentials) -> Api:
        """Runs in the pool: the first call imports the SDK."""
        s = self.settings
        endpoint = s.ram if service == "ram" else s.sts
        client_class, models = sdk().services[service]
        config = sdk().Config(
            access_key_id=creds.access_key,
            access_key_secret=creds.secret_key,
            endpoint=endpoint.host,
            protocol=endpoint.protocol,
            region_id=s.region,
            signature_algorithm="v2" if s.signature == "v1" else None,
            connect_timeout=int(s.connect_timeout * 1000),
            read_timeout=int(s.read_timeout * 1000),
            max_idle_conns=self.workers,
            user_agent="strongroom",
        )
        try:
            client = client_class(config)
        except Exception as err:
            raise to_error("NewClient", endpoint, err) from None
        return Api(service, client, models, endpoint, self.executor)
