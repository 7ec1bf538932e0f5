"""Running the CLI in-process and serving canned API responses."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from strongroom.cli.base import UI
from strongroom.cli.main import run


@dataclass
class Result:
    stdout: str
    stderr: str
    code: int


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes = b"",
    tty: bool = False,
) -> Result:
    """`strongroom ARGS` in this process; the environment is exactly `env`."""
    out, err = io.BytesIO(), io.BytesIO()
    code = run(list(args), UI(out, err, tty), dict(env or {}), io.BytesIO(stdin))
    return Result(out.getvalue().decode(), err.getvalue().decode(), code)


# A handler gets (method, path with query, body) and returns (status, headers, body).
Handler = Callable[[str, str, bytes], tuple[int, dict[str, str], bytes]]


@dataclass
class FakeServer:
    url: str
    requests: list[tuple[str, str, dict[str, str], bytes]]


@contextmanager
def fake_api(handler: Handler) -> Iterator[FakeServer]:
    """An HTTP server on a free loopback port answering with `handler`."""
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    class _H(http.server.BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            seen.append((self.command, self.path, dict(self.headers), body))
            status, headers, payload = handler(self.command, self.path, body)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _any

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _H)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
