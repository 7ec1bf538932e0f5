"""`token` commands: create, lookup, renew, revoke, capabilities (spec §7.7).

Requests and bodies are the ones the reference client sends (`auth/token/...`,
`sys/capabilities[-self]`), so `-output-curl-string` prints the same command.
"""

from __future__ import annotations

from typing import Any

from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.client import Client, ClientError
from strongroom.cli.flags import DURATION, KV, FlagSet
from strongroom.cli.gojson import OrderedObject
from strongroom.cli.gotext import go_trim_space
from strongroom.cli.secret import Secret, SecretDecodeError, parse_secret
from strongroom.durations import go_duration

register_group(
    "token",
    "Interact with tokens",
    f"""Usage: {PROG} token <subcommand> [options] [args]

  This command groups subcommands for interacting with tokens. Users can
  create, lookup, renew, and revoke tokens.

  Create a new token:

      $ {PROG} token create

  Revoke a token:

      $ {PROG} token revoke 96ddf4bc-d217-f3ba-f9bd-017055595017

  Renew a token:

      $ {PROG} token renew 96ddf4bc-d217-f3ba-f9bd-017055595017

  Please see the individual subcommand help for detailed usage information.""",
)


def client_or_none(ctx: Context) -> Client | None:
    """The API client, or None after printing the setup error (the caller exits 2)."""
    try:
        return ctx.client()
    except ClientError as exc:
        ctx.ui.error(str(exc))
        return None


def call(client: Client, method: str, path: str, data: Any = None) -> Secret | None:
    """One API call whose answer is a secret envelope (None for an empty body).

    Raises ClientError (error statuses included) and SecretDecodeError.
    """
    response = client.request(method, path, data=data)
    return parse_secret(response.body)


def go_duration_text(nanoseconds: int) -> str:
    """time.Duration.String() of a duration flag's value."""
    if nanoseconds % 1_000_000_000 == 0:
        return go_duration(nanoseconds // 1_000_000_000)
    return go_duration(nanoseconds / 1_000_000_000)


def whole_seconds(nanoseconds: int) -> int:
    """The reference `truncateToSeconds`: below one second counts as 0."""
    return nanoseconds // 1_000_000_000 if nanoseconds >= 1_000_000_000 else 0


# --------------------------------------------------------------------------- create


@command
class TokenCreate(Command):
    name = "token create"
    synopsis = "Create a new token"
    usage = "token create [options]"
    description = """
  Creates a new token that can be used for authentication. This token will be
  created as a child of the currently authenticated token. The generated token
  will inherit all policies and permissions of the currently authenticated
  token unless you explicitly define a subset list policies to assign to the
  token.

  A ttl can also be associated with the token. If a ttl is not associated
  with the token, then it cannot be renewed. If a ttl is associated with
  the token, it will expire after that amount of time unless it is renewed.

  Metadata associated with the token (specified with "-metadata") is written
  to the audit log when the token is used.

  If a role is specified, the role may override parameters specified here.
"""

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "id",
            str,
            "",
            "Value for the token. By default, this is an auto-generated string. Specifying "
            "this value requires sudo permissions.",
        )
        fs.add(
            "display-name",
            str,
            "",
            "Name to associate with this token. This is a non-sensitive value that can be "
            "used to help identify created secrets (e.g. prefixes).",
        )
        fs.add(
            "ttl",
            DURATION,
            0,
            "Initial TTL to associate with the token. Token renewals may be able to extend "
            "beyond this value, depending on the configured maximum TTLs. This is specified "
            'as a numeric string with suffix like "30s" or "5m".',
        )
        fs.add(
            "explicit-max-ttl",
            DURATION,
            0,
            "Explicit maximum lifetime for the token. Unlike normal TTLs, the maximum TTL is "
            "a hard limit and cannot be exceeded. This is specified as a numeric string with "
            'suffix like "30s" or "5m".',
        )
        fs.add(
            "period",
            DURATION,
            0,
            "If specified, every renewal will use the given period. Periodic tokens do not "
            "expire (unless -explicit-max-ttl is also provided). Setting this value requires "
            'sudo permissions. This is specified as a numeric string with suffix like "30s" '
            'or "5m".',
        )
        fs.add(
            "renewable",
            bool,
            True,
            "Allow the token to be renewed up to it's maximum TTL.",
            default_text="true",
        )
        fs.add(
            "orphan",
            bool,
            False,
            "Create the token with no parent. This prevents the token from being revoked "
            "when the token which created it expires. Setting this value requires root or "
            "sudo permissions.",
        )
        fs.add(
            "no-default-policy",
            bool,
            False,
            'Detach the "default" policy from the policy set for this token.',
        )
        fs.add(
            "use-limit",
            int,
            0,
            "Number of times this token can be used. After the last use, the token is "
            "automatically revoked. By default, tokens can be used an unlimited number of "
            "times until their expiration.",
        )
        fs.add(
            "role",
            str,
            "",
            "Name of the role to create the token against. Specifying -role may override "
            "other arguments. The locally authenticated token must have permission for "
            '"auth/token/create/<role>".',
        )
        fs.add(
            "type",
            str,
            "service",
            'The type of token to create. Can be "service" or "batch".',
            default_text="service",
        )
        fs.add(
            "metadata",
            KV,
            None,
            "Arbitrary key=value metadata to associate with the token. This metadata will "
            "show in the audit log when the token is used. This can be specified multiple "
            "times to add multiple pieces of metadata.",
        )
        fs.add(
            "policy",
            list,
            None,
            "Name of a policy to associate with this token. This can be specified multiple "
            "times to attach multiple policies.",
        )
        fs.add(
            "entity-alias",
            str,
            "",
            "Name of the entity alias to associate with during token creation. Only works in "
            "combination with -role argument and used entity alias must be listed in "
            "allowed_entity_aliases. If this has been specified, the entity will not be "
            "inherited from the parent.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        if args:
            ctx.ui.error(f"Too many arguments (expected 0, got {len(args)})")
            return 1
        o = ctx.opts
        renewable = bool(o["renewable"]) and o["type"] != "batch"
        client = client_or_none(ctx)
        if client is None:
            return 2
        # api.TokenCreateRequest, field by field (omitempty where the client has it).
        body = OrderedObject()
        if o["id"]:
            body["id"] = o["id"]
        policies = [go_trim_space(p) for p in o.get("policy") or []]
        if policies:
            body["policies"] = policies
        if o.get("metadata"):
            body["meta"] = dict(o["metadata"])
        body["ttl"] = go_duration_text(o["ttl"])
        body["explicit_max_ttl"] = go_duration_text(o["explicit-max-ttl"])
        body["period"] = go_duration_text(o["period"])
        if o["orphan"]:
            body["no_parent"] = True
        if o["no-default-policy"]:
            body["no_default_policy"] = True
        body["display_name"] = o["display-name"]
        body["num_uses"] = o["use-limit"]
        body["renewable"] = renewable
        body["type"] = o["type"]
        body["entity_alias"] = o["entity-alias"]
        path = f"auth/token/create/{o['role']}" if o["role"] else "auth/token/create"
        try:
            secret = call(client, "POST", path, body)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error creating token: {exc}")
            return 2
        return _output(ctx, secret)


def _output(ctx: Context, secret: Secret | None) -> int:
    """PrintRawField with -field, OutputSecret otherwise."""
    if ctx.field:
        if secret is None:
            ctx.ui.error(f'Field "{ctx.field}" not present in secret')
            return 1
        return ctx.output_secret_or_field(secret)
    return ctx.output_secret(secret)


# --------------------------------------------------------------------------- lookup


_ACCESSOR_HELP = (
    "Treat the argument as an accessor instead of a token. When this option is selected, "
    "the output will NOT include the token."
)


@command
class TokenLookup(Command):
    name = "token lookup"
    synopsis = "Display information about a token"
    usage = "token lookup [options] [TOKEN | ACCESSOR]"
    description = f"""
  Displays information about a token or accessor. If a TOKEN is not provided,
  the locally authenticated token is used.

  Get information about the locally authenticated token (this uses the
  /auth/token/lookup-self endpoint and permission):

      $ {PROG} token lookup

  Get information about a particular token (this uses the /auth/token/lookup
  endpoint and permission):

      $ {PROG} token lookup 96ddf4bc-d217-f3ba-f9bd-017055595017

  Get information about a token via its accessor:

      $ {PROG} token lookup -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da

  For a full list of examples, please see the documentation.
"""

    def add_flags(self, fs: FlagSet) -> None:
        fs.add("accessor", bool, False, _ACCESSOR_HELP)

    def run(self, ctx: Context, args: list[str]) -> int:
        accessor = bool(ctx.opts["accessor"])
        if accessor and len(args) != 1:
            which = "Not enough" if len(args) < 1 else "Too many"
            ctx.ui.error(f"{which} arguments with -accessor (expected 1, got {len(args)})")
            return 1
        if len(args) > 1:
            ctx.ui.error(f"Too many arguments (expected 0-1, got {len(args)})")
            return 1
        token = go_trim_space(args[0]) if args else ""
        client = client_or_none(ctx)
        if client is None:
            return 2
        try:
            if token == "":
                secret = call(client, "GET", "auth/token/lookup-self")
            elif accessor:
                secret = call(client, "POST", "auth/token/lookup-accessor", {"accessor": token})
            else:
                secret = call(client, "POST", "auth/token/lookup", {"token": token})
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error looking up token: {exc}")
            return 2
        return _output(ctx, secret)


# --------------------------------------------------------------------------- renew


@command
class TokenRenew(Command):
    name = "token renew"
    synopsis = "Renew a token lease"
    usage = "token renew [options] [TOKEN]"
    description = f"""
  Renews a token's lease, extending the amount of time it can be used. If a
  TOKEN is not provided, the locally authenticated token is used. A token
  accessor can be used as well. Lease renewal will fail if the token is not
  renewable, the token has already been revoked, or if the token has already
  reached its maximum TTL.

  Renew a token (this uses the /auth/token/renew endpoint and permission):

      $ {PROG} token renew 96ddf4bc-d217-f3ba-f9bd-017055595017

  Renew the currently authenticated token (this uses the /auth/token/renew-self
  endpoint and permission):

      $ {PROG} token renew

  Renew a token requesting a specific increment value:

      $ {PROG} token renew -increment=30m 96ddf4bc-d217-f3ba-f9bd-017055595017

  For a full list of examples, please see the documentation.
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.add("accessor", bool, False, _ACCESSOR_HELP)
        fs.add(
            "increment",
            DURATION,
            0,
            "Request a specific increment for renewal. This increment may not be honored, "
            "for instance in the case of periodic tokens. If not supplied, the server will "
            'use the default TTL. This is specified as a numeric string with suffix like "30s" '
            'or "5m".',
            aliases=("i",),
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        if len(args) > 1:
            ctx.ui.error(f"Too many arguments (expected 1, got {len(args)})")
            return 1
        token = go_trim_space(args[0]) if args else ""
        client = client_or_none(ctx)
        if client is None:
            return 2
        increment = whole_seconds(ctx.opts["increment"])
        try:
            if token == "":
                secret = call(client, "PUT", "auth/token/renew-self", {"increment": increment})
            elif ctx.opts["accessor"]:
                body = {"accessor": token, "increment": increment}
                secret = call(client, "POST", "auth/token/renew-accessor", body)
            else:
                body = {"increment": increment, "token": token}
                secret = call(client, "PUT", "auth/token/renew", body)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error renewing token: {exc}")
            return 2
        return ctx.output_secret(secret)


# --------------------------------------------------------------------------- revoke


@command
class TokenRevoke(Command):
    name = "token revoke"
    synopsis = "Revoke a token and its children"
    usage = "token revoke [options] [TOKEN | ACCESSOR]"
    description = f"""
  Revokes authentication tokens and their children. If a TOKEN is not provided,
  the locally authenticated token is used. The "-mode" flag can be used to
  control the behavior of the revocation. See the "-mode" flag documentation
  for more information.

  Revoke a token and all the token's children:

      $ {PROG} token revoke 96ddf4bc-d217-f3ba-f9bd-017055595017

  Revoke a token leaving the token's children:

      $ {PROG} token revoke -mode=orphan 96ddf4bc-d217-f3ba-f9bd-017055595017

  Revoke a token by accessor:

      $ {PROG} token revoke -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da

  For a full list of examples, please see the documentation.
"""
    output = None

    def add_flags(self, fs: FlagSet) -> None:
        fs.add("accessor", bool, False, "Treat the argument as an accessor instead of a token.")
        fs.add("self", bool, False, "Perform the revocation on the currently authenticated token.")
        fs.add(
            "mode",
            str,
            "",
            "Type of revocation to perform. If unspecified, the server will revoke the token "
            'and all of the token\'s children. If "orphan", the server will revoke only the '
            'token, leaving the children as orphans. If "path", tokens created from the '
            "given authentication path prefix are deleted along with their children.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        o = ctx.opts
        token = go_trim_space(args[0]) if args else ""
        mode, is_self, accessor = o["mode"], bool(o["self"]), bool(o["accessor"])
        if mode not in ("", "orphan", "path"):
            ctx.ui.error(f"Invalid mode: {mode}")
            return 1
        problem = ""
        if is_self and args:
            problem = f"Too many arguments with -self (expected 0, got {len(args)})"
        elif not is_self and len(args) > 1:
            problem = f"Too many arguments (expected 1 or -self, got {len(args)})"
        elif not is_self and not args:
            problem = f"Not enough arguments (expected 1 or -self, got {len(args)})"
        elif is_self and accessor:
            problem = "Cannot use -self with -accessor!"
        elif is_self and mode:
            problem = "Cannot use -self with -mode!"
        elif accessor and mode:
            problem = f"Cannot use -accessor with -mode={mode}!"
        if problem:
            ctx.ui.error(problem)
            return 1
        client = client_or_none(ctx)
        if client is None:
            return 2
        try:
            if is_self:
                client.request("PUT", "auth/token/revoke-self")
            elif accessor:
                client.request("POST", "auth/token/revoke-accessor", data={"accessor": token})
            elif mode == "orphan":
                client.request("PUT", "auth/token/revoke-orphan", data={"token": token})
            elif mode == "path":
                client.request("PUT", f"sys/leases/revoke-prefix/{token}")
            else:
                client.request("PUT", "auth/token/revoke", data={"token": token})
        except ClientError as exc:
            ctx.ui.error(f"Error revoking token: {exc}")
            return 2
        ctx.ui.output("Success! Revoked token (if it existed)")
        return 0


# --------------------------------------------------------------------------- capabilities


def _string_list(value: Any) -> list[str] | None:
    """mapstructure.Decode into []string (None for nil); ValueError when not strings."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"'' expected a map or struct, got \"{type(value).__name__}\"")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(
                "decoding failed due to the following error(s):\n\n"
                f"'[{index}]' expected type 'string', got unconvertible type"
            )
        out.append(item)
    return out


@command
class TokenCapabilities(Command):
    name = "token capabilities"
    synopsis = "Print capabilities of a token on a path"
    usage = "token capabilities [options] [TOKEN] PATH"
    description = f"""
  Fetches the capabilities of a token for a given path. If a TOKEN is provided
  as an argument, the "/sys/capabilities" endpoint and permission is used. If
  no TOKEN is provided, the "/sys/capabilities-self" endpoint and permission
  is used with the locally authenticated token.

  List capabilities for the local token on the "secret/foo" path:

      $ {PROG} token capabilities secret/foo

  List capabilities for a token on the "cubbyhole/foo" path:

      $ {PROG} token capabilities 96ddf4bc-d217-f3ba-f9bd-017055595017 cubbyhole/foo

  For a full list of examples, please see the documentation.
"""
    output = "format"

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args:
            ctx.ui.error("Not enough arguments (expected 1-2, got 0)")
            return 1
        if len(args) > 2:
            ctx.ui.error(f"Too many arguments (expected 1-2, got {len(args)})")
            return 1
        client = client_or_none(ctx)
        if client is None:
            return 2
        # One argument: the client's own token (then capabilities-self is used).
        token, path = (args[0], args[1]) if len(args) == 2 else (client.token, args[0])
        endpoint = "sys/capabilities-self" if token == client.token else "sys/capabilities"
        try:
            secret = call(client, "POST", endpoint, {"path": path, "token": token})
            if secret is None or secret.data is None:
                raise ValueError("data from server response is empty")
            capabilities = _string_list(secret.data.get(path))
            if not capabilities and "capabilities" in secret.data:
                capabilities = _string_list(secret.data["capabilities"])
        except (ClientError, SecretDecodeError, ValueError) as exc:
            ctx.ui.error(f"Error listing capabilities: {exc}")
            return 2
        if capabilities is None:
            ctx.ui.error("No capabilities found")
            return 1
        if ctx.format == "table":
            ctx.ui.output(", ".join(sorted(capabilities)))
            return 0
        return ctx.output_data(capabilities)
