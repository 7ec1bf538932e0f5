"""The userpass auth method (spec §4.1)."""

from __future__ import annotations

from strongroom.core.context import BackendContext

from .backend import UserpassBackend

__all__ = ["UserpassBackend", "factory"]


def factory(ctx: BackendContext) -> UserpassBackend:
    return UserpassBackend(ctx)
