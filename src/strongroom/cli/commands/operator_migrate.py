"""`operator migrate`: copy all data between storage backends (Vault's command and file format).

Also loads the rest of the `operator` group: the command dispatcher imports
one module per first word, and this one is registered for "operator".
"""

from __future__ import annotations

import asyncio
import time

from strongroom.cli.base import PROG, Command, Context, command
from strongroom.cli.commands import operator as _operator  # noqa: F401 - registers the group
from strongroom.cli.flags import FlagSet
from strongroom.migrate import MigrationError, load_migration_config, run_migration

_LEVELS = ("trace", "debug", "info", "warn", "error")


def _log_line(level: str, message: str) -> str:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    tag = f"[{level.upper()}]"
    return f"{stamp} {tag.ljust(7)} {message}"


@command
class OperatorMigrate(Command):
    name = "operator migrate"
    synopsis = "Migrates data between storage backends"
    usage = "operator migrate [options]"
    http = False
    output = None
    description = f"""
  This command starts a storage backend migration process to copy all data
  from one backend to another. This operates directly on encrypted data and
  does not require a server, nor any unsealing.

  Start a migration with a configuration file:

      $ {PROG} operator migrate -config=migrate.hcl

  The file names the two storages with the server's storage stanza syntax:

      storage_source "file" {{
        path = "/var/lib/strongroom"
      }}

      storage_destination "postgresql" {{
        connection_url = "postgres://strongroom@db:5432/strongroom"
        ha_enabled     = "true"
      }}

  The migration refuses storage a running server holds, and marks the source
  while it copies so no server starts on it; -reset clears a mark left behind
  by an interrupted migration."""

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "config",
            str,
            "",
            "Path to a configuration file. This configuration file should contain "
            "only migrator directives.",
        )
        fs.add("start", str, "", "Only copy keys lexicographically at or after this value.")
        fs.add("reset", bool, False, "Reset the migration lock. No migration will occur.")
        fs.add(
            "log-level",
            str,
            "info",
            'Log verbosity level. Supported values (in order of detail) are "trace", '
            '"debug", "info", "warn", and "error". These are not case sensitive.',
            env=("BAO_LOG_LEVEL", "VAULT_LOG_LEVEL"),
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        opts = ctx.opts
        level = str(opts["log-level"]).lower()
        if level not in _LEVELS:
            ctx.ui.error(
                f"{level} is an unknown log level. Valid log levels are: [{' '.join(_LEVELS)}]"
            )
            return 1
        path = opts["config"]
        if not path:
            ctx.ui.error("Must specify exactly one config path using -config")
            return 1
        try:
            config = load_migration_config(path)
        except MigrationError as err:
            ctx.ui.error(f"Error loading configuration from {path}: {err}")
            return 1
        verbose = level in ("trace", "debug", "info")
        total = 0

        def on_copied(keys: list[str]) -> None:
            nonlocal total
            total += len(keys)
            if verbose:
                lines = "".join(_log_line("info", f"copied key: {key}") + "\n" for key in keys)
                ctx.ui.error_raw(lines)

        try:
            asyncio.run(
                run_migration(config, start=opts["start"], reset=opts["reset"], on_copied=on_copied)
            )
        except MigrationError as err:
            ctx.ui.error(f"Error migrating: {err}")
            return 2
        except Exception as err:  # a storage failing half-way: resume with -start
            ctx.ui.error(f"Error migrating: {err} (resume with -start after the last copied key)")
            return 2
        except KeyboardInterrupt:
            ctx.ui.output("==> Migration shutdown triggered\n")
            return 0
        if opts["reset"]:
            ctx.ui.output("Success! Migration lock reset (if it was set).")
        else:
            ctx.ui.output(f"Success! All of the keys have been migrated ({total} keys copied).")
        return 0
