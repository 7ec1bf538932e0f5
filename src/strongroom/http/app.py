"""The HTTP application: HTTP in, Request to the Core, Response out.

This is the only module that knows about HTTP. It is written against raw
RSGI (granian's interface), not a web framework, because it sits on every
request's hot path; `App.respond` takes a server-neutral `HttpRequest`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from strongroom import jsonutil
from strongroom.core.core import Core
from strongroom.core.errors import BadRequest, VaultError
from strongroom.core.ha import StandbyError
from strongroom.core.request import Operation, Request
from strongroom.durations import DurationError, parse_duration
from strongroom.http import forward
from strongroom.http.envelope import error_body, render
from strongroom.http.request import HttpRequest

log = logging.getLogger("strongroom.http")

DEFAULT_MAX_REQUEST_SIZE = 33554432
_BASE_HEADERS = [("content-type", "application/json"), ("cache-control", "no-store")]
_WRITE_METHODS = {"POST", "PUT"}
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_ROOT_NAMESPACES = {"", "root", "root/"}


class HttpError(Exception):
    def __init__(self, status: int, messages: list[str]) -> None:
        super().__init__(status)
        self.status = status
        self.messages = messages


def _query_data(query: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in data:
            existing = data[key]
            data[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            data[key] = value
    return data


def _parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    stripped = body.lstrip()
    if not stripped:
        return {}
    if content_type.startswith("application/x-www-form-urlencoded") and stripped[:1] not in (
        b"{",
        b"[",
    ):
        form: dict[str, Any] = {}
        for key, value in parse_qsl(body.decode(), keep_blank_values=True):
            form[key] = f"{form[key]},{value}" if key in form else value
        return form
    try:
        value = jsonutil.loads(body)
    except ValueError as err:
        raise HttpError(400, [f"failed to decode JSON input: {err}"]) from None
    if value is None:
        return {}  # `bao write -f` sends a literal null: no data, as Vault reads it
    if not isinstance(value, dict):
        go_type = "array" if isinstance(value, list) else "value"
        raise HttpError(
            400,
            [
                "failed to decode JSON input: json: cannot unmarshal "
                f"{go_type} into Go value of type map[string]interface {{}}"
            ],
        )
    return value


def _operation(method: str, query: dict[str, Any], path: str) -> Operation:
    if method == "GET":
        if "help" in query:
            return Operation.HELP
        if query.get("list") in _TRUE:
            return Operation.LIST
        return Operation.READ
    if method in _WRITE_METHODS:
        return Operation.UPDATE
    if method == "DELETE":
        return Operation.DELETE
    if method == "LIST":
        return Operation.LIST
    if method == "PATCH":
        return Operation.PATCH
    if method == "HEAD" and path == "sys/health":
        return Operation.READ
    raise HttpError(405, [])


class App:
    """The RSGI application (granian); `respond` is the server-neutral part."""

    def __init__(self, core: Core, max_request_size: int = DEFAULT_MAX_REQUEST_SIZE) -> None:
        self.core = core
        self.max_request_size = max_request_size

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        try:
            body = await self._read_body(scope, protocol)
        except HttpError as err:
            protocol.response_bytes(err.status, _BASE_HEADERS, error_body(err.messages))
            return
        request = HttpRequest(
            scope.method,
            scope.path,
            scope.query_string,
            scope.headers.items(),
            scope.client.rpartition(":")[0].strip("[]"),
            body,
        )
        status, headers, payload = await self.respond(request)
        protocol.response_bytes(status, headers, payload)

    async def _read_body(self, scope: Any, protocol: Any) -> bytes:
        limit = self.max_request_size
        length = scope.headers.get("content-length")
        if length is None and "transfer-encoding" not in scope.headers:
            return b""  # no body (most GETs): don't wait on the protocol for one
        if length is not None and length.isdigit():
            if 0 <= limit < int(length):
                raise HttpError(413, ["http: request body too large"])
            return await protocol() if length != "0" else b""
        if limit < 0:
            return await protocol()
        chunks: list[bytes] = []  # chunked: count as it arrives
        size = 0
        async for chunk in protocol:
            size += len(chunk)
            if size > limit:
                raise HttpError(413, ["http: request body too large"])
            chunks.append(chunk)
        return b"".join(chunks)

    async def respond(self, request: HttpRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body for one request; never raises."""
        extra_headers: list[tuple[str, str]] = []
        try:
            status, body = await self._serve(request, extra_headers)
        except forward.Relayed as relayed:  # a standby passing on the active node's answer
            return relayed.status, relayed.headers, relayed.body
        except HttpError as err:
            status, body = err.status, error_body(err.messages)
        except VaultError as err:
            status, body = err.status, error_body(err.messages)
        except Exception:
            log.exception("http: internal error serving %s", request.path)
            status, body = 500, error_body(["internal error"])
        return status, [*_BASE_HEADERS, *extra_headers] if extra_headers else _BASE_HEADERS, body

    async def _serve(
        self, request: HttpRequest, extra_headers: list[tuple[str, str]]
    ) -> tuple[int, bytes]:
        raw_path = request.path
        if not raw_path.startswith("/v1/"):
            raise HttpError(404, [])
        path = raw_path[4:]
        if not path.isprintable():
            raise HttpError(400, ["path contains non-printable characters"])
        headers = request.headers
        method = request.method
        query = _query_data(request.query) if request.query else {}
        op = _operation(method, query, path)
        if op is Operation.LIST and not path.endswith("/"):
            path += "/"  # as Vault does: a list is always of a folder
        if op is Operation.PATCH:
            content_type = headers.get("content-type", "")
            if content_type.split(";")[0].strip() != "application/merge-patch+json":
                raise HttpError(
                    415,
                    [
                        "PATCH requires Content-Type of application/merge-patch+json, "
                        f"provided {content_type}"
                    ],
                )
        data = _parse_body(request.body, headers.get("content-type", "")) if request.body else {}
        if query and method in ("GET", "DELETE", "LIST", "HEAD"):
            query.pop("list", None)
            query.pop("help", None)
            data = {**query, **data}
        namespace = headers.get("x-vault-namespace")
        if namespace is not None:
            extra_headers.append(("x-vault-namespace", namespace))
            if namespace not in _ROOT_NAMESPACES:
                raise HttpError(404, ["namespace not found"])
        if path == "":
            raise HttpError(404, ['no handler for route "". route entry not found.'])
        req = Request(
            operation=op,
            path=path,
            data=data,
            client_token=_token(headers),
            headers=headers,
            remote_addr=forward.client_address(self.core, request),
            wrap_ttl=_wrap_ttl(headers),
        )
        try:
            resp = await self.core.handle(req)
        except StandbyError as err:
            raise await forward.relay(err, request) from None
        for name, value in resp.headers.items():
            extra_headers.append((name, value))
        return render(resp, req.mount.type if req.mount is not None else "")


def _token(headers: dict[str, str]) -> str:
    token = headers.get("x-vault-token", "")
    if token:
        return token
    auth = headers.get("authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :].strip()
    return ""


def _wrap_ttl(headers: dict[str, str]) -> int:
    value = headers.get("x-vault-wrap-ttl")
    if not value:
        return 0
    try:
        ttl = parse_duration(value)
    except DurationError as err:
        raise BadRequest(str(err)) from None
    if ttl < 0:
        raise BadRequest("requested wrap ttl cannot be negative")
    return ttl
