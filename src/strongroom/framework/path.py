"""A backend path: a pattern, its typed fields, and a handler per operation."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from strongroom.core.request import Operation
from strongroom.framework.fields import Field, FieldData

if TYPE_CHECKING:
    from strongroom.core.request import Request, Response

Handler = Callable[["Request", FieldData], Awaitable["Response | None"]]
ExistenceCheck = Callable[["Request", FieldData], Awaitable[bool]]


def match_all(name: str) -> str:
    """A named group matching the rest of the path, slashes included."""
    return f"(?P<{name}>.+)"


def segment(name: str) -> str:
    """A named group matching one path segment."""
    return f"(?P<{name}>[^/]+)"


def optional_segment(name: str) -> str:
    return f"(?:/(?P<{name}>[^/]+))?"


@dataclass
class Path:
    pattern: str
    fields: dict[str, Field] = field(default_factory=dict)
    operations: dict[Operation, Handler] = field(default_factory=dict)
    # Decides create vs update for writes (ACL: a new entry needs `create`).
    existence_check: ExistenceCheck | None = None
    synopsis: str = ""
    description: str = ""
    # Paths like KV v1 take whatever keys the caller sends.
    arbitrary_data: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(f"^{self.pattern}$", re.DOTALL)

    def handler_for(self, operation: Operation) -> Handler | None:
        handler = self.operations.get(operation)
        # A path without a separate create handler creates through update.
        if handler is None and operation is Operation.CREATE:
            handler = self.operations.get(Operation.UPDATE)
        return handler
