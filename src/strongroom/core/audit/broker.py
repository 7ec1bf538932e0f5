"""The audit broker: the table of audit devices and the fail-closed logging rule.

The core calls the broker at two points of every request (`Core.handle`):

* `around(req, inner)` wraps the whole pipeline: it writes the response
  entry once the response (possibly wrapped) is known, and, for a request
  that failed before reaching its backend (bad token, ACL denial, unknown
  path), a request entry and a response entry carrying the error;
* `log_request(req)` runs after authentication and the ACL check, right
  before the backend: the request entry.

Fail-closed: while any device is enabled, a request whose entry no device
could write is refused with a 500 before its backend runs; a response no
device could record is replaced by that 500 (the backend did run, as in
Vault). With no device enabled nothing is written and nothing is refused.

The device table (type, options, salt) lives below the barrier at
`core/audit` and is restored at unseal.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from strongroom import jsonutil
from strongroom.core.audit.devices import (
    AuditDevice,
    DeviceSettings,
    create_device,
    parse_settings,
)
from strongroom.core.audit.entry import RawEntry, compact
from strongroom.core.errors import AclDenied, BadRequest, VaultError
from strongroom.core.ids import request_id
from strongroom.core.request import Operation, Request, Response
from strongroom.core.timefmt import rfc3339

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.tokens import TokenEntry

log = logging.getLogger("strongroom.audit")

AUDIT_TABLE_KEY = "core/audit"
API_CREATION_REFUSED = (
    "cannot enable audit device via API; use declarative, config-based audit device "
    "management instead"
)
# Vault's HTTP-level handlers never reach its audit broker; neither do these.
_NOT_AUDITED = frozenset({"sys/init", "sys/seal-status", "sys/unseal", "sys/health", "sys/leader"})
_NOT_AUDITED_PREFIXES = ("sys/rekey/", "sys/generate-root/", "sys/rekey-recovery-key/")


def auditable(path: str) -> bool:
    return path not in _NOT_AUDITED and not path.startswith(_NOT_AUDITED_PREFIXES)


class AuditFailed(VaultError):
    """No enabled audit device could record the request: it is refused (fail-closed)."""

    status = 500

    def __init__(self) -> None:
        super().__init__(
            "audit: no enabled audit device could record this request, so it was refused "
            "(see the server log)"
        )


@dataclass
class AuditMount:
    """One row of the audit table (as stored; `salt` never leaves the server)."""

    path: str
    type: str
    description: str = ""
    options: dict[str, str] = field(default_factory=dict)
    local: bool = False
    salt: str = ""

    def to_api(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "local": self.local,
            "options": dict(self.options),
            "path": self.path,
            "type": self.type,
        }


@dataclass
class _RequestState:
    """What the broker remembers about one request between its two entries."""

    logged: bool = False  # the request entry is written
    failed: bool = False  # writing it failed: the request was refused
    token: TokenEntry | None = None
    authenticated: bool = False
    denied: bool = False  # the ACL refused it


class _BrokenDevice(AuditDevice):
    """A stored device that cannot be rebuilt: it fails every write (fail-closed)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, DeviceSettings(type="file"), b"")
        self.reason = reason

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def record(self, entry: RawEntry) -> None:
        raise OSError(self.reason)


def normalize_path(path: str) -> str:
    return path.strip("/") + "/"


class AuditBroker:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._mounts: dict[str, AuditMount] = {}
        self._devices: dict[str, AuditDevice] = {}
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._devices)

    # ------------------------------------------------------------ lifecycle
    async def load(self) -> None:
        """Restore the stored audit table (at unseal)."""
        raw = await self._core.barrier.get(AUDIT_TABLE_KEY)
        if raw is None:
            return
        for record in jsonutil.loads(raw):
            mount = AuditMount(**record)
            try:
                settings = parse_settings(mount.type, mount.options)
                device = create_device(mount.path, settings, mount.salt.encode())
            except VaultError as err:
                log.error("audit: cannot restore device %s: %s", mount.path, err)
                device = _BrokenDevice(mount.path, f"device cannot be restored: {err}")
            await device.start()
            self._mounts[mount.path] = mount
            self._devices[mount.path] = device
        if self._devices:
            log.info("audit: restored devices %s", ", ".join(sorted(self._devices)))

    async def unload(self) -> None:
        """Write what is queued and close every device (at seal)."""
        devices = list(self._devices.values())
        self._devices.clear()
        self._mounts.clear()
        for device in devices:
            try:
                await device.stop()
            except Exception:
                log.exception("audit: stopping device %s failed", device.path)

    def reopen(self) -> None:
        """SIGHUP: every device reopens its output (a rotated file starts anew)."""
        if self._devices:
            log.info("audit: reopening audit devices")
        for device in self._devices.values():
            device.request_reopen()

    # ------------------------------------------------------------ the table
    def table(self) -> dict[str, dict[str, Any]]:
        return {path: self._mounts[path].to_api() for path in sorted(self._mounts)}

    async def enable(
        self,
        path: str,
        device_type: str,
        description: str,
        options: dict[str, str],
        local: bool,
    ) -> None:
        if not getattr(self._core.config, "allow_api_audit_creation", True):
            raise BadRequest(API_CREATION_REFUSED)
        path = normalize_path(path)
        if path == "/":
            raise BadRequest("audit device path must be specified")
        async with self._lock:
            for existing in self._mounts:
                if existing.startswith(path) or path.startswith(existing):
                    raise BadRequest("path already in use")
            settings = parse_settings(device_type, options)
            salt = secrets.token_hex(32)
            device = create_device(path, settings, salt.encode())
            await asyncio.to_thread(device.check)
            mount = AuditMount(path, device_type, description, dict(options), local, salt)
            await self._persist([*self._mounts.values(), mount])
            await device.start()
            self._mounts[path] = mount
            self._devices[path] = device
            log.info("audit: enabled %s device at %s", device_type, path)

    async def disable(self, path: str) -> None:
        path = normalize_path(path)
        if path == "/":
            raise BadRequest("audit device path must be specified")
        async with self._lock:
            if path not in self._mounts:
                return
            await self._persist([m for p, m in self._mounts.items() if p != path])
            del self._mounts[path]
            device = self._devices.pop(path)
            await device.stop()
            log.info("audit: disabled device at %s", path)

    async def _persist(self, mounts: list[AuditMount]) -> None:
        records = [asdict(m) for m in sorted(mounts, key=lambda m: m.path)]
        await self._core.barrier.put(AUDIT_TABLE_KEY, jsonutil.dumps_compact(records))

    def hash(self, path: str, value: str) -> str:
        """sys/audit-hash: `value` as the device at `path` writes it."""
        path = normalize_path(path)
        device = self._devices.get(path)
        if device is None:
            raise BadRequest(f'unknown audit backend "{path}"')
        return device.hash(value)

    # ------------------------------------------------------------ logging
    async def around(
        self, req: Request, inner: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Run the request pipeline `inner` with its audit entries around it."""
        if not auditable(req.path):
            return await inner(req)
        state = req.audit = _RequestState()
        try:
            resp = await inner(req)
        except AuditFailed:
            raise
        except VaultError as err:
            await self._log_failure(
                req,
                state,
                "\n".join(err.messages) or f"status {err.status}",
                denied=isinstance(err, AclDenied),
            )
            raise
        except Exception:
            await self._log_failure(req, state, "internal error", denied=False)
            raise
        if state.logged:
            resp.request_id = req.request_id
            await self._dispatch(self._response_entry(req, state, resp, ""))
        return resp

    async def log_request(self, req: Request) -> None:
        """The request entry, right before the backend runs (raises AuditFailed)."""
        state = req.audit
        if not isinstance(state, _RequestState) or state.logged:
            return
        await self._write_request_entry(req, state, "", denied=False)

    async def _write_request_entry(
        self, req: Request, state: _RequestState, error: str, *, denied: bool
    ) -> None:
        if not req.request_id:
            req.request_id = request_id()
        state.authenticated = req.token is not None
        state.denied = denied
        state.token = req.token or await self._token_of(req)
        try:
            await self._dispatch(self._request_entry(req, state, error, denied=denied))
        except AuditFailed:
            state.failed = True
            raise
        state.logged = True

    async def _log_failure(
        self, req: Request, state: _RequestState, error: str, *, denied: bool
    ) -> None:
        """A request that failed: its request entry (if not yet written) and its error."""
        if state.failed or not self._devices:
            return
        if not state.logged:
            await self._write_request_entry(req, state, error, denied=denied)
        await self._dispatch(self._response_entry(req, state, None, error))

    async def _token_of(self, req: Request) -> TokenEntry | None:
        """The token an unauthenticated path was sent with (not counted as a use)."""
        tokens = self._core.tokens
        if not req.client_token or tokens is None:
            return None
        try:
            return await tokens.lookup(req.client_token, allow_pending=True)
        except Exception:
            return None

    async def _dispatch(self, entry: RawEntry) -> None:
        devices = list(self._devices.values())
        if not devices:
            return
        if len(devices) == 1:
            try:
                await devices[0].record(entry)
            except Exception as err:
                log.error("audit: device %s failed: %s", devices[0].path, err)
                raise AuditFailed() from None
            return
        results = await asyncio.gather(*(d.record(entry) for d in devices), return_exceptions=True)
        ok = False
        for device, result in zip(devices, results, strict=True):
            if isinstance(result, BaseException):
                log.error("audit: device %s failed: %s", device.path, result)
            else:
                ok = True
        if not ok:
            raise AuditFailed()

    # ------------------------------------------------------------ entries
    def _now(self) -> str:
        try:
            return rfc3339(self._core.system.clock())
        except Exception:
            return rfc3339(datetime.now(UTC))

    def _auth(self, req: Request, state: _RequestState, *, denied: bool) -> dict[str, Any]:
        token = state.token
        if token is None:
            return {}
        results: dict[str, Any] | None = None
        if state.authenticated:
            results = {"allowed": not denied}
            if not denied:
                granting = self._granting(req, token)
                if granting:
                    results["granting_policies"] = granting
        issued = token.issue_time or token.creation_time
        return compact(
            [
                ("client_token", token.id or req.client_token),
                ("accessor", token.accessor),
                ("display_name", token.display_name),
                ("policies", list(token.policies)),
                ("token_policies", list(token.policies)),
                ("metadata", dict(token.meta) if token.meta else None),
                ("entity_id", token.entity_id),
                ("policy_results", results),
                ("remaining_uses", max(token.num_uses, 0)),
                ("token_type", token.type),
                ("token_ttl", token.ttl),
                ("token_issue_time", _rfc3339_seconds(issued) if issued else ""),
            ]
        )

    def _granting(self, req: Request, token: TokenEntry) -> list[dict[str, str]]:
        def info(name: str) -> dict[str, str]:
            return {"name": name, "namespace_id": "root", "type": "acl"}

        if token.is_root():
            return [info("root")]
        store = self._core.policies
        if store is None:
            return []
        return [
            info(name)
            for name in token.policies
            if store.exists(name)
            and store.acl([name]).allows(req.operation, req.path, req.data, req.wrap_ttl)
        ]

    def _mount_fields(self, req: Request, version_key: str) -> list[tuple[str, Any]]:
        mount = req.mount
        if mount is None:
            return []
        return [
            ("mount_point", mount.api_path),
            ("mount_type", mount.type),
            ("mount_accessor", mount.accessor),
            (version_key, f"v{self._core.version}+builtin.strongroom"),
            ("mount_class", "auth" if mount.is_auth else "secret"),
        ]

    def _request_block(self, req: Request, state: _RequestState) -> dict[str, Any]:
        token = state.token
        return compact(
            [
                ("id", req.request_id),
                ("operation", req.operation.value),
                *self._mount_fields(req, "mount_running_version"),
                ("client_token", req.client_token),
                ("client_token_accessor", token.accessor if token is not None else ""),
                ("namespace", {"id": "root"}),
                ("path", req.path),
                ("data", req.data or None),
                ("remote_address", req.remote_addr),
                ("wrap_ttl", req.wrap_ttl),
            ]
        )

    def _raw(self, req: Request, kind: str, state: _RequestState, error: str) -> RawEntry:
        config = req.mount.config.extra if req.mount is not None else {}
        return RawEntry(
            type=kind,
            time=self._now(),
            auth={},
            request=self._request_block(req, state),
            error=error,
            is_list=req.operation is Operation.LIST,
            non_hmac_request_keys=frozenset(config.get("audit_non_hmac_request_keys") or ()),
            non_hmac_response_keys=frozenset(config.get("audit_non_hmac_response_keys") or ()),
        )

    def _request_entry(
        self, req: Request, state: _RequestState, error: str, *, denied: bool
    ) -> RawEntry:
        entry = self._raw(req, "request", state, error)
        entry.auth = self._auth(req, state, denied=denied)
        return entry

    def _response_entry(
        self, req: Request, state: _RequestState, resp: Response | None, error: str
    ) -> RawEntry:
        entry = self._raw(req, "response", state, error)
        entry.auth = self._auth(req, state, denied=state.denied)
        response: list[tuple[str, Any]] = []
        if resp is not None:
            response.append(("auth", _response_auth(resp.auth)))
        response += self._mount_fields(req, "mount_running_plugin_version")
        if resp is not None:
            secret = resp.secret
            wrap = resp.wrap_info
            response += [
                ("secret", {"lease_id": secret.lease_id} if secret and secret.lease_id else None),
                ("data", resp.data),
                ("warnings", list(resp.warnings) if resp.warnings else None),
                ("wrap_info", compact(wrap.items()) if wrap else None),
            ]
        entry.response = compact(response)
        return entry


def _response_auth(auth: dict[str, Any] | None) -> dict[str, Any] | None:
    if not auth:
        return None
    return compact(
        [
            ("client_token", auth.get("client_token", "")),
            ("accessor", auth.get("accessor", "")),
            ("policies", auth.get("policies")),
            ("token_policies", auth.get("token_policies")),
            ("identity_policies", auth.get("identity_policies")),
            ("metadata", auth.get("metadata")),
            ("num_uses", auth.get("num_uses", 0)),
            ("entity_id", auth.get("entity_id", "")),
            ("token_type", auth.get("token_type", "")),
            ("token_ttl", auth.get("lease_duration", 0)),
        ]
    )


def _rfc3339_seconds(moment: float) -> str:
    return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
