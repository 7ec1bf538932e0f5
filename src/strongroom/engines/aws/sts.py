"""Temporary credentials from STS: assumed_role, federation_token, session_token (§4.4).

TTLs above what AWS allows for the credential type are clamped to that
maximum with a warning (Vault fails with AWS's ValidationError instead). For
AssumeRole the real limit is the role's MaxSessionDuration: when AWS refuses
the duration, the engine reads it with iam:GetRole (or falls back to one hour,
the least any role allows) and asks again.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from strongroom.core.errors import BadRequest
from strongroom.durations import human_duration

from .client import AwsClients, Client
from .errors import AwsError, upstream
from .goutil import ArnError, parse_arn
from .store import ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN, Role

AWS_MAX_TTL = {ASSUMED_ROLE: 12 * 3600, FEDERATION_TOKEN: 36 * 3600, SESSION_TOKEN: 36 * 3600}
ROLE_SESSION_FLOOR = 3600  # every role's MaxSessionDuration is at least one hour


@dataclass
class StsCredential:
    data: dict[str, Any]
    ttl: int
    internal: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def clamp_ttl(kind: str, ttl: int) -> tuple[int, list[str]]:
    limit = AWS_MAX_TTL[kind]
    if ttl <= limit:
        return ttl, []
    return limit, [_clamp_warning(kind, ttl, limit)]


def _clamp_warning(kind: str, ttl: int, limit: int, what: str = "") -> str:
    where = what or f"{kind} credentials"
    return (
        f'TTL of "{human_duration(ttl)}" is more than AWS allows for {where}; '
        f'the credentials were issued for "{human_duration(limit)}"'
    )


def _creds_data(creds: dict[str, Any], ttl: int, arn: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "access_key": creds["AccessKeyId"],
        "secret_key": creds["SecretAccessKey"],
        "security_token": creds["SessionToken"],
        "session_token": creds["SessionToken"],
    }
    if arn is not None:
        data["arn"] = arn
    data["ttl"] = ttl
    return data


def _remaining(creds: dict[str, Any], now: datetime) -> int:
    expiration: datetime = creds["Expiration"]
    return max(1, int((expiration - now).total_seconds()))


# ------------------------------------------------------------------ group policies


async def group_policies(iam: Client, groups: list[str]) -> tuple[list[str], list[str]]:
    """The inline policy documents and managed policy ARNs of `groups` (all asked at once)."""

    async def one(group: str) -> tuple[list[str], list[str]]:
        attached, inline = await asyncio.gather(
            iam.call("ListAttachedGroupPolicies", GroupName=group),
            iam.call("ListGroupPolicies", GroupName=group),
        )
        docs = await asyncio.gather(
            *(
                iam.call("GetGroupPolicy", GroupName=group, PolicyName=name)
                for name in inline.get("PolicyNames", [])
            )
        )
        texts = [_doc_text(d["PolicyDocument"]) for d in docs]
        return texts, [p["PolicyArn"] for p in attached.get("AttachedPolicies", [])]

    results = await asyncio.gather(*(one(g) for g in groups))
    docs = [d for texts, _ in results for d in texts]
    arns = [a for _, group_arns in results for a in group_arns]
    return docs, arns


def _doc_text(document: Any) -> str:
    # boto3 decodes the URL-encoded document into a dict; a string is taken as is.
    return document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))


def combine_policies(documents: list[str]) -> str:
    """One document whose statements are those of all `documents` ("" when none)."""
    statements: list[Any] = []
    for text in documents:
        if not text:
            continue
        parsed = json.loads(text)
        found = parsed.get("Statement", []) if isinstance(parsed, dict) else []
        statements.extend(found if isinstance(found, list) else [found])
    if not statements:
        return ""
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


async def effective_policy(clients: AwsClients, role: Role) -> tuple[str, list[str]]:
    """The role's policy document and ARNs, with its IAM groups' policies merged in."""
    arns = list(role.policy_arns or [])
    document = role.policy_document
    if role.iam_groups:
        try:
            iam = await clients.iam()
            docs, group_arns = await group_policies(iam, role.iam_groups)
        except AwsError as err:
            raise upstream("Error reading IAM group policies", err) from None
        arns += group_arns
        try:
            document = combine_policies([*docs, document])
        except (ValueError, AttributeError):
            raise BadRequest("unable to merge the IAM groups' policies with the role's") from None
    return document, arns


# ------------------------------------------------------------------ the three types


async def assume_role(
    clients: AwsClients,
    role: Role,
    *,
    role_arn: str,
    session_name: str,
    ttl: int,
    now: datetime,
) -> StsCredential:
    ttl, warnings = clamp_ttl(ASSUMED_ROLE, ttl)
    document, arns = await effective_policy(clients, role)
    params: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": ttl,
    }
    if document:
        params["Policy"] = document
    if arns:
        params["PolicyArns"] = [{"arn": arn} for arn in arns]
    if role.session_tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(role.session_tags.items())]
    if role.external_id:
        params["ExternalId"] = role.external_id
    try:
        sts = await clients.sts()
        try:
            result = await sts.call("AssumeRole", **params)
        except AwsError as err:
            if not (_over_session_limit(err) and ttl > ROLE_SESSION_FLOOR):
                raise
            limit = await _role_session_limit(clients, role_arn)
            if limit >= ttl:
                raise
            warnings.append(_clamp_warning(ASSUMED_ROLE, ttl, limit, f"role {role_arn}"))
            params["DurationSeconds"] = ttl = limit
            result = await sts.call("AssumeRole", **params)
    except AwsError as err:
        raise upstream("Error assuming role", err) from None
    creds = result["Credentials"]
    remaining = _remaining(creds, now)
    data = _creds_data(creds, remaining, arn=result["AssumedRoleUser"]["Arn"])
    internal = {"username": session_name, "policy": role_arn, "is_sts": True}
    return StsCredential(data, remaining, internal, warnings)


def _over_session_limit(err: AwsError) -> bool:
    return err.code == "ValidationError" and "MaxSessionDuration" in err.message


async def _role_session_limit(clients: AwsClients, role_arn: str) -> int:
    """The role's MaxSessionDuration, or one hour when it cannot be read (another account)."""
    try:
        name = parse_arn(role_arn).resource.rsplit("/", 1)[-1]
        iam = await clients.iam()
        found = await iam.call("GetRole", RoleName=name)
        return int(found["Role"].get("MaxSessionDuration", ROLE_SESSION_FLOOR))
    except (AwsError, ArnError, KeyError, ValueError):
        return ROLE_SESSION_FLOOR


async def federation_token(
    clients: AwsClients, role: Role, *, name: str, ttl: int, now: datetime
) -> StsCredential:
    ttl, warnings = clamp_ttl(FEDERATION_TOKEN, ttl)
    document, arns = await effective_policy(clients, role)
    if not document and not arns:
        raise BadRequest(
            "must specify at least one of policy_arns or policy_document with "
            "federation_token credential_type"
        )
    params: dict[str, Any] = {"Name": name, "DurationSeconds": ttl}
    if document:
        params["Policy"] = document
    if arns:
        params["PolicyArns"] = [{"arn": arn} for arn in arns]
    try:
        sts = await clients.sts()
        result = await sts.call("GetFederationToken", **params)
    except AwsError as err:
        raise upstream("Error generating STS keys", err) from None
    creds = result["Credentials"]
    remaining = _remaining(creds, now)
    internal = {"username": name, "policy": document, "is_sts": True}
    return StsCredential(_creds_data(creds, remaining), remaining, internal, warnings)


async def session_token(
    clients: AwsClients, role: Role, *, ttl: int, mfa_code: str, now: datetime
) -> StsCredential:
    ttl, warnings = clamp_ttl(SESSION_TOKEN, ttl)
    params: dict[str, Any] = {"DurationSeconds": ttl}
    if role.mfa_serial_number:
        params["SerialNumber"] = role.mfa_serial_number
    if mfa_code:
        params["TokenCode"] = mfa_code
    try:
        sts = await clients.sts()
        result = await sts.call("GetSessionToken", **params)
    except AwsError as err:
        raise upstream("Error generating STS keys", err) from None
    creds = result["Credentials"]
    remaining = _remaining(creds, now)
    return StsCredential(_creds_data(creds, remaining), remaining, {"is_sts": True}, warnings)
