"""The approle auth method (spec §4.2)."""

from __future__ import annotations

from strongroom.core.context import BackendContext

from .backend import AppRoleBackend

__all__ = ["AppRoleBackend", "factory"]


def factory(ctx: BackendContext) -> AppRoleBackend:
    return AppRoleBackend(ctx)
