"""`login`: authenticate and store the token in the token helper (spec §7.7).

Auth methods are handled like the reference CLI's login handlers: `token`
(verified with `auth/token/lookup-self`), `userpass` (`auth/<mount>/login/<user>`,
prompting for a missing password on a terminal), `cert`, `kubernetes` and the
first step of `oidc` (the browser flow itself is not supported).
Any other method is unknown, as it is to the reference CLI (`approle` included:
log in with `write auth/approle/login ...`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import IO, Any

from strongroom.cli import output as out
from strongroom.cli.base import PROG, Command, Context, command
from strongroom.cli.client import Client, ClientError
from strongroom.cli.commands.audit import ensure_trailing_slash, kv_strings, sanitize_path
from strongroom.cli.commands.token import client_or_none
from strongroom.cli.env import getenv, parse_go_bool, write_token_helper
from strongroom.cli.flags import FlagSet
from strongroom.cli.gotext import go_trim_space, wrap_at_length
from strongroom.cli.kvargs import KVError, go_quote
from strongroom.cli.secret import Secret, SecretAuth, SecretDecodeError, parse_secret
from strongroom.jsonutil import JsonNumber


class AuthError(Exception):
    """A login handler failure; str() follows `Error authenticating: `."""


# --------------------------------------------------------------------------- prompts


def read_hidden(stdin: IO[bytes]) -> str:
    """A line from the terminal on `stdin` without echo (go-secure-stdlib password.Read).

    Raises AuthError when stdin is not a terminal or the user interrupts.
    """
    try:
        fd = stdin.fileno()
    except (OSError, ValueError, AttributeError):
        fd = 0
        raise AuthError(f"file descriptor {fd} is not a terminal") from None
    if not os.isatty(fd):
        raise AuthError(f"file descriptor {fd} is not a terminal")
    import termios

    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    new[3] &= ~termios.ECHO
    line = b""
    try:
        termios.tcsetattr(fd, termios.TCSADRAIN, new)
        while not line.endswith(b"\n"):
            chunk = os.read(fd, 1)
            if not chunk:
                break
            if chunk == b"\x03":
                raise AuthError("user interrupted")
            line += chunk
    except KeyboardInterrupt:
        raise AuthError("user interrupted") from None
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
    return line.decode("utf-8", "surrogateescape").rstrip("\n").rstrip("\r")


def _prompt(ctx: Context, label: str, stdin: IO[bytes]) -> str:
    """`<label> (will be hidden): ` on stderr, the hidden answer, a newline on stderr."""
    ctx.ui.error_raw(f"{label} (will be hidden): ")
    try:
        return read_hidden(stdin)
    finally:
        ctx.ui.error_raw("\n")


# --------------------------------------------------------------------------- handlers

Handler = Callable[[Context, Client, dict[str, str], bool, IO[bytes]], Secret | None]


def _write(client: Client, path: str, data: dict[str, Any]) -> Secret:
    """Logical().Write for a login endpoint; errors become AuthError."""
    try:
        secret = client.write(path, data)
    except (ClientError, SecretDecodeError) as exc:
        raise AuthError(str(exc)) from None
    if secret is None:
        raise AuthError("empty response from credential provider")
    return secret


def _string_list(value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise AuthError(
            f"error accessing token policies: unable to convert {what} to expected format"
        )
    result: list[str] | None = None
    for item in value:
        if not isinstance(item, str):
            raise AuthError(
                f"error accessing token policies: unable to convert policy {out.go_value(item)} "
                "to string"
            )
        result = [*(result or []), item]
    return result


def _token_auth(lookup: Secret) -> SecretAuth:
    """The auth block the reference builds from a lookup-self answer."""
    data = lookup.data or {}
    current = lookup.auth
    if current is not None and current.client_token:
        token = current.client_token
    else:
        token = data.get("id")
        if token is not None and not isinstance(token, str):
            raise AuthError("error accessing token ID: token found but in the wrong format")
    if current is not None and current.accessor:
        accessor = current.accessor
    else:
        accessor = data.get("accessor")
        if accessor is not None and not isinstance(accessor, str):
            raise AuthError("error accessing token accessor: token found but in the wrong format")
    if current is not None and current.policies:
        policies = current.policies
        token_policies, identity_policies = current.token_policies, current.identity_policies
    else:
        token_policies = _string_list(data.get("policies"), "token policies")
        identity_policies = _string_list(data.get("identity_policies"), "identity policies")
        if token_policies is None and identity_policies is None:
            policies = None
        else:
            policies = [*(token_policies or []), *(identity_policies or [])]
    if current is not None and current.metadata:
        metadata: dict[str, str] | None = current.metadata
    else:
        raw = data.get("metadata")
        if not isinstance(raw, dict):
            raw = data.get("meta")
        if raw is None and data.get("metadata") is None:
            metadata = None
        elif not isinstance(raw, dict):
            raise AuthError(
                "error accessing token metadata: unable to convert metadata field to expected "
                "format"
            )
        else:
            metadata = {}
            for key, value in raw.items():
                if not isinstance(value, str):
                    raise AuthError(
                        "error accessing token metadata: unable to convert metadata value "
                        f"{out.go_value(value)} to string"
                    )
                metadata[key] = value
    if current is not None and current.lease_duration > 0:
        ttl = current.lease_duration
    else:
        ttl = _seconds(data.get("ttl"))
    renewable = (current is not None and current.renewable) or _bool(data.get("renewable"))
    return SecretAuth(
        client_token=token or "",
        accessor=accessor or "",
        policies=policies,
        token_policies=token_policies,
        identity_policies=identity_policies,
        metadata=metadata,
        lease_duration=ttl,
        renewable=renewable,
    )


def _seconds(value: Any) -> int:
    from strongroom.durations import DurationError, parse_duration

    if value is None:
        return 0
    if isinstance(value, JsonNumber):
        value = value.text
    try:
        return int(parse_duration(value if not isinstance(value, bool) else str(value)))
    except (DurationError, TypeError, ValueError) as exc:
        raise AuthError(f"error converting token TTL: {exc}") from None


def _bool(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    try:
        return parse_go_bool(str(value))
    except ValueError as exc:
        raise AuthError(
            f"error checking if token is renewable: could not convert renewable value to a "
            f"boolean: {exc}"
        ) from None


def token_handler(
    ctx: Context, client: Client, config: dict[str, str], non_interactive: bool, stdin: IO[bytes]
) -> Secret | None:
    lookup = True
    if "lookup" in config:
        try:
            lookup = parse_go_bool(config["lookup"])
        except ValueError as exc:
            raise AuthError(f'Failed to parse "lookup" as boolean: {exc}') from None
    if "token" in config:
        token = config["token"]
    else:
        if non_interactive:
            raise AuthError("'token' not supplied and refusing to pull from stdin")
        try:
            token = _prompt(ctx, "Token", stdin)
        except AuthError as exc:
            if str(exc) == "user interrupted":
                raise
            raise AuthError(
                "An error occurred attempting to ask for a token. The raw error message is "
                "shown below, but usually this is because you attempted to pipe a value into "
                "the command or you are executing outside of a terminal (tty). If you want to "
                'pipe the value, pass "-" as the argument to read from stdin. The raw error '
                f"was: {exc}"
            ) from None
    token = go_trim_space(token)
    if token == "":
        raise AuthError("a token must be passed to auth, please view the help for more information")
    if not lookup:
        return Secret(auth=SecretAuth(client_token=token))
    client.token = token
    try:
        response = client.request("GET", "auth/token/lookup-self", wrap_ttl="")
        secret = parse_secret(response.body)
    except (ClientError, SecretDecodeError) as exc:
        raise AuthError(f"error looking up token: {exc}") from None
    if secret is None:
        raise AuthError("empty response from lookup-self")
    return Secret(auth=_token_auth(secret))


def userpass_handler(
    ctx: Context, client: Client, config: dict[str, str], non_interactive: bool, stdin: IO[bytes]
) -> Secret | None:
    username = config.get("username", "")
    password = config.get("password", "")
    if not username:
        raise AuthError("'username' must be specified")
    if not password:
        if non_interactive:
            raise AuthError("'password' must be specified and refusing to pull from stdin")
        password = _prompt(ctx, "Password", stdin)
    mount = config.get("mount") or "userpass"
    return _write(client, f"auth/{mount}/login/{username}", {"password": password})


def cert_handler(
    ctx: Context, client: Client, config: dict[str, str], non_interactive: bool, stdin: IO[bytes]
) -> Secret | None:
    mount = config.get("mount") or "cert"
    return _write(client, f"auth/{mount}/login", {"name": config.get("name", "")})


def kubernetes_handler(
    ctx: Context, client: Client, config: dict[str, str], non_interactive: bool, stdin: IO[bytes]
) -> Secret | None:
    mount = config.get("mount", "kubernetes")
    if "role" not in config:
        raise AuthError("'role' must be supplied")
    if "jwt" in config:
        jwt = config["jwt"]
    else:
        if non_interactive:
            raise AuthError("'jwt' not supplied and refusing to pull from stdin")
        jwt = _prompt(ctx, "JWT", stdin)
    return _write(client, f"auth/{mount}/login", {"jwt": jwt, "role": config["role"]})


def oidc_handler(
    ctx: Context, client: Client, config: dict[str, str], non_interactive: bool, stdin: IO[bytes]
) -> Secret | None:
    """Only the first step (the auth URL): the browser flow is not supported."""
    import secrets
    import string

    mount = config.get("mount", "oidc")
    for name in ("skip_browser", "show_qr", "abort_on_error"):
        if name in config:
            try:
                parse_go_bool(config[name])
            except ValueError as exc:
                raise AuthError(f'failed to parse value for "{name}", err={exc}') from None
    method = config.get("callbackmethod", "http")
    host = config.get("callbackhost", "localhost")
    port = config.get("callbackport", config.get("port", "8250"))
    redirect = f"{method}://{host}:{port}/oidc/callback"
    alphabet = string.ascii_letters + string.digits
    nonce = "".join(secrets.choice(alphabet) for _ in range(20))
    role = config.get("role", "")
    data = {"client_nonce": nonce, "redirect_uri": redirect, "role": role}
    secret = _write(client, f"auth/{mount}/oidc/auth_url", data)
    url = (secret.data or {}).get("auth_url")
    if not isinstance(url, str) or not url:
        raise AuthError(
            f"Unable to authorize role {go_quote(role)} with redirect_uri {go_quote(redirect)}. "
            "Check OpenBao logs for more information."
        )
    raise AuthError(f"the OIDC browser login is not supported by {PROG}; open {url}")


HANDLERS: dict[str, Handler] = {
    "cert": cert_handler,
    "kubernetes": kubernetes_handler,
    "oidc": oidc_handler,
    "token": token_handler,
    "userpass": userpass_handler,
}


# --------------------------------------------------------------------------- the command


@command
class Login(Command):
    name = "login"
    synopsis = "Authenticate locally"
    usage = "login [options] [AUTH K=V...]"
    description = f"""
  Authenticates users or machines to the server using the provided arguments.
  A successful authentication results in a token - conceptually similar to a
  session token on a website. By default, this token is cached on the local
  machine for future requests.

  The default auth method is "token". If not supplied via the CLI, the token
  is prompted for. If the argument is "-", the values are read from stdin.

  The -method flag allows using other auth methods, such as userpass or cert.
  For these, additional "K=V" pairs may be required. For example, to
  authenticate to the userpass auth method:

      $ {PROG} login -method=userpass username=my-username

  If an auth method is enabled at a non-standard path, the -method flag still
  refers to the canonical type, but the -path flag refers to the enabled path.
  If a userpass auth method was enabled at "userpass-prod", authenticate like
  this:

      $ {PROG} login -method=userpass -path=userpass-prod username=my-username

  If the authentication is requested with response wrapping (via -wrap-ttl),
  the returned token is automatically unwrapped unless:

    - The -token-only flag is used, in which case this command will output
      the wrapping token.

    - The -no-store flag is used, in which case this command will output the
      details of the wrapping token.
"""

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "method",
            str,
            "token",
            'Type of authentication to use such as "userpass" or "cert". Note this '
            "corresponds to the TYPE, not the enabled path. Use -path to specify the path "
            "where the authentication is enabled.",
            default_text="token",
        )
        fs.add(
            "path",
            str,
            "",
            "Remote path on the server where the auth method is enabled. This defaults to "
            "the TYPE of method (e.g. userpass -> userpass/).",
        )
        fs.add(
            "no-store",
            bool,
            False,
            "Do not persist the token to the token helper (usually the local filesystem) "
            "after authentication for use in future requests. The token will only be "
            "displayed in the command output.",
        )
        fs.add(
            "no-print",
            bool,
            False,
            "Do not display the token. The token will be still be stored to the configured "
            "token helper.",
        )
        fs.add(
            "token-only",
            bool,
            False,
            "Output only the token with no verification. This flag is a shortcut for "
            '"-field=token -no-store". Setting those flags to other values will have no '
            "affect.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        o = ctx.opts
        token_only = bool(o["token-only"])
        no_store = bool(o["no-store"]) or token_only
        field = "token" if token_only else ctx.field
        if no_store and o["no-print"]:
            ctx.ui.error(wrap_at_length("-no-store and -no-print cannot be used together"))
            return 1
        method = sanitize_path(o["method"]) or "token"
        auth_path = o["path"] or ensure_trailing_slash(method)
        handler = HANDLERS.get(method)
        if handler is None:
            ctx.ui.error(
                wrap_at_length(
                    f'Unknown auth method: {method}. Use "bao auth list" to see the complete '
                    "list of auth methods. Additionally, some auth methods are only available "
                    "via the HTTP API."
                )
            )
            return 1
        non_interactive = bool(o.get("non-interactive"))
        stdin: IO[bytes] = io.BytesIO() if non_interactive else ctx.stdin
        if method == "token" and args and "=" not in args[0]:
            args = [f"token={args[0]}", *args[1:]]
        try:
            config = kv_strings(args, stdin)
        except KVError as exc:
            ctx.ui.error(f"Error parsing configuration: {exc}")
            return 1
        if config.get("mount", "") == "" and auth_path:
            config["mount"] = auth_path
        client = client_or_none(ctx)
        if client is None:
            return 2
        if method != "token":
            client.token = ""
        try:
            secret = handler(ctx, client, config, non_interactive, stdin)
        except AuthError as exc:
            ctx.ui.error(f"Error authenticating: {exc}")
            return 2
        # Later requests (unwrapping) are not wrapped again.
        client.wrap_ttl = ""
        try:
            secret, wrapped = self._extract(client, secret, not token_only and not no_store)
        except (ClientError, SecretDecodeError, AuthError) as exc:
            ctx.ui.error(f"Error extracting token: {exc}")
            return 2
        if wrapped:
            if token_only:
                return _print_raw_field(ctx, secret, "wrapping_token")
            return ctx.output_secret(secret)
        if secret.auth is None:
            ctx.ui.error(
                wrap_at_length(
                    "Vault returned a secret, but the secret has no authentication information "
                    "attached. This should never happen and is likely a bug."
                )
            )
            return 2
        if not no_store:
            try:
                write_token_helper(secret.auth.client_token, ctx.environ)
            except OSError as exc:
                ctx.ui.error(f"Error storing token: {_store_error(exc)}")
                ctx.ui.error(
                    wrap_at_length(
                        "Authentication was successful, but the token was not persisted. The "
                        "resulting token is shown below for your records."
                    )
                    + "\n"
                )
                ctx.output_secret(secret)
                return 2
            if getenv("TOKEN", ctx.environ):
                ctx.ui.warn(
                    wrap_at_length(
                        "WARNING! The BAO_TOKEN environment variable is set! The value of this "
                        "variable will take precedence; if this is unwanted please unset "
                        "BAO_TOKEN or update its value accordingly."
                    )
                    + "\n"
                )
        elif not token_only:
            ctx.ui.warn(
                wrap_at_length(
                    "The token was not stored in token helper. Set the BAO_TOKEN environment "
                    "variable or pass the token below with each request to Vault."
                )
                + "\n"
            )
        if o["no-print"]:
            return 0
        if field:
            return _print_raw_field(ctx, secret, field)
        if ctx.format == "table":
            ctx.ui.output(
                wrap_at_length(
                    "Success! You are now authenticated. The token information displayed below "
                    'is already stored in the token helper. You do NOT need to run "bao login" '
                    "again. Future OpenBao requests will automatically use this token."
                )
                + "\n"
            )
        return ctx.output_secret(secret)

    def _extract(self, client: Client, secret: Secret | None, unwrap: bool) -> tuple[Secret, bool]:
        """The secret carrying the token, unwrapping wrapped answers when `unwrap`."""
        while True:
            if secret is None:
                raise AuthError("empty response from auth helper")
            if secret.auth is not None:
                return secret, False
            if secret.wrap_info is None:
                raise AuthError("no auth or wrapping info in response")
            if not secret.wrap_info.wrapped_accessor:
                raise AuthError("wrapped response does not contain a token")
            if not unwrap:
                return secret, True
            client.token = secret.wrap_info.token
            secret = client.unwrap("")


def _print_raw_field(ctx: Context, secret: Secret, field: str) -> int:
    """PrintRawField: warnings first (table format) when the field is there."""
    if ctx.format == "table" and out.raw_field(secret, field) is not None:
        out.print_warnings(ctx.ui, secret)
    return ctx.print_field(secret, field)


def _store_error(exc: OSError) -> str:
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    return f"open {exc.filename}: {reason}" if exc.filename else reason
