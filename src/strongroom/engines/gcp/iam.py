"""IAM policy editing: the read-modify-write loop with etags (§8).

`edit()` is the pure part: add or remove one member for a set of roles.
`change_bindings()` reads a resource's policy, edits it, and writes it back
with the etag it read; when Google answers that someone else wrote the policy
in between (409 ABORTED, or 412 for Cloud Storage) it reads again and redoes
the edit, so nobody else's change is ever overwritten.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from typing import Any

from .client import RootApi
from .errors import GcpError
from .resources import Resource, parse

log = logging.getLogger("strongroom.gcp")

ETAG_ATTEMPTS = 8


def member(email: str) -> str:
    return f"serviceAccount:{email}"


def edit(
    policy: dict[str, Any], who: str, add: set[str], remove: set[str]
) -> tuple[dict[str, Any], bool]:
    """(new policy, changed). Only unconditional bindings are touched.

    Adding puts the member into the role's unconditional binding (creating it when
    there is none); removing takes it out of those and drops bindings left empty.
    A role granted under a condition by someone else is left as it is (the
    reference also adds the member to conditional bindings, which grants nothing
    unconditionally).
    """
    out = copy.deepcopy(policy)
    bindings: list[dict[str, Any]] = out.get("bindings") or []
    changed = False
    for role in sorted(add):
        target = next((b for b in bindings if b.get("role") == role and "condition" not in b), None)
        if target is None:
            bindings.append({"role": role, "members": [who]})
            changed = True
        elif who not in target.setdefault("members", []):
            target["members"].append(who)
            changed = True
    kept: list[dict[str, Any]] = []
    for binding in bindings:
        if binding.get("role") in remove and "condition" not in binding:
            members = binding.get("members") or []
            if who in members:
                binding["members"] = [m for m in members if m != who]
                changed = True
            if not binding.get("members"):
                continue
        kept.append(binding)
    if kept:
        out["bindings"] = kept
    else:
        out.pop("bindings", None)
    return out, changed


async def get_policy(api: RootApi, resource: Resource) -> dict[str, Any]:
    service, method, path, body = resource.get_request()
    return await api.call(
        f"{resource.operation}.getIamPolicy", method, api.url(service, path), body=body
    )


async def set_policy(api: RootApi, resource: Resource, policy: dict[str, Any]) -> None:
    service, method, path, body = resource.set_request(policy)
    await api.call(f"{resource.operation}.setIamPolicy", method, api.url(service, path), body=body)


def _stale(err: GcpError) -> bool:
    return err.status == 412 or (err.status == 409 and err.code in ("ABORTED", ""))


async def change_bindings(
    api: RootApi,
    resource_name: str,
    email: str,
    *,
    add: set[str] | frozenset[str] = frozenset(),
    remove: set[str] | frozenset[str] = frozenset(),
    missing_ok: bool = False,
) -> bool:
    """Grant `add` and revoke `remove` for the account on one resource; True if it changed.

    `missing_ok`: a resource that no longer exists has no bindings to remove.
    """
    resource = parse(resource_name)
    who = member(email)
    for attempt in range(ETAG_ATTEMPTS):
        try:
            policy = await get_policy(api, resource)
        except GcpError as err:
            if missing_ok and err.not_found:
                return False
            raise
        for key in ("kind", "resourceId"):  # Storage echoes these; harmless either way
            policy.pop(key, None)
        new, changed = edit(policy, who, set(add), set(remove))
        if not changed:
            return False
        try:
            await set_policy(api, resource, new)
            return True
        except GcpError as err:
            if not _stale(err) or attempt == ETAG_ATTEMPTS - 1:
                raise
            log.info("gcp: IAM policy of %s changed under us; reading it again", resource_name)
            await asyncio.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
    return False


async def add_all(api: RootApi, email: str, bindings: dict[str, list[str]]) -> None:
    for resource, roles in sorted(bindings.items()):
        if roles:
            await change_bindings(api, resource, email, add=set(roles))


async def remove_all(api: RootApi, email: str, bindings: dict[str, list[str]]) -> None:
    """Take the account out of every listed binding; gone resources count as done."""
    for resource, roles in sorted(bindings.items()):
        if roles:
            await change_bindings(api, resource, email, remove=set(roles), missing_ok=True)
