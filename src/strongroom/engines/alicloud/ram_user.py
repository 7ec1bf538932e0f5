"""The life of a throw-away RAM user: built for a `creds` read, torn down on revoke (§5.1).

Issue, in order (after the WAL entry is stored):

    CreateUser
    CreatePolicy + AttachPolicyToUser   for each inline policy
    AttachPolicyToUser                  for each remote policy
    CreateAccessKey

If a step fails, everything the issue may have created is removed before the
error is returned (`undo`); if even that fails, the WAL entry stays and the
rollback finishes the job later.

Revoke follows the reference's order, which satisfies RAM's delete-conflict
rules: DeleteAccessKey; DetachPolicyFromUser + DeletePolicy for each inline
policy; DetachPolicyFromUser for each remote one; DeleteUser. Something that
is already gone (`EntityNotExist.*`) counts as removed, so a revocation that
failed half-way can be retried until it succeeds. When RAM refuses DeleteUser
because keys or policies were added by hand, those are listed and removed too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from strongroom import jsonutil

from .client import Api
from .errors import AliCloudError, RevocationFailed, upstream
from .store import RemotePolicy
from .wal import Wal

log = logging.getLogger("strongroom.alicloud")

POLICY_DESCRIPTION = "Created by Vault."


@dataclass
class Plan:
    """What one RAM credential consists of."""

    username: str
    inline: list[tuple[str, dict[str, Any]]]  # (policy name, document)
    remote: list[RemotePolicy]


@dataclass
class Issued:
    username: str
    access_key_id: str
    access_key_secret: str
    wal_id: str
    inline_names: list[str] = field(default_factory=list)


def compact_document(document: dict[str, Any]) -> str:
    """The document as Go's json.Marshal writes a map: compact, keys sorted."""

    def sort(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: sort(value[k]) for k in sorted(value)}
        if isinstance(value, list):
            return [sort(v) for v in value]
        return value

    return jsonutil.dumps_compact(sort(document)).decode()


async def issue(ram: Api, wal: Wal, plan: Plan) -> Issued:
    """Create the user, its policies and its key; nothing is left behind on failure."""
    inline_names = [name for name, _ in plan.inline]
    wal_id = await wal.begin(plan.username, inline_names)
    settled = False  # the WAL entry needs no undo: RAM refused CreateUser outright
    created_policies: list[str] = []  # creation attempted (a lost answer may have created it)
    try:
        try:
            await ram.call("CreateUser", UserName=plan.username, DisplayName=plan.username)
        except AliCloudError as err:
            if err.refused:  # a definite "no": nothing exists to clean up
                await wal.commit(wal_id)
                settled = True
            raise upstream("error creating RAM user", err) from None
        for name, document in plan.inline:
            created_policies.append(name)
            try:
                await ram.call(
                    "CreatePolicy",
                    PolicyName=name,
                    Description=POLICY_DESCRIPTION,
                    PolicyDocument=compact_document(document),
                )
            except AliCloudError as err:
                if err.refused:
                    created_policies.pop()
                raise upstream(f"error creating policy {name}", err) from None
            await _attach(ram, plan.username, name, "Custom")
        for policy in plan.remote:
            await _attach(ram, plan.username, policy.name, policy.type)
        try:
            key = await ram.call("CreateAccessKey", UserName=plan.username)
        except AliCloudError as err:
            raise upstream("error creating access key", err) from None
    except BaseException:
        if not settled:
            await _undo(ram, wal, wal_id, plan.username, created_policies)
        raise
    access_key = key.get("AccessKey") or {}
    return Issued(
        plan.username,
        access_key.get("AccessKeyId", ""),
        access_key.get("AccessKeySecret", ""),
        wal_id,
        inline_names,
    )


async def _attach(ram: Api, username: str, policy: str, policy_type: str) -> None:
    try:
        await ram.call(
            "AttachPolicyToUser", PolicyType=policy_type, PolicyName=policy, UserName=username
        )
    except AliCloudError as err:
        raise upstream(f"error attaching policy {policy_type}:{policy}", err) from None


async def settle(wal: Wal, wal_id: str, lease_stored: bool) -> None:
    """After the core stored the lease (or revoked the user): the WAL entry is done."""
    if lease_stored:
        await wal.commit(wal_id)
    else:
        wal.release(wal_id)  # the rollback makes sure the user is gone


_undoing: set[asyncio.Task[None]] = set()


async def _undo(ram: Api, wal: Wal, wal_id: str, username: str, policies: list[str]) -> None:
    """Tear a half-built user down before the error goes out (shielded from cancellation)."""

    async def run() -> None:
        try:
            await sweep(ram, username, policies)
        except Exception as err:
            log.warning(
                "alicloud: could not remove half-built RAM user %s now (%s); the WAL "
                "rollback will retry",
                username,
                err,
            )
            wal.release(wal_id)
            return
        try:
            await wal.commit(wal_id)
        except Exception:
            wal.release(wal_id)

    task = asyncio.ensure_future(run())
    _undoing.add(task)
    task.add_done_callback(_undoing.discard)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        pass  # the request was cancelled: the clean-up carries on by itself


# ------------------------------------------------------------------ teardown


async def _gone(step: Awaitable[Any]) -> None:
    """A removal whose target is already gone has done its job."""
    try:
        await step
    except AliCloudError as err:
        if not err.not_found:
            raise


async def _delete_policy(ram: Api, name: str) -> None:
    """DeletePolicy; when someone attached it elsewhere or added versions, undo that first."""
    try:
        await _gone(ram.call("DeletePolicy", PolicyName=name))
        return
    except AliCloudError as err:
        if not err.code.startswith("DeleteConflict.Policy"):
            raise
        conflict = err.code
    log.info("alicloud: policy %s is in use outside its lease (%s); detaching", name, conflict)
    if conflict != "DeleteConflict.Policy.Version":
        entities = await ram.call("ListEntitiesForPolicy", PolicyType="Custom", PolicyName=name)
        for user in (entities.get("Users") or {}).get("User") or []:
            await _gone(
                ram.call(
                    "DetachPolicyFromUser",
                    PolicyType="Custom",
                    PolicyName=name,
                    UserName=user["UserName"],
                )
            )
        for role in (entities.get("Roles") or {}).get("Role") or []:
            await _gone(
                ram.call(
                    "DetachPolicyFromRole",
                    PolicyType="Custom",
                    PolicyName=name,
                    RoleName=role["RoleName"],
                )
            )
    await _gone(ram.call("DeletePolicy", PolicyName=name, CascadingDelete=True))


def _failed(username: str, err: AliCloudError) -> RevocationFailed:
    return RevocationFailed(f"error removing RAM user {username}: {err}", throttled=err.throttled)


async def revoke(
    ram: Api,
    username: str,
    access_key_id: str,
    inline_policies: list[str],
    remote_policies: list[RemotePolicy],
) -> None:
    """Delete the user and everything the lease created; raises RevocationFailed to retry."""
    try:
        if access_key_id:
            await _gone(
                ram.call("DeleteAccessKey", UserName=username, UserAccessKeyId=access_key_id)
            )
        for name in inline_policies:
            await _gone(
                ram.call(
                    "DetachPolicyFromUser", PolicyType="Custom", PolicyName=name, UserName=username
                )
            )
            await _delete_policy(ram, name)
        for policy in remote_policies:
            await _gone(
                ram.call(
                    "DetachPolicyFromUser",
                    PolicyType=policy.type,
                    PolicyName=policy.name,
                    UserName=username,
                )
            )
        try:
            await _gone(ram.call("DeleteUser", UserName=username))
            return
        except AliCloudError as err:
            if not err.code.startswith("DeleteConflict.User"):
                raise
            log.info(
                "alicloud: RAM user %s has keys or policies added outside strongroom; removing",
                username,
            )
        await sweep(ram, username, [])
    except AliCloudError as err:
        raise _failed(username, err) from None


async def sweep(ram: Api, username: str, inline_policies: list[str]) -> None:
    """Remove a user whatever it holds: every key, every attachment, the named policies.

    Used where what exists is not known exactly: undoing a failed issue, the
    WAL rollback, and users someone changed by hand. Raises AliCloudError.
    """
    try:
        keys = await ram.call("ListAccessKeys", UserName=username)
    except AliCloudError as err:
        if not err.not_found:
            raise
        keys = None  # no user: only policies may be left
    if keys is not None:
        for key in (keys.get("AccessKeys") or {}).get("AccessKey") or []:
            await _gone(
                ram.call("DeleteAccessKey", UserName=username, UserAccessKeyId=key["AccessKeyId"])
            )
        attached = await _listing(ram, "ListPoliciesForUser", username)
        for policy in (attached.get("Policies") or {}).get("Policy") or []:
            await _gone(
                ram.call(
                    "DetachPolicyFromUser",
                    PolicyType=policy["PolicyType"],
                    PolicyName=policy["PolicyName"],
                    UserName=username,
                )
            )
    for name in inline_policies:
        await _delete_policy(ram, name)
    if keys is not None:
        await _gone(ram.call("DeleteUser", UserName=username))


async def _listing(ram: Api, action: str, username: str) -> dict[str, Any]:
    try:
        return await ram.call(action, UserName=username)
    except AliCloudError as err:
        if err.not_found:
            return {}
        raise
