"""`operator` commands: init, unseal, seal, key-status, rotate (spec §7.7)."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.client import Client, ClientError
from strongroom.cli.commands.status import fetch_json, output_seal_status
from strongroom.cli.flags import FlagSet
from strongroom.cli.gojson import OrderedObject
from strongroom.cli.gotext import columnize, wrap_at_length
from strongroom.cli.secret import SecretDecodeError, normalize_time

register_group(
    "operator",
    "Perform operator-specific tasks",
    f"""Usage: {PROG} operator <subcommand> [options] [args]

  This command groups subcommands for operators interacting with the server.
  Most users will not need to interact with these commands. Here are a few
  examples of the operator commands:

  Initialize a new server:

      $ {PROG} operator init

  Rotate the server's underlying encryption key:

      $ {PROG} operator rotate

  Please see the individual subcommand help for detailed usage information.""",
)


def _client(ctx: Context) -> Client | None:
    try:
        return ctx.client()
    except ClientError as exc:
        ctx.ui.error(str(exc))
        return None


# --------------------------------------------------------------------------- init


def _read_pgp_keys(value: str) -> list[str]:
    """Comma-separated key files (or keybase:user names) as the API expects them."""
    keys = []
    for item in value.split(","):
        item = item.strip()
        if item.startswith("keybase:"):
            keys.append(item)
            continue
        try:
            with open(item, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise ValueError(f"open {item}: {reason}") from None
        try:
            text = data.decode("ascii").strip()
            base64.b64decode(text, validate=True)
            keys.append(text)
        except (UnicodeDecodeError, ValueError):
            keys.append(base64.b64encode(data).decode())
    return keys


@command
class OperatorInit(Command):
    name = "operator init"
    synopsis = "Initializes a server"
    usage = "operator init [options]"
    description = f"""
  Initializes a server. Initialization is the process by which the storage
  backend is prepared to receive data. Since the server runs in HA mode,
  initialization happens once per cluster, not per server. During
  initialization, the encryption keys are generated, unseal keys are created,
  and the initial root token is created.

  This command connects to a server and initializes it with the specified
  options. The server must not already be initialized.

  Start initialization with the default options:

      $ {PROG} operator init

  Initialize, but encrypt the unseal keys with pgp keys:

      $ {PROG} operator init \\
          -key-shares=3 \\
          -key-threshold=2 \\
          -pgp-keys="keybase:hashicorp,keybase:jefferai,keybase:sethvargo"
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add(
            "key-shares",
            int,
            5,
            "Number of key shares to split the generated root key into. This is the number "
            'of "unseal keys" to generate.',
            aliases=("n",),
        )
        fs.add(
            "key-threshold",
            int,
            3,
            "Number of key shares required to reconstruct the root key. This must be less "
            "than or equal to -key-shares.",
            aliases=("t",),
        )
        fs.add(
            "pgp-keys",
            str,
            "",
            "Comma-separated list of paths to files on disk containing public PGP keys OR a "
            'comma-separated list of Keybase usernames using the format "keybase:<username>". '
            "When supplied, the generated unseal keys will be encrypted and base64-encoded in "
            "the order specified in this list. The number of entries must match -key-shares.",
            example="keybase:user1, keybase:user2, ...",
        )
        fs.add(
            "root-token-pgp-key",
            str,
            "",
            "Path to a file on disk containing a binary or base64-encoded public PGP key. This "
            'can also be specified as a Keybase username using the format "keybase:<username>". '
            "When supplied, the generated root token will be encrypted and base64-encoded with "
            "the given public key.",
            example="keybase:user",
        )
        fs.add(
            "status",
            bool,
            False,
            "Print the current initialization status. An exit code of 0 means the server is "
            "already initialized. An exit code of 1 means an error occurred. An exit code of 2 "
            "means the server is not initialized.",
        )
        fs.section("Auto Unseal Options")
        fs.add(
            "recovery-pgp-keys",
            str,
            "",
            "Behaves like -pgp-keys, but for the recovery key shares. This is only used in "
            "Auto Unseal mode.",
            example="keybase:user1, keybase:user2, ...",
        )
        fs.add(
            "recovery-shares",
            int,
            5,
            "Number of key shares to split the recovery key into. This is only used in Auto "
            "Unseal mode.",
            default_text="5",
        )
        fs.add(
            "recovery-threshold",
            int,
            3,
            "Number of key shares required to reconstruct the recovery key. This is only used "
            "in Auto Unseal mode.",
            default_text="3",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 0)) is not None:
            return code
        opts = ctx.opts
        pgp: dict[str, list[str] | None] = {}
        for name in ("pgp-keys", "recovery-pgp-keys"):
            try:
                pgp[name] = _read_pgp_keys(opts[name]) if opts.get(name) else None
            except ValueError as exc:
                ctx.ui.error(f'invalid value "{opts[name]}" for flag -{name}: {exc}')
                return 1
        client = _client(ctx)
        if client is None:
            return 2
        # The reference command looks at the seal type first (auto unseal
        # changes the defaults); its failure is reported as is.
        try:
            fetch_json(client, "sys/seal-status")
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(str(exc))
            return 2
        if opts.get("status"):
            return self._status(ctx, client)
        request = OrderedObject(
            secret_shares=opts["key-shares"],
            secret_threshold=opts["key-threshold"],
            pgp_keys=pgp["pgp-keys"],
            recovery_shares=0,
            recovery_threshold=0,
            recovery_pgp_keys=pgp["recovery-pgp-keys"],
            root_token_pgp_key=opts.get("root-token-pgp-key") or "",
        )
        try:
            response = fetch_json(client, "sys/init", "PUT", request)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error initializing: {exc}")
            return 2
        resp = response if isinstance(response, dict) else {}
        keys_hex = _strings(resp.get("keys"))
        keys_b64 = _strings(resp.get("keys_base64"))
        recovery_hex = _strings(resp.get("recovery_keys"))
        recovery_b64 = _strings(resp.get("recovery_keys_base64"))
        root_token = resp.get("root_token") if isinstance(resp.get("root_token"), str) else ""
        if ctx.format != "table":
            machine = OrderedObject(
                unseal_keys_b64=keys_b64,
                unseal_keys_hex=keys_hex,
                unseal_shares=request["secret_shares"] if keys_hex else 1,
                unseal_threshold=request["secret_threshold"] if keys_hex else 1,
                recovery_keys_b64=recovery_b64 or None,
                recovery_keys_hex=recovery_hex or None,
                recovery_keys_shares=opts["recovery-shares"] if recovery_hex else 0,
                recovery_keys_threshold=opts["recovery-threshold"] if recovery_hex else 0,
                root_token=root_token,
            )
            return ctx.output_data(machine)
        ui = ctx.ui
        for i, key in enumerate(keys_hex):
            shown = keys_b64[i] if len(keys_b64) == len(keys_hex) else key
            ui.output(f"Unseal Key {i + 1}: {shown}")
        for i, key in enumerate(recovery_hex):
            shown = recovery_b64[i] if len(recovery_b64) == len(recovery_hex) else key
            ui.output(f"Recovery Key {i + 1}: {shown}")
        ui.output("")
        ui.output(f"Initial Root Token: {root_token}")
        shares, threshold = request["secret_shares"], request["secret_threshold"]
        if keys_hex:
            ui.output("")
            ui.output(
                wrap_at_length(
                    f"Vault initialized with {shares} key shares and a key threshold of "
                    f"{threshold}. Please securely distribute the key shares printed above. "
                    "When the Vault is re-sealed, restarted, or stopped, you must supply at "
                    f"least {threshold} of these keys to unseal it before it can start "
                    "servicing requests."
                )
            )
            ui.output("")
            ui.output(
                wrap_at_length(
                    "Vault does not store the generated root key. Without at least "
                    f"{threshold} keys to reconstruct the root key, Vault will remain "
                    "permanently sealed!"
                )
            )
            ui.output("")
            ui.output(
                wrap_at_length(
                    "It is possible to generate new unseal keys, provided you have a quorum "
                    'of existing unseal keys shares. See "bao operator rotate-keys" for '
                    "more information."
                )
            )
        else:
            ui.output("")
            ui.output("Success! Vault is initialized")
        if recovery_hex:
            ui.output("")
            ui.output(
                wrap_at_length(
                    f"Recovery key initialized with {opts['recovery-shares']} key shares and "
                    f"a key threshold of {opts['recovery-threshold']}. Please securely "
                    "distribute the key shares printed above."
                )
            )
        return 0

    def _status(self, ctx: Context, client: Client) -> int:
        try:
            doc = fetch_json(client, "sys/init")
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error checking init status: {exc}")
            return 1
        if isinstance(doc, dict) and doc.get("initialized") is True:
            ctx.ui.output("Vault is initialized")
            return 0
        ctx.ui.output("Vault is not initialized")
        return 2


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# --------------------------------------------------------------------------- unseal / seal


def _read_hidden(ctx: Context) -> str:
    """A line from the terminal on stdin without echo; OSError if stdin is no terminal."""
    fd = ctx.stdin.fileno()
    if not os.isatty(fd):
        raise OSError(f"file descriptor {fd} is not a terminal")
    import termios

    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    new[3] &= ~termios.ECHO
    try:
        termios.tcsetattr(fd, termios.TCSADRAIN, new)
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(fd, 1)
            if not chunk:
                break
            line += chunk
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
    return line.decode("utf-8", "surrogateescape")


@command
class OperatorUnseal(Command):
    name = "operator unseal"
    synopsis = "Unseals the server"
    usage = "operator unseal [options] [KEY]"
    description = f"""
  Provide a portion of the root key to unseal a server. The server starts in a
  sealed state. It cannot perform operations until it is unsealed. This command
  accepts a portion of the root key (an "unseal key").

  The unseal key can be supplied as an argument to the command, but this is
  not recommended as the unseal key will be available in your history:

      $ {PROG} operator unseal IXyR0OJnSFobekZMMCKCoVEpT7wI6l+USMzE3IcyDyo=

  Instead, run the command with no arguments and it will prompt for the key:

      $ {PROG} operator unseal
      Key (will be hidden): IXyR0OJnSFobekZMMCKCoVEpT7wI6l+USMzE3IcyDyo=
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "migrate",
            bool,
            False,
            "Indicate that this share is provided with the intent that it is part of a seal "
            "migration process.",
        )
        fs.add("reset", bool, False, "Discard any previously entered keys to the unseal process.")

    def run(self, ctx: Context, args: list[str]) -> int:
        if len(args) > 1:
            ctx.ui.error(f"Too many arguments (expected 1, got {len(args)})")
            return 1
        key = args[0].strip() if args else ""
        client = _client(ctx)
        if client is None:
            return 2
        if ctx.opts.get("reset"):
            try:
                status = fetch_json(client, "sys/unseal", "PUT", OrderedObject(reset=True))
            except (ClientError, SecretDecodeError) as exc:
                ctx.ui.error(f"Error resetting unseal process: {exc}")
                return 2
            return output_seal_status(ctx, client, status)
        if not key:
            ctx.ui.raw("Unseal Key (will be hidden): ")
            try:
                value = _read_hidden(ctx)
            except OSError as exc:
                ctx.ui.raw("\n")
                ctx.ui.error(
                    wrap_at_length(
                        "An error occurred attempting to ask for an unseal key. The raw error "
                        "message is shown below, but usually this is because you attempted to "
                        "pipe a value into the unseal command or you are executing outside of a "
                        "terminal (tty). You should run the unseal command from a terminal for "
                        "maximum security. If this is not an option, the unseal key can be "
                        "provided as the first argument to the unseal command. The raw error "
                        f"was:  {exc}"
                    )
                )
                return 1
            ctx.ui.raw("\n")
            key = value.strip()
        body = OrderedObject(key=key, reset=False, migrate=bool(ctx.opts.get("migrate")))
        try:
            status = fetch_json(client, "sys/unseal", "PUT", body)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error unsealing: {exc}")
            return 2
        return output_seal_status(ctx, client, status)


@command
class OperatorSeal(Command):
    name = "operator seal"
    synopsis = "Seals the server"
    usage = "operator seal [options]"
    description = f"""
  Seals the server. Sealing tells the server to stop responding to any
  operations until it is unsealed. When sealed, the server discards its
  in-memory root key to unlock the data, so it is physically blocked from
  responding to operations unsealed.

  If an unseal is in progress, sealing the server will reset the unsealing
  process. Users will have to re-enter their portions of the root key again.

  This command does nothing if the server is already sealed.

  Seal the server:

      $ {PROG} operator seal
"""
    output = None

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 0)) is not None:
            return code
        client = _client(ctx)
        if client is None:
            return 2
        try:
            client.request("PUT", "sys/seal")
        except ClientError as exc:
            ctx.ui.error(f"Error sealing: {exc}")
            return 2
        ctx.ui.output("Success! Vault is sealed.")
        return 0


# --------------------------------------------------------------------------- key status / rotate


def _parse_time(text: str) -> datetime | None:
    import re

    m = re.fullmatch(
        r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|z|([+-])(\d\d):(\d\d))", text
    )
    if m is None:
        return None
    moment = datetime(*(int(g) for g in m.groups()[:6]), tzinfo=UTC)
    if m.group(8):
        offset = timedelta(hours=int(m.group(9)), minutes=int(m.group(10)))
        moment = moment - offset if m.group(8) == "+" else moment + offset
    return moment


def key_status(client: Client) -> OrderedObject:
    """GET sys/key-status as {term, install_time, encryptions}."""
    doc = fetch_json(client, "sys/key-status")
    doc = doc if isinstance(doc, dict) else {}
    data = doc.get("data") if isinstance(doc.get("data"), dict) else doc
    install = data.get("install_time")
    install = (
        normalize_time(install) if isinstance(install, str) and install else "0001-01-01T00:00:00Z"
    )
    term = data.get("term")
    count = data.get("encryptions")
    return OrderedObject(
        term=term if isinstance(term, int) and not isinstance(term, bool) else 0,
        install_time=install,
        encryptions=count if isinstance(count, int) and not isinstance(count, bool) else 0,
    )


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def key_status_table(status: OrderedObject) -> str:
    moment = _parse_time(status["install_time"])
    # Go's RFC822 layout, "02 Jan 06 15:04 MST", always in UTC.
    installed = (
        f"{moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year % 100:02d} "
        f"{moment.hour:02d}:{moment.minute:02d} UTC"
        if moment
        else status["install_time"]
    )
    return columnize(
        [
            f"Key Term | {status['term']}",
            f"Install Time | {installed}",
            f"Encryption Count | {status['encryptions']}",
        ],
        delim="|",
    )


@command
class OperatorKeyStatus(Command):
    name = "operator key-status"
    synopsis = "Provides information about the active encryption key"
    usage = "operator key-status [options]"
    description = f"""
  Provides information about the active encryption key. Specifically, the
  current key term and the key installation time.

      $ {PROG} operator key-status
"""
    output = "format"

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 0)) is not None:
            return code
        client = _client(ctx)
        if client is None:
            return 2
        try:
            status = key_status(client)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error reading key status: {exc}")
            return 2
        if ctx.format == "table":
            ctx.ui.output(key_status_table(status))
            return 0
        return ctx.output_data(status)


@command
class OperatorRotate(Command):
    name = "operator rotate"
    synopsis = "Rotates the underlying encryption key"
    usage = "operator rotate [options]"
    description = f"""
  Rotates the underlying encryption key which is used to secure data written to
  the storage backend. This installs a new key in the key ring. This new key is
  used to encrypt new data, while older keys in the ring are used to decrypt
  older data.

  This is an online operation and does not cause downtime. This command is run
  per-cluster (not per-server), since servers in HA mode share the same storage
  backend.

  Rotate the encryption key:

      $ {PROG} operator rotate
"""
    output = "format"

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 0)) is not None:
            return code
        client = _client(ctx)
        if client is None:
            return 2
        try:
            client.request("POST", "sys/rotate/keyring")
        except ClientError as exc:
            ctx.ui.error(f"Error rotating key: {exc}")
            return 2
        try:
            status = key_status(client)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error reading key status: {exc}")
            return 2
        if ctx.format == "table":
            ctx.ui.output("Success! Rotated key")
            ctx.ui.output("")
            ctx.ui.output(key_status_table(status))
            return 0
        return ctx.output_data(status)
