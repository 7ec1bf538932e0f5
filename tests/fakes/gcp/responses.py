"""The wire of the fake: Google's REST URLs and bodies, translated to and from `models`.

One server hosts every service, each below its own first path segment, the
way strongroom's endpoint settings map Google hosts to base URLs:

    https://iam.googleapis.com/v1/...                  -> /iam/v1/...
    https://iamcredentials.googleapis.com/v1/...       -> /iamcredentials/v1/...
    https://cloudresourcemanager.googleapis.com/v3/... -> /cloudresourcemanager/v3/...
    https://pubsub.googleapis.com/v1/...               -> /pubsub/v1/...
    https://storage.googleapis.com/storage/v1/...      -> /storage/storage/v1/...
    https://oauth2.googleapis.com/token                -> /oauth2/token

`route()` names each request with Google's method id (what faults and the
call log use) and `dispatch()` runs it. Errors leave in the service's shape:
`{"error": {"code", "message", "status"}}`, or for Cloud Storage
`{"error": {"code", "message", "errors": [{"reason", ...}]}}`, or for the
token endpoint `{"error", "error_description"}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from .models import GcpApiError, GcpState, OAuthError

Handler = Callable[[GcpState, str, dict[str, str], dict[str, list[str]], dict[str, Any]], Any]


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    regex: re.Pattern[str]
    operation: str
    handler: Handler
    authenticated: bool = True


ROUTES: list[Route] = []
SA = r"v1/projects/(?P<project>[^/:]+)/serviceAccounts/(?P<sa>[^/:]+)"


def route_for(service: str, method: str, pattern: str, operation: str, *, auth: bool = True):
    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(service, method, re.compile(f"^{pattern}$"), operation, handler, auth))
        return handler

    return register


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query.get(name, [str(default)])[0])
    except ValueError:
        return default


# ----------------------------------------------------------------------------- oauth2


@route_for("oauth2", "POST", r"token", "oauth2.token", auth=False)
def _token(state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]) -> Any:
    return state.token_grant({k: str(v) for k, v in body.items()})


@route_for("oauth2", "GET", r"tokeninfo", "oauth2.tokeninfo", auth=False)
@route_for("oauth2", "POST", r"tokeninfo", "oauth2.tokeninfo", auth=False)
def _tokeninfo(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    token = body.get("access_token") or (q.get("access_token") or [""])[0]
    return state.token_info(str(token))


# ----------------------------------------------------------------------------- IAM


@route_for(
    "iam",
    "POST",
    r"v1/projects/(?P<project>[^/:]+)/serviceAccounts",
    "iam.projects.serviceAccounts.create",
)
def _sa_create(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.create_account(caller, m["project"], body)


@route_for(
    "iam",
    "GET",
    r"v1/projects/(?P<project>[^/:]+)/serviceAccounts",
    "iam.projects.serviceAccounts.list",
)
def _sa_list(state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]) -> Any:
    return state.list_accounts(caller, m["project"])


@route_for("iam", "GET", SA, "iam.projects.serviceAccounts.get")
def _sa_get(state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]) -> Any:
    return state.get_account(caller, m["sa"])


@route_for("iam", "DELETE", SA, "iam.projects.serviceAccounts.delete")
def _sa_delete(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.delete_account(caller, m["sa"])


@route_for("iam", "POST", SA + ":getIamPolicy", "iam.projects.serviceAccounts.getIamPolicy")
def _sa_get_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.get_policy(caller, "serviceAccount", m["sa"])


@route_for("iam", "POST", SA + ":setIamPolicy", "iam.projects.serviceAccounts.setIamPolicy")
def _sa_set_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.set_policy(caller, "serviceAccount", m["sa"], _policy_arg(body))


@route_for("iam", "POST", SA + "/keys", "iam.projects.serviceAccounts.keys.create")
def _key_create(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.create_key(caller, m["sa"], body)


@route_for("iam", "GET", SA + "/keys", "iam.projects.serviceAccounts.keys.list")
def _key_list(state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]) -> Any:
    return state.list_keys(caller, m["sa"], list(q.get("keyTypes", [])))


@route_for("iam", "GET", SA + r"/keys/(?P<key>[^/:]+)", "iam.projects.serviceAccounts.keys.get")
def _key_get(state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]) -> Any:
    return state.get_key(caller, m["sa"], m["key"])


@route_for(
    "iam", "DELETE", SA + r"/keys/(?P<key>[^/:]+)", "iam.projects.serviceAccounts.keys.delete"
)
def _key_delete(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.delete_key(caller, m["sa"], m["key"])


# ----------------------------------------------------------------------------- IAM Credentials


@route_for(
    "iamcredentials",
    "POST",
    SA + ":generateAccessToken",
    "iamcredentials.projects.serviceAccounts.generateAccessToken",
)
def _generate(state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]) -> Any:
    return state.generate_access_token(caller, m["sa"], body)


# ----------------------------------------------------------------------------- Resource Manager

PROJECT = r"(?P<version>v1|v3)/projects/(?P<project>[^/:]+)"


@route_for(
    "cloudresourcemanager",
    "POST",
    PROJECT + ":getIamPolicy",
    "cloudresourcemanager.projects.getIamPolicy",
)
def _project_get_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    options = body.get("options") or {}
    return state.get_policy(
        caller, "project", m["project"], int(options.get("requestedPolicyVersion") or 1)
    )


@route_for(
    "cloudresourcemanager",
    "POST",
    PROJECT + ":setIamPolicy",
    "cloudresourcemanager.projects.setIamPolicy",
)
def _project_set_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.set_policy(caller, "project", m["project"], _policy_arg(body))


@route_for("cloudresourcemanager", "GET", PROJECT, "cloudresourcemanager.projects.get")
def _project_get(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.get_project(caller, m["project"])


# ----------------------------------------------------------------------------- Pub/Sub

TOPIC = r"v1/(?P<name>projects/[^/:]+/topics/[^/:]+)"
SUBSCRIPTION = r"v1/(?P<name>projects/[^/:]+/subscriptions/[^/:]+)"


@route_for("pubsub", "GET", TOPIC + ":getIamPolicy", "pubsub.projects.topics.getIamPolicy")
def _topic_get_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.get_policy(caller, "topic", m["name"])


@route_for("pubsub", "POST", TOPIC + ":setIamPolicy", "pubsub.projects.topics.setIamPolicy")
def _topic_set_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.set_policy(caller, "topic", m["name"], _policy_arg(body))


@route_for("pubsub", "GET", TOPIC, "pubsub.projects.topics.get")
def _topic_get(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.get_topic(caller, m["name"])


@route_for(
    "pubsub", "GET", SUBSCRIPTION + ":getIamPolicy", "pubsub.projects.subscriptions.getIamPolicy"
)
def _sub_get_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.get_policy(caller, "subscription", m["name"])


@route_for(
    "pubsub", "POST", SUBSCRIPTION + ":setIamPolicy", "pubsub.projects.subscriptions.setIamPolicy"
)
def _sub_set_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.set_policy(caller, "subscription", m["name"], _policy_arg(body))


# ----------------------------------------------------------------------------- Cloud Storage

BUCKET = r"storage/v1/b/(?P<bucket>[^/]+)"


@route_for("storage", "GET", BUCKET + "/iam", "storage.buckets.getIamPolicy")
def _bucket_get_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.get_policy(caller, "bucket", m["bucket"])


@route_for("storage", "PUT", BUCKET + "/iam", "storage.buckets.setIamPolicy")
def _bucket_set_policy(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.set_policy(caller, "bucket", m["bucket"], body)


@route_for("storage", "GET", BUCKET, "storage.buckets.get")
def _bucket_get(
    state: GcpState, caller: str, m: dict[str, str], q: Any, body: dict[str, Any]
) -> Any:
    return state.get_bucket(caller, m["bucket"])


def _policy_arg(body: dict[str, Any]) -> dict[str, Any]:
    policy = body.get("policy")
    if not isinstance(policy, dict):
        raise GcpApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload: 'policy' is required.")
    return policy


# ----------------------------------------------------------------------------- dispatch


@dataclass
class Call:
    """One parsed request: which service and Google method, its path parameters."""

    service: str
    method: str
    path: str  # below the service prefix
    operation: str
    route: Route | None
    params: dict[str, str]
    query: dict[str, list[str]]


def route(method: str, raw_path: str) -> Call:
    path, _, query_text = raw_path.partition("?")
    service, _, rest = path.lstrip("/").partition("/")
    query = parse_qs(query_text, keep_blank_values=True)
    for candidate in ROUTES:
        if candidate.service != service or candidate.method != method:
            continue
        match = candidate.regex.match(rest)
        if match:
            params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            return Call(service, method, rest, candidate.operation, candidate, params, query)
    return Call(service, method, rest, f"{service}.unknown", None, {}, query)


def parse_body(call: Call, content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if "application/x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
    try:
        body = json.loads(raw)
    except ValueError:
        raise GcpApiError(
            400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token."
        ) from None
    if not isinstance(body, dict):
        raise GcpApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
    return body


def dispatch(
    state: GcpState, call: Call, authorization: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], str]:
    """(HTTP status, JSON body, caller) for one request; errors are rendered here."""
    caller = ""
    try:
        if call.route is None:
            raise GcpApiError(
                404,
                "NOT_FOUND",
                f"The requested URL /{call.service}/{call.path} was not found on this server.",
            )
        if call.route.authenticated:
            caller = state.authenticate(authorization)
        result = call.route.handler(state, caller, call.params, call.query, body)
        return 200, result, caller
    except GcpApiError as err:
        return err.code, error_body(call.service, err), caller
    except OAuthError as err:
        return err.code, {"error": err.error, "error_description": err.description}, caller


def error_body(service: str, err: GcpApiError) -> dict[str, Any]:
    if service == "storage":
        return {
            "error": {
                "code": err.code,
                "message": err.message,
                "errors": [{"message": err.message, "domain": "global", "reason": err.reason}],
            }
        }
    if service == "oauth2":
        return {"error": err.status.lower(), "error_description": err.message}
    return {"error": {"code": err.code, "message": err.message, "status": err.status}}


DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    409: "There were concurrent policy changes. Please retry the whole read-modify-write "
    "with exponential backoff.",
    429: "Quota exceeded.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}


def injected_error(status: int, message: str, gcp_status: str) -> GcpApiError:
    return GcpApiError(
        status, gcp_status, message or DEFAULT_MESSAGES.get(status, "injected failure")
    )


def policy_target(call: Call) -> tuple[str, str] | None:
    """The (kind, name) of the IAM policy a policy call reads or writes."""
    if "IamPolicy" not in call.operation:
        return None
    if call.service == "cloudresourcemanager":
        return "project", call.params["project"]
    if call.service == "iam":
        return "serviceAccount", call.params["sa"]
    if call.service == "storage":
        return "bucket", call.params["bucket"]
    if ".topics." in call.operation:
        return "topic", call.params["name"]
    if ".subscriptions." in call.operation:
        return "subscription", call.params["name"]
    return None
