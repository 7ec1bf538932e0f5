"""`status`: seal and HA status (spec §7.7). Also used by `operator unseal`."""

from __future__ import annotations

from typing import Any

from strongroom.cli import output as out
from strongroom.cli.base import PROG, Command, Context, command
from strongroom.cli.client import Client, ClientError
from strongroom.cli.gojson import OrderedObject
from strongroom.cli.gotext import columnize
from strongroom.cli.secret import SecretDecodeError, decode_json

ZERO_TIME = "0001-01-01T00:00:00Z"

# (JSON key, Go type, omitted from JSON when zero). The order is the client's.
_SEAL_FIELDS = (
    ("type", str, False),
    ("initialized", bool, False),
    ("sealed", bool, False),
    ("t", int, False),
    ("n", int, False),
    ("progress", int, False),
    ("nonce", str, False),
    ("version", str, False),
    ("commit_date", str, False),
    ("migration", bool, False),
    ("cluster_name", str, True),
    ("cluster_id", str, True),
    ("recovery_seal", bool, False),
    ("storage_type", str, True),
    ("build_date", str, False),
)
_LEADER_FIELDS = (
    ("ha_enabled", bool, False),
    ("is_self", bool, True),
    ("active_time", str, True),
    ("leader_address", str, True),
    ("leader_cluster_address", str, True),
    ("performance_standby", bool, True),
    ("performance_standby_last_remote_wal", int, True),
    ("last_wal", int, True),
    ("raft_committed_index", int, True),
    ("raft_applied_index", int, True),
)


def _zero(kind: type) -> Any:
    return {str: "", bool: False, int: 0}[kind]


def _pick(doc: Any, fields: tuple[tuple[str, type, bool], ...]) -> dict[str, Any]:
    doc = doc if isinstance(doc, dict) else {}
    values = {}
    for key, kind, _ in fields:
        value = doc.get(key)
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        values[key] = value if ok else _zero(kind)
    return values


class SealStatus:
    """The seal status joined with the leader status, as the client shows it."""

    def __init__(self, seal: dict[str, Any], leader: dict[str, Any]) -> None:
        self.values = {**_pick(seal, _SEAL_FIELDS), **_pick(leader, _LEADER_FIELDS)}
        if self.values["active_time"] == "":
            self.values["active_time"] = ZERO_TIME

    @property
    def sealed(self) -> bool:
        return bool(self.values["sealed"])

    def to_json(self) -> OrderedObject:
        obj = OrderedObject()
        for key, kind, omit in (*_SEAL_FIELDS, *_LEADER_FIELDS):
            value = self.values[key]
            if omit and (value == _zero(kind) or (key == "active_time" and value == ZERO_TIME)):
                continue
            obj[key] = value
        return obj

    def field_map(self) -> dict[str, Any]:
        # The reference client indexes the fields by their full JSON tag, so
        # `-field=cluster_name` is "not present" but `cluster_name,omitempty` works.
        fields = {}
        for key, _, omit in (*_SEAL_FIELDS, *_LEADER_FIELDS):
            name = f"{key},omitempty" if omit and key != "active_time" else key
            fields[name] = self.values[key]
        return fields

    def table(self) -> str:
        v = self.values
        rows = ["Key | Value", f"Seal Type | {v['type']}"]
        rows.append(f"Initialized | {_b(v['initialized'])}")
        rows.append(f"Sealed | {_b(v['sealed'])}")
        rows.append(f"Total Shares | {v['n']}")
        rows.append(f"Threshold | {v['t']}")
        if v["sealed"]:
            rows.append(f"Unseal Progress | {v['progress']}/{v['t']}")
            rows.append(f"Unseal Nonce | {v['nonce']}")
        if v["migration"]:
            rows.append(f"Seal Migration in Progress | {_b(v['migration'])}")
        rows.append(f"Version | {v['version']}")
        if v["commit_date"]:
            rows.append(f"Commit Date | {v['commit_date']}")
        if v["build_date"]:
            rows.append(f"Build Date | {v['build_date']}")
        if v["storage_type"]:
            rows.append(f"Storage Type | {v['storage_type']}")
        if v["cluster_name"] and v["cluster_id"]:
            rows.append(f"Cluster Name | {v['cluster_name']}")
            rows.append(f"Cluster ID | {v['cluster_id']}")
        rows.append(f"HA Enabled | {_b(v['ha_enabled'])}")
        if v["ha_enabled"]:
            if not v["sealed"]:
                rows.append(f"HA Cluster | {v['leader_cluster_address']}")
                mode = "active" if v["is_self"] else "standby"
                rows.append(f"HA Mode | {mode}")
                if v["is_self"] and v["active_time"] != ZERO_TIME:
                    rows.append(f"Active Since | {v['active_time']}")
                if not v["is_self"]:
                    rows.append(f"Active Node Address | {v['leader_address']}")
            if v["raft_committed_index"] > 0:
                rows.append(f"Raft Committed Index | {v['raft_committed_index']}")
            if v["raft_applied_index"] > 0:
                rows.append(f"Raft Applied Index | {v['raft_applied_index']}")
            if v["last_wal"]:
                rows.append(f"Last WAL | {v['last_wal']}")
        # The reference builds this table with "|" as the cell delimiter.
        header, *body = rows
        underline = "---|-----"
        return columnize([header, underline, *body], delim="|")


def _b(value: bool) -> str:
    return "true" if value else "false"


def fetch_json(client: Client, path: str, method: str = "GET", data: Any = None) -> Any:
    """One sys/ call whose answer is a plain JSON object."""
    response = client.request(method, path, data=data)
    return decode_json(response.body) if response.body.strip() else None


def leader_status(client: Client) -> dict[str, Any]:
    """GET sys/leader; `Vault is sealed` means HA is enabled but unknown."""
    try:
        doc = fetch_json(client, "sys/leader")
    except ClientError as exc:
        if "Vault is sealed" in str(exc):
            return {"ha_enabled": True}
        raise
    return doc if isinstance(doc, dict) else {}


def output_seal_status(ctx: Context, client: Client, seal: Any) -> int:
    """Print the seal status (plus leader info) in the requested format."""
    try:
        leader = leader_status(client)
    except (ClientError, SecretDecodeError) as exc:
        ctx.ui.error(f"Error checking leader status: {exc}")
        return 1
    status = SealStatus(seal if isinstance(seal, dict) else {}, leader)
    if ctx.field:
        fields = status.field_map()
        if fields.get(ctx.field) is None:
            ctx.ui.error(f'Field "{ctx.field}" not present in seal status')
            return 0
        out.print_raw_field(ctx.ui, ctx.format, fields, ctx.field)
        return 0
    if ctx.format == "table":
        ctx.ui.output(status.table())
        return 0
    out.output_data(ctx.ui, ctx.format, status.to_json())
    return 0


@command
class Status(Command):
    name = "status"
    synopsis = "Print seal and HA status"
    usage = "status [options]"
    description = """
  Prints the current state of the server including whether it is sealed and if
  HA mode is enabled. This command prints regardless of whether the server is
  sealed.

  The exit code reflects the seal status:

      - 0 - unsealed
      - 1 - error
      - 2 - sealed
"""

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 0)) is not None:
            return code
        try:
            client = ctx.client()
        except ClientError as exc:
            ctx.ui.error(str(exc))
            return 1  # 2 means "sealed" here
        try:
            seal = fetch_json(client, "sys/seal-status")
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error checking seal status: {exc}")
            return 1
        code = output_seal_status(ctx, client, seal)
        if isinstance(seal, dict) and seal.get("sealed") is True:
            return 2
        return code


__all__ = ["PROG", "SealStatus", "Status", "fetch_json", "output_seal_status"]
