"""A backend: an ordered list of Paths, routed by regex, first match wins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strongroom.core.errors import UnsupportedOperation, UnsupportedPath
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import OPENAPI_TYPES, FieldData
from strongroom.framework.path import Path

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from strongroom.core.mounts import MountEntry
    from strongroom.storage.base import Storage


@dataclass
class LeaseRequest:
    """What a secret type's revoke/renew handler is given about one lease."""

    lease_id: str
    internal: dict[str, Any]  # the Secret.internal the backend stored at issue time
    storage: Storage  # the mount's storage
    mount: MountEntry
    issue_time: float
    increment: int = 0  # renew only: what the caller asked for, in seconds


@dataclass
class SecretType:
    """A kind of leased secret a backend issues, with how to revoke and renew it.

    `revoke` destroys the credential and raises if it could not (the lease
    manager retries with backoff). `renew` returns the TTL to grant, or 0 to
    let Vault's rules decide from the caller's increment.
    """

    name: str
    revoke: Callable[[LeaseRequest], Awaitable[None]]
    renew: Callable[[LeaseRequest], Awaitable[int]] | None = None


def _glob_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for pattern in patterns:
        if pattern.endswith("*"):
            prefixes.append(pattern[:-1])
        else:
            exact.add(pattern)
    prefix_tuple = tuple(prefixes)

    def matches(path: str) -> bool:
        return path in exact or (bool(prefix_tuple) and path.startswith(prefix_tuple))

    return matches


class Backend:
    """What a mount serves. Engines build one from their list of Paths."""

    def __init__(
        self,
        paths: list[Path],
        *,
        help: str = "",
        unauthenticated: Iterable[str] = (),
        sudo: Iterable[str] = (),
        secret_types: Iterable[SecretType] = (),
    ) -> None:
        self.paths = paths
        self.help = help
        self.sudo_patterns = list(sudo)
        self.unauthenticated_patterns = list(unauthenticated)
        self.is_unauthenticated = _glob_matcher(self.unauthenticated_patterns)
        self.is_sudo = _glob_matcher(self.sudo_patterns)
        self.secret_types = {s.name: s for s in secret_types}

    async def initialize(self) -> None:
        """Called once after mounting or unseal; engines load state here."""

    async def cleanup(self) -> None:
        """Called when the mount is removed or the server seals."""

    def route(self, rel_path: str) -> tuple[Path, dict[str, str]] | None:
        for path in self.paths:
            match = path.regex.match(rel_path)
            if match:
                return path, {k: v for k, v in match.groupdict().items() if v is not None}
        return None

    def _field_data(self, req: Request, path: Path, params: dict[str, str]) -> FieldData:
        raw = {**req.data, **params} if params else req.data
        return FieldData(raw, path.fields)

    async def exists(self, req: Request) -> bool | None:
        """Whether a write targets an existing entry; None when the path has no check."""
        routed = self.route(req.rel_path)
        if routed is None or routed[0].existence_check is None:
            return None
        path, params = routed
        fd = self._field_data(req, path, params)
        fd.validate()
        return await path.existence_check(req, fd)

    async def handle(self, req: Request) -> Response | None:
        routed = self.route(req.rel_path)
        if routed is None:
            raise UnsupportedPath()
        path, params = routed
        if req.operation is Operation.HELP:
            return Response(raw={"help": self.help_text(path), "openapi": {}})
        handler = path.handler_for(req.operation)
        if handler is None:
            raise UnsupportedOperation()
        fd = self._field_data(req, path, params)
        fd.validate()
        resp = await handler(req, fd)
        if not path.arbitrary_data and req.operation not in (Operation.READ, Operation.LIST):
            ignored = [k for k in fd.unknown() if k not in params]
            if ignored:
                resp = resp or Response()
                resp.warnings.append(
                    f"Endpoint ignored these unrecognized parameters: [{' '.join(ignored)}]"
                )
        return resp

    def help_text(self, path: Path) -> str:
        lines = [f"Request:        {path.pattern}", f"Matching Route: ^{path.pattern}$", ""]
        lines.append(path.synopsis or self.help.strip().splitlines()[0] if self.help else "")
        if path.fields:
            lines += ["", "## PARAMETERS", ""]
            for name, spec in sorted(path.fields.items()):
                if spec.deprecated:
                    continue
                lines.append(f"{name} ({spec.type.value})")
                lines.append(f"    {spec.description}" if spec.description else "")
                lines.append("")
        if path.description:
            lines += ["## DESCRIPTION", "", path.description.strip()]
        return "\n".join(lines).rstrip() + "\n"

    def openapi(self, mount_path: str) -> dict[str, Any]:
        """OpenAPI 3 path items for this backend mounted at `mount_path` (ends with "/")."""
        out: dict[str, Any] = {}
        for path in self.paths:
            template, params = _openapi_template(path.pattern)
            item: dict[str, Any] = {"description": path.synopsis}
            if params:
                item["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                    for p in params
                ]
            for op in path.operations:
                item.update(_openapi_operation(path, op))
            out[f"/{mount_path}{template}"] = item
        return out


_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)\??")


def _openapi_template(pattern: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def repl(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return "{" + match.group(1) + "}"

    template = _GROUP.sub(repl, pattern)
    template = re.sub(r"\(\?:/?(\{\w+\})\)\??", r"/\1", template)
    template = template.replace("\\", "").replace("?", "").replace("^", "").replace("$", "")
    return template, names


_HTTP_FOR = {
    Operation.READ: "get",
    Operation.LIST: "get",
    Operation.CREATE: "post",
    Operation.UPDATE: "post",
    Operation.PATCH: "patch",
    Operation.DELETE: "delete",
}


def _openapi_operation(path: Path, op: Operation) -> dict[str, Any]:
    method = _HTTP_FOR.get(op)
    if method is None:
        return {}
    spec: dict[str, Any] = {"summary": path.synopsis, "responses": {"200": {"description": "OK"}}}
    if op is Operation.LIST:
        spec["parameters"] = [
            {"name": "list", "in": "query", "required": True, "schema": {"type": "string"}}
        ]
    if method in ("post", "patch") and path.fields:
        props = {
            name: {**OPENAPI_TYPES[f.type], "description": f.description}
            for name, f in path.fields.items()
            if not f.deprecated
        }
        required = [name for name, f in path.fields.items() if f.required]
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        spec["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    return {method: spec}
