"""The AWS secrets engine: IAM users and STS credentials on demand, static key rotation."""

from __future__ import annotations

from strongroom.core.context import BackendContext

from .backend import AwsBackend

__all__ = ["AwsBackend", "factory"]


def factory(ctx: BackendContext) -> AwsBackend:
    return AwsBackend(ctx)
