"""The state of one fake Alibaba Cloud account, and the rules RAM and STS enforce on it.

Everything a real account would refuse is refused here, with RAM's own error
codes and HTTP statuses: invalid names, malformed or oversized policy
documents, quotas (users, 2 access keys per user, custom policies, 5 policy
versions, attached policies per user), not-found and conflict errors, delete
conflicts, permissions (policies attached to the caller are evaluated), trust
policies for STS AssumeRole, and request authentication (signature check of
both wire styles, timestamp window, nonce replay, STS security tokens).

`Account.call(principal, service, action, params)` runs one API action;
`Account.authenticate(signed)` turns a signed request into the caller. The
wire format (query strings, headers, JSON) is responses.py's business.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

RAM_VERSION = "2015-05-01"
STS_VERSION = "2015-04-01"

DEFAULT_ACCOUNT_ID = "1234567890123456"
DEFAULT_ROOT_KEY = "LTAI5tFakeRootAccessKey1"
DEFAULT_ROOT_SECRET = "FakeRootSecretForTests0000000000"

# RAM's limits. Real accounts can raise some of them; tests lower them through
# POST /_fake/quotas to reach a quota error quickly.
DEFAULT_QUOTAS: dict[str, int] = {
    "users": 1000,
    "access_keys_per_user": 2,
    "custom_policies": 1500,
    "policy_versions": 5,
    "policies_per_user": 25,
    "policy_document_length": 6144,
    "roles": 1000,
}

TIMESTAMP_WINDOW = 15 * 60  # seconds a signed request stays valid
NONCE_MEMORY = 100_000

_USER_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_DISPLAY_NAME = re.compile(r"^[\w@.-]+$")
_POLICY_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9.-]+$")
_SESSION_NAME = re.compile(r"^[A-Za-z0-9.@_-]{2,64}$")
_ROLE_ARN = re.compile(r"^acs:ram::(\d+):role/(.+)$")


class AliCloudError(Exception):
    """An error answer: HTTP status, RAM/STS error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _missing(name: str) -> AliCloudError:
    return AliCloudError(400, f"Missing{name}", f"{name} is mandatory for this action.")


def _invalid_chars(name: str) -> AliCloudError:
    return AliCloudError(
        400,
        f"InvalidParameter.{name}.InvalidChars",
        f'The parameter - "{name}" contains invalid chars.',
    )


def _too_long(name: str) -> AliCloudError:
    return AliCloudError(
        400,
        f"InvalidParameter.{name}.Length",
        f'The parameter - "{name}" beyond the length limit.',
    )


def now_iso(at: float | None = None) -> str:
    """RAM's timestamp format: UTC, whole seconds, `Z`."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


_ALNUM = string.ascii_letters + string.digits


def new_access_key_id(prefix: str = "LTAI5t") -> str:
    return prefix + _random(_ALNUM, 24 - len(prefix))


def new_secret() -> str:
    return _random(_ALNUM, 30)


def _numeric_id() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


# ---------------------------------------------------------------- entities


@dataclass
class PolicyVersion:
    version_id: str
    document: str
    created: str
    is_default: bool = False


@dataclass
class Policy:
    name: str
    type: str  # "System" | "Custom"
    description: str
    created: str
    versions: list[PolicyVersion] = field(default_factory=list)
    next_version: int = 1

    @property
    def default(self) -> PolicyVersion:
        return next(v for v in self.versions if v.is_default)

    def summary(self, attachments: int) -> dict[str, Any]:
        return {
            "PolicyName": self.name,
            "PolicyType": self.type,
            "Description": self.description,
            "DefaultVersion": self.default.version_id,
            "CreateDate": self.created,
            "UpdateDate": self.default.created,
            "AttachmentCount": attachments,
        }


@dataclass
class AccessKey:
    id: str
    secret: str
    owner: str | None  # a user name; None for the account's root key
    created: str
    status: str = "Active"

    def summary(self) -> dict[str, Any]:
        return {"AccessKeyId": self.id, "Status": self.status, "CreateDate": self.created}


@dataclass
class User:
    name: str
    id: str
    display_name: str
    created: str
    comments: str = ""
    updated: str = ""
    policies: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)
    # (type, name) -> attach date

    def summary(self) -> dict[str, Any]:
        return {
            "UserId": self.id,
            "UserName": self.name,
            "DisplayName": self.display_name,
            "CreateDate": self.created,
            "UpdateDate": self.updated or self.created,
            "Comments": self.comments,
        }


@dataclass
class Role:
    name: str
    id: str
    arn: str
    trust: str  # AssumeRolePolicyDocument
    description: str
    created: str
    max_session: int = 3600
    policies: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)

    def summary(self) -> dict[str, Any]:
        return {
            "RoleId": self.id,
            "RoleName": self.name,
            "Arn": self.arn,
            "Description": self.description,
            "AssumeRolePolicyDocument": self.trust,
            "CreateDate": self.created,
            "UpdateDate": self.created,
            "MaxSessionDuration": self.max_session,
        }


@dataclass
class Session:
    """Temporary credentials from AssumeRole."""

    access_key_id: str
    secret: str
    token: str
    role_name: str
    session_name: str
    expires: float
    policy: str = ""  # the optional session policy narrowing the role's rights


@dataclass
class Principal:
    """Who signed a request."""

    kind: str  # "Account" | "RAMUser" | "AssumedRoleUser"
    account_id: str
    arn: str
    principal_id: str
    access_key_id: str
    user: str = ""
    role: str = ""
    session: Session | None = None


@dataclass
class SignedRequest:
    """What authentication needs from a request, whichever wire style it used."""

    style: str  # "v1" (RPC, HMAC-SHA1) or "v3" (ACS3-HMAC-SHA256)
    method: str
    path: str
    params: dict[str, str]  # v1: every parameter but Signature; v3: the query parameters
    access_key_id: str
    signature: str
    security_token: str = ""
    timestamp: str = ""
    nonce: str = ""
    # v3 only:
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    signed_headers: list[str] = field(default_factory=list)
    algorithm: str = ""
    body_sha256: str = ""


# ---------------------------------------------------------------- signing


def percent_encode(text: str) -> str:
    """RFC 3986 encoding as Alibaba Cloud signs it (space %20, `~` kept)."""
    return quote(text, safe="~")


def rpc_string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
    )
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_signature(secret: str, method: str, params: dict[str, str]) -> str:
    digest = hmac.new(
        (secret + "&").encode(), rpc_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def acs3_canonical_request(signed: SignedRequest) -> str:
    query = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(signed.params.items())
    )
    headers = "".join(
        f"{name}:{signed.headers.get(name, '').strip()}\n" for name in signed.signed_headers
    )
    return "\n".join(
        [
            signed.method,
            signed.path or "/",
            query,
            headers,
            ";".join(signed.signed_headers),
            signed.headers.get("x-acs-content-sha256", ""),
        ]
    )


def acs3_signature(secret: str, signed: SignedRequest) -> str:
    canonical = acs3_canonical_request(signed)
    to_sign = f"{signed.algorithm}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- policies

_EFFECTS = ("Allow", "Deny")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse_policy_document(text: str, *, code: str = "MalformedPolicyDocument") -> dict[str, Any]:
    """A RAM policy document, checked the way CreatePolicy checks it."""

    def bad(why: str) -> AliCloudError:
        return AliCloudError(400, code, f"The policy document is malformed: {why}")

    try:
        doc = json.loads(text)
    except ValueError:
        raise bad("not valid JSON") from None
    if not isinstance(doc, dict):
        raise bad("the document must be a JSON object")
    if str(doc.get("Version", "")) != "1":
        raise bad('"Version" must be "1"')
    statements = doc.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise bad('"Statement" must be a non-empty array')
    for statement in statements:
        if not isinstance(statement, dict):
            raise bad("each statement must be an object")
        if statement.get("Effect") not in _EFFECTS:
            raise bad('"Effect" must be "Allow" or "Deny"')
        for key in ("Action", "Resource"):
            if key not in statement and code == "MalformedPolicyDocument":
                raise bad(f'a statement has no "{key}"')
            values = _as_list(statement.get(key, []))
            if not all(isinstance(v, str) and v for v in values):
                raise bad(f'"{key}" must be a string or an array of strings')
    return doc


def _matches(patterns: list[str], value: str, *, case: bool) -> bool:
    if not case:
        value = value.lower()
        patterns = [p.lower() for p in patterns]
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def evaluate(documents: list[dict[str, Any]], action: str, resource: str) -> str:
    """ "Allow", "Deny" (an explicit deny) or "" (nothing grants it)."""
    allowed = False
    for doc in documents:
        for statement in doc.get("Statement", []):
            if not _matches(_as_list(statement.get("Action", [])), action, case=False):
                continue
            if not _matches(_as_list(statement.get("Resource", [])), resource, case=True):
                continue
            if statement.get("Effect") == "Deny":
                return "Deny"
            allowed = True
    return "Allow" if allowed else ""


SYSTEM_POLICIES: dict[str, tuple[str, list[str]]] = {
    "AdministratorAccess": ("Provides full access to Alibaba Cloud services.", ["*"]),
    "ReadOnlyAccess": (
        "Provides read-only access to Alibaba Cloud services.",
        ["*:Get*", "*:List*", "*:Describe*", "*:Query*", "*:BatchGet*"],
    ),
    "AliyunOSSFullAccess": ("Provides full access to OSS.", ["oss:*"]),
    "AliyunOSSReadOnlyAccess": ("Provides read-only access to OSS.", ["oss:Get*", "oss:List*"]),
    "AliyunRDSReadOnlyAccess": (
        "Provides read-only access to RDS.",
        ["rds:Describe*", "rds:List*"],
    ),
    "AliyunECSReadOnlyAccess": ("Provides read-only access to ECS.", ["ecs:Describe*"]),
    "AliyunRAMFullAccess": ("Provides full access to RAM.", ["ram:*"]),
    "AliyunRAMReadOnlyAccess": ("Provides read-only access to RAM.", ["ram:Get*", "ram:List*"]),
    "AliyunSTSAssumeRoleAccess": ("Provides access to assume roles.", ["sts:AssumeRole"]),
}


def _system_document(actions: list[str]) -> str:
    return json.dumps(
        {
            "Version": "1",
            "Statement": [
                {
                    "Action": actions if len(actions) > 1 else actions[0],
                    "Effect": "Allow",
                    "Resource": "*",
                }
            ],
        }
    )


# ---------------------------------------------------------------- the account


class Account:
    """One account's RAM and STS state. Thread-safe: every action holds the lock."""

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT_ID,
        root_key: str = DEFAULT_ROOT_KEY,
        root_secret: str = DEFAULT_ROOT_SECRET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_id = account_id
        self.root_key = root_key
        self.root_secret = root_secret
        self.clock = clock
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.quotas = dict(DEFAULT_QUOTAS)
            self.users: dict[str, User] = {}
            self.keys: dict[str, AccessKey] = {
                self.root_key: AccessKey(self.root_key, self.root_secret, None, now_iso())
            }
            self.policies: dict[tuple[str, str], Policy] = {}
            self.roles: dict[str, Role] = {}  # by lower-cased name
            self.sessions: dict[str, Session] = {}
            self._nonces: OrderedDict[str, float] = OrderedDict()
            created = now_iso()
            for name, (description, actions) in SYSTEM_POLICIES.items():
                self.policies[("System", name)] = Policy(
                    name,
                    "System",
                    description,
                    created,
                    [PolicyVersion("v1", _system_document(actions), created, True)],
                    2,
                )

    # ------------------------------------------------------------ authentication
    def authenticate(self, signed: SignedRequest) -> Principal:
        with self.lock:
            if not signed.access_key_id:
                raise AliCloudError(
                    400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action."
                )
            if not signed.signature:
                raise AliCloudError(
                    400, "MissingSignature", "Signature is mandatory for this action."
                )
            self._check_time(signed)
            key_id = signed.access_key_id
            session = self.sessions.get(key_id)
            if session is not None:
                secret = session.secret
            else:
                key = self.keys.get(key_id)
                if key is None:
                    raise AliCloudError(
                        404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
                    )
                if key.status != "Active":
                    raise AliCloudError(
                        400, "InvalidAccessKeyId.Inactive", "Specified access key is disabled."
                    )
                secret = key.secret
            if signed.style == "v1":
                expected = rpc_signature(secret, signed.method, signed.params)
                if not hmac.compare_digest(expected, signed.signature):
                    raise AliCloudError(
                        400,
                        "SignatureDoesNotMatch",
                        "Specified signature is not matched with our calculation. server string "
                        f"to sign is:{rpc_string_to_sign(signed.method, signed.params)}",
                    )
            else:
                self._check_acs3(signed, secret)
            self._check_nonce(signed.nonce)
            if session is not None:
                return self._session_principal(session, signed)
            if signed.security_token:
                raise AliCloudError(
                    400,
                    "InvalidSecurityToken.MismatchWithAccessKey",
                    "Specified SecurityToken mismatch with the AccessKey.",
                )
            owner = self.keys[key_id].owner
            if owner is None:
                return Principal(
                    "Account",
                    self.account_id,
                    f"acs:ram::{self.account_id}:root",
                    self.account_id,
                    key_id,
                )
            user = self.users[owner]
            return Principal(
                "RAMUser",
                self.account_id,
                self.user_arn(owner),
                user.id,
                key_id,
                user=owner,
            )

    def _check_time(self, signed: SignedRequest) -> None:
        if not signed.timestamp:
            raise AliCloudError(400, "MissingTimestamp", "Timestamp is mandatory for this action.")
        try:
            moment = datetime.strptime(signed.timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise AliCloudError(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            ) from None
        if abs(moment.timestamp() - self.clock()) > TIMESTAMP_WINDOW:
            raise AliCloudError(
                400,
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date value is expired.",
            )

    def _check_nonce(self, nonce: str) -> None:
        if not nonce:
            raise AliCloudError(
                400, "MissingSignatureNonce", "SignatureNonce is mandatory for this action."
            )
        if nonce in self._nonces:
            raise AliCloudError(
                400, "SignatureNonceUsed", "Specified signature nonce was used already."
            )
        self._nonces[nonce] = self.clock()
        while len(self._nonces) > NONCE_MEMORY:
            self._nonces.popitem(last=False)

    def _check_acs3(self, signed: SignedRequest, secret: str) -> None:
        if signed.algorithm != "ACS3-HMAC-SHA256":
            raise AliCloudError(
                400,
                "InvalidSignatureMethod",
                f"Specified signature method {signed.algorithm} is not supported.",
            )
        for required in (
            "host",
            "x-acs-action",
            "x-acs-version",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
        ):
            if required not in signed.signed_headers:
                raise AliCloudError(
                    400,
                    "IncompleteSignature",
                    f"The request signature does not conform to Aliyun standards: header "
                    f"{required} is not signed.",
                )
        if signed.headers.get("x-acs-content-sha256", "") != signed.body_sha256:
            raise AliCloudError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: the body does not "
                "match x-acs-content-sha256.",
            )
        expected = acs3_signature(secret, signed)
        if not hmac.compare_digest(expected, signed.signature):
            raise AliCloudError(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation. server string to "
                f"sign is:{signed.algorithm}\n"
                f"{hashlib.sha256(acs3_canonical_request(signed).encode()).hexdigest()}",
            )

    def _session_principal(self, session: Session, signed: SignedRequest) -> Principal:
        if not signed.security_token:
            raise AliCloudError(
                400, "MissingSecurityToken", "SecurityToken is mandatory for this access key."
            )
        if not hmac.compare_digest(signed.security_token, session.token):
            raise AliCloudError(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            )
        if session.expires <= self.clock():
            raise AliCloudError(
                400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."
            )
        role = self.roles.get(session.role_name.lower())
        if role is None:  # deleted since: the session can do nothing
            raise AliCloudError(
                400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."
            )
        return Principal(
            "AssumedRoleUser",
            self.account_id,
            f"acs:ram::{self.account_id}:assumed-role/{role.name}/{session.session_name}",
            f"{role.id}:{session.session_name}",
            session.access_key_id,
            role=role.name,
            session=session,
        )

    # ------------------------------------------------------------ authorisation
    def user_arn(self, name: str) -> str:
        return f"acs:ram::{self.account_id}:user/{name}"

    def role_arn(self, name: str) -> str:
        return f"acs:ram::{self.account_id}:role/{name.lower()}"

    def _documents(self, attached: OrderedDict[tuple[str, str], str]) -> list[dict[str, Any]]:
        docs = []
        for key in attached:
            policy = self.policies.get(key)
            if policy is not None:
                docs.append(json.loads(policy.default.document))
        return docs

    def authorize(self, principal: Principal, action: str, resource: str) -> None:
        if principal.kind == "Account":
            return
        if principal.kind == "RAMUser":
            docs = self._documents(self.users[principal.user].policies)
            verdict = evaluate(docs, action, resource)
        else:
            role = self.roles[principal.role.lower()]
            verdict = evaluate(self._documents(role.policies), action, resource)
            session = principal.session
            if verdict == "Allow" and session is not None and session.policy:
                verdict = evaluate([json.loads(session.policy)], action, resource)
        if verdict != "Allow":
            raise AliCloudError(
                403,
                "NoPermission",
                f"You are not authorized to do this action. You should be authorized by RAM. "
                f"Action: {action}, Resource: {resource}",
            )

    def _resource(self, service: str, params: dict[str, str]) -> str:
        acct = self.account_id
        if service == "sts":
            return params.get("RoleArn", "*")
        if params.get("UserName"):
            return f"acs:ram:*:{acct}:user/{params['UserName']}"
        if params.get("RoleName"):
            return f"acs:ram:*:{acct}:role/{params['RoleName']}"
        if params.get("PolicyName"):
            return f"acs:ram:*:{acct}:policy/{params['PolicyName']}"
        return "*"

    # ------------------------------------------------------------ dispatch
    def call(
        self, principal: Principal, service: str, action: str, params: dict[str, str]
    ) -> dict[str, Any]:
        table = RAM_ACTIONS if service == "ram" else STS_ACTIONS
        method = table.get(action)
        if method is None:
            raise AliCloudError(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        with self.lock:
            if action != "GetCallerIdentity":
                self.authorize(principal, f"{service}:{action}", self._resource(service, params))
            return method(self, principal, params)

    # ------------------------------------------------------------ helpers
    def _user(self, params: dict[str, str], key: str = "UserName") -> User:
        name = params.get(key, "")
        if not name:
            raise _missing(key)
        user = self.users.get(name)
        if user is None:
            raise AliCloudError(404, "EntityNotExist.User", f"The user does not exist: {name}.")
        return user

    def _policy(self, params: dict[str, str], *, type_required: bool = True) -> Policy:
        name = params.get("PolicyName", "")
        if not name:
            raise _missing("PolicyName")
        policy_type = params.get("PolicyType", "")
        if not policy_type:
            if type_required:
                raise _missing("PolicyType")
            policy_type = "Custom"
        if policy_type not in ("System", "Custom"):
            raise AliCloudError(
                400,
                "InvalidParameter.PolicyType.InvalidValue",
                'The parameter - "PolicyType" must be "System" or "Custom".',
            )
        policy = self.policies.get((policy_type, name))
        if policy is None:
            raise AliCloudError(404, "EntityNotExist.Policy", f"The policy does not exist: {name}.")
        return policy

    def _attachments(self, policy: Policy) -> tuple[list[User], list[Role]]:
        key = (policy.type, policy.name)
        users = [u for u in self.users.values() if key in u.policies]
        roles = [r for r in self.roles.values() if key in r.policies]
        return users, roles

    def _check_document(self, text: str) -> str:
        if not text:
            raise _missing("PolicyDocument")
        if len(text) > self.quotas["policy_document_length"]:
            raise _too_long("PolicyDocument")
        parse_policy_document(text)
        return text

    def _role(self, params: dict[str, str]) -> Role:
        name = params.get("RoleName", "")
        if not name:
            raise _missing("RoleName")
        role = self.roles.get(name.lower())
        if role is None:
            raise AliCloudError(404, "EntityNotExist.Role", f"The role does not exist: {name}.")
        return role

    # ------------------------------------------------------------ state for tests
    def snapshot(self) -> dict[str, Any]:
        """Everything but secrets, for GET /_fake/state."""
        with self.lock:
            users = {}
            for name, user in self.users.items():
                users[name] = {
                    **user.summary(),
                    "AccessKeys": [k.summary() for k in self.keys.values() if k.owner == name],
                    "Policies": [
                        {"PolicyType": t, "PolicyName": n, "AttachDate": d}
                        for (t, n), d in user.policies.items()
                    ],
                }
            policies = {}
            for (policy_type, name), policy in self.policies.items():
                if policy_type != "Custom":
                    continue
                users_of, roles_of = self._attachments(policy)
                policies[name] = {
                    **policy.summary(len(users_of) + len(roles_of)),
                    "PolicyDocument": json.loads(policy.default.document),
                    "Versions": [v.version_id for v in policy.versions],
                    "Users": [u.name for u in users_of],
                }
            roles = {
                role.name: {
                    **role.summary(),
                    "Policies": [{"PolicyType": t, "PolicyName": n} for (t, n) in role.policies],
                }
                for role in self.roles.values()
            }
            now = self.clock()
            sessions = [
                {
                    "AccessKeyId": s.access_key_id,
                    "RoleName": s.role_name,
                    "RoleSessionName": s.session_name,
                    "Expiration": now_iso(s.expires),
                    "Expired": s.expires <= now,
                }
                for s in self.sessions.values()
            ]
            return {
                "AccountId": self.account_id,
                "RootAccessKeyId": self.root_key,
                "Users": users,
                "Policies": policies,
                "Roles": roles,
                "Sessions": sessions,
                "Quotas": dict(self.quotas),
            }

    def set_quotas(self, values: dict[str, Any]) -> dict[str, int]:
        with self.lock:
            for name, value in values.items():
                if name not in DEFAULT_QUOTAS:
                    raise ValueError(f"unknown quota {name!r}; known: {sorted(DEFAULT_QUOTAS)}")
                self.quotas[name] = int(value)
            return dict(self.quotas)


# ---------------------------------------------------------------- RAM actions
# Each takes (account, caller, params) with the lock held and returns the body
# without RequestId.

Action = Callable[[Account, Principal, dict[str, str]], dict[str, Any]]


def create_user(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    name = p.get("UserName", "")
    if not name:
        raise _missing("UserName")
    if len(name) > 64:
        raise _too_long("UserName")
    if not _USER_NAME.match(name):
        raise _invalid_chars("UserName")
    display = p.get("DisplayName") or name
    if len(display) > 128:
        raise _too_long("DisplayName")
    if not _DISPLAY_NAME.match(display):
        raise _invalid_chars("DisplayName")
    if name in acct.users:
        raise AliCloudError(409, "EntityAlreadyExists.User", f"The user already exists: {name}.")
    if len(acct.users) >= acct.quotas["users"]:
        raise AliCloudError(
            409,
            "LimitExceeded.User",
            f"The count of users exceeds the quota (limit = {acct.quotas['users']}).",
        )
    user = User(name, _numeric_id(), display, now_iso(), comments=p.get("Comments", ""))
    acct.users[name] = user
    return {"User": user.summary()}


def get_user(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    return {"User": acct._user(p).summary()}


def update_user(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    user = acct._user(p)
    if p.get("NewDisplayName"):
        user.display_name = p["NewDisplayName"]
    if p.get("NewComments"):
        user.comments = p["NewComments"]
    user.updated = now_iso()
    return {"User": user.summary()}


def delete_user(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    user = acct._user(p)
    if any(k.owner == user.name for k in acct.keys.values()):
        raise AliCloudError(
            409,
            "DeleteConflict.User.AccessKey",
            "The user has access keys. Delete them before deleting the user.",
        )
    if user.policies:
        raise AliCloudError(
            409,
            "DeleteConflict.User.Policy",
            "The user has attached policies. Detach them before deleting the user.",
        )
    del acct.users[user.name]
    return {}


def list_users(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    return {
        "Users": {"User": [u.summary() for u in acct.users.values()]},
        "IsTruncated": False,
    }


def create_access_key(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    owner = p.get("UserName") or caller.user or None
    if owner is not None:
        acct._user({"UserName": owner})
    limit = acct.quotas["access_keys_per_user"]
    if sum(1 for k in acct.keys.values() if k.owner == owner) >= limit:
        raise AliCloudError(
            409,
            "LimitExceeded.User.AccessKey",
            f"Current user access key quota exceeded (limit = {limit}).",
        )
    key = AccessKey(new_access_key_id(), new_secret(), owner, now_iso())
    acct.keys[key.id] = key
    return {"AccessKey": {**key.summary(), "AccessKeySecret": key.secret}}


def _key_of(acct: Account, caller: Principal, p: dict[str, str]) -> AccessKey:
    key_id = p.get("UserAccessKeyId", "")
    if not key_id:
        raise _missing("UserAccessKeyId")
    owner = p.get("UserName") or caller.user or None
    if owner is not None:
        acct._user({"UserName": owner})
    key = acct.keys.get(key_id)
    if key is None or key.owner != owner:
        raise AliCloudError(
            404, "EntityNotExist.User.AccessKey", f"The access key does not exist: {key_id}."
        )
    return key


def delete_access_key(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    key = _key_of(acct, caller, p)
    del acct.keys[key.id]
    return {}


def update_access_key(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    key = _key_of(acct, caller, p)
    status = p.get("Status", "")
    if status not in ("Active", "Inactive"):
        raise AliCloudError(
            400, "InvalidParameter.Status", 'The parameter - "Status" must be Active or Inactive.'
        )
    key.status = status
    return {}


def list_access_keys(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    owner = p.get("UserName") or caller.user or None
    if owner is not None:
        acct._user({"UserName": owner})
    keys = [k.summary() for k in acct.keys.values() if k.owner == owner]
    return {"AccessKeys": {"AccessKey": keys}}


def create_policy(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    name = p.get("PolicyName", "")
    if not name:
        raise _missing("PolicyName")
    if len(name) > 128:
        raise _too_long("PolicyName")
    if not _POLICY_NAME.match(name):
        raise _invalid_chars("PolicyName")
    description = p.get("Description", "")
    if len(description) > 1024:
        raise _too_long("Description")
    document = acct._check_document(p.get("PolicyDocument", ""))
    if ("Custom", name) in acct.policies:
        raise AliCloudError(
            409, "EntityAlreadyExists.Policy", f"The policy already exists: {name}."
        )
    custom = sum(1 for t, _ in acct.policies if t == "Custom")
    if custom >= acct.quotas["custom_policies"]:
        raise AliCloudError(
            409,
            "LimitExceeded.Policy",
            f"The count of policies exceeds the quota (limit = {acct.quotas['custom_policies']}).",
        )
    created = now_iso()
    policy = Policy(
        name, "Custom", description, created, [PolicyVersion("v1", document, created, True)], 2
    )
    acct.policies[("Custom", name)] = policy
    out = policy.summary(0)
    del out["UpdateDate"], out["AttachmentCount"]
    return {"Policy": out}


def get_policy(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy(p)
    users, roles = acct._attachments(policy)
    default = policy.default
    return {
        "Policy": {**policy.summary(len(users) + len(roles)), "PolicyDocument": default.document},
        "DefaultPolicyVersion": {
            "VersionId": default.version_id,
            "IsDefaultVersion": True,
            "PolicyDocument": default.document,
            "CreateDate": default.created,
        },
    }


def delete_policy(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy({**p, "PolicyType": "Custom"})
    users, roles = acct._attachments(policy)
    if users:
        raise AliCloudError(
            409,
            "DeleteConflict.Policy.User",
            "The policy is attached to users. Detach it before deleting the policy.",
        )
    if roles:
        raise AliCloudError(
            409,
            "DeleteConflict.Policy.Role",
            "The policy is attached to roles. Detach it before deleting the policy.",
        )
    if len(policy.versions) > 1 and p.get("CascadingDelete", "").lower() != "true":
        raise AliCloudError(
            409,
            "DeleteConflict.Policy.Version",
            "The policy has non-default versions. Delete them before deleting the policy.",
        )
    del acct.policies[("Custom", policy.name)]
    return {}


def list_policies(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    wanted = p.get("PolicyType", "")
    out = []
    for (policy_type, _), policy in acct.policies.items():
        if wanted and policy_type != wanted:
            continue
        users, roles = acct._attachments(policy)
        out.append(policy.summary(len(users) + len(roles)))
    return {"Policies": {"Policy": out}, "IsTruncated": False}


def create_policy_version(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy({**p, "PolicyType": "Custom"})
    document = acct._check_document(p.get("PolicyDocument", ""))
    limit = acct.quotas["policy_versions"]
    if len(policy.versions) >= limit:
        if p.get("RotateStrategy") == "DeleteOldestNonDefaultVersionWhenLimitExceeded":
            oldest = next(v for v in policy.versions if not v.is_default)
            policy.versions.remove(oldest)
        else:
            raise AliCloudError(
                409,
                "LimitExceeded.Policy.Version",
                f"The count of policy versions exceeds the quota (limit = {limit}).",
            )
    version = PolicyVersion(f"v{policy.next_version}", document, now_iso())
    policy.next_version += 1
    policy.versions.append(version)
    if p.get("SetAsDefault", "").lower() == "true":
        for v in policy.versions:
            v.is_default = v is version
    return {
        "PolicyVersion": {
            "VersionId": version.version_id,
            "IsDefaultVersion": version.is_default,
            "PolicyDocument": version.document,
            "CreateDate": version.created,
        }
    }


def _version(policy: Policy, p: dict[str, str]) -> PolicyVersion:
    version_id = p.get("VersionId", "")
    if not version_id:
        raise _missing("VersionId")
    for version in policy.versions:
        if version.version_id == version_id:
            return version
    raise AliCloudError(
        404, "EntityNotExist.Policy.Version", f"The policy version does not exist: {version_id}."
    )


def delete_policy_version(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy({**p, "PolicyType": "Custom"})
    version = _version(policy, p)
    if version.is_default:
        raise AliCloudError(
            409,
            "DeleteConflict.PolicyVersion.Default",
            "The default version of a policy cannot be deleted.",
        )
    policy.versions.remove(version)
    return {}


def set_default_policy_version(
    acct: Account, caller: Principal, p: dict[str, str]
) -> dict[str, Any]:
    policy = acct._policy({**p, "PolicyType": "Custom"})
    version = _version(policy, p)
    for v in policy.versions:
        v.is_default = v is version
    return {}


def list_policy_versions(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy(p)
    return {
        "PolicyVersions": {
            "PolicyVersion": [
                {
                    "VersionId": v.version_id,
                    "IsDefaultVersion": v.is_default,
                    "PolicyDocument": v.document,
                    "CreateDate": v.created,
                }
                for v in policy.versions
            ]
        }
    }


def attach_policy_to_user(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy(p)
    user = acct._user(p)
    key = (policy.type, policy.name)
    if key in user.policies:
        raise AliCloudError(
            409,
            "EntityAlreadyExists.User.Policy",
            f"The policy has already been attached to the user: {policy.name}.",
        )
    limit = acct.quotas["policies_per_user"]
    if len(user.policies) >= limit:
        raise AliCloudError(
            409,
            "LimitExceeded.User.Policy",
            f"The count of policies attached to the user exceeds the quota (limit = {limit}).",
        )
    user.policies[key] = now_iso()
    return {}


def detach_policy_from_user(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy(p)
    user = acct._user(p)
    key = (policy.type, policy.name)
    if key not in user.policies:
        raise AliCloudError(
            404,
            "EntityNotExist.User.Policy",
            f"The policy is not attached to the user: {policy.name}.",
        )
    del user.policies[key]
    return {}


def list_policies_for_user(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    user = acct._user(p)
    out = []
    for (policy_type, name), attached in user.policies.items():
        policy = acct.policies[(policy_type, name)]
        out.append(
            {
                "PolicyName": name,
                "PolicyType": policy_type,
                "Description": policy.description,
                "DefaultVersion": policy.default.version_id,
                "AttachDate": attached,
            }
        )
    return {"Policies": {"Policy": out}}


def list_entities_for_policy(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy(p)
    key = (policy.type, policy.name)
    users, roles = acct._attachments(policy)
    return {
        "Users": {
            "User": [
                {
                    "UserId": u.id,
                    "UserName": u.name,
                    "DisplayName": u.display_name,
                    "AttachDate": u.policies[key],
                }
                for u in users
            ]
        },
        "Groups": {"Group": []},
        "Roles": {
            "Role": [
                {
                    "RoleId": r.id,
                    "RoleName": r.name,
                    "Arn": r.arn,
                    "Description": r.description,
                    "AttachDate": r.policies[key],
                }
                for r in roles
            ]
        },
    }


def create_role(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    name = p.get("RoleName", "")
    if not name:
        raise _missing("RoleName")
    if len(name) > 64:
        raise _too_long("RoleName")
    if not _ROLE_NAME.match(name):
        raise _invalid_chars("RoleName")
    trust = p.get("AssumeRolePolicyDocument", "")
    if not trust:
        raise _missing("AssumeRolePolicyDocument")
    parse_policy_document(trust, code="MalformedPolicyDocument.AssumeRolePolicyDocument")
    if name.lower() in acct.roles:
        raise AliCloudError(409, "EntityAlreadyExists.Role", f"The role already exists: {name}.")
    if len(acct.roles) >= acct.quotas["roles"]:
        raise AliCloudError(
            409,
            "LimitExceeded.Role",
            f"The count of roles exceeds the quota (limit = {acct.quotas['roles']}).",
        )
    max_session = int(p.get("MaxSessionDuration") or 3600)
    if not 3600 <= max_session <= 43200:
        raise AliCloudError(
            400,
            "InvalidParameter.MaxSessionDuration",
            "MaxSessionDuration must be between 3600 and 43200 seconds.",
        )
    role = Role(
        name,
        _numeric_id(),
        acct.role_arn(name),
        trust,
        p.get("Description", ""),
        now_iso(),
        max_session,
    )
    acct.roles[name.lower()] = role
    return {"Role": role.summary()}


def get_role(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    return {"Role": acct._role(p).summary()}


def delete_role(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    role = acct._role(p)
    if role.policies:
        raise AliCloudError(
            409,
            "DeleteConflict.Role.Policy",
            "The role has attached policies. Detach them before deleting the role.",
        )
    del acct.roles[role.name.lower()]
    return {}


def list_roles(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    return {"Roles": {"Role": [r.summary() for r in acct.roles.values()]}, "IsTruncated": False}


def attach_policy_to_role(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy(p)
    role = acct._role(p)
    key = (policy.type, policy.name)
    if key in role.policies:
        raise AliCloudError(
            409,
            "EntityAlreadyExists.Role.Policy",
            f"The policy has already been attached to the role: {policy.name}.",
        )
    role.policies[key] = now_iso()
    return {}


def detach_policy_from_role(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    policy = acct._policy(p)
    role = acct._role(p)
    key = (policy.type, policy.name)
    if key not in role.policies:
        raise AliCloudError(
            404,
            "EntityNotExist.Role.Policy",
            f"The policy is not attached to the role: {policy.name}.",
        )
    del role.policies[key]
    return {}


def list_policies_for_role(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    role = acct._role(p)
    out = [
        {"PolicyName": n, "PolicyType": t, "AttachDate": d} for (t, n), d in role.policies.items()
    ]
    return {"Policies": {"Policy": out}}


RAM_ACTIONS: dict[str, Action] = {
    "CreateUser": create_user,
    "GetUser": get_user,
    "UpdateUser": update_user,
    "DeleteUser": delete_user,
    "ListUsers": list_users,
    "CreateAccessKey": create_access_key,
    "DeleteAccessKey": delete_access_key,
    "UpdateAccessKey": update_access_key,
    "ListAccessKeys": list_access_keys,
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "DeletePolicy": delete_policy,
    "ListPolicies": list_policies,
    "CreatePolicyVersion": create_policy_version,
    "DeletePolicyVersion": delete_policy_version,
    "SetDefaultPolicyVersion": set_default_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "AttachPolicyToUser": attach_policy_to_user,
    "DetachPolicyFromUser": detach_policy_from_user,
    "ListPoliciesForUser": list_policies_for_user,
    "ListEntitiesForPolicy": list_entities_for_policy,
    "CreateRole": create_role,
    "GetRole": get_role,
    "DeleteRole": delete_role,
    "ListRoles": list_roles,
    "AttachPolicyToRole": attach_policy_to_role,
    "DetachPolicyFromRole": detach_policy_from_role,
    "ListPoliciesForRole": list_policies_for_role,
}


# ---------------------------------------------------------------- STS actions


def _trusts(acct: Account, role: Role, caller: Principal) -> bool:
    doc = json.loads(role.trust)
    trusted: list[str] = []
    for statement in doc.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        if not _matches(_as_list(statement.get("Action", [])), "sts:AssumeRole", case=False):
            continue
        principal = statement.get("Principal", {})
        if isinstance(principal, dict):
            trusted += [str(v) for v in _as_list(principal.get("RAM", []))]
    account_root = f"acs:ram::{caller.account_id}:root"
    return account_root in trusted or caller.arn in trusted or "*" in trusted


def assume_role(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    arn = p.get("RoleArn", "")
    if not arn:
        raise _missing("RoleArn")
    session_name = p.get("RoleSessionName", "")
    if not session_name:
        raise _missing("RoleSessionName")
    if not _SESSION_NAME.match(session_name):
        raise AliCloudError(
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        )
    match = _ROLE_ARN.match(arn)
    if match is None:
        raise AliCloudError(
            400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed."
        )
    account_id, role_name = match.groups()
    role = acct.roles.get(role_name.lower()) if account_id == acct.account_id else None
    if role is None:
        raise AliCloudError(404, "EntityNotExist.Role", f"The role not exists: {arn}.")
    if not _trusts(acct, role, caller):
        raise AliCloudError(
            403,
            "NoPermission",
            "You are not authorized to do this action. You should be authorized by RAM.",
        )
    raw_duration = p.get("DurationSeconds") or "3600"
    try:
        duration = int(raw_duration)
    except ValueError:
        duration = -1
    if not 900 <= duration <= role.max_session:
        raise AliCloudError(
            400,
            "InvalidParameter.DurationSeconds",
            f"The Min/Max value of DurationSeconds is 15min/{role.max_session // 3600}hr.",
        )
    policy = p.get("Policy", "")
    if policy:
        parse_policy_document(policy, code="InvalidParameter.PolicyGrammar")
    expires = int(acct.clock()) + duration
    session = Session(
        "STS." + _random(_ALNUM, 24),
        new_secret() + _random(_ALNUM, 14),
        "CAIS" + base64.b64encode(secrets.token_bytes(120)).decode(),
        role.name,
        session_name,
        expires,
        policy,
    )
    acct.sessions[session.access_key_id] = session
    return {
        "AssumedRoleUser": {
            "Arn": f"acs:ram::{acct.account_id}:role/{role.name.lower()}/{session_name}",
            "AssumedRoleId": f"{role.id}:{session_name}",
        },
        "Credentials": {
            "AccessKeyId": session.access_key_id,
            "AccessKeySecret": session.secret,
            "SecurityToken": session.token,
            "Expiration": now_iso(expires),
        },
    }


def get_caller_identity(acct: Account, caller: Principal, p: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AccountId": caller.account_id,
        "Arn": caller.arn,
        "IdentityType": caller.kind,
        "PrincipalId": caller.principal_id,
    }
    if caller.kind == "RAMUser":
        out["UserId"] = caller.principal_id
    elif caller.kind == "AssumedRoleUser":
        out["RoleId"] = caller.principal_id.split(":", 1)[0]
    return out


STS_ACTIONS: dict[str, Action] = {
    "AssumeRole": assume_role,
    "GetCallerIdentity": get_caller_identity,
}

SERVICES = {RAM_VERSION: "ram", STS_VERSION: "sts"}


def service_for(version: str, action: str) -> str:
    """RAM or STS, from the API version (one server serves both)."""
    service = SERVICES.get(version)
    if service is None:
        raise AliCloudError(400, "InvalidVersion", "Specified parameter Version is not valid.")
    return service
