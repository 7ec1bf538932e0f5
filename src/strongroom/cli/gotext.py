"""Text layout the way the reference CLI does it: word wrapping and column tables.

The reference client is written in Go, so whitespace rules follow Go's
`unicode.IsSpace` (Python's `str.isspace` also counts U+001C..U+001F).
"""

from __future__ import annotations

__all__ = [
    "HOPE_DELIM",
    "MAX_LINE_LENGTH",
    "columnize",
    "go_trim_space",
    "table_output",
    "word_wrap",
    "wrap_at_length",
]

# Go's unicode.IsSpace set.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
MAX_LINE_LENGTH = 78
# Separates table cells while rows are built; never occurs in real values.
HOPE_DELIM = "\x00"


def go_trim_space(text: str) -> str:
    """strings.TrimSpace: strip Go whitespace from both ends."""
    return text.strip(GO_SPACE)


_PENALTY = 100_000  # extra cost of a line longer than the limit


def word_wrap(text: str, limit: int) -> str:
    """Wrap into lines of at most `limit` bytes with minimal raggedness.

    The reference CLI wraps with this algorithm (it is not greedy): newlines
    become spaces, words are split on single spaces, and the line breaks
    minimise the sum of squared unused widths over all lines but the last.
    Ties go to the shorter first line. Lengths count UTF-8 bytes.
    """
    words = go_trim_space(text).replace("\n", " ").split(" ")
    sizes = [len(w.encode("utf-8", "surrogateescape")) for w in words]
    n = len(words)
    # prefix[k] = bytes of words[0:k] plus one space after each
    prefix = [0]
    for size in sizes:
        prefix.append(prefix[-1] + size + 1)

    def width(i: int, j: int) -> int:  # words[i..j] inclusive on one line
        return prefix[j + 1] - prefix[i] - 1

    cost = [0] * n
    brk = [n] * n
    for i in range(n - 1, -1, -1):
        if width(i, n - 1) <= limit or i == n - 1:
            cost[i] = 0
            brk[i] = n
            continue
        best = None
        for j in range(i + 1, n):
            w = width(i, j - 1)
            c = (limit - w) ** 2 + cost[j]
            if w > limit:
                c += _PENALTY
            if best is None or c < best:
                best = c
                brk[i] = j
        cost[i] = best if best is not None else 0
    lines = []
    i = 0
    while i < n:
        lines.append(" ".join(words[i : brk[i]]))
        i = brk[i]
    return "\n".join(lines)


def wrap_at_length(text: str, pad: int = 0) -> str:
    """Wrap at 78 columns minus `pad` and indent every line by `pad` spaces."""
    wrapped = word_wrap(text, MAX_LINE_LENGTH - pad)
    prefix = " " * pad
    return "\n".join(prefix + line for line in wrapped.split("\n"))


def columnize(rows: list[str], delim: str = HOPE_DELIM, glue: str = "    ") -> str:
    """Align delimited rows into columns (no trailing newline).

    Cells are trimmed, empty cells read `n/a`, every cell but a row's last is
    padded to its column's width (in code points), cells are joined by `glue`.
    """
    table: list[list[str]] = []
    widths: list[int] = []
    for row in rows:
        cells = [go_trim_space(c) or "n/a" for c in row.split(delim)]
        table.append(cells)
        for i, cell in enumerate(cells):
            if i >= len(widths):
                widths.append(len(cell))
            elif len(cell) > widths[i]:
                widths[i] = len(cell)
    lines = []
    for cells in table:
        last = len(cells) - 1
        lines.append(
            glue.join(cell if i == last else cell.ljust(widths[i]) for i, cell in enumerate(cells))
        )
    return "\n".join(lines)


def table_output(rows: list[str], delim: str = HOPE_DELIM) -> str:
    """A table whose first row is a header, underlined with dashes."""
    if not rows:
        return ""
    header = rows[0].split(delim)
    # Go's len() counts bytes, so a non-ASCII header gets a longer underline.
    underline = delim.join("-" * len(go_trim_space(h).encode()) for h in header)
    return columnize([rows[0], underline, *rows[1:]], delim)
