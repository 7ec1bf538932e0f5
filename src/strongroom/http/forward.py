"""Forwarding a request that reached a standby node to the active one.

A standby builds no state of its own, so everything but the seal/health
endpoints is answered by the active node: the standby replays the HTTP request
(method, path and query, headers, body) against the active node's `api_addr`
and relays the answer unchanged, so clients pointed at any node just work.

Only where forwarding is impossible does the client get Vault's answer for a
standby, `307 Temporary Redirect` to the active node: when the active node
cannot be reached from here (connection refused, TLS verification failed:
the client may still reach it), or when the request was already forwarded
once (the leadership moved meanwhile; never bounce between nodes). With no
active node known the client gets `503 node is not active`. When the active
node fails after the request was sent, the client gets `502` rather than a
redirect: the request may have run there, and a redirect would repeat it.

The active node sees the standby as the peer address. So that source-address
checks (token and secret-ID CIDR bindings) still see the real client, the
standby signs the client address with a key only unsealed nodes can read
(`core/ha/forwarding-key`, inside the barrier); the active node trusts the
address only when the signature checks out and is recent.

The client is a small HTTP/1.1 client on h11 with
a keep-alive pool per active node. TLS to the active node verifies against the
system CAs plus `VAULT_CACERT`/`BAO_CACERT` (file) or `VAULT_CAPATH`/`BAO_CAPATH`
(directory) from the server's environment.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import ssl
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import h11

from strongroom.core.errors import VaultError
from strongroom.http.request import HttpRequest

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.ha import LeaderInfo, StandbyError

log = logging.getLogger("strongroom.http")

FORWARD_HEADER = "x-strongroom-forwarded"
_FORWARD_HEADER_B = FORWARD_HEADER.encode()
SIGNATURE_MAX_AGE = 60  # seconds a signed client address stays acceptable
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 90.0  # Vault's default max_request_duration
MAX_IDLE_PER_NODE = 64
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
        "date",
        "server",
        FORWARD_HEADER,
    }
)
_HOP_BY_HOP_B = frozenset(name.encode() for name in _HOP_BY_HOP)


class Relayed(Exception):
    """A complete answer for the client, produced on a standby (raised out of the app)."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers
        self.body = body


class ForwardError(Exception):
    """The active node could not be reached (`sent` False) or failed mid-request."""

    def __init__(self, message: str, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


# ---------------------------------------------------------------------- signing
def sign(key: bytes, stamp: int, client: str, method: str, target: str) -> str:
    message = f"{stamp}\n{client}\n{method}\n{target}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def forward_header(key: bytes | None, client: str, method: str, target: str) -> bytes:
    """`<unix time>;<client address>;<signature>` (no signature without a key)."""
    stamp = int(time.time())
    signature = sign(key, stamp, client, method, target) if key else ""
    return f"{stamp};{client};{signature}".encode()


def verified_client(key: bytes | None, value: str, method: str, target: str) -> str | None:
    """The client address a standby vouched for, or None if it can't be trusted."""
    parts = value.split(";")
    if key is None or len(parts) != 3 or not parts[2]:
        return None
    stamp_text, client, signature = parts
    try:
        stamp = int(stamp_text)
    except ValueError:
        return None
    if abs(time.time() - stamp) > SIGNATURE_MAX_AGE:
        return None
    if not hmac.compare_digest(sign(key, stamp, client, method, target), signature):
        return None
    return client


def client_address(core: Core, request: HttpRequest) -> str:
    """The request's source address; through a standby, the one it vouches for."""
    ha = getattr(core, "ha", None)
    if ha is None:
        return request.client
    value = request.headers.get(FORWARD_HEADER)
    if value is None:
        return request.client
    client = verified_client(ha.forward_key, value, request.method, request.target)
    return client if client is not None else request.client


# ---------------------------------------------------------------------- relaying
def redirect(leader: LeaderInfo, request: HttpRequest) -> Relayed:
    """Vault's answer from a standby: 307 to the same path on the active node."""
    return Relayed(307, [("location", leader.api_addr.rstrip("/") + request.target)], b"")


async def relay(err: StandbyError, request: HttpRequest) -> Exception:
    """The answer for a request that reached a standby (to be raised by the caller)."""
    leader = err.leader
    if leader is None:
        return err  # 503 node is not active
    if FORWARD_HEADER in request.headers:
        return redirect(leader, request)  # forwarded once already: no second hop
    method, target, client = request.method, request.target, request.client
    headers = [
        (k.encode("latin-1"), v.encode("latin-1"))
        for k, v in request.header_list
        if k not in _HOP_BY_HOP and k != "x-forwarded-for"
    ]
    xff = request.headers.get("x-forwarded-for")
    forwarded_for = f"{xff}, {client}" if xff else client
    headers.append((b"x-forwarded-for", forwarded_for.encode("latin-1")))
    headers.append((_FORWARD_HEADER_B, forward_header(err.forward_key, client, method, target)))
    try:
        status, answer_headers, answer = await _client().request(
            leader.api_addr, method, target, headers, request.body
        )
    except ForwardError as exc:
        log.warning("http: cannot forward to the active node %s: %s", leader.api_addr, exc)
        if exc.sent:
            # The request may have run there: never invite the client to repeat it.
            return VaultError(f"error forwarding the request to the active node: {exc}", status=502)
        return redirect(leader, request)
    relayed = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in answer_headers
        if k.lower() not in _HOP_BY_HOP_B
    ]
    return Relayed(status, relayed, answer)


# ---------------------------------------------------------------------- the client
class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(our_role=h11.CLIENT)

    def close(self) -> None:
        self.writer.close()


def _ssl_context() -> ssl.SSLContext:
    env = os.environ
    cafile = env.get("BAO_CACERT") or env.get("VAULT_CACERT") or None
    capath = env.get("BAO_CAPATH") or env.get("VAULT_CAPATH") or None
    return ssl.create_default_context(cafile=cafile, capath=capath)


class ForwardClient:
    """HTTP/1.1 with a keep-alive pool per active node."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def request(
        self,
        base_url: str,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ForwardError(f"unusable api_addr {base_url!r}")
        key = (url.scheme, url.hostname, url.port or (443 if url.scheme == "https" else 80))
        host = url.netloc.rsplit("@", 1)[-1].encode("latin-1")
        full_headers = [
            (b"host", host),
            *headers,
            (b"content-length", str(len(body)).encode()),
        ]
        sent = False
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                # A pooled connection may have been closed by the other side
                # while idle; that shows before any answer byte, so retrying
                # it on a new connection cannot apply the request twice.
                while True:
                    conn, reused = await self._checkout(key)
                    sent = True
                    try:
                        result = await self._exchange(conn, method, target, full_headers, body)
                    except _StaleConnection:
                        conn.close()
                        if reused:
                            sent = False
                            continue
                        raise ForwardError("connection closed before an answer", sent) from None
                    except BaseException:
                        conn.close()
                        raise
                    self._checkin(key, conn)
                    return result
        except (OSError, ssl.SSLError, h11.ProtocolError, TimeoutError) as err:
            raise ForwardError(str(err) or type(err).__name__, sent) from None

    async def _checkout(self, key: tuple[str, str, int]) -> tuple[_Connection, bool]:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                return conn, True
            conn.close()
        scheme, host, port = key
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = _ssl_context()
            context = self._ssl
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port, ssl=context)
        return _Connection(reader, writer), False

    def _checkin(self, key: tuple[str, str, int], conn: _Connection) -> None:
        state = conn.h11
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE_PER_NODE:
                idle.append(conn)
                return
        conn.close()

    @staticmethod
    async def _exchange(
        conn: _Connection,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        state = conn.h11
        out = state.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            out += state.send(h11.Data(data=body))
        out += state.send(h11.EndOfMessage())
        try:
            conn.writer.write(out)
            await conn.writer.drain()
        except (ConnectionError, OSError):
            raise _StaleConnection() from None
        received = False
        status = 0
        answer_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        while True:
            event = state.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await conn.reader.read(65536)
                except (ConnectionError, OSError):
                    if received:
                        raise
                    raise _StaleConnection() from None
                if not data and not received:
                    raise _StaleConnection()
                received = True
                state.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                answer_headers = list(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return status, answer_headers, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("connection closed mid-answer")


class _StaleConnection(Exception):
    pass


_CLIENT: ForwardClient | None = None


def _client() -> ForwardClient:
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = ForwardClient()
    return _CLIENT
