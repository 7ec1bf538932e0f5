"""The Azure SDK behind a small async facade; every call runs in the mount's thread pool.

Tokens come from azure-identity's `ClientSecretCredential` (the client-credentials
grant through MSAL). Microsoft Graph and ARM are called as plain REST through
azure-core's pipeline (`PipelineClient` with the bearer-token, retry and
user-agent policies): about fifteen calls do not justify the msgraph SDK
(hundreds of megabytes). The SDK is synchronous; `Api.call()` hands each call
to a `ThreadPoolExecutor` owned by the backend (shut down in `cleanup()`), so a
slow or unreachable Azure ties up pool threads, never the event loop.

Clients are built from the stored config plus the server's endpoint settings
(settings.py), cached until the config changes. The SDK is imported on first
use, in a pool thread: servers without an azure mount never pay for it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from strongroom.core.errors import BadRequest

from .errors import AzureError, internal_error
from .settings import Endpoints, UnknownEnvironment, endpoints
from .store import Config, Store

log = logging.getLogger("strongroom.azure")

# The SDK's own loggers: at DEBUG, MSAL and urllib3 would log token responses.
for _name in ("azure", "msal", "urllib3"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)
# azure-identity warns "get_token failed" with the same text we return to the caller.
logging.getLogger("azure.identity").setLevel(logging.ERROR)

DEFAULT_WORKERS = 16
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
ARM_API_VERSION = "2022-04-01"
# Graph wants the directory object reference in this form, whatever the cloud.
DIRECTORY_OBJECT_REF = "https://graph.microsoft.com/v1.0/directoryObjects/"


@functools.cache
def sdk() -> SimpleNamespace:
    from azure.core import PipelineClient
    from azure.core.exceptions import (
        AzureError as SdkError,
    )
    from azure.core.exceptions import (
        ClientAuthenticationError,
        ServiceRequestError,
        ServiceResponseError,
    )
    from azure.core.pipeline.policies import (
        BearerTokenCredentialPolicy,
        HeadersPolicy,
        RetryPolicy,
        UserAgentPolicy,
    )
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest
    from azure.identity import ClientSecretCredential

    return SimpleNamespace(
        PipelineClient=PipelineClient,
        BearerTokenCredentialPolicy=BearerTokenCredentialPolicy,
        HeadersPolicy=HeadersPolicy,
        RetryPolicy=RetryPolicy,
        UserAgentPolicy=UserAgentPolicy,
        RequestsTransport=RequestsTransport,
        HttpRequest=HttpRequest,
        ClientSecretCredential=ClientSecretCredential,
        ClientAuthenticationError=ClientAuthenticationError,
        ServiceRequestError=ServiceRequestError,
        ServiceResponseError=ServiceResponseError,
        SdkError=SdkError,
    )


_AADSTS = re.compile(r"AADSTS\d+:[^\r\n]*?(?= Trace ID:|\r|\n|$)")


def _sdk_error(operation: str, err: Exception) -> AzureError:
    """An SDK exception as an AzureError (the token service's refusal keeps its AADSTS text)."""
    s = sdk()
    text = " ".join(str(getattr(err, "message", None) or err).split())
    if isinstance(err, s.ClientAuthenticationError):
        found = _AADSTS.search(text)
        if found:
            return AzureError(
                operation,
                401,
                "",
                f"authentication to Azure failed: {found.group(0).strip()}",
                auth_failed=True,
            )
        text = text.removeprefix("Authentication failed: ")
        return AzureError(operation, 0, "", f"cannot reach the Azure token service: {text}")
    if isinstance(err, s.ServiceRequestError | s.ServiceResponseError):
        return AzureError(operation, 0, "", f"cannot reach Azure: {text}")
    return AzureError(operation, 0, "", text)


def _error_from_response(operation: str, status: int, body: Any) -> AzureError:
    code, message = "", ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = str(error.get("code") or "")
            message = str(error.get("message") or "")
        elif isinstance(error, str):
            code = error
            message = str(body.get("error_description") or body.get("message") or "")
    if not message:
        message = f"HTTP {status}"
    return AzureError(operation, status, code, message)


class Api:
    """One REST API (Graph or ARM): `await api.call("GET", "/groups/<id>")`."""

    def __init__(
        self,
        name: str,
        base: str,
        client: Any,
        executor: ThreadPoolExecutor,
        api_version: str = "",
    ) -> None:
        self.name = name
        self.base = base
        self._client = client
        self._executor = executor
        self._api_version = api_version
        self._insecure = base.startswith("http://")

    def _send(
        self, method: str, path: str, body: Any, params: dict[str, str] | None
    ) -> tuple[int, Any]:
        s = sdk()
        query = dict(params or {})
        if self._api_version:
            query.setdefault("api-version", self._api_version)
        request = s.HttpRequest(
            method, self.base + path, params=query or None, json=body if body is not None else None
        )
        extra: dict[str, Any] = {"enforce_https": False} if self._insecure else {}
        response = self._client.send_request(
            request, connection_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, **extra
        )
        response.read()
        content = response.content
        try:
            parsed = response.json() if content else None
        except ValueError:
            parsed = None
        return response.status_code, parsed

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """The parsed JSON answer (None when empty); AzureError for anything but 2xx."""
        operation = f"{method} {self.name}{path}"
        loop = asyncio.get_running_loop()
        try:
            status, parsed = await loop.run_in_executor(
                self._executor, functools.partial(self._send, method, path, body, params)
            )
        except sdk().SdkError as err:
            raise _sdk_error(operation, err) from None
        if status >= 400:
            raise _error_from_response(operation, status, parsed)
        return parsed

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # closing is best effort
            pass


@dataclass(frozen=True)
class Settings:
    """The effective configuration: stored config, then the AZURE_* environment overrides."""

    subscription_id: str
    tenant_id: str
    client_id: str
    client_secret: str
    environment: str

    @classmethod
    def of(cls, config: Config | None) -> Settings:
        config = config or Config()
        env = os.environ
        return cls(
            env.get("AZURE_SUBSCRIPTION_ID") or config.subscription_id,
            env.get("AZURE_TENANT_ID") or config.tenant_id,
            env.get("AZURE_CLIENT_ID") or config.client_id,
            env.get("AZURE_CLIENT_SECRET") or config.client_secret,
            env.get("AZURE_ENVIRONMENT") or config.environment,
        )


class Azure:
    """Graph and ARM for one configuration, with the calls the engine makes."""

    def __init__(
        self, settings: Settings, where: Endpoints, graph: Api, arm: Api, credential: Any
    ) -> None:
        self.settings = settings
        self.endpoints = where
        self.graph = graph
        self.arm = arm
        self._credential = credential

    @property
    def subscription_id(self) -> str:
        return self.settings.subscription_id

    def close(self) -> None:
        self.graph.close()
        self.arm.close()
        try:
            self._credential.close()
        except Exception:
            pass

    # ------------------------------------------------------------ applications
    async def create_application(
        self, display_name: str, tags: list[str] | None, sign_in_audience: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"displayName": display_name}
        if tags:
            body["tags"] = tags
        if sign_in_audience:
            body["signInAudience"] = sign_in_audience
        return await self.graph.call("POST", "/applications", body)

    async def get_application(self, object_id: str) -> dict[str, Any]:
        return await self.graph.call("GET", f"/applications/{_seg(object_id)}")

    async def find_applications(self, prop: str, value: str) -> list[dict[str, Any]]:
        found = await self.graph.call(
            "GET", "/applications", params={"$filter": f"{prop} eq '{_odata(value)}'"}
        )
        return list((found or {}).get("value") or [])

    async def delete_application(self, object_id: str) -> None:
        await self.graph.call("DELETE", f"/applications/{_seg(object_id)}")

    async def purge_deleted(self, object_id: str) -> None:
        await self.graph.call("DELETE", f"/directory/deletedItems/{_seg(object_id)}")

    async def add_app_password(self, object_id: str, display_name: str, end: str) -> dict[str, Any]:
        body = {"passwordCredential": {"displayName": display_name, "endDateTime": end}}
        return await self.graph.call("POST", f"/applications/{_seg(object_id)}/addPassword", body)

    async def remove_app_password(self, object_id: str, key_id: str) -> None:
        await self.graph.call(
            "POST", f"/applications/{_seg(object_id)}/removePassword", {"keyId": key_id}
        )

    # ------------------------------------------------------------ service principals
    async def create_service_principal(self, app_id: str) -> dict[str, Any]:
        return await self.graph.call("POST", "/servicePrincipals", {"appId": app_id})

    async def add_sp_password(self, sp_id: str, start: str, end: str) -> dict[str, Any]:
        body = {"passwordCredential": {"startDateTime": start, "endDateTime": end}}
        return await self.graph.call("POST", f"/servicePrincipals/{_seg(sp_id)}/addPassword", body)

    async def delete_service_principal(self, sp_id: str) -> None:
        await self.graph.call("DELETE", f"/servicePrincipals/{_seg(sp_id)}")

    # ------------------------------------------------------------ groups
    async def get_group(self, object_id: str) -> dict[str, Any]:
        return await self.graph.call("GET", f"/groups/{_seg(object_id)}")

    async def find_groups(self, display_name: str) -> list[dict[str, Any]]:
        found = await self.graph.call(
            "GET", "/groups", params={"$filter": f"displayName eq '{_odata(display_name)}'"}
        )
        return list((found or {}).get("value") or [])

    async def add_group_member(self, group_id: str, member_id: str) -> None:
        body = {"@odata.id": DIRECTORY_OBJECT_REF + member_id}
        await self.graph.call("POST", f"/groups/{_seg(group_id)}/members/$ref", body)

    async def remove_group_member(self, group_id: str, member_id: str) -> None:
        await self.graph.call("DELETE", f"/groups/{_seg(group_id)}/members/{_seg(member_id)}/$ref")

    # ------------------------------------------------------------ RBAC
    async def get_role_definition(self, role_id: str) -> dict[str, Any]:
        return await self.arm.call("GET", _arm_path(role_id))

    async def find_role_definitions(self, role_name: str) -> list[dict[str, Any]]:
        path = (
            f"/subscriptions/{_seg(self.subscription_id)}/providers/Microsoft.Authorization/"
            "roleDefinitions"
        )
        found = await self.arm.call(
            "GET", path, params={"$filter": f"roleName eq '{_odata(role_name)}'"}
        )
        return list((found or {}).get("value") or [])

    async def create_role_assignment(
        self, scope: str, name: str, role_id: str, principal_id: str
    ) -> dict[str, Any]:
        path = _arm_path(scope) + f"/providers/Microsoft.Authorization/roleAssignments/{name}"
        body = {
            "properties": {
                "roleDefinitionId": role_id,
                "principalId": principal_id,
                "principalType": "ServicePrincipal",
            }
        }
        return await self.arm.call("PUT", path, body)

    async def delete_role_assignment(self, assignment_id: str) -> None:
        await self.arm.call("DELETE", _arm_path(assignment_id))


def _seg(value: str) -> str:
    """One URL path segment (IDs come from storage or the user)."""
    return quote(value, safe="")


def _odata(value: str) -> str:
    return value.replace("'", "''")


def _arm_path(resource_id: str) -> str:
    """An ARM resource ID as a URL path: one leading slash, no doubled ones."""
    parts = [quote(p, safe="-._~@:!$&'()*+,;=") for p in resource_id.split("/") if p]
    return "/" + "/".join(parts)


def _build(settings: Settings, where: Endpoints, executor: ThreadPoolExecutor) -> Azure:
    """Credential and pipelines (runs in the pool: the SDK imports and reads files)."""
    s = sdk()
    verify: Any = where.ca_bundle or True
    retry = {
        "retry_total": where.max_retries,
        "retry_connect": where.max_retries,
        "retry_read": where.max_retries,
        "retry_status": where.max_retries,
        "retry_backoff_factor": 0.5,
        "retry_backoff_max": 8,
    }
    credential = s.ClientSecretCredential(
        settings.tenant_id,
        settings.client_id,
        settings.client_secret,
        authority=where.authority,
        disable_instance_discovery=where.custom_authority,
        connection_verify=verify,
        **retry,
    )

    def api(name: str, base: str, scope: str, version: str = "") -> Api:
        policies = [
            s.HeadersPolicy(),
            s.UserAgentPolicy(sdk_moniker="strongroom-azure"),
            s.RetryPolicy(**retry),
            s.BearerTokenCredentialPolicy(credential, scope),
        ]
        transport = s.RequestsTransport(connection_verify=verify)
        client = s.PipelineClient(base, policies=policies, transport=transport)
        return Api(name, base, client, executor, version)

    graph = api(where.graph, where.graph, where.graph_scope)
    arm = api(where.arm, where.arm, where.arm_scope, ARM_API_VERSION)
    return Azure(settings, where, graph, arm, credential)


class AzureClients:
    """The mount's Azure client (rebuilt after config changes) and its thread pool."""

    def __init__(self, store: Store, workers: int = DEFAULT_WORKERS, name: str = "azure") -> None:
        self._store = store
        self.workers = workers
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._client: Azure | None = None
        self._generation = 0
        self._lock = asyncio.Lock()

    def reset(self) -> None:
        """The config changed: the next call builds a new client.

        The old one is not closed here: requests still running may be using it
        (its connections go when it is garbage collected).
        """
        self._generation += 1
        self._client = None

    def shutdown(self) -> None:
        client, self._client = self._client, None
        self._generation += 1
        if client is not None:
            client.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def get(self) -> Azure:
        """The client for the stored config (built on first use after a change)."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is not None:
                return self._client
            generation = self._generation
            settings = Settings.of(await self._store.config())
            if not settings.subscription_id:
                raise internal_error("subscription_id is required")
            if not settings.tenant_id:
                raise internal_error("tenant_id is required")
            if not settings.client_id or not settings.client_secret:
                raise BadRequest(
                    "client_id and client_secret are required: strongroom does not fall back "
                    "to managed identity"
                )
            try:
                where = endpoints(settings.environment)
            except UnknownEnvironment as err:
                raise BadRequest(f"err: {err}") from None
            loop = asyncio.get_running_loop()
            try:
                client = await loop.run_in_executor(
                    self.executor, functools.partial(_build, settings, where, self.executor)
                )
            except (ValueError, sdk().SdkError) as err:
                raise BadRequest(f"error building the Azure client: {err}") from None
            if generation == self._generation:
                self._client = client
            return client
