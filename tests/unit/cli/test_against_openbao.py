"""`strongroom` and the real `bao` (OpenBao 2.7.2) against the same OpenBao dev server.

Both CLIs run as subprocesses with the same environment; stdout, stderr and the
exit code must be identical once request ids, tokens, accessors and times are
masked.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
BAO = shutil.which("bao", path=str(BIN)) or "bao"
STRONGROOM = str(BIN / "strongroom")

_MASKS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<UUID>"),
    (re.compile(r"\bs\.[A-Za-z0-9]{24}\b"), "<TOKEN>"),
    (re.compile(r"\b[A-Za-z0-9]{24}\b"), "<ACCESSOR>"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z| \+0000 UTC)"), "<TIME>"),
    (re.compile(r"\d\d [A-Z][a-z]{2} \d\d \d\d:\d\d UTC"), "<RFC822>"),
    (re.compile(r"(Encryption Count\s+|Key Term\s+)\d+"), r"\1<N>"),
]


def _mask(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A `bao server -dev` on a free loopback port; yields the client environment."""
    home = tmp_path_factory.mktemp("openbao-home")
    port = _free_port()
    addr = f"http://127.0.0.1:{port}"
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [BAO, "server", "-dev", "-dev-root-token-id=root", f"-dev-listen-address=127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HOME": str(home)},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{addr}/v1/sys/health", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("OpenBao dev server did not start") from None
                time.sleep(0.1)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "BAO_ADDR": addr,
            "BAO_TOKEN": "root",
        }
        seed = [
            ["secrets", "enable", "-path=kv", "kv"],
            ["write", "kv/cli", "a=1", "b=true", "c=3.5"],
            ["write", "kv/cli10", "x=1"],
            ["write", "kv/cli2", "ttl=90061", "nested=x"],
        ]
        for args in seed:
            subprocess.run([BAO, *args], env=env, check=True, capture_output=True)
        yield env
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _run(binary: str, args: list[str], env: dict[str, str], stdin: str) -> tuple[str, str, int]:
    result = subprocess.run(
        [binary, *args], env=env, input=stdin.encode(), capture_output=True, timeout=60
    )
    return (
        _mask(result.stdout.decode()),
        _mask(result.stderr.decode().replace("strongroom", "bao")),
        result.returncode,
    )


CASES = [
    ["read", "kv/cli"],
    ["read", "-format=json", "kv/cli"],
    ["read", "-format=yaml", "kv/cli"],
    ["read", "-field=a", "kv/cli"],
    ["read", "-field=ttl", "kv/cli2"],
    ["read", "-format=json", "-field=b", "kv/cli"],
    ["read", "-field=nope", "kv/cli"],
    ["read", "-format=raw", "kv/cli"],
    ["read", "kv/cli2"],
    ["read", "kv/missing"],
    ["read", "-format=json", "kv/missing"],
    ["read", "secret/foo"],
    ["read", "-format=yaml", "secret/foo"],
    ["read", "sys/seal-status"],
    ["read", "kv/cli", "-x=1"],
    ["write", "kv/written", "a=1", "b=2"],
    ["write", "kv/written"],
    ["write", "kv/written", "noequals"],
    ["write", "kv/written", "k=@/nonexistent"],
    ["write", "secret/foo", "a=1"],
    ["write", "auth/token/create", "ttl=1h", "policies=default"],
    ["write", "-format=json", "auth/token/create", "ttl=1h"],
    ["list", "kv/"],
    ["list", "-format=json", "kv/"],
    ["list", "-format=yaml", "kv"],
    ["list", "kv/nothing"],
    ["list", "-format=json", "kv/nothing"],
    ["list", "secret/"],
    ["list", "-detailed", "sys/version-history"],
    ["delete", "kv/written"],
    ["delete", "secret/foo"],
    ["status"],
    ["status", "-format=json"],
    ["status", "-format=yaml"],
    ["operator", "key-status"],
    ["operator", "key-status", "-format=json"],
    ["operator", "init", "-status"],
    ["operator", "unseal"],
    ["path-help", "kv/"],
    ["unwrap", "nonsense"],
    ["read", "-nonsense", "kv/cli"],
    ["read"],
    ["status", "-format=xml"],
    ["status", "-format=raw"],
    ["read", "-tls-skip-verify=maybe", "kv/cli"],
    ["read", "-header=X-Vault-Foo=1", "kv/cli"],
    ["read", "-ca-cert=/nonexistent.pem", "kv/cli"],
    ["read", "-output-policy", "sys/audit"],
]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_same_as_bao(openbao: dict[str, str], args: list[str]) -> None:
    expected = _run(BAO, args, openbao, "")
    assert _run(STRONGROOM, args, openbao, "") == expected


def test_stdin_json(openbao: dict[str, str]) -> None:
    args = ["write", "kv/fromstdin", "-"]
    assert _run(STRONGROOM, args, openbao, '{"n":1.50,"s":"x"}') == _run(
        BAO, args, openbao, '{"n":1.50,"s":"x"}'
    )
    read = ["read", "-format=json", "kv/fromstdin"]
    assert _run(STRONGROOM, read, openbao, "") == _run(BAO, read, openbao, "")
    bad = ["write", "kv/fromstdin", "-"]
    assert _run(STRONGROOM, bad, openbao, "x") == _run(BAO, bad, openbao, "x")


@pytest.mark.parametrize(
    "args",
    [["status"], ["read", "kv/cli"], ["list", "kv/"], ["write", "kv/x", "a=1"]],
    ids=" ".join,
)
def test_unreachable_address(openbao: dict[str, str], args: list[str]) -> None:
    env = {**openbao, "BAO_ADDR": f"http://127.0.0.1:{_free_port()}"}
    expected = _run(BAO, args, env, "")
    assert _run(STRONGROOM, args, env, "") == expected
    assert "connect: connection refused" in expected[1]
