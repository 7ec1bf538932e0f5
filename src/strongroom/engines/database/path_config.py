"""config/<name>, reset/<name> and rotate-root/<name>: the database connections."""

from __future__ import annotations

from typing import Any

from strongroom.core.errors import BadRequest, NotFound
from strongroom.core.request import Operation, Request, Response
from strongroom.framework.fields import Field, FieldData, FieldType
from strongroom.framework.path import Path

from . import password as passwords
from .connections import ConfigMissing, Connections
from .errors import DatabaseError, internal_error
from .paging import list_response
from .plugins import DatabasePlugin
from .statements import clean_list
from .store import DbConfig, Store

S, INT, B, DUR = FieldType.STRING, FieldType.INT, FieldType.BOOL, FieldType.DURATION
NAME = "(?P<name>\\w(([\\w.-]+)?\\w)?)"  # framework.GenericNameRegex

CONFIG_FIELDS: dict[str, Field] = {
    "name": Field(S, "Name of this database connection."),
    "plugin_name": Field(S, "The database plugin, e.g. postgresql-database-plugin."),
    "plugin_version": Field(S, "The version of the plugin (builtin plugins only)."),
    "verify_connection": Field(B, "Verify the connection details by connecting.", True),
    "allowed_roles": Field(
        FieldType.COMMA_STRING_LIST, "Roles allowed to use this connection; '*' allows all.", []
    ),
    "root_rotation_statements": Field(
        FieldType.STRING_LIST, "Statements that rotate the root user's password.", []
    ),
    "password_policy": Field(S, "Password policy (not supported yet: leave empty).", ""),
    # Connection details: stored as sent, read by the plugin.
    "connection_url": Field(S, "DSN; {{username}} and {{password}} are filled in."),
    "username": Field(S, "The root user (templated into connection_url)."),
    "password": Field(S, "The root user's password (never returned)."),
    "username_template": Field(S, "Template for dynamic usernames."),
    "max_open_connections": Field(INT, "Connections open at once (default 4)."),
    "max_idle_connections": Field(INT, "Idle connections kept (default: max_open_connections)."),
    "max_connection_lifetime": Field(DUR, "How long a connection is reused (0: forever)."),
    "disable_escaping": Field(B, "Do not URL-escape username and password in the URL."),
    "password_authentication": Field(S, "PostgreSQL: 'password' or 'scram-sha-256'."),
}
# Fields of the connection, not of its details.
RESERVED = (
    "name",
    "plugin_name",
    "plugin_version",
    "allowed_roles",
    "verify_connection",
    "root_rotation_statements",
    "password_policy",
)
URL_PASSWORD_WARNING = (
    "Password found in connection_url, use a templated url to enable root rotation and "
    "prevent read access to password information."
)


def _url_has_password(url: Any) -> bool:
    if not isinstance(url, str) or "{" in url:
        return False
    _scheme, sep, rest = url.partition("://")
    userinfo = rest.split("/", 1)[0].rpartition("@")[0]
    return bool(sep) and ":" in userinfo


def config_paths(store: Store, connections: Connections) -> list[Path]:
    async def exists(req: Request, fd: FieldData) -> bool:
        return await store.config(fd.get("name")) is not None

    async def read(req: Request, fd: FieldData) -> Response:
        config = await store.config(fd.get("name"))
        if config is None:
            raise NotFound()
        return Response(data=config.to_api())

    async def write(req: Request, fd: FieldData) -> Response | None:
        name = fd.get("name")
        async with store.lock("config/" + name):
            existing = await store.config(name)
            creating = existing is None
            config = existing or DbConfig()
            if fd.has("plugin_name"):
                config.plugin_name = fd.get("plugin_name")
            if not config.plugin_name:
                raise BadRequest("empty plugin name")
            if fd.has("plugin_version"):
                version = fd.get("plugin_version")
                if version and "+builtin" not in version:
                    raise BadRequest(
                        f'database plugin "{config.plugin_name}", version {version} not found; '
                        "strongroom has only its builtin plugins"
                    )
                config.plugin_version = ""
            if fd.has("allowed_roles") or creating:
                config.allowed_roles = [r for r in fd.get("allowed_roles") if r]
            if fd.has("root_rotation_statements") or creating:
                config.root_credentials_rotate_statements = clean_list(
                    fd.get("root_rotation_statements")
                )
            if fd.has("password_policy"):
                config.password_policy = fd.get("password_policy")
            if config.password_policy:
                raise BadRequest(passwords.POLICY_UNSUPPORTED)
            config.verify_connection = fd.get("verify_connection")
            details = {k: v for k, v in fd.raw.items() if k not in RESERVED and v is not None}
            if creating:
                config.connection_details = details
            else:
                config.connection_details = {**config.connection_details, **details}
            plugin: DatabasePlugin | None = None
            try:
                plugin = connections.build(config)
                if config.verify_connection:
                    await plugin.verify()
            except DatabaseError as err:
                if plugin is not None:
                    await plugin.close()
                raise BadRequest(f"error creating database object: {err}") from None
            await store.put_config(name, config)
            await connections.replace(name, plugin)
        if _url_has_password(config.connection_details.get("connection_url")):
            return Response(warnings=[URL_PASSWORD_WARNING])
        return None

    async def delete(req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with store.lock("config/" + name):
            await store.delete_config(name)
            await connections.replace(name, None)

    async def list_configs(req: Request, fd: FieldData) -> Response:
        return list_response(await store.config_names(), fd)

    async def reset(req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with store.lock("config/" + name):
            await connections.replace(name, None)
            try:
                plugin = await connections.get(name)
                await plugin.verify()
            except (ConfigMissing, DatabaseError) as err:
                raise internal_error(str(err)) from None

    async def rotate_root(req: Request, fd: FieldData) -> None:
        name = fd.get("name")
        async with store.lock("config/" + name):
            config = await store.config(name)
            if config is None:
                raise internal_error(str(ConfigMissing(name)))
            details = config.connection_details
            root_user = details.get("username")
            if not isinstance(root_user, str) or not root_user:
                raise internal_error(
                    "unable to rotate root credentials: no username in configuration"
                )
            if not isinstance(details.get("password"), str) or not details.get("password"):
                raise internal_error(
                    "unable to rotate root credentials: no password in configuration"
                )
            if config.pending_root_password:
                await _recover_root(config)
                details = config.connection_details
            new_password = passwords.generate()
            # Recorded first: if the database takes the password but storing it fails,
            # the next rotate-root finds out which one the database has.
            config.pending_root_password = new_password
            await store.put_config(name, config)
            try:
                plugin = await connections.get(name)
                await plugin.set_password(
                    root_user, new_password, config.root_credentials_rotate_statements
                )
            except (ConfigMissing, DatabaseError) as err:
                if not getattr(err, "unreachable", False):
                    config.pending_root_password = ""  # the database refused it: nothing changed
                    await store.put_config(name, config)
                raise internal_error(f"failed to update user: {err}") from None
            finally:
                # Whatever happened, the pool was built with the old password.
                await connections.replace(name, None)
            config.connection_details = {**details, "password": new_password}
            config.pending_root_password = ""
            await store.put_config(name, config)

    async def _recover_root(config: DbConfig) -> None:
        """Keep whichever of the stored and the pending root password the database accepts."""
        pending = config.pending_root_password
        trial = DbConfig(
            plugin_name=config.plugin_name,
            connection_details={**config.connection_details, "password": pending},
        )
        try:
            plugin = connections.build(trial)
        except DatabaseError:
            return
        try:
            await plugin.verify()
        except DatabaseError:
            pass  # the stored password is still the one in force
        else:
            config.connection_details = trial.connection_details
        finally:
            await plugin.close()
        config.pending_root_password = ""

    list_fields = {
        "after": Field(S, "List entries after this one.", ""),
        "limit": Field(INT, "Return at most this many entries.", 0),
    }
    return [
        Path(
            pattern="config/?",
            fields=list_fields,
            operations={Operation.LIST: list_configs},
            synopsis="List the database connections.",
        ),
        Path(
            pattern=f"config/{NAME}",
            fields=CONFIG_FIELDS,
            operations={
                Operation.READ: read,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            arbitrary_data=True,
            synopsis="Configure connection details to a database plugin.",
            description=(
                "The plugin (postgresql-database-plugin, mysql-database-plugin, "
                "mysql-aurora-database-plugin, mysql-rds-database-plugin, "
                "mysql-legacy-database-plugin), its connection details and the roles allowed "
                "to use it. The password is never returned."
            ),
        ),
        Path(
            pattern=f"reset/{NAME}",
            fields={"name": CONFIG_FIELDS["name"]},
            operations={Operation.UPDATE: reset},
            synopsis="Close a connection's pool and reconnect.",
        ),
        Path(
            pattern=f"rotate-root/{NAME}",
            fields={"name": CONFIG_FIELDS["name"]},
            operations={Operation.UPDATE: rotate_root},
            synopsis="Rotate the root user's password; the new one is never shown.",
        ),
    ]
