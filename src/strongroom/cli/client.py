"""A small synchronous HTTP client for the server API (spec §7.3, §7.4).

Built on the standard library (`http.client`, `ssl` only when needed) so the
CLI starts fast. It behaves like the reference Go client where that is
visible: `X-Vault-Request: true` on every request, writes are PUT, lists are
`GET ?list=true`, patches are PATCH with `application/merge-patch+json`, one
301/302/307 redirect is followed, request paths are cleaned like Go's
`path.Join`, and errors render with the reference texts:

* `ApiError` — an HTTP error status (`Error making API request. ...`);
* `TransportError` — the request never got a response
  (`Get "http://127.0.0.1:1/v1/x": dial tcp 127.0.0.1:1: connect: connection refused`);
* `ClientSetupError` — bad settings (`failed to setup TLS config: ...`).

With `Settings.output_curl_string` / `output_policy` a request is not sent:
it is recorded in `Client.last_output_request` and `OutputStringError` is
raised, so the command fails like the reference one and `main` prints the
curl command or policy instead.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from strongroom.cli import gojson
from strongroom.cli.env import Settings
from strongroom.cli.secret import Secret, SecretDecodeError, parse_secret
from strongroom.cli.tls import TLSError, TLSOptions, build_ssl_context, transport_reason

__all__ = [
    "ApiError",
    "Client",
    "ClientError",
    "ClientSetupError",
    "OutputStringError",
    "Request",
    "Response",
    "TransportError",
    "go_path_clean",
]

Params = Mapping[str, str | list[str]] | Iterable[tuple[str, str]] | None


class ClientError(Exception):
    """Base class of every error the client raises; str() is the user-facing text."""


class ClientSetupError(ClientError):
    """The client cannot be built from the settings."""


class TransportError(ClientError):
    """No HTTP response: `<Method> "<url>": <reason>` like Go's url.Error."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        super().__init__(f'{method[:1].upper()}{method[1:].lower()} "{url}": {reason}')
        self.reason = reason


class OutputStringError(ClientError):
    """Raised instead of sending a request in -output-curl-string/-output-policy mode."""

    def __init__(self, request: Request) -> None:
        super().__init__("output string requested")
        self.request = request


class ApiError(ClientError):
    """An error status from the server, rendered like the reference client."""

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        errors: list[str],
        raw: bool = False,
        namespace: str = "",
        secret: Secret | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.errors = errors
        self.raw = raw
        self.namespace = namespace
        # A 404 that still carried warnings or data (the command prints it too).
        self.secret = secret
        super().__init__(self.render())

    def render(self) -> str:
        heading = "Raw Message" if self.raw else "Errors"
        ns = ""
        if self.namespace and self.namespace != "root/":
            ns = f"Namespace: {self.namespace}\n"
        text = (
            f"Error making API request.\n\n{ns}URL: {self.method} {self.url}\n"
            f"Code: {self.status}. {heading}:\n\n"
        )
        if self.raw and len(self.errors) == 1:
            return text + self.errors[0]
        return text + "".join(f"* {e}" for e in self.errors)


# --------------------------------------------------------------------------- URLs


def go_path_clean(path: str) -> str:
    """Go's path.Clean for an absolute path (no trailing slash, `.`/`..` resolved)."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


_PATH_SAFE = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,/:;=@"
)
_QUERY_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")


def _escape(text: str, safe: frozenset[int], plus_space: bool = False) -> str:
    out = []
    for byte in text.encode("utf-8", "surrogateescape"):
        if byte in safe:
            out.append(chr(byte))
        elif plus_space and byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def escape_path(path: str) -> str:
    """url.URL.EscapedPath for a path without a raw form."""
    return _escape(path, _PATH_SAFE)


def encode_query(params: list[tuple[str, str]]) -> str:
    """url.Values.Encode: keys sorted, values in order, QueryEscape'd."""
    order: dict[str, list[str]] = {}
    for key, value in params:
        order.setdefault(key, []).append(value)
    return "&".join(
        f"{_escape(k, _QUERY_SAFE, True)}={_escape(v, _QUERY_SAFE, True)}"
        for k in sorted(order)
        for v in order[k]
    )


def _params_list(params: Params) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        out: list[tuple[str, str]] = []
        for key, value in params.items():
            if isinstance(value, list):
                out.extend((key, v) for v in value)
            else:
                out.append((key, value))
        return out
    return list(params)


def canonical_header(name: str) -> str:
    """textproto.CanonicalMIMEHeaderKey: `x-vault-foo` -> `X-Vault-Foo`."""
    if not name or any(c in name for c in " \t\r\n:") or not name.isascii():
        return name
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


# --------------------------------------------------------------------------- request / response


@dataclass
class Request:
    """One request as it would be sent; `url` is what error messages show."""

    method: str
    scheme: str
    host: str  # host[:port] as in the address
    path: str  # cleaned, unescaped, e.g. /v1/secret/data/x
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    # Already-encoded query (a redirect's Location); overrides `params`.
    raw_query: str | None = None

    @property
    def target(self) -> str:
        query = encode_query(self.params) if self.raw_query is None else self.raw_query
        return escape_path(self.path) + (f"?{query}" if query else "")

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.target}"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    request: Request

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def error(self) -> ApiError | None:
        """The ApiError for an error status (2xx/3xx, and 429 from sys/health, are fine)."""
        if 200 <= self.status < 400 or (
            self.status == 429 and self.request.path.endswith("/v1/sys/health")
        ):
            return None
        errors: list[str]
        raw = False
        try:
            from strongroom.cli.secret import decode_json

            doc = decode_json(self.body)
            if doc is None:
                errors = []
            elif not isinstance(doc, dict):
                raise SecretDecodeError("not an object")
            else:
                found = doc.get("errors")
                if found is None:
                    errors = []
                elif isinstance(found, list) and all(isinstance(e, str) for e in found):
                    errors = list(found)
                else:
                    raise SecretDecodeError("bad errors")
        except (SecretDecodeError, ValueError):
            raw = True
            errors = [self.body.decode("utf-8", "replace")]
        return ApiError(
            self.request.method,
            self.request.url,
            self.status,
            errors,
            raw=raw,
            namespace=self.header("X-Vault-Namespace"),
        )


# --------------------------------------------------------------------------- client


def _canonical_namespace(ns: str) -> str:
    if not ns:
        return ""
    ns = ns.lstrip("/")
    return ns if ns.endswith("/") else ns + "/"


class Client:
    """The API client a command uses; build it with `Client.from_settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        address = settings.agent_address or settings.address
        self.base = _parse_address(address)
        self.token = settings.token
        self.namespace = _canonical_namespace(settings.namespace)
        self.headers = list(settings.headers)
        self.wrap_ttl = settings.wrap_ttl
        self.timeout = settings.timeout
        self.tls = TLSOptions(
            settings.ca_cert,
            settings.ca_path,
            settings.client_cert,
            settings.client_key,
            settings.tls_server_name,
            settings.tls_skip_verify,
        )
        self._ssl_context: Any = None
        self.last_output_request: Request | None = None

    @classmethod
    def from_settings(cls, settings: Settings, env_tls: TLSOptions | None = None) -> Client:
        """Validate like the reference client, in its order: environment TLS, flag TLS,
        address, headers. Raises ClientSetupError with the reference message."""
        if env_tls is not None and env_tls.any():
            try:
                build_ssl_context(env_tls)
            except TLSError as exc:
                raise ClientSetupError(f"failed to read environment: {exc}") from None
        tls = TLSOptions(
            settings.ca_cert,
            settings.ca_path,
            settings.client_cert,
            settings.client_key,
            settings.tls_server_name,
            settings.tls_skip_verify,
        )
        context = None
        if tls.any():
            try:
                context = build_ssl_context(tls)
            except TLSError as exc:
                raise ClientSetupError(f"failed to setup TLS config: {exc}") from None
        client = cls(settings)
        client._ssl_context = context
        forbidden = [k for k, _ in settings.headers if k.startswith("X-Vault-")]
        if forbidden:
            raise ClientSetupError(
                f"failed to setup Headers[{', '.join(forbidden)}]: "
                "Header starting by 'X-Vault-' are for internal usage only"
            )
        return client

    # -- building requests

    def new_request(
        self,
        method: str,
        path: str,
        params: Params = None,
        *,
        wrap_ttl: str | None = None,
    ) -> Request:
        """A request for API path `path` (without the /v1/ prefix)."""
        base_path = self.base.path
        full = go_path_clean(f"{base_path}/v1/{path}")
        headers: list[tuple[str, str]] = [("X-Vault-Request", "true")]
        if self.token:
            headers.append(("X-Vault-Token", self.token))
        ttl = self._wrap_ttl_for(method, path) if wrap_ttl is None else wrap_ttl
        if ttl:
            headers.append(("X-Vault-Wrap-Ttl", ttl))
        for mfa in self.settings.mfa:
            headers.append(("X-Vault-Mfa", mfa))
        if self.settings.policy_override:
            headers.append(("X-Vault-Policy-Override", "true"))
        if self.namespace:
            headers.append(("X-Vault-Namespace", self.namespace))
        headers.extend((canonical_header(k), v) for k, v in self.headers)
        return Request(
            method=method,
            scheme=self.base.scheme,
            host=self.base.netloc.rpartition("@")[2],
            path=full,
            params=_params_list(params),
            headers=headers,
        )

    def _wrap_ttl_for(self, method: str, path: str) -> str:
        if self.wrap_ttl:
            return self.wrap_ttl
        if method in ("PUT", "POST") and path.strip("/") == "sys/wrapping/wrap":
            return "5m"
        return ""

    # -- sending

    def send(self, request: Request, *, intercept: bool = True) -> Response:
        """Send (following one redirect) and return the response, whatever its status."""
        if intercept and (self.settings.output_curl_string or self.settings.output_policy):
            self.last_output_request = request
            raise OutputStringError(request)
        response = self._send_once(request)
        if response.status in (301, 302, 307) and response.header("Location"):
            location = urlsplit(response.header("Location"))
            if request.scheme == "https" and location.scheme and location.scheme != "https":
                raise TransportError(
                    request.method, request.url, "redirect would cause protocol downgrade"
                )
            from urllib.parse import unquote

            redirected = Request(
                method=request.method,
                scheme=location.scheme or request.scheme,
                host=location.netloc or request.host,
                path=unquote(location.path or "/", errors="surrogateescape"),
                headers=request.headers,
                body=request.body,
                raw_query=location.query,
            )
            response = self._send_once(redirected)
        return response

    def _connection(self, request: Request) -> Any:
        import http.client

        host, _, port_text = request.host.rpartition(":")
        if not host or not port_text.isdigit():
            host, port_text = request.host, ""
        host = host.strip("[]")
        if request.scheme == "https":
            port = int(port_text) if port_text else 443
            context = self._ssl_context
            if context is None:
                context = build_ssl_context(self.tls)
                self._ssl_context = context
            conn: Any = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=context
            )
            if self.tls.server_name:
                # SNI and verification use the configured name instead of the address.
                server_name = self.tls.server_name
                conn._server_hostname = server_name
                original = conn.connect

                def connect() -> None:
                    sock = socket.create_connection((host, port), self.timeout)
                    conn.sock = context.wrap_socket(sock, server_hostname=server_name)

                conn.connect = connect
                del original
            return conn, host, port
        port = int(port_text) if port_text else 80
        return http.client.HTTPConnection(host, port, timeout=self.timeout), host, port

    def _send_once(self, request: Request) -> Response:
        if request.scheme not in ("http", "https"):
            raise TransportError(
                request.method, request.url, f'unsupported protocol scheme "{request.scheme}"'
            )
        conn, host, port = self._connection(request)
        headers = dict(request.headers)
        headers["Host"] = request.host
        if request.body is not None:
            headers["Content-Length"] = str(len(request.body))
        try:
            conn.request(request.method, request.target, body=request.body, headers=headers)
            raw = conn.getresponse()
            body = raw.read()
            resp_headers = {k.lower(): v for k, v in raw.getheaders()}
            return Response(raw.status, resp_headers, body, request)
        except Exception as exc:
            reason = transport_reason(
                exc, host, port, request.scheme == "https", self.tls.server_name
            )
            raise TransportError(request.method, request.url, reason) from None
        finally:
            conn.close()

    # -- the reference client's logical operations

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        data: Any = None,
        body: bytes | None = None,
        content_type: str | None = None,
        intercept: bool = True,
        wrap_ttl: str | None = None,
    ) -> Response:
        """Send `method path` with an optional JSON body; raise ApiError for error statuses."""
        request = self.new_request(method, path, params, wrap_ttl=wrap_ttl)
        if data is not None:
            body = gojson.marshal(data).encode("utf-8", "surrogateescape")
        request.body = body
        if content_type:
            request.headers.insert(0, ("Content-Type", content_type))
        response = self.send(request, intercept=intercept)
        error = response.error()
        if error is not None:
            raise error
        return response

    def read_raw(self, path: str, params: Params = None) -> Response:
        """GET without error handling (used by `read -format=raw`)."""
        request = self.new_request("GET", path, params)
        return self.send(request)

    def _secret_or_none(self, method: str, path: str, params: Params = None) -> Secret | None:
        """Read-style semantics: a 404 is no secret unless it carries warnings or data."""
        request = self.new_request(method if method != "LIST" else "GET", path, params)
        if method == "LIST":
            request.params.append(("list", "true"))
        response = self.send(request)
        if response.status == 404:
            secret = parse_secret(response.body)
            if secret is not None and (secret.warnings or secret.data):
                return secret
            return None
        error = response.error()
        if error is not None:
            raise error
        if response.status == 204:
            return None
        return parse_secret(response.body)

    def read(self, path: str, params: Params = None) -> Secret | None:
        return self._secret_or_none("GET", path, params)

    def list(self, path: str, params: Params = None) -> Secret | None:
        return self._secret_or_none("LIST", path, params)

    def _write_style(
        self,
        method: str,
        path: str,
        data: Any,
        params: Params = None,
        content_type: str | None = None,
        body: bool = True,
    ) -> Secret | None:
        """Write-style semantics: errors raise; a 404 with warnings/data rides on the error.

        With `body` the data is always sent as JSON (None as `null`, like the reference).
        """
        request = self.new_request(method, path, params)
        if body:
            request.body = gojson.marshal(data).encode("utf-8", "surrogateescape")
        if content_type:
            request.headers.insert(0, ("Content-Type", content_type))
        response = self.send(request)
        error = response.error()
        if response.status == 404:
            secret = parse_secret(response.body)
            if error is not None:
                if secret is not None and (secret.warnings or secret.data):
                    error.secret = secret
                raise error
        if error is not None:
            raise error
        if response.status == 204:
            return None
        return parse_secret(response.body)

    def write(self, path: str, data: Any) -> Secret | None:
        return self._write_style("PUT", path, data)

    def delete(self, path: str, params: Params = None) -> Secret | None:
        return self._write_style("DELETE", path, None, params, body=False)

    def patch(self, path: str, data: Any) -> Secret | None:
        return self._write_style("PATCH", path, data, content_type="application/merge-patch+json")

    def unwrap(self, token: str = "") -> Secret | None:
        """PUT sys/wrapping/unwrap; without a token the client token is the wrapping token."""
        data: dict[str, str] | None = None
        wrapping = token.strip()
        if token:
            if not self.token:
                self.token = wrapping
            elif token != self.token:
                data = {"token": wrapping}
        request = self.new_request("PUT", "sys/wrapping/unwrap")
        request.body = gojson.marshal(data).encode()
        response = self.send(request)
        if response.status == 404:
            secret = parse_secret(response.body)
            if secret is not None and (secret.warnings or secret.data):
                return secret
            error = response.error()
            if error is not None:
                raise error
            return None
        error = response.error()
        if error is not None:
            raise error
        return parse_secret(response.body)

    # -- output modes

    def curl_string(self, request: Request) -> str:
        """The `-output-curl-string` text for a request."""
        out = ["curl "]
        if self.tls.skip_verify:
            out.append("--insecure ")
        if request.method != "GET":
            out.append(f"-X {request.method} ")
        for flag, value in (
            ("--cacert", self.tls.ca_cert),
            ("--capath", self.tls.ca_path),
            ("--cert", self.tls.client_cert if self.tls.client_key else ""),
            ("--key", self.tls.client_key if self.tls.client_cert else ""),
        ):
            if value:
                out.append(f"{flag} '{_shell_single(value)}' ")
        for name, value in request.headers:
            if name.lower() == "x-vault-token":
                value = "$(bao print token)"
            out.append(f'-H "{name}: {value}" ')
        if request.body:
            body = request.body.decode("utf-8", "surrogateescape")
            out.append(f"-d '{_shell_single(body)}' ")
        out.append(f'"{request.url}"')
        return "".join(out)

    def policy_string(self, request: Request) -> str:
        """The `-output-policy` HCL for a request."""
        from strongroom.cli.sudo import requires_sudo

        path = request.path
        prefix = go_path_clean(f"{self.base.path}/v1")
        if path.startswith(prefix):
            path = path[len(prefix) :]
        path = path.strip("/")
        if request.method in ("GET", "HEAD"):
            caps = ["list"] if ("list", "true") in request.params else ["read"]
        elif request.method in ("PUT", "POST"):
            caps = ["create", "update"]
        elif request.method == "PATCH":
            caps = ["patch"]
        elif request.method == "DELETE":
            caps = ["delete"]
        else:
            caps = []
        if requires_sudo(path):
            caps.append("sudo")
        quoted = ", ".join(f'"{c}"' for c in caps)
        return f'path "{path}" {{\n  capabilities = [{quoted}]\n}}'


def _shell_single(text: str) -> str:
    return text.replace("'", "'\"'\"'")


def _parse_address(address: str) -> SplitResult:
    """url.Parse of the address, with Go's error texts for the common failures."""
    quoted = f'"{address}"'
    if address.startswith(("http://[", "https://[")) and "]" not in address:
        raise ClientSetupError(f"failed to create client: parse {quoted}: missing ']' in host")
    try:
        parts = urlsplit(address)
        _ = parts.port
    except ValueError as exc:
        raise ClientSetupError(f"failed to create client: parse {quoted}: {exc}") from None
    if not parts.scheme:
        first = address.split("/", 1)[0]
        if ":" in first:
            raise ClientSetupError(
                f"failed to create client: parse {quoted}: "
                "first path segment in URL cannot contain colon"
            )
    return parts
