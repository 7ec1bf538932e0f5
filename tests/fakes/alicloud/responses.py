"""The wire: HTTP requests in both of Alibaba Cloud's styles to model calls, answers to JSON.

Two request styles reach the same actions (spec §7):

* classic RPC (the Go SDK, aliyun-python-sdk-core, the tea SDKs with
  `signature_algorithm="v2"`): every parameter, `Action`, `Version`,
  `AccessKeyId`, `Signature`, … in the query string (or a form body);
* V3 (the tea SDKs' default): API parameters in the query (or form body),
  the action and version in `x-acs-action`/`x-acs-version`, and an
  `Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`.

Nothing here decides anything: models.py authenticates, authorises and acts.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .models import Account, AliCloudError, SignedRequest, service_for

# Parameters of the request envelope, not of the API action.
COMMON_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "Signature",
        "SecurityToken",
        "RegionId",
        "BearerToken",
    }
)

_AUTH = re.compile(
    r"^(?P<algorithm>ACS3-[A-Z0-9-]+)\s+Credential=(?P<credential>[^,]*),"
    r"\s*SignedHeaders=(?P<headers>[^,]*),\s*Signature=(?P<signature>\S+)$"
)

THROTTLED = ("Throttling.User", 400, "Request was denied due to user flow control.")
UNAVAILABLE = (
    "ServiceUnavailable",
    503,
    "The request has failed due to a temporary failure of the server.",
)


@dataclass
class ApiCall:
    """One parsed API request."""

    style: str
    service: str
    action: str
    params: dict[str, str]  # the action's own parameters
    signed: SignedRequest


def _form(headers: dict[str, str], body: bytes) -> dict[str, str]:
    if not body or "x-www-form-urlencoded" not in headers.get("content-type", ""):
        return {}
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise AliCloudError(400, "InvalidParameter", "The request body is not UTF-8.") from None


def parse(method: str, target: str, headers: dict[str, str], body: bytes) -> ApiCall:
    """Read an API request; `headers` have lower-cased names."""
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    form = _form(headers, body)
    authorization = headers.get("authorization", "")
    if authorization.startswith("ACS3-"):
        match = _AUTH.match(authorization.strip())
        if match is None:
            raise AliCloudError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        action = headers.get("x-acs-action", "")
        version = headers.get("x-acs-version", "")
        signed = SignedRequest(
            style="v3",
            method=method,
            path=parts.path or "/",
            params=query,
            access_key_id=match["credential"],
            signature=match["signature"],
            security_token=headers.get("x-acs-security-token", ""),
            timestamp=headers.get("x-acs-date", ""),
            nonce=headers.get("x-acs-signature-nonce", ""),
            headers=headers,
            signed_headers=[h for h in match["headers"].split(";") if h],
            algorithm=match["algorithm"],
            body_sha256=hashlib.sha256(body).hexdigest(),
        )
        params = {**query, **form}
        style = "v3"
    else:
        everything = {**query, **form}
        action = everything.get("Action", "") or headers.get("x-acs-action", "")
        version = everything.get("Version", "") or headers.get("x-acs-version", "")
        signed = SignedRequest(
            style="v1",
            method=method,
            path=parts.path or "/",
            params={k: v for k, v in everything.items() if k != "Signature"},
            access_key_id=everything.get("AccessKeyId", ""),
            signature=everything.get("Signature", ""),
            security_token=everything.get("SecurityToken", ""),
            timestamp=everything.get("Timestamp", ""),
            nonce=everything.get("SignatureNonce", ""),
        )
        if signed.signature and everything.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
            raise AliCloudError(
                400,
                "InvalidSignatureMethod",
                "Specified signature method is not supported.",
            )
        params = {k: v for k, v in everything.items() if k not in COMMON_PARAMS}
        style = "v1"
    if not action:
        raise AliCloudError(400, "MissingAction", "Action is mandatory for this action.")
    if not version:
        raise AliCloudError(400, "MissingVersion", "Version is mandatory for this action.")
    return ApiCall(style, service_for(version, action), action, params, signed)


def dispatch(account: Account, call: ApiCall) -> dict[str, Any]:
    principal = account.authenticate(call.signed)
    return account.call(principal, call.service, call.action, call.params)


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def ok_body(result: dict[str, Any], request_id: str) -> bytes:
    return json.dumps({"RequestId": request_id, **result}).encode()


def error_body(err: AliCloudError, request_id: str, host: str, service: str = "") -> bytes:
    product = "Sts" if service == "sts" else "Ram"
    return json.dumps(
        {
            "RequestId": request_id,
            "HostId": host,
            "Code": err.code,
            "Message": err.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={err.code}&product={product}",
        }
    ).encode()


JSON_HEADERS = [("Content-Type", "application/json;charset=utf-8")]
