"""`secrets` commands (spec §7.7): enable, disable, list, tune, move.

The mount helpers here (request bodies, the listing tables, the move loop) are
shared with the `auth` commands.
"""

from __future__ import annotations

import time
from typing import Any

from strongroom.cli import output as out
from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.client import Client, ClientError
from strongroom.cli.commands.kv import duration_text, get_client, sanitize, trailing_slash
from strongroom.cli.flags import DURATION, KV, FlagSet
from strongroom.cli.gojson import OrderedObject
from strongroom.cli.gotext import go_trim_space, table_output
from strongroom.cli.secret import SecretDecodeError, parse_secret
from strongroom.jsonutil import JsonNumber

SECRETS_HELP = (
    f"Usage: {PROG} secrets <subcommand> [options] [args]\n"
    "\n"
    "  This command groups subcommands for interacting with OpenBao's secrets engines.\n"
    "  Each secret engine behaves differently. Please see the documentation for\n"
    "  more information.\n"
    "\n"
    "  List all enabled secrets engines:\n"
    "\n"
    f"      $ {PROG} secrets list\n"
    "\n"
    "  Enable a new secrets engine:\n"
    "\n"
    f"      $ {PROG} secrets enable database\n"
    "\n"
    "  Please see the individual subcommand help for detailed usage information."
)

register_group("secrets", "Interact with secrets engines", SECRETS_HELP)

ERRORS = (ClientError, SecretDecodeError)


# --------------------------------------------------------------------------- request bodies


def ttl_to_api(ns: int) -> str:
    """A tune TTL: "" when unset, "system" when negative, else a Go duration."""
    if ns == 0:
        return ""
    if ns < 0:
        return "system"
    return duration_text(ns)


def tune_input(
    *,
    options: dict[str, str] | None = None,
    default_ttl: str = "",
    max_ttl: str = "",
    description: str | None = None,
    force_no_cache: bool = False,
    audit_request_keys: list[str] | None = None,
    audit_response_keys: list[str] | None = None,
    listing_visibility: str = "",
    passthrough_request_headers: list[str] | None = None,
    allowed_response_headers: list[str] | None = None,
    token_type: str = "",
    plugin_version: str = "",
    user_lockout_config: OrderedObject | None = None,
) -> OrderedObject:
    """The mount configuration body in the reference client's field order."""
    body = OrderedObject(options=options or None, default_lease_ttl=default_ttl)
    if description is not None:
        body["description"] = description
    body["max_lease_ttl"] = max_ttl
    body["force_no_cache"] = force_no_cache
    optional: list[tuple[str, Any]] = [
        ("audit_non_hmac_request_keys", audit_request_keys),
        ("audit_non_hmac_response_keys", audit_response_keys),
        ("listing_visibility", listing_visibility),
        ("passthrough_request_headers", passthrough_request_headers),
        ("allowed_response_headers", allowed_response_headers),
        ("token_type", token_type),
        ("plugin_version", plugin_version),
    ]
    for key, value in optional:
        if value:
            body[key] = value
    if user_lockout_config is not None:
        body["user_lockout_config"] = user_lockout_config
    return body


def trimmed(values: list[str] | None) -> list[str]:
    """A repeatable string flag's values (each trimmed, like the reference flag)."""
    return [go_trim_space(v) for v in values or []]


def mount_options(ctx: Context) -> dict[str, str] | None:
    """`-options` plus `-version` (as options.version); None when neither is given."""
    options = dict(ctx.opts.get("options") or {})
    if ctx.opts.get("version", 0) > 0:
        options["version"] = str(ctx.opts["version"])
    return options or None


def config_flags(ctx: Context) -> dict[str, Any]:
    """The tune_input arguments taken from the shared mount-config flags."""
    opts = ctx.opts
    return {
        "audit_request_keys": trimmed(opts.get("audit-non-hmac-request-keys")),
        "audit_response_keys": trimmed(opts.get("audit-non-hmac-response-keys")),
        "listing_visibility": opts.get("listing-visibility") or "",
        "passthrough_request_headers": trimmed(opts.get("passthrough-request-headers")),
        "allowed_response_headers": trimmed(opts.get("allowed-response-headers")),
        "plugin_version": opts.get("plugin-version") or "",
    }


def enable_body(ctx: Context, kind: str, **config: Any) -> OrderedObject:
    opts = ctx.opts
    return OrderedObject(
        type=kind,
        description=opts.get("description") or "",
        config=tune_input(
            default_ttl=duration_text(opts["default-lease-ttl"]),
            max_ttl=duration_text(opts["max-lease-ttl"]),
            **config_flags(ctx),
            **config,
        ),
        local=bool(opts.get("local")),
        seal_wrap=bool(opts.get("seal-wrap")),
        external_entropy_access=bool(opts.get("external-entropy-access")),
        options=mount_options(ctx),
    )


# --------------------------------------------------------------------------- shared flags


def add_config_flags(fs: FlagSet, what: str, *, tune: bool) -> None:
    """The flags `enable` and `tune` share (what: "secrets engine" / "auth method")."""
    later = ", or a previously configured value for the " + what if tune else ""
    fs.add(
        "audit-non-hmac-request-keys",
        list,
        None,
        "Key that will not be HMAC'd by audit devices in the request data object. To "
        "specify multiple values, specify this flag multiple times.",
    )
    fs.add(
        "audit-non-hmac-response-keys",
        list,
        None,
        "Key that will not be HMAC'd by audit devices in the response data object. To "
        "specify multiple values, specify this flag multiple times.",
    )
    fs.add(
        "default-lease-ttl",
        DURATION,
        0,
        f"The default lease TTL for this {what}. If unspecified, this defaults to the "
        f"server's globally configured default lease TTL{later}.",
    )
    fs.add(
        "max-lease-ttl",
        DURATION,
        0,
        f"The maximum lease TTL for this {what}. If unspecified, this defaults to the "
        f"server's globally configured maximum lease TTL{later}.",
    )
    fs.add(
        "listing-visibility",
        str,
        "",
        "Determines the visibility of the mount in the UI-specific listing endpoint.",
    )
    fs.add(
        "passthrough-request-headers",
        list,
        None,
        "Request header value that will be sent to the plugin. To specify multiple "
        "values, specify this flag multiple times.",
    )
    fs.add(
        "allowed-response-headers",
        list,
        None,
        "Response header value that plugins will be allowed to set. To specify multiple "
        "values, specify this flag multiple times.",
    )
    fs.add(
        "options",
        KV,
        None,
        "Key-value pair provided as key=value for the mount options. This can be "
        "specified multiple times.",
    )
    fs.add(
        "plugin-version",
        str,
        "",
        "Select the semantic version of the plugin to run."
        if tune
        else "Select the semantic version of the plugin to enable.",
    )


def add_enable_flags(fs: FlagSet, what: str) -> None:
    """The flags only `enable` has."""
    fs.add(
        "description",
        str,
        "",
        f"Human-friendly description for the purpose of this {what}.",
    )
    fs.add(
        "path",
        str,
        "",
        f"Place where the {what} will be accessible. This must be unique across all "
        f'{what}s. This defaults to the "type" of the {what}.',
    )
    fs.add(
        "plugin-name",
        str,
        "",
        f"Name of the {what} plugin. This plugin name must already exist in the "
        "server's plugin catalog.",
    )
    fs.add(
        "local",
        bool,
        False,
        f"Mark the {what} as local-only. Local mounts are not replicated nor removed by "
        "replication.",
    )
    fs.add("seal-wrap", bool, False, f"Enable seal wrapping of critical values in the {what}.")
    fs.add(
        "external-entropy-access",
        bool,
        False,
        f"Enable the {what} to access the server's external entropy source.",
    )


def add_version_flag(fs: FlagSet, what: str) -> None:
    fs.add(
        "version",
        int,
        0,
        f"Select the version of the {what} to run. Not supported by all {what}s.",
    )


# --------------------------------------------------------------------------- listing


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, JsonNumber):
        try:
            return int(value.text)
        except ValueError:
            return 0
    return 0


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def mount_output(entry: Any) -> OrderedObject:
    """A mount entry decoded into the reference client's MountOutput (its JSON order)."""
    entry = entry if isinstance(entry, dict) else {}
    raw_config = entry.get("config")
    raw_config = raw_config if isinstance(raw_config, dict) else {}
    config = OrderedObject(
        default_lease_ttl=_int(raw_config.get("default_lease_ttl")),
        max_lease_ttl=_int(raw_config.get("max_lease_ttl")),
        force_no_cache=raw_config.get("force_no_cache") is True,
    )
    for key, convert in (
        ("audit_non_hmac_request_keys", _strings),
        ("audit_non_hmac_response_keys", _strings),
        ("listing_visibility", _str),
        ("passthrough_request_headers", _strings),
        ("allowed_response_headers", _strings),
        ("token_type", _str),
        ("allowed_managed_keys", _strings),
    ):
        value = convert(raw_config.get(key))
        if value:
            config[key] = value
    options = entry.get("options")
    if isinstance(options, dict):
        options = {k: out.go_value(v) for k, v in options.items()}
    else:
        options = None
    return OrderedObject(
        uuid=_str(entry.get("uuid")),
        type=_str(entry.get("type")),
        description=_str(entry.get("description")),
        accessor=_str(entry.get("accessor")),
        config=config,
        options=options,
        local=entry.get("local") is True,
        seal_wrap=entry.get("seal_wrap") is True,
        external_entropy_access=entry.get("external_entropy_access") is True,
        plugin_version=_str(entry.get("plugin_version")),
        running_plugin_version=_str(entry.get("running_plugin_version")),
        running_sha256=_str(entry.get("running_sha256")),
        deprecation_status=_str(entry.get("deprecation_status")),
    )


def fetch_mounts(client: Client, path: str) -> dict[str, OrderedObject]:
    """GET sys/mounts or sys/auth as {path: MountOutput}; raises ClientError/ValueError."""
    response = client.request("GET", path)
    secret = parse_secret(response.body)
    if secret is None or secret.data is None:
        raise SecretDecodeError("data from server response is empty")
    return {key: mount_output(value) for key, value in secret.data.items()}


def _ttl_cell(kind: str, ttl: int) -> str:
    if kind in ("system", "cubbyhole"):
        return ""
    return str(ttl) if ttl != 0 else "system"


def mounts_table(mounts: dict[str, OrderedObject], *, detailed: bool, auth: bool) -> str:
    """The `secrets list` / `auth list` table (sorted by path; empty cells read n/a)."""
    if detailed:
        middle = "Token Type" if auth else "Force No Cache"
        rows = [
            "Path | Plugin | Accessor | Default TTL | Max TTL | "
            f"{middle} | Replication | Seal Wrap | External Entropy Access | Options | "
            "Description | UUID | Version | Running Version | Running SHA256 | "
            "Deprecation Status"
        ]
    elif auth:
        rows = ["Path | Type | Accessor | Description | Version"]
    else:
        rows = ["Path | Type | Accessor | Description"]
    for path in sorted(mounts):
        m = mounts[path]
        if not detailed:
            cells = [path, m["type"], m["accessor"], m["description"]]
            if auth:
                cells.append(m["plugin_version"])
            rows.append(" | ".join(cells))
            continue
        config = m["config"]
        middle_cell = (
            config.get("token_type", "") if auth else out.go_value(config["force_no_cache"])
        )
        cells = [
            path,
            m["type"],
            m["accessor"],
            _ttl_cell(m["type"], config["default_lease_ttl"]),
            _ttl_cell(m["type"], config["max_lease_ttl"]),
            middle_cell,
            "local" if m["local"] else "replicated",
            out.go_value(m["seal_wrap"]),
            out.go_value(m["external_entropy_access"]),
            out.go_value(m["options"] or {}),
            m["description"],
            m["uuid"],
            m["plugin_version"],
            m["running_plugin_version"],
            m["running_sha256"],
            m["deprecation_status"],
        ]
        rows.append(" | ".join(cells))
    return table_output(rows, "|")


def list_mounts(ctx: Context, args: list[str], api_path: str, error: str, *, auth: bool) -> int:
    """`secrets list` / `auth list`."""
    if args:
        ctx.ui.error(f"Too many arguments (expected 0, got {len(args)})")
        return 1
    client = get_client(ctx)
    if client is None:
        return 2
    try:
        mounts = fetch_mounts(client, api_path)
    except ERRORS as exc:
        ctx.ui.error(f"{error}: {exc}")
        return 2
    if ctx.format == "table":
        ctx.ui.output(mounts_table(mounts, detailed=bool(ctx.opts.get("detailed")), auth=auth))
        return 0
    return ctx.output_data(mounts)


# --------------------------------------------------------------------------- move


def _remount_data(client: Client, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = client.request(method, path, data=body)
    secret = parse_secret(response.body)
    if secret is None or secret.data is None:
        raise SecretDecodeError("data from server response is empty")
    return secret.data


def move_mount(ctx: Context, args: list[str], what: str) -> int:
    """`secrets move` / `auth move`: POST sys/remount, then poll the migration status."""
    if len(args) < 2:
        ctx.ui.error(f"Not enough arguments (expected 2, got {len(args)})")
        return 1
    if len(args) > 2:
        ctx.ui.error(f"Too many arguments (expected 2, got {len(args)})")
        return 1
    source, destination = trailing_slash(args[0]), trailing_slash(args[1])
    client = get_client(ctx)
    if client is None:
        return 2
    moving = f"{what} {source} to {destination}"
    try:
        started = _remount_data(client, "POST", "sys/remount", {"from": source, "to": destination})
    except ERRORS as exc:
        ctx.ui.error(f"Error moving {moving}: {exc}")
        return 2
    migration_id = _str(started.get("migration_id"))
    ctx.ui.output(f"Started moving {moving}, with migration ID {migration_id}")
    while True:
        try:
            status = _remount_data(client, "GET", f"sys/remount/status/{migration_id}")
        except ERRORS as exc:
            ctx.ui.error(f"Error checking migration status of {moving}: {exc}")
            return 2
        info = status.get("migration_info")
        state = _str(info.get("status")) if isinstance(info, dict) else ""
        if state == "success":
            ctx.ui.output(f"Success! Finished moving {moving}, with migration ID {migration_id}")
            return 0
        if state == "failure":
            ctx.ui.error(
                f"Failure! Error encountered moving {moving}, with migration ID {migration_id}"
            )
            return 0
        ctx.ui.output(
            f"Waiting for terminal status in migration of {moving}, with migration ID "
            f"{migration_id}"
        )
        time.sleep(10)


# --------------------------------------------------------------------------- commands


@command
class SecretsEnable(Command):
    name = "secrets enable"
    synopsis = "Enable a secrets engine"
    usage = "secrets enable [options] TYPE"
    description = f"""
  Enables a secrets engine. It is mounted at a path named after its TYPE unless
  "-path" says otherwise; requests under that path are routed to the engine.

      $ {PROG} secrets enable transit
      $ {PROG} secrets enable -path=team-kv -version=2 kv
      $ {PROG} secrets enable -max-lease-ttl=30m database
"""
    output = None

    def add_flags(self, fs: FlagSet) -> None:
        add_config_flags(fs, "secrets engine", tune=False)
        add_enable_flags(fs, "secrets engine")
        fs.add(
            "force-no-cache",
            bool,
            False,
            "Force the secrets engine to disable caching. If unspecified, this defaults to "
            "the server's globally configured cache settings. This does not affect caching "
            "of the underlying encrypted data storage.",
        )
        add_version_flag(fs, "engine")

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = get_client(ctx)
        if client is None:
            return 2
        plugin = ctx.opts.get("plugin-name") or ""
        kind = go_trim_space(args[0])
        if kind == "plugin":
            kind = plugin
        path = ctx.opts.get("path") or (plugin if kind == "plugin" else kind)
        path = trailing_slash(path)
        body = enable_body(ctx, kind, force_no_cache=bool(ctx.opts.get("force-no-cache")))
        try:
            client.request("POST", f"sys/mounts/{path}", data=body)
        except ClientError as exc:
            ctx.ui.error(f"Error enabling: {exc}")
            return 2
        thing = f"{plugin} plugin" if kind == "plugin" else f"{kind} secrets engine"
        if ctx.opts.get("plugin-version"):
            thing += " version " + ctx.opts["plugin-version"]
        ctx.ui.output(f"Success! Enabled the {thing} at: {path}")
        return 0


@command
class SecretsDisable(Command):
    name = "secrets disable"
    synopsis = "Disable a secret engine"
    usage = "secrets disable [options] PATH"
    description = f"""
  Disables the secrets engine mounted at PATH. Its secrets are revoked and its
  data is removed. Nothing happens when no engine is mounted there.

      $ {PROG} secrets disable aws/
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = get_client(ctx)
        if client is None:
            return 2
        path = trailing_slash(sanitize(args[0]))
        try:
            client.request("DELETE", f"sys/mounts/{path}")
        except ClientError as exc:
            ctx.ui.error(f"Error disabling secrets engine at {path}: {exc}")
            return 2
        ctx.ui.output(f"Success! Disabled the secrets engine (if it existed) at: {path}")
        return 0


@command
class SecretsList(Command):
    name = "secrets list"
    synopsis = "List enabled secrets engines"
    usage = "secrets list [options]"
    description = f"""
  Lists the enabled secrets engines with their paths, types and descriptions;
  "-detailed" adds TTLs, replication status, options and versions.

      $ {PROG} secrets list
      $ {PROG} secrets list -detailed
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "detailed",
            bool,
            False,
            "Print detailed information such as TTLs and replication status about each "
            "secrets engine.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        return list_mounts(ctx, args, "sys/mounts", "Error listing secrets engines", auth=False)


@command
class SecretsTune(Command):
    name = "secrets tune"
    synopsis = "Tune a secrets engine configuration"
    usage = "secrets tune [options] PATH"
    description = f"""
  Changes the configuration of the secrets engine mounted at PATH. Settings
  that are not given keep their current values; a TTL of "system" resets it to
  the server's default.

      $ {PROG} secrets tune -default-lease-ttl=72h pki/
"""
    output = None

    def add_flags(self, fs: FlagSet) -> None:
        add_config_flags(fs, "secrets engine", tune=True)
        fs.add(
            "description",
            str,
            None,
            "Human-friendly description of this secrets engine. This overrides the current "
            "stored value, if any.",
        )
        add_version_flag(fs, "engine")

    def run(self, ctx: Context, args: list[str]) -> int:
        return tune_mount(ctx, args, "secrets engine", "sys/mounts/")


def tune_mount(ctx: Context, args: list[str], what: str, prefix: str, **extra: Any) -> int:
    """`secrets tune` / `auth tune`: POST <prefix><path>/tune with the given settings."""
    if (code := ctx.expect_args(args, 1)) is not None:
        return code
    client = get_client(ctx)
    if client is None:
        return 2
    opts = ctx.opts
    path = trailing_slash(sanitize(args[0]))
    body = tune_input(
        options=mount_options(ctx),
        default_ttl=ttl_to_api(opts["default-lease-ttl"]),
        max_ttl=ttl_to_api(opts["max-lease-ttl"]),
        description=opts.get("description"),
        **config_flags(ctx),
        **extra,
    )
    try:
        client.request("POST", f"{prefix}{path}/tune", data=body)
    except ClientError as exc:
        ctx.ui.error(f"Error tuning {what} {path}: {exc}")
        return 2
    ctx.ui.output(f"Success! Tuned the {what} at: {path}")
    return 0


@command
class SecretsMove(Command):
    name = "secrets move"
    synopsis = "Move a secrets engine to a new path"
    usage = "secrets move [options] SOURCE DESTINATION"
    description = f"""
  Moves the secrets engine mounted at SOURCE to DESTINATION, with its data.
  Leases of the engine are revoked, tokens stay valid.

      $ {PROG} secrets move secret/ generic/
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        return move_mount(ctx, args, "secrets engine")
