"""The windows a monitor checks: SDK v1's Day, Week (Monday to Sunday) and Month periods."""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["period_of", "periods_between", "shift"]


def period_of(moment: datetime, frequency: str) -> tuple[datetime, datetime]:
    """[start, end) of the ``frequency`` period holding ``moment``."""
    day = datetime(moment.year, moment.month, moment.day)
    if frequency == "Day":
        return day, day + timedelta(days=1)
    if frequency == "Week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    start = datetime(moment.year, moment.month, 1)
    return start, shift(start, "Month", 1)


def shift(start: datetime, frequency: str, periods: int) -> datetime:
    """The start of the period ``periods`` after (before, when negative) the one at ``start``."""
    if frequency == "Day":
        return start + timedelta(days=periods)
    if frequency == "Week":
        return start + timedelta(days=7 * periods)
    month = start.month - 1 + periods
    return datetime(start.year + month // 12, month % 12 + 1, 1)


def periods_between(first: datetime, last: datetime, frequency: str) -> list[datetime]:
    """Starts of the periods from the one holding ``first`` to the one holding ``last``."""
    start, _ = period_of(first, frequency)
    end, _ = period_of(last, frequency)
    found = []
    while start <= end:
        found.append(start)
        start = shift(start, frequency, 1)
    return found
