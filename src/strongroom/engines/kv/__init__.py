"""The key/value secrets engine, version 1 or 2 by the mount's `version` option."""

from __future__ import annotations

from strongroom.core.context import BackendContext
from strongroom.framework.backend import Backend

from .backend import build_v1, build_v2

__all__ = ["factory"]


def factory(ctx: BackendContext) -> Backend:
    options = ctx.mount.options or {}
    if str(options.get("version", "")) == "2" or ctx.mount.type == "kv-v2":
        return build_v2(ctx)
    return build_v1(ctx)
