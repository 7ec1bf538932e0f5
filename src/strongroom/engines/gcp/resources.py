"""Resource names in bindings, and where each resource keeps its IAM policy (§5.1).

A resource is given as a full resource name (`//pubsub.googleapis.com/projects/p/topics/t`),
a self link (`https://pubsub.googleapis.com/v1/projects/p/topics/t`) or a relative
name (`projects/p/topics/t`, resolved when one service owns that collection type).
The relative name splits into collection/id pairs; the joined collections form a
*type key* (`projects/topics`) that picks the API calls below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

COLLECTION = re.compile(r"^[a-z][a-zA-Z]*$")
CRM_GET_BODY = {"options": {"requestedPolicyVersion": 3}}


@dataclass(frozen=True)
class PolicyApi:
    """How one type of resource reads and writes its IAM policy."""

    service: str
    get_method: str
    get_path: str  # relative to the service's base URL; {name} = the relative name
    set_method: str
    set_path: str
    wrap: bool = True  # set body is {"policy": P} (Storage: P itself)
    get_body: dict[str, Any] | None = None


_V1_NAME = PolicyApi("pubsub", "GET", "v1/{name}:getIamPolicy", "POST", "v1/{name}:setIamPolicy")

TYPES: dict[str, list[PolicyApi]] = {
    "projects": [
        PolicyApi(
            "cloudresourcemanager",
            "POST",
            "v3/{name}:getIamPolicy",
            "POST",
            "v3/{name}:setIamPolicy",
            get_body=CRM_GET_BODY,
        )
    ],
    "folders": [
        PolicyApi(
            "cloudresourcemanager",
            "POST",
            "v3/{name}:getIamPolicy",
            "POST",
            "v3/{name}:setIamPolicy",
            get_body=CRM_GET_BODY,
        )
    ],
    "organizations": [
        PolicyApi(
            "cloudresourcemanager",
            "POST",
            "v3/{name}:getIamPolicy",
            "POST",
            "v3/{name}:setIamPolicy",
            get_body=CRM_GET_BODY,
        )
    ],
    "projects/serviceAccounts": [
        PolicyApi("iam", "POST", "v1/{name}:getIamPolicy", "POST", "v1/{name}:setIamPolicy")
    ],
    "projects/topics": [_V1_NAME],
    "projects/subscriptions": [_V1_NAME],
    "projects/snapshots": [_V1_NAME],
    "projects/secrets": [
        PolicyApi(
            "secretmanager", "GET", "v1/{name}:getIamPolicy", "POST", "v1/{name}:setIamPolicy"
        )
    ],
    "b": [
        PolicyApi(
            "storage", "GET", "storage/v1/{name}/iam", "PUT", "storage/v1/{name}/iam", wrap=False
        )
    ],
}
# Full names Google gives buckets (//storage.googleapis.com/projects/_/buckets/B).
ALIASES = {"projects/buckets": "b"}


class ResourceError(ValueError):
    pass


@dataclass(frozen=True)
class Resource:
    name: str  # as written in the bindings
    relative: str  # the name the API takes (b/<bucket> for Storage)
    type_key: str
    api: PolicyApi

    def get_request(self) -> tuple[str, str, str, dict[str, Any] | None]:
        """(service, method, path, body) of the getIamPolicy call."""
        path = self.api.get_path.format(name=_quote_path(self.relative))
        return self.api.service, self.api.get_method, path, self.api.get_body

    def set_request(self, policy: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
        path = self.api.set_path.format(name=_quote_path(self.relative))
        body = {"policy": policy} if self.api.wrap else policy
        return self.api.service, self.api.set_method, path, body

    @property
    def operation(self) -> str:
        return f"{self.api.service}.{self.type_key.replace('/', '.')}"


def _quote_path(relative: str) -> str:
    return "/".join(quote(part, safe="@-_.~") for part in relative.split("/"))


def _pairs(relative: str, original: str) -> list[tuple[str, str]]:
    parts = [p for p in relative.strip("/").split("/") if p != ""]
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(parts):
        collection = parts[i]
        if collection == "global":
            i += 1
            continue
        if not COLLECTION.match(collection):
            raise ResourceError(
                f'invalid resource "{original}": "{collection}" is not a collection name'
            )
        if i + 1 >= len(parts):
            raise ResourceError(
                f'invalid resource "{original}": collection "{collection}" has no id'
            )
        out.append((collection, parts[i + 1]))
        i += 2
    if not out:
        raise ResourceError(f'invalid resource "{original}": empty resource name')
    return out


def _from_url(name: str) -> tuple[str | None, str]:
    """(service, relative name) of a self link."""
    parts = urlsplit(name)
    host = parts.hostname or ""
    segments = [s for s in parts.path.split("/") if s]
    service = None
    if host.endswith(".googleapis.com") and host != "www.googleapis.com":
        service = host.split(".")[0]
    elif host == "www.googleapis.com" and segments:
        service = segments[0]
    for i, segment in enumerate(segments):
        if segment in ("projects", "b", "folders", "organizations"):
            return service, "/".join(segments[i:])
    raise ResourceError(f'invalid resource "{name}": no resource name in self link')


def parse(name: str) -> Resource:
    """A bindings resource, with the API that holds its policy; ResourceError if unknown."""
    text = name.strip()
    if not text:
        raise ResourceError("invalid resource: empty name")
    service: str | None
    if text.startswith("//"):
        host, _, relative = text[2:].partition("/")
        if not host.endswith(".googleapis.com"):
            raise ResourceError(f'invalid resource "{name}": unknown service host "{host}"')
        service = host.split(".")[0]
    elif text.startswith(("https://", "http://")):
        service, relative = _from_url(text)
    else:
        service, relative = None, text
    pairs = _pairs(relative, name)
    type_key = "/".join(c for c, _ in pairs)
    if type_key in ALIASES:
        type_key = ALIASES[type_key]
        relative = f"b/{pairs[-1][1]}"
    else:
        relative = "/".join(f"{c}/{i}" for c, i in pairs)
    candidates = TYPES.get(type_key, [])
    if service is not None:
        candidates = [api for api in candidates if api.service == service]
        if not candidates:
            raise ResourceError(
                f'unsupported resource "{name}": strongroom cannot manage IAM policies of '
                f'"{type_key}" resources of service "{service}"'
            )
    elif not candidates:
        raise ResourceError(
            f'unsupported resource "{name}": unknown resource type "{type_key}"; give a full '
            'resource name ("//<service>.googleapis.com/...") or a self link'
        )
    elif len({api.service for api in candidates}) > 1:
        raise ResourceError(
            f'ambiguous resource "{name}": give a full resource name or a self link'
        )
    return Resource(name, relative, type_key, candidates[0])
