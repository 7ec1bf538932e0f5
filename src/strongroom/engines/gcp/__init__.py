"""The Google Cloud secrets engine: service account keys and OAuth2 access tokens on demand."""

from __future__ import annotations

from strongroom.core.context import BackendContext

from .backend import GcpBackend

__all__ = ["GcpBackend", "factory"]


def factory(ctx: BackendContext) -> GcpBackend:
    return GcpBackend(ctx)
