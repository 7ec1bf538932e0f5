"""The HTTP client: request shapes, error texts, curl strings and policies."""

from __future__ import annotations

import socket

import pytest

from strongroom.cli.client import (
    ApiError,
    Client,
    ClientSetupError,
    OutputStringError,
    TransportError,
    encode_query,
    escape_path,
    go_path_clean,
)
from strongroom.cli.env import Settings
from strongroom.cli.sudo import requires_sudo
from tests.unit.cli.helpers import fake_api


def client_for(address: str, **kw: object) -> Client:
    settings = Settings(address=address, token="root")
    for key, value in kw.items():
        setattr(settings, key, value)
    return Client.from_settings(settings)


def test_api_error_text() -> None:
    err = ApiError("GET", "http://127.0.0.1:8200/v1/secret/foo", 503, ["Vault is sealed"])
    assert str(err) == (
        "Error making API request.\n\n"
        "URL: GET http://127.0.0.1:8200/v1/secret/foo\n"
        "Code: 503. Errors:\n\n"
        "* Vault is sealed"
    )
    many = ApiError("PUT", "http://h/v1/x", 400, ["a", "b"], namespace="ns1/")
    assert str(many).endswith(
        "Namespace: ns1/\nURL: PUT http://h/v1/x\nCode: 400. Errors:\n\n* a* b"
    )
    raw = ApiError("GET", "http://h/v1/x", 502, ["<html>"], raw=True)
    assert str(raw).endswith("Code: 502. Raw Message:\n\n<html>")


def test_transport_error_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends
    client = client_for(f"http://127.0.0.1:{port}")
    with pytest.raises(TransportError) as info:
        client.read("secret/x")
    assert str(info.value) == (
        f'Get "http://127.0.0.1:{port}/v1/secret/x": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )
    with pytest.raises(TransportError, match=r'^Put "http://127\.0\.0\.1:\d+/v1/a\?list=x"'):
        client.request("PUT", "a", params={"list": "x"})


def test_unsupported_scheme() -> None:
    with pytest.raises(TransportError) as info:
        client_for("ftp://127.0.0.1:1").read("kv/t")
    assert str(info.value) == 'Get "ftp://127.0.0.1:1/v1/kv/t": unsupported protocol scheme "ftp"'


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("http://[::1", "failed to create client: parse \"http://[::1\": missing ']' in host"),
        (
            "127.0.0.1:8200",
            'failed to create client: parse "127.0.0.1:8200": '
            "first path segment in URL cannot contain colon",
        ),
    ],
)
def test_bad_address(address: str, message: str) -> None:
    with pytest.raises(ClientSetupError) as info:
        client_for(address)
    assert str(info.value) == message


def test_tls_setup_errors(tmp_path) -> None:
    with pytest.raises(ClientSetupError) as info:
        client_for("https://x", ca_cert="/nonexistent.pem")
    assert str(info.value) == (
        "failed to setup TLS config: Error loading CA File: "
        "open /nonexistent.pem: no such file or directory"
    )
    with pytest.raises(ClientSetupError) as info:
        client_for("https://x", client_cert="/c.pem")
    assert str(info.value) == (
        "failed to setup TLS config: both client cert and client key must be provided"
    )
    with pytest.raises(ClientSetupError) as info:
        client_for("https://x", ca_path="/nonexistent")
    assert (
        str(info.value)
        == "failed to setup TLS config: lstat /nonexistent: no such file or directory"
    )
    garbage = tmp_path / "g.pem"
    garbage.write_text("garbage\n")
    with pytest.raises(ClientSetupError) as info:
        client_for("https://x", ca_cert=str(garbage))
    assert str(info.value) == (
        f"failed to setup TLS config: Error loading CA File: Couldn't parse PEM in: {garbage}"
    )
    with pytest.raises(ClientSetupError) as info:
        client_for("http://x", headers=[("X-Vault-Foo", "1")])
    assert str(info.value) == (
        "failed to setup Headers[X-Vault-Foo]: Header starting by 'X-Vault-' are for internal "
        "usage only"
    )


def test_request_shapes() -> None:
    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/v1/redirect"):
            return 307, {"Location": "/v1/final"}, b""
        return 200, {}, b'{"data":{"ok":true}}'

    with fake_api(handle) as server:
        client = client_for(server.url + "/", namespace="ns1", headers=[("x-custom", "v")])
        client.write("kv//a/./b/", {"b": 1, "a": "<"})
        client.list("kv/dir/")
        client.patch("kv/p", {"x": None})
        client.delete("kv/d", [("k", "a b"), ("k", "2")])
        secret = client.read("redirect")
    assert secret is not None and secret.data == {"ok": True}
    methods = [(m, p) for m, p, _, _ in server.requests]
    assert methods == [
        ("PUT", "/v1/kv/a/b"),
        ("GET", "/v1/kv/dir?list=true"),
        ("PATCH", "/v1/kv/p"),
        ("DELETE", "/v1/kv/d?k=a+b&k=2"),
        ("GET", "/v1/redirect"),
        ("GET", "/v1/final"),
    ]
    _, _, headers, body = server.requests[0]
    assert body == b'{"a":"\\u003c","b":1}'
    assert headers["X-Vault-Request"] == "true"
    assert headers["X-Vault-Token"] == "root"
    assert headers["X-Vault-Namespace"] == "ns1/"
    assert headers["X-Custom"] == "v"
    assert server.requests[2][2]["Content-Type"] == "application/merge-patch+json"


def test_404_semantics() -> None:
    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if path == "/v1/warn":
            return 404, {}, b'{"data":null,"warnings":["w"]}'
        return 404, {}, b'{"errors":[]}'

    with fake_api(handle) as server:
        client = client_for(server.url)
        assert client.read("missing") is None
        assert client.read("warn").warnings == ["w"]
        with pytest.raises(ApiError) as info:
            client.write("warn", {"a": "1"})
    assert info.value.status == 404
    assert info.value.secret is not None and info.value.secret.warnings == ["w"]


def test_curl_string_and_policy(tmp_path) -> None:
    quoted = tmp_path / "a'b.pem"
    quoted.write_text(self_signed_pem())
    client = client_for(
        "http://127.0.0.1:8200",
        output_curl_string=True,
        tls_skip_verify=True,
        ca_cert=str(quoted),
        wrap_ttl="5m0s",
    )
    with pytest.raises(OutputStringError):
        client.write("kv/t", {"a": "it's"})
    request = client.last_output_request
    assert request is not None
    assert client.curl_string(request) == (
        "curl --insecure -X PUT --cacert '"
        + str(quoted).replace("'", "'\"'\"'")
        + '\' -H "X-Vault-Request: true" -H "X-Vault-Token: $(bao print token)" '
        '-H "X-Vault-Wrap-Ttl: 5m0s" '
        '-d \'{"a":"it\'"\'"\'s"}\' "http://127.0.0.1:8200/v1/kv/t"'
    )
    plain = client_for("http://127.0.0.1:8200", output_curl_string=True)
    with pytest.raises(OutputStringError):
        plain.list("kv/")
    assert plain.curl_string(plain.last_output_request) == (
        'curl -H "X-Vault-Request: true" -H "X-Vault-Token: $(bao print token)" '
        '"http://127.0.0.1:8200/v1/kv?list=true"'
    )
    assert plain.policy_string(plain.last_output_request) == (
        'path "kv" {\n  capabilities = ["list"]\n}'
    )
    with pytest.raises(OutputStringError):
        plain.delete("sys/audit/x")
    assert plain.policy_string(plain.last_output_request) == (
        'path "sys/audit/x" {\n  capabilities = ["delete", "sudo"]\n}'
    )


def test_url_helpers() -> None:
    assert go_path_clean("/v1//kv/./a/../b/") == "/v1/kv/b"
    assert go_path_clean("/v1/../../x") == "/x"
    assert escape_path("/v1/kv/t%20x?y é!") == "/v1/kv/t%2520x%3Fy%20%C3%A9%21"
    assert encode_query([("b", "x y"), ("a", "1"), ("b", "%&")]) == "a=1&b=x+y&b=%25%26"


@pytest.mark.parametrize(
    ("path", "sudo"),
    [
        ("sys/audit", True),
        ("sys/auth", False),
        ("sys/auth/x/tune", True),
        ("sys/leases/lookup", True),
        ("sys/plugins/catalog", False),
        ("sys/plugins/catalog/secret/x", True),
        ("sys/plugins/catalog/a/b/c", False),
        ("sys/rotate/keyring", True),
        ("sys/rotate/config", False),
        ("auth/token/accessors", True),
        ("auth/token/revoke-orphan", False),
        ("pki/root", True),
        ("x/pki/root", False),
    ],
)
def test_sudo_paths(path: str, sudo: bool) -> None:
    assert requires_sudo(path) is sudo


def self_signed_pem() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
