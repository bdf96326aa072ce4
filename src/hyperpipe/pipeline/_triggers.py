"""When schedules are due: pure functions of a recurrence, a schedule's bookkeeping and a time.

Nothing here reads a clock or a store, so tests (and the scheduler daemon) pass whatever time
they like. Times are UNIX seconds. A recurrence is SDK v1's ``ScheduleRecurrence`` as JSON:
``frequency`` (Minute, Hour, Day, Week, Month), ``interval``, and optionally ``start_time`` (naive
``YYYY-MM-DDThh:mm:ss`` in ``time_zone``), ``hours``, ``minutes``, ``week_days``,
``time_of_day`` (``hh:mm``). Minute and Hour recurrences step in absolute time; Day, Week and
Month ones follow the wall clock of their time zone (so 09:00 stays 09:00 across DST changes).
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hyperpipe._record import Record, field
from hyperpipe.pipeline.core._timezones import IANA_ZONES

if TYPE_CHECKING:
    from collections.abc import Iterator
    from zoneinfo import ZoneInfo

    from dateutil import rrule

__all__ = [
    "FREQUENCIES",
    "WEEK_DAYS",
    "Pending",
    "anchor_of",
    "changed_paths",
    "next_due",
    "pending",
    "zone_of",
]

FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_PERIODS = {"Minute": 60.0, "Hour": 3600.0}
_RULES = {"Day": "DAILY", "Week": "WEEKLY", "Month": "MONTHLY"}  # dateutil.rrule's names
_EPSILON = 1e-6


class Pending(Record):
    """What is due at a time: the latest due time (to fire), and the earlier ones missed."""

    fire: float | None
    skipped: list[float] = field(default_factory=list)  # oldest first, at most ``keep``
    skipped_total: int = 0


def zone_of(recurrence: dict[str, Any]) -> ZoneInfo:
    """The recurrence's time zone: SDK v1's Windows names or IANA names; UTC by default."""
    from zoneinfo import ZoneInfo  # loaded by schedulers, not by every submitting process

    name = recurrence.get("time_zone") or "UTC"
    return ZoneInfo(IANA_ZONES.get(name, name))


def anchor_of(recurrence: dict[str, Any], created_at: float) -> float:
    """Where the recurrence counts from: its start time, else when the schedule was made."""
    start = recurrence.get("start_time")
    if not start:
        return created_at
    return datetime.fromisoformat(start).replace(tzinfo=zone_of(recurrence)).timestamp()


def pending(
    recurrence: dict[str, Any],
    *,
    anchor: float,
    not_before: float,
    last_due: float | None,
    now: float,
    keep: int = 100,
) -> Pending:
    """Due times in (``last_due``, ``now``] and not before ``not_before``.

    The latest is the one to fire; the others were missed (the schedulers were down) and are
    skipped: at most ``keep`` of them are listed, ``skipped_total`` counts them all.
    """
    start = not_before if last_due is None else max(not_before, last_due + _EPSILON)
    if start > now:
        return Pending(None)
    period = _period(recurrence)
    if period is not None:  # arithmetic, however long the schedulers were down
        first = max(0, math.ceil((start - anchor) / period - 1e-9))
        last = math.floor((now - anchor) / period + 1e-9)
        if last < first:
            return Pending(None)
        count = last - first + 1
        skipped = [anchor + k * period for k in range(max(first, last - keep), last)]
        return Pending(anchor + last * period, skipped, count - 1)
    recent: deque[float] = deque(maxlen=keep + 1)
    count = 0
    for due in _iter_due(recurrence, anchor, start):
        if due > now:
            break
        recent.append(due)
        count += 1
    if not count:
        return Pending(None)
    fire = recent.pop()
    return Pending(fire, list(recent), count - 1)


def next_due(
    recurrence: dict[str, Any],
    *,
    anchor: float,
    not_before: float,
    last_due: float | None,
    now: float,
) -> float | None:
    """The first due time after ``now`` (and after ``last_due``, not before ``not_before``)."""
    start = max(not_before, now + _EPSILON)
    if last_due is not None:
        start = max(start, last_due + _EPSILON)
    return next(_iter_due(recurrence, anchor, start), None)


def changed_paths(seen: dict[str, str], current: dict[str, str]) -> list[str]:
    """Files (path -> sha256) added or whose content changed since ``seen``; sorted."""
    return sorted(path for path, digest in current.items() if seen.get(path) != digest)


# -- iterating due times ------------------------------------------------------------------------


def _period(recurrence: dict[str, Any]) -> float | None:
    unit = _PERIODS.get(recurrence["frequency"])
    return None if unit is None else unit * int(recurrence["interval"])


def _iter_due(recurrence: dict[str, Any], anchor: float, start: float) -> Iterator[float]:
    """Due times at or after ``start``, in order."""
    period = _period(recurrence)
    if period is not None:
        k = max(0, math.ceil((start - anchor) / period - 1e-9))
        while True:
            yield anchor + k * period
            k += 1
    zone = zone_of(recurrence)
    rule = _rule(recurrence, datetime.fromtimestamp(anchor, zone))
    begin = datetime.fromtimestamp(max(start, anchor), zone)
    for due in rule.xafter(begin.replace(microsecond=0), inc=True):
        ts = due.timestamp()
        if ts >= start:
            yield ts


def _rule(recurrence: dict[str, Any], dtstart: datetime) -> rrule.rrule:
    from dateutil import rrule

    hours = recurrence.get("hours")
    minutes = recurrence.get("minutes")
    time_of_day = recurrence.get("time_of_day")
    if time_of_day:
        hour, minute = (int(part) for part in time_of_day.split(":"))
        hours, minutes = [hour], [minute]
    options: dict[str, Any] = {
        "freq": getattr(rrule, _RULES[recurrence["frequency"]]),
        "interval": int(recurrence["interval"]),
        "dtstart": dtstart.replace(microsecond=0),
    }
    if hours or minutes:
        options["byhour"] = sorted(hours) if hours else [dtstart.hour]
        options["byminute"] = sorted(minutes) if minutes else [0]
        options["bysecond"] = [0]
    week_days = recurrence.get("week_days")
    if week_days:
        options["byweekday"] = [WEEK_DAYS.index(day) for day in week_days]
    return rrule.rrule(**options)
