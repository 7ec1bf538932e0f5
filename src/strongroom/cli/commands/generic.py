"""Generic path commands: read, write, delete, list, patch, path-help, unwrap (spec §7.7)."""

from __future__ import annotations

from strongroom.cli import output as out
from strongroom.cli.base import PROG, Command, Context, command
from strongroom.cli.client import ApiError, ClientError
from strongroom.cli.flags import FlagSet
from strongroom.cli.gojson import marshal
from strongroom.cli.kvargs import KVError, parse_kv_args, parse_kv_string_lists
from strongroom.cli.secret import SecretDecodeError, decode_json


def sanitize_path(path: str) -> str:
    """Leading and trailing slashes removed (how paths appear in messages)."""
    return path.strip("/")


def _force_flag(fs: FlagSet, what: str) -> None:
    fs.add(
        "force",
        bool,
        False,
        f"Allow the operation to continue with no key=value pairs. This allows {what} "
        "keys that do not need or expect data.",
        aliases=("f",),
    )


@command
class Read(Command):
    name = "read"
    synopsis = "Read data and retrieves secrets"
    usage = "read [options] PATH"
    description = f"""
  Reads data from the server at the given path. This can be used to read
  secrets, generate dynamic credentials, get configuration details, and more.

  Read a secret from the static secrets engine:

      $ {PROG} read secret/my-secret

  For a full list of examples and paths, please see the documentation that
  corresponds to the secrets engine in use.
"""
    allow_raw = True

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args:
            ctx.ui.error("Not enough arguments (expected 1, got 0)")
            return 1
        try:
            client = ctx.client()
        except ClientError as exc:
            ctx.ui.error(str(exc))
            return 2
        path = sanitize_path(args[0])
        try:
            params = parse_kv_string_lists(args[1:], ctx.stdin)
        except KVError as exc:
            ctx.ui.error(str(exc))
            return 1
        if ctx.format == "raw":
            try:
                response = client.read_raw(path, params)
                error = response.error()
                if error is not None:
                    raise error
            except ClientError as exc:
                ctx.ui.error(f"Error reading: {path}: {exc}")
                return 2
            ctx.ui.output(response.body.decode("utf-8", "surrogateescape"))
            return 0
        try:
            secret = client.read(path, params)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error reading {path}: {exc}")
            return 2
        if secret is None:
            ctx.ui.error(f"No value found at {path}")
            return 2
        return ctx.output_secret_or_field(secret)


class _WriteLike(Command):
    """write and patch share everything but the HTTP method."""

    verb = "write"

    def add_flags(self, fs: FlagSet) -> None:
        _force_flag(fs, "writing to")

    def send(self, ctx: Context, path: str, data: object) -> object:
        raise NotImplementedError

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args:
            ctx.ui.error("Not enough arguments (expected 1, got 0)")
            return 1
        if len(args) == 1 and not ctx.opts.get("force"):
            ctx.ui.error("Must supply data or use -force")
            return 1
        path = sanitize_path(args[0])
        try:
            data = parse_kv_args(args[1:], ctx.stdin)
        except KVError as exc:
            ctx.ui.error(str(exc))
            return 1
        try:
            client = ctx.client()
        except ClientError as exc:
            ctx.ui.error(str(exc))
            return 2
        try:
            send = client.patch if self.verb == "patch" else client.write
            secret = send(path, data)
        except ApiError as exc:
            ctx.ui.error(f"Error writing data to {path}: {exc}")
            if exc.secret is not None:
                ctx.output_secret(exc.secret)
            return 2
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error writing data to {path}: {exc}")
            return 2
        if secret is None:
            if ctx.format == "table":
                ctx.ui.output(f"Success! Data written to: {path}")
            return 0
        return ctx.output_secret_or_field(secret)


@command
class Write(_WriteLike):
    name = "write"
    synopsis = "Write data, configuration, and secrets"
    usage = "write [options] PATH [DATA K=V...]"
    description = f"""
  Writes data to the server at the given path. The data can be credentials,
  secrets, configuration, or arbitrary data. The specific behavior of this
  command is determined at the thing mounted at the path.

  Data is specified as "key=value" pairs. If the value begins with an "@", then
  it is loaded from a file. If the value is "-", the value is read from stdin.
  A lone "-" reads a JSON object from stdin.

  Persist data in the generic secrets engine:

      $ {PROG} write secret/my-secret foo=bar

  Create a new encryption key in the transit secrets engine:

      $ {PROG} write -f transit/keys/my-key
"""


@command
class Patch(_WriteLike):
    name = "patch"
    synopsis = "Patch data, configuration, and secrets"
    usage = "patch [options] PATH [DATA K=V...]"
    description = f"""
  Patches data at the given path with a JSON merge patch. Only the given keys
  change; keys set to null are removed. The data is specified as for "write".

      $ {PROG} patch pki/roles/example allow_localhost=false
"""
    verb = "patch"


@command
class Delete(Command):
    name = "delete"
    synopsis = "Delete secrets and configuration"
    usage = "delete [options] PATH"
    description = f"""
  Deletes secrets and configuration from the server at the given path. The
  behavior of "delete" is delegated to the backend corresponding to the given
  path.

  Remove data in the status secret backend:

      $ {PROG} delete secret/my-secret
"""

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args:
            ctx.ui.error("Not enough arguments (expected 1, got 0)")
            return 1
        try:
            client = ctx.client()
        except ClientError as exc:
            ctx.ui.error(str(exc))
            return 2
        path = sanitize_path(args[0])
        try:
            params = parse_kv_string_lists(args[1:], ctx.stdin)
        except KVError as exc:
            ctx.ui.error(str(exc))
            return 1
        try:
            client.delete(path, params)
        except ApiError as exc:
            ctx.ui.error(f"Error deleting {path}: {exc}")
            if exc.secret is not None:
                ctx.output_secret(exc.secret)
            return 2
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error deleting {path}: {exc}")
            return 2
        if ctx.format == "table":
            ctx.ui.output(f"Success! Data deleted (if it existed) at: {path}")
        return 0


@command
class List(Command):
    name = "list"
    synopsis = "List data or secrets"
    usage = "list [options] PATH"
    description = f"""
  Lists data from the server at the given path. This can be used to list keys
  in a given secrets engine.

  List values under the "my-app" folder of the generic secrets engine:

      $ {PROG} list secret/my-app/
"""
    output = "list"

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "after",
            str,
            "",
            "Last seen key on applicable endpoints; the next key alphabetically will be "
            "the first returned.",
        )
        fs.add(
            "limit",
            int,
            -1,
            "Limits the number of list responses on applicable endpoints.",
            default_text="-1",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        path = sanitize_path(args[0])
        try:
            client = ctx.client()
        except ClientError as exc:
            ctx.ui.error(str(exc))
            return 2
        params: list[tuple[str, str]] = []
        if ctx.opts.get("after"):
            params.append(("after", ctx.opts["after"]))
        if ctx.opts.get("limit", -1) > 0:
            params.append(("limit", str(ctx.opts["limit"])))
        try:
            secret = client.list(path + "/", params)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error listing {path}: {exc}")
            return 2
        if secret is not None and secret.wrap_info is not None and secret.wrap_info.ttl != 0:
            return ctx.output_secret(secret)
        keys = (secret.data or {}).get("keys") if secret is not None else None
        is_list = isinstance(keys, list)
        if ctx.format != "table" and (secret is None or secret.data is None or not is_list):
            ctx.output_data({})
            return 2
        if secret is None:
            ctx.ui.error(f"No value found at {path}")
            return 2
        if secret.data is None:
            # Only warnings: print what there is.
            return ctx.output_secret(secret)
        if not is_list:
            ctx.ui.error(f"No entries found at {path}")
            return 2
        return out.output_list(ctx.ui, ctx.format, secret, ctx.detailed)


@command
class PathHelp(Command):
    name = "path-help"
    synopsis = "Retrieve API help for paths"
    usage = "path-help [options] PATH"
    description = f"""
  Retrieves API help for paths. All endpoints in the server provide built-in
  help in markdown format. This includes system paths, secret engines, and auth
  methods.

  Get help for the thing mounted at database/:

      $ {PROG} path-help database/

  Each secret engine produces different help output.
"""
    output = "format"

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        try:
            client = ctx.client()
        except ClientError as exc:
            ctx.ui.error(str(exc))
            return 2
        path = args[0]
        try:
            response = client.request("GET", path, params=[("help", "1")])
            doc = decode_json(response.body) if response.body.strip() else None
        except (ClientError, SecretDecodeError) as exc:
            if "Vault is sealed" in str(exc):
                ctx.ui.error(
                    "Error: Vault is sealed.\n\n"
                    'The "path-help" command requires the Vault to be unsealed so that the mount\n'
                    "points of the secret engines are known."
                )
            else:
                ctx.ui.error(f"Error retrieving help: {exc}")
            return 2
        doc = doc if isinstance(doc, dict) else {}
        if ctx.format == "json":
            ctx.ui.output(marshal(doc.get("openapi")))
            return 0
        help_text = doc.get("help")
        ctx.ui.output(help_text if isinstance(help_text, str) else "")
        return 0


@command
class Unwrap(Command):
    name = "unwrap"
    synopsis = "Unwrap a wrapped secret"
    usage = "unwrap [options] [TOKEN]"
    description = f"""
  Unwraps a wrapped secret from the server by the given token. The result is
  the same as the "read" operation on the non-wrapped secret. If no token is
  given, the data in the currently authenticated token is unwrapped.

  Unwrap the data in the cubbyhole secrets engine for a token:

      $ {PROG} unwrap 3de9ece1-b347-e143-29b0-dc2dc31caafd

  Unwrap the data in the active token:

      $ {PROG} login 848f9ccf-7176-098c-5e2b-75a0689d41cd
      $ {PROG} unwrap # unwraps 848f9ccf...
"""

    def run(self, ctx: Context, args: list[str]) -> int:
        if len(args) > 1:
            ctx.ui.error(f"Too many arguments (expected 0-1, got {len(args)})")
            return 1
        token = args[0].strip() if args else ""
        try:
            client = ctx.client()
        except ClientError as exc:
            ctx.ui.error(str(exc))
            return 2
        try:
            secret = client.unwrap(token)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error unwrapping: {exc}")
            return 2
        if secret is None:
            if ctx.format == "table":
                ctx.ui.output("Successfully unwrapped. There was no data in the wrapped secret.")
            return 0
        if ctx.field:
            return ctx.output_secret_or_field(secret)
        if isinstance((secret.data or {}).get("keys"), list):
            return out.output_list(ctx.ui, ctx.format, secret, ctx.detailed)
        return ctx.output_secret(secret)
