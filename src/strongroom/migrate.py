"""Copying every key from one storage backend to another (`operator migrate`).

The copy works on physical storage: values are copied as stored, still
encrypted under the same keyring, so a server on the destination unseals with
the same unseal keys. Keys are copied in sorted order, in batches, and a copy
interrupted half-way resumes with `-start <key>`.

Safety, as in Vault plus a check Vault does not make:

* a migration marks the source with `core/migration` (removed when it ends);
  a server refuses to start on storage carrying that mark, and a second
  migration refuses to run (`-reset` clears a mark left by a crash);
* a migration refuses storage a running server holds: file storage through
  the lock file every server takes on its directory (`strongroom.lock`,
  released by the kernel if the server dies), PostgreSQL with HA through the
  HA lock row, which the migration then holds itself so no server becomes
  active on it until the copy is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from strongroom.config import StorageConfig
from strongroom.storage import Op, Storage, make_storage

MIGRATION_KEY = "core/migration"
# Never copied: the migration mark itself, and Vault's own HA lock key.
SKIP_KEYS = frozenset({MIGRATION_KEY, "core/lock"})
LOCK_FILE = "strongroom.lock"
PAGE = 1000
BATCH = 256
HOLD_TTL = 8.0  # the HA lock row the migration holds, renewed every HOLD_RENEW
HOLD_RENEW = 2.0


class MigrationError(Exception):
    """A migration that must not (or cannot) run; the message says why."""


class StorageInUse(MigrationError):
    pass


# ---------------------------------------------------------------------- file lock
class DirectoryLock:
    """An exclusive `flock` on `<path>/strongroom.lock`, held by servers and migrations."""

    def __init__(self, path: str) -> None:
        self.path = os.path.join(path, LOCK_FILE)
        self._fd: int | None = None

    def acquire(self, what: str = "the storage") -> DirectoryLock:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StorageInUse(
                f"{what} at {os.path.dirname(self.path)} is in use by another process "
                f"(a running server or migration holds {self.path})"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def lock_storage_directory(kind: str, options: dict[str, str]) -> DirectoryLock | None:
    """For a server: take file storage's directory lock (None for other kinds)."""
    if kind != "file" or not options.get("path"):
        return None
    return DirectoryLock(options["path"]).acquire()


# ---------------------------------------------------------------------- config
@dataclass
class MigrationConfig:
    source: StorageConfig
    destination: StorageConfig
    cluster_addr: str = ""


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _stanza(tree: dict[str, Any], name: str) -> StorageConfig:
    value = tree.get(name)
    blocks: list[tuple[str, Any]] = []
    for item in value if isinstance(value, list) else [value] if value is not None else []:
        if not isinstance(item, dict):
            raise MigrationError(f'exactly one "{name}" block is required')
        for kind, body in item.items():
            for one in body if isinstance(body, list) else [body]:
                blocks.append((kind, one))
    if len(blocks) != 1 or not isinstance(blocks[0][1], dict):
        raise MigrationError(f'exactly one "{name}" block is required')
    kind, body = blocks[0]
    return StorageConfig(kind, {k: _stringify(v) for k, v in body.items()})


def load_migration_config(path: str) -> MigrationConfig:
    """Vault's migrator file: `storage_source`, `storage_destination`, optional `cluster_addr`."""
    import hcl

    if os.path.isdir(path):
        raise MigrationError("location is a directory, not a file")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise MigrationError(err.strerror or str(err)) from None
    try:
        tree = json.loads(text) if text.lstrip().startswith("{") else hcl.loads(text)
    except ValueError as err:
        raise MigrationError(str(err)) from None
    if not isinstance(tree, dict):
        raise MigrationError("error parsing: file doesn't contain a root object")
    unknown = sorted(set(tree) - {"storage_source", "storage_destination", "cluster_addr"})
    if unknown:
        raise MigrationError(f'unknown configuration key "{unknown[0]}"')
    return MigrationConfig(
        _stanza(tree, "storage_source"),
        _stanza(tree, "storage_destination"),
        _stringify(tree.get("cluster_addr", "")),
    )


# ---------------------------------------------------------------------- claims
@contextlib.asynccontextmanager
async def claim(config: StorageConfig, storage: Storage, role: str) -> AsyncIterator[None]:
    """Refuse storage a server is using, and keep servers off it while we copy."""
    what = f"the {role} storage"
    lock = None
    if config.kind == "file":
        lock = DirectoryLock(config.options.get("path", "")).acquire(what)
    holder_task: asyncio.Task[None] | None = None
    identity = ""
    try:
        if getattr(storage, "ha_enabled", False):
            identity = f"migrate:{uuid.uuid4()}"
            await _take_ha_lock(storage, identity, what)
            holder_task = asyncio.create_task(_hold_ha_lock(storage, identity))
        yield
    finally:
        if holder_task is not None:
            holder_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await holder_task
        if identity:
            with contextlib.suppress(Exception):
                await storage.lock_release(identity)  # type: ignore[attr-defined]
        if lock is not None:
            lock.release()


async def _take_ha_lock(storage: Any, identity: str, what: str) -> None:
    holder = await storage.lock_holder()
    if holder is not None and holder.live:
        owner = ""
        with contextlib.suppress(ValueError, AttributeError):
            owner = json.loads(holder.value).get("api_addr", "")
        raise StorageInUse(
            f"{what} is in use: a server is active on it" + (f" ({owner})" if owner else "")
        )
    if not await storage.lock_acquire(identity, json.dumps({"migration": True}), HOLD_TTL):
        raise StorageInUse(f"{what} is in use: a server took the HA lock")


async def _hold_ha_lock(storage: Any, identity: str) -> None:
    while True:
        await asyncio.sleep(HOLD_RENEW)
        with contextlib.suppress(Exception):
            await storage.lock_renew(identity, HOLD_TTL)


# ---------------------------------------------------------------------- copying
async def read_marker(storage: Storage) -> str | None:
    """When a migration started on this storage, or None when none is running."""
    raw = await storage.get(MIGRATION_KEY)
    if raw is None:
        return None
    try:
        return str(json.loads(raw).get("start", "unknown"))
    except (ValueError, AttributeError):
        return "unknown"


async def copy_all(
    source: Storage,
    destination: Storage,
    start: str = "",
    on_copied: Callable[[list[str]], None] | None = None,
) -> int:
    """Copy every key at or after `start`, in order; returns how many were copied."""
    copied = 0
    pending: list[str] = []

    async def flush() -> None:
        nonlocal copied
        if not pending:
            return
        values = await asyncio.gather(*(source.get(key) for key in pending))
        ops = [Op(k, v) for k, v in zip(pending, values, strict=True) if v is not None]
        if ops:
            await destination.batch(ops)
            copied += len(ops)
            if on_copied is not None:
                on_copied([op.key for op in ops])
        pending.clear()

    after = start
    if start and start not in SKIP_KEYS and await source.get(start) is not None:
        pending.append(start)
    first = not start
    while True:
        page = await source.scan("", "" if first else after, PAGE)
        first = False
        if not page:
            break
        for key in page:
            if key not in SKIP_KEYS:
                pending.append(key)
                if len(pending) >= BATCH:
                    await flush()
        after = page[-1]
        if len(page) < PAGE:
            break
    await flush()
    return copied


async def run_migration(
    config: MigrationConfig,
    *,
    start: str = "",
    reset: bool = False,
    on_copied: Callable[[list[str]], None] | None = None,
) -> int:
    """The whole `operator migrate`: claims, the mark, the copy. Returns keys copied."""
    source = _open(config.source, "storage_source")
    try:
        await _setup(source, "storage_source")
        if reset:
            await source.delete(MIGRATION_KEY)
            return 0
        destination = _open(config.destination, "storage_destination")
        try:
            await _setup(destination, "storage_destination")
            started = await read_marker(source)
            if started is not None:
                raise MigrationError(f"storage migration in progress (started: {started})")
            async with (
                claim(config.source, source, "source"),
                claim(config.destination, destination, "destination"),
            ):
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                await source.put(MIGRATION_KEY, json.dumps({"start": stamp}).encode())
                try:
                    return await copy_all(source, destination, start, on_copied)
                finally:
                    await source.delete(MIGRATION_KEY)
        finally:
            await destination.close()
    finally:
        await source.close()


def _open(config: StorageConfig, name: str) -> Storage:
    try:
        return make_storage(config.kind, config.options)
    except ValueError as err:
        raise MigrationError(f"error mounting '{name}': {err}") from None


async def _setup(storage: Storage, name: str) -> None:
    setup = getattr(storage, "setup", None)
    if setup is None:
        return
    try:
        await setup()
    except Exception as err:
        raise MigrationError(f"error mounting '{name}': {err}") from None


# ---------------------------------------------------------------------- servers
class StorageOpenError(Exception):
    """The server cannot use its storage; the message is for the operator."""


async def open_server_storage(
    kind: str, options: dict[str, str]
) -> tuple[Storage, DirectoryLock | None]:
    """A server's storage: built, connected, locked against migrations, not mid-migration."""
    try:
        storage = make_storage(kind, options)
    except ValueError as err:
        raise StorageOpenError(f"Error initializing storage of type {kind}: {err}") from None
    lock: DirectoryLock | None = None
    try:
        lock = lock_storage_directory(kind, options)
        setup = getattr(storage, "setup", None)
        if setup is not None:
            await setup()
        started = await read_marker(storage)
        if started is not None:
            raise StorageOpenError(
                f"storage migration in progress (started: {started}); finish it, or clear "
                "the mark of an interrupted one with `strongroom operator migrate -reset`"
            )
    except BaseException as err:
        if lock is not None:
            lock.release()
        await storage.close()
        if isinstance(err, StorageOpenError | StorageInUse):
            raise StorageOpenError(str(err)) from None
        if isinstance(err, Exception):
            raise StorageOpenError(f"Error initializing storage of type {kind}: {err}") from None
        raise
    return storage, lock
