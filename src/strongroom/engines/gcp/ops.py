"""What the engine does on Google Cloud, shared by every path: accounts, keys, undo.

`Ops` bundles the mount's store, clients, journal and settings. Its methods are
the cloud procedures of §7 (service accounts, keys, retries around IAM's
eventual consistency) and the undo rules of the cleanup journal (wal.py),
used both right away when a change fails half-way and later by the rollback.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from strongroom.core.errors import BadRequest

from . import iam
from .client import GcpClients, RootApi, parse_key_file
from .errors import GcpError
from .settings import Settings
from .store import Store
from .wal import ACCOUNT, BINDINGS, KEY, Wal, WalEntry

log = logging.getLogger("strongroom.gcp")

T = TypeVar("T")
KEY_CREATE_WINDOW = 65.0  # a keys.create whose answer was lost made its key within this
MAX_KEYS = 10


def sa_url(api: RootApi, ref: str, project: str = "-") -> str:
    return api.url("iam", f"v1/projects/{project}/serviceAccounts/{quote(ref, safe='@')}")


def key_url(api: RootApi, key_name: str) -> str:
    return api.url("iam", "v1/" + quote(key_name, safe="/@"))


def _rfc3339(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class NotReady(Exception):
    """The account Google just created is not visible yet."""


_background: set[asyncio.Task[Any]] = set()


async def shielded(coro: Coroutine[Any, Any, T]) -> T:
    """Run clean-up to its end even if the request that started it is cancelled."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return await asyncio.shield(task)


class Ops:
    def __init__(
        self,
        store: Store,
        clients: GcpClients,
        wal: Wal,
        settings: Settings,
        now: Callable[[], float],
    ) -> None:
        self.store = store
        self.clients = clients
        self.wal = wal
        self.settings = settings
        self.now = now

    async def root(self, prefix: str = "") -> RootApi:
        """The root identity, or a 400 saying why there is none."""
        try:
            return await self.clients.root()
        except GcpError as err:
            raise BadRequest(f"{prefix}: {err}" if prefix else str(err)) from None

    # ------------------------------------------------------------------ retries
    async def retry(
        self,
        fn: Callable[[], Awaitable[T]],
        retry_if: Callable[[Exception], bool],
        budget: float | None = None,
    ) -> T:
        """Exponential back-off (1, 2, 4 ... 32 s, with jitter) within the retry budget."""
        deadline = time.monotonic() + (self.settings.retry_timeout if budget is None else budget)
        delay = self.settings.retry_base
        while True:
            try:
                return await fn()
            except Exception as err:
                wait = delay * random.uniform(1.0, 1.25)
                if not retry_if(err) or time.monotonic() + wait > deadline:
                    raise
                log.debug("gcp: retrying in %.1fs after: %s", wait, err)
                await asyncio.sleep(wait)
                delay = min(delay * 2, 32 * self.settings.retry_base)

    # ------------------------------------------------------------------ service accounts
    async def get_account(
        self, api: RootApi, ref: str, project: str = "-"
    ) -> dict[str, Any] | None:
        try:
            return await api.call(
                "iam.projects.serviceAccounts.get", "GET", sa_url(api, ref, project)
            )
        except GcpError as err:
            if err.not_found:
                return None
            raise

    async def find_account(self, api: RootApi, email: str) -> dict[str, Any] | None:
        """An existing account (static/impersonated): transient errors retried, 404 at once."""
        return await self.retry(
            lambda: self.get_account(api, email),
            lambda err: isinstance(err, GcpError) and err.transient,
        )

    async def create_account(
        self, api: RootApi, project: str, account_id: str, display: str
    ) -> dict[str, Any]:
        return await api.call(
            "iam.projects.serviceAccounts.create",
            "POST",
            api.url("iam", f"v1/projects/{quote(project)}/serviceAccounts"),
            body={"accountId": account_id, "serviceAccount": {"displayName": display}},
        )

    async def delete_account(self, api: RootApi, project: str, email: str) -> None:
        try:
            await api.call(
                "iam.projects.serviceAccounts.delete", "DELETE", sa_url(api, email, project)
            )
        except GcpError as err:
            if not err.not_found:
                raise

    # ------------------------------------------------------------------ keys
    async def create_key(
        self, api: RootApi, sa_name: str, algorithm: str = "", key_type: str = ""
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"privateKeyType": key_type or "TYPE_GOOGLE_CREDENTIALS_FILE"}
        if algorithm:
            body["keyAlgorithm"] = algorithm
        return await api.call(
            "iam.projects.serviceAccounts.keys.create",
            "POST",
            api.url("iam", "v1/" + quote(sa_name, safe="/@-") + "/keys"),
            body=body,
        )

    async def get_key(self, api: RootApi, key_name: str) -> dict[str, Any] | None:
        try:
            return await api.call(
                "iam.projects.serviceAccounts.keys.get", "GET", key_url(api, key_name)
            )
        except GcpError as err:
            if err.not_found:
                return None
            raise

    async def delete_key(self, api: RootApi, key_name: str) -> None:
        """Delete a key; 403/404 mean it (or its account) is already gone."""
        try:
            await api.call(
                "iam.projects.serviceAccounts.keys.delete", "DELETE", key_url(api, key_name)
            )
        except GcpError as err:
            if err.status not in (403, 404):
                raise

    async def user_keys(self, api: RootApi, sa_name: str) -> list[dict[str, Any]] | None:
        """The account's user-managed keys; None when the account is gone."""
        try:
            found = await api.call(
                "iam.projects.serviceAccounts.keys.list",
                "GET",
                api.url("iam", "v1/" + quote(sa_name, safe="/@-") + "/keys"),
                params={"keyTypes": "USER_MANAGED"},
            )
        except GcpError as err:
            if err.not_found:
                return None
            raise
        return [
            k for k in found.get("keys", []) if k.get("keyType", "USER_MANAGED") == "USER_MANAGED"
        ]

    async def journaled_key(
        self,
        api: RootApi,
        owner_kind: str,
        owner: str,
        sa_name: str,
        *,
        algorithm: str = "",
        key_type: str = "",
        email: str = "",
    ) -> tuple[dict[str, Any], WalEntry]:
        """keys.create behind a journal entry; the caller commits or releases the entry.

        If Google refuses, nothing was made and the entry is dropped. If the answer
        is lost (no answer, 5xx), the key may exist: it is looked for now, and the
        entry stays for the rollback in case it shows up later.
        """
        listed = await self.user_keys(api, sa_name)
        known = [k["name"] for k in listed or []]
        entry = await self.wal.begin(
            KEY,
            owner_kind=owner_kind,
            owner=owner,
            sa=sa_name,
            key_name="",
            known=known,
            started=self.now(),
        )
        try:
            key = await self.create_key(api, sa_name, algorithm, key_type)
        except GcpError as err:
            if 400 <= err.status < 500:
                await self.wal.commit(entry)
            else:
                await shielded(self._settle_lost_key(entry))
            raise _key_error(err, email or sa_name.rsplit("/", 1)[-1]) from None
        except BaseException:
            self.wal.release(entry)
            raise
        try:
            await self.wal.update(entry, key_name=key["name"])
        except BaseException:
            await shielded(self._forget_key(api, entry, key["name"]))
            raise
        return key, entry

    async def _settle_lost_key(self, entry: WalEntry) -> None:
        try:
            await self.undo(entry)
        except Exception as err:
            log.warning("gcp: could not look for a key whose creation was cut short: %s", err)
        self.wal.release(entry)  # checked again by the rollback: the key may appear later

    async def _forget_key(self, api: RootApi, entry: WalEntry, key_name: str) -> None:
        try:
            await self.delete_key(api, key_name)
            await self.wal.commit(entry)
        except Exception:
            self.wal.release(entry)

    # ------------------------------------------------------------------ bindings
    async def bind_new_account(
        self, api: RootApi, project: str, email: str, bindings: dict[str, list[str]]
    ) -> None:
        """Wait until Google shows the new account, then grant its bindings (§7.1 step 4)."""

        async def attempt() -> None:
            if await self.get_account(api, email, project) is None:
                raise NotReady(f"service account {email} does not exist yet")
            await iam.add_all(api, email, bindings)

        await self.retry(attempt, _eventually)

    async def add_bindings(self, api: RootApi, email: str, bindings: dict[str, list[str]]) -> None:
        await self.retry(lambda: iam.add_all(api, email, bindings), _eventually)

    # ------------------------------------------------------------------ undo (journal)
    async def undo(self, entry: WalEntry) -> None:
        """Put the cloud back as the journal entry asks (idempotent; raises to retry)."""
        api = await self.clients.root()
        data = entry.data
        if entry.kind == ACCOUNT:
            await self._undo_account(api, data)
        elif entry.kind == BINDINGS:
            await self._undo_bindings(api, data)
        elif entry.kind == KEY:
            await self._undo_key(api, data)

    async def _undo_account(self, api: RootApi, data: dict[str, Any]) -> None:
        roleset = await self.store.roleset(str(data.get("owner", "")))
        email = str(data["email"])
        if roleset is not None and roleset.email == email:
            return  # still the roleset's account
        await iam.remove_all(api, email, data.get("bindings") or {})
        await self.delete_account(api, str(data.get("project") or "-"), email)

    async def _wanted(self, kind: str, owner: str, email: str) -> dict[str, set[str]]:
        if kind not in ("roleset", "static"):
            return {}
        account = await self.store.account(kind, owner)
        if account is None or account.email != email:
            return {}
        return {res: set(roles) for res, roles in account.bindings.items()}

    async def _undo_bindings(self, api: RootApi, data: dict[str, Any]) -> None:
        email = str(data["email"])
        wanted = await self._wanted(str(data.get("owner_kind")), str(data.get("owner")), email)
        for resource, roles in sorted((data.get("added") or {}).items()):
            drop = set(roles) - wanted.get(resource, set())
            if drop:
                await iam.change_bindings(api, resource, email, remove=drop, missing_ok=True)
        for resource, roles in sorted((data.get("removed") or {}).items()):
            back = set(roles) & wanted.get(resource, set())
            if back:
                await iam.change_bindings(api, resource, email, add=back)

    async def current_key(self, kind: str, owner: str) -> str:
        """The key the owner relies on now (never to be deleted by an undo)."""
        if kind in ("roleset", "static"):
            account = await self.store.account(kind, owner)
            return account.token_gen.key_name if account and account.token_gen else ""
        if kind == "root":
            config = await self.store.config()
            if config is None or not config.credentials:
                return ""
            try:
                info = parse_key_file(config.credentials)
            except ValueError:
                return ""
            return str(info.get("private_key_id", ""))
        return ""

    async def _undo_key(self, api: RootApi, data: dict[str, Any]) -> None:
        current = await self.current_key(str(data.get("owner_kind")), str(data.get("owner")))

        def is_current(name: str) -> bool:
            return bool(current) and (name == current or name.endswith("/keys/" + current))

        name = str(data.get("key_name") or "")
        if name:
            if not is_current(name):
                await self.delete_key(api, name)
            return
        keys = await self.user_keys(api, str(data["sa"]))
        if keys is None:
            return  # the account is gone, and its keys with it
        known = set(data.get("known") or [])
        started = float(data.get("started") or 0)
        for key in keys:
            made = _rfc3339(str(key.get("validAfterTime", "")))
            name = str(key.get("name", ""))
            if name in known or is_current(name):
                continue
            if started - 5 <= made <= started + KEY_CREATE_WINDOW:
                log.info("gcp: deleting key %s made by a keys.create whose answer was lost", name)
                await self.delete_key(api, name)


def _eventually(err: Exception) -> bool:
    """Errors IAM's eventual consistency explains (worth waiting for)."""
    if isinstance(err, NotReady):
        return True
    if not isinstance(err, GcpError):
        return False
    if err.transient:
        return True
    # A brand-new member Google does not know everywhere yet, or a policy race lost
    # more often than iam.change_bindings tries.
    return (err.status == 400 and "does not exist" in err.message) or err.status in (409, 412)


def _key_error(err: GcpError, email: str) -> GcpError:
    if err.status == 400 and err.code == "FAILED_PRECONDITION":
        return ExplainedError(
            f"service account {email} has reached Google's limit of {MAX_KEYS} user-managed "
            "keys: revoke leases of its keys (or rotate the role set) before asking for more "
            f"({err})",
            err,
        )
    return err


class ExplainedError(GcpError):
    """A Google error with a clearer explanation in front (still a GcpError)."""

    def __init__(self, text: str, cause: GcpError) -> None:
        super().__init__(cause.operation, cause.status, cause.code, cause.message)
        self.text = text

    def __str__(self) -> str:
        return self.text
