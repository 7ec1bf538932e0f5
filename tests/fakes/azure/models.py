"""The fake Azure's state and the rules Azure enforces on it (moto style: no HTTP here).

One `AzureModel` holds a tenant with one subscription:

* Entra ID (directory): applications, service principals, their password
  credentials, groups and their members, the deleted-items recycle bin, and the
  access tokens handed out by the token endpoint.
* Azure RBAC (ARM): role definitions (the built-ins), role assignments, resource
  groups (so scopes can be checked).

Every method either returns plain data or raises `FakeError` carrying the HTTP
status, Azure's error code and message; `responses.py` turns that into the wire
format of the service at hand. Rules kept (each as Azure words it):

* directory objects: Graph 404 `Request_ResourceNotFound`, `displayName`
  1-120 chars, unique `uniqueName`/`identifierUris`, `signInAudience` values;
  a deleted application takes its service principals along; deleted objects
  sit in deleted items until purged; deleting a principal removes it from its
  groups but **not** from its role assignments (Azure leaves those behind).
* passwords: a cap per object (Graph answers "The size of the object has
  exceeded its limit"), end after start, `secretText` only in the addPassword
  answer, unknown keyId on removePassword.
* tokens: client credentials against any unexpired password of the application
  or its service principal, the tenant must exist, a service principal must
  exist, the scope's resource must be a known one (Graph or ARM audience).
* RBAC: role definitions by id or `roleName` filter, role assignment names are
  GUIDs, the scope must exist, the principal must exist (`PrincipalNotFound`),
  the role definition must exist, one assignment per (role, principal, scope)
  (`RoleAssignmentExists`), a limit per subscription
  (`RoleAssignmentLimitExceeded`), and the caller needs the permission
  (Owner/User Access Administrator for writes; `AuthorizationFailed`).
* replication delay (optional, `propagation_delay` seconds): a new application
  cannot get a service principal, and a new service principal cannot be
  assigned roles or added to groups, until the delay has passed.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
import re
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

TENANT_ID = "3f6c1c9e-7d2a-4c1b-9a55-2b1e8f0d4c71"
TENANT_DOMAIN = "strongroomtest.onmicrosoft.com"
SUBSCRIPTION_ID = "6b1d8a53-0f2e-4d9c-8c3a-71e5b0a2d9f4"
ROOT_APP_ID = "c0ffee00-1b2c-4d3e-8f90-a1b2c3d4e5f6"
ROOT_SECRET = "root-secret-value-0123456789abcdefGHIJ"
RESOURCE_GROUPS = ("rg-app", "rg-data")
GROUPS = ("devs", "ops", "dup", "dup")  # "dup" twice: group names need not be unique

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"

GRAPH_AUDIENCES = frozenset(
    {
        "https://graph.microsoft.com",
        "https://graph.microsoft.us",
        "https://dod-graph.microsoft.us",
        "https://microsoftgraph.chinacloudapi.cn",
        "00000003-0000-0000-c000-000000000000",
    }
)
ARM_AUDIENCES = frozenset(
    {
        "https://management.azure.com",
        "https://management.core.windows.net",
        "https://management.usgovcloudapi.net",
        "https://management.core.usgovcloudapi.net",
        "https://management.chinacloudapi.cn",
        "https://management.core.chinacloudapi.cn",
    }
)
SIGN_IN_AUDIENCES = (
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
)
GRAPH_WRITE = "Application.ReadWrite.All"
GROUP_READ = "Group.Read.All"
GROUP_MEMBER_WRITE = "GroupMember.ReadWrite.All"
ROOT_GRAPH_PERMISSIONS = frozenset({GRAPH_WRITE, GROUP_READ, GROUP_MEMBER_WRITE})
TOKEN_LIFETIME = 3599
DEFAULT_PASSWORD_LIFETIME = dt.timedelta(days=730)
DISPLAY_NAME_MAX = 120
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SECRET_CHARS = string.ascii_letters + string.digits + "_.~-"


class FakeError(Exception):
    """An answer Azure gives instead of a result; `service` picks the error body shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        service: str = "graph",
        aadsts: int = 0,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.service = service
        self.aadsts = aadsts


def graph_not_found(object_id: str) -> FakeError:
    return FakeError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def _bad_property(prop: str, resource: str) -> FakeError:
    return FakeError(
        400,
        "Request_BadRequest",
        f"Invalid value specified for property '{prop}' of resource '{resource}'.",
    )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, prop: str, resource: str) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise _bad_property(prop, resource)
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match and match.group(2):  # Python < 3.12 takes at most 6 fractional digits
        text = match.group(1) + match.group(2)[:7] + match.group(3)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _bad_property(prop, resource) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def new_guid() -> str:
    return str(uuid.uuid4())


def new_secret() -> str:
    """The shape of an Entra client secret: 40 characters, "8Q~" after the hint."""
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return head + "8Q~" + "".join(secrets.choice(_SECRET_CHARS) for _ in range(34))


@dataclass
class Password:
    key_id: str
    secret: str
    display_name: str | None
    start: dt.datetime
    end: dt.datetime

    def to_graph(self, with_secret: bool = False) -> dict[str, Any]:
        return {
            "customKeyIdentifier": None,
            "displayName": self.display_name,
            "endDateTime": iso(self.end),
            "hint": self.secret[:3],
            "keyId": self.key_id,
            "secretText": self.secret if with_secret else None,
            "startDateTime": iso(self.start),
        }


@dataclass
class Application:
    id: str
    app_id: str
    display_name: str
    sign_in_audience: str = "AzureADMyOrg"
    tags: list[str] = field(default_factory=list)
    identifier_uris: list[str] = field(default_factory=list)
    unique_name: str | None = None
    passwords: list[Password] = field(default_factory=list)
    created: dt.datetime = field(default_factory=utcnow)
    visible_at: float = 0.0  # monotonic time from which other replicas know it
    deleted: dt.datetime | None = None

    def to_graph(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deletedDateTime": iso(self.deleted) if self.deleted else None,
            "appId": self.app_id,
            "createdDateTime": iso(self.created),
            "description": None,
            "displayName": self.display_name,
            "identifierUris": list(self.identifier_uris),
            "signInAudience": self.sign_in_audience,
            "tags": list(self.tags),
            "uniqueName": self.unique_name,
            "keyCredentials": [],
            "passwordCredentials": [p.to_graph() for p in self.passwords],
        }


@dataclass
class ServicePrincipal:
    id: str
    app_id: str
    display_name: str
    sign_in_audience: str = "AzureADMyOrg"
    tags: list[str] = field(default_factory=list)
    passwords: list[Password] = field(default_factory=list)
    graph_permissions: frozenset[str] = frozenset()
    visible_at: float = 0.0
    deleted: dt.datetime | None = None

    def to_graph(self, tenant: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "deletedDateTime": iso(self.deleted) if self.deleted else None,
            "accountEnabled": True,
            "appDisplayName": self.display_name,
            "appId": self.app_id,
            "appOwnerOrganizationId": tenant,
            "displayName": self.display_name,
            "servicePrincipalNames": [self.app_id],
            "servicePrincipalType": "Application",
            "signInAudience": self.sign_in_audience,
            "tags": list(self.tags),
            "keyCredentials": [],
            "passwordCredentials": [p.to_graph() for p in self.passwords],
        }


@dataclass
class Group:
    id: str
    display_name: str
    members: list[str] = field(default_factory=list)

    def to_graph(self) -> dict[str, Any]:
        nickname = re.sub(r"[^A-Za-z0-9]", "", self.display_name) or "group"
        return {
            "id": self.id,
            "deletedDateTime": None,
            "description": None,
            "displayName": self.display_name,
            "groupTypes": [],
            "mailEnabled": False,
            "mailNickname": nickname,
            "securityEnabled": True,
        }


@dataclass
class RoleDefinition:
    guid: str
    role_name: str
    description: str
    actions: list[str]
    not_actions: list[str] = field(default_factory=list)
    role_type: str = "BuiltInRole"

    def to_arm(self, scope: str) -> dict[str, Any]:
        return {
            "id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{self.guid}",
            "name": self.guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": self.role_name,
                "type": self.role_type,
                "description": self.description,
                "assignableScopes": ["/"],
                "permissions": [
                    {
                        "actions": list(self.actions),
                        "notActions": list(self.not_actions),
                        "dataActions": [],
                        "notDataActions": [],
                    }
                ],
                "createdOn": "2015-02-02T21:55:09.8806423Z",
                "updatedOn": "2024-01-01T00:00:00.0000000Z",
                "createdBy": None,
                "updatedBy": None,
            },
        }

    def allows(self, action: str) -> bool:
        def hit(patterns: list[str]) -> bool:
            return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)

        return hit(self.actions) and not hit(self.not_actions)


@dataclass
class RoleAssignment:
    name: str
    scope: str
    role_definition_id: str  # as the caller gave it
    role_guid: str
    principal_id: str
    principal_type: str
    created: dt.datetime = field(default_factory=utcnow)

    @property
    def id(self) -> str:
        return f"{self.scope}/providers/Microsoft.Authorization/roleAssignments/{self.name}"

    def to_arm(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": self.role_definition_id,
                "principalId": self.principal_id,
                "principalType": self.principal_type,
                "scope": self.scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": iso(self.created),
                "updatedOn": iso(self.created),
                "createdBy": None,
                "updatedBy": None,
                "delegatedManagedIdentityResourceId": None,
                "description": None,
            },
        }


@dataclass
class Token:
    value: str
    principal_id: str  # the service principal's object id
    app_id: str
    audience: str
    expires: float  # time.time()


BUILTIN_ROLES = (
    RoleDefinition(
        OWNER,
        "Owner",
        "Grants full access to manage all resources, including the ability to assign roles "
        "in Azure RBAC.",
        ["*"],
    ),
    RoleDefinition(
        CONTRIBUTOR,
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles "
        "in Azure RBAC.",
        ["*"],
        [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
    ),
    RoleDefinition(
        READER,
        "Reader",
        "View all resources, but does not allow you to make any changes.",
        ["*/read"],
    ),
    RoleDefinition(
        USER_ACCESS_ADMIN,
        "User Access Administrator",
        "Lets you manage user access to Azure resources.",
        ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
    ),
)


@dataclass
class Settings:
    max_passwords: int = 20  # per application or service principal
    max_role_assignments: int = 4000  # per subscription
    propagation_delay: float = 0.0  # seconds


class AzureModel:
    """All state, guarded by one lock (the HTTP server is threaded)."""

    def __init__(
        self,
        tenant_id: str = TENANT_ID,
        subscription_id: str = SUBSCRIPTION_ID,
        root_app_id: str = ROOT_APP_ID,
        root_secret: str = ROOT_SECRET,
    ) -> None:
        self.lock = threading.RLock()
        self.tenant_id = tenant_id
        self.subscription_id = subscription_id
        self.root_app_id = root_app_id
        self.root_secret = root_secret
        self.reset()

    # ------------------------------------------------------------------ seed
    def reset(self, settings: Settings | None = None) -> None:
        with self.lock:
            self.settings = settings or Settings()
            self.applications: dict[str, Application] = {}
            self.service_principals: dict[str, ServicePrincipal] = {}
            self.deleted: dict[str, Application | ServicePrincipal] = {}
            self.groups: dict[str, Group] = {}
            self.role_definitions = {r.guid: r for r in BUILTIN_ROLES}
            self.role_assignments: dict[str, RoleAssignment] = {}  # by lower-case name
            self.resource_groups = {name.lower(): name for name in RESOURCE_GROUPS}
            self.tokens: dict[str, Token] = {}
            for name in GROUPS:
                group = Group(new_guid(), name)
                self.groups[group.id] = group
            root, _ = self.seed_root("strongroom-root", self.root_app_id, self.root_secret)
            self.root_sp_id = self._sp_by_app_id(root.app_id).id  # type: ignore[union-attr]

    def seed_root(
        self, display_name: str, app_id: str | None = None, secret: str | None = None
    ) -> tuple[Application, str]:
        """An identity allowed to do what the engine does: a service principal with Graph
        permissions, Owner of the subscription, and a password (returned)."""
        with self.lock:
            app = self.seed_application(display_name, app_id=app_id)
            now = utcnow()
            secret = secret or new_secret()
            app.passwords.append(
                Password(new_guid(), secret, "initial", now, now + dt.timedelta(days=365))
            )
            sp = self.seed_service_principal(app)
            sp.graph_permissions = ROOT_GRAPH_PERMISSIONS
            owner = RoleAssignment(
                new_guid(),
                f"/subscriptions/{self.subscription_id}",
                self._definition_id(OWNER),
                OWNER,
                sp.id,
                "ServicePrincipal",
            )
            self.role_assignments[owner.name.lower()] = owner
            return app, secret

    def seed_application(self, display_name: str, app_id: str | None = None) -> Application:
        """An application made outside strongroom (for static roles), visible at once."""
        with self.lock:
            app = Application(new_guid(), app_id or new_guid(), display_name)
            self.applications[app.id] = app
            return app

    def seed_service_principal(self, app: Application) -> ServicePrincipal:
        with self.lock:
            sp = self._new_sp(app)
            sp.visible_at = 0.0
            return sp

    def seed_group(self, display_name: str) -> Group:
        with self.lock:
            group = Group(new_guid(), display_name)
            self.groups[group.id] = group
            return group

    def _definition_id(self, guid: str) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{guid}"
        )

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tenant_id": self.tenant_id,
                "subscription_id": self.subscription_id,
                "root_app_id": self.root_app_id,
                "root_sp_id": self.root_sp_id,
                "settings": vars(self.settings).copy(),
                "applications": [a.to_graph() for a in self.applications.values()],
                "service_principals": [
                    {**s.to_graph(self.tenant_id), "graphPermissions": sorted(s.graph_permissions)}
                    for s in self.service_principals.values()
                ],
                "deleted_items": [
                    {
                        "id": obj.id,
                        "kind": "application"
                        if isinstance(obj, Application)
                        else "servicePrincipal",
                        "appId": obj.app_id,
                        "displayName": obj.display_name,
                    }
                    for obj in self.deleted.values()
                ],
                "groups": [
                    {**g.to_graph(), "members": list(g.members)} for g in self.groups.values()
                ],
                "role_assignments": [a.to_arm() for a in self.role_assignments.values()],
                "resource_groups": sorted(self.resource_groups.values()),
                "role_definitions": [
                    r.to_arm(f"/subscriptions/{self.subscription_id}")
                    for r in self.role_definitions.values()
                ],
            }

    # ------------------------------------------------------------------ tokens
    def known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant_id, TENANT_DOMAIN)

    def issue_token(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            if not self.known_tenant(tenant):
                raise FakeError(
                    400,
                    "invalid_request",
                    f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have "
                    "the correct tenant ID and are signing into the correct cloud.",
                    "login",
                    90002,
                )
            grant = form.get("grant_type", "")
            if grant != "client_credentials":
                raise FakeError(
                    400,
                    "unsupported_grant_type",
                    f"AADSTS70003: The app requested an unsupported grant type '{grant}'.",
                    "login",
                    70003,
                )
            client_id = form.get("client_id", "")
            secret = form.get("client_secret", "")
            if not client_id:
                raise FakeError(
                    400,
                    "invalid_request",
                    "AADSTS900144: The request body must contain the following parameter: "
                    "'client_id'.",
                    "login",
                    900144,
                )
            app = self._app_by_app_id(client_id)
            if app is None:
                raise FakeError(
                    400,
                    "unauthorized_client",
                    f"AADSTS700016: Application with identifier '{client_id}' was not found in "
                    f"the directory '{self.tenant_id}'. This can happen if the application has "
                    "not been installed by the administrator of the tenant or consented to by "
                    "any user in the tenant. You may have sent your authentication request to "
                    "the wrong tenant.",
                    "login",
                    700016,
                )
            sp = self._sp_by_app_id(client_id)
            if not secret:
                raise FakeError(
                    401,
                    "invalid_client",
                    "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is "
                    "required for the 'client_credentials' grant type.",
                    "login",
                    7000216,
                )
            now = utcnow()
            candidates = app.passwords + (sp.passwords if sp is not None else [])
            matching = [p for p in candidates if secrets.compare_digest(p.secret, secret)]
            if not matching:
                raise FakeError(
                    401,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                    "sent in the request is the client secret value, not the client secret ID, "
                    f"for a secret added to app '{client_id}'.",
                    "login",
                    7000215,
                )
            if not any(p.start <= now + dt.timedelta(minutes=5) and now < p.end for p in matching):
                raise FakeError(
                    401,
                    "invalid_client",
                    f"AADSTS7000222: The provided client secret keys for app '{client_id}' are "
                    "expired. Visit the Azure portal to create new keys for your app.",
                    "login",
                    7000222,
                )
            if sp is None:
                raise FakeError(
                    400,
                    "invalid_client",
                    f"AADSTS7000229: The client application {client_id} is missing service "
                    f"principal in the tenant {self.tenant_id}.",
                    "login",
                    7000229,
                )
            scope = form.get("scope", "")
            audience = audience_of(scope)
            if audience is None:
                raise FakeError(
                    400,
                    "invalid_scope",
                    f"AADSTS1002012: The provided value for scope {scope} is not valid. Client "
                    "credential flows must have a scope value with /.default suffixed to the "
                    "resource identifier (application ID URI).",
                    "login",
                    1002012,
                )
            if audience not in GRAPH_AUDIENCES | ARM_AUDIENCES:
                raise FakeError(
                    400,
                    "invalid_resource",
                    f"AADSTS500011: The resource principal named {audience} was not found in "
                    f"the tenant named {self.tenant_id}. This can happen if the application has "
                    "not been installed by the administrator of the tenant or consented to by "
                    "any user in the tenant.",
                    "login",
                    500011,
                )
            value = _jwt(
                {
                    "aud": audience,
                    "iss": f"https://sts.windows.net/{self.tenant_id}/",
                    "tid": self.tenant_id,
                    "oid": sp.id,
                    "appid": client_id,
                    "iat": int(time.time()),
                    "exp": int(time.time()) + TOKEN_LIFETIME,
                    "jti": new_guid(),
                }
            )
            self.tokens[value] = Token(
                value, sp.id, client_id, audience, time.time() + TOKEN_LIFETIME
            )
            return {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": value,
            }

    def authenticate(self, header: str, service: str) -> Token:
        """The token behind an Authorization header, for Graph or ARM."""
        with self.lock:
            value = header[7:].strip() if header.lower().startswith("bearer ") else ""
            if service == "graph":
                if not value:
                    raise FakeError(401, "InvalidAuthenticationToken", "Access token is empty.")
                token = self.tokens.get(value)
                if token is None:
                    raise FakeError(
                        401,
                        "InvalidAuthenticationToken",
                        "IDX14100: JWT is not well formed, there are no dots (.).",
                    )
                if token.expires < time.time():
                    raise FakeError(
                        401,
                        "InvalidAuthenticationToken",
                        "Lifetime validation failed, the token is expired.",
                    )
                if token.audience not in GRAPH_AUDIENCES:
                    raise FakeError(
                        401,
                        "InvalidAuthenticationToken",
                        "Access token validation failure. Invalid audience.",
                    )
                return token
            if not value:
                raise FakeError(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                    "arm",
                )
            token = self.tokens.get(value)
            if token is None:
                raise FakeError(
                    401,
                    "InvalidAuthenticationToken",
                    "The access token is invalid.",
                    "arm",
                )
            if token.expires < time.time():
                raise FakeError(
                    401,
                    "ExpiredAuthenticationToken",
                    "The access token expiry UTC time is earlier than current UTC time.",
                    "arm",
                )
            if token.audience not in ARM_AUDIENCES:
                raise FakeError(
                    401,
                    "InvalidAuthenticationToken",
                    "The access token has been obtained for wrong audience or resource "
                    f"'{token.audience}'. It should exactly match with one of the allowed "
                    "audiences 'https://management.core.windows.net/','https://management."
                    "core.windows.net','https://management.azure.com/','https://management."
                    "azure.com'.",
                    "arm",
                )
            return token

    # ------------------------------------------------------------------ graph helpers
    def _require(self, token: Token, *permissions: str) -> None:
        sp = self.service_principals.get(token.principal_id)
        granted = sp.graph_permissions if sp is not None else frozenset()
        if not granted.intersection(permissions):
            raise FakeError(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )

    def _app(self, object_id: str) -> Application:
        app = self.applications.get(object_id.lower())
        if app is None:
            raise graph_not_found(object_id)
        return app

    def _sp(self, object_id: str) -> ServicePrincipal:
        sp = self.service_principals.get(object_id.lower())
        if sp is None:
            raise graph_not_found(object_id)
        return sp

    def _app_by_app_id(self, app_id: str) -> Application | None:
        return next(
            (a for a in self.applications.values() if a.app_id.lower() == app_id.lower()), None
        )

    def _sp_by_app_id(self, app_id: str) -> ServicePrincipal | None:
        return next(
            (s for s in self.service_principals.values() if s.app_id.lower() == app_id.lower()),
            None,
        )

    def _visible_after(self) -> float:
        return time.monotonic() + self.settings.propagation_delay

    # ------------------------------------------------------------------ applications
    def create_application(self, token: Token, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            name = body.get("displayName")
            if not isinstance(name, str) or not 1 <= len(name) <= DISPLAY_NAME_MAX:
                raise _bad_property("displayName", "Application")
            audience = body.get("signInAudience") or "AzureADMyOrg"
            if audience not in SIGN_IN_AUDIENCES:
                raise _bad_property("signInAudience", "Application")
            tags = body.get("tags") or []
            if not isinstance(tags, list) or any(
                not isinstance(t, str) or not 1 <= len(t) <= 256 for t in tags
            ):
                raise _bad_property("tags", "Application")
            uris = body.get("identifierUris") or []
            unique = body.get("uniqueName")
            for other in self.applications.values():
                if (unique and other.unique_name == unique) or set(uris) & set(
                    other.identifier_uris
                ):
                    prop = (
                        "uniqueName" if unique and other.unique_name == unique else "identifierUris"
                    )
                    raise FakeError(
                        400,
                        "Request_MultipleObjectsWithSameKeyValue",
                        f"Another object with the same value for property {prop} already exists.",
                    )
            app = Application(
                new_guid(),
                new_guid(),
                name,
                sign_in_audience=audience,
                tags=list(dict.fromkeys(tags)),
                identifier_uris=list(uris),
                unique_name=unique,
                visible_at=self._visible_after(),
            )
            self.applications[app.id] = app
            return app.to_graph()

    def get_application(self, token: Token, object_id: str) -> dict[str, Any]:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            return self._app(object_id).to_graph()

    def list_applications(self, token: Token, flt: str | None) -> list[dict[str, Any]]:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            apps = list(self.applications.values())
            return [a.to_graph() for a in apps if graph_filter(flt, a.to_graph())]

    def delete_application(self, token: Token, object_id: str) -> None:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            app = self._app(object_id)
            del self.applications[app.id]
            app.deleted = utcnow()
            self.deleted[app.id] = app
            for sp in list(self.service_principals.values()):
                if sp.app_id == app.app_id:
                    self._remove_sp(sp)

    def add_password(
        self, token: Token, kind: str, object_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            owner = self._app(object_id) if kind == "application" else self._sp(object_id)
            resource = "Application" if kind == "application" else "ServicePrincipal"
            cred = body.get("passwordCredential")
            if cred is None:
                cred = {}
            if not isinstance(cred, dict):
                raise _bad_property("passwordCredential", resource)
            now = utcnow()
            start = (
                parse_time(cred["startDateTime"], "startDateTime", resource)
                if cred.get("startDateTime")
                else now
            )
            end = (
                parse_time(cred["endDateTime"], "endDateTime", resource)
                if cred.get("endDateTime")
                else start + DEFAULT_PASSWORD_LIFETIME
            )
            if end <= start:
                raise FakeError(
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for property 'endDateTime' of resource "
                    "'PasswordCredential'. The end date must be after the start date.",
                )
            display = cred.get("displayName")
            if display is not None and (not isinstance(display, str) or len(display) > 256):
                raise _bad_property("displayName", "PasswordCredential")
            if len(owner.passwords) >= self.settings.max_passwords:
                raise FakeError(
                    400,
                    "Request_BadRequest",
                    "The size of the object has exceeded its limit. Please reduce the number "
                    "of values and retry your request.",
                )
            password = Password(new_guid(), new_secret(), display, start, end)
            owner.passwords.append(password)
            return password.to_graph(with_secret=True)

    def remove_password(
        self, token: Token, kind: str, object_id: str, body: dict[str, Any]
    ) -> None:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            owner = self._app(object_id) if kind == "application" else self._sp(object_id)
            key_id = str(body.get("keyId") or "")
            if not GUID.match(key_id):
                raise _bad_property("keyId", "PasswordCredential")
            for password in owner.passwords:
                if password.key_id.lower() == key_id.lower():
                    owner.passwords.remove(password)
                    return
            raise FakeError(
                400, "Request_BadRequest", f"No password credential found with keyId {key_id}."
            )

    # ------------------------------------------------------------------ service principals
    def _new_sp(self, app: Application) -> ServicePrincipal:
        sp = ServicePrincipal(
            new_guid(),
            app.app_id,
            app.display_name,
            sign_in_audience=app.sign_in_audience,
            tags=list(app.tags),
            visible_at=self._visible_after(),
        )
        self.service_principals[sp.id] = sp
        return sp

    def create_service_principal(self, token: Token, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            app_id = str(body.get("appId") or "")
            app = self._app_by_app_id(app_id) if app_id else None
            if app is None or app.visible_at > time.monotonic():
                raise FakeError(
                    400,
                    "Request_BadRequest",
                    f"The appId '{app_id}' of the service principal does not reference a valid "
                    "application object.",
                )
            if self._sp_by_app_id(app_id) is not None:
                raise FakeError(
                    409,
                    "Request_MultipleObjectsWithSameKeyValue",
                    "The service principal cannot be created, updated, or restored because the "
                    "service principal name "
                    f"{app_id} is already in use.",
                )
            return self._new_sp(app).to_graph(self.tenant_id)

    def get_service_principal(self, token: Token, object_id: str) -> dict[str, Any]:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            return self._sp(object_id).to_graph(self.tenant_id)

    def list_service_principals(self, token: Token, flt: str | None) -> list[dict[str, Any]]:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            sps = [s.to_graph(self.tenant_id) for s in self.service_principals.values()]
            return [s for s in sps if graph_filter(flt, s)]

    def _remove_sp(self, sp: ServicePrincipal) -> None:
        del self.service_principals[sp.id]
        sp.deleted = utcnow()
        self.deleted[sp.id] = sp
        for group in self.groups.values():
            if sp.id in group.members:
                group.members.remove(sp.id)
        self.tokens = {k: t for k, t in self.tokens.items() if t.principal_id != sp.id}

    def delete_service_principal(self, token: Token, object_id: str) -> None:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            self._remove_sp(self._sp(object_id))

    # ------------------------------------------------------------------ deleted items
    def get_deleted_item(self, token: Token, object_id: str) -> dict[str, Any]:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            obj = self.deleted.get(object_id.lower())
            if obj is None:
                raise graph_not_found(object_id)
            if isinstance(obj, Application):
                return obj.to_graph()
            return obj.to_graph(self.tenant_id)

    def purge_deleted_item(self, token: Token, object_id: str) -> None:
        with self.lock:
            self._require(token, GRAPH_WRITE)
            if self.deleted.pop(object_id.lower(), None) is None:
                raise graph_not_found(object_id)

    # ------------------------------------------------------------------ groups
    def _group(self, object_id: str) -> Group:
        group = self.groups.get(object_id.lower())
        if group is None:
            raise graph_not_found(object_id)
        return group

    def get_group(self, token: Token, object_id: str) -> dict[str, Any]:
        with self.lock:
            self._require(token, GROUP_READ, GROUP_MEMBER_WRITE)
            return self._group(object_id).to_graph()

    def list_groups(self, token: Token, flt: str | None) -> list[dict[str, Any]]:
        with self.lock:
            self._require(token, GROUP_READ, GROUP_MEMBER_WRITE)
            groups = [g.to_graph() for g in self.groups.values()]
            return [g for g in groups if graph_filter(flt, g)]

    def list_members(self, token: Token, object_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._require(token, GROUP_READ, GROUP_MEMBER_WRITE)
            out = []
            for member in self._group(object_id).members:
                sp = self.service_principals.get(member)
                if sp is not None:
                    out.append(
                        {"@odata.type": "#microsoft.graph.servicePrincipal"}
                        | sp.to_graph(self.tenant_id)
                    )
            return out

    def add_member(self, token: Token, group_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self._require(token, GROUP_MEMBER_WRITE)
            group = self._group(group_id)
            ref = body.get("@odata.id")
            if not isinstance(ref, str) or not ref:
                raise FakeError(
                    400,
                    "Request_BadRequest",
                    "Invalid object identifier 'undefined'.",
                )
            member_id = ref.rstrip("/").rsplit("/", 1)[-1].lower()
            sp = self.service_principals.get(member_id)
            if sp is None or sp.visible_at > time.monotonic():
                raise graph_not_found(member_id)
            if sp.id in group.members:
                raise FakeError(
                    400,
                    "Request_BadRequest",
                    "One or more added object references already exist for the following "
                    "modified properties: 'members'.",
                )
            group.members.append(sp.id)

    def remove_member(self, token: Token, group_id: str, member_id: str) -> None:
        with self.lock:
            self._require(token, GROUP_MEMBER_WRITE)
            group = self._group(group_id)
            if member_id.lower() not in group.members:
                raise graph_not_found(member_id)
            group.members.remove(member_id.lower())

    # ------------------------------------------------------------------ ARM
    def _authorize(self, token: Token, action: str, scope: str) -> None:
        target = scope.lower().rstrip("/") + "/"
        for assignment in self.role_assignments.values():
            if assignment.principal_id != token.principal_id:
                continue
            if not target.startswith(assignment.scope.lower().rstrip("/") + "/"):
                continue
            definition = self.role_definitions.get(assignment.role_guid)
            if definition is not None and definition.allows(action):
                return
        raise FakeError(
            403,
            "AuthorizationFailed",
            f"The client '{token.app_id}' with object id '{token.principal_id}' does not have "
            f"authorization to perform action '{action}' over scope '{scope}' or the scope is "
            "invalid. If access was recently granted, please refresh your credentials.",
            "arm",
        )

    def check_scope(self, scope: str) -> str:
        """A scope that exists, in canonical form; ARM's errors otherwise."""
        parts = [p for p in scope.split("/") if p]
        if len(parts) < 2 or parts[0].lower() != "subscriptions":
            raise FakeError(
                400,
                "InvalidScope",
                f"The scope '{scope}' is not valid. Supported scopes are subscriptions, "
                "resource groups and resources below them.",
                "arm",
            )
        if parts[1].lower() != self.subscription_id:
            raise FakeError(
                404,
                "SubscriptionNotFound",
                f"The subscription '{parts[1]}' could not be found.",
                "arm",
            )
        canonical = f"/subscriptions/{self.subscription_id}"
        rest = parts[2:]
        if not rest:
            return canonical
        if rest[0].lower() != "resourcegroups" or len(rest) < 2:
            raise FakeError(400, "InvalidScope", f"The scope '{scope}' is not valid.", "arm")
        group = self.resource_groups.get(rest[1].lower())
        if group is None:
            raise FakeError(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{rest[1]}' could not be found.",
                "arm",
            )
        canonical += f"/resourceGroups/{group}"
        resource = rest[2:]
        if resource:
            # providers/{namespace}/{type}/{name}[/{type}/{name}...]
            if resource[0].lower() != "providers" or len(resource) < 4 or len(resource) % 2:
                raise FakeError(400, "InvalidScope", f"The scope '{scope}' is not valid.", "arm")
            canonical += "/" + "/".join(resource)
        return canonical

    def get_resource_group(self, token: Token, subscription: str, name: str) -> dict[str, Any]:
        with self.lock:
            scope = f"/subscriptions/{subscription}/resourceGroups/{name}"
            canonical = self.check_scope(scope)
            self._authorize(
                token, "Microsoft.Resources/subscriptions/resourceGroups/read", canonical
            )
            group = canonical.rsplit("/", 1)[-1]
            return {
                "id": canonical,
                "name": group,
                "type": "Microsoft.Resources/resourceGroups",
                "location": "westeurope",
                "properties": {"provisioningState": "Succeeded"},
            }

    def list_role_definitions(
        self, token: Token, scope: str, flt: str | None
    ) -> list[dict[str, Any]]:
        with self.lock:
            canonical = self.check_scope(scope) if scope else ""
            if canonical:
                self._authorize(token, "Microsoft.Authorization/roleDefinitions/read", canonical)
            wanted: str | None = None
            if flt:
                match = re.fullmatch(r"\s*roleName\s+eq\s+'((?:[^']|'')*)'\s*", flt, re.I)
                if match is None:
                    raise FakeError(
                        400,
                        "InvalidFilter",
                        f"The filter '{flt}' is not supported.",
                        "arm",
                    )
                wanted = match.group(1).replace("''", "'")
            return [
                r.to_arm(canonical)
                for r in self.role_definitions.values()
                if wanted is None or r.role_name.lower() == wanted.lower()
            ]

    def get_role_definition(self, token: Token, scope: str, guid: str) -> dict[str, Any]:
        with self.lock:
            canonical = self.check_scope(scope) if scope else ""
            if canonical:
                self._authorize(token, "Microsoft.Authorization/roleDefinitions/read", canonical)
            definition = self.role_definitions.get(guid.lower())
            if definition is None:
                raise FakeError(
                    404,
                    "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{guid}' does not exist.",
                    "arm",
                )
            return definition.to_arm(canonical)

    def put_role_assignment(
        self, token: Token, scope: str, name: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if not GUID.match(name):
                raise FakeError(
                    400,
                    "InvalidRoleAssignmentId",
                    f"The role assignment ID '{name}' is not valid. The role assignment ID "
                    "must be a GUID.",
                    "arm",
                )
            canonical = self.check_scope(scope)
            self._authorize(token, "Microsoft.Authorization/roleAssignments/write", canonical)
            props = body.get("properties")
            if not isinstance(props, dict):
                raise FakeError(
                    400,
                    "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized: "
                    "'Required property 'properties' not found in JSON.'",
                    "arm",
                )
            definition_id = str(props.get("roleDefinitionId") or "")
            principal_id = str(props.get("principalId") or "").lower()
            guid = definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
            match = re.fullmatch(
                r"(/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/[^/]+",
                definition_id,
                re.I,
            )
            if match is None or guid not in self.role_definitions:
                raise FakeError(
                    400,
                    "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{guid}' does not exist.",
                    "arm",
                )
            if (
                match.group(1)
                and match.group(1).lower() != f"/subscriptions/{self.subscription_id}"
            ):
                raise FakeError(
                    400,
                    "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{guid}' does not exist.",
                    "arm",
                )
            sp = self.service_principals.get(principal_id)
            if sp is None or sp.visible_at > time.monotonic():
                raise FakeError(
                    400,
                    "PrincipalNotFound",
                    f"Principal {principal_id.replace('-', '')} does not exist in the directory "
                    f"{self.tenant_id}. Check that you have the correct principal ID. If you are "
                    "creating this principal and then immediately assigning a role, this error "
                    "might be related to a replication delay. In this case, set the role "
                    "assignment principalType property to a value, such as ServicePrincipal, "
                    "User, or Group.  See https://aka.ms/docs-principaltype",
                    "arm",
                )
            existing = self.role_assignments.get(name.lower())
            if existing is not None:
                same = (
                    existing.scope.lower() == canonical.lower()
                    and existing.role_guid == guid
                    and existing.principal_id == principal_id
                )
                if not same:
                    raise FakeError(
                        409,
                        "RoleAssignmentUpdateNotPermitted",
                        "Tenant ID, application ID, principal ID, and scope are not allowed to "
                        "be updated.",
                        "arm",
                    )
                return 200, existing.to_arm()
            for other in self.role_assignments.values():
                if (
                    other.scope.lower() == canonical.lower()
                    and other.role_guid == guid
                    and other.principal_id == principal_id
                ):
                    raise FakeError(
                        409, "RoleAssignmentExists", "The role assignment already exists.", "arm"
                    )
            if len(self.role_assignments) >= self.settings.max_role_assignments:
                raise FakeError(
                    400,
                    "RoleAssignmentLimitExceeded",
                    "No more role assignments can be created.",
                    "arm",
                )
            assignment = RoleAssignment(
                name.lower(),
                canonical,
                definition_id,
                guid,
                principal_id,
                str(props.get("principalType") or "ServicePrincipal"),
            )
            self.role_assignments[assignment.name] = assignment
            return 201, assignment.to_arm()

    def _assignment_at(self, scope: str, name: str) -> RoleAssignment | None:
        found = self.role_assignments.get(name.lower())
        if found is None:
            return None
        wanted = "/" + "/".join(p for p in scope.split("/") if p)
        return found if found.scope.lower() == wanted.lower() else None

    def get_role_assignment(self, token: Token, scope: str, name: str) -> dict[str, Any]:
        with self.lock:
            canonical = self.check_scope(scope)
            self._authorize(token, "Microsoft.Authorization/roleAssignments/read", canonical)
            found = self._assignment_at(canonical, name)
            if found is None:
                raise FakeError(
                    404,
                    "RoleAssignmentNotFound",
                    f"The role assignment '{name}' is not found.",
                    "arm",
                )
            return found.to_arm()

    def list_role_assignments(self, token: Token, scope: str) -> list[dict[str, Any]]:
        with self.lock:
            canonical = self.check_scope(scope)
            self._authorize(token, "Microsoft.Authorization/roleAssignments/read", canonical)
            prefix = canonical.lower() + "/"
            return [
                a.to_arm()
                for a in self.role_assignments.values()
                if (a.scope.lower() + "/").startswith(prefix)
                or prefix.startswith(a.scope.lower() + "/")
            ]

    def delete_role_assignment(self, token: Token, scope: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            canonical = self.check_scope(scope)
            self._authorize(token, "Microsoft.Authorization/roleAssignments/delete", canonical)
            found = self._assignment_at(canonical, name)
            if found is None:
                return None
            del self.role_assignments[found.name]
            return found.to_arm()


def audience_of(scope: str) -> str | None:
    """`https://graph.microsoft.com/.default` → `https://graph.microsoft.com`."""
    first = scope.split()[0] if scope.split() else ""
    if not first.endswith("/.default"):
        return None
    return first[: -len("/.default")].rstrip("/")


_FILTER = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.I)
_STARTSWITH = re.compile(r"^\s*startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$", re.I)


def graph_filter(flt: str | None, obj: dict[str, Any]) -> bool:
    """Graph's `$filter` for the forms used here: `prop eq 'v'`, `startswith(prop,'v')`."""
    if not flt:
        return True
    match = _FILTER.match(flt)
    if match:
        prop, value = match.group(1), match.group(2).replace("''", "'")
        if prop not in obj:
            raise _unsupported(flt)
        return str(obj[prop]).lower() == value.lower()
    match = _STARTSWITH.match(flt)
    if match:
        prop, value = match.group(1), match.group(2).replace("''", "'")
        if prop not in obj:
            raise _unsupported(flt)
        return str(obj[prop]).lower().startswith(value.lower())
    raise _unsupported(flt)


def _unsupported(flt: str) -> FakeError:
    return FakeError(
        400,
        "Request_UnsupportedQuery",
        f"Unsupported or invalid query filter clause specified: '{flt}'.",
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any]) -> str:
    header = {"typ": "JWT", "alg": "RS256", "kid": "fake-azure"}
    return ".".join(
        (
            _b64(json.dumps(header).encode()),
            _b64(json.dumps(claims).encode()),
            _b64(secrets.token_bytes(32)),
        )
    )
