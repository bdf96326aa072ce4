"""Metric rows both SQL paths of the store write and read alike, free of SQLAlchemy: a point's
row, the chunk summaries of a batch, series from the points query, the ended-run check."""

from __future__ import annotations

import json
import math
import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from hyperpipe.exceptions import RunEndedError
from hyperpipe.store._records import MetricPoint, MetricSeries
from hyperpipe.store._status import RunStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from hyperpipe.store._base import NewPoint

__all__ = [
    "ROLLUP_POINTS",
    "SeriesIds",
    "check_active",
    "point_row",
    "rollup_rows",
    "series_from_rows",
]

# Every ROLLUP_POINTS consecutive points of a series, summarised as they are written: charts of
# series of millions of points read these rows instead of the points.
ROLLUP_POINTS = 256


def point_row(series_id: int, point: NewPoint, nan_in_payload: bool) -> tuple[Any, ...]:
    """One metric_points row for the driver; SQLite gets NaN values in the payload column."""
    value, payload = point.value, point.payload
    if nan_in_payload and payload is None and value is not None and math.isnan(value):
        # SQLite stores a NaN REAL as NULL; json.dumps keeps it ("NaN"), get_metrics moves it back.
        value, payload = None, value
    return (
        series_id,
        point.step,
        value,
        None if payload is None else json.dumps(payload),
        point.ts,
    )


def rollup_rows(
    points: Sequence[NewPoint], ids: dict[str, int], numbers: dict[int, int]
) -> list[dict[str, Any]]:
    """The chunk summaries (``metric_rollups`` rows) of a batch; ``numbers`` holds each series'
    number for its first point here. Only finite numbers count as values."""
    by_series: dict[int, list[NewPoint]] = defaultdict(list)
    for point in points:
        by_series[ids[point.name]].append(point)
    rows = []
    for series, logged in by_series.items():
        first_number = numbers[series]
        start = 0
        while start < len(logged):
            chunk = (first_number + start) // ROLLUP_POINTS
            end = min(len(logged), (chunk + 1) * ROLLUP_POINTS - first_number)
            part = logged[start:end]
            values = [
                p.value
                if p.payload is None and p.value is not None and -math.inf < p.value < math.inf
                else None
                for p in part
            ]
            present = [v for v in values if v is not None]
            rows.append(
                {
                    "series_id": series,
                    "chunk": chunk,
                    "points": len(part),
                    "steps": len(part) - [p.step for p in part].count(None),
                    "first_step": part[0].step,
                    "first_value": values[0],
                    "last_step": part[-1].step,
                    "last_value": values[-1],
                    "low": min(present) if present else None,
                    "high": max(present) if present else None,
                }
            )
            start = end
    return rows


def series_from_rows(rows: Iterable[Any]) -> dict[int, list[MetricSeries]]:
    """``get_metrics``' answer from the rows of its query (series columns ``run_key``, ``id``,
    ``name``, ``kind``, ``description``; point columns ``step``, ``value``, ``payload``, ``ts``,
    NULL for a series without points), in series then point order."""
    grouped: dict[int, dict[int, tuple[Any, list[MetricPoint]]]] = defaultdict(dict)
    for row in rows:
        series = grouped[row.run_key].setdefault(row.id, (row, []))
        if row.ts is not None:
            value = row.value
            payload = None if row.payload is None else json.loads(row.payload)
            if value is None and isinstance(payload, float) and math.isnan(payload):
                value, payload = payload, None  # a NaN kept in the payload (point_row)
            series[1].append(MetricPoint(value, payload, row.ts, row.step))
    return {
        run_key: [
            MetricSeries(row.name, row.kind, row.description, tuple(points))
            for row, points in by_series.values()
        ]
        for run_key, by_series in grouped.items()
    }


class SeriesIds:
    """The ids of committed metric series by (run key, name), shared by a store's threads, so
    that logging to a known series costs no lookup."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, str], int] = {}
        self._lock = threading.Lock()

    def split(
        self, run_key: int, points: Sequence[NewPoint]
    ) -> tuple[dict[str, int], dict[str, NewPoint]]:
        """The ids known for the points' series, and the first point of each other series."""
        known: dict[str, int] = {}
        missing: dict[str, NewPoint] = {}
        with self._lock:
            for p in points:
                sid = self._ids.get((run_key, p.name))
                if sid is None:
                    missing.setdefault(p.name, p)
                else:
                    known[p.name] = sid
        return known, missing

    def remember(self, run_key: int, ids: dict[str, int]) -> None:
        """Keep ids once their transaction committed: a rolled-back insert's id is given to the
        next series (SQLite), and points would land in the wrong one."""
        with self._lock:
            for name, sid in ids.items():
                self._ids[(run_key, name)] = sid


def check_active(row: Any) -> None:
    """Refuse values for a run that has ended; ``row`` has the run's ``id`` and ``status``."""
    if RunStatus(row.status).is_terminal():
        raise RunEndedError(
            f"run {row.id} has ended ({row.status}); values logged after its end are not recorded"
        )
