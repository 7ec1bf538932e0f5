"""The wire: HTTP requests to the fake become `AzureModel` calls, and back (moto's responses.py).

Three services share one listener, told apart by path:

    /v1.0/...                                  Microsoft Graph
    /subscriptions/..., /providers/...         Azure Resource Manager (Microsoft.Authorization)
    /{tenant}/oauth2/v2.0/token,
    /{tenant}/v2.0/.well-known/openid-configuration,
    /common/discovery/instance                 Entra ID token service (login)
    /_fake/...                                 the test-control API (not Azure)

Every Azure request is named by an operation (`applications.create`,
`roleAssignments.delete`, `token`, ...) for the call log and fault injection.
Errors leave in the real bodies: Graph `{"error": {"code", "message",
"innerError"}}`, ARM `{"error": {"code", "message"}}`, login
`{"error", "error_description", "error_codes", ...}`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .models import AzureModel, FakeError, Token

GRAPH_CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#"


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Incoming:
    method: str
    path: str  # unquoted, duplicate slashes collapsed, no query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # how the client reached us: https://127.0.0.1:PORT

    def json(self, service: str) -> dict[str, Any]:
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            if service == "arm":
                raise FakeError(
                    400,
                    "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized.",
                    "arm",
                ) from None
            raise FakeError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set "
                "and payload is of valid JSON format.",
            ) from None
        if not isinstance(value, dict):
            raise FakeError(400, "BadRequest", "Invalid JSON payload.", service)
        return value

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}


# A route: method, path regex, operation name, handler(model, request, match, token).
Handler = Callable[[AzureModel, Incoming, "re.Match[str]", Token | None], Reply]

_ID = r"(?P<id>[^/]+)"


def _graph_list(kind: str, items: list[dict[str, Any]]) -> Reply:
    return Reply(200, {"@odata.context": GRAPH_CONTEXT + kind, "value": items})


def _graph_entity(kind: str, item: dict[str, Any], status: int = 200) -> Reply:
    return Reply(status, {"@odata.context": GRAPH_CONTEXT + kind + "/$entity", **item})


def _t(token: Token | None) -> Token:
    assert token is not None
    return token


GRAPH_ROUTES: list[tuple[str, str, str, Handler]] = [
    (
        "POST",
        r"/applications",
        "applications.create",
        lambda m, r, g, t: _graph_entity(
            "applications", m.create_application(_t(t), r.json("graph")), 201
        ),
    ),
    (
        "GET",
        r"/applications",
        "applications.list",
        lambda m, r, g, t: _graph_list(
            "applications", m.list_applications(_t(t), r.query.get("$filter"))
        ),
    ),
    (
        "GET",
        rf"/applications/{_ID}",
        "applications.get",
        lambda m, r, g, t: _graph_entity("applications", m.get_application(_t(t), g["id"])),
    ),
    (
        "DELETE",
        rf"/applications/{_ID}",
        "applications.delete",
        lambda m, r, g, t: (m.delete_application(_t(t), g["id"]), Reply(204))[1],
    ),
    (
        "POST",
        rf"/applications/{_ID}/addPassword",
        "applications.addPassword",
        lambda m, r, g, t: Reply(
            200,
            {
                "@odata.context": GRAPH_CONTEXT + "microsoft.graph.passwordCredential",
                **m.add_password(_t(t), "application", g["id"], r.json("graph")),
            },
        ),
    ),
    (
        "POST",
        rf"/applications/{_ID}/removePassword",
        "applications.removePassword",
        lambda m, r, g, t: (
            m.remove_password(_t(t), "application", g["id"], r.json("graph")),
            Reply(204),
        )[1],
    ),
    (
        "POST",
        r"/servicePrincipals",
        "servicePrincipals.create",
        lambda m, r, g, t: _graph_entity(
            "servicePrincipals", m.create_service_principal(_t(t), r.json("graph")), 201
        ),
    ),
    (
        "GET",
        r"/servicePrincipals",
        "servicePrincipals.list",
        lambda m, r, g, t: _graph_list(
            "servicePrincipals", m.list_service_principals(_t(t), r.query.get("$filter"))
        ),
    ),
    (
        "GET",
        rf"/servicePrincipals/{_ID}",
        "servicePrincipals.get",
        lambda m, r, g, t: _graph_entity(
            "servicePrincipals", m.get_service_principal(_t(t), g["id"])
        ),
    ),
    (
        "DELETE",
        rf"/servicePrincipals/{_ID}",
        "servicePrincipals.delete",
        lambda m, r, g, t: (m.delete_service_principal(_t(t), g["id"]), Reply(204))[1],
    ),
    (
        "POST",
        rf"/servicePrincipals/{_ID}/addPassword",
        "servicePrincipals.addPassword",
        lambda m, r, g, t: Reply(
            200,
            {
                "@odata.context": GRAPH_CONTEXT + "microsoft.graph.passwordCredential",
                **m.add_password(_t(t), "servicePrincipal", g["id"], r.json("graph")),
            },
        ),
    ),
    (
        "POST",
        rf"/servicePrincipals/{_ID}/removePassword",
        "servicePrincipals.removePassword",
        lambda m, r, g, t: (
            m.remove_password(_t(t), "servicePrincipal", g["id"], r.json("graph")),
            Reply(204),
        )[1],
    ),
    (
        "GET",
        rf"/directory/deletedItems/{_ID}",
        "deletedItems.get",
        lambda m, r, g, t: _graph_entity(
            "directory/deletedItems", m.get_deleted_item(_t(t), g["id"])
        ),
    ),
    (
        "DELETE",
        rf"/directory/deletedItems/{_ID}",
        "deletedItems.delete",
        lambda m, r, g, t: (m.purge_deleted_item(_t(t), g["id"]), Reply(204))[1],
    ),
    (
        "GET",
        r"/groups",
        "groups.list",
        lambda m, r, g, t: _graph_list("groups", m.list_groups(_t(t), r.query.get("$filter"))),
    ),
    (
        "GET",
        rf"/groups/{_ID}",
        "groups.get",
        lambda m, r, g, t: _graph_entity("groups", m.get_group(_t(t), g["id"])),
    ),
    (
        "GET",
        rf"/groups/{_ID}/members",
        "groups.listMembers",
        lambda m, r, g, t: _graph_list("directoryObjects", m.list_members(_t(t), g["id"])),
    ),
    (
        "POST",
        rf"/groups/{_ID}/members/\$ref",
        "groups.addMember",
        lambda m, r, g, t: (m.add_member(_t(t), g["id"], r.json("graph")), Reply(204))[1],
    ),
    (
        "DELETE",
        rf"/groups/{_ID}/members/(?P<member>[^/]+)/\$ref",
        "groups.removeMember",
        lambda m, r, g, t: (m.remove_member(_t(t), g["id"], g["member"]), Reply(204))[1],
    ),
]

_AUTHZ = r"/providers/Microsoft\.Authorization"
_SCOPE = r"(?P<scope>(?:/.*?)?)"


def _arm_list(items: list[dict[str, Any]]) -> Reply:
    return Reply(200, {"value": items})


def _put_assignment(m: AzureModel, r: Incoming, g: re.Match[str], t: Token | None) -> Reply:
    status, body = m.put_role_assignment(_t(t), g["scope"], g["name"], r.json("arm"))
    return Reply(status, body)


def _delete_assignment(m: AzureModel, r: Incoming, g: re.Match[str], t: Token | None) -> Reply:
    found = m.delete_role_assignment(_t(t), g["scope"], g["name"])
    return Reply(204) if found is None else Reply(200, found)


ARM_ROUTES: list[tuple[str, str, str, Handler]] = [
    (
        "GET",
        rf"{_SCOPE}{_AUTHZ}/roleDefinitions",
        "roleDefinitions.list",
        lambda m, r, g, t: _arm_list(
            m.list_role_definitions(_t(t), g["scope"], r.query.get("$filter"))
        ),
    ),
    (
        "GET",
        rf"{_SCOPE}{_AUTHZ}/roleDefinitions/(?P<name>[^/]+)",
        "roleDefinitions.get",
        lambda m, r, g, t: Reply(200, m.get_role_definition(_t(t), g["scope"], g["name"])),
    ),
    (
        "GET",
        rf"{_SCOPE}{_AUTHZ}/roleAssignments",
        "roleAssignments.list",
        lambda m, r, g, t: _arm_list(m.list_role_assignments(_t(t), g["scope"])),
    ),
    (
        "GET",
        rf"{_SCOPE}{_AUTHZ}/roleAssignments/(?P<name>[^/]+)",
        "roleAssignments.get",
        lambda m, r, g, t: Reply(200, m.get_role_assignment(_t(t), g["scope"], g["name"])),
    ),
    (
        "PUT",
        rf"{_SCOPE}{_AUTHZ}/roleAssignments/(?P<name>[^/]+)",
        "roleAssignments.create",
        _put_assignment,
    ),
    (
        "DELETE",
        rf"{_SCOPE}{_AUTHZ}/roleAssignments/(?P<name>[^/]+)",
        "roleAssignments.delete",
        _delete_assignment,
    ),
    (
        "GET",
        r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)",
        "resourceGroups.get",
        lambda m, r, g, t: Reply(200, m.get_resource_group(_t(t), g["sub"], g["rg"])),
    ),
]

LOGIN_ROUTES: list[tuple[str, str, str, Handler]] = [
    (
        "GET",
        r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration",
        "openidConfiguration",
        lambda m, r, g, t: _openid_configuration(m, r, g["tenant"]),
    ),
    (
        "POST",
        r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token",
        "token",
        lambda m, r, g, t: Reply(200, m.issue_token(g["tenant"], r.form())),
    ),
    (
        "GET",
        r"/common/discovery/instance",
        "instanceDiscovery",
        lambda m, r, g, t: _instance_discovery(r),
    ),
]


def _compile(
    routes: list[tuple[str, str, str, Handler]],
) -> list[tuple[str, re.Pattern[str], str, Handler]]:
    return [(m, re.compile(f"^{p}/?$", re.IGNORECASE), op, h) for m, p, op, h in routes]


_GRAPH = _compile(GRAPH_ROUTES)
_ARM = _compile(ARM_ROUTES)
_LOGIN = _compile(LOGIN_ROUTES)


def service_of(path: str) -> str:
    lower = path.lower()
    if lower == "/v1.0" or lower.startswith("/v1.0/"):
        return "graph"
    if lower.startswith(("/subscriptions/", "/providers/")):
        return "arm"
    return "login"


def graph_path(path: str) -> str:
    return path[len("/v1.0") :] or "/"


@dataclass
class Routed:
    service: str
    operation: str
    run: Callable[[AzureModel, Token | None], Reply] | None
    needs_token: bool
    error: FakeError | None = None


def route(req: Incoming) -> Routed:
    """Which service and operation a request is; `run` performs it."""
    service = service_of(req.path)
    if service == "graph":
        table, path = _GRAPH, graph_path(req.path)
    elif service == "arm":
        table, path = _ARM, req.path
    else:
        table, path = _LOGIN, req.path
    matched_path = False
    for method, pattern, operation, handler in table:
        match = pattern.match(path)
        if match is None:
            continue
        matched_path = True
        if method != req.method:
            continue

        def run(model: AzureModel, token: Token | None, h=handler, g=match) -> Reply:
            return h(model, req, g, token)

        return Routed(service, operation, run, service != "login")
    if service == "graph":
        segment = path.strip("/").split("/")[-1] or "/"
        error = (
            FakeError(
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            )
            if matched_path
            else FakeError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
        )
    elif service == "arm":
        if "api-version" not in req.query:
            error = FakeError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
                "arm",
            )
        else:
            error = FakeError(
                405 if matched_path else 404,
                "MethodNotAllowed" if matched_path else "InvalidResourceType",
                f"The requested resource does not support http method '{req.method}'."
                if matched_path
                else f"The resource type could not be found for path '{req.path}'.",
                "arm",
            )
    else:
        error = FakeError(
            404, "invalid_request", "AADSTS90027: The endpoint was not found.", "login", 90027
        )
    return Routed(service, "unknown", None, False, error)


def error_reply(err: FakeError, retry_after: float | None = None) -> Reply:
    now = dt.datetime.now(dt.UTC)
    request_id = str(uuid.uuid4())
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    if err.service == "login":
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        return Reply(
            err.status,
            {
                "error": err.code,
                "error_description": f"{err.message} Trace ID: {request_id} Correlation ID: "
                f"{uuid.uuid4()} Timestamp: {stamp}",
                "error_codes": [err.aadsts] if err.aadsts else [],
                "timestamp": stamp,
                "trace_id": request_id,
                "correlation_id": str(uuid.uuid4()),
                "error_uri": f"https://login.microsoftonline.com/error?code={err.aadsts}",
            },
            headers,
        )
    if err.service == "arm":
        headers["x-ms-failure-cause"] = "gateway" if err.status >= 500 else "service"
        return Reply(err.status, {"error": {"code": err.code, "message": err.message}}, headers)
    return Reply(
        err.status,
        {
            "error": {
                "code": err.code,
                "message": err.message,
                "innerError": {
                    "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": request_id,
                },
            }
        },
        headers,
    )


def handle(model: AzureModel, routed: Routed, req: Incoming) -> Reply:
    """Authenticate (Graph, ARM), run the operation, render errors."""
    if routed.service == "arm" and "api-version" not in req.query and routed.run is not None:
        return error_reply(
            FakeError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
                "arm",
            )
        )
    if routed.run is None:
        assert routed.error is not None
        return error_reply(routed.error)
    try:
        token = (
            model.authenticate(req.headers.get("authorization", ""), routed.service)
            if routed.needs_token
            else None
        )
        return routed.run(model, token)
    except FakeError as err:
        return error_reply(err)


def _openid_configuration(model: AzureModel, req: Incoming, tenant: str) -> Reply:
    if not model.known_tenant(tenant) and tenant not in ("common", "organizations"):
        raise FakeError(
            400,
            "invalid_tenant",
            f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct "
            "tenant ID and are signing into the correct cloud.",
            "login",
            90002,
        )
    base = req.base_url
    return Reply(
        200,
        {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{model.tenant_id}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        },
    )


def _instance_discovery(req: Incoming) -> Reply:
    host = req.base_url.split("://", 1)[-1]
    return Reply(
        200,
        {
            "tenant_discovery_endpoint": f"{req.base_url}/common/v2.0/.well-known/"
            "openid-configuration",
            "api-version": "1.1",
            "metadata": [
                {
                    "preferred_network": host,
                    "preferred_cache": host,
                    "aliases": [host],
                }
            ],
        },
    )
