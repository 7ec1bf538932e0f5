"""Typed request fields: declared once per path, coerced and validated here.

Coercion follows Vault's weak decoding so that what the `vault`/`bao` CLI sends
(every value a string) and what a JSON client sends (real types) both work.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass
from typing import Any

from strongroom.core.errors import BadRequest
from strongroom.durations import DurationError, parse_duration
from strongroom.jsonutil import JsonNumber


class FieldType(enum.Enum):
    STRING = "string"
    INT = "int"
    BOOL = "bool"
    DURATION = "duration"  # seconds; accepts 3600, "3600", "1h", "32d"
    COMMA_STRING_LIST = "comma_string_list"  # list, or "a,b" split on commas
    STRING_LIST = "string_list"  # list, or one string taken as a one-item list
    COMMA_INT_LIST = "comma_int_list"  # [1, "2"] or "1,2"
    MAP = "map"  # JSON object
    KV_PAIRS = "kv_pairs"  # object of string -> string
    RAW = "raw"  # anything, handler decides


# OpenAPI type names, for the generated document.
OPENAPI_TYPES: dict[FieldType, dict[str, Any]] = {
    FieldType.STRING: {"type": "string"},
    FieldType.INT: {"type": "integer"},
    FieldType.BOOL: {"type": "boolean"},
    FieldType.DURATION: {"type": "string", "format": "duration"},
    FieldType.COMMA_STRING_LIST: {"type": "array", "items": {"type": "string"}},
    FieldType.STRING_LIST: {"type": "array", "items": {"type": "string"}},
    FieldType.COMMA_INT_LIST: {"type": "array", "items": {"type": "integer"}},
    FieldType.MAP: {"type": "object"},
    FieldType.KV_PAIRS: {"type": "object", "additionalProperties": {"type": "string"}},
    FieldType.RAW: {},
}


@dataclass(frozen=True, slots=True)
class Field:
    type: FieldType = FieldType.STRING
    description: str = ""
    default: Any = None
    required: bool = False
    allowed_values: tuple[Any, ...] = ()
    # Hidden fields are accepted but left out of help and OpenAPI (legacy aliases).
    deprecated: bool = False


class FieldError(ValueError):
    """A value that does not fit its field's type; the text is shown to the user."""


_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float | JsonNumber):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, float):
        return repr(value)
    raise FieldError(f"expected a string, got {_go_type(value)}")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, JsonNumber):
        try:
            as_float = float(value.text)
        except ValueError:
            pass
        else:
            if as_float.is_integer():
                return int(as_float)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        try:
            return int(text, 10)
        except ValueError:
            pass
    raise FieldError(f"cannot parse '' as int: {_describe(value)} is not an integer")


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return _go_type(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE or value == "":
            return False
        raise FieldError(f'cannot parse "{value}" as bool')
    raise FieldError(f"expected a bool, got {_go_type(value)}")


def _to_duration(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldError("expected a duration, got bool")
    try:
        return parse_duration(value)
    except DurationError as err:
        raise FieldError(str(err)) from None


def _to_comma_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [_to_string(item).strip() for item in value]
    raise FieldError(f"expected a list of strings, got {_go_type(value)}")


def _to_string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [_to_string(item) for item in value]
    raise FieldError(f"expected a list of strings, got {_go_type(value)}")


def _to_int_list(value: Any) -> list[int]:
    if isinstance(value, str):
        return [_to_int(part) for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        out: list[int] = []
        for item in value:
            out.extend(_to_int_list(item) if isinstance(item, str) else [_to_int(item)])
        return out
    return [_to_int(value)]


def _to_map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if value is None or value == "":
        return {}
    raise FieldError(
        f"'' expected type 'map[string]interface {{}}', got unconvertible type '{_go_type(value)}'"
    )


def _to_kv_pairs(value: Any) -> dict[str, str]:
    # The CLI sends repeated `tag=k=v` arguments as a list of "k=v" strings.
    if isinstance(value, str):
        value = [value] if value else []
    if isinstance(value, list):
        pairs: dict[str, str] = {}
        for item in value:
            key, eq, val = _to_string(item).partition("=")
            if not eq:
                raise FieldError(f'invalid key value pair "{item}": format must be key=value')
            pairs[key] = val
        return pairs
    mapping = _to_map(value)
    return {str(k): _to_string(v) for k, v in mapping.items()}


_COERCE = {
    FieldType.STRING: _to_string,
    FieldType.INT: _to_int,
    FieldType.BOOL: _to_bool,
    FieldType.DURATION: _to_duration,
    FieldType.COMMA_STRING_LIST: _to_comma_list,
    FieldType.STRING_LIST: _to_string_list,
    FieldType.COMMA_INT_LIST: _to_int_list,
    FieldType.MAP: _to_map,
    FieldType.KV_PAIRS: _to_kv_pairs,
    FieldType.RAW: lambda value: value,
}


def coerce(field_type: FieldType, value: Any) -> Any:
    return _COERCE[field_type](value)


class FieldData:
    """A request's data seen through a path's field schema."""

    __slots__ = ("_schema", "_values", "raw")

    def __init__(self, raw: dict[str, Any], schema: dict[str, Field]) -> None:
        self.raw = raw
        self._schema = schema
        self._values: dict[str, Any] = {}

    def validate(self) -> None:
        """Coerce every supplied, declared field now, so bad input fails before any work."""
        for name, spec in self._schema.items():
            # JSON null means "not given": hvac sends null for every unset argument.
            if self.raw.get(name) is None:
                if spec.required:
                    raise BadRequest(f"missing required field {name!r}".replace("'", '"'))
                continue
            try:
                value = coerce(spec.type, self.raw[name])
            except FieldError as err:
                raise BadRequest(f'error converting input for field "{name}": {err}') from None
            if spec.allowed_values and value not in spec.allowed_values:
                allowed = ", ".join(str(v) for v in spec.allowed_values)
                raise BadRequest(f'invalid value for field "{name}": must be one of {allowed}')
            self._values[name] = value

    def get(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        spec = self._schema.get(name)
        if spec is None:
            raise KeyError(f"field {name!r} is not declared on this path")
        if self.raw.get(name) is not None:  # declared but validate() not run (unit tests)
            return coerce(spec.type, self.raw[name])
        default = spec.default
        # Mutable defaults are copied so a handler can't change the schema's own.
        return copy.copy(default) if isinstance(default, list | dict | set) else default

    def has(self, name: str) -> bool:
        """Whether the request supplied the field (a JSON null counts as not supplied)."""
        return self.raw.get(name) is not None

    def unknown(self) -> list[str]:
        return sorted(k for k in self.raw if k not in self._schema)
