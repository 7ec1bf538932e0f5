"""Response wrapping: a response stored in a single-use token's cubbyhole.

A request sent with `X-Vault-Wrap-TTL` (or forced to by a policy's
`min_wrapping_ttl`, which the ACL enforces) gets, instead of its response,
only `wrap_info`. The response itself, rendered exactly as the client would
have received it, is stored in the cubbyhole of a new *wrapping token*:

* policy `response-wrapping` (which the token store refuses to hand out
  through its API; this module builds the entry itself), orphan;
* `num_uses` 1: `sys/wrapping/unwrap` spends that use atomically, so two
  concurrent unwraps cannot both succeed, then revokes the token;
* TTL = explicit max TTL = the wrap TTL: the lease manager revokes it at
  expiry, and revoking a token destroys its cubbyhole.

Layout in the wrapping token's cubbyhole (as Vault stores it): `response`
holds `{"response": "<the JSON body>"}`, `wrapinfo` holds creation TTL,
time and path (what `sys/wrapping/lookup` shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strongroom import jsonutil
from strongroom.core.errors import BadRequest, PermissionDenied
from strongroom.core.request import Operation, Request, Response
from strongroom.core.timefmt import rfc3339
from strongroom.core.tokens import RESPONSE_WRAPPING_POLICY, TokenEntry

if TYPE_CHECKING:
    from strongroom.core.core import Core

INVALID_TOKEN = "wrapping token is not valid or does not exist"
EMPTY_TOKEN = "error validating wrapping token: token is empty"
UNWRAP_PATH = "sys/wrapping/unwrap"


@dataclass
class Wrapped:
    """What a wrapping token's cubbyhole holds."""

    body: str  # the wrapped response, as its JSON text
    creation_ttl: int
    creation_time: str
    creation_path: str


def _cubbyhole(core: Core) -> Any:
    route = core.routes.get("cubbyhole/")
    if route is None:
        raise RuntimeError("response wrapping needs the cubbyhole/ mount")
    return route.storage


async def create_wrapping_token(
    core: Core,
    body: str,
    ttl: int,
    creation_path: str,
    *,
    display_name: str = "",
) -> dict[str, Any]:
    """Store `body` under a new wrapping token; returns the `wrap_info` (minus wrapped_accessor)."""
    tokens = core.tokens
    assert tokens is not None
    now = tokens.now()
    entry = TokenEntry(
        accessor="",
        policies=[RESPONSE_WRAPPING_POLICY],
        path=creation_path,
        display_name=display_name,
        num_uses=1,
        creation_time=now,
        ttl=ttl,
        explicit_max_ttl=ttl,
        renewable=False,
        expire_time=now + ttl,
        issue_time=now,
    )
    token = await tokens.persist_new(entry)
    created = rfc3339(now)
    storage = _cubbyhole(core)
    try:
        await storage.put(
            f"{entry.cubbyhole_id}/response", jsonutil.dumps_compact({"response": body})
        )
        await storage.put(
            f"{entry.cubbyhole_id}/wrapinfo",
            jsonutil.dumps_compact(
                {"creation_ttl": ttl, "creation_time": created, "creation_path": creation_path}
            ),
        )
    except BaseException:
        await tokens.revoke_tree(entry)
        raise
    return {
        "token": token,
        "accessor": entry.accessor,
        "ttl": ttl,
        "creation_time": created,
        "creation_path": creation_path,
    }


def _wrapped_accessor(req: Request, resp: Response) -> str:
    if resp.auth is not None:
        return str(resp.auth.get("accessor") or "")
    data = resp.data or {}
    mount = req.mount
    if mount is not None and mount.type == "approle" and "secret_id_accessor" in data:
        return str(data["secret_id_accessor"])
    return ""


async def wrap_response(core: Core, req: Request, resp: Response) -> Response:
    """The end of `Core.handle`: wrap `resp` if the request asked for it.

    Nothing is wrapped when there is nothing to return (204), for special
    non-envelope handlers, or when the handler wrapped the response itself
    (`sys/wrapping/rewrap`).
    """
    if req.wrap_ttl <= 0 or resp.wrap_info is not None:
        return resp
    if resp.raw is not None:
        # Special handlers are not wrapped; an unwrapped response is (re-wrapping).
        if req.path != UNWRAP_PATH or not isinstance(resp.raw, bytes):
            return resp
        status, body = resp.status or 200, resp.raw
    else:
        from strongroom.http.envelope import render

        status, body = render(resp, req.mount.type if req.mount is not None else "")
    if status == 204 or not body:
        return resp
    if req.operation is Operation.LIST and not (resp.data or {}).get("keys"):
        raise BadRequest("cannot wrap an empty list response")
    token = req.token
    wrap_info = await create_wrapping_token(
        core,
        body.decode(),
        req.wrap_ttl,
        req.path,
        display_name=token.display_name if token is not None else "",
    )
    accessor = _wrapped_accessor(req, resp)
    if accessor:
        wrap_info["wrapped_accessor"] = accessor
    return Response(wrap_info=wrap_info)


# --------------------------------------------------------------------------- the other end


def token_of(req: Request, token_field: str) -> tuple[str, bool]:
    """The wrapping token of a sys/wrapping request and whether a third party sent it."""
    if token_field:
        return token_field, True
    if req.client_token:
        return req.client_token, False
    raise BadRequest(EMPTY_TOKEN)


async def valid_wrapping_token(core: Core, token: str) -> TokenEntry:
    """The live wrapping token entry, or 400 `wrapping token is not valid or does not exist`."""
    tokens = core.tokens
    assert tokens is not None
    entry = await tokens.lookup(token)
    if entry is None or entry.policies != [RESPONSE_WRAPPING_POLICY]:
        raise BadRequest(INVALID_TOKEN)
    return entry


async def read_wrapped(core: Core, entry: TokenEntry) -> Wrapped:
    storage = _cubbyhole(core)
    info_raw = await storage.get(f"{entry.cubbyhole_id}/wrapinfo")
    body_raw = await storage.get(f"{entry.cubbyhole_id}/response")
    if info_raw is None or body_raw is None:
        raise BadRequest(INVALID_TOKEN)
    info = jsonutil.loads(info_raw)
    return Wrapped(
        body=str(jsonutil.loads(body_raw)["response"]),
        creation_ttl=int(info.get("creation_ttl") or 0),
        creation_time=str(info.get("creation_time") or ""),
        creation_path=str(info.get("creation_path") or ""),
    )


async def consume(core: Core, entry: TokenEntry) -> Wrapped:
    """Spend the wrapping token's single use, read its response, revoke it.

    The use is taken before any await, so of two concurrent callers only one
    gets past this point.
    """
    tokens = core.tokens
    assert tokens is not None
    if not await tokens.use(entry):
        raise BadRequest(INVALID_TOKEN)
    try:
        return await read_wrapped(core, entry)
    finally:
        await tokens.revoke_tree(entry)


async def authorize_third_party(core: Core, req: Request) -> None:
    """A caller unwrapping someone's token needs its own token and `update` on the path."""
    tokens, policies = core.tokens, core.policies
    assert tokens is not None and policies is not None
    caller = await tokens.lookup(req.client_token) if req.client_token else None
    if caller is None:
        raise PermissionDenied()
    req.token = caller  # the core revokes it after the request if this was its last use
    if not caller.is_root():
        acl = policies.acl(caller.policies)
        if not acl.allows(Operation.UPDATE, req.path, req.data, req.wrap_ttl):
            from strongroom.core.errors import AclDenied

            raise AclDenied()
    if caller.num_uses > 0 and not await tokens.use(caller):
        raise PermissionDenied()


def unwrapped_response(wrapped: Wrapped) -> Response:
    """The stored response, byte for byte (data and auth kept for the audit log)."""
    body = wrapped.body.encode()
    if not body.endswith(b"\n"):
        body += b"\n"
    try:
        doc = jsonutil.loads(body)
    except ValueError:
        doc = {}
    data = doc.get("data") if isinstance(doc, dict) else None
    auth = doc.get("auth") if isinstance(doc, dict) else None
    return Response(
        raw=body,
        data=data if isinstance(data, dict) else None,
        auth=auth if isinstance(auth, dict) else None,
    )
