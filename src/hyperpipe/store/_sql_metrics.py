"""Metric series and points of the SQL store: the ingest path and the readers built for charts.

Mixed into ``SqlStore``, whose connection helpers (``_read``, ``_write``,
``_retry_on_conflict``) and series-id cache it uses.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, case, func, insert, literal_column, select, update

from hyperpipe.store._base import NewPoint
from hyperpipe.store._metric_rows import (
    ROLLUP_POINTS,
    check_active,
    point_row,
    rollup_rows,
    series_from_rows,
)
from hyperpipe.store._records import MetricBucket, SeriesSummary
from hyperpipe.store._schema import (
    metric_points,
    metric_rollups,
    metric_series,
    metric_writers,
    runs,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Connection

    from hyperpipe.store._records import MetricSeries

__all__ = ["MetricQueries", "last_point_id"]

_COUNT_POINTS = (
    update(metric_series)
    .where(metric_series.c.id == bindparam("series"))
    .values(point_count=metric_series.c.point_count + bindparam("added"))
    .returning(metric_series.c.point_count)
)


class MetricQueries:
    """The metric half of ``SqlStore``."""

    @cached_property
    def _upsert_rollups(self):  # type: ignore[no-untyped-def]
        """Add a batch's chunk summaries to those already stored (dialect-specific upsert)."""
        if self.dialect == "postgresql":  # each dialect's module is loaded only where it is used
            from sqlalchemy.dialects.postgresql import insert as insert_into
        else:
            from sqlalchemy.dialects.sqlite import insert as insert_into
        new = insert_into(metric_rollups)
        old, add = metric_rollups.c, new.excluded
        return new.on_conflict_do_update(
            index_elements=[old.series_id, old.chunk],
            set_={
                "points": old.points + add.points,
                "steps": old.steps + add.steps,
                "first_step": case((old.points == 0, add.first_step), else_=old.first_step),
                "last_step": add.last_step,
                "last_value": add.last_value,
                "low": case(
                    (add.low.is_(None), old.low),
                    (old.low.is_(None) | (add.low < old.low), add.low),
                    else_=old.low,
                ),
                "high": case(
                    (add.high.is_(None), old.high),
                    (old.high.is_(None) | (add.high > old.high), add.high),
                    else_=old.high,
                ),
            },
        )

    def log_metrics(
        self,
        run_key: int,
        points: Sequence[NewPoint],
        *,
        writer: str | None = None,
        last_seq: int | None = None,
        require_active: bool = False,
    ) -> None:
        """Append ``points`` in one transaction, recording how far ``writer`` got.

        With ``require_active`` (a run's own process logging) nothing is written once the run
        has ended: ``RunEndedError`` is raised instead.
        """
        nan_in_payload = self.dialect == "sqlite"

        def write() -> dict[str, int]:
            with self._write() as conn:
                if require_active:
                    _check_active(conn, run_key)
                ids = self._series_for(conn, run_key, points)
                if points:
                    # Straight to the driver's executemany: the hot path of metric ingest.
                    conn.exec_driver_sql(
                        self._insert_points_sql,
                        [point_row(ids[p.name], p, nan_in_payload) for p in points],
                    )
                    added = Counter(ids[p.name] for p in points)
                    numbers = {}  # each series' number for its first point of this batch
                    for sid, n in sorted(added.items()):  # id order: writers lock rows alike
                        total = conn.execute(
                            _COUNT_POINTS, {"series": sid, "added": n}
                        ).scalar_one()
                        numbers[sid] = total - n
                    conn.execute(self._upsert_rollups, rollup_rows(points, ids, numbers))
                if writer is not None and last_seq is not None:
                    moved = conn.execute(
                        update(metric_writers)
                        .where(
                            and_(
                                metric_writers.c.run_key == run_key,
                                metric_writers.c.writer == writer,
                            )
                        )
                        .values(last_seq=last_seq)
                    ).rowcount
                    if not moved:
                        conn.execute(
                            insert(metric_writers).values(
                                run_key=run_key, writer=writer, last_seq=last_seq
                            )
                        )
            return ids

        # A concurrent writer (PostgreSQL) may create the same series or checkpoint row first.
        self._series_ids.remember(run_key, self._retry_on_conflict(write))

    def _series_for(
        self, conn: Connection, run_key: int, points: Sequence[NewPoint]
    ) -> dict[str, int]:
        ids, missing = self._series_ids.split(run_key, points)
        if missing:
            existing = dict(
                conn.execute(
                    select(metric_series.c.name, metric_series.c.id).where(
                        metric_series.c.run_key == run_key,
                        metric_series.c.name.in_(list(missing)),
                    )
                ).all()
            )
            for name, p in missing.items():
                if name not in existing:
                    existing[name] = conn.execute(
                        insert(metric_series)
                        .values(
                            run_key=run_key, name=name, kind=p.kind, description=p.description or ""
                        )
                        .returning(metric_series.c.id)
                    ).scalar_one()
            ids.update(existing)
        return ids

    def writer_checkpoint(self, run_key: int, writer: str) -> int | None:
        with self._read() as conn:
            return conn.execute(
                select(metric_writers.c.last_seq).where(
                    metric_writers.c.run_key == run_key, metric_writers.c.writer == writer
                )
            ).scalar_one_or_none()

    def get_metrics(
        self, run_keys: Sequence[int], names: Sequence[str] | None = None
    ) -> dict[int, list[MetricSeries]]:
        """Every series of the given runs, keyed by run key, points in logging order."""
        query = (
            select(
                metric_series.c.run_key,
                metric_series.c.id,
                metric_series.c.name,
                metric_series.c.kind,
                metric_series.c.description,
                metric_points.c.step,
                metric_points.c.value,
                metric_points.c.payload,
                metric_points.c.ts,
            )
            .join(metric_points, metric_points.c.series_id == metric_series.c.id, isouter=True)
            .where(metric_series.c.run_key.in_(list(run_keys)))
            .order_by(metric_series.c.id, metric_points.c.id)
        )
        if names is not None:
            query = query.where(metric_series.c.name.in_(list(names)))
        with self._read() as conn:
            return series_from_rows(conn.execute(query))

    def metric_summaries(self, run_key: int) -> list[SeriesSummary]:
        """One line per series of a run: its size and last point, without loading the points."""
        query = (
            select(
                metric_series.c.name,
                metric_series.c.kind,
                metric_series.c.description,
                metric_series.c.point_count,
                metric_points.c.value,
                metric_points.c.payload,
            )
            .select_from(metric_series)
            .join(metric_points, metric_points.c.id == last_point_id(), isouter=True)
            .where(metric_series.c.run_key == run_key)
            .order_by(metric_series.c.id)
        )
        with self._read() as conn:
            return [
                SeriesSummary(name, kind, description, int(count), _point_data(value, payload))
                for name, kind, description, count, value, payload in conn.execute(query)
            ]

    def latest_metrics(self, run_keys: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The last value of every scalar series of the given runs: ``{run key: {name: value}}``."""
        if not run_keys:
            return {}
        query = (
            select(
                metric_series.c.run_key,
                metric_series.c.name,
                metric_points.c.value,
                metric_points.c.payload,
            )
            .select_from(metric_series)
            .join(metric_points, metric_points.c.id == last_point_id())
            .where(metric_series.c.run_key.in_(list(run_keys)), metric_series.c.kind == "scalar")
            .order_by(metric_series.c.id)
        )
        found: dict[int, dict[str, Any]] = {}
        with self._read() as conn:
            for run_key, name, value, payload in conn.execute(query):
                found.setdefault(run_key, {})[name] = _point_data(value, payload)
        return found

    def metric_rows(
        self, run_key: int, name: str
    ) -> list[tuple[int | None, float | None, str | None]]:
        """The raw points of one series in logging order: ``(step, value, payload JSON)``.

        Leaner than ``get_metrics`` for long series that a reader reduces anyway (charts).
        """
        query = (
            select(
                metric_points.c.step,
                metric_points.c.value,
                metric_points.c.payload,
            )
            .join(metric_series, metric_points.c.series_id == metric_series.c.id)
            .where(metric_series.c.run_key == run_key, metric_series.c.name == name)
            .order_by(metric_points.c.id)
        )
        with self._read() as conn:
            return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]

    def metric_times(self, run_key: int, name: str) -> list[float]:
        """When each point of one series was logged (epoch seconds), in logging order: the same
        order and length as ``metric_rows``, for charts over time instead of steps."""
        query = (
            select(metric_points.c.ts)
            .join(metric_series, metric_points.c.series_id == metric_series.c.id)
            .where(metric_series.c.run_key == run_key, metric_series.c.name == name)
            .order_by(metric_points.c.id)
        )
        with self._read() as conn:
            return [float(ts) for ts in conn.execute(query).scalars()]

    def metric_buckets(self, run_key: int, name: str, buckets: int) -> list[MetricBucket]:
        """One series cut into at most ``buckets`` stretches of consecutive points, in order.

        For charts of long series: the database reduces the points, so a reader gets a few
        thousand numbers instead of millions. A series of at least ``buckets / 2`` rollup chunks
        is cut along its chunks (``metric_rollups``: a few thousand rows, however long the series);
        a shorter one along ranges of point ids, which follow logging order (their sizes vary
        where other series were logged in between).
        """
        with self._read() as conn:
            found = conn.execute(
                select(metric_series.c.id, metric_series.c.point_count).where(
                    metric_series.c.run_key == run_key, metric_series.c.name == name
                )
            ).one_or_none()
            if found is None:
                return []
            series_id, count = found
            chunks = -(-count // ROLLUP_POINTS)
            if 2 * chunks >= max(1, buckets):  # chunks at least half as fine as asked
                return _rollup_buckets(conn, series_id, chunks, buckets)
            own = metric_points.c.series_id == series_id
            first_id, last_id = conn.execute(  # one subquery each: both read the index's ends
                select(
                    select(func.min(metric_points.c.id)).where(own).scalar_subquery(),
                    select(func.max(metric_points.c.id)).where(own).scalar_subquery(),
                )
            ).one()
            if first_id is None:
                return []
            span = last_id - first_id + 1
            bucket = ((metric_points.c.id - first_id) * max(1, buckets) // span).label("bucket")
            # PostgreSQL keeps NaN as a value and orders it above every number; SQLite stores it
            # as NULL already. Either way NaN is no extreme.
            number = func.nullif(metric_points.c.value, literal_column("'NaN'"))
            rows = conn.execute(
                select(
                    bucket,
                    func.count(),
                    func.count(metric_points.c.step),
                    func.min(metric_points.c.id),
                    func.max(metric_points.c.id),
                    func.min(number),
                    func.max(number),
                )
                .where(metric_points.c.series_id == series_id)
                .group_by(bucket)
                .order_by(bucket)
            ).all()
            ends = {
                row.id: (row.step, _point_data(row.value, row.payload))
                for row in conn.execute(
                    select(
                        metric_points.c.id,
                        metric_points.c.step,
                        metric_points.c.value,
                        metric_points.c.payload,
                    ).where(metric_points.c.id.in_([i for r in rows for i in (r[3], r[4])]))
                )
            }
        return [
            MetricBucket(count, steps, ends[lo_id], ends[hi_id], low, high)
            for _, count, steps, lo_id, hi_id, low, high in rows
        ]


def _rollup_buckets(
    conn: Connection, series_id: int, chunks: int, buckets: int
) -> list[MetricBucket]:
    """``metric_buckets`` from the chunk summaries: each bucket a run of whole chunks."""
    bucket = (metric_rollups.c.chunk * buckets // chunks).label("bucket")
    rows = conn.execute(
        select(
            bucket,
            func.sum(metric_rollups.c.points),
            func.sum(metric_rollups.c.steps),
            func.min(metric_rollups.c.chunk),
            func.max(metric_rollups.c.chunk),
            func.min(metric_rollups.c.low),
            func.max(metric_rollups.c.high),
        )
        .where(metric_rollups.c.series_id == series_id)
        .group_by(bucket)
        .order_by(bucket)
    ).all()
    ends = {
        row.chunk: row
        for row in conn.execute(
            select(metric_rollups).where(
                metric_rollups.c.series_id == series_id,
                metric_rollups.c.chunk.in_([c for r in rows for c in (r[3], r[4])]),
            )
        )
    }
    return [
        MetricBucket(
            int(points),
            int(steps),
            (ends[first].first_step, ends[first].first_value),
            (ends[last].last_step, ends[last].last_value),
            low,
            high,
        )
        for _, points, steps, first, last, low, high in rows
    ]


def last_point_id():  # type: ignore[no-untyped-def]
    """The id of a series' newest point, as a subquery correlated with ``metric_series``: an
    index lookup, where a GROUP BY over the points would read every one of them."""
    return (
        select(func.max(metric_points.c.id))
        .where(metric_points.c.series_id == metric_series.c.id)
        .correlate(metric_series)
        .scalar_subquery()
    )


def _point_data(value: float | None, payload: str | None) -> Any:
    """A stored point's value: the number, or the decoded payload (NaN is kept there)."""
    return json.loads(payload) if value is None and payload is not None else value


def _check_active(conn: Connection, run_key: int) -> None:
    check_active(conn.execute(select(runs.c.id, runs.c.status).where(runs.c.key == run_key)).one())
