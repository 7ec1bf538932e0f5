"""sys/leases/*: lookup, renew, revoke, revoke-prefix, revoke-force, tidy, count.

Vault's legacy aliases (sys/renew, sys/revoke, sys/revoke-prefix,
sys/revoke-force) are served too: old scripts still call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

if TYPE_CHECKING:
    from strongroom.core.core import Core

TIDY_WARNING = (
    "Tidy operation successfully started. Any information from the operation will be "
    "printed to strongroom's server logs."
)


def lease_paths(core: Core) -> list[Path]:
    def lease_id(fd: FieldData) -> str:
        value = fd.get("url_lease_id") or fd.get("lease_id")
        if not value:
            raise BadRequest("lease_id must be specified")
        return value

    async def lookup(req: Request, fd: FieldData) -> Response:
        lease = await core.leases.get(lease_id(fd))
        if lease is None:
            raise BadRequest("invalid lease")
        return Response(data=core.leases.lookup_data(lease))

    async def list_leases(req: Request, fd: FieldData) -> Response:
        keys = await core.leases.list(fd.get("prefix") or "")
        if not keys:
            raise NotFound()
        return Response(data={"keys": keys})

    async def renew(req: Request, fd: FieldData) -> Response:
        lease, warnings = await core.renew_lease(lease_id(fd), fd.get("increment"))
        return Response(
            secret=Secret(ttl=lease.ttl, renewable=lease.renewable, lease_id=lease.lease_id),
            warnings=warnings,
        )

    async def revoke(req: Request, fd: FieldData) -> None:
        await core.leases.revoke(lease_id(fd), sync=fd.get("sync"))

    async def revoke_prefix(req: Request, fd: FieldData) -> None:
        await core.leases.revoke_prefix(fd.get("prefix"), sync=fd.get("sync"))

    async def revoke_force(req: Request, fd: FieldData) -> None:
        await core.leases.revoke_force(fd.get("prefix"))

    async def tidy(req: Request, fd: FieldData) -> Response:
        core.start_lease_tidy()
        return Response(warnings=[TIDY_WARNING], status=202)

    async def count(req: Request, fd: FieldData) -> Response:
        total, by_mount = await core.leases.count(irrevocable=fd.get("type") == "irrevocable")
        return Response(
            data={
                "counts": by_mount if fd.get("include_child_namespaces") else {},
                "lease_count": total,
            }
        )

    lease_fields = {
        "lease_id": Field(FieldType.STRING, "The lease id, e.g. aws/creds/ec2/JXcy5a4Wnn…"),
        "url_lease_id": Field(FieldType.STRING, deprecated=True),
    }
    renew_fields = {
        **lease_fields,
        "increment": Field(FieldType.DURATION, "Requested extension of the lease", default=0),
    }
    revoke_fields = {
        **lease_fields,
        "sync": Field(
            FieldType.BOOL, "Wait for the backend to destroy the credential", default=True
        ),
    }
    prefix_fields = {
        "prefix": Field(FieldType.STRING, "A lease id prefix, e.g. aws/creds/ec2/"),
        "sync": Field(FieldType.BOOL, "Wait for every revocation", default=True),
    }
    update = Operation.UPDATE
    paths = [
        Path(
            "leases/lookup",
            fields=lease_fields,
            operations={update: lookup},
            synopsis="Look up a lease: issue, expiry, renewable, revocation attempts.",
        ),
        Path(
            "leases/lookup/(?P<prefix>.*)",
            fields={"prefix": Field()},
            operations={Operation.LIST: list_leases},
            synopsis="List lease ids below a prefix (sudo).",
        ),
        Path(
            "leases/tidy",
            operations={update: tidy},
            synopsis="Remove index entries of leases that no longer exist.",
        ),
        Path(
            "leases/count",
            fields={
                "type": Field(FieldType.STRING, '"irrevocable" counts leases failing revocation'),
                "include_child_namespaces": Field(FieldType.BOOL, default=False),
            },
            operations={Operation.READ: count},
            synopsis="Count stored leases.",
        ),
    ]
    # The current names and Vault's legacy ones share handlers.
    for base in ("leases/", ""):
        paths += [
            Path(
                f"{base}renew(?:/(?P<url_lease_id>.+))?",
                fields=renew_fields,
                operations={update: renew},
                synopsis="Renew a lease.",
            ),
            Path(
                f"{base}revoke(?:/(?P<url_lease_id>.+))?",
                fields=revoke_fields,
                operations={update: revoke},
                synopsis="Revoke a lease.",
            ),
            Path(
                f"{base}revoke-prefix/(?P<prefix>.+)",
                fields=prefix_fields,
                operations={update: revoke_prefix},
                synopsis="Revoke every lease below a prefix (sudo).",
            ),
            Path(
                f"{base}revoke-force/(?P<prefix>.+)",
                fields={"prefix": Field()},
                operations={update: revoke_force},
                synopsis="Forget leases below a prefix without revoking their credentials "
                "(sudo; for credentials already destroyed by hand).",
            ),
        ]
    return paths
