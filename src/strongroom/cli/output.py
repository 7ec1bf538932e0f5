"""Rendering command results the way the reference CLI does (spec §7.5, §7.6).

Entry points (all return the command's exit code where that matters):

* `output_secret(ui, fmt, secret)` — a secret as table/json/yaml;
* `output_data(ui, fmt, data)` — a plain map (table rows) or any JSON value;
* `output_list(ui, fmt, secret, detailed)` — `Keys` tables / JSON arrays;
* `print_raw_field(ui, fmt, data, field)` — `-field=NAME`;
* `print_warnings(ui, secret)` — server warnings on stderr (table format);
* building blocks: `go_value` (Go `%v`), `go_quote_list` (`%q` of a list),
  `humanize` (duration-looking keys), `secret_rows`, `table`, `pad`,
  `render_json`, `render_yaml`.

`fmt` is the already-validated output format name (`table`, `json`, `yaml`,
`yml`, `pretty`, `raw`).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from strongroom.cli.gojson import OrderedObject, marshal_indent
from strongroom.cli.gotext import HOPE_DELIM, go_trim_space, table_output, wrap_at_length
from strongroom.cli.kvargs import go_quote
from strongroom.cli.secret import Secret, go_time_string
from strongroom.jsonutil import JsonNumber

__all__ = [
    "FORMATS",
    "GoNil",
    "OutputError",
    "Writer",
    "go_quote_list",
    "go_value",
    "humanize",
    "looks_like_duration",
    "output_data",
    "output_list",
    "output_secret",
    "output_with_format",
    "pad",
    "print_raw",
    "print_raw_field",
    "print_warnings",
    "raw_field",
    "render_json",
    "render_yaml",
    "secret_rows",
    "table",
]

FORMATS = ("table", "json", "yaml", "yml", "pretty")


class Writer(Protocol):
    """The part of the command UI that output needs (see `base.UI`)."""

    stdout_is_tty: bool

    def output(self, text: str) -> None: ...  # stdout, newline appended
    def error(self, text: str) -> None: ...  # stderr, newline appended
    def warn(self, text: str) -> None: ...  # stderr, newline appended
    def raw(self, text: str) -> None: ...  # stdout, as is


class OutputError(ValueError):
    """The value cannot be shown in the requested format."""


class GoNil:
    """A typed nil (Go nil slice or map): `%v` gives `[]`/`map[]`, JSON gives null."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "slice" or "map"


# --------------------------------------------------------------------------- values


def _go_float(value: float) -> str:
    from strongroom.cli.goyaml import _go_format_float

    return _go_format_float(value)


def go_value(value: Any) -> str:
    """Go's `%v` of a JSON-decoded value (maps sorted, nil as `<nil>`)."""
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, GoNil):
        return "[]" if value.kind == "slice" else "map[]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def go_quote_list(values: list[str] | None) -> str:
    """Go's `%q` of a []string: `["a" "b"]`, nil or empty -> `[]`."""
    return "[" + " ".join(go_quote(v) for v in values or []) + "]"


_DURATION_SUFFIXES = ("_period", "_ttl", "_duration")
_INT_TEXT = re.compile(r"-?[0-9]+")


def looks_like_duration(key: str) -> bool:
    return key in ("period", "ttl", "duration", "lease_max", "ttl_max") or key.endswith(
        _DURATION_SUFFIXES
    )


def humanize(value: Any) -> Any:
    """An integer number of seconds as `1h1m1s`; anything else unchanged."""
    from strongroom.durations import human_duration

    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return human_duration(value)
    if isinstance(value, JsonNumber) and _INT_TEXT.fullmatch(value.text):
        number = int(value.text)
        if -(1 << 63) <= number < (1 << 63):
            return human_duration(number)
    return value


def _row(key: str, value: Any) -> str:
    return f"{key}{HOPE_DELIM}{go_value(value)}"


def table(rows: list[str]) -> str:
    """Header + underline + rows; cells separated by HOPE_DELIM."""
    return table_output(rows, HOPE_DELIM)


def pad(title: str, width: int) -> str:
    """A section header like `==== Data ====` centred over `width` columns."""
    n = width - (len(title) + 2)
    if n <= 0:
        n = 4
    if n % 2 == 1:
        n += 1
    half = "=" * (n // 2)
    return f"{half} {title} {half}"


# --------------------------------------------------------------------------- secrets


def secret_rows(secret: Secret) -> list[str]:
    """The Key/Value rows of a secret's table, without the header."""
    rows: list[str] = []
    if secret.lease_duration > 0:
        if secret.lease_id:
            rows.append(_row("lease_id", secret.lease_id))
            rows.append(_row("lease_duration", humanize(secret.lease_duration)))
            rows.append(_row("lease_renewable", secret.renewable))
        else:
            rows.append(_row("refresh_interval", humanize(secret.lease_duration)))
    auth = secret.auth
    if auth is not None:
        rows.append(_row("token", auth.client_token))
        rows.append(_row("token_accessor", auth.accessor))
        duration = "∞" if auth.lease_duration == 0 else humanize(auth.lease_duration)
        rows.append(_row("token_duration", duration))
        rows.append(_row("token_renewable", auth.renewable))
        rows.append(_row("token_policies", go_quote_list(auth.token_policies)))
        rows.append(_row("identity_policies", go_quote_list(auth.identity_policies)))
        rows.append(_row("policies", go_quote_list(auth.policies)))
        for key in sorted(auth.metadata or {}):
            rows.append(_row(f"token_meta_{key}", (auth.metadata or {})[key]))
    wrap = secret.wrap_info
    if wrap is not None:
        rows.append(_row("wrapping_token:", wrap.token))
        rows.append(_row("wrapping_accessor:", wrap.accessor))
        rows.append(_row("wrapping_token_ttl:", humanize(wrap.ttl)))
        rows.append(_row("wrapping_token_creation_time:", go_time_string(wrap.creation_time)))
        rows.append(_row("wrapping_token_creation_path:", wrap.creation_path))
        if wrap.wrapped_accessor:
            rows.append(_row("wrapped_accessor:", wrap.wrapped_accessor))
    rows.extend(_map_rows(secret.data or {}))
    return rows


def _map_rows(data: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(data):
        value = data[key]
        if looks_like_duration(key):
            value = humanize(value)
        out.append(_row(key, value))
    return out


def print_warnings(ui: Writer, secret: Secret | None) -> None:
    """Server warnings as the table formatter prints them (stderr)."""
    if secret is None or not secret.warnings:
        return
    ui.warn("WARNING! The following warnings were returned from OpenBao:\n")
    for warning in secret.warnings:
        ui.warn(wrap_at_length(f"* {warning}", 2))
        ui.warn("")


def _table_secret(ui: Writer, secret: Secret) -> None:
    print_warnings(ui, secret)
    rows = secret_rows(secret)
    if rows:
        ui.output(table([f"Key{HOPE_DELIM}Value", *rows]))


def _table_map(ui: Writer, data: dict[str, Any]) -> None:
    rows = _map_rows(data)
    if rows:
        ui.output(table([f"Key{HOPE_DELIM}Value", *rows]))


def _table_list(ui: Writer, secret: Secret | None, items: list[Any], detailed: bool) -> None:
    print_warnings(ui, secret)
    info: dict[str, Any] = {}
    if secret is not None and secret.data is not None:
        found = secret.data.get("key_info")
        if isinstance(found, dict) and detailed:
            info = found
    keys = []
    for item in items:
        if not isinstance(item, str):
            raise OutputError(f"{go_value(item)} is not a string")
        keys.append(item)
    if not keys:
        return
    keys.sort()
    headers: list[str] = []
    if info:
        seen: set[str] = set()
        import bisect

        for key, values in info.items():
            # Rows for keys that are not listed do not add columns (the
            # reference check misses keys sorting after the last one).
            index = bisect.bisect_left(keys, key)
            if index < len(keys) and keys[index] != key:
                continue
            if isinstance(values, dict):
                seen.update(values)
        headers = sorted(seen)
    rows = [HOPE_DELIM.join(["Keys", *headers])]
    for key in keys:
        cells = [key]
        values = info.get(key)
        if isinstance(values, dict):
            for header in headers:
                if header not in values:
                    cells.append("")  # shown as n/a
                    continue
                value = values[header]
                if looks_like_duration(header):
                    value = humanize(value)
                cells.append(go_value(value))
        rows.append(HOPE_DELIM.join(cells))
    ui.output(table(rows))


# --------------------------------------------------------------------------- formats


def _json_value(data: Any) -> Any:
    if isinstance(data, Secret):
        return data.to_json()
    if isinstance(data, GoNil):
        return None
    return data


def render_json(data: Any) -> str:
    """MarshalIndent with two spaces (no trailing newline)."""
    return marshal_indent(_json_value(data))


def render_yaml(data: Any) -> str:
    """The YAML document for a value (ends with a newline); raises OutputError."""
    from strongroom.cli.goyaml import YamlError, to_yaml

    try:
        return to_yaml(_json_value(data))
    except YamlError as exc:
        raise OutputError(str(exc)) from None


def output_with_format(
    ui: Writer,
    fmt: str,
    secret: Secret | None,
    data: Any,
    *,
    detailed: bool = False,
) -> int:
    """Print `data` (the secret itself, a list, a map, or a struct-like object)."""
    if fmt not in FORMATS:
        ui.error(f"Invalid output format: {fmt}")
        return 1
    try:
        if fmt == "json":
            shown = secret if secret is not None and detailed and data is not secret else data
            ui.output(render_json(shown))
        elif fmt in ("yaml", "yml"):
            ui.output(go_trim_space(render_yaml(data)))
        elif fmt == "pretty":
            raise OutputError("cannot use the pretty formatter for this type")
        elif isinstance(data, Secret):
            _table_secret(ui, data)
        elif isinstance(data, list):
            _table_list(ui, secret, data, detailed)
        elif isinstance(data, dict) and not isinstance(data, OrderedObject):
            _table_map(ui, data)
        elif data is None:
            return 0
        else:
            raise OutputError("cannot use the table formatter for this type")
    except OutputError as exc:
        ui.error(f"Could not parse output: {exc}")
        return 1
    return 0


def output_secret(ui: Writer, fmt: str, secret: Secret | None) -> int:
    """OutputSecret (no secret: nothing in table format, `null` in json/yaml)."""
    return output_with_format(ui, fmt, secret, secret)


def output_data(ui: Writer, fmt: str, data: Any) -> int:
    return output_with_format(ui, fmt, None, data)


def output_list(ui: Writer, fmt: str, secret: Secret, detailed: bool = False) -> int:
    """OutputList for a list response: the `keys` (whole secret for json -detailed)."""
    keys = (secret.data or {}).get("keys")
    return output_with_format(ui, fmt, secret, keys, detailed=detailed)


# --------------------------------------------------------------------------- -field


def raw_field(secret: Secret, field: str) -> Any:
    """The value `-field=NAME` picks from a secret (None when absent)."""
    data = secret.data
    if secret.auth is not None:
        auth = secret.auth
        fields = {
            "token": auth.client_token,
            "token_accessor": auth.accessor,
            "token_duration": auth.lease_duration,
            "token_renewable": auth.renewable,
            "token_policies": auth.token_policies
            if auth.token_policies is not None
            else GoNil("slice"),
            "identity_policies": auth.identity_policies
            if auth.identity_policies is not None
            else GoNil("slice"),
            "policies": auth.policies if auth.policies is not None else GoNil("slice"),
        }
    elif secret.wrap_info is not None:
        wrap = secret.wrap_info
        fields = {
            "wrapping_token": wrap.token,
            "wrapping_accessor": wrap.accessor,
            "wrapping_token_ttl": wrap.ttl,
            "wrapping_token_creation_time": wrap.creation_time,
            "wrapping_token_creation_path": wrap.creation_path,
            "wrapped_accessor": wrap.wrapped_accessor,
        }
    else:
        if field == "data":
            if data is not None and "data" in data:
                return data["data"]
            return data if data is not None else GoNil("map")
        fields = {
            "lease_duration": secret.lease_duration,
            "lease_id": secret.lease_id,
            "request_id": secret.request_id,
            "renewable": secret.renewable,
            "refresh_interval": secret.lease_duration,
        }
    if field in fields:
        return fields[field]
    return (data or {}).get(field)


def print_raw(ui: Writer, text: str) -> int:
    """A value without a trailing newline, unless stdout is a terminal."""
    if ui.stdout_is_tty:
        ui.output(text)
    else:
        ui.raw(text)
    return 0


def print_raw_field(ui: Writer, fmt: str, data: Secret | dict[str, Any], field: str) -> int:
    """`-field=NAME`: the value alone; missing (or null) is an error (exit 1)."""
    value = raw_field(data, field) if isinstance(data, Secret) else data.get(field)
    if value is None:
        kind = "secret" if isinstance(data, Secret) else "map"
        ui.error(f'Field "{field}" not present in {kind}')
        return 1
    if fmt in ("", "table", "raw"):
        return print_raw(ui, go_value(value))
    if fmt not in FORMATS:
        ui.error(f"Invalid output format: {fmt}")
        return 1
    try:
        if fmt == "json":
            text = render_json(value)
        elif fmt in ("yaml", "yml"):
            text = render_yaml(value)
        else:
            text = ""  # the reference "pretty" formatter renders a bare field as nothing
    except OutputError as exc:
        ui.error(f"Error formatting output: {exc}")
        return 1
    return print_raw(ui, text)
