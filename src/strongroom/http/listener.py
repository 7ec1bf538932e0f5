"""Serving the app on the configured TCP listeners (with TLS when set).

The HTTP server is granian, embedded in the server's own event loop and
speaking RSGI: HTTP parsing and socket I/O run in Rust threads, so the one
Python thread spends its time on requests. It was chosen by measurement (see
the README's performance section): uvicorn's fast parser (httptools) refuses
Vault's `LIST` method, and with h11 instead uvicorn serves a third as many
requests.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from granian.constants import Interfaces, SSLProtocols
from granian.log import LogLevels
from granian.server.embed import Server

from strongroom.config import ListenerConfig
from strongroom.http.app import App

# Vault's listeners take what the kernel allows; granian's default (128) drops
# connections under a burst of new clients.
BACKLOG = 1024
_GRANIAN_LOGGING = {
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": False},
    }
}


class _QuietEmbedWarning(logging.Filter):
    """granian warns on every start that embedding is experimental; it is how we run it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


# One instance: addFilter ignores a filter it already has, so each listener
# adding it leaves one on the logger.
_QUIET_EMBED_WARNING = _QuietEmbedWarning()


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def granian_server(app: App, listener: ListenerConfig) -> Server:
    host, port = _split_address(listener.address)
    tls: dict[str, object] = {}
    if not listener.tls_disable:
        tls = {
            "ssl_cert": Path(listener.tls_cert_file),
            "ssl_key": Path(listener.tls_key_file),
            "ssl_protocol_min": SSLProtocols.tls12,  # Vault's default tls_min_version
        }
        if listener.tls_client_ca_file:
            tls["ssl_ca"] = Path(listener.tls_client_ca_file)
        # Like Vault: a client certificate is only demanded when verification is required.
        tls["ssl_client_verify"] = listener.tls_require_and_verify_client_cert
    server = Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        backlog=BACKLOG,
        log_level=LogLevels.warning,
        log_dictconfig=_GRANIAN_LOGGING,
        websockets=False,
        **tls,  # type: ignore[arg-type]
    )
    logging.getLogger("_granian").addFilter(_QUIET_EMBED_WARNING)
    return server


async def serve(
    app: App,
    listeners: list[ListenerConfig],
    on_started: Callable[[], None],
    on_shutdown: Callable[[], Awaitable[None]],
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    servers = [granian_server(app, listener) for listener in listeners]
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    # Each server binds its socket and starts its worker in its task's first step.
    while not all(server.wrks for server in servers):
        failed = [task for task in tasks if task.done()]
        if failed:
            for server in servers:
                server.stop()
            error = failed[0].exception()
            if error is not None:
                raise error
            raise SystemExit(1)
        await asyncio.sleep(0.01)
    on_started()
    await stop.wait()
    await on_shutdown()
    for server in servers:
        server.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
