"""The fake's HTTP server: Google's APIs below /<service>/, the test controls below /_fake/.

    server = FakeGcpServer().start()        # a thread, on a free loopback port
    server.url                              # http://127.0.0.1:PORT
    server.stop()

or as a process: `python -m tests.fakes.gcp --port N`.

Control endpoints (never subject to faults, the outage or authentication):

    GET    /_fake/state            everything (projects, accounts, keys, policies, ...)
    POST   /_fake/reset            forget everything
    GET    /_fake/calls            the API calls seen: operation, status, caller
    DELETE /_fake/calls
    POST   /_fake/projects         {"projectId", "serviceAccountQuota"?}
    POST   /_fake/service-accounts {"project", "accountId", "roles"?: [project roles],
                                    "publicKeyPem"? | "key"?: true}
    DELETE /_fake/service-accounts/<email>
    POST   /_fake/buckets          {"name", "project"}
    POST   /_fake/topics           {"project", "topic"}
    POST   /_fake/subscriptions    {"project", "subscription"}
    POST   /_fake/bindings         {"kind": project|serviceAccount|bucket|topic|subscription,
                                    "name", "role", "member"}
    GET    /_fake/faults
    POST   /_fake/faults           {"operation", "times"?: 1 (null: always), "status"?: 500,
                                    "message"?, "gcpStatus"?, "action"?: error|delay|
                                    concurrent_change|lose_response, "delayMs"?}
                                   or {"down": true|"reset"|"503"|false}
    DELETE /_fake/faults           clear the faults and come back up

Fault actions: `error` answers with a Google error body and does nothing;
`delay` waits first; `concurrent_change` lets someone else write the IAM policy
right after a getIamPolicy (so the caller's etag goes stale); `lose_response`
does the operation and then drops the connection (the caller cannot know).
`down` "reset" (or true) closes every API connection without an answer, the
way an unreachable cloud looks to a client; "503" answers UNAVAILABLE.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from . import responses
from .models import GcpApiError, GcpState


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read the call log instead

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any) -> None:
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _drop(self) -> None:
        """Close the connection without an answer (the cloud is unreachable)."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _serve(self, method: str) -> None:
        state = self.server.state
        raw = self._body()
        if self.path.startswith("/_fake/"):
            try:
                status, body = _control(state, method, self.path, raw)
            except (KeyError, ValueError, TypeError) as err:
                status, body = 400, {"error": f"bad control request: {err}"}
            except GcpApiError as err:
                status, body = err.code, responses.error_body("", err)
            self._send(status, body)
            return
        call = responses.route(method, self.path)
        entry: dict[str, Any] = {
            "operation": call.operation,
            "method": method,
            "path": "/" + call.service + "/" + call.path,
            "time": time.time(),
        }
        if state.down:
            entry.update(status=0, injected=True)
            state.record(entry)
            if state.down == "503":
                self._send(
                    503, responses.error_body(call.service, responses.injected_error(503, "", ""))
                )
            else:
                self._drop()
            return
        race = lose = False
        for fault in state.take_faults(call.operation):
            if fault.action == "delay":
                time.sleep(fault.delay_ms / 1000)
            elif fault.action == "concurrent_change":
                race = True
            elif fault.action == "lose_response":
                lose = True
            else:
                err = responses.injected_error(fault.status, fault.message, fault.gcp_status)
                entry.update(status=fault.status, injected=True)
                state.record(entry)
                self._send(fault.status, responses.error_body(call.service, err))
                return
        try:
            body = responses.parse_body(call, self.headers.get("Content-Type", ""), raw)
        except GcpApiError as err:
            entry.update(status=err.code)
            state.record(entry)
            self._send(err.code, responses.error_body(call.service, err))
            return
        status, result, caller = responses.dispatch(
            state, call, self.headers.get("Authorization", ""), body
        )
        if race and status == 200:
            target = responses.policy_target(call)
            if target is not None:
                state.race_policy(*target)
        entry.update(status=status, caller=caller)
        if lose:
            entry["injected"] = True
            state.record(entry)
            self._drop()  # done on the cloud's side, but the answer never arrives
            return
        state.record(entry)
        self._send(status, result)


def _control(state: GcpState, method: str, path: str, raw: bytes) -> tuple[int, Any]:
    body = json.loads(raw) if raw else {}
    what = path.split("?", 1)[0][len("/_fake/") :].strip("/")
    if what == "state" and method == "GET":
        return 200, state.snapshot()
    if what == "reset" and method == "POST":
        state.reset()
        return 200, {}
    if what == "calls":
        if method == "DELETE":
            with state.lock:
                state.calls.clear()
            return 200, {}
        with state.lock:
            return 200, {"calls": list(state.calls)}
    if what == "faults":
        if method == "DELETE":
            state.clear_faults()
            return 200, {}
        if method == "POST":
            return 200, state.add_fault(body)
        with state.lock:
            return 200, {"faults": [f.to_json() for f in state.faults], "down": state.down}
    if what == "projects" and method == "POST":
        return 200, state.seed_project(body["projectId"], int(body.get("serviceAccountQuota", 100)))
    if what == "service-accounts" and method == "POST":
        return 200, state.seed_account(body)
    if what.startswith("service-accounts/") and method == "DELETE":
        state.seed_delete_account(unquote(what.split("/", 1)[1]))
        return 200, {}
    if what == "buckets" and method == "POST":
        state.seed_bucket(body["name"], body["project"])
        return 200, {}
    if what == "topics" and method == "POST":
        state.seed_topic(body["project"], body["topic"])
        return 200, {}
    if what == "subscriptions" and method == "POST":
        state.seed_subscription(body["project"], body["subscription"])
        return 200, {}
    if what == "bindings" and method == "POST":
        state.seed_binding(body["kind"], body["name"], body["role"], body["member"])
        return 200, {}
    return 404, {"error": f"no control endpoint {method} /_fake/{what}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: GcpState


class FakeGcpServer:
    """The fake on a loopback port, served from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _Server((host, port), _Handler)
        self.host = host
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.state = GcpState(self.url)
        self._httpd.state = self.state
        self._thread: threading.Thread | None = None

    def start(self) -> FakeGcpServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-gcp", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
