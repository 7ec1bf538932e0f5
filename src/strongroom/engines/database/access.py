"""Checks shared by dynamic and static credentials."""

from __future__ import annotations

from fnmatch import fnmatchcase

from .store import DbConfig


def glob_match(pattern: str, value: str) -> bool:
    """ryanuber/go-glob: only `*` is special."""
    escaped = pattern.replace("[", "[[]").replace("?", "[?]")
    return fnmatchcase(value, escaped)


def role_allowed(config: DbConfig, role: str) -> bool:
    return any(p == "*" or glob_match(p, role) for p in config.allowed_roles)


def not_allowed(role: str) -> str:
    return f'"{role}" is not an allowed role'
