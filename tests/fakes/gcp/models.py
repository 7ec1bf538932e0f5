"""The state of the fake Google Cloud and the rules Google enforces on it.

Everything a test can observe lives in one `GcpState` guarded by one lock:
projects (with their IAM policy and service-account quota), service accounts
(with their keys and their own IAM policy), Cloud Storage buckets, Pub/Sub
topics and subscriptions, and the OAuth access tokens the fake has issued.
`responses.py` turns HTTP requests into calls on this module and its
`GcpApiError`s into each service's error body; nothing here knows HTTP.

The rules are Google's, with Google's codes and messages:

* service account ids: 6-30 characters, `^[a-z]([-a-z0-9]*[a-z0-9])$`
  (400 INVALID_ARGUMENT); a duplicate id in a project is 409 ALREADY_EXISTS;
  the 101st account of a project is 429 RESOURCE_EXHAUSTED;
* at most 10 user-managed keys per service account: the 11th `keys.create`
  is 400 FAILED_PRECONDITION "Precondition check failed.";
* a missing account or key is 404 NOT_FOUND "... does not exist.";
* IAM policies carry an etag that changes on every write; a `setIamPolicy`
  with a stale etag is 409 ABORTED (Cloud Storage: 412 conditionNotMet);
  without an etag it overwrites; members naming a service account that does
  not exist are 400 INVALID_ARGUMENT; conditions need policy version 3;
* deleting an account deletes its keys and turns its policy members into
  `deleted:serviceAccount:<email>?uid=<id>`; its tokens stop working;
* callers authenticate with an access token from the token endpoint
  (JWT-bearer grant signed with one of their keys) or with a self-signed JWT,
  and need a role granting the permission on the project or the resource
  (owner does not include `iam.serviceAccounts.getAccessToken`: that takes
  Service Account Token Creator, as on Google Cloud).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

ACCOUNT_ID = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])$")
MAX_USER_KEYS = 10
DEFAULT_SA_QUOTA = 100
MAX_DISPLAY_NAME = 100
TOKEN_LIFETIME = 3599
MAX_GENERATED_LIFETIME = 43200
GOOGLE_TOKEN_AUDIENCES = (
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
    "https://accounts.google.com/o/oauth2/token",
)
KEY_ALGORITHMS = ("KEY_ALG_UNSPECIFIED", "KEY_ALG_RSA_1024", "KEY_ALG_RSA_2048")
PRIVATE_KEY_TYPES = ("TYPE_UNSPECIFIED", "TYPE_PKCS12_FILE", "TYPE_GOOGLE_CREDENTIALS_FILE")
ROLE_FORMAT = re.compile(r"^(roles/[\w.]+|(projects|organizations)/[^/]+/roles/[\w.]+)$")
MEMBER_PREFIXES = (
    "user:",
    "serviceAccount:",
    "group:",
    "domain:",
    "deleted:",
    "principal:",
    "principalSet:",
)

OWNER, EDITOR, VIEWER = "roles/owner", "roles/editor", "roles/viewer"
SA_ADMIN, KEY_ADMIN = "roles/iam.serviceAccountAdmin", "roles/iam.serviceAccountKeyAdmin"
PERMISSION_ROLES: dict[str, frozenset[str]] = {
    "iam.serviceAccounts.create": frozenset(
        {OWNER, EDITOR, SA_ADMIN, "roles/iam.serviceAccountCreator"}
    ),
    "iam.serviceAccounts.get": frozenset(
        {OWNER, EDITOR, VIEWER, SA_ADMIN, "roles/iam.serviceAccountViewer"}
    ),
    "iam.serviceAccounts.list": frozenset(
        {OWNER, EDITOR, VIEWER, SA_ADMIN, "roles/iam.serviceAccountViewer"}
    ),
    "iam.serviceAccounts.delete": frozenset({OWNER, EDITOR, SA_ADMIN}),
    "iam.serviceAccounts.getIamPolicy": frozenset(
        {OWNER, EDITOR, VIEWER, SA_ADMIN, "roles/iam.securityReviewer"}
    ),
    "iam.serviceAccounts.setIamPolicy": frozenset({OWNER, SA_ADMIN}),
    "iam.serviceAccountKeys.create": frozenset({OWNER, EDITOR, KEY_ADMIN}),
    "iam.serviceAccountKeys.delete": frozenset({OWNER, EDITOR, KEY_ADMIN}),
    "iam.serviceAccountKeys.get": frozenset({OWNER, EDITOR, VIEWER, KEY_ADMIN, SA_ADMIN}),
    "iam.serviceAccountKeys.list": frozenset({OWNER, EDITOR, VIEWER, KEY_ADMIN, SA_ADMIN}),
    "iam.serviceAccounts.getAccessToken": frozenset({"roles/iam.serviceAccountTokenCreator"}),
    "resourcemanager.projects.get": frozenset({OWNER, EDITOR, VIEWER, "roles/browser"}),
    "resourcemanager.projects.getIamPolicy": frozenset(
        {
            OWNER,
            EDITOR,
            VIEWER,
            "roles/resourcemanager.projectIamAdmin",
            "roles/iam.securityReviewer",
        }
    ),
    "resourcemanager.projects.setIamPolicy": frozenset(
        {OWNER, "roles/resourcemanager.projectIamAdmin"}
    ),
    "pubsub.topics.get": frozenset(
        {OWNER, EDITOR, VIEWER, "roles/pubsub.admin", "roles/pubsub.viewer"}
    ),
    "pubsub.topics.getIamPolicy": frozenset({OWNER, EDITOR, VIEWER, "roles/pubsub.admin"}),
    "pubsub.topics.setIamPolicy": frozenset({OWNER, "roles/pubsub.admin"}),
    "pubsub.subscriptions.getIamPolicy": frozenset({OWNER, EDITOR, VIEWER, "roles/pubsub.admin"}),
    "pubsub.subscriptions.setIamPolicy": frozenset({OWNER, "roles/pubsub.admin"}),
    "storage.buckets.get": frozenset({OWNER, EDITOR, VIEWER, "roles/storage.admin"}),
    "storage.buckets.getIamPolicy": frozenset({OWNER, "roles/storage.admin"}),
    "storage.buckets.setIamPolicy": frozenset({OWNER, "roles/storage.admin"}),
}


class GcpApiError(Exception):
    """A Google API error: HTTP code, canonical status and message (`reason` for Storage)."""

    REASONS = {
        400: "badRequest",
        401: "required",
        403: "forbidden",
        404: "notFound",
        409: "conflict",
        412: "conditionNotMet",
        429: "rateLimitExceeded",
        500: "backendError",
        503: "backendError",
    }
    STATUSES = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "ABORTED",
        412: "FAILED_PRECONDITION",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }

    def __init__(self, code: int, status: str = "", message: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.status = status or self.STATUSES.get(code, "UNKNOWN")
        self.message = message
        self.reason = reason or self.REASONS.get(code, "backendError")


class OAuthError(Exception):
    """An error of the OAuth token endpoint: `{"error", "error_description"}`."""

    def __init__(self, error: str, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.code = code


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_etag() -> str:
    return base64.b64encode(b"\x07" + os.urandom(7)).decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ----------------------------------------------------------------------------- policies


@dataclass
class Policy:
    version: int = 1
    bindings: list[dict[str, Any]] = field(default_factory=list)
    etag: str = "ACAB"  # Google's etag of an empty, never-written policy

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.bindings:
            out["version"] = self.version
            out["bindings"] = copy.deepcopy(self.bindings)
        out["etag"] = self.etag
        return out

    def members_of(self, role: str) -> set[str]:
        found: set[str] = set()
        for binding in self.bindings:
            if binding.get("role") == role and "condition" not in binding:
                found.update(binding.get("members", []))
        return found

    def roles_of(self, member: str) -> set[str]:
        return {
            b["role"]
            for b in self.bindings
            if member in b.get("members", []) and "condition" not in b
        }

    def grant(self, role: str, member: str) -> None:
        for binding in self.bindings:
            if binding.get("role") == role and "condition" not in binding:
                if member not in binding["members"]:
                    binding["members"].append(member)
                break
        else:
            self.bindings.append({"role": role, "members": [member]})
        self.etag = new_etag()


# ----------------------------------------------------------------------------- accounts


@dataclass
class Key:
    name: str
    key_id: str
    email: str
    key_type: str  # USER_MANAGED | SYSTEM_MANAGED
    key_algorithm: str
    private_key_type: str
    key_origin: str  # GOOGLE_PROVIDED | USER_PROVIDED
    public_pem: bytes
    created: float
    disabled: bool = False

    def to_json(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "validAfterTime": rfc3339(self.created),
            "validBeforeTime": "9999-12-31T23:59:59Z",
            "keyAlgorithm": self.key_algorithm,
            "keyOrigin": self.key_origin,
            "keyType": self.key_type,
        }
        if self.disabled:
            out["disabled"] = True
        return out


@dataclass
class ServiceAccount:
    project: str
    account_id: str
    email: str
    unique_id: str
    display_name: str = ""
    description: str = ""
    etag: str = field(default_factory=lambda: base64.b64encode(os.urandom(8)).decode())
    disabled: bool = False
    keys: dict[str, Key] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)

    @property
    def name(self) -> str:
        return f"projects/{self.project}/serviceAccounts/{self.email}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "projectId": self.project,
            "uniqueId": self.unique_id,
            "email": self.email,
            "etag": self.etag,
            "oauth2ClientId": self.unique_id,
        }
        if self.display_name:
            out["displayName"] = self.display_name
        if self.description:
            out["description"] = self.description
        if self.disabled:
            out["disabled"] = True
        return out

    def user_keys(self) -> list[Key]:
        return [k for k in self.keys.values() if k.key_type == "USER_MANAGED"]


@dataclass
class Project:
    project_id: str
    number: str
    policy: Policy = field(default_factory=Policy)
    sa_quota: int = DEFAULT_SA_QUOTA

    def to_json(self) -> dict[str, Any]:
        return {
            "name": f"projects/{self.number}",
            "projectId": self.project_id,
            "state": "ACTIVE",
            "displayName": self.project_id,
            "etag": self.policy.etag,
        }


@dataclass
class Token:
    email: str
    scopes: list[str]
    expires: float


@dataclass
class Fault:
    """What `POST /_fake/faults` asks for: fail, delay or race the next calls of an operation."""

    operation: str  # a Google method id ("iam.projects.serviceAccounts.keys.create") or "*"
    status: int = 500
    message: str = ""
    gcp_status: str = ""
    times: int | None = 1  # None: until cleared
    action: str = "error"  # error | delay | concurrent_change | lose_response
    delay_ms: int = 0
    hits: int = 0

    def matches(self, operation: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.operation == "*":
            return not operation.startswith("_fake")
        return self.operation == operation or operation.startswith(self.operation + ".")

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "status": self.status,
            "message": self.message,
            "action": self.action,
            "times": self.times,
            "hits": self.hits,
        }


def _numeric_id(digits: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def _rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _self_signed(private: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
        .sign(private, hashes.SHA256())
    )


# ----------------------------------------------------------------------------- the state


class GcpState:
    """All of the fake cloud. Public methods take the lock; `_`-methods expect it held."""

    def __init__(self, public_url: str = "http://127.0.0.1") -> None:
        self.lock = threading.RLock()
        self.public_url = public_url.rstrip("/")
        self.reset()

    @property
    def token_uri(self) -> str:
        return f"{self.public_url}/oauth2/token"

    def reset(self) -> None:
        with self.lock:
            self.projects: dict[str, Project] = {}
            self.accounts: dict[str, ServiceAccount] = {}  # by email
            self.key_index: dict[str, Key] = {}  # by key id
            self.buckets: dict[str, tuple[str, Policy]] = {}  # name -> (project, policy)
            self.topics: dict[str, Policy] = {}  # projects/p/topics/t -> policy
            self.subscriptions: dict[str, Policy] = {}
            self.tokens: dict[str, Token] = {}
            self.faults: list[Fault] = []
            self.calls: list[dict[str, Any]] = []
            self.down: str = ""  # "" | "reset" | "503"

    # ------------------------------------------------------------------ lookups
    def _project(self, project_id: str) -> Project:
        found = self.projects.get(project_id)
        if found is None:
            raise GcpApiError(404, "NOT_FOUND", f"Project '{project_id}' not found or deleted.")
        return found

    def _account(self, ref: str) -> ServiceAccount:
        """`ref` is an email or a unique id (Google accepts both after `serviceAccounts/`)."""
        found = self.accounts.get(ref)
        if found is None and ref.isdigit():
            found = next((a for a in self.accounts.values() if a.unique_id == ref), None)
        if found is None:
            raise GcpApiError(
                404,
                "NOT_FOUND",
                f"Service account projects/-/serviceAccounts/{ref} does not exist.",
            )
        return found

    def _key(self, account: ServiceAccount, key_id: str) -> Key:
        found = account.keys.get(key_id)
        if found is None:
            raise GcpApiError(
                404,
                "NOT_FOUND",
                f"Service account key {account.name}/keys/{key_id} does not exist.",
            )
        return found

    # ------------------------------------------------------------------ authorization
    def authenticate(self, authorization: str) -> str:
        """The caller's service-account email for an `Authorization: Bearer …` header."""
        unauthenticated = GcpApiError(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            raise unauthenticated
        with self.lock:
            token = self.tokens.get(credential)
            if token is not None:
                if token.expires < time.time() or token.email not in self.accounts:
                    raise unauthenticated
                return token.email
            if credential.count(".") == 2:  # a self-signed JWT (google-auth's jwt access)
                try:
                    claims = self._verify_jwt(credential)
                except OAuthError:
                    raise unauthenticated from None
                if claims.get("iss") != claims.get("sub"):
                    raise unauthenticated
                return str(claims["iss"])
        raise unauthenticated

    def _allowed(self, caller: str, permission: str, policies: list[Policy]) -> bool:
        member = f"serviceAccount:{caller}"
        roles = PERMISSION_ROLES.get(permission, frozenset({OWNER}))
        return any(policy.roles_of(member) & roles for policy in policies)

    def _check(
        self, caller: str, permission: str, policies: list[Policy], message: str = ""
    ) -> None:
        if not self._allowed(caller, permission, policies):
            raise GcpApiError(
                403,
                "PERMISSION_DENIED",
                message or f"Permission '{permission}' denied on resource (or it may not exist).",
            )

    def _account_policies(self, account: ServiceAccount) -> list[Policy]:
        project = self.projects.get(account.project)
        return [account.policy] + ([project.policy] if project else [])

    # ------------------------------------------------------------------ OAuth
    def _verify_jwt(self, assertion: str) -> dict[str, Any]:
        bad_signature = OAuthError("invalid_grant", "Invalid JWT Signature.")
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(payload_b64))
            signature = b64url_decode(signature_b64)
        except (ValueError, TypeError):
            raise OAuthError("invalid_grant", "Invalid JWT: malformed assertion.") from None
        if header.get("alg") != "RS256":
            raise bad_signature
        key = self.key_index.get(str(header.get("kid", "")))
        if key is None or key.disabled:
            # Google cannot find the key (deleted, or never existed): the signature fails.
            if key is None and header.get("kid") is None:
                key = self._key_for_issuer(
                    str(claims.get("iss", "")), header_b64, payload_b64, signature
                )
            if key is None or key.disabled:
                raise bad_signature
        public = serialization.load_pem_public_key(key.public_pem)
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            public.verify(
                signature,
                f"{header_b64}.{payload_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise bad_signature from None
        if claims.get("iss") != key.email:
            raise bad_signature
        account = self.accounts.get(key.email)
        if account is None:
            raise OAuthError("invalid_grant", "Invalid grant: account not found")
        if account.disabled:
            raise OAuthError("invalid_grant", "Invalid grant: account disabled")
        now = time.time()
        try:
            iat, exp = float(claims["iat"]), float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            raise OAuthError("invalid_grant", "Invalid JWT: missing iat or exp.") from None
        if exp < now - 30 or iat > now + 300 or exp - iat > 3600 + 60:
            raise OAuthError(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            )
        return claims

    def _key_for_issuer(
        self, email: str, header_b64: str, payload_b64: str, signature: bytes
    ) -> Key | None:
        """No `kid`: try every key of the issuer, as Google does."""
        account = self.accounts.get(email)
        if account is None:
            return None
        for key in account.keys.values():
            public = serialization.load_pem_public_key(key.public_pem)
            assert isinstance(public, rsa.RSAPublicKey)
            try:
                public.verify(
                    signature,
                    f"{header_b64}.{payload_b64}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
            except InvalidSignature:
                continue
            return key
        return None

    def token_grant(self, form: dict[str, str]) -> dict[str, Any]:
        grant = form.get("grant_type", "")
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant}")
        with self.lock:
            claims = self._verify_jwt(form.get("assertion", ""))
            audience = claims.get("aud")
            if audience not in (*GOOGLE_TOKEN_AUDIENCES, self.token_uri):
                raise OAuthError("invalid_grant", "Invalid JWT: Failed audience check.")
            scopes = str(claims.get("scope", "")).split()
            if not scopes:
                raise OAuthError(
                    "invalid_scope", "Invalid OAuth scope or ID token audience provided."
                )
            token = "ya29.fake-" + secrets.token_urlsafe(48)
            self.tokens[token] = Token(str(claims["iss"]), scopes, time.time() + TOKEN_LIFETIME)
        return {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}

    def token_info(self, access_token: str) -> dict[str, Any]:
        with self.lock:
            token = self.tokens.get(access_token)
            if token is None or token.expires < time.time() or token.email not in self.accounts:
                raise OAuthError("invalid_token", "Invalid Value")
            account = self.accounts[token.email]
            left = int(token.expires - time.time())
            return {
                "azp": account.unique_id,
                "aud": account.unique_id,
                "scope": " ".join(token.scopes),
                "exp": str(int(token.expires)),
                "expires_in": str(left),
                "email": token.email,
                "email_verified": "true",
                "access_type": "online",
            }

    # ------------------------------------------------------------------ service accounts
    def create_account(self, caller: str, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            project = self._project(project_id)
            self._check(caller, "iam.serviceAccounts.create", [project.policy])
            account_id = str(body.get("accountId", ""))
            if not (6 <= len(account_id) <= 30) or not ACCOUNT_ID.match(account_id):
                raise GcpApiError(
                    400,
                    "INVALID_ARGUMENT",
                    f"Invalid account ID: {account_id}. Account IDs must be 6 to 30 characters "
                    "long, start with a lowercase letter and contain only lowercase letters, "
                    "digits and hyphens, ending with a letter or digit.",
                )
            info = body.get("serviceAccount") or {}
            display = str(info.get("displayName", ""))
            if len(display) > MAX_DISPLAY_NAME:
                raise GcpApiError(
                    400,
                    "INVALID_ARGUMENT",
                    "Display name must be at most 100 characters long.",
                )
            email = f"{account_id}@{project_id}.iam.gserviceaccount.com"
            if email in self.accounts:
                raise GcpApiError(
                    409,
                    "ALREADY_EXISTS",
                    f"Service account {account_id} already exists within project "
                    f"projects/{project_id}.",
                )
            if (
                sum(1 for a in self.accounts.values() if a.project == project_id)
                >= project.sa_quota
            ):
                raise GcpApiError(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Maximum number of service accounts on project reached.",
                )
            account = ServiceAccount(
                project=project_id,
                account_id=account_id,
                email=email,
                unique_id=_numeric_id(21),
                display_name=display,
                description=str(info.get("description", "")),
            )
            self.accounts[email] = account
            self._add_system_key(account)
            return account.to_json()

    def _add_system_key(self, account: ServiceAccount) -> None:
        key_id = secrets.token_hex(20)
        pem = (
            _rsa_key(1024)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        key = Key(
            name=f"{account.name}/keys/{key_id}",
            key_id=key_id,
            email=account.email,
            key_type="SYSTEM_MANAGED",
            key_algorithm="KEY_ALG_RSA_2048",
            private_key_type="TYPE_UNSPECIFIED",
            key_origin="GOOGLE_PROVIDED",
            public_pem=pem,
            created=time.time(),
        )
        account.keys[key_id] = key  # never in key_index: Google holds the private half

    def get_account(self, caller: str, ref: str) -> dict[str, Any]:
        with self.lock:
            account = self._account(ref)
            self._check(caller, "iam.serviceAccounts.get", self._account_policies(account))
            return account.to_json()

    def list_accounts(self, caller: str, project_id: str) -> dict[str, Any]:
        with self.lock:
            project = self._project(project_id)
            self._check(caller, "iam.serviceAccounts.list", [project.policy])
            found = [a.to_json() for a in self.accounts.values() if a.project == project_id]
            return {"accounts": found} if found else {}

    def delete_account(self, caller: str, ref: str) -> dict[str, Any]:
        with self.lock:
            account = self._account(ref)
            self._check(caller, "iam.serviceAccounts.delete", self._account_policies(account))
            self._remove_account(account)
            return {}

    def _remove_account(self, account: ServiceAccount) -> None:
        del self.accounts[account.email]
        for key_id in account.keys:
            self.key_index.pop(key_id, None)
        for token, holder in list(self.tokens.items()):
            if holder.email == account.email:
                del self.tokens[token]
        member = f"serviceAccount:{account.email}"
        replacement = f"deleted:serviceAccount:{account.email}?uid={account.unique_id}"
        for policy in self._all_policies():
            for binding in policy.bindings:
                members = binding.get("members", [])
                if member in members:
                    binding["members"] = [replacement if m == member else m for m in members]

    def _all_policies(self) -> list[Policy]:
        out = [p.policy for p in self.projects.values()]
        out += [a.policy for a in self.accounts.values()]
        out += [policy for _, policy in self.buckets.values()]
        out += list(self.topics.values()) + list(self.subscriptions.values())
        return out

    # ------------------------------------------------------------------ keys
    def create_key(self, caller: str, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        algorithm = str(body.get("keyAlgorithm") or "KEY_ALG_RSA_2048")
        key_type = str(body.get("privateKeyType") or "TYPE_GOOGLE_CREDENTIALS_FILE")
        if algorithm not in KEY_ALGORITHMS:
            raise GcpApiError(
                400,
                "INVALID_ARGUMENT",
                "Invalid value at 'key_algorithm' (type.googleapis.com/"
                f'google.iam.admin.v1.ServiceAccountKeyAlgorithm), "{algorithm}"',
            )
        if key_type not in PRIVATE_KEY_TYPES:
            raise GcpApiError(
                400,
                "INVALID_ARGUMENT",
                "Invalid value at 'private_key_type' (type.googleapis.com/"
                f'google.iam.admin.v1.ServiceAccountPrivateKeyType), "{key_type}"',
            )
        if algorithm == "KEY_ALG_UNSPECIFIED":
            algorithm = "KEY_ALG_RSA_2048"
        if key_type == "TYPE_UNSPECIFIED":
            key_type = "TYPE_GOOGLE_CREDENTIALS_FILE"
        with self.lock:
            account = self._account(ref)
            self._check(caller, "iam.serviceAccountKeys.create", self._account_policies(account))
            if len(account.user_keys()) >= MAX_USER_KEYS:
                raise GcpApiError(400, "FAILED_PRECONDITION", "Precondition check failed.")
            email, project, unique_id = account.email, account.project, account.unique_id
        # RSA key generation is slow: outside the lock, then re-check.
        private = _rsa_key(1024 if algorithm == "KEY_ALG_RSA_1024" else 2048)
        key_id = secrets.token_hex(20)
        with self.lock:
            account = self._account(email)
            if len(account.user_keys()) >= MAX_USER_KEYS:
                raise GcpApiError(400, "FAILED_PRECONDITION", "Precondition check failed.")
            key = self._register_key(account, key_id, private.public_key(), "GOOGLE_PROVIDED")
            key.key_algorithm, key.private_key_type = algorithm, key_type
        if key_type == "TYPE_GOOGLE_CREDENTIALS_FILE":
            data = json.dumps(
                self.credentials_file(project, email, unique_id, key_id, private), indent=2
            ).encode()
        else:
            data = pkcs12.serialize_key_and_certificates(
                b"privatekey",
                private,
                _self_signed(private, unique_id),
                None,
                serialization.BestAvailableEncryption(b"notasecret"),
            )
        out = key.to_json()
        out["privateKeyType"] = key_type
        out["privateKeyData"] = base64.b64encode(data).decode()
        return out

    def _register_key(self, account: ServiceAccount, key_id: str, public: Any, origin: str) -> Key:
        key = Key(
            name=f"{account.name}/keys/{key_id}",
            key_id=key_id,
            email=account.email,
            key_type="USER_MANAGED",
            key_algorithm="KEY_ALG_RSA_2048",
            private_key_type="TYPE_GOOGLE_CREDENTIALS_FILE",
            key_origin=origin,
            public_pem=public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            created=time.time(),
        )
        account.keys[key_id] = key
        self.key_index[key_id] = key
        return key

    def credentials_file(
        self, project: str, email: str, client_id: str, key_id: str, private: rsa.RSAPrivateKey
    ) -> dict[str, str]:
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": project,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + email.replace("@", "%40"),
            "universe_domain": "googleapis.com",
        }

    def list_keys(self, caller: str, ref: str, key_types: list[str]) -> dict[str, Any]:
        with self.lock:
            account = self._account(ref)
            self._check(caller, "iam.serviceAccountKeys.list", self._account_policies(account))
            keys = [
                k.to_json()
                for k in account.keys.values()
                if not key_types or k.key_type in key_types
            ]
            return {"keys": keys} if keys else {}

    def get_key(self, caller: str, ref: str, key_id: str) -> dict[str, Any]:
        with self.lock:
            account = self._account(ref)
            self._check(caller, "iam.serviceAccountKeys.get", self._account_policies(account))
            return self._key(account, key_id).to_json()

    def delete_key(self, caller: str, ref: str, key_id: str) -> dict[str, Any]:
        with self.lock:
            account = self._account(ref)
            self._check(caller, "iam.serviceAccountKeys.delete", self._account_policies(account))
            key = self._key(account, key_id)
            if key.key_type == "SYSTEM_MANAGED":
                raise GcpApiError(
                    400, "FAILED_PRECONDITION", "System-managed keys cannot be deleted."
                )
            del account.keys[key_id]
            self.key_index.pop(key_id, None)
            return {}

    # ------------------------------------------------------------------ impersonation
    def generate_access_token(self, caller: str, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        scopes = body.get("scope") or []
        if isinstance(scopes, str):
            scopes = [scopes]
        if not scopes:
            raise GcpApiError(400, "INVALID_ARGUMENT", "Scope required.")
        lifetime_text = str(body.get("lifetime") or "3600s")
        match = re.fullmatch(r"(\d+)(?:\.\d+)?s", lifetime_text)
        if match is None:
            raise GcpApiError(
                400,
                "INVALID_ARGUMENT",
                "Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), "
                f'"{lifetime_text}"',
            )
        lifetime = int(match.group(1))
        if lifetime <= 0 or lifetime > MAX_GENERATED_LIFETIME:
            raise GcpApiError(
                400,
                "INVALID_ARGUMENT",
                f"The lifetime must be between 1 second and {MAX_GENERATED_LIFETIME} seconds "
                "(12 hours).",
            )
        with self.lock:
            account = self._account(ref)
            self._check(
                caller, "iam.serviceAccounts.getAccessToken", self._account_policies(account)
            )
            token = "ya29.fake-" + secrets.token_urlsafe(48)
            expires = time.time() + lifetime
            self.tokens[token] = Token(account.email, list(scopes), expires)
            return {"accessToken": token, "expireTime": rfc3339(expires)}

    # ------------------------------------------------------------------ IAM policies
    def _policy_holder(self, kind: str, name: str) -> tuple[Policy, list[Policy], str]:
        """(the resource's policy, policies granting permissions on it, permission prefix)."""
        if kind == "project":
            project = self._project(name)
            return project.policy, [project.policy], "resourcemanager.projects"
        if kind == "serviceAccount":
            account = self._account(name)
            return account.policy, self._account_policies(account), "iam.serviceAccounts"
        if kind == "bucket":
            found = self.buckets.get(name)
            if found is None:
                raise GcpApiError(404, message="The specified bucket does not exist.")
            project = self.projects.get(found[0])
            return found[1], [found[1]] + ([project.policy] if project else []), "storage.buckets"
        if kind in ("topic", "subscription"):
            table = self.topics if kind == "topic" else self.subscriptions
            policy = table.get(name)
            if policy is None:
                noun = "Topic" if kind == "topic" else "Subscription"
                raise GcpApiError(404, "NOT_FOUND", f"{noun} not found")
            project = self.projects.get(name.split("/")[1])
            prefix = "pubsub.topics" if kind == "topic" else "pubsub.subscriptions"
            return policy, [policy] + ([project.policy] if project else []), prefix
        raise GcpApiError(400, "INVALID_ARGUMENT", f"unknown resource kind {kind}")

    def get_policy(self, caller: str, kind: str, name: str, version: int = 1) -> dict[str, Any]:
        with self.lock:
            policy, granting, prefix = self._policy_holder(kind, name)
            permission = f"{prefix}.getIamPolicy"
            self._check(caller, permission, granting, _denied(kind, permission, caller))
            out = policy.to_json()
            if kind == "bucket":
                out = {
                    "kind": "storage#policy",
                    "resourceId": f"projects/_/buckets/{name}",
                    "version": policy.version,
                    "bindings": copy.deepcopy(policy.bindings),
                    "etag": policy.etag,
                }
            return out

    def set_policy(self, caller: str, kind: str, name: str, new: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            policy, granting, prefix = self._policy_holder(kind, name)
            permission = f"{prefix}.setIamPolicy"
            self._check(caller, permission, granting, _denied(kind, permission, caller))
            etag = new.get("etag")
            if etag and etag != policy.etag:
                if kind == "bucket":
                    raise GcpApiError(412, "FAILED_PRECONDITION", "Precondition Failed")
                raise GcpApiError(
                    409,
                    "ABORTED",
                    "There were concurrent policy changes. Please retry the whole "
                    "read-modify-write with exponential backoff. The request's ETag "
                    f"'{etag}' did not match the current policy's ETag '{policy.etag}'.",
                )
            version = int(new.get("version") or 1)
            bindings = self._validate_bindings(new.get("bindings") or [], version)
            policy.bindings, policy.version = bindings, version
            policy.etag = new_etag()
        return self.get_policy(caller, kind, name) if kind == "bucket" else policy.to_json()

    def _validate_bindings(self, raw: list[Any], version: int) -> list[dict[str, Any]]:
        if version not in (0, 1, 3):
            raise GcpApiError(400, "INVALID_ARGUMENT", f"Invalid policy version {version}.")
        out: list[dict[str, Any]] = []
        for binding in raw:
            if not isinstance(binding, dict):
                raise GcpApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
            role = str(binding.get("role", ""))
            if not ROLE_FORMAT.match(role):
                raise GcpApiError(
                    400,
                    "INVALID_ARGUMENT",
                    f"Role ({role}) does not exist in the resource's hierarchy.",
                )
            members = [str(m) for m in binding.get("members") or []]
            for member in members:
                if member in ("allUsers", "allAuthenticatedUsers"):
                    continue
                if not member.startswith(MEMBER_PREFIXES):
                    raise GcpApiError(
                        400, "INVALID_ARGUMENT", f"Invalid member type for member: {member}."
                    )
                if member.startswith("serviceAccount:"):
                    email = member.split(":", 1)[1]
                    if email.endswith(".iam.gserviceaccount.com") and email not in self.accounts:
                        raise GcpApiError(
                            400, "INVALID_ARGUMENT", f"Service account {email} does not exist."
                        )
            if "condition" in binding and version < 3:
                raise GcpApiError(
                    400,
                    "INVALID_ARGUMENT",
                    "Conditional bindings require policy version 3 or higher.",
                )
            if not members:
                continue  # Google drops bindings without members
            clean = {"role": role, "members": members}
            if "condition" in binding:
                clean["condition"] = copy.deepcopy(binding["condition"])
            out.append(clean)
        return out

    def race_policy(self, kind: str, name: str) -> None:
        """Someone else changes the policy (the `concurrent_change` fault): the etag moves on."""
        with self.lock:
            try:
                policy, _, _ = self._policy_holder(kind, name)
            except GcpApiError:
                return
            policy.grant("roles/browser", "user:someone-else@example.com")

    # ------------------------------------------------------------------ other resources
    def get_project(self, caller: str, project_id: str) -> dict[str, Any]:
        with self.lock:
            project = self._project(project_id)
            self._check(caller, "resourcemanager.projects.get", [project.policy])
            return project.to_json()

    def get_bucket(self, caller: str, name: str) -> dict[str, Any]:
        with self.lock:
            policy, granting, _ = self._policy_holder("bucket", name)
            permission = "storage.buckets.get"
            self._check(caller, permission, granting, _denied("bucket", permission, caller))
            return {"kind": "storage#bucket", "id": name, "name": name, "etag": policy.etag}

    def get_topic(self, caller: str, name: str) -> dict[str, Any]:
        with self.lock:
            _, granting, _ = self._policy_holder("topic", name)
            self._check(
                caller, "pubsub.topics.get", granting, "User not authorized to perform this action."
            )
            return {"name": name}

    # ------------------------------------------------------------------ seeding (tests)
    def seed_project(self, project_id: str, sa_quota: int = DEFAULT_SA_QUOTA) -> dict[str, Any]:
        with self.lock:
            project = self.projects.get(project_id)
            if project is None:
                project = self.projects[project_id] = Project(project_id, _numeric_id(12))
            project.sa_quota = sa_quota
            return project.to_json()

    def seed_account(self, body: dict[str, Any]) -> dict[str, Any]:
        """A service account created by hand (as an operator would), optionally with a key.

        `publicKeyPem`: register the caller's own key (the test keeps the private half);
        `key: true`: the fake makes one and returns a credentials file for it.
        """
        project_id = str(body["project"])
        account_id = str(body["accountId"])
        with self.lock:
            self.seed_project(project_id)
            email = f"{account_id}@{project_id}.iam.gserviceaccount.com"
            account = self.accounts.get(email)
            if account is None:
                account = ServiceAccount(
                    project=project_id,
                    account_id=account_id,
                    email=email,
                    unique_id=_numeric_id(21),
                    display_name=str(body.get("displayName", "")),
                )
                self.accounts[email] = account
                self._add_system_key(account)
            for role in body.get("roles") or []:
                self.projects[project_id].policy.grant(role, f"serviceAccount:{email}")
            out: dict[str, Any] = {"email": email, "uniqueId": account.unique_id}
            if body.get("publicKeyPem"):
                pem = str(body["publicKeyPem"]).encode()
                if b"CERTIFICATE" in pem:
                    public = x509.load_pem_x509_certificate(pem).public_key()
                else:
                    public = serialization.load_pem_public_key(pem)
                key_id = str(body.get("keyId") or secrets.token_hex(20))
                key = self._register_key(account, key_id, public, "USER_PROVIDED")
                out["keyId"] = key.key_id
                out["tokenUri"] = self.token_uri
        if body.get("key"):
            private = _rsa_key(2048)
            key_id = secrets.token_hex(20)
            with self.lock:
                self._register_key(account, key_id, private.public_key(), "GOOGLE_PROVIDED")
            out["keyId"] = key_id
            out["credentials"] = self.credentials_file(
                project_id, email, account.unique_id, key_id, private
            )
        return out

    def seed_bucket(self, name: str, project: str) -> None:
        with self.lock:
            self.seed_project(project)
            if name not in self.buckets:
                policy = Policy(version=1, etag="CAE=")
                self.buckets[name] = (project, policy)

    def seed_topic(self, project: str, topic: str) -> None:
        with self.lock:
            self.seed_project(project)
            self.topics.setdefault(f"projects/{project}/topics/{topic}", Policy())

    def seed_subscription(self, project: str, subscription: str) -> None:
        with self.lock:
            self.seed_project(project)
            self.subscriptions.setdefault(
                f"projects/{project}/subscriptions/{subscription}", Policy()
            )

    def seed_binding(self, kind: str, name: str, role: str, member: str) -> None:
        with self.lock:
            policy, _, _ = self._policy_holder(kind, name)
            policy.grant(role, member)

    def seed_delete_account(self, email: str) -> None:
        with self.lock:
            self._remove_account(self._account(email))

    # ------------------------------------------------------------------ faults
    def add_fault(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if "down" in body:
                down = body["down"]
                self.down = (
                    ""
                    if down in (False, None, "", "up")
                    else ("reset" if down is True else str(down))
                )
                return {"down": self.down}
            times = body.get("times", 1)
            fault = Fault(
                operation=str(body.get("operation", "*")),
                status=int(body.get("status", 500)),
                message=str(body.get("message", "")),
                gcp_status=str(body.get("gcpStatus", "")),
                times=None if times is None else int(times),
                action=str(body.get("action", "error")),
                delay_ms=int(body.get("delayMs", 0)),
            )
            self.faults.append(fault)
            return fault.to_json()

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.down = ""

    def take_faults(self, operation: str) -> list[Fault]:
        """The faults that apply to this call (their hit counts move on)."""
        with self.lock:
            hit = [f for f in self.faults if f.matches(operation)]
            for fault in hit:
                fault.hits += 1
            return hit

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append(entry)

    # ------------------------------------------------------------------ observation
    def snapshot(self) -> dict[str, Any]:
        """Everything a test may assert on, with no private key material."""
        with self.lock:
            return {
                "projects": {
                    pid: {
                        "projectNumber": p.number,
                        "serviceAccountQuota": p.sa_quota,
                        "policy": p.policy.to_json(),
                    }
                    for pid, p in self.projects.items()
                },
                "serviceAccounts": {
                    email: {
                        **a.to_json(),
                        "keys": [k.to_json() for k in a.keys.values()],
                        "policy": a.policy.to_json(),
                    }
                    for email, a in self.accounts.items()
                },
                "buckets": {
                    name: {"project": project, "policy": policy.to_json()}
                    for name, (project, policy) in self.buckets.items()
                },
                "topics": {name: {"policy": p.to_json()} for name, p in self.topics.items()},
                "subscriptions": {
                    name: {"policy": p.to_json()} for name, p in self.subscriptions.items()
                },
                "tokens": len(self.tokens),
                "faults": [f.to_json() for f in self.faults],
                "down": self.down,
            }


def _denied(kind: str, permission: str, caller: str) -> str:
    if kind == "bucket":
        return (
            f"{caller} does not have {permission} access to the Google Cloud Storage "
            f"bucket. Permission '{permission}' denied on resource (or it may not exist)."
        )
    if kind in ("topic", "subscription"):
        return "User not authorized to perform this action."
    if kind == "project":
        return "The caller does not have permission"
    return ""


def fingerprint(text: str) -> str:
    """A short stable digest (for logs that must not show a token)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]
