"""The due-time math: pure functions of a recurrence and a time, so no test waits for a clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hyperpipe.pipeline import _triggers
from hyperpipe.pipeline.core import ScheduleRecurrence, TimeZone

T0 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()


def _every(frequency: str, interval: int = 1, **kwargs) -> dict:
    return ScheduleRecurrence(frequency, interval, **kwargs)._to_json()


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def test_a_minute_recurrence_is_due_each_minute_from_its_anchor() -> None:
    minute = _every("Minute")
    first = _triggers.pending(minute, anchor=T0, not_before=T0, last_due=None, now=T0)
    assert (first.fire, first.skipped, first.skipped_total) == (T0, [], 0)
    assert (
        _triggers.pending(minute, anchor=T0, not_before=T0, last_due=T0, now=T0 + 59).fire is None
    )
    assert _triggers.pending(minute, anchor=T0, not_before=T0, last_due=T0, now=T0 + 60).fire == (
        T0 + 60
    )
    assert _triggers.next_due(minute, anchor=T0, not_before=T0, last_due=T0, now=T0 + 1) == T0 + 60


def test_after_five_missed_minutes_the_latest_fires_and_four_are_skipped() -> None:
    due = _triggers.pending(
        _every("Minute"), anchor=T0, not_before=T0, last_due=T0, now=T0 + 5 * 60 + 10
    )
    assert due.fire == T0 + 300
    assert due.skipped == [T0 + 60, T0 + 120, T0 + 180, T0 + 240]
    assert due.skipped_total == 4


def test_a_year_of_downtime_is_counted_without_listing_every_minute() -> None:
    started = time.perf_counter()
    year = 365 * 24 * 3600
    due = _triggers.pending(
        _every("Minute"), anchor=T0, not_before=T0, last_due=T0, now=T0 + year, keep=100
    )
    assert due.fire == T0 + year
    assert due.skipped_total == year // 60 - 1
    assert len(due.skipped) == 100 and due.skipped[-1] == T0 + year - 60
    assert time.perf_counter() - started < 1.0


def test_a_start_time_in_the_past_first_fires_at_the_next_computed_time() -> None:
    hourly = _every("Hour", 2, start_time="2030-01-01T00:00:00")
    anchor = _triggers.anchor_of(hourly, created_at=T0 + 3 * 3600)
    assert anchor == T0
    created = T0 + 3 * 3600
    assert (
        _triggers.pending(
            hourly, anchor=anchor, not_before=created, last_due=None, now=created
        ).fire
        is None
    )
    assert _triggers.next_due(
        hourly, anchor=anchor, not_before=created, last_due=None, now=created
    ) == (T0 + 4 * 3600)


def test_a_start_time_in_a_zone_counts_from_that_zones_wall_clock() -> None:
    daily = _every("Day", start_time="2030-01-01T09:00:00", time_zone=TimeZone.TokyoStandardTime)
    anchor = _triggers.anchor_of(daily, created_at=0.0)
    assert _utc(anchor) == "2030-01-01 00:00"  # 09:00 in Tokyo


def test_day_hours_and_minutes_follow_the_local_clock_across_daylight_saving() -> None:
    berlin = _every(
        "Day",
        hours=[9],
        minutes=[30],
        time_zone=TimeZone.WEuropeStandardTime,
        start_time="2030-03-29T00:00:00",
    )
    anchor = _triggers.anchor_of(berlin, created_at=0.0)
    times, after = [], anchor
    for _ in range(4):
        after = _triggers.next_due(
            berlin, anchor=anchor, not_before=anchor, last_due=after, now=after
        )
        times.append(_utc(after))
    # 09:30 in Berlin: CET (UTC+1) until 31 March 2030, CEST (UTC+2) from then on
    assert times == [
        "2030-03-29 08:30",
        "2030-03-30 08:30",
        "2030-03-31 07:30",
        "2030-04-01 07:30",
    ]


def test_week_days_and_time_of_day_pick_the_days_and_the_time() -> None:
    weekly = _every("Week", week_days=["Monday", "Friday"], time_of_day="17:15")
    anchor = datetime(2030, 1, 1, tzinfo=UTC).timestamp()  # a Tuesday
    due = _triggers.pending(
        weekly, anchor=anchor, not_before=anchor, last_due=None, now=anchor + 14 * 86400
    )
    fired = [*due.skipped, due.fire]
    assert [_utc(t) for t in fired] == [
        "2030-01-04 17:15",
        "2030-01-07 17:15",
        "2030-01-11 17:15",
        "2030-01-14 17:15",
    ]


def test_every_other_month_keeps_the_day_of_the_month() -> None:
    monthly = _every("Month", 2, start_time="2030-01-15T06:00:00")
    anchor = _triggers.anchor_of(monthly, created_at=0.0)
    due = _triggers.pending(
        monthly, anchor=anchor, not_before=anchor, last_due=None, now=anchor + 200 * 86400
    )
    assert [_utc(t) for t in [*due.skipped, due.fire]] == [
        "2030-01-15 06:00",
        "2030-03-15 06:00",
        "2030-05-15 06:00",
        "2030-07-15 06:00",
    ]


def test_changed_paths_are_new_files_and_files_whose_content_changed() -> None:
    seen = {"a.csv": "h1", "b.csv": "h2"}
    assert _triggers.changed_paths(seen, {"a.csv": "h1", "b.csv": "h2"}) == []
    assert _triggers.changed_paths(seen, {"a.csv": "h1", "b.csv": "h3", "c.csv": "h4"}) == [
        "b.csv",
        "c.csv",
    ]
    assert _triggers.changed_paths(seen, {"a.csv": "h1"}) == []  # a removal fires nothing
