"""The server configuration file, in Vault's HCL (or JSON) format (spec §9).

`load_config` reads one or more files or directories, merges them in order
(listeners accumulate, later scalars win) and returns a validated
`ServerConfig`. Every problem raises `ConfigError` naming the offending file,
so `strongroom server` can print it and exit 1.

Unlike the reference, which warns about unknown keys and carries on, unknown
keys are errors here: a misspelt `stroage` or `tls_disabel` silently ignored
would start a server with the wrong storage or without TLS.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hcl.parser import HclParser

from strongroom import jsonutil
from strongroom.durations import DurationError, human_duration, parse_duration

__all__ = [
    "ConfigError",
    "ListenerConfig",
    "ServerConfig",
    "StorageConfig",
    "load_config",
]

DEFAULT_MAX_REQUEST_SIZE = 33554432
DEFAULT_MAX_REQUEST_DURATION = 90
# The system-wide lease TTL maximum when `max_lease_ttl` is not set (768h).
DEFAULT_MAX_LEASE_TTL = 768 * 3600

_TLS_VERSIONS = frozenset({"tls10", "tls11", "tls12", "tls13"})
_LOG_LEVELS = {
    "trace": "trace",
    "debug": "debug",
    "info": "info",
    "warn": "warn",
    "warning": "warn",
    "err": "error",
    "error": "error",
}
_LOG_FORMATS = frozenset({"standard", "json"})


class ConfigError(ValueError):
    """The configuration cannot be used; str() names the file and the problem."""


@dataclass
class StorageConfig:
    kind: str
    # Every value is a string, as in Vault; non-strings are JSON-encoded
    # (true -> "true", 128 -> "128", nested blocks -> JSON text).
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class ListenerConfig:
    address: str = "127.0.0.1:8200"
    tls_disable: bool = False
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    tls_require_and_verify_client_cert: bool = False
    tls_min_version: str = "tls12"
    max_request_size: int = DEFAULT_MAX_REQUEST_SIZE  # negative: unlimited
    max_request_duration: int = DEFAULT_MAX_REQUEST_DURATION  # seconds
    unauthenticated_metrics_access: bool = False
    cluster_address: str = ""  # "" means the listener port + 1
    tls_max_version: str = ""  # "" means no maximum


@dataclass
class ServerConfig:
    storage: StorageConfig | None = None
    listeners: list[ListenerConfig] = field(default_factory=list)
    api_addr: str = ""
    cluster_addr: str = ""
    cluster_name: str = ""
    ui: bool = False
    disable_mlock: bool = False
    default_lease_ttl: int = 0  # seconds; 0 = system default (768h)
    max_lease_ttl: int = 0  # seconds; 0 = system default (768h)
    log_level: str = "info"
    log_format: str = "standard"
    # Vault's default: sys/audit may enable devices (OpenBao refuses unless this is true).
    unsafe_allow_api_audit_creation: bool = True
    # The physical read cache (Vault's): entries, and whether it is off.
    cache_size: int = 131072
    disable_cache: bool = False
    warnings: list[str] = field(default_factory=list)


class _Invalid(Exception):
    """A problem inside one file; load_config adds the file name."""


# ---------------------------------------------------------------------------
# Value coercion


def _single(key: str, value: Any) -> Any:
    # pyhcl turns a key given twice into a list of its values.
    if isinstance(value, list | dict):
        raise _Invalid(f'invalid value for "{key}": expected a single value')
    return value


def _to_str(key: str, value: Any) -> str:
    value = _single(key, value)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Invalid(f'invalid value for "{key}": expected a string, got {_show(value)}')


_TRUE_STRINGS = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE_STRINGS = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def _to_bool(key: str, value: Any) -> bool:
    value = _single(key, value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        if value in _TRUE_STRINGS:
            return True
        if value in _FALSE_STRINGS:
            return False
    raise _Invalid(f'invalid value for "{key}": expected a boolean, got {_show(value)}')


def _to_int(key: str, value: Any) -> int:
    value = _single(key, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
        return int(value)
    raise _Invalid(f'invalid value for "{key}": expected an integer, got {_show(value)}')


def _to_cache_size(key: str, value: Any) -> int:
    size = _to_int(key, value)
    if size < 0:
        raise _Invalid(f'invalid value for "{key}": must not be negative')
    return size


def _to_duration(key: str, value: Any) -> int:
    value = _single(key, value)
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise _Invalid(f'invalid value for "{key}": {exc}') from None
    if seconds < 0:
        raise _Invalid(f'invalid value for "{key}": must not be negative')
    return seconds


def _to_log_level(key: str, value: Any) -> str:
    text = _to_str(key, value).strip().lower()
    if text not in _LOG_LEVELS:
        raise _Invalid(
            f'invalid value for "{key}": unknown log level {text!r} '
            "(use trace, debug, info, warn or error)"
        )
    return _LOG_LEVELS[text]


def _to_log_format(key: str, value: Any) -> str:
    text = _to_str(key, value).strip().lower() or "standard"
    if text not in _LOG_FORMATS:
        raise _Invalid(f'invalid value for "{key}": unknown log format {text!r}')
    return text


def _to_tls_version(key: str, value: Any) -> str:
    text = _to_str(key, value)
    if text not in _TLS_VERSIONS:
        raise _Invalid(
            f'invalid value for "{key}": {text!r} is not one of tls10, tls11, tls12, tls13'
        )
    return text


def _stringify(value: Any) -> str:
    """A storage option as Vault keeps it: strings as-is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return jsonutil.dumps_compact(value).decode()


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------
# Blocks


def _labelled_blocks(name: str, value: Any) -> list[tuple[str, dict[str, Any]]]:
    """(label, body) pairs for `name "<label>" { ... }`, in HCL or JSON shape.

    Accepted shapes: {"tcp": {...}}, {"tcp": [{...}, {...}]} and a list of
    either (repeated stanzas, or JSON written as an array).
    """
    usage = f'expected {name} "<type>" {{ ... }}'
    out: list[tuple[str, dict[str, Any]]] = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, dict) or not item:
            raise _Invalid(f"invalid {name} stanza: {usage}")
        for label, body in item.items():
            for one in body if isinstance(body, list) else [body]:
                if not isinstance(one, dict):
                    raise _Invalid(f"invalid {name} stanza: {usage}")
                out.append((label, one))
    return out


def _parse_storage(name: str, value: Any) -> StorageConfig:
    blocks = _labelled_blocks(name, value)
    if len(blocks) > 1:
        kinds = ", ".join(f'"{kind}"' for kind, _ in blocks)
        raise _Invalid(f"only one storage stanza is allowed, found {len(blocks)} ({kinds})")
    kind, body = blocks[0]
    return StorageConfig(kind=kind, options={k: _stringify(v) for k, v in body.items()})


# Listener keys from spec §9.3 plus other Vault/OpenBao listener keys, so
# existing configurations load; only the ones ListenerConfig has are used.
_LISTENER_IGNORED = frozenset(
    {
        "tls_disable_client_certs",
        "tls_cipher_suites",
        "tls_prefer_server_cipher_suites",
        "x_forwarded_for_authorized_addrs",
        "x_forwarded_for_hop_skips",
        "x_forwarded_for_reject_not_authorized",
        "x_forwarded_for_reject_not_present",
        "disable_unauthed_rekey_endpoints",
        "disable_unauthed_generate_root_endpoints",
        "custom_response_headers",
        "max_request_json_memory",
        "max_request_json_strings",
        "redact_addresses",
        "redact_cluster_name",
        "redact_version",
        "profiling",
        "inflight_requests_logging",
    }
)
_LISTENER_IGNORED_PREFIXES = ("cors_", "proxy_protocol_")


def _listener_key_ignored(key: str) -> bool:
    if key in _LISTENER_IGNORED or key.startswith(_LISTENER_IGNORED_PREFIXES):
        return True
    return key.startswith("http_") and key.endswith("_timeout")


_LISTENER_FIELDS = {
    "address": _to_str,
    "cluster_address": _to_str,
    "tls_disable": _to_bool,
    "tls_cert_file": _to_str,
    "tls_key_file": _to_str,
    "tls_client_ca_file": _to_str,
    "tls_require_and_verify_client_cert": _to_bool,
    "tls_min_version": _to_tls_version,
    "tls_max_version": _to_tls_version,
    "max_request_size": _to_int,
    "max_request_duration": _to_duration,
}


def _parse_listener(kind: str, body: dict[str, Any]) -> ListenerConfig:
    if kind != "tcp":
        raise _Invalid(f'unsupported listener type "{kind}": only "tcp" is supported')
    listener = ListenerConfig()
    for key, value in body.items():
        convert = _LISTENER_FIELDS.get(key)
        if convert is not None:
            setattr(listener, key, convert(key, value))
        elif key == "telemetry":
            listener.unauthenticated_metrics_access = _parse_listener_telemetry(value)
        elif not _listener_key_ignored(key):
            raise _Invalid(f'unknown configuration key "{key}" in listener "tcp"')
    if listener.max_request_size == 0:
        listener.max_request_size = DEFAULT_MAX_REQUEST_SIZE
    if listener.max_request_duration == 0:
        listener.max_request_duration = DEFAULT_MAX_REQUEST_DURATION
    if not listener.tls_disable:
        for key in ("tls_cert_file", "tls_key_file"):
            if not getattr(listener, key):
                raise _Invalid(
                    f'listener "tcp" ({listener.address}): {key} is required unless '
                    "tls_disable = true"
                )
    return listener


def _parse_listener_telemetry(value: Any) -> bool:
    allowed = False
    for block in value if isinstance(value, list) else [value]:
        if not isinstance(block, dict):
            raise _Invalid('invalid telemetry block in listener "tcp"')
        for key, item in block.items():
            if key != "unauthenticated_metrics_access":
                raise _Invalid(f'unknown configuration key "{key}" in listener "tcp" telemetry')
            allowed = _to_bool(key, item)
    return allowed


# ---------------------------------------------------------------------------
# Top level

_SCALARS = {
    "api_addr": _to_str,
    "cluster_addr": _to_str,
    "cluster_name": _to_str,
    "ui": _to_bool,
    "disable_mlock": _to_bool,
    "default_lease_ttl": _to_duration,
    "max_lease_ttl": _to_duration,
    "log_level": _to_log_level,
    "log_format": _to_log_format,
    "unsafe_allow_api_audit_creation": _to_bool,
    "disable_cache": _to_bool,
    "cache_size": _to_cache_size,
}

# Known Vault/OpenBao keys strongroom accepts without acting on them.
_TOP_LEVEL_IGNORED = frozenset(
    {
        "pid_file",
        "disable_clustering",
        "plugin_directory",
        "raw_storage_endpoint",
        "introspection_endpoint",
        "disable_sealwrap",
        "enable_response_header_hostname",
        "enable_response_header_raft_node_id",
        "disable_printable_check",
        "disable_performance_standby",
        "telemetry",
        "audit",
        "log_file",
        "log_rotate_duration",
        "log_rotate_bytes",
        "log_rotate_max_files",
    }
)


@dataclass
class _FileResult:
    """What one file sets; merged into the ServerConfig in file order."""

    scalars: dict[str, Any] = field(default_factory=dict)
    storage: StorageConfig | None = None
    listeners: list[ListenerConfig] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _interpret(tree: Any) -> _FileResult:
    if not isinstance(tree, dict):
        raise _Invalid("the configuration must be an object of keys and stanzas")
    result = _FileResult()
    for key, value in tree.items():
        convert = _SCALARS.get(key)
        if convert is not None:
            result.scalars[key] = convert(key, value)
        elif key in ("storage", "backend"):
            if result.storage is not None:
                raise _Invalid('only one storage stanza is allowed ("backend" is "storage")')
            result.storage = _parse_storage(key, value)
        elif key == "listener":
            result.listeners.extend(
                _parse_listener(kind, body) for kind, body in _labelled_blocks(key, value)
            )
        elif key == "ha_storage":
            raise _Invalid(
                "ha_storage is not supported yet; use a storage backend with built-in HA "
                '(storage "postgresql" with ha_enabled = "true")'
            )
        elif key == "seal":
            result.warnings.extend(_seal_warnings(value))
        elif key not in _TOP_LEVEL_IGNORED:
            raise _Invalid(f'unknown configuration key "{key}"')
    return result


def _seal_warnings(value: Any) -> list[str]:
    # Only Shamir unsealing exists; say so rather than pretend to auto-unseal.
    try:
        kinds = [kind for kind, _ in _labelled_blocks("seal", value)]
    except _Invalid:
        kinds = ["?"]
    return [
        f'seal "{kind}" is not supported and is ignored; the Shamir seal is used'
        for kind in kinds
        if kind != "shamir"
    ]


# ---------------------------------------------------------------------------
# Parsing files


class _RepeatedBlockParser(HclParser):
    """pyhcl's parser, except repeated top-level stanzas stay separate.

    Stock pyhcl merges two `listener "tcp" { ... }` stanzas at the top level
    into one (the second overwriting the first's keys); here they become a
    list, as nested repeated blocks already do. The grammar is unchanged.
    """

    # ply takes the start symbol from the first rule by line number, which
    # would no longer be `top` once this override lives in another file.
    start = "top"

    def p_top(self, p: Any) -> None:
        """
        top : empty
            | objectlist
        """
        p[0] = self.objectlist_flat(p[1], False)


@functools.cache
def _hcl_parser() -> _RepeatedBlockParser:
    # Building ply's parse tables takes tens of milliseconds; do it once.
    return _RepeatedBlockParser()


# A ply parser keeps per-parse state on itself, so parses take turns.
_HCL_LOCK = threading.Lock()


_PARSER_POSITION = re.compile(r"^Line (\d+), column (\d+): ")
_LEXER_POSITION = re.compile(r"^Line (\d+), column (\d+), index \d+: ")


def _hcl_message(message: str, text: str) -> str:
    """pyhcl's message with its position rewritten as 1-based `At line:col:`."""
    match = _PARSER_POSITION.match(message)
    if match:  # the parser reports the absolute offset as the "column"
        offset = int(match.group(2))
        column = offset - text.rfind("\n", 0, offset)
        return f"At {match.group(1)}:{column}: {message[match.end() :]}"
    match = _LEXER_POSITION.match(message)
    if match:  # the lexer reports a 0-based column
        return f"At {match.group(1)}:{int(match.group(2)) + 1}: {message[match.end() :]}"
    return message


def _parse_text(path: str, text: str) -> Any:
    if path.endswith(".json") or text.lstrip().startswith("{"):
        try:
            return jsonutil.loads(text)
        except jsonutil.JsonDecodeError as exc:
            raise _Invalid(str(exc)) from None
    try:
        with _HCL_LOCK:
            return _hcl_parser().parse(text)
    except ValueError as exc:
        raise _Invalid(_hcl_message(str(exc), text)) from None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise _Invalid(exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise _Invalid("the file is not valid UTF-8") from None


def _config_files(path: str) -> list[str]:
    """The files a -config argument names: itself, or a directory's *.hcl/*.json."""
    if not os.path.isdir(path):
        return [path]
    names = sorted(
        name
        for name in os.listdir(path)
        if name.endswith((".hcl", ".json")) and not name.startswith(".")
    )
    return [os.path.join(path, name) for name in names if os.path.isfile(os.path.join(path, name))]


def _load_file(path: str) -> _FileResult:
    try:
        return _interpret(_parse_text(path, _read(path)))
    except _Invalid as exc:
        raise ConfigError(f"error loading configuration from {path}: {exc}") from None


def load_config(paths: list[str], env: Mapping[str, str] | None = None) -> ServerConfig:
    """Load, merge and validate the given files and directories, in order.

    `env` defaults to os.environ; BAO_API_ADDR / VAULT_API_ADDR supply
    api_addr when no file sets it. A missing storage stanza or listener is not
    an error here (dev mode needs neither); the server decides.
    """
    env = os.environ if env is None else env
    config = ServerConfig()
    storage_file = ""
    ttl_file = ""
    for path in paths:
        for file in _config_files(path):
            part = _load_file(file)
            if part.storage is not None:
                if config.storage is not None:
                    raise ConfigError(
                        f"error loading configuration from {file}: only one storage stanza "
                        f"is allowed, another one is in {storage_file}"
                    )
                config.storage, storage_file = part.storage, file
            config.listeners.extend(part.listeners)
            for key, value in part.scalars.items():
                setattr(config, key, value)
            if "default_lease_ttl" in part.scalars or "max_lease_ttl" in part.scalars:
                ttl_file = file
            config.warnings.extend(part.warnings)
    _check_lease_ttls(config, ttl_file)
    if not config.api_addr:
        config.api_addr = env.get("BAO_API_ADDR") or env.get("VAULT_API_ADDR") or ""
    return config


def _check_lease_ttls(config: ServerConfig, file: str) -> None:
    # Unset values mean the 768h system default, which the check also covers.
    default = config.default_lease_ttl
    maximum = config.max_lease_ttl or DEFAULT_MAX_LEASE_TTL
    if default > maximum:
        raise ConfigError(
            f"error loading configuration from {file}: default_lease_ttl "
            f"({human_duration(default)}) must not be greater than max_lease_ttl "
            f"({human_duration(maximum)})"
        )
