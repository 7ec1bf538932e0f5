"""Serving the ASGI app on the configured TCP listeners (with TLS when set)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from strongroom.config import ListenerConfig
from strongroom.http.app import App


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: we shut down all listeners at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def uvicorn_config(app: App, listener: ListenerConfig) -> uvicorn.Config:
    host, port = _split_address(listener.address)
    kwargs: dict[str, object] = {}
    if not listener.tls_disable:
        kwargs.update(ssl_certfile=listener.tls_cert_file, ssl_keyfile=listener.tls_key_file)
        if listener.tls_client_ca_file:
            kwargs["ssl_ca_certs"] = listener.tls_client_ca_file
        # Like Vault: a client certificate is only demanded when verification is required.
        if listener.tls_require_and_verify_client_cert:
            kwargs["ssl_cert_reqs"] = ssl.CERT_REQUIRED
        elif listener.tls_client_ca_file:
            kwargs["ssl_cert_reqs"] = ssl.CERT_OPTIONAL
    # h11, not httptools: httptools refuses Vault's non-standard LIST method.
    return uvicorn.Config(
        app,
        http="h11",
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        date_header=False,
        **kwargs,
    )


async def serve(
    app: App,
    listeners: list[ListenerConfig],
    on_started: Callable[[], None],
    on_shutdown: Callable[[], Awaitable[None]],
) -> None:
    servers = [_Server(uvicorn_config(app, listener)) for listener in listeners]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            for task in tasks:
                if task.done() and task.exception():
                    raise task.exception()  # type: ignore[misc]
            raise SystemExit(1)  # a listener failed to bind; uvicorn logged why
        await asyncio.sleep(0.01)
    on_started()
    await stop.wait()
    await on_shutdown()
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
