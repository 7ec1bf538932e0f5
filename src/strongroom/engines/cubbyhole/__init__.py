"""The cubbyhole secrets engine: per-token private storage."""

from __future__ import annotations

from strongroom.core.context import BackendContext

from .backend import CubbyholeBackend

__all__ = ["CubbyholeBackend", "factory"]


def factory(ctx: BackendContext) -> CubbyholeBackend:
    return CubbyholeBackend(ctx)
