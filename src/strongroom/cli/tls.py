"""TLS setup and transport error texts for the CLI's HTTP client.

`build_ssl_context` turns the -ca-cert/-ca-path/-client-cert/-client-key/
-tls-server-name/-tls-skip-verify settings into an `ssl.SSLContext`, failing
with the reference client's messages (`Error loading CA File: open x: no such
file or directory`, `both client cert and client key must be provided`, ...).
`transport_reason` renders a failed request's cause the way Go's net/http and
crypto/tls do (`dial tcp 127.0.0.1:1: connect: connection refused`).
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from typing import Any

__all__ = ["TLSError", "TLSOptions", "build_ssl_context", "transport_reason"]


class TLSError(Exception):
    """Bad TLS settings; str() is the reference message (without the prefix)."""


def _go_open_error(path: str, exc: OSError, op: str = "open") -> str:
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    if exc.errno == errno.EISDIR:
        op = "read"
    return f"{op} {path}: {reason}"


def _read_file(path: str, op: str = "open") -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise TLSError(_go_open_error(path, exc, op)) from None


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    blocks = []
    text = data
    while True:
        start = text.find(b"-----BEGIN ")
        if start < 0:
            return blocks
        head_end = text.find(b"-----", start + 11)
        if head_end < 0:
            return blocks
        kind = text[start + 11 : head_end].decode("ascii", "replace")
        end_marker = b"-----END " + kind.encode() + b"-----"
        end = text.find(end_marker, head_end)
        if end < 0:
            return blocks
        blocks.append((kind, text[start : end + len(end_marker)]))
        text = text[end + len(end_marker) :]


def _ca_pem(paths: list[str]) -> str:
    certs = []
    for path in paths:
        data = _read_file(path)
        certs.extend(
            b.decode("ascii", "replace") for k, b in _pem_blocks(data) if k == "CERTIFICATE"
        )
    return "\n".join(certs)


def _walk_ca_path(ca_path: str) -> list[str]:
    try:
        os.lstat(ca_path)
    except OSError as exc:
        raise TLSError(_go_open_error(ca_path, exc, "lstat")) from None
    if not os.path.isdir(ca_path):
        return [ca_path]
    found = []
    for root, dirs, files in os.walk(ca_path):
        dirs.sort()
        found.extend(os.path.join(root, name) for name in sorted(files))
    return found


@dataclass
class TLSOptions:
    ca_cert: str = ""
    ca_path: str = ""
    client_cert: str = ""
    client_key: str = ""
    server_name: str = ""
    skip_verify: bool = False

    def any(self) -> bool:
        return bool(
            self.ca_cert
            or self.ca_path
            or self.client_cert
            or self.client_key
            or self.server_name
            or self.skip_verify
        )


def build_ssl_context(opts: TLSOptions) -> Any:
    """An ssl.SSLContext for the options; TLSError with Go-like texts."""
    import ssl

    ctx = ssl.create_default_context()
    if opts.client_cert and opts.client_key:
        cert_pem = _read_file(opts.client_cert)
        key_pem = _read_file(opts.client_key)
        if not any(k == "CERTIFICATE" for k, _ in _pem_blocks(cert_pem)):
            raise TLSError("tls: failed to find any PEM data in certificate input")
        key_kinds = [k for k, _ in _pem_blocks(key_pem)]
        if not key_kinds:
            raise TLSError("tls: failed to find any PEM data in key input")
        if all(k == "CERTIFICATE" for k in key_kinds):
            raise TLSError(
                "tls: found a certificate rather than a key in the PEM for the private key"
            )
        try:
            ctx.load_cert_chain(opts.client_cert, opts.client_key)
        except (ssl.SSLError, OSError):
            raise TLSError("tls: private key does not match public key") from None
    elif opts.client_cert or opts.client_key:
        raise TLSError("both client cert and client key must be provided")
    if opts.ca_cert:
        try:
            pem = _ca_pem([opts.ca_cert])
        except TLSError as exc:
            raise TLSError(f"Error loading CA File: {exc}") from None
        if not pem:
            raise TLSError(f"Error loading CA File: Couldn't parse PEM in: {opts.ca_cert}")
        ctx = _with_cas(ctx, pem, opts)
    elif opts.ca_path:
        try:
            pem = _ca_pem(_walk_ca_path(opts.ca_path))
        except TLSError as exc:
            text = str(exc)
            if not text.startswith("lstat "):
                text = f"Error loading file from CAPath: {text}"
            raise TLSError(text) from None
        ctx = _with_cas(ctx, pem, opts)
    if opts.skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _with_cas(ctx: Any, pem: str, opts: TLSOptions) -> Any:
    """Replace the default roots by exactly the given CAs (like a custom RootCAs pool)."""
    import ssl

    fresh = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if opts.client_cert and opts.client_key:
        fresh.load_cert_chain(opts.client_cert, opts.client_key)
    if pem:
        try:
            fresh.load_verify_locations(cadata=pem)
        except ssl.SSLError:
            raise TLSError(
                f"Error loading CA File: Couldn't parse PEM in: {opts.ca_cert or opts.ca_path}"
            ) from None
    del ctx
    return fresh


# --------------------------------------------------------------------------- transport errors


def _peer_names(host: str, port: int, server_name: str) -> tuple[list[str], list[str]]:
    """The DNS and IP SANs of the server's certificate (fetched without verification)."""
    import ipaddress
    import ssl

    from cryptography import x509

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), 10) as sock,
        ctx.wrap_socket(sock, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der or b"")
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = list(sans.get_values_for_type(x509.DNSName))
    ips = [str(ipaddress.ip_address(ip)) for ip in sans.get_values_for_type(x509.IPAddress)]
    return dns, ips


def _hostname_error(host: str, port: int, server_name: str) -> str:
    """Go's x509.HostnameError text for a certificate that does not match `server_name`."""
    import ipaddress

    try:
        dns, ips = _peer_names(host, port, server_name)
    except Exception:
        return f"x509: certificate is not valid for {server_name}"
    try:
        ipaddress.ip_address(server_name)
        is_ip = True
    except ValueError:
        is_ip = False
    if is_ip:
        if not ips:
            return (
                f"x509: cannot validate certificate for {server_name} "
                "because it doesn't contain any IP SANs"
            )
        valid = ", ".join(ips)
    else:
        valid = ", ".join(dns)
    if not valid:
        return f"x509: certificate is not valid for any names, but wanted to match {server_name}"
    return f"x509: certificate is valid for {valid}, not {server_name}"


def transport_reason(
    exc: BaseException, host: str, port: int, tls: bool, server_name: str = ""
) -> str:
    import ssl

    addr = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = (exc.verify_message or str(exc)).lower()
        if "hostname mismatch" in message or "ip address mismatch" in message:
            detail = _hostname_error(host, port, server_name or host)
            return f"tls: failed to verify certificate: {detail}"
        if "expired" in message:
            return (
                "tls: failed to verify certificate: "
                "x509: certificate has expired or is not yet valid"
            )
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or "").upper()
        if tls and reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"):
            return "http: server gave HTTP response to HTTPS client"
        return f"remote error: tls: {exc.reason or exc}".lower()
    if isinstance(exc, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    if isinstance(exc, ConnectionRefusedError):
        return f"dial tcp {addr}: connect: connection refused"
    if isinstance(exc, ConnectionResetError):
        return f"read tcp {addr}: read: connection reset by peer"
    if isinstance(exc, OSError) and exc.errno is not None:
        text = os.strerror(exc.errno).lower()
        return f"dial tcp {addr}: connect: {text}"
    return "EOF"
