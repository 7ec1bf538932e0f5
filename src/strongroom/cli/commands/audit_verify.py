"""`audit verify FILE...`: check an audit log's hash chain (a strongroom extension).

Also loads the rest of the `audit` group: the dispatcher imports one module
per first word, and this one is registered for "audit".

Exit codes: 0 the chain is intact, 2 a line was altered or is missing (the
first one is named as FILE:LINE), 1 a usage error or an unreadable file.
"""

from __future__ import annotations

from pathlib import Path

from strongroom.cli.base import PROG, Command, Context, command
from strongroom.cli.commands import audit as _audit  # noqa: F401 - registers the group
from strongroom.core.audit.chain import verify


@command
class AuditVerify(Command):
    name = "audit verify"
    synopsis = "Checks the hash chain of file audit logs"
    usage = "audit verify [options] FILE [FILE...]"
    http = False
    output = None
    description = f"""
  Checks the hash chain that strongroom's audit devices write: every entry
  carries its sequence number in the file and the SHA-256 of the line before
  it ("seq" and "prev_hash"). The first line that was altered, or the place
  where lines were deleted, is reported as FILE:LINE and the command exits 2;
  an intact log exits 0.

  Give rotated files oldest first to check that each one continues the last:

      $ {PROG} audit verify /var/log/strongroom/audit.log.1 /var/log/strongroom/audit.log

  The chain makes tampering evident but has no secret key: an edit of the
  very last line, lines cut off the end, or a rewrite of every later line
  cannot be detected from the file alone.
"""

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args:
            ctx.ui.error("Not enough arguments (expected at least 1, got 0)")
            return 1
        paths = [Path(a) for a in args]
        try:
            result = verify(paths)
        except OSError as exc:
            ctx.ui.error(f"Error reading audit log: {exc.strerror or exc}: {exc.filename}")
            return 1
        for note in result.notes:
            ctx.ui.warn(f"Note: {note}")
        if result.problem is not None:
            problem = result.problem
            ctx.ui.error(f"{problem.file}:{problem.line}: {problem.reason}")
            ctx.ui.error(f"Audit log verification failed at line {problem.line} of {problem.file}.")
            return 2
        files = "1 file" if result.files == 1 else f"{result.files} files"
        ctx.ui.output(
            f"Success! {result.entries} audit entries in {files}: the hash chain is intact."
        )
        return 0
