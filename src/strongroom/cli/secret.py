"""The secret envelope as the reference client decodes and re-encodes it.

`parse_secret` turns a response body into a `Secret` with the reference
client's rules: an empty body is no secret; a body that decodes to an
all-empty envelope but is a non-empty object (a "raw" endpoint such as
`sys/seal-status`) becomes the secret's `data`; type mismatches fail with Go's
decoder messages. `Secret.to_json()` gives the client's field order for
`-format=json`/`yaml` output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from strongroom.cli.gojson import OrderedObject
from strongroom.jsonutil import JsonDecodeError, JsonNumber, loads

__all__ = [
    "Secret",
    "SecretAuth",
    "SecretDecodeError",
    "SecretWrapInfo",
    "decode_json",
    "go_time_string",
    "normalize_time",
    "parse_secret",
]

ZERO_TIME = "0001-01-01T00:00:00Z"


class SecretDecodeError(ValueError):
    """The body is not a secret; str() is the reference client's message."""


def decode_json(body: bytes) -> Any:
    """Decode the first JSON value in `body` like Go's json.Decoder (trailing data ignored)."""
    try:
        return loads(body)
    except JsonDecodeError as exc:
        message = str(exc)
        if "after top-level value" not in message:
            raise SecretDecodeError(message) from None
    text = body.decode("utf-8", "surrogateescape")
    stripped = text.lstrip(" \t\r\n")
    _, end = json.JSONDecoder().raw_decode(stripped)
    return loads(stripped[:end])


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float | JsonNumber):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _mismatch(value: Any, where: str, go_type: str) -> SecretDecodeError:
    kind = _kind(value)
    if kind == "number" and go_type == "int":
        kind = f"number {value.text if isinstance(value, JsonNumber) else value}"
    return SecretDecodeError(
        f"json: cannot unmarshal {kind} into Go struct field {where} of type {go_type}"
    )


def _field(obj: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Go matches JSON keys to struct fields exactly first, then case-insensitively."""
    if name in obj:
        return True, obj[name]
    for key, value in obj.items():
        if key.lower() == name:
            return True, value
    return False, None


def _str(obj: dict[str, Any], name: str, where: str) -> str:
    present, value = _field(obj, name)
    if not present or value is None:
        return ""
    if not isinstance(value, str):
        raise _mismatch(value, f"{where}.{name}", "string")
    return value


def _int(obj: dict[str, Any], name: str, where: str) -> int:
    present, value = _field(obj, name)
    if not present or value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _mismatch(value, f"{where}.{name}", "int")
    return value


def _bool(obj: dict[str, Any], name: str, where: str) -> bool:
    present, value = _field(obj, name)
    if not present or value is None:
        return False
    if not isinstance(value, bool):
        raise _mismatch(value, f"{where}.{name}", "bool")
    return value


def _str_list(obj: dict[str, Any], name: str, where: str) -> list[str] | None:
    present, value = _field(obj, name)
    if not present or value is None:
        return None
    if not isinstance(value, list):
        raise _mismatch(value, f"{where}.{name}", "[]string")
    for item in value:
        if item is not None and not isinstance(item, str):
            raise _mismatch(item, f"{where}.{name}", "string")
    return ["" if item is None else item for item in value]


def _str_map(obj: dict[str, Any], name: str, where: str) -> dict[str, str] | None:
    present, value = _field(obj, name)
    if not present or value is None:
        return None
    if not isinstance(value, dict):
        raise _mismatch(value, f"{where}.{name}", "map[string]string")
    for key, item in value.items():
        if item is not None and not isinstance(item, str):
            raise _mismatch(item, f"{where}.{name}.{key}", "string")
    return {k: "" if v is None else v for k, v in value.items()}


@dataclass
class SecretAuth:
    client_token: str = ""
    accessor: str = ""
    policies: list[str] | None = None
    token_policies: list[str] | None = None
    identity_policies: list[str] | None = None
    metadata: dict[str, str] | None = None
    orphan: bool = False
    entity_id: str = ""
    lease_duration: int = 0
    renewable: bool = False
    mfa_requirement: Any = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SecretAuth:
        where = "Secret.auth"
        return cls(
            client_token=_str(obj, "client_token", where),
            accessor=_str(obj, "accessor", where),
            policies=_str_list(obj, "policies", where),
            token_policies=_str_list(obj, "token_policies", where),
            identity_policies=_str_list(obj, "identity_policies", where),
            metadata=_str_map(obj, "metadata", where),
            orphan=_bool(obj, "orphan", where),
            entity_id=_str(obj, "entity_id", where),
            lease_duration=_int(obj, "lease_duration", where),
            renewable=_bool(obj, "renewable", where),
            mfa_requirement=_field(obj, "mfa_requirement")[1],
        )

    def to_json(self) -> OrderedObject:
        return OrderedObject(
            client_token=self.client_token,
            accessor=self.accessor,
            policies=self.policies,
            token_policies=self.token_policies,
            identity_policies=self.identity_policies,
            metadata=self.metadata,
            orphan=self.orphan,
            entity_id=self.entity_id,
            lease_duration=self.lease_duration,
            renewable=self.renewable,
            mfa_requirement=self.mfa_requirement,
        )


_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|z|[+-]\d\d:\d\d)$")


def normalize_time(text: str) -> str:
    """Go re-encodes a parsed time in RFC3339Nano: trailing fraction zeros dropped."""
    m = _RFC3339.match(text)
    if m is None:
        raise SecretDecodeError(
            f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "{text}" as "2006"'
        )
    frac = (m.group(7) or "").rstrip("0")
    if frac == ".":
        frac = ""
    zone = "Z" if m.group(8) in ("Z", "z", "+00:00") else m.group(8)
    return (
        f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}{frac}{zone}"
    )


def go_time_string(rfc3339: str) -> str:
    """Go's time.Time.String() for an RFC3339 timestamp: `2026-11-25 05:52:36.8 +0000 UTC`."""
    m = _RFC3339.match(rfc3339)
    if m is None:
        return rfc3339
    frac = (m.group(7) or "").rstrip("0").rstrip(".")
    zone = m.group(8)
    if zone in ("Z", "z"):
        offset, name = "+0000", "UTC"
    else:
        offset = zone.replace(":", "")
        name = offset  # Go names a fixed zone without abbreviation by its offset
    date = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return f"{date} {m.group(4)}:{m.group(5)}:{m.group(6)}{frac} {offset} {name}"


@dataclass
class SecretWrapInfo:
    token: str = ""
    accessor: str = ""
    ttl: int = 0
    creation_time: str = ZERO_TIME
    creation_path: str = ""
    wrapped_accessor: str = ""

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SecretWrapInfo:
        where = "Secret.wrap_info"
        created = _str(obj, "creation_time", where)
        return cls(
            token=_str(obj, "token", where),
            accessor=_str(obj, "accessor", where),
            ttl=_int(obj, "ttl", where),
            creation_time=normalize_time(created) if created else ZERO_TIME,
            creation_path=_str(obj, "creation_path", where),
            wrapped_accessor=_str(obj, "wrapped_accessor", where),
        )

    def to_json(self) -> OrderedObject:
        return OrderedObject(
            token=self.token,
            accessor=self.accessor,
            ttl=self.ttl,
            creation_time=self.creation_time,
            creation_path=self.creation_path,
            wrapped_accessor=self.wrapped_accessor,
        )


@dataclass
class Secret:
    """A decoded response envelope (api.Secret)."""

    request_id: str = ""
    lease_id: str = ""
    lease_duration: int = 0
    renewable: bool = False
    data: dict[str, Any] | None = None
    warnings: list[str] | None = None
    auth: SecretAuth | None = None
    wrap_info: SecretWrapInfo | None = None

    def is_empty(self) -> bool:
        return self == Secret()

    def to_json(self) -> OrderedObject:
        """The client's struct order; auth and wrap_info only when present."""
        out = OrderedObject(
            request_id=self.request_id,
            lease_id=self.lease_id,
            lease_duration=self.lease_duration,
            renewable=self.renewable,
            data=self.data,
            warnings=self.warnings,
        )
        if self.auth is not None:
            out["auth"] = self.auth.to_json()
        if self.wrap_info is not None:
            out["wrap_info"] = self.wrap_info.to_json()
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Secret:
        if obj is None:
            return cls()
        if not isinstance(obj, dict):
            raise SecretDecodeError(
                f"json: cannot unmarshal {_kind(obj)} into Go value of type api.Secret"
            )
        where = "Secret"
        secret = cls(
            request_id=_str(obj, "request_id", where),
            lease_id=_str(obj, "lease_id", where),
            lease_duration=_int(obj, "lease_duration", where),
            renewable=_bool(obj, "renewable", where),
            warnings=_str_list(obj, "warnings", where),
        )
        present, data = _field(obj, "data")
        if present and data is not None:
            if not isinstance(data, dict):
                raise _mismatch(data, "Secret.data", "map[string]interface {}")
            secret.data = data
        present, auth = _field(obj, "auth")
        if present and auth is not None:
            if not isinstance(auth, dict):
                raise _mismatch(auth, "Secret.auth", "api.SecretAuth")
            secret.auth = SecretAuth.from_json(auth)
        present, wrap = _field(obj, "wrap_info")
        if present and wrap is not None:
            if not isinstance(wrap, dict):
                raise _mismatch(wrap, "Secret.wrap_info", "api.SecretWrapInfo")
            secret.wrap_info = SecretWrapInfo.from_json(wrap)
        return secret


def _errors_text(errors: Any) -> str:
    if errors is None:
        return ""
    if not isinstance(errors, list):
        raise SecretDecodeError(
            f"json: cannot unmarshal {_kind(errors)} into Go value of type []string"
        )
    for index, item in enumerate(errors):
        if item is not None and not isinstance(item, str):
            raise SecretDecodeError(
                f"json: cannot unmarshal {_kind(item)} into .{index} of type string"
            )
    return " ".join(item or "" for item in errors)


def parse_secret(body: bytes) -> Secret | None:
    """The secret in a response body; None for an empty body.

    A body without the envelope (all envelope fields empty) is an endpoint's
    raw answer (sys/seal-status, ...): the whole object becomes the data, unless
    it carries `errors` — alone it means no secret, with other keys it is an
    error whose text is the errors joined by spaces.
    """
    if not body.strip(b" \t\r\n"):
        return None
    obj = decode_json(body)
    secret = Secret.from_json(obj)
    if isinstance(obj, dict) and obj and secret.is_empty():
        if "errors" in obj:
            if len(obj) == 1:
                return None
            raise SecretDecodeError(_errors_text(obj["errors"]))
        secret.data = obj
    return secret
