"""creds/<role>: issue a client ID and secret under a lease (spec §4.4, §5.1, §5.2)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime

from strongroom.core.errors import BadRequest
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from .builder import StepFailed, build
from .client import Azure, AzureClients
from .errors import AzureError, upstream
from .identity import password_end, rfc3339, rfc3339_nano
from .path_roles import NAME
from .store import Role, Store
from .wal import Wal

SP_SECRET = "service_principal"
STATIC_SECRET = "static_service_principal"
STATIC_PASSWORD_NAME = "vault-plugin-secrets-azure"
PASSWORD_LIMIT_TEXT = "size of the object has exceeded its limit"


def lease_limits(role: Role) -> tuple[int, int]:
    """The lease's TTL and max TTL: explicit_max_ttl caps max_ttl (0 = the mount's)."""
    max_ttl = role.max_ttl
    if role.explicit_max_ttl and (role.explicit_max_ttl < max_ttl or max_ttl == 0):
        max_ttl = role.explicit_max_ttl
    return role.ttl, max_ttl


class CredsIssuer:
    def __init__(
        self,
        store: Store,
        clients: AzureClients,
        wal: Wal,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.clients = clients
        self.wal = wal
        self.clock = clock

    def paths(self) -> list[Path]:
        return [
            Path(
                pattern=f"creds/(?P<role>{NAME})",
                fields={"role": Field(FieldType.STRING, "Name of the role (lower-cased).")},
                operations={Operation.READ: self.issue},
                synopsis="Request a service principal's credentials for a role.",
                description=(
                    "Returns client_id and client_secret under a renewable lease. Revoking the "
                    "lease removes the identity (or, for an existing application, the password)."
                ),
            )
        ]

    async def issue(self, req: Request, fd: FieldData) -> Response:
        name = fd.get("role").lower()
        role = await self.store.role(name)
        if role is None:
            raise BadRequest(f"role '{name}' does not exist")
        azure = await self.clients.get()
        if role.application_object_id:
            return await self._static(azure, name, role)
        return await self._dynamic(azure, name, role)

    async def _dynamic(self, azure: Azure, name: str, role: Role) -> Response:
        now = self.clock()
        end = password_end(now, role.explicit_max_ttl)
        try:
            built = await build(
                azure,
                self.wal,
                display_name=f"vault-{uuid.uuid4()}",
                role=role,
                now=now,
                password_end=end,
            )
        except StepFailed as err:
            raise _creds_error(err.prefix, err.error) from None
        assert built.password is not None
        ttl, max_ttl = lease_limits(role)
        return Response(
            data={"client_id": built.app_id, "client_secret": built.password["secretText"]},
            secret=Secret(
                ttl=ttl,
                renewable=True,
                max_ttl=max_ttl,
                internal={
                    "secret_type": SP_SECRET,
                    "app_object_id": built.app_object_id,
                    "sp_object_id": built.sp_id,
                    "role_assignment_ids": built.assignment_ids,
                    "group_membership_ids": built.group_ids,
                    "role": name,
                    "permanently_delete": role.permanently_delete,
                    "key_end_date": rfc3339_nano(end),
                },
                on_lease_stored=functools.partial(self.wal.settle, built.entries),
            ),
        )

    async def _static(self, azure: Azure, name: str, role: Role) -> Response:
        now = self.clock()
        end = password_end(now, role.explicit_max_ttl)
        async with self.store.lock("app/" + role.application_object_id):
            try:
                created = await azure.add_app_password(
                    role.application_object_id, STATIC_PASSWORD_NAME, rfc3339(end)
                )
            except AzureError as err:
                if PASSWORD_LIMIT_TEXT in err.message.lower():
                    raise BadRequest(
                        "error updating credentials: maximum number of Application passwords "
                        f"reached ({err.code or 'limit'} from {err.operation})"
                    ) from None
                raise _creds_error("error updating credentials", err) from None
        ttl, max_ttl = lease_limits(role)
        return Response(
            data={"client_id": role.application_id, "client_secret": created["secretText"]},
            secret=Secret(
                ttl=ttl,
                renewable=True,
                max_ttl=max_ttl,
                internal={
                    "secret_type": STATIC_SECRET,
                    "app_object_id": role.application_object_id,
                    "key_id": str(created.get("keyId") or ""),
                    "key_end_date": rfc3339_nano(end),
                    "role": name,
                },
            ),
        )


def _creds_error(prefix: str, err: AzureError) -> Exception:
    if PASSWORD_LIMIT_TEXT in err.message.lower():
        return BadRequest(f"{prefix}: maximum number of passwords reached ({err.operation})")
    return upstream(prefix, err)
