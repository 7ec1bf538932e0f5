"""The Alibaba Cloud secrets engine: RAM users and STS credentials on demand."""

from __future__ import annotations

from strongroom.core.context import BackendContext

from .backend import AliCloudBackend

__all__ = ["AliCloudBackend", "factory"]


def factory(ctx: BackendContext) -> AliCloudBackend:
    return AliCloudBackend(ctx)
