"""Command modules, imported on demand.

`MODULES` maps a command's first word to the module that registers it (with
`strongroom.cli.base.command` / `register_group`). To add a command group,
create a module here and add its top-level word(s) below; only the module of
the word being run is imported, all of them for the top-level help.
"""

from __future__ import annotations

MODULES: dict[str, str] = {
    "version": "strongroom.cli.commands.basic",
    "print": "strongroom.cli.commands.basic",
    "server": "strongroom.cli.commands.basic",
    "read": "strongroom.cli.commands.generic",
    "write": "strongroom.cli.commands.generic",
    "delete": "strongroom.cli.commands.generic",
    "list": "strongroom.cli.commands.generic",
    "patch": "strongroom.cli.commands.generic",
    "path-help": "strongroom.cli.commands.generic",
    "unwrap": "strongroom.cli.commands.generic",
    "status": "strongroom.cli.commands.status",
    # operator_rekey (rekey, generate-root) imports the rest of the group: operator and
    # operator_migrate.
    "operator": "strongroom.cli.commands.operator_rekey",
    "kv": "strongroom.cli.commands.kv",
    "secrets": "strongroom.cli.commands.secrets",
    "auth": "strongroom.cli.commands.auth",
    "login": "strongroom.cli.commands.login",
    "token": "strongroom.cli.commands.token",
    "lease": "strongroom.cli.commands.lease",
    "policy": "strongroom.cli.commands.policy",
    "audit": "strongroom.cli.commands.audit_verify",  # imports (registers) audit too
}
