"""The fake's HTTP server: the RAM/STS API on `/`, its control plane on `/_fake/`.

    fake = FakeAliCloud(port=0).start()      # a free loopback port
    fake.endpoint                            # "127.0.0.1:PORT", for the SDK's Config
    ...
    fake.stop()

Control plane (JSON in, JSON out), reachable unless the fake is "refusing":

    GET    /_fake/state     users, keys (no secrets), policies, attachments, roles, sessions
    GET    /_fake/calls     every API call seen: action, caller key, status, error code
    DELETE /_fake/calls     forget them
    GET    /_fake/faults    the injected faults and the down mode
    POST   /_fake/faults    {"action": "CreateAccessKey", "times": 1, "code": "InternalError",
                             "status": 500, "message": "...", "match": {"UserName": "..."}}
                            {"action": "*", "throttle": true, "times": 3}
                            {"down": "reset"|"503"|"refuse", "seconds": 5}   (refuse needs
                             seconds: the port itself is closed, so nothing could reopen it)
                            {"up": true}
    DELETE /_fake/faults    clear every fault and come back up
    POST   /_fake/quotas    {"users": 3, "access_keys_per_user": 2, ...}
    POST   /_fake/reset     back to the seeded account (root key, system policies), no faults
    GET    /_fake/health    {"ok": true}

`times: null` keeps a fault until it is cleared. Faults apply before the
request is authenticated, so a failed call changes nothing.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import responses
from .models import Account, AliCloudError


@dataclass
class Fault:
    action: str = "*"
    times: int | None = 1  # None: until cleared
    code: str = "InternalError"
    status: int = 500
    message: str = "The request processing has failed due to some unknown error."
    match: dict[str, str] = field(default_factory=dict)
    hits: int = 0

    def applies(self, action: str, params: dict[str, str]) -> bool:
        if self.action not in ("*", action):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        return all(params.get(k) == v for k, v in self.match.items())


@dataclass
class CallRecord:
    action: str
    service: str
    access_key_id: str
    style: str
    params: dict[str, str]
    status: int = 0
    code: str = ""
    injected: bool = False
    time: float = 0.0


class FakeAliCloud:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, account: Account | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.account = account or Account()
        self.faults: list[Fault] = []
        self.calls: list[CallRecord] = []
        self.mode = ""  # "", "reset", "503", "refuse"
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._timer: threading.Timer | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> FakeAliCloud:
        fake = self

        class Handler(_Handler):
            owner = fake

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), daemon=True, name="alicloud-fake"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._close()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self._drop_connections()

    def _drop_connections(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ------------------------------------------------------------ faults
    def fail(self, action: str = "*", **kwargs: Any) -> Fault:
        if kwargs.pop("throttle", False):
            code, status, message = responses.THROTTLED
            kwargs = {"code": code, "status": status, "message": message, **kwargs}
        fault = Fault(action, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    @staticmethod
    def check_down(mode: str, seconds: float | None) -> None:
        if mode not in ("reset", "503", "refuse"):
            raise ValueError(f"unknown down mode {mode!r}: reset, 503 or refuse")
        if mode == "refuse" and not seconds:
            raise ValueError("refuse closes the control plane too: give it seconds")

    def down(self, mode: str, seconds: float | None = None) -> None:
        """Become unreachable: drop connections unanswered, answer 503, or close the port."""
        self.check_down(mode, seconds)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.mode = mode
        if mode == "refuse":
            # Not from a request thread's own stack: shutdown() waits for serve_forever.
            self._drop_connections()
            threading.Thread(target=self._close, daemon=True).start()
        if seconds:
            self._timer = threading.Timer(seconds, self.up)
            self._timer.daemon = True
            self._timer.start()

    def up(self) -> None:
        if self.mode == "refuse":
            deadline = time.monotonic() + 5
            while self._server is not None and time.monotonic() < deadline:
                time.sleep(0.01)  # the close thread may still be running
            if self._server is None:
                self.start()  # the same port (allow_reuse_address)
        self.mode = ""

    def clear_faults(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.up()
        with self._lock:
            self.faults.clear()

    def _fault_for(self, action: str, params: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies(action, params):
                    fault.hits += 1
                    return fault
        return None

    # ------------------------------------------------------------ state
    def reset(self) -> None:
        self.clear_faults()
        self.account.reset()
        with self._lock:
            self.calls.clear()

    def record(self, call: CallRecord) -> None:
        with self._lock:
            self.calls.append(call)

    def calls_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(c) for c in self.calls]

    def faults_json(self) -> dict[str, Any]:
        with self._lock:
            return {"down": self.mode, "faults": [asdict(f) for f in self.faults]}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeAliCloud
    protocol_version = "HTTP/1.1"
    server_version = "AliyunFake/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
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

    def _hang_up(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, payload: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, value: Any) -> None:
        self._reply(status, json.dumps(value).encode(), [("Content-Type", "application/json")])

    def _handle(self) -> None:
        body = self._body()
        if self.owner.mode == "refuse":  # a kept-alive connection while the port closes
            self._hang_up()
            return
        if self.path.startswith("/_fake/"):
            self._control(body)
        else:
            self._api(body)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    # ------------------------------------------------------------ the API
    def _api(self, body: bytes) -> None:
        fake = self.owner
        if fake.mode == "reset":
            self._hang_up()
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = headers.get("host", fake.endpoint)
        request_id = responses.new_request_id()
        record = CallRecord("", "", "", "", {}, time=time.time())
        try:
            call = responses.parse(self.command, self.path, headers, body)
            record.action, record.service, record.style = call.action, call.service, call.style
            record.access_key_id, record.params = call.signed.access_key_id, call.params
            if fake.mode == "503":
                code, status, message = responses.UNAVAILABLE
                record.injected = True
                raise AliCloudError(status, code, message)
            fault = fake._fault_for(call.action, call.params)
            if fault is not None:
                record.injected = True
                raise AliCloudError(fault.status, fault.code, fault.message)
            result = responses.dispatch(fake.account, call)
        except AliCloudError as err:
            record.status, record.code = err.status, err.code
            fake.record(record)
            payload = responses.error_body(err, request_id, host, record.service)
            self._reply(err.status, payload, responses.JSON_HEADERS)
            return
        except Exception as err:  # a bug in the fake: say so like the cloud would
            record.status, record.code = 500, "InternalError"
            fake.record(record)
            failure = AliCloudError(500, "InternalError", f"fake failure: {err!r}")
            self._reply(
                500, responses.error_body(failure, request_id, host), responses.JSON_HEADERS
            )
            return
        record.status = 200
        fake.record(record)
        self._reply(200, responses.ok_body(result, request_id), responses.JSON_HEADERS)

    # ------------------------------------------------------------ control plane
    def _control(self, body: bytes) -> None:
        fake = self.owner
        route = self.path.split("?", 1)[0]
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            self._json(400, {"error": "body is not JSON"})
            return
        try:
            if route == "/_fake/health":
                self._json(200, {"ok": True})
            elif route == "/_fake/state" and self.command == "GET":
                self._json(200, fake.account.snapshot())
            elif route == "/_fake/calls" and self.command == "GET":
                self._json(200, fake.calls_json())
            elif route == "/_fake/calls" and self.command == "DELETE":
                with fake._lock:
                    fake.calls.clear()
                self._json(200, [])
            elif route == "/_fake/faults" and self.command == "GET":
                self._json(200, fake.faults_json())
            elif route == "/_fake/faults" and self.command == "POST":
                self._faults(data)
            elif route == "/_fake/faults" and self.command == "DELETE":
                fake.clear_faults()
                self._json(200, fake.faults_json())
            elif route == "/_fake/quotas" and self.command == "POST":
                self._json(200, fake.account.set_quotas(data))
            elif route == "/_fake/reset" and self.command == "POST":
                fake.reset()
                self._json(200, {"ok": True})
            else:
                self._json(404, {"error": f"no control route {self.command} {route}"})
        except (TypeError, ValueError) as err:
            self._json(400, {"error": str(err)})

    def _faults(self, data: dict[str, Any]) -> None:
        fake = self.owner
        if data.get("up"):
            fake.up()
        elif data.get("down"):
            mode, seconds = str(data["down"]), data.get("seconds")
            seconds = float(seconds) if seconds else None
            fake.check_down(mode, seconds)
            # Answer first: "refuse" closes this very port.
            if mode == "refuse":
                # Closing the port cuts this connection too: answer first.
                self._json(200, {"down": mode, "seconds": seconds})
                fake.down(mode, seconds)
            else:
                # Down before the answer, so the caller's next request sees it.
                fake.down(mode, seconds)
                self._json(200, {"down": mode, "seconds": seconds})
            return
        else:
            known = {"action", "times", "code", "status", "message", "match", "throttle"}
            unknown = set(data) - known
            if unknown:
                raise ValueError(f"unknown fault fields {sorted(unknown)}")
            fake.fail(**data)
        self._json(200, fake.faults_json())
