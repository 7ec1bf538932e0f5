"""One HTTP request as the app sees it, whatever server delivered it."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str  # percent-decoded, e.g. "/v1/secret/data/a b"
    query: str  # the raw query string, without "?"
    # Header names in lower case, in arrival order; a repeated header appears twice.
    header_list: list[tuple[str, str]]
    client: str  # the peer's IP address
    body: bytes = b""
    headers: dict[str, str] = field(init=False)  # by name; the last of a repeated one wins

    def __post_init__(self) -> None:
        self.headers = dict(self.header_list)

    @property
    def target(self) -> str:
        """Path and query as sent on to another node (path re-encoded canonically)."""
        path = quote(self.path)
        return path + ("?" + self.query if self.query else "")
