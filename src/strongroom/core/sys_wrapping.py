"""sys/wrapping/wrap, unwrap, lookup and rewrap (spec §2.12).

`unwrap` and `lookup` are unauthenticated routes for the core: the token in
`X-Vault-Token` may itself be the wrapping token, which no ACL knows, and a
used or unknown one must answer 400, not 403. `unwrap` with a `token` in
the body checks the caller's own token and ACL here instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core import wrapping
from strongroom.core.errors import BadRequest
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

if TYPE_CHECKING:
    from strongroom.core.core import Core

UNAUTHENTICATED = ["wrapping/lookup", "wrapping/unwrap"]


def wrapping_paths(core: Core) -> list[Path]:
    async def wrap(req: Request, fd: FieldData) -> Response:
        if req.wrap_ttl <= 0:
            raise BadRequest("endpoint requires response wrapping to be used")
        return Response(data=dict(req.data))

    async def unwrap(req: Request, fd: FieldData) -> Response | None:
        token, third_party = wrapping.token_of(req, fd.get("token"))
        entry = await wrapping.valid_wrapping_token(core, token)
        if third_party:
            await wrapping.authorize_third_party(core, req)
        wrapped = await wrapping.consume(core, entry)
        if not wrapped.body:
            return None
        return wrapping.unwrapped_response(wrapped)

    async def lookup(req: Request, fd: FieldData) -> Response:
        token, _ = wrapping.token_of(req, fd.get("token"))
        entry = await wrapping.valid_wrapping_token(core, token)
        wrapped = await wrapping.read_wrapped(core, entry)
        return Response(
            data={
                "creation_path": wrapped.creation_path,
                "creation_time": wrapped.creation_time,
                "creation_ttl": wrapped.creation_ttl,
            }
        )

    async def rewrap(req: Request, fd: FieldData) -> Response:
        token, _ = wrapping.token_of(req, fd.get("token"))
        entry = await wrapping.valid_wrapping_token(core, token)
        wrapped = await wrapping.consume(core, entry)
        info = await wrapping.create_wrapping_token(
            core,
            wrapped.body,
            wrapped.creation_ttl,
            wrapped.creation_path,
            display_name=entry.display_name,
        )
        return Response(wrap_info=info)

    token = {"token": Field(FieldType.STRING, "The wrapping token", default="")}
    return [
        Path(
            "wrapping/wrap",
            operations={Operation.UPDATE: wrap},
            arbitrary_data=True,
            synopsis="Wrap the request data in a response-wrapping token.",
        ),
        Path(
            "wrapping/unwrap",
            fields=token,
            operations={Operation.UPDATE: unwrap},
            synopsis="Return the response a wrapping token holds, once.",
        ),
        Path(
            "wrapping/lookup",
            fields=token,
            operations={Operation.UPDATE: lookup, Operation.READ: lookup},
            synopsis="The creation time, TTL and path of a wrapping token.",
        ),
        Path(
            "wrapping/rewrap",
            fields=token,
            operations={Operation.UPDATE: rewrap},
            synopsis="Move a wrapped response to a new wrapping token.",
        ),
    ]
