"""`kv metadata` commands (spec §7.7): get, put, patch, delete (version 2 mounts only)."""

from __future__ import annotations

from typing import Any

from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.commands.kv import (
    ERRORS,
    duration_text,
    get_client,
    locate,
    mount_flag,
    output_path,
    section_header,
    write_failed,
)
from strongroom.cli.flags import DURATION, KV, FlagSet
from strongroom.cli.gotext import go_trim_space

KV_METADATA_HELP = (
    f"Usage: {PROG} kv metadata <subcommand> [options] [args]\n"
    "\n"
    "  This command has subcommands for interacting with the metadata endpoint in\n"
    "  OpenBao's key-value store. Here are some simple examples; more detailed\n"
    "  examples are available in the subcommands or the documentation.\n"
    "\n"
    "  Create or update a metadata entry for a key:\n"
    "\n"
    f"      $ {PROG} kv metadata put -mount=secret -max-versions=5 "
    "-delete-version-after=3h25m19s foo\n"
    "\n"
    "  Get the metadata for a key, this provides information about each existing\n"
    "  version:\n"
    "\n"
    f"      $ {PROG} kv metadata get -mount=secret foo\n"
    "\n"
    "  Delete a key and all existing versions:\n"
    "\n"
    f"      $ {PROG} kv metadata delete -mount=secret foo\n"
    "\n"
    "  The deprecated path-like syntax can also be used, but this should be avoided \n"
    "  for KV v2, as the fact that it is not actually the full API path to \n"
    "  the secret (secret/metadata/foo) can cause confusion: \n"
    "  \n"
    f"      $ {PROG} kv metadata get secret/foo\n"
    "\n"
    "  Please see the individual subcommand help for detailed usage information."
)

register_group("kv metadata", "Interact with OpenBao's Key-Value storage", KV_METADATA_HELP)


class _MetadataCommand(Command):
    """Shared path handling: only version 2 mounts have metadata."""

    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        mount_flag(fs, "metadata")

    def target(self, ctx: Context, args: list[str]) -> tuple[Any, str] | int:
        """(client, metadata path) or an exit code."""
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        client = get_client(ctx)
        if client is None:
            return 2
        target = locate(ctx, client, args[0])
        if target is None:
            return 2
        if not target.v2:
            ctx.ui.error("Metadata not supported on KV Version 1")
            return 1
        return client, target.full("metadata")

    def finish_write(self, ctx: Context, path: str, secret: Any) -> int:
        if secret is None:
            if ctx.format == "table":
                ctx.ui.output(f"Success! Data written to: {path}")
            return 0
        return ctx.output_secret(secret)


@command
class KVMetadataGet(_MetadataCommand):
    name = "kv metadata get"
    synopsis = "Retrieves key metadata from the KV store"
    usage = "kv metadata get [options] KEY"
    description = f"""
  Shows the metadata of a key: its settings and every version with its
  creation and deletion times. A missing key is an error.

      $ {PROG} kv metadata get -mount=secret foo
"""

    def run(self, ctx: Context, args: list[str]) -> int:
        found = self.target(ctx, args)
        if isinstance(found, int):
            return found
        client, path = found
        try:
            secret = client.read(path)
        except ERRORS as exc:
            ctx.ui.error(f"Error reading {path}: {exc}")
            return 2
        if secret is None:
            ctx.ui.error(f"No value found at {path}")
            return 2
        if secret.wrap_info is not None or ctx.opts.get("format", "table") != "table":
            return ctx.output_secret(secret)
        versions = (secret.data or {}).get("versions")
        if versions is None:
            ctx.ui.error(f"No value found at {path}")
            ctx.output_secret(secret)
            return 2
        assert secret.data is not None
        del secret.data["versions"]
        output_path(ctx, path, "Metadata Path")
        ctx.ui.output(section_header("Metadata", secret.data))
        ctx.output_secret(secret)
        if not isinstance(versions, dict):
            return 0
        numbers = []
        for key in versions:
            if not _is_go_int(key):
                ctx.ui.error(f"Error parsing version {key}")
                return 2
            numbers.append(int(key))
        for number in sorted(numbers):
            entry = versions.get(str(number))
            ctx.ui.output("\n" + section_header(f"Version {number}", entry))
            ctx.output_data(entry if entry is not None else {})
        return 0


def _is_go_int(text: str) -> bool:
    """strconv.Atoi accepts it (optional sign, decimal digits, within int64)."""
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        return False
    return -(1 << 63) <= int(text) < (1 << 63)


class _MetadataWrite(_MetadataCommand):
    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add(
            "max-versions",
            int,
            -1,
            "The number of versions to keep. If not set, the backend's configured max "
            "version is used.",
            default_text="-1",
        )
        fs.add(
            "cas-required",
            bool,
            None,
            "If true the key will require the cas parameter to be set on all write "
            "requests. If false, the backend's configuration will be used.",
            example="*bool",
            default_text="",
        )
        fs.add(
            "delete-version-after",
            DURATION,
            -1,
            "Specifies the length of time before a version is deleted. If not set, the "
            "backend's configured delete-version-after is used. Cannot be greater than the "
            "backend's delete-version-after. The delete-version-after is specified as a "
            'numeric string with a suffix like "30s" or "3h25m19s".',
            default_text="-1ns",
        )
        fs.add(
            "custom-metadata",
            KV,
            None,
            "Specifies arbitrary version-agnostic key=value metadata meant to describe a "
            "secret. This can be specified multiple times to add multiple pieces of "
            "metadata.",
        )
        mount_flag(fs, "metadata")

    def settings(self, ctx: Context) -> dict[str, Any]:
        """The body fields common to put and patch (a Go map: sorted on the wire)."""
        opts = ctx.opts
        data: dict[str, Any] = {}
        if opts["max-versions"] >= 0:
            data["max_versions"] = opts["max-versions"]
        if opts["delete-version-after"] >= 0:
            data["delete_version_after"] = duration_text(opts["delete-version-after"])
        if opts.get("cas-required") is not None:
            data["cas_required"] = opts["cas-required"]
        return data


@command
class KVMetadataPut(_MetadataWrite):
    name = "kv metadata put"
    synopsis = "Sets or updates key settings in the KV store"
    usage = "kv metadata put [options] KEY"
    description = f"""
  Creates the metadata of a key (a key without data) or replaces its settings.

      $ {PROG} kv metadata put -mount=secret foo
      $ {PROG} kv metadata put -mount=secret -max-versions=5 foo
      $ {PROG} kv metadata put -mount=secret -delete-version-after=3h25m19s foo
      $ {PROG} kv metadata put -mount=secret -cas-required foo
      $ {PROG} kv metadata put -mount=secret -custom-metadata=foo=abc -custom-metadata=bar=123 foo
"""

    def run(self, ctx: Context, args: list[str]) -> int:
        found = self.target(ctx, args)
        if isinstance(found, int):
            return found
        client, path = found
        data = self.settings(ctx)
        if ctx.opts.get("custom-metadata"):
            data["custom_metadata"] = dict(ctx.opts["custom-metadata"])
        try:
            secret = client.write(path, data)
        except ERRORS as exc:
            return write_failed(ctx, path, exc)
        return self.finish_write(ctx, path, secret)


@command
class KVMetadataPatch(_MetadataWrite):
    name = "kv metadata patch"
    synopsis = "Patches key settings in the KV store"
    usage = "kv metadata patch [options] KEY"
    description = f"""
  Changes some settings of a key's metadata, keeping the others. Custom
  metadata entries are merged; remove entries with "-remove-custom-metadata".

      $ {PROG} kv metadata patch -mount=secret -max-versions=5 foo
      $ {PROG} kv metadata patch -mount=secret -custom-metadata=foo=abc foo
      $ {PROG} kv metadata patch -mount=secret -remove-custom-metadata=bar foo
"""

    def add_flags(self, fs: FlagSet) -> None:
        super().add_flags(fs)
        fs.add(
            "remove-custom-metadata",
            list,
            None,
            "Key to remove from custom metadata. To specify multiple values, specify this "
            "flag multiple times.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        found = self.target(ctx, args)
        if isinstance(found, int):
            return found
        client, path = found
        data = self.settings(ctx)
        custom: dict[str, Any] = dict(ctx.opts.get("custom-metadata") or {})
        for key in ctx.opts.get("remove-custom-metadata") or []:
            custom[go_trim_space(key)] = None
        data["custom_metadata"] = custom
        try:
            secret = client.patch(path, data)
        except ERRORS as exc:
            return write_failed(ctx, path, exc)
        return self.finish_write(ctx, path, secret)


@command
class KVMetadataDelete(_MetadataCommand):
    name = "kv metadata delete"
    synopsis = "Deletes all versions and metadata for a key in the KV store"
    usage = "kv metadata delete [options] PATH"
    description = f"""
  Deletes a key for good: its metadata and the data of all its versions.

      $ {PROG} kv metadata delete -mount=secret foo
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        found = self.target(ctx, args)
        if isinstance(found, int):
            return found
        client, path = found
        try:
            client.delete(path)
        except ERRORS as exc:
            return write_failed(ctx, path, exc, "deleting")
        ctx.ui.output(f"Success! Data deleted (if it existed) at: {path}")
        return 0
