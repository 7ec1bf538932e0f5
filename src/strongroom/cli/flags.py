"""Go `flag`-style parsing, as the vault/bao CLI does it.

`-name=value`, `-name value`, `--name=value`; booleans as `-name` or
`-name=false`; parsing stops at the first positional argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class FlagError(ValueError):
    pass


@dataclass
class Flag:
    name: str
    kind: type = str  # str, bool, int, or list (repeatable string)
    default: Any = None
    help: str = ""
    env: tuple[str, ...] = ()


@dataclass
class FlagSet:
    flags: list[Flag] = field(default_factory=list)

    def add(
        self,
        name: str,
        kind: type = str,
        default: Any = None,
        help: str = "",
        env: tuple[str, ...] = (),
    ) -> None:
        self.flags.append(Flag(name, kind, default, help, env))

    def parse(
        self, argv: list[str], environ: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        by_name = {f.name: f for f in self.flags}
        values: dict[str, Any] = {f.name: ([] if f.kind is list else f.default) for f in self.flags}
        for flag in self.flags:
            for var in flag.env:
                if environ is not None and var in environ:
                    values[flag.name] = _convert(flag, environ[var])
                    break
        i = 0
        while i < len(argv):
            arg = argv[i]
            if arg == "--":
                return values, argv[i + 1 :]
            if not arg.startswith("-") or arg == "-":
                return values, argv[i:]
            name, eq, raw = arg.lstrip("-").partition("=")
            flag = by_name.get(name)
            if flag is None:
                raise FlagError(f"flag provided but not defined: -{name}")
            if flag.kind is bool and not eq:
                values[name] = True
            else:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise FlagError(f"flag needs an argument: -{name}")
                    raw = argv[i]
                converted = _convert(flag, raw)
                if flag.kind is list:
                    values[name].append(converted)
                else:
                    values[name] = converted
            i += 1
        return values, []

    def usage(self) -> str:
        lines = []
        for flag in sorted(self.flags, key=lambda f: f.name):
            kind = "" if flag.kind is bool else f"=<{flag.kind.__name__}>"
            lines.append(f"  -{flag.name}{kind}")
            if flag.help:
                lines.append(f"      {flag.help}")
            lines.append("")
        return "\n".join(lines)


def _convert(flag: Flag, raw: str) -> Any:
    if flag.kind is bool:
        if raw in ("1", "t", "T", "true", "TRUE", "True"):
            return True
        if raw in ("0", "f", "F", "false", "FALSE", "False", ""):
            return False
        raise FlagError(f'invalid boolean value "{raw}" for -{flag.name}')
    if flag.kind is int:
        try:
            return int(raw)
        except ValueError:
            raise FlagError(f'invalid value "{raw}" for flag -{flag.name}: parse error') from None
    return raw
