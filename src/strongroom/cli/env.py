"""Client settings from the environment and the token helper (spec §7.1).

Every setting `X` is read from `BAO_X` when that variable is present in the
environment, even if empty, and from `VAULT_X` otherwise. Command-line flags
override the environment; `Settings` holds the merged result and is what the
HTTP client is built from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_ADDRESS",
    "EnvError",
    "Settings",
    "erase_token_helper",
    "getenv",
    "parse_go_bool",
    "read_token_helper",
    "resolve_token",
    "token_helper_path",
    "write_token_helper",
]

DEFAULT_ADDRESS = "https://127.0.0.1:8200"


class EnvError(ValueError):
    """An environment variable holds a value the client cannot use."""


def getenv(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of setting `name` ("ADDR", "TOKEN", ...): BAO_name if present, else VAULT_name."""
    env = os.environ if environ is None else environ
    bao = env.get("BAO_" + name)
    if bao is not None:
        return bao
    return env.get("VAULT_" + name)


def parse_go_bool(text: str) -> bool:
    """strconv.ParseBool; raises ValueError with Go's message."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def token_helper_path(environ: Mapping[str, str] | None = None) -> Path:
    """The default token helper's file: BAO_TOKEN_PATH, else `~/.vault-token`
    (HOME from `environ` when given)."""
    env = os.environ if environ is None else environ
    custom = getenv("TOKEN_PATH", env)
    if custom:
        return Path(custom)
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".vault-token"


def read_token_helper(environ: Mapping[str, str] | None = None) -> str:
    """The stored token ("" when there is none), surrounding whitespace removed."""
    try:
        return token_helper_path(environ).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def write_token_helper(token: str, environ: Mapping[str, str] | None = None) -> None:
    """Store `token` (no trailing newline) in a file only the user can read.

    Like the reference helper it writes `<file>.tmp` and renames it over the file,
    so an OSError names the `.tmp` path.
    """
    path = token_helper_path(environ)
    tmp = Path(f"{path}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token)
        os.chmod(tmp, 0o600)  # an existing file keeps its old mode otherwise
        os.replace(tmp, path)
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass


def erase_token_helper(environ: Mapping[str, str] | None = None) -> None:
    """Forget the stored token (a missing file is fine)."""
    try:
        token_helper_path(environ).unlink()
    except FileNotFoundError:
        pass


def resolve_token(environ: Mapping[str, str] | None = None) -> str:
    """The token commands use: BAO_TOKEN/VAULT_TOKEN, or the token helper if that is empty."""
    return getenv("TOKEN", environ) or read_token_helper(environ)


@dataclass
class Settings:
    """Everything the HTTP client needs; built by `Settings.from_env` and then flags."""

    address: str = DEFAULT_ADDRESS
    agent_address: str = ""
    token: str = ""
    namespace: str = ""
    ca_cert: str = ""
    ca_path: str = ""
    client_cert: str = ""
    client_key: str = ""
    tls_server_name: str = ""
    tls_skip_verify: bool = False
    disable_redirects: bool = False
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Sent as X-Vault-Wrap-TTL: the flag's Go duration text, or BAO_WRAP_TTL verbatim.
    wrap_ttl: str = ""
    mfa: list[str] = field(default_factory=list)
    policy_override: bool = False
    timeout: float = 60.0
    max_retries: int = 2
    output_curl_string: bool = False
    output_policy: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment alone; raises EnvError like the reference client."""
        from strongroom.durations import DurationError, parse_duration

        env = os.environ if environ is None else environ
        s = cls()

        def get(name: str) -> str:
            return getenv(name, env) or ""

        s.address = get("ADDR") or DEFAULT_ADDRESS
        s.agent_address = get("AGENT_ADDR")
        s.ca_cert = get("CACERT")
        s.ca_path = get("CAPATH")
        s.client_cert = get("CLIENT_CERT")
        s.client_key = get("CLIENT_KEY")
        s.tls_server_name = get("TLS_SERVER_NAME")
        s.namespace = get("NAMESPACE")
        s.wrap_ttl = get("WRAP_TTL")
        if get("MFA"):
            s.mfa = [get("MFA")]
        if get("MAX_RETRIES"):
            text = get("MAX_RETRIES")
            try:
                s.max_retries = int(text, 10)
            except ValueError:
                raise EnvError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
        if get("CLIENT_TIMEOUT"):
            try:
                s.timeout = float(parse_duration(get("CLIENT_TIMEOUT")))
            except DurationError:
                raise EnvError('could not parse "BAO_CLIENT_TIMEOUT"') from None
        for name, attr in (
            ("SKIP_VERIFY", "tls_skip_verify"),
            ("DISABLE_REDIRECTS", "disable_redirects"),
        ):
            if get(name):
                try:
                    setattr(s, attr, parse_go_bool(get(name)))
                except ValueError:
                    raise EnvError(f"could not parse BAO_{name}") from None
        s.token = resolve_token(env)
        return s
