"""The Azure secrets engine: Entra ID service principals with Azure RBAC roles, on demand."""

from __future__ import annotations

from strongroom.core.context import BackendContext

from .backend import AzureBackend

__all__ = ["AzureBackend", "factory"]


def factory(ctx: BackendContext) -> AzureBackend:
    return AzureBackend(ctx)
