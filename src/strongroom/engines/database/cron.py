"""Five-field cron schedules for static roles' `rotation_schedule` (UTC).

The grammar Vault accepts (robfig/cron with minute, hour, day-of-month, month
and day-of-week fields; no seconds, no @descriptors): `*`, `?`, numbers,
ranges `a-b`, steps `*/n`, `a-b/n`, `a/n`, comma lists, and month/day names.
As in cron, when both day fields are restricted a day matching either runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Bounds(0, 59, {}),
    _Bounds(0, 23, {}),
    _Bounds(1, 31, {}),
    _Bounds(1, 12, _MONTHS),
    _Bounds(0, 6, _DAYS),
)


def _number(text: str, bounds: _Bounds) -> int:
    named = bounds.names.get(text.lower())
    if named is not None:
        return named
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text}")
    return int(text)


def _parse_field(expr: str, bounds: _Bounds) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it is unrestricted (`*` or `?`)."""
    values: set[int] = set()
    star = False
    for part in expr.split(","):
        range_part, _, step_part = part.partition("/")
        step = 1
        if step_part:
            if not step_part.isdigit() or int(step_part) <= 0:
                raise CronError(f"step of range should be a positive number: {part}")
            step = int(step_part)
        if range_part in ("*", "?"):
            low, high = bounds.low, bounds.high
            star = star or step == 1
        elif "-" in range_part:
            first, _, last = range_part.partition("-")
            low, high = _number(first, bounds), _number(last, bounds)
        else:
            low = _number(range_part, bounds)
            high = bounds.high if step_part else low
        if low < bounds.low:
            raise CronError(f"beginning of range ({low}) below minimum ({bounds.low}): {part}")
        if high > bounds.high:
            raise CronError(f"end of range ({high}) above maximum ({bounds.high}): {part}")
        if low > high:
            raise CronError(f"beginning of range ({low}) beyond end of range ({high}): {part}")
        values.update(range(low, high + 1, step))
    return frozenset(values), star


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def _day_matches(self, moment: datetime) -> bool:
        dom = moment.day in self.days
        dow = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled minute strictly after `moment` (UTC)."""
        t = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + timedelta(days=366 * 5)
        while t < limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            return t
        raise CronError("the schedule never fires")


def parse(spec: str) -> Schedule:
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {fields}")
    parsed = [_parse_field(expr, bounds) for expr, bounds in zip(fields, _FIELDS, strict=True)]
    schedule = Schedule(
        parsed[0][0],
        parsed[1][0],
        parsed[2][0],
        parsed[3][0],
        parsed[4][0],
        any_day=parsed[2][1],
        any_weekday=parsed[4][1],
    )
    schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # e.g. "0 0 31 2 *" never fires
    return schedule
