"""`kv` commands (spec §7.7): get, put, patch, delete, undelete, destroy, list, scan,
rollback and enable-versioning; `kv metadata …` lives in `kv_metadata`.

Every command first asks `sys/internal/ui/mounts/<path>` which engine version
serves the path (a 404 means an old server: version 1), then talks to the
version 1 path (`<mount>/<key>`) or to the version 2 endpoints
(`<mount>/data/<key>`, `<mount>/metadata/<key>`, …). Paths are given either
as `<mount>/<key>` or as `-mount=<mount> <key>`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, Any

from strongroom.cli import output as out
from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.client import ApiError, Client, ClientError
from strongroom.cli.flags import FlagSet
from strongroom.cli.gotext import go_trim_space
from strongroom.cli.kvargs import KVError, parse_kv_args
from strongroom.cli.secret import Secret, SecretDecodeError, parse_secret
from strongroom.jsonutil import JsonNumber

KV_HELP = (
    f"Usage: {PROG} kv <subcommand> [options] [args]\n"
    "\n"
    "  This command has subcommands for interacting with OpenBao's key-value\n"
    "  store. Here are some simple examples; more detailed examples are available\n"
    "  in the subcommands or the documentation.\n"
    "\n"
    '  Create or update the key named "foo" in the "secret" mount with the value\n'
    '  "bar=baz":\n'
    "\n"
    f"      $ {PROG} kv put -mount=secret foo bar=baz\n"
    "\n"
    "  Read this value back:\n"
    "\n"
    f"      $ {PROG} kv get -mount=secret foo\n"
    "\n"
    "  Get metadata for the key:\n"
    "\n"
    f"      $ {PROG} kv metadata get -mount=secret foo\n"
    "\t  \n"
    "  Get a specific version of the key:\n"
    "\n"
    f"      $ {PROG} kv get -mount=secret -version=1 foo\n"
    "\n"
    "  The deprecated path-like syntax can also be used, but this should be avoided \n"
    "  for KV v2, as the fact that it is not actually the full API path to \n"
    "  the secret (secret/data/foo) can cause confusion:   \n"
    "  \n"
    f"      $ {PROG} kv get secret/foo\n"
    "\n"
    "  Please see the individual subcommand help for detailed usage information."
)

register_group("kv", "Interact with OpenBao's Key-Value storage", KV_HELP)

ERRORS = (ClientError, SecretDecodeError)


# --------------------------------------------------------------------------- path helpers


def go_clean(path: str) -> str:
    """Go's path.Clean."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def go_join(*elems: str) -> str:
    """Go's path.Join: the non-empty elements joined by slashes, then cleaned."""
    parts = [e for e in elems if e]
    return go_clean("/".join(parts)) if parts else ""


def sanitize(path: str) -> str:
    """Surrounding whitespace and leading/trailing slashes removed."""
    path = go_trim_space(path).lstrip("/")
    return go_trim_space(path).rstrip("/")


def trailing_slash(path: str) -> str:
    """Surrounding whitespace removed and exactly one trailing slash ensured ("" stays)."""
    path = go_trim_space(path)
    if path and not path.endswith("/"):
        path += "/"
    return path


def add_prefix(path: str, mount: str, api_prefix: str) -> str:
    """`<mount>/<api_prefix>/<rest of path>` for a version 2 mount."""
    if path in (mount, mount.removesuffix("/")):
        return go_join(mount, api_prefix)
    suffix = path.removeprefix(mount)
    while suffix == path:
        # Drop leading segments of the mount (namespaces) the path does not carry.
        head = mount.split("/", 1)
        if len(head) <= 1 or head[1] == "":
            break
        mount = head[1].removesuffix("/")
        suffix = suffix.removeprefix(mount)
    return go_join(mount, api_prefix, suffix)


def section_header(title: str, data: Any) -> str:
    """`==== Title ====` sized for a key/value table of `data`."""
    longest = 0
    if isinstance(data, dict):
        longest = max((len(k.encode("utf-8", "surrogateescape")) for k in data), default=0)
    return out.pad(title, longest + 4 + 5)


def output_path(ctx: Context, path: str, title: str) -> None:
    ctx.ui.output(out.pad(title, len(path.encode("utf-8", "surrogateescape"))))
    ctx.ui.output(path)
    ctx.ui.output("")


def duration_text(ns: int) -> str:
    """time.Duration.String() of a nanosecond count."""
    from strongroom.durations import go_duration

    return go_duration(Fraction(ns, 1_000_000_000))


def parse_versions(values: list[str]) -> list[str]:
    """`-versions` values split at commas, items trimmed (empty items kept)."""
    result: list[str] = []
    for value in values:
        value = go_trim_space(value)
        if value:
            result.extend(go_trim_space(v) for v in value.split(","))
    return result


def go_type_name(value: Any) -> str:
    """Go's %T of a JSON-decoded value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | JsonNumber | float):
        return "json.Number"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "<nil>"


# --------------------------------------------------------------------------- requests


class PreflightError(Exception):
    """The engine-version lookup failed; str() is printed as is."""


def preflight(client: Client, path: str) -> tuple[str, int]:
    """(mount path, engine version) serving `path`, from sys/internal/ui/mounts.

    The lookup is never wrapped nor turned into a curl command / policy.
    """
    request = client.new_request("GET", "sys/internal/ui/mounts/" + path, wrap_ttl="")
    try:
        response = client.send(request, intercept=False)
    except ClientError as exc:
        raise PreflightError(str(exc)) from None
    error = response.error()
    if error is not None:
        if response.status == 404:
            return "", 1
        settings = client.settings
        if response.status == 403 and (settings.output_curl_string or settings.output_policy):
            raise PreflightError(
                "This output flag requires the success of a preflight request \n"
                "to determine the version of a KV secrets engine. Please \n"
                f"re-run this command with a token with read access to {path}. \n"
                "Note that if the path you are trying to reach is a KV v2 path, your "
                "token's policy must \nallow read access to that path in the format "
                "'mount-path/data/foo', not just 'mount-path/foo'."
            )
        raise PreflightError(str(error))
    try:
        secret = parse_secret(response.body)
    except SecretDecodeError as exc:
        raise PreflightError(str(exc)) from None
    if secret is None:
        raise PreflightError("nil response from pre-flight request")
    data = secret.data or {}
    mount = data.get("path")
    mount = mount if isinstance(mount, str) else ""
    options = data.get("options")
    version = options.get("version") if isinstance(options, dict) else None
    return mount, 2 if version == "2" else 1


def kv_read(
    client: Client, path: str, params: list[tuple[str, str]] | None = None, intercept: bool = True
) -> Secret | None:
    """GET with the kv read rules: a 404 is no secret unless it carries warnings or data."""
    request = client.new_request("GET", path, params)
    response = client.send(request, intercept=intercept)
    if response.status == 404:
        try:
            secret = parse_secret(response.body)
        except SecretDecodeError:
            raise response.error() from None  # type: ignore[misc]
        if secret is not None and (secret.warnings or secret.data):
            return secret
        return None
    error = response.error()
    if error is not None:
        raise error
    return parse_secret(response.body)


@dataclass
class Target:
    """Where a kv command operates."""

    mount: str  # the mount path reported by the preflight ("" for version 1 fallbacks)
    path: str  # the path argument (joined with the mount for `-mount` on version 2)
    v2: bool
    mount_flag: bool

    def full(self, api_prefix: str) -> str:
        """The API path: `<mount>/<prefix>/<key>` (v2) or `<mount>/<key>` (v1)."""
        if self.v2:
            return add_prefix(self.path, self.mount, api_prefix)
        if self.mount_flag:
            return go_join(self.mount, self.path)
        return self.path


def locate(ctx: Context, client: Client, arg: str, *, raw_path: bool = False) -> Target | None:
    """Run the preflight for the path argument; None after printing its error."""
    mount_flag = ctx.opts.get("mount") or ""
    path = arg.removeprefix("/") if raw_path else sanitize(arg)
    try:
        if mount_flag:
            mount, version = preflight(client, sanitize(mount_flag))
            if version == 2:
                path = go_join(mount, path)
        else:
            mount, version = preflight(client, path)
    except PreflightError as exc:
        ctx.ui.error(str(exc))
        return None
    return Target(mount, path, version == 2, bool(mount_flag))


def get_client(ctx: Context) -> Client | None:
    try:
        return ctx.client()
    except ClientError as exc:
        ctx.ui.error(str(exc))
        return None


def mount_flag(fs: FlagSet, infix: str = "data") -> None:
    fs.add(
        "mount",
        str,
        "",
        "Specifies the path where the KV backend is mounted. If specified, the next "
        "argument will be interpreted as the secret path. If this flag is not specified, "
        "the next argument will be interpreted as the combined mount path and secret path, "
        f"with /{infix}/ automatically appended between KV v2 secrets.",
    )


def stdin_of(ctx: Context) -> IO[bytes]:
    return io.BytesIO(b"") if ctx.opts.get("non-interactive") else ctx.stdin


def print_metadata_table(ctx: Context, path: str, secret: Secret) -> int:
    """The `Secret Path` block and the new version's metadata (put, patch)."""
    output_path(ctx, path, "Secret Path")
    ctx.ui.output(section_header("Metadata", secret.data))
    return ctx.output_data(secret.data if secret.data is not None else {})


def write_failed(ctx: Context, path: str, exc: Exception, verb: str = "writing data to") -> int:
    ctx.ui.error(f"Error {verb} {path}: {exc}")
    if isinstance(exc, ApiError) and exc.secret is not None:
        ctx.output_secret(exc.secret)
    return 2


# --------------------------------------------------------------------------- get


@command
class KVGet(Command):
    name = "kv get"
    synopsis = "Retrieves data from the KV store"
    usage = "kv get [options] KEY"
    description = f"""
  Reads the value of a key from the key/value store. A missing key is an error;
  a key whose latest version was deleted shows only its metadata.

      $ {PROG} kv get -mount=secret foo

  The path-like form works too ("/data/" is added for version 2 mounts):

      $ {PROG} kv get secret/foo

  Read an older version with "-version":

      $ {PROG} kv get -mount=secret -version=1 foo
"""

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add("version", int, 0, "If passed, the value at the version number will be returned.")
        mount_flag(fs)

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = get_client(ctx)
        if client is None:
            return 2
        target = locate(ctx, client, args[0], raw_path=True)
        if target is None:
            return 2
        params: list[tuple[str, str]] = []
        if target.v2:
            path = target.full("data")
            if ctx.opts.get("version", 0) > 0:
                params.append(("version", str(ctx.opts["version"])))
        else:
            path = target.full("")
        try:
            secret = kv_read(client, path, params)
        except ERRORS as exc:
            ctx.ui.error(f"Error reading {path}: {exc}")
            return 2
        if secret is None:
            ctx.ui.error(f"No value found at {path}")
            return 2
        if ctx.field:
            return self._field(ctx, secret, target.v2, path)
        if secret.wrap_info is not None or ctx.opts.get("format", "table") != "table":
            return ctx.output_secret(secret)
        out.print_warnings(ctx.ui, secret)
        if target.v2:
            output_path(ctx, path, "Secret Path")
        data = secret.data
        metadata = (data or {}).get("metadata")
        if metadata is not None:
            ctx.ui.output(section_header("Metadata", metadata))
            ctx.output_data(metadata)
            ctx.ui.output("")
        if target.v2 and data is not None:
            data = data.get("data")
        if data is not None:
            ctx.ui.output(section_header("Data", data))
            ctx.output_data(data)
        return 0

    @staticmethod
    def _field(ctx: Context, secret: Secret, v2: bool, path: str) -> int:
        if not v2:
            return ctx.output_secret_or_field(secret)
        data = (secret.data or {}).get("data")
        if data is None:
            ctx.ui.error(f"No data found at {path}")
            return 2
        if ctx.field == "data" and not (isinstance(data, dict) and "data" in data):
            return ctx.output_secret_or_field(secret)
        if not isinstance(data, dict):
            ctx.ui.error(f"{go_type_name(data)} is not supported by PrintRawField")
            return 1
        return ctx.print_field(data, ctx.field)


# --------------------------------------------------------------------------- put


@command
class KVPut(Command):
    name = "kv put"
    synopsis = "Sets or updates data in the KV store"
    usage = "kv put [options] KEY [DATA]"
    description = f"""
  Writes the data to a key of the key/value store, replacing what was there
  (version 2 mounts keep the previous versions).

      $ {PROG} kv put -mount=secret foo bar=baz

  Values starting with "@" are read from a file, "-" reads from stdin:

      $ {PROG} kv put -mount=secret foo @data.json
      $ echo "abcd1234" | {PROG} kv put -mount=secret foo bar=-

  Check-and-set: "-cas=0" only writes a new key, "-cas=N" only writes when the
  current version is N.

      $ {PROG} kv put -mount=secret -cas=1 foo bar=baz
"""

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add(
            "cas",
            int,
            -1,
            "Specifies to use a Check-And-Set operation. If not set the write will be "
            "allowed. If set to 0 a write will only be allowed if the key doesn't exist. "
            "If the index is non-zero the write will only be allowed if the key's current "
            "version matches the version specified in the cas parameter.",
            default_text="-1",
        )
        mount_flag(fs)

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args:
            ctx.ui.error("Not enough arguments (expected >1, got 0)")
            return 1
        if len(args) == 1:
            ctx.ui.error("Must supply data")
            return 1
        client = get_client(ctx)
        if client is None:
            return 2
        try:
            data: Any = parse_kv_args(args[1:], stdin_of(ctx))
        except KVError as exc:
            ctx.ui.error(str(exc))
            return 1
        target = locate(ctx, client, args[0])
        if target is None:
            return 2
        if target.v2:
            path = target.full("data")
            options: dict[str, Any] = {}
            if ctx.opts["cas"] > -1:
                options["cas"] = ctx.opts["cas"]
            data = {"data": data, "options": options}
        else:
            path = target.full("")
        try:
            secret = client.write(path, data)
        except ERRORS as exc:
            return write_failed(ctx, path, exc)
        if secret is None:
            if ctx.format == "table":
                ctx.ui.output(f"Success! Data written to: {path}")
            return 0
        if ctx.field:
            return ctx.print_field(secret, ctx.field)
        if secret.wrap_info is not None and secret.wrap_info.ttl != 0:
            return ctx.output_secret(secret)
        if ctx.format == "table":
            return print_metadata_table(ctx, path, secret)
        return ctx.output_secret(secret)


# --------------------------------------------------------------------------- patch


@command
class KVPatch(Command):
    name = "kv patch"
    synopsis = "Sets or updates data in the KV store without overwriting"
    usage = "kv patch [options] KEY [DATA]"
    description = f"""
  Merges the data into the latest version of a key (version 2 mounts only):
  the given keys change, the others keep their values.

      $ {PROG} kv patch -mount=secret foo bar=baz

  By default an HTTP PATCH request is sent; when the server or the policy does
  not allow it, the command falls back to reading the key and writing it back.
  "-method=patch" only tries the PATCH request, "-method=rw" only the
  read-then-write approach.

      $ {PROG} kv patch -mount=secret -method=rw foo bar=baz

  Remove keys with "-remove-data":

      $ {PROG} kv patch -mount=secret -remove-data=bar foo
"""

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add(
            "cas",
            int,
            0,
            "Specifies to use a Check-And-Set operation. If set to 0 or not set, the patch "
            "will be allowed. If the index is non-zero the patch will only be allowed if "
            "the key's current version matches the version specified in the cas parameter.",
        )
        fs.add(
            "method",
            str,
            "",
            'Specifies which method of patching to use. If set to "patch", then an HTTP '
            'PATCH request will be issued. If set to "rw", then a read will be performed, '
            "then a local update, followed by a remote update.",
        )
        mount_flag(fs)
        fs.add(
            "remove-data",
            list,
            None,
            "Key to remove from data. To specify multiple values, specify this flag "
            "multiple times.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        remove = [go_trim_space(k) for k in ctx.opts.get("remove-data") or []]
        if not args:
            ctx.ui.error("Not enough arguments (expected >1, got 0)")
            return 1
        if not remove and len(args) == 1:
            ctx.ui.error("Must supply data")
            return 1
        client = get_client(ctx)
        if client is None:
            return 2
        try:
            new_data = parse_kv_args(args[1:], stdin_of(ctx))
        except KVError as exc:
            ctx.ui.error(str(exc))
            return 1
        target = locate(ctx, client, args[0])
        if target is None:
            return 2
        if not target.v2:
            ctx.ui.error("K/V engine mount must be version 2 for patch support")
            return 2
        path = target.full("data")
        if new_data is None:
            new_data = {}
        for key in remove:
            new_data[key] = None
        method = ctx.opts.get("method") or ""
        if method == "rw":
            secret, code = self._read_then_write(ctx, client, path, new_data)
        elif method in ("patch", ""):
            secret, code = self._merge_patch(ctx, client, path, new_data, fallback=not method)
        else:
            ctx.ui.error(f"Unsupported method provided to -method flag: {method}")
            return 2
        if code != 0 or secret is None:
            return code
        if secret.wrap_info is not None and secret.wrap_info.ttl != 0:
            return ctx.output_secret(secret)
        if ctx.format == "table":
            return print_metadata_table(ctx, path, secret)
        return ctx.output_secret(secret)

    def _finish(self, ctx: Context, path: str, secret: Secret | None) -> tuple[Secret | None, int]:
        if secret is None:
            if ctx.format == "table":
                ctx.ui.output(f"Success! Data written to: {path}")
            return None, 0
        if ctx.field:
            return None, ctx.print_field(secret, ctx.field)
        return secret, 0

    def _read_then_write(
        self, ctx: Context, client: Client, path: str, new_data: dict[str, Any]
    ) -> tuple[Secret | None, int]:
        try:
            secret = kv_read(client, path, intercept=False)
        except ERRORS as exc:
            ctx.ui.error(f"Error doing pre-read at {path}: {exc}")
            return None, 2
        if secret is None or secret.data is None:
            ctx.ui.error(f"No value found at {path}")
            return None, 2
        meta = secret.data.get("metadata")
        if meta is None:
            ctx.ui.error(f"No metadata found at {path}; patch only works on existing data")
            return None, 2
        if not isinstance(meta, dict):
            ctx.ui.error(f"Metadata found at {path} is not the expected type (JSON object)")
            return None, 2
        data = secret.data.get("data")
        if data is None:
            ctx.ui.error(f"No data found at {path}; patch only works on existing data")
            return None, 2
        if not isinstance(data, dict):
            ctx.ui.error(f"Data found at {path} is not the expected type (JSON object)")
            return None, 2
        data.update(new_data)
        body = {"data": data, "options": {"cas": meta.get("version")}}
        try:
            written = client.write(path, body)
        except ERRORS as exc:
            ctx.ui.error(f"Error writing data to {path}: {exc}")
            return None, 2
        return self._finish(ctx, path, written)

    def _merge_patch(
        self, ctx: Context, client: Client, path: str, new_data: dict[str, Any], fallback: bool
    ) -> tuple[Secret | None, int]:
        options: dict[str, Any] = {}
        if ctx.opts["cas"] > 0:
            options["cas"] = ctx.opts["cas"]
        try:
            secret = client.patch(path, {"data": new_data, "options": options})
        except ApiError as exc:
            if fallback and exc.status == 405:
                return self._read_then_write(ctx, client, path, new_data)
            if fallback and exc.status == 403:
                ctx.ui.warn(
                    f"Data was written to {path} but we recommend that you add the "
                    '"patch" capability to your ACL policy in order to use HTTP PATCH in '
                    "the future."
                )
                return self._read_then_write(ctx, client, path, new_data)
            ctx.ui.error(f"Error writing data to {path}: {exc}")
            return None, 2
        except ERRORS as exc:
            ctx.ui.error(f"Error writing data to {path}: {exc}")
            return None, 2
        return self._finish(ctx, path, secret)


# ------------------------------------------------------------------ delete, undelete, destroy

_VERSIONS_HELP = "Specifies the version numbers to {}."


@command
class KVDelete(Command):
    name = "kv delete"
    synopsis = "Deletes versions in the KV store"
    usage = "kv delete [options] PATH"
    description = f"""
  Deletes the data of a key. On version 2 mounts the latest version (or the
  versions given with "-versions") is marked as deleted and can be restored
  with "kv undelete"; "kv metadata delete" removes all versions for good.

      $ {PROG} kv delete -mount=secret foo
      $ {PROG} kv delete -mount=secret -versions=3 foo
"""

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add("versions", list, None, _VERSIONS_HELP.format("delete"))
        mount_flag(fs)

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = get_client(ctx)
        if client is None:
            return 2
        target = locate(ctx, client, args[0])
        if target is None:
            return 2
        versions = ctx.opts.get("versions") or []
        path = target.full("data")
        try:
            if target.v2 and versions:
                secret = client.write(target.full("delete"), {"versions": parse_versions(versions)})
            else:
                secret = client.delete(path)
        except ERRORS as exc:
            return write_failed(ctx, path, exc, "deleting")
        if secret is None:
            if ctx.format == "table":
                ctx.ui.output(f"Success! Data deleted (if it existed) at: {path}")
            return 0
        if ctx.field:
            return ctx.print_field(secret, ctx.field)
        return ctx.output_secret(secret)


class _VersionsCommand(Command):
    """undelete and destroy: a write of {"versions": [...]} to `<mount>/<verb>/<key>`."""

    output = "format"
    verb = ""

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add("versions", list, None, _VERSIONS_HELP.format(self.verb))
        mount_flag(fs)

    def locate(self, ctx: Context, client: Client, arg: str) -> Target | None:
        return locate(ctx, client, arg)

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        versions = ctx.opts.get("versions") or []
        if not versions:
            ctx.ui.error(
                f'No versions provided, use the "-versions" flag to specify the version '
                f"to {self.verb}."
            )
            return 1
        client = get_client(ctx)
        if client is None:
            return 2
        target = self.locate(ctx, client, args[0])
        if target is None:
            return 2
        if not target.v2:
            ctx.ui.error(f"{self.verb.capitalize()} not supported on KV Version 1")
            return 1
        path = add_prefix(target.path, target.mount, self.verb)
        try:
            secret = client.write(path, {"versions": parse_versions(versions)})
        except ERRORS as exc:
            return write_failed(ctx, path, exc)
        if secret is None:
            if ctx.format == "table":
                ctx.ui.output(f"Success! Data written to: {path}")
            return 0
        return ctx.output_secret(secret)


@command
class KVUndelete(_VersionsCommand):
    name = "kv undelete"
    synopsis = "Undeletes versions in the KV store"
    usage = "kv undelete [options] KEY"
    description = f"""
  Restores deleted versions of a key (version 2 mounts only), so that they are
  returned by "kv get" again.

      $ {PROG} kv undelete -mount=secret -versions=3 foo
"""
    verb = "undelete"

    def locate(self, ctx: Context, client: Client, arg: str) -> Target | None:
        # With -mount the key is not joined with the mount the preflight reports.
        mount = ctx.opts.get("mount") or ""
        if not mount:
            return locate(ctx, client, arg)
        try:
            _, version = preflight(client, sanitize(mount))
        except PreflightError as exc:
            ctx.ui.error(str(exc))
            return None
        return Target(sanitize(mount), sanitize(arg), version == 2, True)


@command
class KVDestroy(_VersionsCommand):
    name = "kv destroy"
    synopsis = "Permanently removes one or more versions in the KV store"
    usage = "kv destroy [options] KEY"
    description = f"""
  Permanently removes the data of versions of a key (version 2 mounts only).
  Nothing happens for a key that does not exist.

      $ {PROG} kv destroy -mount=secret -versions=3 foo
"""
    verb = "destroy"


# --------------------------------------------------------------------------- list / scan


class _ListLike(Command):
    output = "format"
    verb = "listing"

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        mount_flag(fs)

    def fetch(self, client: Client, path: str) -> Secret | None:
        return client.list(path)

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args and ctx.opts.get("mount"):
            args = [""]
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = get_client(ctx)
        if client is None:
            return 2
        target = locate(ctx, client, args[0])
        if target is None:
            return 2
        path = target.full("metadata")
        try:
            secret = self.fetch(client, path)
        except ERRORS as exc:
            ctx.ui.error(f"Error {self.verb} {path}: {exc}")
            return 2
        if secret is not None and secret.wrap_info is not None and secret.wrap_info.ttl != 0:
            return ctx.output_secret(secret)
        keys = (secret.data or {}).get("keys") if secret is not None else None
        is_list = isinstance(keys, list)
        if ctx.format != "table" and (secret is None or secret.data is None or not is_list):
            ctx.output_data({})
            return 2
        if secret is None or secret.data is None:
            ctx.ui.error(f"No value found at {path}")
            return 2
        if not is_list:
            ctx.ui.error(f"No entries found at {path}")
            return 2
        return out.output_list(ctx.ui, ctx.format, secret, ctx.detailed)


@command
class KVList(_ListLike):
    name = "kv list"
    synopsis = "List data or secrets"
    usage = "kv list [options] PATH"
    description = f"""
  Lists the keys under a path of the key/value store (folders end with "/").

      $ {PROG} kv list secret/my-app/
"""


@command
class KVScan(_ListLike):
    name = "kv scan"
    synopsis = "Scan data or secrets"
    usage = "kv scan [options] PATH"
    description = f"""
  Lists all keys under a path of the key/value store, recursively.

      $ {PROG} kv scan secret/my-app/
"""
    verb = "scanning"

    def fetch(self, client: Client, path: str) -> Secret | None:
        return kv_read(client, path, [("scan", "true")])


# --------------------------------------------------------------------------- rollback


@command
class KVRollback(Command):
    name = "kv rollback"
    synopsis = "Rolls back to a previous version of data"
    usage = "kv rollback [options] KEY"
    description = f"""
  Makes an older version of a key current again (version 2 mounts only). The
  data of that version is written as a new version: rolling back to version 2
  when the current version is 5 creates version 6.

      $ {PROG} kv rollback -mount=secret -version=2 foo
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add(
            "version",
            int,
            None,
            "Specifies the version number that should be made current again.",
            default_text="0",
        )
        mount_flag(fs)

    def run(self, ctx: Context, args: list[str]) -> int:
        version = ctx.opts.get("version")
        if len(args) != 1:
            ctx.ui.error(f"Invalid number of arguments (expected 1, got {len(args)})")
            return 1
        if version is None:
            ctx.ui.error("Version flag must be specified")
            return 1
        if version <= 0:
            ctx.ui.error(f"Invalid value {version} for the version flag")
            return 1
        client = get_client(ctx)
        if client is None:
            return 2
        target = locate(ctx, client, args[0])
        if target is None:
            return 2
        if not target.v2:
            ctx.ui.error("K/V engine mount must be version 2 for rollback support")
            return 2
        path = target.full("data")
        current = self._read(ctx, client, path, None)
        if isinstance(current, int):
            return current
        cas = current[0].get("version")
        wanted = self._read(ctx, client, path, [("version", str(version))])
        if isinstance(wanted, int):
            return wanted
        meta, data = wanted
        if meta.get("deletion_time") is not None and meta["deletion_time"] != "":
            ctx.ui.error("Cannot roll back to a version that has been deleted")
            return 2
        if meta.get("destroyed") is not None and meta["destroyed"] is True:
            ctx.ui.error("Cannot roll back to a version that has been destroyed")
            return 2
        if data is None:
            ctx.ui.error(f"No data found at {path}; rollback only works on existing data")
            return 2
        if not isinstance(data, dict):
            ctx.ui.error(f"Data found at {path} is not the expected type (JSON object)")
            return 2
        try:
            secret = client.write(path, {"data": data, "options": {"cas": cas}})
        except ERRORS as exc:
            ctx.ui.error(f"Error writing data to {path}: {exc}")
            return 2
        if secret is None:
            if ctx.format == "table":
                ctx.ui.output(f"Success! Data written to: {path}")
            return 0
        return ctx.output_secret(secret)

    @staticmethod
    def _read(
        ctx: Context, client: Client, path: str, params: list[tuple[str, str]] | None
    ) -> tuple[dict[str, Any], Any] | int:
        """(metadata, data) of a version, or the exit code after an error."""
        try:
            secret = kv_read(client, path, params)
        except ERRORS as exc:
            ctx.ui.error(f"Error doing pre-read at {path}: {exc}")
            return 2
        if secret is None or secret.data is None:
            ctx.ui.error(f"No value found at {path}")
            return 2
        meta = secret.data.get("metadata")
        if meta is None:
            ctx.ui.error(f"No metadata found at {path}; rollback only works on existing data")
            return 2
        if not isinstance(meta, dict):
            ctx.ui.error(f"Metadata found at {path} is not the expected type (JSON object)")
            return 2
        return meta, secret.data.get("data")


# --------------------------------------------------------------------------- enable-versioning


@command
class KVEnableVersioning(Command):
    name = "kv enable-versioning"
    synopsis = "Turns on versioning for a KV store"
    usage = "kv enable-versioning [options] KEY"
    description = f"""
  Upgrades a version 1 key/value mount to version 2 (versioned keys).

      $ {PROG} kv enable-versioning secret
"""
    output = "format"

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = get_client(ctx)
        if client is None:
            return 2
        from strongroom.cli.commands.secrets import tune_input

        path = trailing_slash(sanitize(args[0]))
        body = tune_input(options={"version": "2"}, default_ttl="", max_ttl="")
        try:
            client.request("POST", f"sys/mounts/{path}/tune", data=body)
        except ClientError as exc:
            ctx.ui.error(f"Error tuning secrets engine {path}: {exc}")
            return 2
        ctx.ui.output(f"Success! Tuned the secrets engine at: {path}")
        return 0


# `kv metadata …` registers itself on import.
from strongroom.cli.commands import kv_metadata as _kv_metadata  # noqa: E402

__all__ = ["_kv_metadata"]
