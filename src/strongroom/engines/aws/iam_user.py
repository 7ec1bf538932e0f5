"""The life of a throw-away IAM user: built for an `iam_user` credential, torn down on revoke.

Issue (§4.1), in three sequential round trips to AWS:

    1. CreateUser                       (after the WAL entry is stored)
    2. AttachUserPolicy (each), PutUserPolicy, AddUserToGroup (each), TagUser,
       CreateAccessKey                  all at once: none depends on another
    3. (opt-in) GetCallerIdentity with the new key until AWS accepts it

If anything after CreateUser fails, the user is torn down before the error is
returned; if even that fails, the WAL entry stays and the rollback retries.

Teardown (§4.2): ListGroupsForUser, then the three other listings at once, then
every removal at once, then DeleteUser. When AWS refuses DeleteUser because
someone added a login profile, MFA device, SSH key, signing certificate or
service credential by hand, those are removed too and DeleteUser is retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from .client import AwsClients, Client, Credentials
from .errors import AwsError, RevocationFailed, upstream
from .propagation import wait_until_usable
from .store import DEFAULT_PROPAGATION_TIMEOUT, Role
from .wal import Wal

log = logging.getLogger("strongroom.aws")

LIST_LIMIT = 1000
# IAM answers ConcurrentModification when one entity changes fast; it passes in moments.
CONCURRENT_RETRIES = 3


@dataclass
class NewUser:
    username: str
    access_key: str
    secret_key: str
    warnings: list[str] = field(default_factory=list)
    wal_id: str = ""


async def _first_error(steps: list[tuple[str, Awaitable[Any]]]) -> list[Any]:
    """Run every step at once; wait for all; raise the first failure in list order."""
    results = await asyncio.gather(*(step for _, step in steps), return_exceptions=True)
    for (prefix, _), result in zip(steps, results, strict=True):
        if isinstance(result, AwsError):
            raise upstream(prefix, result)
        if isinstance(result, BaseException):
            raise result
    return results


async def _call(iam: Client, operation: str, **params: Any) -> dict[str, Any]:
    for attempt in range(CONCURRENT_RETRIES + 1):
        try:
            return await iam.call(operation, **params)
        except AwsError as err:
            if err.code != "ConcurrentModification" or attempt == CONCURRENT_RETRIES:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


async def issue(
    clients: AwsClients, wal: Wal, role_name: str, role: Role, username: str
) -> NewUser:
    """Create the user, its attachments and its key; nothing is left behind on failure."""
    try:
        iam = await clients.iam()
    except AwsError as err:
        raise upstream("Error creating IAM user", err) from None
    wal_id = await wal.begin(username)
    settled = False  # the WAL entry needs no undo (AWS refused CreateUser outright)
    try:
        params: dict[str, Any] = {"UserName": username, "Path": role.user_path or "/"}
        if role.permissions_boundary_arn:
            params["PermissionsBoundary"] = role.permissions_boundary_arn
        try:
            await iam.call("CreateUser", **params)
        except AwsError as err:
            if 400 <= err.status < 500:  # a definite "no": nothing was created
                await wal.commit(wal_id)
                settled = True
            raise upstream("Error creating IAM user", err) from None
        access_key, secret_key = await build_user(iam, role_name, role, username)
        warnings: list[str] = []
        if role.wait_for_propagation:
            timeout = role.propagation_timeout or DEFAULT_PROPAGATION_TIMEOUT
            warnings = await wait_until_usable(
                clients, Credentials(access_key, secret_key), timeout
            )
    except BaseException:
        if not settled:
            await _undo(iam, wal, wal_id, username)
        raise
    # The WAL entry stays until the core has stored the lease (see `settle`): a crash
    # before then leaves an entry the rollback acts on, never an unleased user.
    return NewUser(username, access_key, secret_key, warnings, wal_id)


async def settle(wal: Wal, wal_id: str, lease_stored: bool) -> None:
    """After the core stored the lease (or revoked the user): the WAL entry is done."""
    if lease_stored:
        await wal.commit(wal_id)
    else:
        wal.release(wal_id)  # the rollback makes sure the user is gone


_undoing: set[asyncio.Task[None]] = set()


async def _undo(iam: Client, wal: Wal, wal_id: str, username: str) -> None:
    """Tear down a half-built user before the error goes out (shielded from cancellation)."""

    async def run() -> None:
        try:
            await delete_user(iam, username, accept_missing=True)
        except Exception as err:
            log.warning(
                "aws: could not remove half-built IAM user %s now (%s); the WAL rollback "
                "will retry",
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


async def build_user(iam: Client, role_name: str, role: Role, username: str) -> tuple[str, str]:
    """Step 2 for a user that exists: policies, groups, tags and the access key at once."""
    steps: list[tuple[str, Awaitable[Any]]] = []
    for arn in role.policy_arns or []:
        steps.append(
            (
                "Error attaching user policy",
                _call(iam, "AttachUserPolicy", UserName=username, PolicyArn=arn),
            )
        )
    if role.policy_document:
        steps.append(
            (
                "Error putting user policy",
                _call(
                    iam,
                    "PutUserPolicy",
                    UserName=username,
                    PolicyName=role_name,
                    PolicyDocument=role.policy_document,
                ),
            )
        )
    for group in role.iam_groups or []:
        steps.append(
            (
                "Error adding user to group",
                _call(iam, "AddUserToGroup", GroupName=group, UserName=username),
            )
        )
    if role.iam_tags:
        tags = [{"Key": k, "Value": v} for k, v in sorted(role.iam_tags.items())]
        steps.append(
            ("Error adding tags to user", _call(iam, "TagUser", UserName=username, Tags=tags))
        )
    steps.append(("Error creating access keys", _call(iam, "CreateAccessKey", UserName=username)))
    results = await _first_error(steps)
    key = results[-1]["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


# ------------------------------------------------------------------ teardown


async def _ignore_missing(step: Awaitable[Any]) -> Any:
    """A removal whose target is already gone has done its job."""
    try:
        return await step
    except AwsError as err:
        if err.no_such_entity:
            return None
        raise


async def _all(steps: list[Awaitable[Any]]) -> list[Any]:
    results = await asyncio.gather(*steps, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _failed(username: str, what: str, err: AwsError) -> RevocationFailed:
    return RevocationFailed(f"error {what} for IAM user {username}: {err}", throttled=err.throttled)


async def delete_user(iam: Client, username: str, *, accept_missing: bool) -> None:
    """Remove an IAM user and everything attached to it (§4.2).

    `accept_missing`: a user that does not exist counts as deleted. Vault only
    trusts that answer for a WAL rollback or a lease older than 5 minutes (a
    younger "no such user" may be IAM's eventual consistency).
    Raises RevocationFailed (throttled when AWS asked us to slow down).
    """
    try:
        groups = await iam.call("ListGroupsForUser", UserName=username, MaxItems=LIST_LIMIT)
    except AwsError as err:
        if err.no_such_entity:
            if accept_missing:
                return
            raise RevocationFailed(
                f"IAM user {username} was not found, but its lease is less than 5 minutes old "
                "(IAM is eventually consistent); will retry"
            ) from None
        raise _failed(username, "listing groups", err) from None
    try:
        await _strip(iam, username, [g["GroupName"] for g in groups.get("Groups", [])])
    except AwsError as err:
        raise _failed(username, "removing access keys, policies and groups", err) from None
    try:
        await _ignore_missing(iam.call("DeleteUser", UserName=username))
        return
    except AwsError as err:
        if err.code != "DeleteConflict":
            raise _failed(username, "deleting", err) from None
        log.info("aws: IAM user %s has attachments made outside strongroom; removing", username)
    try:
        # Something was added by hand: list everything again, including the extras.
        fresh = await iam.call("ListGroupsForUser", UserName=username, MaxItems=LIST_LIMIT)
        await _strip(iam, username, [g["GroupName"] for g in fresh.get("Groups", [])])
        await _strip_extras(iam, username)
        await _ignore_missing(iam.call("DeleteUser", UserName=username))
    except AwsError as err:
        raise _failed(username, "deleting", err) from None


async def _strip(iam: Client, username: str, groups: list[str]) -> None:
    inline, attached, keys = await _all(
        [
            iam.call("ListUserPolicies", UserName=username, MaxItems=LIST_LIMIT),
            iam.call("ListAttachedUserPolicies", UserName=username, MaxItems=LIST_LIMIT),
            iam.call("ListAccessKeys", UserName=username, MaxItems=LIST_LIMIT),
        ]
    )
    removals: list[Awaitable[Any]] = []
    for key in keys.get("AccessKeyMetadata", []):
        removals.append(
            _ignore_missing(
                iam.call("DeleteAccessKey", UserName=username, AccessKeyId=key["AccessKeyId"])
            )
        )
    for policy in attached.get("AttachedPolicies", []):
        removals.append(
            _ignore_missing(
                iam.call("DetachUserPolicy", UserName=username, PolicyArn=policy["PolicyArn"])
            )
        )
    for name in inline.get("PolicyNames", []):
        removals.append(
            _ignore_missing(iam.call("DeleteUserPolicy", UserName=username, PolicyName=name))
        )
    for group in groups:
        removals.append(
            _ignore_missing(iam.call("RemoveUserFromGroup", UserName=username, GroupName=group))
        )
    await _all(removals)


async def _listing(iam: Client, operation: str, key: str, username: str) -> list[dict[str, Any]]:
    """A best-effort listing: AWS APIs an emulator lacks must not block the teardown."""
    try:
        result = await iam.call(operation, UserName=username)
    except AwsError as err:
        if err.throttled:
            raise
        log.info("aws: %s for %s failed (%s); skipping", operation, username, err)
        return []
    return list(result.get(key, []))


async def _strip_extras(iam: Client, username: str) -> None:
    """Login profile, MFA devices, SSH keys, signing certificates, service credentials."""
    mfa, ssh, certs, service = await _all(
        [
            _listing(iam, "ListMFADevices", "MFADevices", username),
            _listing(iam, "ListSSHPublicKeys", "SSHPublicKeys", username),
            _listing(iam, "ListSigningCertificates", "Certificates", username),
            _listing(iam, "ListServiceSpecificCredentials", "ServiceSpecificCredentials", username),
        ]
    )
    removals: list[Awaitable[Any]] = [
        _ignore_missing(iam.call("DeleteLoginProfile", UserName=username))
    ]
    for device in mfa:
        removals.append(_remove_mfa(iam, username, device["SerialNumber"]))
    for item in ssh:
        removals.append(
            _ignore_missing(
                iam.call(
                    "DeleteSSHPublicKey", UserName=username, SSHPublicKeyId=item["SSHPublicKeyId"]
                )
            )
        )
    for cert in certs:
        removals.append(
            _ignore_missing(
                iam.call(
                    "DeleteSigningCertificate",
                    UserName=username,
                    CertificateId=cert["CertificateId"],
                )
            )
        )
    for cred in service:
        removals.append(
            _ignore_missing(
                iam.call(
                    "DeleteServiceSpecificCredential",
                    UserName=username,
                    ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"],
                )
            )
        )
    await _all(removals)


async def _remove_mfa(iam: Client, username: str, serial: str) -> None:
    await _ignore_missing(iam.call("DeactivateMFADevice", UserName=username, SerialNumber=serial))
    if serial.startswith("arn:"):  # a virtual device: delete it, or it stays behind
        await _ignore_missing(iam.call("DeleteVirtualMFADevice", SerialNumber=serial))
