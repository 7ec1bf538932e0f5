"""Start real `strongroom server` processes for tests, on free loopback ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
STRONGROOM = str(BIN / "strongroom")
BAO = shutil.which("bao", path=str(BIN)) or "bao"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    args: list[str]
    addr: str
    home: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 20.0) -> ServerProcess:
        log = self.log_path.open("ab")
        env = {**os.environ, "HOME": str(self.home), **self.env}
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                httpx.get(f"{self.addr}/v1/sys/seal-status", timeout=0.5)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)


def dev_server(tmp: Path, token: str = "root") -> ServerProcess:
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    return ServerProcess(
        args=[
            STRONGROOM,
            "server",
            "-dev",
            f"-dev-root-token-id={token}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        addr=f"http://127.0.0.1:{port}",
        home=tmp,
        log_path=tmp / "server.log",
    )


def config_server(tmp: Path, config: str, port: int | None = None) -> ServerProcess:
    """A server from an HCL config; `{port}` and `{data}` in the text are filled in."""
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    data = tmp / "data"
    path = tmp / "config.hcl"
    path.write_text(config.replace("{port}", str(port)).replace("{data}", str(data)))
    return ServerProcess(
        args=[STRONGROOM, "server", f"-config={path}"],
        addr=f"http://127.0.0.1:{port}",
        home=tmp,
        log_path=tmp / "server.log",
    )


FILE_CONFIG = """
storage "file" {
  path = "{data}"
}
listener "tcp" {
  address     = "127.0.0.1:{port}"
  tls_disable = true
}
"""
