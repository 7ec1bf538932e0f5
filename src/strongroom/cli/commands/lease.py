"""`lease` commands: lookup, renew, revoke (spec §7.7, `sys/leases`)."""

from __future__ import annotations

from strongroom.cli.base import PROG, Command, Context, command, register_group
from strongroom.cli.client import ClientError
from strongroom.cli.commands.token import call, client_or_none, whole_seconds
from strongroom.cli.flags import DURATION, FlagSet
from strongroom.cli.gotext import go_trim_space, wrap_at_length
from strongroom.cli.secret import SecretDecodeError

register_group(
    "lease",
    "Interact with leases",
    f"""Usage: {PROG} lease <subcommand> [options] [args]

  This command groups subcommands for interacting with leases. Users can revoke
  or renew leases.

  Renew a lease:

      $ {PROG} lease renew database/creds/readonly/2f6a614c...

  Revoke a lease:

      $ {PROG} lease revoke database/creds/readonly/2f6a614c...""",
)


def _lease_id(ctx: Context, args: list[str], expected: str) -> str | None:
    """The single ID argument (None after printing the usage error)."""
    if not args:
        ctx.ui.error("Missing ID!")
        return None
    if len(args) > 1:
        ctx.ui.error(f"Too many arguments (expected {expected}, got {len(args)})")
        return None
    return go_trim_space(args[0])


@command
class LeaseLookup(Command):
    name = "lease lookup"
    synopsis = "Lookup the lease of a secret"
    usage = "lease lookup ID"
    description = f"""
  Lookup the lease information of a secret.

  Every secret on the server has a lease associated with it. Users can look up
  information on the lease by referencing the lease ID.

  Lookup lease of a secret:

      $ {PROG} lease lookup database/creds/readonly/2f6a614c...
"""
    output = "format"

    def run(self, ctx: Context, args: list[str]) -> int:
        lease_id = _lease_id(ctx, args, "1")
        if lease_id is None:
            return 1
        client = client_or_none(ctx)
        if client is None:
            return 2
        try:
            secret = call(client, "PUT", "sys/leases/lookup", {"lease_id": lease_id})
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"error looking up lease id {lease_id}: {exc}")
            return 2
        return ctx.output_secret(secret)


@command
class LeaseRenew(Command):
    name = "lease renew"
    synopsis = "Renews the lease of a secret"
    usage = "lease renew [options] ID"
    description = f"""
  Renews the lease on a secret, extending the time that it can be used before
  it is revoked by the server.

  Every secret on the server has a lease associated with it. If the owner of
  the secret wants to use it longer than the lease, then it must be renewed.
  Renewing the lease does not change the contents of the secret. The ID is the
  full path lease ID.

  Renew a secret:

      $ {PROG} lease renew database/creds/readonly/2f6a614c...

  Lease renewal will fail if the secret is not renewable, the secret has already
  been revoked, or if the secret has already reached its maximum TTL.

  For a full list of examples, please see the documentation.
"""
    output = "format"

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "increment",
            DURATION,
            0,
            "Request a specific increment in seconds. The server is not required to honor "
            "this request.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        lease_id = _lease_id(ctx, args, "1-2")
        if lease_id is None:
            return 1
        client = client_or_none(ctx)
        if client is None:
            return 2
        body = {"increment": whole_seconds(ctx.opts["increment"]), "lease_id": lease_id}
        try:
            secret = call(client, "PUT", "sys/leases/renew", body)
        except (ClientError, SecretDecodeError) as exc:
            ctx.ui.error(f"Error renewing {lease_id}: {exc}")
            return 2
        return ctx.output_secret(secret)


@command
class LeaseRevoke(Command):
    name = "lease revoke"
    synopsis = "Revokes leases and secrets"
    usage = "lease revoke [options] ID"
    description = f"""
  Revokes secrets by their lease ID. This command can revoke a single secret
  or multiple secrets based on a path-matched prefix.

  The default behavior when not using -force is to revoke asynchronously; the
  server will queue the revocation and keep trying if it fails (including
  across restarts). The -sync flag can be used to force a synchronous
  operation, but it is then up to the caller to retry on failure. Force mode
  always operates synchronously.

  Revoke a single lease:

      $ {PROG} lease revoke database/creds/readonly/2f6a614c...

  Revoke all leases for a role:

      $ {PROG} lease revoke -prefix aws/creds/deploy

  Force delete leases from the server even if secret engine revocation fails:

      $ {PROG} lease revoke -force -prefix consul/creds

  For a full list of examples and paths, please see the documentation that
  corresponds to the secret engine in use.
"""
    output = None

    def add_flags(self, fs: FlagSet) -> None:
        fs.add(
            "force",
            bool,
            False,
            "Delete the lease from the server even if the secret engine revocation fails. "
            "This is meant for recovery situations where the secret in the target secret "
            "engine was manually removed. If this flag is specified, -prefix is also required.",
            aliases=("f",),
        )
        fs.add(
            "prefix",
            bool,
            False,
            "Treat the ID as a prefix instead of an exact lease ID. This can revoke multiple "
            "leases simultaneously.",
        )
        fs.add(
            "sync",
            bool,
            False,
            "Force a synchronous operation; on failure it is up to the client to retry.",
        )

    def run(self, ctx: Context, args: list[str]) -> int:
        if (code := ctx.expect_args(args, 1)) is not None:
            return code
        force, prefix, sync = (bool(ctx.opts[k]) for k in ("force", "prefix", "sync"))
        if force and not prefix:
            ctx.ui.error("Specifying -force requires also specifying -prefix")
            return 1
        client = client_or_none(ctx)
        if client is None:
            return 2
        lease_id = go_trim_space(args[0])
        if force:
            ctx.ui.warn(
                wrap_at_length(
                    "Warning! Force-removing leases can cause OpenBao to become out of sync "
                    "with secret engines!"
                )
            )
        try:
            if force:
                client.request("PUT", f"sys/leases/revoke-force/{lease_id}")
            else:
                kind = "revoke-prefix" if prefix else "revoke"
                client.request("PUT", f"sys/leases/{kind}/{lease_id}", data={"sync": sync})
        except ClientError as exc:
            if force:
                ctx.ui.error(f"Error force revoking leases with prefix {lease_id}: {exc}")
            elif prefix:
                ctx.ui.error(f"Error revoking leases with prefix {lease_id}: {exc}")
            else:
                ctx.ui.error(f"Error revoking lease {lease_id}: {exc}")
            return 2
        if force:
            ctx.ui.output(f"Success! Force revoked any leases with prefix: {lease_id}")
        elif sync and prefix:
            ctx.ui.output(f"Success! Revoked any leases with prefix: {lease_id}")
        elif sync:
            ctx.ui.output(f"Success! Revoked lease: {lease_id}")
        else:
            ctx.ui.output("All revocation operations queued successfully!")
        return 0
