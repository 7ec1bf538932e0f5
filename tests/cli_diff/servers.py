"""Fresh servers for the differential CLI test: real OpenBao (`bao server`) and strongroom.

Each kind comes in two flavours:

* a **dev** server (initialised, unsealed, root token `root`, KV v2 at `secret/`) whose
  unseal key is read from the banner so the script can seal and unseal it again;
* an **uninitialised** server (inmem storage from a config file) for `operator init`.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.integration.server import BAO, STRONGROOM, ServerProcess

ROOT_TOKEN = "root"

# OpenBao refuses audit devices created through the API unless the server config allows
# it; `-dev` can be combined with `-config` files (strongroom's dev mode accepts the flag).
DEV_EXTRA_CONFIG = "unsafe_allow_api_audit_creation = true\n"

UNINIT_CONFIG = """
storage "inmem" {}
listener "tcp" {
  address     = "127.0.0.1:{port}"
  tls_disable = true
}
disable_mlock = true
unsafe_allow_api_audit_creation = true
"""

_UNSEAL_KEY = re.compile(r"^Unseal Key: (\S+)$", re.M)


@dataclass
class Target:
    """What the script runs against: a dev server and an uninitialised one."""

    kind: str  # "openbao" or "strongroom"
    dev: ServerProcess
    uninit: ServerProcess
    unseal_key: str

    @property
    def addr(self) -> str:
        return self.dev.addr

    def stop(self) -> None:
        for server in (self.dev, self.uninit):
            try:
                server.stop()
            except Exception:
                pass


def free_port() -> int:
    """A free loopback port whose successor is free too (OpenBao's dev cluster port)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free pair of loopback ports")


def _binary(kind: str) -> str:
    if kind == "openbao":
        return BAO
    if kind == "strongroom":
        return STRONGROOM
    raise ValueError(kind)


def _wait_health(addr: str, timeout: float = 20.0) -> None:
    """Wait until `sys/health` answers 200 (initialised, unsealed, active)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{addr}/v1/sys/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{addr}: sys/health never returned 200")


def _wait_banner(server: ServerProcess, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _UNSEAL_KEY.search(server.output())
        if found:
            return found.group(1)
        time.sleep(0.05)
    raise RuntimeError(f"no unseal key in the dev server banner:\n{server.output()}")


def start_target(kind: str, tmp: Path) -> Target:
    """Start a dev server and an uninitialised server of `kind` under `tmp`."""
    binary = _binary(kind)
    tmp.mkdir(parents=True, exist_ok=True)
    extra = tmp / "dev-extra.hcl"
    extra.write_text(DEV_EXTRA_CONFIG)
    dev_port = free_port()
    dev_home = tmp / "dev-home"
    dev_home.mkdir(exist_ok=True)
    args = [
        binary,
        "server",
        "-dev",
        f"-dev-root-token-id={ROOT_TOKEN}",
        f"-dev-listen-address=127.0.0.1:{dev_port}",
        "-dev-no-store-token",
        f"-config={extra}",
    ]
    dev = ServerProcess(
        args=args,
        addr=f"http://127.0.0.1:{dev_port}",
        home=dev_home,
        log_path=tmp / "dev.log",
    )
    uninit_port = free_port()
    uninit_home = tmp / "uninit-home"
    uninit_home.mkdir(exist_ok=True)
    config = tmp / "uninit.hcl"
    config.write_text(UNINIT_CONFIG.replace("{port}", str(uninit_port)))
    uninit = ServerProcess(
        args=[binary, "server", f"-config={config}"],
        addr=f"http://127.0.0.1:{uninit_port}",
        home=uninit_home,
        log_path=tmp / "uninit.log",
    )
    dev.start()
    try:
        uninit.start()
        _wait_health(dev.addr)
        key = _wait_banner(dev)
    except Exception:
        dev.stop()
        uninit.stop()
        raise
    return Target(kind=kind, dev=dev, uninit=uninit, unseal_key=key)
