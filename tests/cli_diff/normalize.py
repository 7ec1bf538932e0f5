"""Normalising CLI output so that two runs against two fresh servers can be compared.

Volatile values (tokens, accessors, UUIDs, timestamps, keys, ports, lease hashes,
cluster names, version lines, ticking TTLs) are replaced by placeholders.  Table column
alignment depends on the widths of those values, so lines are then cut into cells at
runs of two or more spaces: `Key    <TOKEN>` and `Key  <TOKEN>` compare equal.  Steps
marked `strict` skip all of this and are compared byte for byte.

Durations that tick between two runs (`ttl`, `token_duration`, `lease_duration`,
…) become `<TTL~seconds>` markers; `equivalent()` accepts a difference of up to
`TTL_TOLERANCE` seconds between the two sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TTL_TOLERANCE = 5

# Both program names are normalised on both sides, so a word `strongroom` printed by the
# server (path-help text…) cannot make the two sides differ.
_PROGRAM = re.compile(r"(?<![\w.+/-])(?:bao|strongroom)(?![\w-])")
_VERSION_LINE = re.compile(
    r"^(?:OpenBao|Vault|Strongroom|strongroom) v\d+\.\d+\.\d+\S*"
    r"(?: \([0-9a-f]+\))?(?:, (?:built|committed) \S+)?$",
    re.M,
)
_TOKEN = re.compile(r"(?<![\w.])(?:hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{20,}")
_LEASE_HASH = re.compile(r"(?<![0-9A-Za-z])h[0-9a-f]{64}(?![0-9A-Za-z])")
_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32,}(?![0-9A-Za-z])")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_GO_TIME = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [+-]\d{4} [A-Z]+(?: m=[+-]\d+\.\d+)?"
)
_RFC822 = re.compile(r"\b\d\d [A-Z][a-z]{2} \d\d \d\d:\d\d [A-Z]{3,4}\b")
_CLUSTER_NAME = re.compile(r"\bvault-cluster-[0-9a-f]{8}\b")
# mount accessors: kv_f419bd09, auth_userpass_1a2b3c4d, cubbyhole_85eefd76
_MOUNT_ACCESSOR = re.compile(r"\b([a-z][a-z0-9]*(?:[_-][a-z][a-z0-9]*)*)_[0-9a-f]{8}\b")
# token accessors and lease-id suffixes: 24 base62 characters with mixed case or digits
_BASE62_24 = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]{0,23}[A-Z0-9])(?=[A-Za-z0-9]{0,23}[a-z])"
    r"[A-Za-z0-9]{24}(?![A-Za-z0-9])"
)
# unseal keys / shares in base64 (32 or 33 bytes)
_BASE64_KEY = re.compile(r"(?<![A-Za-z0-9+/=<])[A-Za-z0-9+/]{43,44}={0,2}(?![A-Za-z0-9+/=])")
# unix times (token `creation_time`): 10 digits from 2020-09 to 2033-05
_EPOCH = re.compile(r"(?<![\w.])1[6-9]\d{8}(?![\w.])")
_PORT = re.compile(r"\b(127\.0\.0\.1|localhost):\d{4,5}\b")

TICKING_KEYS = ("ttl", "token_duration", "lease_duration", "wrapping_token_ttl", "creation_ttl")
_TICK = "|".join(TICKING_KEYS)
_TABLE_TTL = re.compile(rf"^({_TICK})( {{2,}})(\S+)$", re.M)
_JSON_TTL = re.compile(rf'("(?:{_TICK})": )(-?\d+)')
_YAML_TTL = re.compile(rf"^(\s*(?:{_TICK}): )(-?\d+)$", re.M)
_HUMAN = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")
# `secrets move` prints this only when its first status poll finds the move unfinished
_MOVE_WAIT = re.compile(r"^Waiting for terminal status in migration of .*\n", re.M)
# `-output-curl-string` emits the headers in Go map order (random): sort them
_CURL_HEADERS = re.compile(r'(?: -H "[^"]*")+')
_TTL_MARK = re.compile(r"<TTL~(-?\d+)>")
_CELL_SEP = re.compile(r" {2,}")


@dataclass
class Context:
    """Literal per-run values to hide (scratch dir, home dir, the dev unseal key…)."""

    literals: dict[str, str]

    @classmethod
    def of(cls, **values: str | None) -> Context:
        return cls({v: f"<{k.upper()}>" for k, v in values.items() if v})


def _seconds(human: str) -> int | None:
    if human.lstrip("-").isdigit():
        return int(human)
    found = _HUMAN.fullmatch(human)
    if not found or not any(found.groups()):
        return None
    h, m, s = found.groups()
    return int(h or 0) * 3600 + int(m or 0) * 60 + int(float(s or 0))


def _sorted_headers(match: re.Match[str]) -> str:
    headers = re.findall(r' -H "[^"]*"', match.group(0))
    return "".join(sorted(headers))


def _table_ttl(match: re.Match[str]) -> str:
    secs = _seconds(match.group(3))
    if secs is None:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}<TTL~{secs}>"


def normalize(text: str, ctx: Context | None = None) -> str:
    """Replace every volatile value in `text` by a placeholder."""
    if ctx:
        for literal in sorted(ctx.literals, key=len, reverse=True):
            text = text.replace(literal, ctx.literals[literal])
    text = _VERSION_LINE.sub("<VERSION>", text)
    text = _MOVE_WAIT.sub("", text)
    text = _CURL_HEADERS.sub(_sorted_headers, text)
    text = _PROGRAM.sub("<CLI>", text)
    text = _TOKEN.sub("<TOKEN>", text)
    text = _UUID.sub("<UUID>", text)
    text = _LEASE_HASH.sub("h<HEX>", text)
    text = _HEX.sub("<HEX>", text)
    text = _RFC3339.sub("<TIME>", text)
    text = _GO_TIME.sub("<TIME>", text)
    text = _RFC822.sub("<TIME>", text)
    text = _CLUSTER_NAME.sub("<CLUSTER>", text)
    text = _PORT.sub(r"\1:<PORT>", text)
    text = _MOUNT_ACCESSOR.sub(r"\1_<ACC>", text)
    text = _BASE64_KEY.sub("<KEY>", text)
    text = _BASE62_24.sub("<ID24>", text)
    text = _EPOCH.sub("<EPOCH>", text)
    text = _TABLE_TTL.sub(_table_ttl, text)
    text = _JSON_TTL.sub(lambda m: f"{m.group(1)}<TTL~{m.group(2)}>", text)
    text = _YAML_TTL.sub(lambda m: f"{m.group(1)}<TTL~{m.group(2)}>", text)
    return text


def cells(text: str) -> list[list[str]]:
    """Lines cut into cells at runs of 2+ spaces (alignment-independent form)."""
    return [_CELL_SEP.split(line) for line in text.split("\n")]


def canonical(text: str, ctx: Context | None = None) -> str:
    """Normalised text with every run of 2+ spaces shown as ` | `, for comparing/diffing."""
    return "\n".join(" | ".join(row) for row in cells(normalize(text, ctx)))


def _ttls(text: str) -> tuple[str, list[int]]:
    return _TTL_MARK.sub("<TTL>", text), [int(n) for n in _TTL_MARK.findall(text)]


def equivalent(a: str, b: str) -> bool:
    """Two canonical texts are equal, TTL markers within `TTL_TOLERANCE` seconds."""
    if a == b:
        return True
    (ta, na), (tb, nb) = _ttls(a), _ttls(b)
    return ta == tb and all(abs(x - y) <= TTL_TOLERANCE for x, y in zip(na, nb, strict=True))


def first_line(text: str, ctx: Context | None = None) -> str:
    lines = [line for line in normalize(text, ctx).split("\n") if line.strip()]
    return " | ".join(_CELL_SEP.split(lines[0])) if lines else ""
