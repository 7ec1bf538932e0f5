"""`audit` commands: enable, disable, list (spec §7.7, `sys/audit`)."""

from __future__ import annotations

import io
from typing import IO, Any

from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.client import ClientError
from strongroom.cli.commands.token import call, client_or_none
from strongroom.cli.flags import FlagSet
from strongroom.cli.gojson import OrderedObject
from strongroom.cli.gotext import go_trim_space, table_output
from strongroom.cli.kvargs import KVError, parse_kv_args
from strongroom.cli.secret import SecretDecodeError
from strongroom.jsonutil import JsonNumber

register_group(
    "audit",
    "Interact with audit devices",
    f"""Usage: {PROG} audit <subcommand> [options] [args]

  This command groups subcommands for interacting with the server's audit
  devices. Users can list, enable, and disable audit devices.

  *NOTE*: Once an audit device has been enabled, failure to audit could prevent
  the server from servicing future requests. It is highly recommended that you
  enable multiple audit devices.

  List all enabled audit devices:

      $ {PROG} audit list

  Enable a new audit device "file";

       $ {PROG} audit enable file file_path=/var/log/audit.log

  Please see the individual subcommand help for detailed usage information.""",
)

_KV_PREFIX = "Failed to parse K=V data: "


def kv_strings(args: list[str], stdin: IO[bytes] | None) -> dict[str, str]:
    """K=V arguments as a string map (the reference `parseArgsDataString`).

    Values are converted like mapstructure's weak decoding (`true` -> "1",
    null -> ""); lists and objects fail. Raises KVError whose text is the
    reason without the `Failed to parse K=V data: ` prefix.
    """
    try:
        data = parse_kv_args(args, stdin) or {}
    except KVError as exc:
        text = str(exc)
        raise KVError(text[len(_KV_PREFIX) :] if text.startswith(_KV_PREFIX) else text) from None
    result: dict[str, str] = {}
    errors: list[str] = []
    for key in sorted(data):
        value = data[key]
        if value is None:
            result[key] = ""
        elif isinstance(value, bool):
            result[key] = "1" if value else "0"
        elif isinstance(value, str):
            result[key] = value
        elif isinstance(value, int):
            result[key] = str(value)
        elif isinstance(value, JsonNumber):
            result[key] = value.text
        elif isinstance(value, float):
            result[key] = repr(value)
        else:
            kind = "map[string]interface {}" if isinstance(value, dict) else "[]interface {}"
            errors.append(f"'[{key}]' expected type 'string', got unconvertible type '{kind}'")
    if errors:
        raise KVError(
            "failed to convert values to strings: decoding failed due to the following "
            "error(s):\n\n" + "\n".join(errors)
        )
    return result


def ensure_trailing_slash(path: str) -> str:
    path = go_trim_space(path)
    return path + "/" if path and not path.endswith("/") else path


def sanitize_path(path: str) -> str:
    """Leading and trailing slashes (and surrounding whitespace) removed."""
    return go_trim_space(path).strip("/")


@command
class AuditEnable(Command):
    name = "audit enable"
    synopsis = "Enables an audit device"
    usage = "audit enable [options] TYPE [CONFIG K=V...]"
    description = f"""
  Enables an audit device at a given path.

  This command enables an audit device of TYPE. Additional options for
  configuring the audit device can be specified after the type in the same
  format as the "{PROG} write" command in key/value pairs.

  For example, to configure the file audit device to write audit logs at the
  path "/var/log/audit.log":

      $ {PROG} audit enable file file_path=/var/log/audit.log
"""
    output = None

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "description",
            str,
            "",
            "Human-friendly description for the purpose of this audit device.",
        )
        fs.add(
            "path",
            str,
            "",
            "Place where the audit device will be accessible. This must be unique across all "
            'audit devices. This defaults to the "type" of the audit device.',
        )
        fs.add(
            "local",
            bool,
            False,
            "Mark the audit device as a local-only device. Local devices are not replicated "
            "or removed by replication.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args:
            ctx.ui.error(
                "Error enabling audit device: audit type missing. Valid types include 'file', "
                "'socket' and 'syslog'."
            )
            return 1
        audit_type = go_trim_space(args[0])
        path = ensure_trailing_slash(ctx.opts["path"] or audit_type)
        stdin = io.BytesIO() if ctx.opts.get("non-interactive") else ctx.stdin
        try:
            options = kv_strings(args[1:], stdin)
        except KVError as exc:
            ctx.ui.error(f"{_KV_PREFIX}{exc}")
            return 1
        client = client_or_none(ctx)
        if client is None:
            return 2
        body = OrderedObject(
            type=audit_type,
            description=ctx.opts["description"],
            options=options,
            local=bool(ctx.opts["local"]),
        )
        try:
            client.request("PUT", f"sys/audit/{path}", data=body)
        except ClientError as exc:
            ctx.ui.error(f"Error enabling audit device: {exc}")
            return 2
        ctx.ui.output(f"Success! Enabled the {audit_type} audit device at: {path}")
        return 0


@command
class AuditDisable(Command):
    name = "audit disable"
    synopsis = "Disables an audit device"
    usage = "audit disable [options] PATH"
    description = f"""
  Disables an audit device. Once an audit device is disabled, no future audit
  logs are dispatched to it. The data associated with the audit device is not
  affected.

  The argument corresponds to the PATH of audit device, not the TYPE!

  Disable the audit device enabled at "file/":

      $ {PROG} audit disable file/
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        path = ensure_trailing_slash(sanitize_path(args[0]))
        client = client_or_none(ctx)
        if client is None:
            return 2
        try:
            client.request("DELETE", f"sys/audit/{path}")
        except ClientError as exc:
            ctx.ui.error(f"Error disabling audit device: {exc}")
            return 2
        ctx.ui.output(f"Success! Disabled audit device (if it was enabled) at: {path}")
        return 0


class _DecodeError(ValueError):
    pass


def _go_type(value: Any) -> str:
    """The Go type of a JSON-decoded value, as mapstructure names it."""
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    return "json.Number"


def _go_string(value: Any) -> str | None:
    """mapstructure's (non-weak) decoding into a string; None when it fails."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, JsonNumber):  # json.Number is a string type
        return value.text
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def decode_audits(data: dict[str, Any]) -> dict[str, OrderedObject | None]:
    """mapstructure.Decode of `sys/audit` data into map[string]*api.Audit.

    Raises _DecodeError with mapstructure's message listing every problem.
    """
    errors: list[str] = []
    audits: dict[str, OrderedObject | None] = {}
    for key in sorted(data):
        value = data[key]
        if value is None:
            audits[key] = None
            continue
        if not isinstance(value, dict):
            kind = {list: "slice", bool: "bool", dict: "map"}.get(type(value), "string")
            errors.append(f"'[{key}]' expected a map or struct, got \"{kind}\"")
            continue
        entry = OrderedObject(type="", description="", options=None, local=False, path="")
        for name in ("type", "description", "options", "local", "path"):
            if name not in value:
                continue
            found = value[name]
            where = f"[{key}].{name}"
            if name == "local":
                if found is None or isinstance(found, bool):
                    entry[name] = bool(found)
                else:
                    errors.append(
                        f"'{where}' expected type 'bool', got unconvertible type "
                        f"'{_go_type(found)}'"
                    )
            elif name == "options":
                if found is None:
                    continue
                if not isinstance(found, dict):
                    errors.append(
                        f"'{where}' expected type 'map[string]string', got unconvertible type "
                        f"'{_go_type(found)}'"
                    )
                    continue
                options: dict[str, str] = {}
                for option, item in found.items():
                    text = _go_string(item)
                    if text is None:
                        errors.append(
                            f"'{where}[{option}]' expected type 'string', got unconvertible "
                            f"type '{_go_type(item)}'"
                        )
                    else:
                        options[option] = text
                entry[name] = options
            else:
                text = _go_string(found)
                if text is None:
                    errors.append(
                        f"'{where}' expected type 'string', got unconvertible type "
                        f"'{_go_type(found)}'"
                    )
                else:
                    entry[name] = text
        audits[key] = entry
    if errors:
        raise _DecodeError("decoding failed due to the following error(s):\n\n" + "\n".join(errors))
    return audits


@command
class AuditList(Command):
    name = "audit list"
    synopsis = "Lists enabled audit devices"
    usage = "audit list [options]"
    description = f"""
  Lists the enabled audit devices on the server. The output lists the enabled
  audit devices and the options for those devices.

  List all audit devices:

      $ {PROG} audit list

  List detailed output about the audit devices:

      $ {PROG} audit list -detailed
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "detailed",
            bool,
            False,
            "Print detailed information such as options and replication status about each "
            "auth device.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        if args:
            ctx.ui.error(f"Too many arguments (expected 0, got {len(args)})")
            return 1
        client = client_or_none(ctx)
        if client is None:
            return 2
        try:
            secret = call(client, "GET", "sys/audit")
            if secret is None or secret.data is None:
                raise _DecodeError("data from server response is empty")
            audits = decode_audits(secret.data)
        except (ClientError, SecretDecodeError, _DecodeError) as exc:
            ctx.ui.error(f"Error listing audits: {exc}")
            return 2
        if ctx.format != "table":
            return ctx.output_data(audits)
        if not audits:
            ctx.ui.output("No audit devices are enabled.")
            return 2
        detailed = bool(ctx.opts["detailed"])
        if detailed:
            rows = ["Path | Type | Description | Replication | Options"]
        else:
            rows = ["Path | Type | Description"]
        empty = OrderedObject(type="", description="", options=None, local=False, path="")
        for key in sorted(audits):
            entry = audits[key] or empty  # (the reference crashes on a null entry)
            if not detailed:
                rows.append(f"{entry['path']} | {entry['type']} | {entry['description']}")
                continue
            options = entry["options"] or {}
            rows.append(
                f"{key} | {entry['type']} | {entry['description']} | "
                f"{'local' if entry['local'] else 'replicated'} | "
                + " ".join(f"{k}={options[k]}" for k in sorted(options))
            )
        ctx.ui.output(table_output(rows, "|"))
        return 0
