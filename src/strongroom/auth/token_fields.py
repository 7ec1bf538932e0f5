"""The `token_*` parameter set that userpass users and approle roles share (spec §4).

Writes accept durations (`30m`, `3600`); reads return seconds. Legacy names
(`policies`, `ttl`, `max_ttl`, `period`, `bound_cidrs`) still work: writing one
sets its `token_*` twin and makes reads show the legacy key as well, until the
`token_*` name itself is written again (Vault's upgrade rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from strongroom.auth.cidrs import parse_addrs
from strongroom.core.errors import BadRequest
from strongroom.core.request import Login
from strongroom.core.tokens import dedupe_lower
from strongroom.framework.fields import Field, FieldData, FieldType

TOKEN_TYPES = ("default", "service", "batch", "default-service", "default-batch")

# legacy name -> its token_* successor
LEGACY_NAMES: dict[str, str] = {
    "policies": "token_policies",
    "ttl": "token_ttl",
    "max_ttl": "token_max_ttl",
    "period": "token_period",
    "bound_cidrs": "token_bound_cidrs",
}

_DURATIONS = ("token_ttl", "token_max_ttl", "token_period", "token_explicit_max_ttl")


def token_fields() -> dict[str, Field]:
    """Field declarations for the token_* set and its legacy aliases."""
    out = {
        "token_ttl": Field(FieldType.DURATION, "The initial TTL of issued tokens."),
        "token_max_ttl": Field(FieldType.DURATION, "The maximum lifetime of issued tokens."),
        "token_period": Field(FieldType.DURATION, "Makes issued tokens periodic."),
        "token_explicit_max_ttl": Field(
            FieldType.DURATION, "A hard cap on the lifetime of issued tokens, renewals included."
        ),
        "token_policies": Field(
            FieldType.COMMA_STRING_LIST, "Policies of issued tokens (list or comma-separated)."
        ),
        "token_no_default_policy": Field(
            FieldType.BOOL, "Leave the `default` policy off issued tokens."
        ),
        "token_num_uses": Field(FieldType.INT, "Uses of an issued token (0 = unlimited)."),
        "token_type": Field(FieldType.STRING, "The type of issued tokens."),
        "token_bound_cidrs": Field(
            FieldType.COMMA_STRING_LIST,
            "Addresses or CIDR blocks allowed to log in and use issued tokens.",
        ),
        "token_strictly_bind_ip": Field(
            FieldType.BOOL, "Bind issued tokens to the exact login address."
        ),
    }
    out.update(
        {
            "policies": Field(
                FieldType.COMMA_STRING_LIST, "Deprecated: use token_policies.", deprecated=True
            ),
            "ttl": Field(FieldType.DURATION, "Deprecated: use token_ttl.", deprecated=True),
            "max_ttl": Field(FieldType.DURATION, "Deprecated: use token_max_ttl.", deprecated=True),
            "period": Field(FieldType.DURATION, "Deprecated: use token_period.", deprecated=True),
            "bound_cidrs": Field(
                FieldType.COMMA_STRING_LIST, "Deprecated: use token_bound_cidrs.", deprecated=True
            ),
        }
    )
    return out


def non_negative_duration(fd: FieldData, name: str, *, prefix: str = "") -> int:
    """A duration field's seconds; negative values are refused as Vault does."""
    seconds = int(fd.get(name) or 0)
    if seconds < 0:
        raise BadRequest(
            f'{prefix}error converting input for field "{name}": '
            f"cannot provide negative value '{seconds}'"
        )
    return seconds


@dataclass
class TokenSettings:
    """What a user or role puts into the tokens it issues (TTLs in seconds)."""

    token_ttl: int = 0
    token_max_ttl: int = 0
    token_period: int = 0
    token_explicit_max_ttl: int = 0
    token_policies: list[str] = field(default_factory=list)
    token_no_default_policy: bool = False
    token_num_uses: int = 0
    token_type: str = "default"
    token_bound_cidrs: list[str] = field(default_factory=list)
    token_strictly_bind_ip: bool = False
    # Legacy names last used to write a setting (shown by reads).
    legacy: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ writes
    def update(self, fd: FieldData) -> None:
        """Apply the supplied token_* (and legacy) fields, then validate the result."""
        legacy = set(self.legacy)
        for old, new in LEGACY_NAMES.items():
            if fd.has(new):
                self._set(new, fd, new)
                legacy.discard(old)
            elif fd.has(old):
                self._set(new, fd, old)
                legacy.add(old)
        for name in (
            "token_explicit_max_ttl",
            "token_no_default_policy",
            "token_num_uses",
            "token_strictly_bind_ip",
        ):
            if fd.has(name):
                self._set(name, fd, name)
        if fd.has("token_type"):
            value = str(fd.get("token_type"))
            if value not in TOKEN_TYPES:
                raise BadRequest(f"invalid 'token_type' value \"{value}\"")
            self.token_type = value
        self.legacy = sorted(legacy)
        self.validate()

    def _set(self, attr: str, fd: FieldData, source: str) -> None:
        if attr in _DURATIONS:
            value: Any = non_negative_duration(fd, source)
        elif attr == "token_policies":
            value = dedupe_lower(fd.get(source))
        elif attr == "token_bound_cidrs":
            value = parse_addrs(fd.get(source))
        else:
            value = fd.get(source)
        setattr(self, attr, value)

    def validate(self) -> None:
        if self.token_max_ttl > 0 and self.token_ttl > self.token_max_ttl:
            raise BadRequest("'token_ttl' cannot be greater than 'token_max_ttl'")
        if self.token_num_uses < 0:
            raise BadRequest("'token_num_uses' cannot be negative")

    def set_policies(self, policies: Iterable[str], *, legacy: bool) -> None:
        self.token_policies = dedupe_lower(policies)
        names = set(self.legacy)
        if legacy:
            names.add("policies")
        else:
            names.discard("policies")
        self.legacy = sorted(names)

    # ------------------------------------------------------------ reads
    def to_api(self) -> dict[str, Any]:
        """The token_* keys of a read, plus any legacy key still in use."""
        out: dict[str, Any] = {
            "token_bound_cidrs": list(self.token_bound_cidrs),
            "token_explicit_max_ttl": self.token_explicit_max_ttl,
            "token_max_ttl": self.token_max_ttl,
            "token_no_default_policy": self.token_no_default_policy,
            "token_num_uses": self.token_num_uses,
            "token_period": self.token_period,
            "token_policies": list(self.token_policies),
            "token_strictly_bind_ip": self.token_strictly_bind_ip,
            "token_ttl": self.token_ttl,
            "token_type": self.token_type,
        }
        for old in self.legacy:
            value = out[LEGACY_NAMES[old]]
            if value:
                out[old] = value
        return out

    def login(
        self,
        display_name: str,
        metadata: dict[str, str] | None,
        bound_cidrs: list[str] | None = None,
    ) -> Login:
        """The core's order for the token a successful login gets."""
        return Login(
            policies=list(self.token_policies),
            display_name=display_name,
            metadata=metadata,
            ttl=self.token_ttl,
            max_ttl=self.token_max_ttl,
            period=self.token_period,
            explicit_max_ttl=self.token_explicit_max_ttl,
            num_uses=self.token_num_uses,
            no_default_policy=self.token_no_default_policy,
            bound_cidrs=list(self.token_bound_cidrs if bound_cidrs is None else bound_cidrs),
        )

    # ------------------------------------------------------------ storage
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any] | None) -> TokenSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (doc or {}).items() if k in known})


def login_display_name(mount_path: str, name: str = "") -> str:
    """`userpass-alice` for user alice on mount `userpass/`; `approle` for approle."""
    return (mount_path.replace("/", "-") + name).rstrip("-")
