"""The server command with configuration files: TLS, errors, HCL and JSON."""

from __future__ import annotations

import json
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.certs import make_pki
from tests.integration.server import STRONGROOM, ServerProcess, free_port


def _tls_server(tmp: Path, require_client_cert: bool) -> tuple[ServerProcess, object]:
    pki = make_pki(tmp / "pki")
    port = free_port()
    config = tmp / "tls.hcl"
    config.write_text(f'''
storage "inmem" {{}}
listener "tcp" {{
  address       = "127.0.0.1:{port}"
  tls_cert_file = "{pki.server_cert}"
  tls_key_file  = "{pki.server_key}"
  tls_client_ca_file = "{pki.ca}"
  tls_require_and_verify_client_cert = {str(require_client_cert).lower()}
}}
''')
    server = ServerProcess(
        [STRONGROOM, "server", f"-config={config}"],
        f"https://127.0.0.1:{port}",
        tmp,
        tmp / "server.log",
    )
    return server, pki


def _wait_tls(server: ServerProcess, ctx: ssl.SSLContext) -> None:
    import time

    assert server.proc is None
    log = server.log_path.open("ab")
    server.proc = subprocess.Popen(server.args, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            httpx.get(f"{server.addr}/v1/sys/seal-status", verify=ctx, timeout=0.5)
            return
        except (httpx.TransportError, ssl.SSLError):
            time.sleep(0.05)
    raise RuntimeError(server.output())


def _client_ctx(pki, with_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if with_cert:
        ctx.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    return ctx


def test_tls_listener_serves_https_and_accepts_a_client_cert(tmp_path: Path) -> None:
    server, pki = _tls_server(tmp_path, require_client_cert=False)
    _wait_tls(server, _client_ctx(pki, True))
    try:
        for with_cert in (False, True):
            r = httpx.get(f"{server.addr}/v1/sys/seal-status", verify=_client_ctx(pki, with_cert))
            assert r.status_code == 200
            assert r.json()["initialized"] is False
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.addr}/v1/sys/seal-status", verify=True)  # not our CA
    finally:
        server.stop()


def test_tls_client_cert_required(tmp_path: Path) -> None:
    server, pki = _tls_server(tmp_path, require_client_cert=True)
    _wait_tls(server, _client_ctx(pki, True))
    try:
        r = httpx.get(f"{server.addr}/v1/sys/seal-status", verify=_client_ctx(pki, True))
        assert r.status_code == 200
        with pytest.raises((httpx.TransportError, ssl.SSLError)):
            httpx.get(f"{server.addr}/v1/sys/seal-status", verify=_client_ctx(pki, False))
    finally:
        server.stop()


def test_unknown_stanza_is_named(tmp_path: Path) -> None:
    config = tmp_path / "bad.hcl"
    config.write_text('stroage "file" { path = "/tmp/x" }\nlistener "tcp" { tls_disable = true }\n')
    result = subprocess.run(
        [STRONGROOM, "server", f"-config={config}"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "stroage" in result.stderr
    assert str(config) in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_hcl_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "broken.hcl"
    config.write_text('storage "file" {\n  path = \n')
    result = subprocess.run(
        [STRONGROOM, "server", f"-config={config}"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert f"error loading configuration from {config}" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_config_with_legacy_backend_stanza(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "server.json"
    config.write_text(
        json.dumps(
            {
                "backend": {"file": {"path": str(tmp_path / "data")}},
                "listener": {"tcp": {"address": f"127.0.0.1:{port}", "tls_disable": True}},
                "default_lease_ttl": "1h",
                "max_lease_ttl": "2h",
                "disable_mlock": True,
                "ui": False,
            }
        )
    )
    server = ServerProcess(
        [STRONGROOM, "server", f"-config={config}"],
        f"http://127.0.0.1:{port}",
        tmp_path,
        tmp_path / "server.log",
    ).start()
    try:
        status = httpx.get(f"{server.addr}/v1/sys/seal-status").json()
        assert status["storage_type"] == "file" and status["initialized"] is False
        init = httpx.put(
            f"{server.addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}
        ).json()
        httpx.put(f"{server.addr}/v1/sys/unseal", json={"key": init["keys_base64"][0]})
        hdr = {"X-Vault-Token": init["root_token"]}
        tune = httpx.get(f"{server.addr}/v1/sys/mounts/cubbyhole/tune", headers=hdr).json()
        assert tune["data"]["default_lease_ttl"] == 3600
        assert tune["data"]["max_lease_ttl"] == 7200
        assert (tmp_path / "data").is_dir()
    finally:
        server.stop()


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    from tests.integration.server import dev_server

    server = dev_server(tmp_path).start()
    assert "Root Token: root" in server.output()
    assert "export VAULT_ADDR='http://127.0.0.1:" in server.output()
    assert server.stop() == 0
    assert "shutdown triggered" in server.output()
