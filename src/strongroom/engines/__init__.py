"""The secrets engines and auth methods the server can mount, by type name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strongroom.core.core import Core


def register_builtin(core: Core) -> None:
    from strongroom.auth import approle, userpass
    from strongroom.engines import alicloud, aws, azure, cubbyhole, database, gcp, kv

    core.register_backend("kv", kv.factory)
    core.register_backend("cubbyhole", cubbyhole.factory)
    core.register_backend("aws", aws.factory)
    core.register_backend("gcp", gcp.factory)
    core.register_backend("azure", azure.factory)
    core.register_backend("alicloud", alicloud.factory)
    core.register_backend("database", database.factory)
    core.register_backend("userpass", userpass.factory)
    core.register_backend("approle", approle.factory)
