"""The fake's listener: HTTPS (or HTTP) on a loopback port, plus faults and the control API.

    fake = FakeAzure(cert_dir=tmp).start()      # in this process, on a free port
    fake.url, fake.ca                           # https://127.0.0.1:PORT, CA file to trust
    fake.fail("servicePrincipals.create", times=1, status=500)
    fake.down(seconds=3)                        # drop every Azure request for 3 s
    fake.state()                                # what exists now

Or from another process: `python -m tests.fakes.azure --port N --cert-dir DIR`, then

    GET    /_fake/state                   applications, service principals, groups, role
                                          assignments, deleted items (no secrets)
    POST   /_fake/faults                  {"operation": "roleAssignments.create", "times": 2,
                                           "status": 503, "code": "...", "message": "...",
                                           "reset": false, "after": false, "retry_after": 1}
                                          or {"down": true, "seconds": 3} / {"down": false}
    DELETE /_fake/faults                  clear faults, come back up
    GET    /_fake/calls  DELETE /_fake/calls   the call log (operation, method, path, status)
    POST   /_fake/settings                {"max_passwords": 5, "max_role_assignments": 10,
                                           "propagation_delay": 1.5}
    POST   /_fake/reset                   back to the seed state (settings too)
    POST   /_fake/applications            {"displayName": "x"} an existing application
                                          (with "service_principal": true, and its SP);
                                          with "root": true also its service principal with
                                          Graph permissions, Owner of the subscription and a
                                          password (returned as "secret")
    POST   /_fake/groups                  {"displayName": "x"}
    POST   /_fake/resourceGroups          {"name": "x"}

A fault hits the next `times` calls of an operation (`*` and shell patterns such
as `roleAssignments.*` work): the request is answered with the service's error
body and the given status (or, with `reset`, the connection is dropped), before
the operation runs, or after it (`after`: the change happened, the caller hears
of a failure). `down` drops every Azure request unanswered (the control API
keeps working).
"""

from __future__ import annotations

import fnmatch
import json
import socket
import ssl
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .models import AzureModel, FakeError, Settings
from .responses import Incoming, Reply, error_reply, handle, route
from .tls import ensure_certs


@dataclass
class Fault:
    operation: str
    times: int | None = 1  # None: until cleared
    status: int = 500
    code: str = ""
    message: str = "injected failure"
    reset: bool = False  # drop the connection instead of answering
    after: bool = False  # let the operation happen first
    retry_after: float | None = None
    hits: int = 0

    def applies(self, operation: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return fnmatch.fnmatchcase(operation, self.operation)


@dataclass
class Call:
    operation: str
    service: str
    method: str
    path: str
    status: int
    injected: bool
    time: float


class FakeAzure:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_dir: Path | None = None,
        tls: bool = True,
        model: AzureModel | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.model = model or AzureModel()
        self.tls = tls
        self.certs = ensure_certs(cert_dir) if tls and cert_dir is not None else None
        if tls and self.certs is None:
            raise ValueError("TLS needs a cert_dir for the throw-away CA")
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.down_until: float | None = None  # time.monotonic(); inf = until up()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca(self) -> str:
        return str(self.certs.ca) if self.certs is not None else ""

    def start(self) -> FakeAzure:
        owner = self

        class Handler(_Handler):
            fake = owner

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        if self.certs is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certs.cert, self.certs.key)
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True, name="fake-azure")
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    # ------------------------------------------------------------ control
    def fail(self, operation: str, **kwargs: Any) -> Fault:
        fault = Fault(operation, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def down(self, seconds: float | None = None) -> None:
        with self._lock:
            self.down_until = time.monotonic() + seconds if seconds else float("inf")

    def up(self) -> None:
        with self._lock:
            self.down_until = None

    def is_down(self) -> bool:
        with self._lock:
            return self.down_until is not None and time.monotonic() < self.down_until

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.calls.clear()
            self.down_until = None

    def state(self) -> dict[str, Any]:
        return self.model.state()

    def calls_for(self, operation: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if fnmatch.fnmatchcase(c.operation, operation)]

    def _fault_for(self, operation: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies(operation):
                    fault.hits += 1
                    return fault
        return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    # ------------------------------------------------------------ the control API
    def control(self, method: str, name: str, body: dict[str, Any]) -> Reply:
        model = self.model
        if (method, name) == ("GET", "state"):
            return Reply(200, self.state())
        if (method, name) == ("POST", "faults"):
            if "down" in body:
                if body["down"]:
                    self.down(body.get("seconds"))
                else:
                    self.up()
                return Reply(204)
            allowed = set(Fault.__dataclass_fields__) - {"hits"}
            fault = self.fail(**{k: v for k, v in body.items() if k in allowed})
            return Reply(200, asdict(fault))
        if (method, name) == ("DELETE", "faults"):
            with self._lock:
                self.faults.clear()
                self.down_until = None
            return Reply(204)
        if (method, name) == ("GET", "faults"):
            with self._lock:
                return Reply(
                    200,
                    {
                        "faults": [asdict(f) for f in self.faults],
                        "down": self.down_until is not None,
                    },
                )
        if (method, name) == ("GET", "calls"):
            with self._lock:
                return Reply(200, {"calls": [asdict(c) for c in self.calls]})
        if (method, name) == ("DELETE", "calls"):
            with self._lock:
                self.calls.clear()
            return Reply(204)
        if (method, name) == ("POST", "settings"):
            with model.lock:
                for key, value in body.items():
                    if key in Settings.__dataclass_fields__:
                        setattr(model.settings, key, type(getattr(model.settings, key))(value))
                return Reply(200, asdict(model.settings))
        if (method, name) == ("POST", "reset"):
            model.reset()
            self.clear()
            return Reply(204)
        if (method, name) == ("POST", "applications"):
            display = str(body.get("displayName") or "existing-app")
            if body.get("root"):
                app, secret = model.seed_root(display)
                return Reply(201, {**app.to_graph(), "secret": secret})
            app = model.seed_application(display)
            if body.get("service_principal"):
                model.seed_service_principal(app)
            return Reply(201, app.to_graph())
        if (method, name) == ("POST", "groups"):
            group = model.seed_group(str(body.get("displayName") or "group"))
            return Reply(201, group.to_graph())
        if (method, name) == ("POST", "resourceGroups"):
            rg = str(body.get("name") or "")
            with model.lock:
                model.resource_groups[rg.lower()] = rg
            return Reply(201, {"name": rg})
        return Reply(404, {"error": f"no control route {method} /_fake/{name}"})


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAzure
    protocol_version = "HTTP/1.1"
    server_version = "fake-azure/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ssl.SSLError, ConnectionError, OSError):
            self.close_connection = True

    def _dispatch(self) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = "/" + "/".join(p for p in unquote(parts.path).split("/") if p)
        if path.startswith("/_fake/") or path == "/_fake":
            try:
                data = json.loads(body) if body.strip() else {}
            except ValueError:
                data = {}
            self._send(fake.control(self.command, path[len("/_fake/") :], data or {}))
            return
        if fake.is_down():
            self._drop()
            return
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        host = self.headers.get("Host") or f"{fake.host}:{fake.port}"
        req = Incoming(
            self.command,
            path,
            query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
            f"{'https' if fake.tls else 'http'}://{host}",
        )
        routed = route(req)
        fault = fake._fault_for(routed.operation)
        injected = fault is not None
        if fault is not None and not fault.after:
            if fault.reset:
                fake._record(
                    Call(routed.operation, routed.service, self.command, path, 0, True, time.time())
                )
                self._drop()
                return
            reply = self._fault_reply(fault, routed.service)
        else:
            reply = handle(fake.model, routed, req)
            if fault is not None:
                if fault.reset:
                    fake._record(
                        Call(
                            routed.operation,
                            routed.service,
                            self.command,
                            path,
                            0,
                            True,
                            time.time(),
                        )
                    )
                    self._drop()
                    return
                reply = self._fault_reply(fault, routed.service)
        fake._record(
            Call(
                routed.operation,
                routed.service,
                self.command,
                path,
                reply.status,
                injected,
                time.time(),
            )
        )
        self._send(reply)

    @staticmethod
    def _fault_reply(fault: Fault, service: str) -> Reply:
        code = fault.code or {
            "graph": "serviceNotAvailable" if fault.status >= 500 else "Request_BadRequest",
            "arm": "InternalServerError" if fault.status >= 500 else "BadRequest",
            "login": "temporarily_unavailable" if fault.status >= 500 else "invalid_request",
        }.get(service, "InternalServerError")
        return error_reply(FakeError(fault.status, code, fault.message, service), fault.retry_after)

    def _drop(self) -> None:
        """Close without a word, as an unreachable or crashing endpoint would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("request-id", str(time.time_ns()))
        self.send_header("x-ms-request-id", str(time.time_ns()))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch
