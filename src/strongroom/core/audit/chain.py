"""The audit log's hash chain (a strongroom extension of Vault's format).

Every line a device writes ends with two extra fields:

    …,"seq":42,"prev_hash":"sha256:<hex of the previous line>"}

`seq` counts the entries of one file from 1; `prev_hash` is the SHA-256 of
the previous line's exact bytes (prefix included, newline excluded). The
first line of a log holds `GENESIS`; after a rotation (SIGHUP) the first
line of the new file holds the hash of the old file's last line, so the
files can be checked one after the other.

`verify()` walks files in order and names the first line that breaks the
chain: an edited line no longer hashes to what its successor recorded, a
deleted line leaves a gap in `seq`. What a chain cannot show: an edit of
the very last line (nothing records its hash yet), lines cut off the end
of a file, or a forger who rewrites every later line too (the chain has no
secret key: it makes tampering evident, it does not authenticate).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

GENESIS = "sha256:" + "0" * 64

# The chain fields close the top-level object (json) or root element (jsonx);
# anchoring at the end keeps look-alike text inside logged values out of reach.
_JSON_TAIL = re.compile(rb',"seq":(\d+),"prev_hash":"(sha256:[0-9a-f]{64})"\}$')
_JSONX_TAIL = re.compile(
    rb'<json:number name="seq">(\d+)</json:number>'
    rb'<json:string name="prev_hash">(sha256:[0-9a-f]{64})</json:string></json:object>$'
)


def line_hash(line: bytes) -> str:
    """The chain hash of one line (without its newline)."""
    return "sha256:" + hashlib.sha256(line).hexdigest()


def chain_fields(line: bytes) -> tuple[int, str] | None:
    """(seq, prev_hash) of a line written by a strongroom device, or None."""
    found = _JSON_TAIL.search(line) or _JSONX_TAIL.search(line)
    if found is None:
        return None
    return int(found.group(1)), found.group(2).decode()


@dataclass
class ChainState:
    """Where a device's chain stands: the last sequence number and line hash."""

    seq: int = 0
    prev: str = GENESIS

    def continue_from_file(self, path: Path) -> bool:
        """Pick up after the last complete line of an existing log.

        Returns True when the file ends in an incomplete line (a write cut
        short): the caller terminates it before appending, so the damaged
        entry stays visible to `verify`.
        """
        last, incomplete = _last_line(path)
        if last is not None:
            fields = chain_fields(last)
            self.seq = fields[0] if fields is not None else 0
            self.prev = line_hash(last)
        return incomplete


def _last_line(path: Path, chunk: int = 65536) -> tuple[bytes | None, bool]:
    """The last newline-terminated line of a file and whether a partial line follows it."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None, False
    with handle:
        size = handle.seek(0, 2)
        if size == 0:
            return None, False
        handle.seek(size - 1)
        incomplete = handle.read(1) != b"\n"
        pos, tail = size, b""
        while True:
            step = min(chunk, pos)
            pos -= step
            handle.seek(pos)
            tail = handle.read(step) + tail
            end = tail.rfind(b"\n")  # the last complete line ends here
            if end < 0:
                if pos == 0:
                    return None, incomplete
                continue
            start = tail.rfind(b"\n", 0, end)
            if start >= 0 or pos == 0:
                return tail[start + 1 : end], incomplete


# --------------------------------------------------------------------------- verify


@dataclass
class Problem:
    file: str
    line: int
    reason: str


@dataclass
class VerifyResult:
    entries: int = 0
    files: int = 0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


def _entries(n: int) -> str:
    return "1 entry" if n == 1 else f"{n} entries"


def verify(paths: list[Path]) -> VerifyResult:
    """Check the chain through `paths` (oldest first); stop at the first problem.

    Raises OSError when a file cannot be read.
    """
    result = VerifyResult()
    prev_hash: str | None = None  # hash of the last line seen (any file)
    prev_file = ""
    for path in paths:
        data = path.read_bytes()
        result.files += 1
        lines = data.split(b"\n")
        ends_cleanly = lines[-1] == b""
        if ends_cleanly:
            lines.pop()
        expected_seq = 1
        for index, line in enumerate(lines):
            number = index + 1
            if index == len(lines) - 1 and not ends_cleanly:
                result.problem = Problem(
                    str(path), number, "incomplete entry (cut short: no newline at the end)"
                )
                return result
            fields = chain_fields(line)
            if fields is None:
                result.problem = Problem(
                    str(path),
                    number,
                    "altered: the hash-chain fields are missing or damaged "
                    "(or the line was not written by a strongroom audit device)",
                )
                return result
            seq, recorded = fields
            if seq != expected_seq:
                if seq > expected_seq:
                    gap = seq - expected_seq
                    where = "at the start of the file" if index == 0 else "before this line"
                    reason = (
                        f"{_entries(gap)} missing {where} "
                        f"(sequence {seq} where {expected_seq} was expected)"
                    )
                else:
                    reason = (
                        f"out of sequence: {seq} where {expected_seq} was expected "
                        "(line altered, or lines duplicated or reordered)"
                    )
                result.problem = Problem(str(path), number, reason)
                return result
            if index == 0:
                if prev_hash is not None and recorded != prev_hash:
                    result.problem = Problem(
                        str(path),
                        number,
                        f"does not continue {prev_file}: its prev_hash is not the hash "
                        f"of that file's last line",
                    )
                    return result
                if prev_hash is None and recorded != GENESIS:
                    result.notes.append(
                        f"{path}: the chain continues from an earlier file "
                        "(give that file first to check the link)"
                    )
            elif recorded != prev_hash:
                result.problem = Problem(
                    str(path),
                    number - 1,
                    f"altered: its hash does not match the prev_hash recorded in line {number}",
                )
                return result
            prev_hash = line_hash(line)
            expected_seq = seq + 1
            result.entries += 1
        prev_file = str(path)
    return result
