"""`auth` commands (spec §7.7): enable, disable, list, tune, move."""

from __future__ import annotations

import re

from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.client import ClientError
from strongroom.cli.commands.kv import get_client, sanitize, trailing_slash
from strongroom.cli.commands.secrets import (
    add_config_flags,
    add_enable_flags,
    add_version_flag,
    enable_body,
    fetch_mounts,
    list_mounts,
    move_mount,
    ttl_to_api,
    tune_mount,
)
from strongroom.cli.flags import DURATION, FlagError, FlagSet
from strongroom.cli.gojson import OrderedObject
from strongroom.cli.gotext import go_trim_space, wrap_at_length
from strongroom.cli.kvargs import go_quote
from strongroom.cli.secret import SecretDecodeError

AUTH_HELP = (
    f"Usage: {PROG} auth <subcommand> [options] [args]\n"
    "\n"
    "  This command groups subcommands for interacting with OpenBao's auth methods.\n"
    "  Users can list, enable, disable, and get help for different auth methods.\n"
    "\n"
    f'  To authenticate to OpenBao as a user or machine, use the "{PROG} login" command\n'
    "  instead. This command is for interacting with the auth methods themselves, not\n"
    "  authenticating to OpenBao.\n"
    "\n"
    "  List all enabled auth methods:\n"
    "\n"
    f"      $ {PROG} auth list\n"
    "\n"
    '  Enable a new auth method "userpass";\n'
    "\n"
    f"      $ {PROG} auth enable userpass\n"
    "\n"
    "  Get detailed help information about how to authenticate to a particular auth\n"
    "  method:\n"
    "\n"
    f"      $ {PROG} auth help github\n"
    "\n"
    "  Please see the individual subcommand help for detailed usage information."
)

register_group("auth", "Interact with auth methods", AUTH_HELP)

_UINT = re.compile(r"(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[0-9]+)")


def parse_uint(text: str) -> int:
    """strconv.ParseUint(text, 0, 64) with Go's error texts."""
    if not _UINT.fullmatch(text):
        raise FlagError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    clean = text.replace("_", "")
    if clean[:2].lower() in ("0x", "0o", "0b"):
        value = int(clean, 0)
    elif len(clean) > 1 and clean.startswith("0"):
        if "_" in text or not set(clean) <= set("01234567"):
            raise FlagError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
        value = int(clean, 8)
    else:
        value = int(clean)
    if value >= 1 << 64:
        raise FlagError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return value


def _token_type_flag(fs: FlagSet) -> None:
    fs.add("token-type", str, "", "Sets a forced token type for the mount.")


@command
class AuthEnable(Command):
    name = "auth enable"
    synopsis = "Enables a new auth method"
    usage = "auth enable [options] TYPE"
    description = f"""
  Enables an auth method. It is mounted at "auth/<TYPE>" unless "-path" says
  otherwise.

      $ {PROG} auth enable userpass
      $ {PROG} auth enable -path=people -description="employees" userpass
"""
    output = None

    def add_flags(self, fs: FlagSet) -> None:
        add_config_flags(fs, "auth method", tune=False)
        add_enable_flags(fs, "auth method")
        _token_type_flag(fs)
        add_version_flag(fs, "auth method")

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
        body = enable_body(ctx, kind, token_type=ctx.opts.get("token-type") or "")
        try:
            client.request("POST", f"sys/auth/{path}", data=body)
        except ClientError as exc:
            ctx.ui.error(f"Error enabling {kind} auth: {exc}")
            return 2
        thing = f"{plugin} plugin" if kind == "plugin" else f"{kind} auth method"
        if ctx.opts.get("plugin-version"):
            thing += " version " + ctx.opts["plugin-version"]
        ctx.ui.output(f"Success! Enabled {thing} at: {path}")
        return 0


@command
class AuthDisable(Command):
    name = "auth disable"
    synopsis = "Disables an auth method"
    usage = "auth disable [options] PATH"
    description = f"""
  Disables the auth method mounted at PATH. The tokens it issued are revoked.
  Nothing happens when no auth method is mounted there.

      $ {PROG} auth disable userpass/
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        path = trailing_slash(sanitize(args[0]))
        client = get_client(ctx)
        if client is None:
            return 2
        try:
            client.request("DELETE", f"sys/auth/{path}")
        except ClientError as exc:
            ctx.ui.error(f"Error disabling auth method at {path}: {exc}")
            return 2
        ctx.ui.output(f"Success! Disabled the auth method (if it existed) at: {path}")
        return 0


@command
class AuthList(Command):
    name = "auth list"
    synopsis = "Lists enabled auth methods"
    usage = "auth list [options]"
    description = f"""
  Lists the enabled auth methods with their paths, types and descriptions;
  "-detailed" adds TTLs, token types, replication status and versions.

      $ {PROG} auth list
      $ {PROG} auth list -detailed
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "detailed",
            bool,
            False,
            "Print detailed information such as configuration and replication status about "
            "each auth method. This option is only applicable to table-formatted output.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        return list_mounts(
            ctx, args, "sys/auth", "Error listing enabled authentications", auth=True
        )


@command
class AuthTune(Command):
    name = "auth tune"
    synopsis = "Tunes an auth method configuration"
    usage = "auth tune [options] PATH"
    description = f"""
  Changes the configuration of the auth method mounted at PATH. Settings that
  are not given keep their current values.

      $ {PROG} auth tune -default-lease-ttl=72h github/
"""
    output = None

    def add_flags(self, fs: FlagSet) -> None:
        add_config_flags(fs, "auth method", tune=True)
        fs.add(
            "description",
            str,
            None,
            "Human-friendly description of this auth method. This overrides the current "
            "stored value, if any.",
        )
        _token_type_flag(fs)
        add_version_flag(fs, "auth method")
        fs.add(
            "user-lockout-threshold",
            parse_uint,
            None,
            "The threshold for user lockout for this auth method. If unspecified, this "
            "defaults to the server's globally configured user lockout threshold, or a "
            "previously configured value for the auth method.",
            example="uint",
        )
        fs.add(
            "user-lockout-duration",
            DURATION,
            None,
            "The user lockout duration for this auth method. If unspecified, this defaults "
            "to the server's globally configured user lockout duration, or a previously "
            "configured value for the auth method.",
        )
        fs.add(
            "user-lockout-counter-reset-duration",
            DURATION,
            None,
            "The user lockout counter reset duration for this auth method. If unspecified, "
            "this defaults to the server's globally configured user lockout counter reset "
            "duration, or a previously configured value for the auth method.",
        )
        fs.add(
            "user-lockout-disable",
            bool,
            None,
            "Disable user lockout for this auth method. If unspecified, this defaults to the "
            "server's globally configured user lockout disable, or a previously configured "
            "value for the auth method.",
            default_text="false",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        opts = ctx.opts
        lockout = None
        names = (
            "user-lockout-threshold",
            "user-lockout-duration",
            "user-lockout-counter-reset-duration",
            "user-lockout-disable",
        )
        if any(opts.get(n) is not None for n in names):
            lockout = OrderedObject()
            if opts.get("user-lockout-threshold") is not None:
                lockout["lockout_threshold"] = str(opts["user-lockout-threshold"])
            for flag, key in (
                ("user-lockout-duration", "lockout_duration"),
                ("user-lockout-counter-reset-duration", "lockout_counter_reset_duration"),
            ):
                if opts.get(flag) is not None and ttl_to_api(opts[flag]):
                    lockout[key] = ttl_to_api(opts[flag])
            if opts.get("user-lockout-disable") is not None:
                lockout["lockout_disable"] = opts["user-lockout-disable"]
        return tune_mount(
            ctx,
            args,
            "auth method",
            "sys/mounts/auth/",
            token_type=opts.get("token-type") or "",
            user_lockout_config=lockout,
        )


@command
class AuthMove(Command):
    name = "auth move"
    synopsis = "Move an auth method to a new path"
    usage = "auth move [options] SOURCE DESTINATION"
    description = f"""
  Moves the auth method mounted at SOURCE to DESTINATION (give both as
  "auth/<path>"). Tokens it issued are revoked.

      $ {PROG} auth move auth/approle auth/generic
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        return move_mount(ctx, args, "auth method")


# --------------------------------------------------------------------------- help

# The usage of the login methods this CLI knows, by auth method type (what
# `login -method=TYPE -h` and `auth help TYPE` print).
TOKEN_LOGIN_HELP = (
    f"Usage: {PROG} login TOKEN [CONFIG K=V...]\n"
    "\n"
    "  The token auth method allows logging in directly with a token. This\n"
    '  can be a token from the "token-create" command or API. There are no\n'
    "  configuration options for this auth method.\n"
    "\n"
    "  Authenticate using a token:\n"
    "\n"
    f"      $ {PROG} login 96ddf4bc-d217-f3ba-f9bd-017055595017\n"
    "\n"
    "  Authenticate but do not lookup information about the token:\n"
    "\n"
    f"      $ {PROG} login token=96ddf4bc-d217-f3ba-f9bd-017055595017 lookup=false\n"
    "\n"
    "  This token usually comes from a different source such as the API or via the\n"
    f'  built-in "{PROG} token create" command.\n'
    "\n"
    "Configuration:\n"
    "\n"
    "  token=<string>\n"
    "      The token to use for authentication. This is usually provided directly\n"
    f'      via the "{PROG} login" command.\n'
    "\n"
    "  lookup=<bool>\n"
    "      Perform a lookup of the token's metadata and policies."
)

USERPASS_LOGIN_HELP = (
    f"Usage: {PROG} login -method=userpass [CONFIG K=V...]\n"
    "\n"
    "  The userpass auth method allows users to authenticate using Vault's\n"
    "  internal user database.\n"
    "\n"
    '  Authenticate as "sally":\n'
    "\n"
    f"      $ {PROG} login -method=userpass username=sally\n"
    "      Password (will be hidden):\n"
    "\n"
    '  Authenticate as "bob":\n'
    "\n"
    f"      $ {PROG} login -method=userpass username=bob password=password\n"
    "\n"
    "Configuration:\n"
    "\n"
    "  password=<string>\n"
    "      Password to use for authentication. If not provided, the CLI will prompt\n"
    "      for this on stdin.\n"
    "\n"
    "  username=<string>\n"
    "      Username to use for authentication."
)

CERT_LOGIN_HELP = (
    f"Usage: {PROG} login -method=cert [CONFIG K=V...]\n"
    "\n"
    "  The certificate auth method allows users to authenticate with a\n"
    "  client certificate passed with the request. The -client-cert and -client-key\n"
    f'  flags are included with the "{PROG} login" command, NOT as configuration to the\n'
    "  auth method.\n"
    "\n"
    "  Authenticate using a local client certificate:\n"
    "\n"
    f"      $ {PROG} login -method=cert -client-cert=cert.pem -client-key=key.pem\n"
    "\n"
    "Configuration:\n"
    "\n"
    "  name=<string>\n"
    "      Certificate role to authenticate against."
)

OIDC_LOGIN_HELP = (
    f"Usage: {PROG} login -method=oidc [CONFIG K=V...]\n"
    "\n"
    "  The OIDC auth method allows users to authenticate using an OIDC provider.\n"
    "  The provider must be configured as part of a role by the operator.\n"
    "\n"
    '  Authenticate using role "engineering":\n'
    "\n"
    f"      $ {PROG} login -method=oidc role=engineering\n"
    "      Complete the login via your OIDC provider. Launching browser to:\n"
    "\n"
    "          https://accounts.google.com/o/oauth2/v2/...\n"
    "\n"
    "  The default browser will be opened for the user to complete the login. \n"
    "  Alternatively, the user may visit the provided URL directly.\n"
    "\n"
    "Configuration:\n"
    "\n"
    "  role=<string>\n"
    '    OpenBao role of type "OIDC" to use for authentication.\n'
    "\n"
    "  callbackmode=<string>\n"
    '    Mode of callback: "client" for connection to the command line client,\n'
    '    "direct" for direct connection to the server, or "device" for device\n'
    "    flow which has no callback (default: client).\n"
    "\n"
    "  listenaddress=<string>\n"
    "    Optional address to bind the OIDC callback listener to in client callback\n"
    "    mode (default: localhost).\n"
    "\n"
    "  port=<string>\n"
    "    Optional localhost port to use for OIDC callback in client callback mode\n"
    "    (default: 8250).\n"
    "\n"
    "  callbackmethod=<string>\n"
    "    Optional method to use in OIDC redirect_uri (default: the method from\n"
    "    $BAO_ADDR or $VAULT_ADDR in direct callback mode, else http)\n"
    "\n"
    "  callbackhost=<string>\n"
    "    Optional callback host address to use in OIDC redirect_uri (default:\n"
    "    the host from $BAO_ADDR or $VAULT_ADDR in direct callback mode, else\n"
    "    localhost).\n"
    "\n"
    "  callbackport=<string>\n"
    "    Optional port to use in OIDC redirect_uri (default: the value set for\n"
    "    port in client callback mode, else the port from $BAO_ADDR or $VAULT_ADDR\n"
    "    with an added /v1/<namespace>/auth/<path> where <path> is from the login -path option).\n"
    "\n"
    "  skip_browser=<bool>\n"
    "    Toggle the automatic launching of the default browser to the login URL. "
    "(default: false).\n"
    "\n"
    "  show_qr=<bool>\n"
    "    Display a QR code of the login URL. Requires UTF-8 support from your\n"
    "    terminal emulator (default: false).\n"
    "\n"
    "  abort_on_error=<bool>\n"
    "    Abort on any error. (default: false)."
)

LOGIN_HELP = {
    "cert": CERT_LOGIN_HELP,
    "oidc": OIDC_LOGIN_HELP,
    "token": TOKEN_LOGIN_HELP,
    "userpass": USERPASS_LOGIN_HELP,
}


@command
class AuthHelp(Command):
    name = "auth help"
    synopsis = "Prints usage for an auth method"
    usage = "auth help [options] TYPE | PATH"
    description = f"""
  Prints how to log in with an auth method: given a TYPE, the usage of that
  type of auth method; given a PATH, the usage of the auth method enabled
  there (it must exist).

      $ {PROG} auth help userpass
      $ {PROG} auth help my-method/
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = get_client(ctx)
        if client is None:
            return 2
        kind = go_trim_space(args[0])
        text = LOGIN_HELP.get(kind)
        if text is None:
            try:
                mounts = fetch_mounts(client, "sys/auth")
            except (ClientError, SecretDecodeError) as exc:
                ctx.ui.error(f"Error listing auth methods: {exc}")
                return 2
            path = trailing_slash(sanitize(args[0]))
            mount = mounts.get(path)
            if mount is None:
                ctx.ui.warn(f"No auth method available on the server at {go_quote(path)}")
                return 1
            text = LOGIN_HELP.get(mount["type"])
            if text is None:
                ctx.ui.warn(
                    wrap_at_length(
                        f"No method-specific CLI handler available for auth method {go_quote(kind)}"
                    )
                )
                return 2
        ctx.ui.output(text)
        return 0
