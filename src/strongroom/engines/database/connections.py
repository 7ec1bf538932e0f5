"""One plugin instance (and so one connection pool) per `config/<name>`, opened lazily.

An instance is built on the first request that needs it, from the stored
config, and dropped (its pool closed) when the config is written, reset or
deleted, after a root rotation, and when the mount is cleaned up.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from .errors import DatabaseError
from .plugins import DatabasePlugin, plugin_class
from .store import DbConfig, Store

log = logging.getLogger("strongroom.database")

DEFAULT_WORKERS = 16


class ConfigMissing(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f'failed to find entry for connection with name: "{name}"')


class Connections:
    def __init__(self, store: Store, *, name: str = "database", workers: int = DEFAULT_WORKERS):
        self._store = store
        self._name = name
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._instances: dict[str, DatabasePlugin] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._closed = False

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The mount's bounded pool for blocking drivers (created on first use)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix=self._name
            )
        return self._executor

    def _lock(self, name: str) -> asyncio.Lock:
        found = self._locks.get(name)
        if found is None:
            found = self._locks[name] = asyncio.Lock()
        return found

    def build(self, config: DbConfig) -> DatabasePlugin:
        """A plugin instance for `config` (nothing is connected yet)."""
        cls = plugin_class(config.plugin_name)
        if cls is None:
            raise DatabaseError(
                f"invalid database version: plugin not found in the catalog: {config.plugin_name}"
            )
        return cls(config.plugin_name, dict(config.connection_details), self.executor)

    def cached(self, name: str) -> DatabasePlugin | None:
        return self._instances.get(name)

    async def get(self, name: str) -> DatabasePlugin:
        found = self._instances.get(name)
        if found is not None:
            return found
        async with self._lock(name):
            found = self._instances.get(name)
            if found is None:
                config = await self._store.config(name)
                if config is None:
                    raise ConfigMissing(name)
                found = self.build(config)
                if self._closed:
                    await found.close()
                    raise DatabaseError("the mount is being unmounted")
                self._instances[name] = found
            return found

    async def replace(self, name: str, plugin: DatabasePlugin | None) -> None:
        """Install `plugin` for `name` (None: forget it); the old instance is closed."""
        async with self._lock(name):
            old = self._instances.pop(name, None)
            if plugin is not None:
                self._instances[name] = plugin
        if old is not None and old is not plugin:
            await self._close(name, old)

    async def _close(self, name: str, plugin: DatabasePlugin) -> None:
        try:
            await plugin.close()
        except Exception as err:
            log.warning("database: closing the connections of %s failed: %s", name, err)

    async def close_all(self) -> None:
        self._closed = True
        instances, self._instances = self._instances, {}
        for name, plugin in instances.items():
            await self._close(name, plugin)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
