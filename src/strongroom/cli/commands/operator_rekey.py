"""`operator rekey` and `operator generate-root` (the reference CLI's commands and output).

Also loads the rest of the `operator` group: the dispatcher imports one
module per first word, and this one is registered for "operator".

`operator rekey` talks to `sys/rekey/*` and `operator generate-root` to
`sys/generate-root/*`: both need no token (the unseal key shares are the
credential), so a lost root token can be replaced.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
from typing import Any

from strongroom.cli.base import PROG, Command, Context, command
from strongroom.cli.client import Client, ClientError
from strongroom.cli.commands.status import fetch_json
from strongroom.cli.flags import FlagSet
from strongroom.cli.gojson import OrderedObject
from strongroom.cli.gotext import columnize, table_output, wrap_at_length
from strongroom.cli.output import print_raw
from strongroom.cli.secret import SecretDecodeError
from strongroom.core.ids import base62

# The other modules of the group (operator init/unseal/…, and migrate where present).
for _sibling in ("operator", "operator_migrate"):
    if importlib.util.find_spec(f"strongroom.cli.commands.{_sibling}") is not None:
        importlib.import_module(f"strongroom.cli.commands.{_sibling}")

_CALL_ERRORS = (ClientError, SecretDecodeError)
DEFAULT_OTP_LENGTH = 37  # a strongroom token: "hvs." and 33 characters


def _client(ctx: Context) -> Client | None:
    try:
        return ctx.client()
    except ClientError as exc:
        ctx.ui.error(str(exc))
        return None


def _obj(doc: Any) -> dict[str, Any]:
    return doc if isinstance(doc, dict) else {}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _strings(value: Any) -> list[str] | None:
    return [str(v) for v in value] if isinstance(value, list) else None


def _go_list(values: list[str] | None) -> str:
    return "[" + " ".join(values or []) + "]"


def _read_key(ctx: Context, prompt_lines: list[str], what: str) -> tuple[str | None, int]:
    """A key from the terminal (hidden); (None, 1) after printing the error."""
    from strongroom.cli.commands.operator import _read_hidden

    if ctx.opts.get("non-interactive"):
        ctx.ui.error(
            wrap_at_length(
                "Refusing to read from stdin with -non-interactive specified; specify nonce "
                "via the -nonce flag"
            )
        )
        return None, 1
    for line in prompt_lines:
        ctx.ui.raw(line)
    try:
        value = _read_hidden(ctx)
    except OSError as exc:
        ctx.ui.raw("\n")
        ctx.ui.error(
            wrap_at_length(
                f"An error occurred attempting to ask for the {what} key. The raw error "
                "message is shown below, but usually this is because you attempted to pipe a "
                "value into the command or you are executing outside of a terminal (tty). If "
                'you want to pipe the value, pass "-" as the argument to read from stdin. The '
                f"raw error was: {exc}"
            )
        )
        return None, 1
    ctx.ui.raw("\n")
    return value, 0


def _stdin(ctx: Context) -> str:
    stream = io.BytesIO() if ctx.opts.get("non-interactive") else ctx.stdin
    return stream.read().decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- rekey


def rekey_status(doc: Any) -> OrderedObject:
    """The reference client's RotateStatusResponse (field order = JSON order)."""
    d = _obj(doc)
    status = OrderedObject()
    if d.get("complete"):
        status["complete"] = True
    if d.get("keys"):
        status["keys"] = _strings(d.get("keys"))
    if d.get("keys_base64"):
        status["keys_base64"] = _strings(d.get("keys_base64"))
    status.update(
        nonce=str(d.get("nonce") or ""),
        started=bool(d.get("started")),
        t=_int(d.get("t")),
        n=_int(d.get("n")),
        progress=_int(d.get("progress")),
        required=_int(d.get("required")),
        pgp_fingerprints=_strings(d.get("pgp_fingerprints")),
        backup=bool(d.get("backup")),
        verification_required=bool(d.get("verification_required")),
        verification_nonce=str(d.get("verification_nonce") or ""),
    )
    return status


def verification_status(doc: Any) -> OrderedObject:
    d = _obj(doc)
    return OrderedObject(
        nonce=str(d.get("nonce") or ""),
        started=bool(d.get("started")),
        t=_int(d.get("t")),
        n=_int(d.get("n")),
        progress=_int(d.get("progress")),
    )


def rekey_update(doc: Any) -> OrderedObject:
    d = _obj(doc)
    update = OrderedObject(
        nonce=str(d.get("nonce") or ""),
        complete=bool(d.get("complete")),
        keys=_strings(d.get("keys")),
        keys_base64=_strings(d.get("keys_base64")),
        pgp_fingerprints=_strings(d.get("pgp_fingerprints")),
        backup=bool(d.get("backup")),
        verification_required=bool(d.get("verification_required")),
    )
    if d.get("verification_nonce"):
        update["verification_nonce"] = str(d["verification_nonce"])
    return update


def print_rotation_status(ctx: Context, status: OrderedObject, *, verification: bool) -> int:
    if ctx.format != "table":
        return ctx.output_data(status)
    rows = ["Key | Value"]
    if verification:
        rows += [
            f"Started | {str(status['started']).lower()}",
            f"New Shares | {status['n']}",
            f"New Threshold | {status['t']}",
            f"Verification Nonce | {status['nonce']}",
            f"Verification Progress | {status['progress']}/{status['t']}",
        ]
    else:
        rows.append(f"Nonce | {status['nonce']}")
        rows.append(f"Started | {str(status['started']).lower()}")
        if status["started"]:
            progress = f"{status['progress']}/{status['required']}"
            if status["progress"] == status["required"]:
                progress += " (verification in progress)"
            rows.append(f"Progress | {progress}")
            if status["n"] > 0:
                rows.append(f"New Shares | {status['n']}")
            if status["t"] > 0:
                rows.append(f"New Threshold | {status['t']}")
            rows.append(f"Verification Required | {str(status['verification_required']).lower()}")
            if status["verification_nonce"]:
                rows.append(f"Verification Nonce | {status['verification_nonce']}")
        if status["pgp_fingerprints"]:
            rows.append(f"PGP Fingerprints | {_go_list(status['pgp_fingerprints'])}")
            rows.append(f"Backup | {str(status['backup']).lower()}")
    ctx.ui.output(table_output(rows, "|"))
    return 0


@command
class OperatorRekey(Command):
    name = "operator rekey"
    synopsis = "Generates new unseal keys"
    usage = "operator rekey [options] [KEY]"
    description = f"""
  Generates a new set of unseal keys. This can optionally change the total
  number of key shares or the required threshold of those key shares to
  reconstruct the root key. This operation is zero downtime, but it requires
  that the server is unsealed and a quorum of existing unseal keys are
  provided.

  An unseal key may be provided directly on the command line as an argument to
  the command. If key is specified as "-", the command will read from stdin. If
  a TTY is available, the command will prompt for text.

  Initialize a rekey:

      $ {PROG} operator rekey \\
          -init \\
          -key-shares=15 \\
          -key-threshold=9

  Initialize a rekey and require the new keys to be verified:

      $ {PROG} operator rekey -init -key-shares=3 -key-threshold=2 -verify

  Provide a current unseal key:

      $ {PROG} operator rekey -nonce=<nonce> <unseal key>

  PGP encryption of the new keys (-pgp-keys, -backup) is not supported by
  strongroom; the server refuses it.
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.section("Common Options")
        fs.add(
            "init",
            bool,
            False,
            "Initialize the rekeying operation. This can only be done if no rekeying operation "
            "is in progress. Customize the new number of key shares and key threshold using "
            "the -key-shares and -key-threshold flags.",
        )
        fs.add(
            "cancel",
            bool,
            False,
            "Reset the rekeying progress. This will discard any submitted unseal keys, "
            "recovery keys, or configuration.",
        )
        fs.add(
            "status",
            bool,
            False,
            "Print the status of the current attempt without providing an unseal or recovery key.",
        )
        fs.add(
            "key-shares",
            int,
            5,
            "Number of key shares to split the generated root key into. This is the number of "
            '"unseal keys" or "recovery keys" to generate.',
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
            "nonce",
            str,
            "",
            "Nonce value provided at initialization. The same nonce value must be provided "
            "with each unseal or recovery key.",
        )
        fs.add(
            "target",
            str,
            "barrier",
            'Target for rekeying. "recovery" only applies for auto-seals.',
        )
        fs.add(
            "pgp-keys",
            str,
            "",
            "Comma-separated list of paths to files on disk containing public PGP keys. Not "
            "supported by strongroom.",
            example="keybase:user1, keybase:user2, ...",
        )
        fs.add(
            "verify",
            bool,
            False,
            "Indicates that the action (-status, -cancel, or providing a key share) will be "
            "affecting verification for the current rekey attempt.",
        )
        fs.section("Backup Options")
        fs.add("backup", bool, False, "Store a backup of PGP-encrypted keys (not supported).")
        fs.add("backup-delete", bool, False, "Delete any stored backup unseal keys.")
        fs.add("backup-retrieve", bool, False, "Retrieve the backed-up unseal keys.")

    def run(self, ctx: Context, args: list[str]) -> int:
        if len(args) > 1:
            ctx.ui.error(f"Too many arguments (expected 0-1, got {len(args)})")
            return 1
        client = _client(ctx)
        if client is None:
            return 2
        target = ctx.opts["target"].strip().lower()
        if target != "barrier":
            if target in ("recovery", "hsm"):
                ctx.ui.error(f"Error initializing rekey: {target} keys exist only with auto-unseal")
                return 2
            ctx.ui.error(f"Unknown target: {ctx.opts['target']}")
            return 1
        o = ctx.opts
        if o["backup-delete"]:
            return self._backup_delete(ctx, client)
        if o["backup-retrieve"]:
            return self._backup_retrieve(ctx, client)
        if o["cancel"]:
            return self._cancel(ctx, client)
        if o["init"]:
            return self._init(ctx, client)
        if o["status"]:
            return self._status(ctx, client)
        return self._provide(ctx, client, args[0].strip() if args else "")

    def _init(self, ctx: Context, client: Client) -> int:
        o = ctx.opts
        pgp = [k.strip() for k in o["pgp-keys"].split(",") if k.strip()] or None
        body = OrderedObject(
            secret_shares=o["key-shares"],
            secret_threshold=o["key-threshold"],
            pgp_keys=pgp,
            backup=bool(o["backup"]),
            require_verification=bool(o["verify"]),
        )
        try:
            status = rekey_status(fetch_json(client, "sys/rekey/init", "PUT", body))
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error initializing rekey: {exc}")
            return 2
        if ctx.format == "table":
            ctx.ui.warn(
                wrap_at_length(
                    "WARNING! If you lose the keys after they are returned, there is no "
                    "recovery. Consider canceling this operation and re-initializing with the "
                    "-pgp-keys flag to protect the returned unseal keys along with -backup to "
                    "allow recovery of the encrypted keys in case of emergency. You can delete "
                    "the stored keys later using the -delete flag."
                )
            )
            ctx.ui.output("")
        return print_rotation_status(ctx, status, verification=False)

    def _cancel(self, ctx: Context, client: Client) -> int:
        path = "sys/rekey/verify" if ctx.opts["verify"] else "sys/rekey/init"
        try:
            client.request("DELETE", path)
        except ClientError as exc:
            ctx.ui.error(f"Error canceling rekey: {exc}")
            return 2
        ctx.ui.output("Success! Canceled rekeying (if it was started)")
        return 0

    def _status(self, ctx: Context, client: Client) -> int:
        verify = bool(ctx.opts["verify"])
        try:
            doc = fetch_json(client, "sys/rekey/verify" if verify else "sys/rekey/init")
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error reading rekey status: {exc}")
            return 2
        status = verification_status(doc) if verify else rekey_status(doc)
        return print_rotation_status(ctx, status, verification=verify)

    def _provide(self, ctx: Context, client: Client, key: str) -> int:
        verify = bool(ctx.opts["verify"])
        status_path = "sys/rekey/verify" if verify else "sys/rekey/init"
        try:
            doc = fetch_json(client, status_path)
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error getting rekey status: {exc}")
            return 2
        status = verification_status(doc) if verify else rekey_status(doc)
        if not status["started"]:
            ctx.ui.error(
                wrap_at_length(
                    'No rekey is in progress. Start a rekey process by running "'
                    f'{PROG} operator rekey -init".'
                )
            )
            return 1
        nonce = ctx.opts["nonce"]
        if key == "-":
            key = _stdin(ctx)
        elif key == "":
            nonce = status["nonce"]
            value, code = _read_key(
                ctx,
                [f"Rekey operation nonce: {nonce}\n", "Unseal Key (will be hidden): "],
                "unseal",
            )
            if value is None:
                return code
            key = value
        key = key.strip()
        if not nonce:
            ctx.ui.error("Missing nonce value: specify it via the -nonce flag")
            return 1
        update_path = "sys/rekey/verify" if verify else "sys/rekey/update"
        try:
            result = _obj(fetch_json(client, update_path, "PUT", {"key": key, "nonce": nonce}))
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error posting unseal key: {exc}")
            return 2
        if not result.get("complete"):
            return self._status(ctx, client)
        if verify:
            ctx.ui.output(
                wrap_at_length(
                    "Rekey verification successful. The rekey operation is complete and the "
                    "new keys are now active."
                )
            )
            return 0
        update = rekey_update(result)
        if ctx.format != "table":
            return ctx.output_data(update)
        ctx.ui.output("")
        keys, keys_b64 = update["keys"] or [], update["keys_base64"] or []
        for i, value in enumerate(keys):
            shown = keys_b64[i] if len(keys_b64) == len(keys) else value
            ctx.ui.output(f"Key {i + 1}: {shown}")
        return self._print_warnings(ctx, client, status, update)

    def _print_warnings(
        self, ctx: Context, client: Client, status: OrderedObject, update: OrderedObject
    ) -> int:
        if not update["keys"]:
            ctx.ui.output("")
            ctx.ui.output("Barrier root key rotated using recovery keys.")
            return 0
        if update["nonce"]:
            ctx.ui.output("")
            ctx.ui.output(f"Operation nonce: {update['nonce']}")
        n, t = status["n"], status["t"]
        ctx.ui.output("")
        if status["verification_required"]:
            ctx.ui.output(
                wrap_at_length(
                    f"OpenBao has created a new unseal key, split into {n} key shares and a "
                    f"key threshold of {t}. These will not be active until after verification "
                    "is complete. Please securely distribute the key shares printed above. "
                    "When  OpenBao is re-sealed, restarted, or stopped, you must supply at "
                    f"least {t} of these keys to unseal it before it can start servicing "
                    "requests."
                )
            )
            ctx.ui.output("")
            ctx.ui.warn(
                wrap_at_length(
                    "Again, these key shares are _not_ valid until verification is performed. "
                    "Do not lose or discard your current key shares until after verification "
                    "is complete or you will be unable to unseal OpenBao. If you cancel the "
                    "rekey process or seal OpenBao before verification is complete the new "
                    "shares will be discarded and the current shares will remain valid."
                )
            )
            ctx.ui.output("")
            ctx.ui.warn(
                wrap_at_length(
                    "The current verification status, including initial nonce, is shown below."
                )
            )
            ctx.ui.output("")
            ctx.opts["verify"] = True
            return self._status(ctx, client)
        ctx.ui.output(
            wrap_at_length(
                f"OpenBao unseal keys rekeyed to {n} key shares and a key threshold of {t}. "
                "Please securely distribute the key shares printed above. When OpenBao is "
                f"re-sealed, restarted, or stopped, you must supply at least {t} of these "
                "keys to unseal it before it can start servicing requests."
            )
        )
        return 0

    def _backup_retrieve(self, ctx: Context, client: Client) -> int:
        from strongroom.cli.commands.token import call

        try:
            secret = call(client, "GET", "sys/rekey/backup")
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error retrieving rekey backed up keys: {exc}")
            return 2
        return ctx.output_secret(secret)

    def _backup_delete(self, ctx: Context, client: Client) -> int:
        try:
            client.request("DELETE", "sys/rekey/backup")
        except ClientError as exc:
            ctx.ui.error(f"Error deleting rekey backed up keys: {exc}")
            return 2
        ctx.ui.output("Success! Deleted backed up keys (if they existed)")
        return 0


# --------------------------------------------------------------------------- generate-root


def root_status(doc: Any) -> OrderedObject:
    """The reference client's GenerateRootStatusResponse."""
    d = _obj(doc)
    return OrderedObject(
        nonce=str(d.get("nonce") or ""),
        started=bool(d.get("started")),
        progress=_int(d.get("progress")),
        required=_int(d.get("required")),
        complete=bool(d.get("complete")),
        encoded_token=str(d.get("encoded_token") or ""),
        encoded_root_token=str(d.get("encoded_root_token") or ""),
        pgp_fingerprint=str(d.get("pgp_fingerprint") or ""),
        otp=str(d.get("otp") or ""),
        otp_length=_int(d.get("otp_length")),
    )


def decode_root_token(encoded: str, otp: str) -> str:
    """base64 (no padding) of token XOR otp, undone; ValueError with the reference text."""
    from strongroom.core.sys_generate_root import decode_token

    return decode_token(encoded, otp)


@command
class OperatorGenerateRoot(Command):
    name = "operator generate-root"
    synopsis = "Generates a new root token"
    usage = "operator generate-root [options] [KEY]"
    description = f"""
  Generates a new root token by combining a quorum of share holders. A
  base64-encoded one-time-password (OTP) must be provided via the "-otp" flag
  to start the root token generation (use "-generate-otp" to make one, or
  give none to have the server generate it). The resulting token is XORed
  with this value when it is returned. Use the "-decode" flag to output the
  final value. (PGP-encrypted tokens, "-pgp-key", are not supported by
  strongroom.)

  An unseal key may be provided directly on the command line as an argument to
  the command. If key is specified as "-", the command will read from stdin. If
  a TTY is available, the command will prompt for text.

  Generate an OTP code for the final token:

      $ {PROG} operator generate-root -generate-otp

  Start a root token generation:

      $ {PROG} operator generate-root -init -otp="..."

  Enter an unseal key to progress root token generation:

      $ {PROG} operator generate-root -nonce=<nonce> <unseal key>

  Decode the encoded token:

      $ {PROG} operator generate-root -decode=<encoded token> -otp="..."
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "init",
            bool,
            False,
            "Start a root token generation. This can only be done if "
            "there is not currently one in progress.",
        )
        fs.add(
            "cancel",
            bool,
            False,
            "Reset the root token generation progress. This will "
            "discard any submitted unseal keys or configuration.",
        )
        fs.add(
            "status",
            bool,
            False,
            "Print the status of the current attempt without providing an unseal key.",
        )
        fs.add(
            "decode",
            str,
            "",
            "The value to decode; setting this triggers a decode "
            'operation. If the value is "-" then read the encoded token from stdin.',
        )
        fs.add(
            "generate-otp",
            bool,
            False,
            "Generate and print a high-entropy "
            'one-time-password (OTP) suitable for use with the "-init" flag.',
        )
        fs.add("otp", str, "", 'OTP code to use with "-decode" or "-init".')
        fs.add(
            "pgp-key",
            str,
            "",
            "Path to a file on disk containing a binary or "
            "base64-encoded public PGP key. Not supported by strongroom.",
            example="keybase:user",
        )
        fs.add(
            "nonce",
            str,
            "",
            "Nonce value provided at initialization. The same nonce "
            "value must be provided with each unseal key.",
        )
        fs.add(
            "recovery-token",
            bool,
            False,
            "Set this flag to do generate root operations on Recovery Operational tokens.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        if len(args) > 1:
            ctx.ui.error(f"Too many arguments (expected 0-1, got {len(args)})")
            return 1
        client = _client(ctx)
        if client is None:
            return 2
        o = ctx.opts
        if o["recovery-token"]:
            ctx.ui.error(
                "Error getting root generation status: recovery operation tokens "
                "need an auto-unseal, which strongroom does not have"
            )
            return 2
        if o["generate-otp"]:
            return self._generate_otp(ctx, client)
        if o["decode"]:
            return self._decode(ctx, client, o["decode"], o["otp"])
        if o["cancel"]:
            return self._cancel(ctx, client)
        if o["init"]:
            return self._init(ctx, client, o["otp"], o["pgp-key"])
        if o["status"]:
            return self._status(ctx, client)
        return self._provide(ctx, client, args[0].strip() if args else "")

    @staticmethod
    def _fetch_status(client: Client) -> OrderedObject:
        return root_status(fetch_json(client, "sys/generate-root/attempt"))

    def _generate_otp(self, ctx: Context, client: Client) -> int:
        try:
            status = self._fetch_status(client)
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error getting root generation status: {exc}")
            return 2
        length = status["otp_length"] or DEFAULT_OTP_LENGTH
        otp = base62(length)
        if ctx.format == "table":
            return print_raw(ctx.ui, otp)
        return ctx.output_data({"otp": otp, "otp_length": len(otp)})

    def _decode(self, ctx: Context, client: Client, encoded: str, otp: str) -> int:
        if not otp:
            ctx.ui.error("Missing otp: use -otp to supply it")
            return 1
        if encoded == "-":
            encoded = _stdin(ctx)
            if encoded == "":
                ctx.ui.error(
                    'Missing encoded value. When using -decode="-" value must be passed via stdin.'
                )
                return 1
        try:
            self._fetch_status(client)
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error getting root generation status: {exc}")
            return 2
        try:
            token = decode_root_token(encoded.strip(), otp)
        except ValueError as exc:
            ctx.ui.error(f"Error decoding root token: {exc}")
            return 1
        if ctx.format == "table":
            return print_raw(ctx.ui, token)
        return ctx.output_data({"token": token})

    def _init(self, ctx: Context, client: Client, otp: str, pgp_key: str) -> int:
        if otp and pgp_key:
            ctx.ui.error("Error initializing: cannot specify both -otp and -pgp-key")
            return 1
        body = {"otp": otp, "pgp_key": pgp_key}
        try:
            status = root_status(fetch_json(client, "sys/generate-root/attempt", "PUT", body))
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error initializing root generation: {exc}")
            return 2
        return self._print(ctx, status)

    def _cancel(self, ctx: Context, client: Client) -> int:
        try:
            client.request("DELETE", "sys/generate-root/attempt")
        except ClientError as exc:
            ctx.ui.error(f"Error canceling root token generation: {exc}")
            return 2
        ctx.ui.output("Success! Root token generation canceled (if it was started)")
        return 0

    def _status(self, ctx: Context, client: Client) -> int:
        try:
            status = self._fetch_status(client)
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error getting root generation status: {exc}")
            return 2
        return self._print(ctx, status)

    def _provide(self, ctx: Context, client: Client, key: str) -> int:
        try:
            status = self._fetch_status(client)
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error getting root generation status: {exc}")
            return 2
        if not status["started"]:
            ctx.ui.error(
                wrap_at_length(
                    'No root generation is in progress. Start a root generation by running "'
                    f'{PROG} operator generate-root -init".'
                )
            )
            ctx.ui.warn(
                wrap_at_length(
                    "If starting root generation using the OTP method and generating your own "
                    "OTP, the length of the OTP string needs to be "
                    f"{status['otp_length']} characters in length."
                )
            )
            return 1
        nonce = ctx.opts["nonce"]
        if key == "-":
            key = _stdin(ctx)
        elif key == "":
            nonce = status["nonce"]
            value, code = _read_key(
                ctx, [f"Operation nonce: {nonce}\n", "Unseal Key (will be hidden): "], "unseal"
            )
            if value is None:
                return code
            key = value
        key = key.strip()
        if not nonce:
            ctx.ui.error("Missing nonce value: specify it via the -nonce flag")
            return 1
        try:
            result = root_status(
                fetch_json(client, "sys/generate-root/update", "PUT", {"key": key, "nonce": nonce})
            )
        except _CALL_ERRORS as exc:
            ctx.ui.error(f"Error posting unseal key: {exc}")
            return 2
        return self._print(ctx, result)

    @staticmethod
    def _print(ctx: Context, status: OrderedObject) -> int:
        if ctx.format != "table":
            return ctx.output_data(status)
        rows = [
            f"Nonce | {status['nonce']}",
            f"Started | {str(status['started']).lower()}",
            f"Progress | {status['progress']}/{status['required']}",
            f"Complete | {str(status['complete']).lower()}",
        ]
        if status["pgp_fingerprint"]:
            rows.append(f"PGP Fingerprint | {status['pgp_fingerprint']}")
        if status["encoded_token"]:
            rows.append(f"Encoded Token | {status['encoded_token']}")
        elif status["encoded_root_token"]:
            rows.append(f"Encoded Root Token | {status['encoded_root_token']}")
        if status["otp"]:
            ctx.ui.warn(
                wrap_at_length(
                    "A One-Time-Password has been generated for you and is shown in the OTP "
                    "field. You will need this value to decode the resulting root token, so "
                    "keep it safe."
                )
            )
            rows.append(f"OTP | {status['otp']}")
        if status["otp_length"]:
            rows.append(f"OTP Length | {status['otp_length']}")
        ctx.ui.output(columnize(rows, "|"))
        return 0
