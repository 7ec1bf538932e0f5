"""The Core: seal state, mount tables and the one request pipeline.

Every request, `sys/*` and `auth/token/*` included, goes through `handle()`:
sealed? -> token -> ACL -> route to the mount's backend -> lease -> response.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from strongroom import __version__, jsonutil
from strongroom.barrier import Barrier, InvalidKeyError, SealConfig, SealConfigError, ShamirSeal
from strongroom.core.audit import AuditBroker
from strongroom.core.context import (
    SYSTEM_DEFAULT_TTL,
    BackendContext,
    StorageView,
    SystemView,
    clear_prefix,
    utcnow,
)
from strongroom.core.errors import (
    AclDenied,
    BadRequest,
    MethodNotAllowed,
    PermissionDenied,
    Sealed,
    VaultError,
)
from strongroom.core.leases import ExpirationManager, Lease
from strongroom.core.mounts import MountConfig, MountEntry
from strongroom.core.policy_store import PolicyStore
from strongroom.core.request import WRITE_OPS, Operation, Request, Response, Secret
from strongroom.core.tokens import TokenEntry, TokenStore
from strongroom.core.wrapping import wrap_response
from strongroom.framework.backend import Backend, LeaseRequest, SecretType
from strongroom.storage import Storage
from strongroom.storage.cache import DEFAULT_SIZE as DEFAULT_CACHE_SIZE
from strongroom.storage.cache import CachedStorage

if TYPE_CHECKING:
    from strongroom.core.ha import HAManager

log = logging.getLogger("strongroom.core")

MOUNTS_KEY = "core/mounts"
AUTH_KEY = "core/auth"
CLUSTER_KEY = "core/cluster"

# sys/ routes that answer whatever the seal state (the rest get 503 when sealed).
SEALED_OK = frozenset({"sys/init", "sys/seal-status", "sys/unseal", "sys/health", "sys/leader"})
# Special handlers answer 405 with an empty errors list for any other operation.
SPECIAL_OPS: dict[str, frozenset[Operation]] = {
    "sys/init": frozenset({Operation.READ, Operation.UPDATE}),
    "sys/seal-status": frozenset({Operation.READ}),
    "sys/unseal": frozenset({Operation.UPDATE}),
    "sys/seal": frozenset({Operation.UPDATE}),
    "sys/health": frozenset({Operation.READ}),
    "sys/leader": frozenset({Operation.READ}),
    "sys/step-down": frozenset({Operation.UPDATE}),
}

BackendFactory = Callable[[BackendContext], Backend]


@dataclass
class CoreConfig:
    default_lease_ttl: int = 0
    max_lease_ttl: int = 0
    cluster_name: str = ""
    api_addr: str = ""
    storage_type: str = "inmem"
    # `unsafe_allow_api_audit_creation`: Vault's default, sys/audit may enable devices.
    allow_api_audit_creation: bool = True
    # Entries in the physical read cache; 0 = none. In-memory storage never needs one.
    cache_size: int = DEFAULT_CACHE_SIZE


@dataclass
class Route:
    entry: MountEntry
    backend: Backend
    storage: StorageView


class Core:
    def __init__(
        self,
        physical: Storage,
        config: CoreConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config or CoreConfig()
        # Only the active node's own writes change the storage, so reads can be
        # cached while it is active (on from _post_unseal to _pre_seal).
        self.cache: CachedStorage | None = None
        if self.config.cache_size > 0 and self.config.storage_type != "inmem":
            self.cache = CachedStorage(physical, self.config.cache_size)
            physical = self.cache
        self.physical = physical
        self.barrier = Barrier(physical)
        self.shamir = ShamirSeal(physical)
        self.system = SystemView(
            default_lease_ttl=self.config.default_lease_ttl or SYSTEM_DEFAULT_TTL,
            max_lease_ttl=self.config.max_lease_ttl or SYSTEM_DEFAULT_TTL,
            clock=clock,
        )
        self.version = __version__
        self.routes: dict[str, Route] = {}  # api mount path ("secret/", "auth/token/") -> route
        self.tokens: TokenStore | None = None
        self.policies: PolicyStore | None = None
        self._leases: ExpirationManager | None = None
        # Tests drive expiry by hand (`leases.process_due()`) with a fake clock.
        self.run_scheduler = True
        self._background: set[asyncio.Task[Any]] = set()
        self.cluster_name = ""
        self.cluster_id = ""
        self._unseal_shares: list[bytes] = []
        self._unseal_nonce = ""
        self._lock = asyncio.Lock()
        self._factories: dict[str, BackendFactory] = {}
        self.migrations: dict[str, dict[str, str]] = {}
        # Set by the server with an HA storage: then only the lock holder is active.
        self.ha: HAManager | None = None
        self.audit = AuditBroker(self)  # audit devices (core/audit); loaded at unseal
        from strongroom.core.system import system_backend

        # Built once: it also answers sys/init, sys/unseal, … while sealed.
        self.sys_backend = system_backend(self)

    # ------------------------------------------------------------------ seal
    @property
    def sealed(self) -> bool:
        return self.barrier.sealed

    async def initialized(self) -> bool:
        return await self.barrier.initialized()

    async def seal_config(self) -> SealConfig | None:
        return await self.shamir.config()

    @property
    def unseal_progress(self) -> tuple[int, str]:
        return len(self._unseal_shares), self._unseal_nonce

    async def initialize(self, shares: int, threshold: int) -> tuple[list[bytes], str]:
        """Create keys and the root token; the server stays sealed (as Vault's does)."""
        async with self._lock:
            if await self.barrier.initialized():
                raise BadRequest("Vault is already initialized")
            try:
                key_shares, root_key = await self.shamir.initialize(shares, threshold)
            except SealConfigError as err:
                raise BadRequest(str(err)) from None
            await self.barrier.initialize(root_key)
            await self.barrier.unseal(root_key)
            try:
                await self._write_initial_state()
                await self._post_unseal()
                assert self.tokens is not None
                root_token = await self.tokens.create_root_token()
            finally:
                await self._pre_seal()
                self.barrier.seal()
            log.info(
                "core: security barrier initialized: shares=%d threshold=%d", shares, threshold
            )
            return key_shares, root_token

    async def _write_initial_state(self) -> None:
        cluster = {
            "name": self.config.cluster_name or f"vault-cluster-{uuid.uuid4().hex[:8]}",
            "id": str(uuid.uuid4()),
        }
        await self.barrier.put(CLUSTER_KEY, jsonutil.dumps_compact(cluster))

    async def submit_unseal_key(self, key: bytes) -> None:
        """Add one key share; unseal once the threshold is reached."""
        async with self._lock:
            if not self.barrier.sealed:
                return
            config = await self.shamir.config()
            if config is None:
                raise BadRequest("Vault is not initialized")
            if key in self._unseal_shares:
                return
            if not self._unseal_shares:
                self._unseal_nonce = str(uuid.uuid4())
            self._unseal_shares.append(key)
            if len(self._unseal_shares) < config.secret_threshold:
                return
            shares, self._unseal_shares, self._unseal_nonce = self._unseal_shares, [], ""
            try:
                root_key = await self.shamir.recover_root_key(shares)
                await self.barrier.unseal(root_key)
            except (InvalidKeyError, ValueError) as err:
                msg = str(err)
                raise BadRequest(
                    msg if msg.startswith("invalid key") else f"invalid key: {msg}"
                ) from None
            if self.ha is not None:
                await self.ha.start()  # standby until it holds the lock; then _post_unseal
            else:
                await self._post_unseal()
            log.info("core: vault is unsealed")

    def reset_unseal(self) -> None:
        self._unseal_shares, self._unseal_nonce = [], ""

    async def unseal_with_shares(self, shares: list[bytes]) -> None:
        for share in shares:
            await self.submit_unseal_key(share)

    async def seal(self) -> None:
        async with self._lock:
            if self.barrier.sealed:
                return
            if self.ha is not None:
                await self.ha.stop()  # tears down while still allowed to write, then releases
            await self._pre_seal()
            self.barrier.seal()
            log.info("core: vault is sealed")

    async def _post_unseal(self) -> None:
        if self.cache is not None:
            self.cache.activate()
        cluster_raw = await self.barrier.get(CLUSTER_KEY)
        if cluster_raw:
            cluster = jsonutil.loads(cluster_raw)
            self.cluster_name, self.cluster_id = cluster["name"], cluster["id"]
        # All policies live in memory; `load` also writes the built-in
        # `default` policy the first time (at initialization).
        policies = PolicyStore(StorageView(self.barrier, "sys/policy/"), self.system.clock)
        await policies.load()
        self.policies = policies
        self.tokens = TokenStore(StorageView(self.barrier, "sys/token/"), self.system)
        await self.tokens.setup()
        self.tokens.policy_exists = policies.exists

        def sudo_check(req: Request) -> bool:
            # Vault's SudoPrivilege: the rule matching the request path grants sudo.
            token = req.token
            return token is not None and policies.acl(token.policies).has_sudo(req.path)

        self.tokens.sudo_check = sudo_check
        self.tokens.mount_ttls = self._path_ttls
        self.tokens.on_revoke.append(self._destroy_cubbyhole)
        self._leases = ExpirationManager(
            StorageView(self.barrier, "sys/expire/"),
            clock=lambda: self.system.clock().timestamp(),
            revoke_secret=self._revoke_secret_lease,
            revoke_token=self._revoke_token_lease,
        )
        self.tokens.on_create.append(self._leases.register_token)
        self.tokens.on_renew.append(self._leases.token_renewed)
        self.tokens.on_revoke.append(self._leases.revoke_token_leases)
        await self._load_mounts()
        await self.audit.load()
        if self.run_scheduler:
            self._leases.start()

    async def _pre_seal(self) -> None:
        if self.cache is not None:
            self.cache.deactivate()  # another node may write before we are active again
        await self.audit.unload()
        self.policies = None
        if self._leases is not None:
            await self._leases.stop()
            self._leases = None
        for route in list(self.routes.values()):
            await route.backend.cleanup()
        self.routes.clear()
        self.tokens = None

    # ---------------------------------------------------------------- mounts
    def register_backend(self, type_: str, factory: BackendFactory) -> None:
        self._factories[type_] = factory

    def backend_types(self) -> set[str]:
        return set(self._factories)

    async def _load_mounts(self) -> None:
        secret_raw = await self.barrier.get(MOUNTS_KEY)
        auth_raw = await self.barrier.get(AUTH_KEY)
        if secret_raw is None:
            secret_entries = self._default_secret_mounts()
            auth_entries = [
                MountEntry.new(
                    "token/",
                    "token",
                    is_auth=True,
                    builtin=True,
                    description="token based credentials",
                )
            ]
            await self._persist(secret_entries, auth_entries)
        else:
            secret_entries = [MountEntry.from_record(r) for r in jsonutil.loads(secret_raw)]
            auth_entries = [MountEntry.from_record(r) for r in jsonutil.loads(auth_raw or b"[]")]
        for entry in [*secret_entries, *auth_entries]:
            await self._activate(entry)

    @staticmethod
    def _default_secret_mounts() -> list[MountEntry]:
        return [
            MountEntry.new(
                "cubbyhole/",
                "cubbyhole",
                builtin=True,
                local=True,
                description="per-token private secret storage",
            ),
            MountEntry.new(
                "identity/",
                "identity",
                builtin=True,
                config=MountConfig(extra={"passthrough_request_headers": ["Authorization"]}),
                description="identity store",
            ),
            MountEntry.new(
                "sys/",
                "system",
                builtin=True,
                seal_wrap=True,
                config=MountConfig(extra={"passthrough_request_headers": ["Accept"]}),
                description="system endpoints used for control, policy and debugging",
            ),
        ]

    async def _persist(self, secret: list[MountEntry], auth: list[MountEntry]) -> None:
        from strongroom.storage import Op

        await self.barrier.batch(
            [
                Op(MOUNTS_KEY, jsonutil.dumps_compact([e.to_record() for e in secret])),
                Op(AUTH_KEY, jsonutil.dumps_compact([e.to_record() for e in auth])),
            ]
        )

    async def _persist_tables(self) -> None:
        entries = [r.entry for r in self.routes.values()]
        await self._persist(
            [e for e in entries if not e.is_auth], [e for e in entries if e.is_auth]
        )

    def _build(self, entry: MountEntry, storage: StorageView) -> Backend:
        if entry.type == "system":
            return self.sys_backend
        if entry.type == "token":
            assert self.tokens is not None
            return self.tokens.backend()
        if entry.type == "identity":
            return Backend([], help="The identity store is not available in strongroom yet.")
        factory = self._factories.get(entry.type)
        if factory is None:
            raise BadRequest(f"plugin not found in the catalog: {entry.type}")
        return factory(BackendContext(storage=storage, mount=entry, system=self.system))

    async def _activate(self, entry: MountEntry) -> Route:
        storage = StorageView(self.barrier, entry.storage_prefix)
        backend = self._build(entry, storage)
        await backend.initialize()
        route = Route(entry, backend, storage)
        self.routes[entry.api_path] = route
        return route

    def mounts(self, *, auth: bool) -> list[MountEntry]:
        return sorted(
            (r.entry for r in self.routes.values() if r.entry.is_auth == auth), key=lambda e: e.path
        )

    def find_mount(self, path: str, *, auth: bool) -> MountEntry | None:
        route = self.routes.get(("auth/" if auth else "") + path)
        return route.entry if route else None

    def _conflict(self, api_path: str) -> str | None:
        for existing in self.routes:
            if existing.startswith(api_path) or api_path.startswith(existing):
                return existing
        return None

    async def enable_mount(self, entry: MountEntry) -> None:
        async with self._lock:
            conflict = self._conflict(entry.api_path)
            if conflict is not None:
                shown = conflict.removeprefix("auth/") if entry.is_auth else conflict
                raise BadRequest(f"path is already in use at {shown}")
            await self._activate(entry)
            try:
                await self._persist_tables()
            except Exception:
                self.routes.pop(entry.api_path, None)
                raise
            log.info("core: mounted %s engine at %s", entry.type, entry.api_path)

    async def disable_mount(self, api_path: str) -> bool:
        async with self._lock:
            route = self.routes.get(api_path)
            if route is None:
                return False
            # Credentials issued by the mount go with it; a failure keeps the mount.
            await self.leases.revoke_prefix(api_path)
            del self.routes[api_path]
            await self._persist_tables()
            await route.backend.cleanup()
            await clear_prefix(route.storage)
            log.info("core: unmounted %s", api_path)
            return True

    async def save_mount(self, entry: MountEntry) -> None:
        """Persist a changed entry (tune)."""
        async with self._lock:
            await self._persist_tables()

    async def remount(self, src: str, dst: str) -> None:
        async with self._lock:
            route = self.routes.get(src)
            if route is None:
                raise BadRequest(f'no matching mount at "{src}"')
            if route.entry.builtin:
                raise BadRequest(f'cannot remount "{src}"')
            if route.entry.is_auth and not dst.startswith("auth/"):
                raise BadRequest(f'cannot remount auth mount to non-auth mount "{dst}"')
            if not route.entry.is_auth and dst.startswith(
                ("auth/", "sys/", "cubbyhole/", "identity/", "audit/")
            ):
                raise BadRequest(f'cannot remount to destination "{dst}"')
            del self.routes[src]
            conflict = self._conflict(dst)
            if conflict is not None:
                self.routes[src] = route
                raise BadRequest(f'path already in use at "{conflict}"')
            route.entry.path = dst.removeprefix("auth/") if route.entry.is_auth else dst
            self.routes[dst] = route
            await self._persist_tables()
            # The data stays where it is (storage is keyed by the mount's uuid); the
            # leases move with the mount, so they can still be renewed and revoked.
            assert self.tokens is not None
            for lease in await self.leases.rename_prefix(src, dst):
                if lease.is_token:
                    await self.tokens.move_path(lease.token_hash, lease.path)

    async def reload_mount(self, entry: MountEntry) -> None:
        """Rebuild a mount's backend after its options changed (e.g. KV version)."""
        async with self._lock:
            route = self.routes.get(entry.api_path)
            if route is None or route.entry.builtin:
                return
            await route.backend.cleanup()
            route.backend = self._build(entry, route.storage)
            await route.backend.initialize()

    def route_for(self, path: str) -> tuple[Route, str] | None:
        """Longest mount prefix of `path`; "secret" also reaches the mount "secret/"."""
        candidate = path if path.endswith("/") else path + "/"
        while True:
            route = self.routes.get(candidate)
            if route is not None:
                return route, path[len(candidate) :] if len(path) >= len(candidate) else ""
            cut = candidate.rstrip("/").rfind("/")
            if cut < 0:
                return None
            candidate = candidate[: cut + 1]

    async def _destroy_cubbyhole(self, token: TokenEntry) -> None:
        route = self.routes.get("cubbyhole/")
        destroy = getattr(route.backend, "destroy", None) if route else None
        if destroy is not None:
            await destroy(token.cubbyhole_id)

    # --------------------------------------------------------------- requests
    async def handle(self, req: Request) -> Response:
        if not self.audit.enabled:
            return await self._handle(req)
        # Audit entries around the pipeline; fail-closed (core/audit/broker.py).
        return await self.audit.around(req, self._handle)

    def sighup(self) -> None:
        """SIGHUP: audit devices reopen their files (after a log rotation)."""
        self.audit.reopen()

    async def _handle(self, req: Request) -> Response:
        special = SPECIAL_OPS.get(req.path)
        if special is not None and req.operation not in special:
            raise MethodNotAllowed()
        if req.path in SEALED_OK:
            req.rel_path = req.path[len("sys/") :]
            return await self.sys_backend.handle(req) or Response()
        if self.barrier.sealed:
            if req.path == "sys/seal":
                return Response()  # sealing a sealed server is a no-op, as in Vault
            raise Sealed()
        if self.ha is not None and not self.ha.is_active:
            await self.ha.settle()  # mid-handover: wait for the outcome
            if not self.ha.is_active:
                raise self.ha.standby_error(req)  # the HTTP layer forwards it to the active
        routed = self.route_for(req.path)
        if routed is None:
            await self._authenticate(req)
            self._authorize(req, None)
            raise VaultError(
                f'no handler for route "{req.path}". route entry not found.', status=404
            )
        route, rel = routed
        req.rel_path, req.mount, req.storage = rel, route.entry, route.storage
        if not route.backend.is_unauthenticated(rel):
            await self._authenticate(req)
            if req.operation in WRITE_OPS:
                await self._decide_create(req, route.backend)
            # As in OpenBao, a denied request still spends one of a token's uses.
            await self._count_use(req)
            self._authorize(req, route.backend)
        if req.audit is not None:
            await self.audit.log_request(req)  # the request entry, before the backend runs
        try:
            resp = await route.backend.handle(req) or Response()
        finally:
            await self._revoke_if_used_up(req)
        if resp.login is not None:
            await self._issue_login_token(req, route, resp)
        if resp.secret is not None and not resp.secret.lease_id:
            await self._register_lease(req, route, resp.secret, resp.warnings)
        # X-Vault-Wrap-TTL: the response goes into a wrapping token's cubbyhole.
        return await wrap_response(self, req, resp) if req.wrap_ttl else resp

    async def _authenticate(self, req: Request) -> TokenEntry:
        assert self.tokens is not None
        entry = await self.tokens.lookup(req.client_token) if req.client_token else None
        if entry is None:
            raise PermissionDenied()
        req.token = entry
        return entry

    async def optional_token(self, req: Request) -> TokenEntry | None:
        """For unauthenticated paths that still look at a token when one is sent."""
        if not req.client_token or self.tokens is None:
            return None
        req.token = await self.tokens.lookup(req.client_token)
        return req.token

    async def _decide_create(self, req: Request, backend: Backend) -> None:
        # Only a token limited by policies needs to know create vs update.
        if req.token is not None and req.token.is_root():
            return
        exists = await backend.exists(req)
        req.exists = exists
        if exists is False:
            req.operation = Operation.CREATE
        elif req.operation is Operation.CREATE:
            req.operation = Operation.UPDATE

    def _authorize(self, req: Request, backend: Backend | None) -> None:
        token = req.token
        if token is None or token.is_root() or req.operation is Operation.HELP:
            return
        # Paths a backend marks as sudo-protected also need the `sudo` capability.
        sudo = backend is not None and backend.is_sudo(req.rel_path)
        acl = self.policies.acl(token.policies)
        if not acl.allows(req.operation, req.path, req.data, req.wrap_ttl, sudo=sudo):
            raise AclDenied()

    async def _count_use(self, req: Request) -> None:
        token = req.token
        if token is not None and token.num_uses > 0:
            assert self.tokens is not None
            if not await self.tokens.use(token):
                raise PermissionDenied()

    # ---------------------------------------------------------------- leases
    @property
    def leases(self) -> ExpirationManager:
        if self._leases is None:
            raise Sealed()
        return self._leases

    async def _register_lease(
        self, req: Request, route: Route, secret: Secret, warnings: list[str]
    ) -> None:
        """Store the lease before the credential is returned; if that fails, destroy it."""
        default, maximum = self.mount_ttls(route.entry)
        try:
            lease, ttl_warnings = await self.leases.register(req, secret, default, maximum)
        except Exception:
            log.exception("expiration: could not store a lease for %s; revoking", req.path)
            orphan = Lease(
                lease_id=f"{req.path}/unregistered",
                path=req.path,
                issue_time=0,
                expire_time=0,
                ttl=0,
                renewable=False,
                secret_type=str(secret.internal.get("secret_type", "")),
                internal=secret.internal,
            )
            await self._revoke_secret_lease(orphan)
            await self._settle(secret, stored=False)
            raise
        secret.lease_id, secret.ttl = lease.lease_id, lease.ttl
        warnings.extend(ttl_warnings)
        await self._settle(secret, stored=True)

    @staticmethod
    async def _settle(secret: Secret, *, stored: bool) -> None:
        if secret.on_lease_stored is None:
            return
        try:
            await secret.on_lease_stored(stored)
        except Exception:
            # The engine's own recovery (e.g. the AWS write-ahead log) takes over.
            log.exception("expiration: engine hook after lease storage failed")

    def _secret_type(self, route: Route, name: str) -> SecretType:
        types = route.backend.secret_types
        found = types.get(name) or (next(iter(types.values())) if len(types) == 1 else None)
        if found is None:
            raise RuntimeError(f"mount {route.entry.api_path} has no secret type {name!r}")
        return found

    def _lease_request(self, route: Route, lease: Lease, increment: int = 0) -> LeaseRequest:
        return LeaseRequest(
            lease.lease_id, lease.internal, route.storage, route.entry, lease.issue_time, increment
        )

    async def _revoke_secret_lease(self, lease: Lease) -> None:
        routed = self.route_for(lease.path)
        if routed is None:
            log.warning("expiration: no mount serves %s any more; nothing to revoke", lease.path)
            return
        route = routed[0]
        await self._secret_type(route, lease.secret_type).revoke(self._lease_request(route, lease))

    async def _revoke_token_lease(self, lease: Lease) -> None:
        assert self.tokens is not None
        entry = await self.tokens.entry_by_hash(lease.token_hash)
        if entry is not None:
            await self.tokens.revoke_tree(entry)

    async def renew_lease(self, lease_id: str, increment: int) -> tuple[Lease, list[str]]:
        lease = await self.leases.get(lease_id)
        if lease is None:
            raise BadRequest("lease not found")
        self.leases.check_renewable(lease)
        routed = self.route_for(lease.path)
        if routed is None:
            raise BadRequest("lease not found")
        route = routed[0]
        secret_type = self._secret_type(route, lease.secret_type)
        granted = 0
        if secret_type.renew is not None:
            granted = await secret_type.renew(self._lease_request(route, lease, increment))
        default, maximum = self.mount_ttls(route.entry)
        return await self.leases.renew(lease, granted, increment, default, maximum)

    async def _issue_login_token(self, req: Request, route: Route, resp: Response) -> None:
        """Turn an auth method's Login into an orphan token (and its lease)."""
        from strongroom.core.token_paths import auth_block
        from strongroom.core.tokens import TokenParams

        assert self.tokens is not None and resp.login is not None
        login, resp.login = resp.login, None
        default, maximum = self.mount_ttls(route.entry)
        params = TokenParams(
            login.policies,
            path=req.path,
            display_name=login.display_name,
            meta=login.metadata,
            add_default_policy=not login.no_default_policy,
            ttl=login.ttl or default,
            max_ttl=login.max_ttl or maximum,
            explicit_max_ttl=login.explicit_max_ttl,
            period=login.period,
            num_uses=login.num_uses,
            renewable=login.renewable,
        )
        token, entry = await self.tokens.create(params, warnings=resp.warnings)
        resp.auth = auth_block(
            token, entry, lease_duration=entry.ttl, renewable=entry.renewable and entry.ttl > 0
        )

    def start_lease_tidy(self) -> None:
        task = asyncio.create_task(self.leases.tidy())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _revoke_if_used_up(self, req: Request) -> None:
        # The request that spends a token's last use still runs; then the token goes.
        token = req.token
        if token is not None and token.num_uses == -1 and self.tokens is not None:
            await self.tokens.revoke_tree(token)

    # --------------------------------------------------------------- helpers
    def mount_ttls(self, entry: MountEntry) -> tuple[int, int]:
        """Effective (default, max) TTLs of a mount."""
        return (
            entry.config.default_lease_ttl or self.system.default_lease_ttl,
            entry.config.max_lease_ttl or self.system.max_lease_ttl,
        )

    def _path_ttls(self, path: str) -> tuple[int, int]:
        """(default, max) TTL of the mount serving `path` (a token's creation path)."""
        routed = self.route_for(path)
        if routed is None:
            return self.system.default_lease_ttl, self.system.max_lease_ttl
        return self.mount_ttls(routed[0].entry)

    def status_fields(self) -> dict[str, Any]:
        return {"cluster_name": self.cluster_name, "cluster_id": self.cluster_id}
