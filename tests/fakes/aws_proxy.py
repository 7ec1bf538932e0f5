"""A fault-injecting HTTP proxy for AWS query-protocol APIs (IAM, STS), in front of moto.

    proxy = AwsProxy("http://127.0.0.1:5000").start()   # listens on a free loopback port
    proxy.fail("CreateAccessKey", code="ServiceFailure", status=500)   # every call
    proxy.fail("DeleteUser", code="Throttling", times=3)               # the next three
    proxy.delay_ms = 20                                                # before each call
    proxy.down("refuse")   # or "reset" (close without answering) or "500"
    proxy.up()
    proxy.calls            # every request seen: action, service, access key, timing

The AWS action is read from the form body (`Action=CreateUser&...`), the
service and access key id from the SigV4 `Authorization` header. Injected
errors use AWS's XML error shape, so botocore raises a normal ClientError with
the given code. Everything else is forwarded unchanged (the `Host` header too,
so SigV4 signatures still verify when moto checks them).
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer"}
_NAMESPACE = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}


@dataclass
class Call:
    action: str
    service: str
    access_key: str
    params: dict[str, str]
    start: float  # time.monotonic()
    end: float = 0.0
    status: int = 0
    injected: bool = False

    def overlaps(self, other: Call) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class Fault:
    action: str
    code: str = "ServiceFailure"
    status: int = 500
    message: str = "injected failure"
    times: int | None = None  # None: until cleared
    match: dict[str, str] = field(default_factory=dict)  # form parameters that must be equal
    hits: int = 0

    def applies(self, call: Call) -> bool:
        if self.action not in ("*", call.action):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        return all(call.params.get(k) == v for k, v in self.match.items())


class AwsProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.host = host
        self.port = 0
        self.delay_ms = 0
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.mode = ""  # "", "refuse", "reset", "500"
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()  # open client connections (keep-alive)

    # ------------------------------------------------------------ control
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> AwsProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True, name="aws-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def fail(self, action: str, **kwargs: Any) -> Fault:
        fault = Fault(action, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def down(self, mode: str = "refuse") -> None:
        """Make AWS unreachable: refuse connections, drop them unanswered, or answer 500."""
        assert mode in ("refuse", "reset", "500")
        self.mode = mode
        if mode == "refuse":
            self.stop()
            self.drop_connections()

    def drop_connections(self) -> None:
        """Close every open client connection (clients keep them alive between calls)."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def up(self) -> None:
        if self.mode == "refuse" and self._server is None:
            self.start()  # the same port: allow_reuse_address
        self.mode = ""

    def reset(self) -> None:
        """Clear faults, delay, down mode and the call log (between tests)."""
        self.up()
        with self._lock:
            self.faults.clear()
            self.calls.clear()
        self.delay_ms = 0

    def actions(self, service: str | None = None) -> list[str]:
        with self._lock:
            return [c.action for c in self.calls if service is None or c.service == service]

    def calls_for(self, action: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.action == action]

    # ------------------------------------------------------------ internals
    def _fault_for(self, call: Call) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies(call):
                    fault.hits += 1
                    return fault
        return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


class _Handler(BaseHTTPRequestHandler):
    owner: AwsProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in one segment; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.owner._lock:
            self.owner._sockets.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._sockets.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _handle(self) -> None:
        proxy = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        start = time.monotonic()
        call = Call(*_describe(self.headers.get("Authorization", ""), body, self.path), start=start)
        proxy._record(call)
        if proxy.mode in ("reset", "refuse"):
            call.end, call.status = time.monotonic(), -1
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if proxy.delay_ms:
            time.sleep(proxy.delay_ms / 1000)
        if proxy.mode == "500":
            self._error(call, "InternalFailure", 500, "service unavailable (proxy is down)")
            return
        fault = proxy._fault_for(call)
        if fault is not None:
            self._error(call, fault.code, fault.status, fault.message)
            return
        self._forward(call, body)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def _error(self, call: Call, code: str, status: int, message: str) -> None:
        namespace = _NAMESPACE.get(call.service, _NAMESPACE["iam"])
        kind = "Receiver" if status >= 500 else "Sender"
        payload = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
            f"<Code>{code}</Code><Message>{_xml_escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
        call.injected = True
        self._reply(call, status, [("Content-Type", "text/xml")], payload)

    def _forward(self, call: Call, body: bytes) -> None:
        proxy = self.owner
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
            out = [(k, v) for k, v in out if k.lower() != "content-length"]
            self._reply(call, resp.status, out, payload)
        except OSError as err:
            self._error(call, "ProxyUpstreamError", 502, str(err))
        finally:
            conn.close()

    def _reply(
        self, call: Call, status: int, headers: list[tuple[str, str]], payload: bytes
    ) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self._headers_buffer.append(b"\r\n")  # end_headers() without its separate flush
        self.wfile.write(b"".join(self._headers_buffer) + payload)
        self._headers_buffer = []
        call.end, call.status = time.monotonic(), status


def _describe(authorization: str, body: bytes, path: str) -> tuple[str, str, str, dict[str, str]]:
    """(action, service, access key id, form parameters) of one request."""
    params: dict[str, str] = {}
    try:
        form = parse_qs(body.decode(), keep_blank_values=True) if body else {}
    except UnicodeDecodeError:
        form = {}
    if not form and "?" in path:
        form = parse_qs(path.split("?", 1)[1], keep_blank_values=True)
    for key, values in form.items():
        params[key] = values[0] if values else ""
    match = _CREDENTIAL.search(authorization)
    access_key, service = (match.group(1), match.group(3)) if match else ("", "")
    return params.get("Action", ""), service, access_key, params


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
