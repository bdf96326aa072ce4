"""The SQL store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

The only code that writes SQL.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError, OperationalError

from hyperpipe.exceptions import (
    InvalidStatusTransition,
    ModelNotFoundException,
    RunNotFoundError,
    StoreError,
    UserErrorException,
)
from hyperpipe.store._base import NewPoint
from hyperpipe.store._engine import WRITE_OPTION, ensure_schema, make_engine
from hyperpipe.store._records import (
    ArtifactRecord,
    DatasetRecord,
    ExperimentRecord,
    MetricBucket,
    MetricPoint,
    MetricSeries,
    ModelRecord,
    RunRecord,
    SeriesSummary,
)
from hyperpipe.store._schema import (
    artifacts,
    datasets,
    experiments,
    metric_points,
    metric_series,
    metric_writers,
    models,
    runs,
)
from hyperpipe.store._schema import (
    dataset_files as manifest_rows,
)
from hyperpipe.store._status import RunStatus, can_transition

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from sqlalchemy.engine import Connection, Row

__all__ = ["SqlStore"]

_UPDATABLE_RUN_FIELDS = frozenset(
    {"display_name", "target", "definition", "error", "host", "pid", "pid_started_at", "reuse_key"}
)
_parent = runs.alias("parent")
_COUNT_POINTS = (
    update(metric_series)
    .where(metric_series.c.id == bindparam("series"))
    .values(point_count=metric_series.c.point_count + bindparam("added"))
)
_STARTED = frozenset({RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FINISHED})


class SqlStore:
    """Metadata store on a SQL database, safe to share between threads and processes.

    Records returned are frozen snapshots. The store pickles as its URL only, so it can be sent to
    another process, which opens its own connections.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._series_ids: dict[tuple[int, str], int] = {}
        self._series_lock = threading.Lock()
        mark = "?" if self._engine.dialect.paramstyle == "qmark" else "%s"
        self._insert_points_sql = (
            "INSERT INTO metric_points (series_id, step, value, payload, ts) "
            f"VALUES ({', '.join([mark] * 5)})"
        )
        try:
            ensure_schema(self._engine)
        except OperationalError as exc:
            raise StoreError(f"cannot open the store at {url!r}: {exc.orig}") from exc

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"SqlStore({self._engine.url.render_as_string(hide_password=True)!r})"

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

    # -- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite, so waiting uses the busy timeout)."""
        try:
            with (
                self._engine.connect().execution_options(**{WRITE_OPTION: True}) as conn,
                conn.begin(),
            ):
                yield conn
        except OperationalError as exc:
            raise StoreError(
                f"store write failed: {exc.orig}; if another process holds the database for "
                "minutes, stop it or move the store to PostgreSQL (HYPERPIPE_STORE_URL)"
            ) from exc

    def _retry_on_conflict(self, operation: Any, attempts: int = 8) -> Any:
        """Run ``operation`` again when a concurrent writer took the same unique key first."""
        for attempt in range(attempts):
            try:
                return operation()
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.01 * random.uniform(1, 3))
        return None

    # -- experiments ----------------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> ExperimentRecord:
        found = self.get_experiment(name)
        if found is not None:
            return found

        def create() -> ExperimentRecord:
            with self._write() as conn:
                row = conn.execute(
                    select(experiments).where(experiments.c.name == name)
                ).one_or_none()
                if row is None:
                    conn.execute(
                        insert(experiments).values(name=name, created_at=time.time(), run_counter=0)
                    )
                    row = conn.execute(select(experiments).where(experiments.c.name == name)).one()
                return _experiment(row)

        return self._retry_on_conflict(create)

    def get_experiment(self, name: str) -> ExperimentRecord | None:
        with self._read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).one_or_none()
        return None if row is None else _experiment(row)

    def list_experiments(self) -> list[ExperimentRecord]:
        with self._read() as conn:
            rows = conn.execute(select(experiments).order_by(experiments.c.name)).all()
        return [_experiment(row) for row in rows]

    # -- runs -----------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        experiment_name: str,
        run_id: str,
        run_type: str,
        status: RunStatus = RunStatus.NOT_STARTED,
        parent_id: str | None = None,
        display_name: str | None = None,
        target: str | None = None,
        definition: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        reuse_key: str | None = None,
        host: str | None = None,
        pid: int | None = None,
        pid_started_at: float | None = None,
    ) -> RunRecord:
        """Insert a run, numbering it within its experiment (1, 2, ...)."""
        experiment = self.get_or_create_experiment(experiment_name)
        now = time.time()
        with self._write() as conn:
            number = conn.execute(
                update(experiments)
                .where(experiments.c.key == experiment.key)
                .values(run_counter=experiments.c.run_counter + 1)
                .returning(experiments.c.run_counter)
            ).scalar_one()
            parent_key = None
            if parent_id is not None:
                parent_key = conn.execute(
                    select(runs.c.key).where(runs.c.id == parent_id)
                ).scalar_one_or_none()
                if parent_key is None:
                    raise RunNotFoundError(f"parent run {parent_id!r} does not exist")
            conn.execute(
                insert(runs).values(
                    id=run_id,
                    experiment_key=experiment.key,
                    number=number,
                    parent_key=parent_key,
                    run_type=run_type,
                    display_name=display_name,
                    status=RunStatus(status).value,
                    target=target,
                    definition=definition or {},
                    tags=tags or {},
                    properties=properties or {},
                    created_at=now,
                    started_at=now if RunStatus(status) in _STARTED else None,
                    ended_at=now if RunStatus(status).is_terminal() else None,
                    reuse_key=reuse_key,
                    host=host,
                    pid=pid,
                    pid_started_at=pid_started_at,
                )
            )
            return _run(conn.execute(_run_select().where(runs.c.id == run_id)).one())

    def find_run(self, run_id: str) -> RunRecord | None:
        with self._read() as conn:
            row = conn.execute(_run_select().where(runs.c.id == run_id)).one_or_none()
        return None if row is None else _run(row)

    def get_run(self, run_id: str) -> RunRecord:
        found = self.find_run(run_id)
        if found is None:
            raise RunNotFoundError(
                f"no run with id {run_id!r} in this workspace; list runs with `hyperpipe runs list`"
            )
        return found

    def list_runs(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = True,
        order: str | None = None,
        **filters: Any,
    ) -> list[RunRecord]:
        """Runs matching ``filters`` (see ``_where``), newest first unless ``order`` says otherwise.

        ``order`` is a field of ``RUN_ORDERS`` or ``metric:NAME`` (the last value of a scalar
        metric; runs without it come last), with a leading ``-`` for descending.
        """
        query = _where(_run_select(), self.dialect, **filters)
        order = order or ("-created" if newest_first else "created")
        descending = order.startswith("-")
        field = order.lstrip("-")
        if field.startswith("metric:") and field[len("metric:") :]:
            column = _last_value_of(field[len("metric:") :])
        else:
            column = RUN_ORDERS.get(field)
        if column is None:
            raise UserErrorException(
                f"cannot sort runs by {order!r}; sort by one of {', '.join(RUN_ORDERS)} or "
                "metric:NAME (prefix - for descending)"
            )
        tiebreak = runs.c.key.desc() if descending else runs.c.key.asc()
        sort = column.desc() if descending else column.asc()
        query = query.order_by(sort.nulls_last(), tiebreak).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [_run(row) for row in conn.execute(query).all()]

    def count_runs(self, **filters: Any) -> int:
        """How many runs ``list_runs`` would return for ``filters``, without loading them."""
        query = _where(
            select(func.count())
            .select_from(runs)
            .join(experiments, runs.c.experiment_key == experiments.c.key)
            .join(_parent, runs.c.parent_key == _parent.c.key, isouter=True),
            self.dialect,
            **filters,
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def experiment_stats(self) -> dict[str, tuple[int, float | None]]:
        """Per experiment name: how many top-level runs it has and when the newest was created."""
        query = (
            select(experiments.c.name, func.count(runs.c.key), func.max(runs.c.created_at))
            .select_from(experiments)
            .join(
                runs,
                and_(runs.c.experiment_key == experiments.c.key, runs.c.parent_key.is_(None)),
                isouter=True,
            )
            .group_by(experiments.c.name)
        )
        with self._read() as conn:
            return {row[0]: (int(row[1]), row[2]) for row in conn.execute(query)}

    def runs_with_dataset(self, dataset_id: str, limit: int = 100) -> list[tuple[RunRecord, str]]:
        """Runs that read the dataset version ``dataset_id`` (role ``"input"``) or registered it
        from an output (role ``"output"``), newest first."""
        # Dataset ids are unique hex strings, so a text match narrows to the right runs cheaply on
        # every database; each definition is then checked exactly.
        text = cast(runs.c.definition, Text)
        query = (
            _run_select()
            .where(text.contains(dataset_id, autoescape=True))
            .order_by(runs.c.key.desc())
            .limit(limit * 4)
        )
        with self._read() as conn:
            found = [_run(row) for row in conn.execute(query)]
        roles = []
        for record in found:
            definition = record.definition
            if any(i.get("dataset_id") == dataset_id for i in definition.get("inputs") or []):
                roles.append((record, "input"))
            elif any(
                (out.get("dataset") or {}).get("id") == dataset_id
                for out in (definition.get("committed_outputs") or {}).values()
            ):
                roles.append((record, "output"))
        return roles[:limit]

    def find_reusable(self, reuse_key: str, statuses: Iterable[RunStatus]) -> RunRecord | None:
        """The newest run with ``reuse_key`` that ended in one of ``statuses``."""
        query = (
            _run_select()
            .where(
                runs.c.reuse_key == reuse_key,
                runs.c.status.in_([RunStatus(s).value for s in statuses]),
            )
            .order_by(runs.c.key.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _run(row)

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: dict[str, Any] | None = None,
        strict: bool = True,
        **fields: Any,
    ) -> RunRecord:
        """Move a run to ``status`` following the transition table.

        Entering Running stamps the start time; entering a terminal status stamps the end time.
        With ``strict=False`` a move the table forbids leaves the run as it is (used when two
        parties race to end a run) instead of raising. ``fields`` (as for ``update_run``) are
        written in the same transaction when the move happens.
        """
        _check_fields(fields)
        status = RunStatus(status)
        now = time.time()
        with self._write() as conn:
            # FOR UPDATE (PostgreSQL): a racing move waits and is judged against this one's result.
            row = conn.execute(
                _run_select().where(runs.c.id == run_id).with_for_update(of=runs)
            ).one_or_none()
            if row is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in this workspace")
            current = _run(row)
            if not can_transition(current.status, status):
                if strict:
                    raise InvalidStatusTransition(
                        f"run {run_id!r} is {current.status.value}; it cannot become {status.value}"
                    )
                return current
            values: dict[str, Any] = {"status": status.value}
            if status == RunStatus.RUNNING and current.started_at is None:
                values["started_at"] = now
            if status.is_terminal() and status != current.status:
                values["ended_at"] = now
            elif status == RunStatus.QUEUED:
                values["ended_at"] = None
            if error is not None:
                values["error"] = error
            values.update(fields)
            conn.execute(update(runs).where(runs.c.key == current.key).values(**values))
            return _run(conn.execute(_run_select().where(runs.c.key == current.key)).one())

    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        """Set bookkeeping fields (pid, host, definition, error...) without touching the status."""
        _check_fields(fields)
        with self._write() as conn:
            result = conn.execute(update(runs).where(runs.c.id == run_id).values(**fields))
            if result.rowcount == 0:
                raise RunNotFoundError(f"no run with id {run_id!r} in this workspace")
            return _run(conn.execute(_run_select().where(runs.c.id == run_id)).one())

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> dict[str, Any]:
        return self._merge_json(run_id, "tags", lambda old: {**old, **tags})

    def remove_tags(self, run_id: str, keys: Iterable[str]) -> dict[str, Any]:
        drop = set(keys)
        return self._merge_json(
            run_id, "tags", lambda old: {k: v for k, v in old.items() if k not in drop}
        )

    def add_properties(self, run_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Add properties; they are immutable, so changing an existing one is an error."""

        def merge(old: dict[str, Any]) -> dict[str, Any]:
            for key, value in properties.items():
                if key in old and old[key] != value:
                    raise UserErrorException(
                        f"property {key!r} of run {run_id!r} is already {old[key]!r}; properties "
                        "cannot change once set (use tags for values that change)"
                    )
            return {**old, **properties}

        return self._merge_json(run_id, "properties", merge)

    def _merge_json(self, run_id: str, column: str, merge: Any) -> dict[str, Any]:
        with self._write() as conn:
            current = conn.execute(
                select(runs.c[column]).where(runs.c.id == run_id).with_for_update()
            ).scalar_one_or_none()
            if current is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in this workspace")
            merged = merge(dict(current))
            conn.execute(update(runs).where(runs.c.id == run_id).values({column: merged}))
            return merged

    # -- metrics --------------------------------------------------------------------------------

    def log_metrics(
        self,
        run_key: int,
        points: Sequence[NewPoint],
        *,
        writer: str | None = None,
        last_seq: int | None = None,
    ) -> None:
        """Append ``points`` in one transaction, recording how far ``writer`` got."""
        nan_in_payload = self.dialect == "sqlite"

        def write() -> dict[str, int]:
            with self._write() as conn:
                ids = self._series_for(conn, run_key, points)
                if points:
                    # Straight to the driver's executemany: the hot path of metric ingest.
                    conn.exec_driver_sql(
                        self._insert_points_sql,
                        [_point_row(ids[p.name], p, nan_in_payload) for p in points],
                    )
                    added = Counter(ids[p.name] for p in points)
                    conn.execute(  # in id order: concurrent writers lock rows alike
                        _COUNT_POINTS,
                        [{"series": sid, "added": n} for sid, n in sorted(added.items())],
                    )
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
        ids = self._retry_on_conflict(write)
        # Cache series ids only once committed: an id from a rolled-back insert is reused by
        # SQLite for the next series, and points would land in the wrong series.
        with self._series_lock:
            for name, sid in ids.items():
                self._series_ids[(run_key, name)] = sid

    def _series_for(
        self, conn: Connection, run_key: int, points: Sequence[NewPoint]
    ) -> dict[str, int]:
        ids: dict[str, int] = {}
        missing: dict[str, NewPoint] = {}
        with self._series_lock:
            for p in points:
                sid = self._series_ids.get((run_key, p.name))
                if sid is None:
                    missing.setdefault(p.name, p)
                else:
                    ids[p.name] = sid
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
        grouped: dict[int, dict[int, tuple[Row, list[MetricPoint]]]] = defaultdict(dict)
        with self._read() as conn:
            for row in conn.execute(query):
                series = grouped[row.run_key].setdefault(row.id, (row, []))
                if row.ts is not None:
                    value = row.value
                    payload = None if row.payload is None else json.loads(row.payload)
                    if value is None and isinstance(payload, float) and math.isnan(payload):
                        value, payload = payload, None  # a NaN kept in the payload (_point_row)
                    series[1].append(MetricPoint(value, payload, row.ts, row.step))
        return {
            run_key: [
                MetricSeries(row.name, row.kind, row.description, tuple(points))
                for row, points in by_series.values()
            ]
            for run_key, by_series in grouped.items()
        }

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
            .join(metric_points, metric_points.c.id == _last_point_id(), isouter=True)
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
            .join(metric_points, metric_points.c.id == _last_point_id())
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

    def metric_buckets(self, run_key: int, name: str, buckets: int) -> list[MetricBucket]:
        """One series cut into at most ``buckets`` stretches of consecutive points, in order.

        For charts of long series: the database reduces the points, so a reader gets a few
        thousand numbers instead of millions. Stretches are ranges of point ids, which follow
        logging order; their sizes vary where other series were logged in between.
        """
        with self._read() as conn:
            series_id = conn.execute(
                select(metric_series.c.id).where(
                    metric_series.c.run_key == run_key, metric_series.c.name == name
                )
            ).scalar_one_or_none()
            if series_id is None:
                return []
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

    # -- artifacts ------------------------------------------------------------------------------

    def add_artifacts(self, run_key: int, files: Iterable[tuple[str, int]]) -> None:
        rows = [
            {"run_key": run_key, "path": p, "size": s, "created_at": time.time()} for p, s in files
        ]
        if not rows:
            return
        with self._write() as conn:
            conn.execute(
                delete(artifacts).where(
                    artifacts.c.run_key == run_key, artifacts.c.path.in_([r["path"] for r in rows])
                )
            )
            conn.execute(insert(artifacts), rows)

    def list_artifacts(self, run_key: int, prefix: str | None = None) -> list[ArtifactRecord]:
        query = select(artifacts).where(artifacts.c.run_key == run_key).order_by(artifacts.c.path)
        if prefix:
            query = query.where(artifacts.c.path.startswith(prefix, autoescape=True))
        with self._read() as conn:
            return [ArtifactRecord(r.path, r.size, r.created_at) for r in conn.execute(query)]

    # -- models ---------------------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        *,
        datastore: str,
        path: str,
        run_id: str | None = None,
        experiment_name: str | None = None,
        description: str | None = None,
        framework: str | None = None,
        framework_version: str | None = None,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> ModelRecord:
        """Record the next version of model ``name`` (1 for a new name)."""

        def insert_next() -> ModelRecord:
            with self._write() as conn:
                latest = conn.execute(
                    select(func.max(models.c.version)).where(models.c.name == name)
                ).scalar()
                version = (latest or 0) + 1
                conn.execute(
                    insert(models).values(
                        name=name,
                        version=version,
                        datastore=datastore,
                        path=path,
                        run_id=run_id,
                        experiment_name=experiment_name,
                        description=description,
                        framework=framework,
                        framework_version=framework_version,
                        tags=tags or {},
                        properties=properties or {},
                        created_at=time.time(),
                    )
                )
                row = conn.execute(
                    select(models).where(models.c.name == name, models.c.version == version)
                ).one()
                return _model(row)

        return self._retry_on_conflict(insert_next)

    def get_model(self, name: str, version: int | None = None) -> ModelRecord | None:
        query = select(models).where(models.c.name == name)
        query = (
            query.order_by(models.c.version.desc()).limit(1)
            if version is None
            else query.where(models.c.version == version)
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _model(row)

    def list_models(
        self, name: str | None = None, run_id: str | None = None, latest: bool = False
    ) -> list[ModelRecord]:
        query = select(models).order_by(models.c.name, models.c.version.desc())
        if name is not None:
            query = query.where(models.c.name == name)
        if run_id is not None:
            query = query.where(models.c.run_id == run_id)
        with self._read() as conn:
            records = [_model(row) for row in conn.execute(query)]
        if latest:
            seen: set[str] = set()
            records = [r for r in records if not (r.name in seen or seen.add(r.name))]
        return records

    def update_model(
        self,
        name: str,
        version: int,
        *,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> ModelRecord:
        values = {k: v for k, v in (("tags", tags), ("properties", properties)) if v is not None}
        with self._write() as conn:
            if values:
                conn.execute(
                    update(models)
                    .where(models.c.name == name, models.c.version == version)
                    .values(**values)
                )
            row = conn.execute(
                select(models).where(models.c.name == name, models.c.version == version)
            ).one_or_none()
            if row is None:
                raise ModelNotFoundException(
                    f"model {name!r} has no version {version}; list its versions with "
                    f"Model.list(workspace, name={name!r})"
                )
            return _model(row)

    # -- datasets -------------------------------------------------------------------------------

    def register_dataset(
        self,
        *,
        name: str | None,
        kind: str,
        definition: dict[str, Any],
        files: Sequence[tuple[str | None, str, int, str, float | None]],
        content_hash: str,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        create_new_version: bool = True,
    ) -> DatasetRecord:
        """Record a dataset version, unless the latest version of ``name`` has the same content.

        Anonymous datasets (``name`` None) are recorded once per content and definition.
        """

        def register() -> DatasetRecord:
            with self._write() as conn:
                if name is None:
                    same = conn.execute(
                        select(datasets).where(
                            datasets.c.name.is_(None),
                            datasets.c.content_hash == content_hash,
                            datasets.c.kind == kind,
                        )
                    ).all()
                    for row in same:
                        if row.definition == definition:
                            return _dataset(row)
                    version = None
                else:
                    latest = conn.execute(
                        select(datasets)
                        .where(datasets.c.name == name)
                        .order_by(datasets.c.version.desc())
                        .limit(1)
                    ).one_or_none()
                    if (
                        latest is not None
                        and latest.content_hash == content_hash
                        and (
                            latest.kind == kind
                            and (latest.definition or {}).get("options")
                            == definition.get("options")
                        )
                    ):
                        return _dataset(latest)
                    if latest is not None and not create_new_version:
                        raise UserErrorException(
                            f"a dataset is already registered as {name!r} (version "
                            f"{latest.version}) with other content; pass create_new_version=True "
                            "to register this as a new version"
                        )
                    version = (latest.version if latest is not None else 0) + 1
                key = conn.execute(
                    insert(datasets)
                    .values(
                        id=uuid.uuid4().hex,
                        name=name,
                        version=version,
                        kind=kind,
                        definition=definition,
                        content_hash=content_hash,
                        description=description,
                        tags=tags or {},
                        file_count=len(files),
                        total_size=sum(f[2] for f in files),
                        created_at=time.time(),
                    )
                    .returning(datasets.c.key)
                ).scalar_one()
                if files:
                    conn.execute(
                        insert(manifest_rows),
                        [
                            {
                                "dataset_key": key,
                                "datastore": store or "",
                                "path": path,
                                "size": size,
                                "sha256": sha,
                                "mtime": mtime,
                            }
                            for store, path, size, sha, mtime in files
                        ],
                    )
                return _dataset(conn.execute(select(datasets).where(datasets.c.key == key)).one())

        return self._retry_on_conflict(register)

    def get_dataset(self, name: str, version: int | None = None) -> DatasetRecord | None:
        query = select(datasets).where(datasets.c.name == name)
        query = (
            query.order_by(datasets.c.version.desc()).limit(1)
            if version is None
            else query.where(datasets.c.version == version)
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _dataset(row)

    def get_dataset_by_id(self, dataset_id: str) -> DatasetRecord | None:
        with self._read() as conn:
            row = conn.execute(select(datasets).where(datasets.c.id == dataset_id)).one_or_none()
        return None if row is None else _dataset(row)

    def list_datasets(self, name: str | None = None, latest: bool = False) -> list[DatasetRecord]:
        """Registered versions (anonymous ones excluded), newest version first per name."""
        query = (
            select(datasets)
            .where(datasets.c.name.is_not(None))
            .order_by(datasets.c.name, datasets.c.version.desc())
        )
        if name is not None:
            query = query.where(datasets.c.name == name)
        with self._read() as conn:
            records = [_dataset(row) for row in conn.execute(query)]
        if latest:
            seen: set[str | None] = set()
            records = [r for r in records if not (r.name in seen or seen.add(r.name))]
        return records

    def dataset_files(self, key: int) -> list[tuple[str | None, str, int, str, float | None]]:
        """The manifest of a version: (datastore, path, size, sha256, mtime), sorted."""
        query = (
            select(manifest_rows)
            .where(manifest_rows.c.dataset_key == key)
            .order_by(manifest_rows.c.datastore, manifest_rows.c.path)
        )
        with self._read() as conn:
            return [
                (r.datastore or None, r.path, r.size, r.sha256, r.mtime)
                for r in conn.execute(query)
            ]


def _point_row(series_id: int, point: NewPoint, nan_in_payload: bool) -> tuple[Any, ...]:
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


RUN_ORDERS = {
    "created": runs.c.key,
    "number": runs.c.number,
    "name": func.coalesce(runs.c.display_name, runs.c.id),
    "status": runs.c.status,
    "started": runs.c.started_at,
    "ended": runs.c.ended_at,
    "duration": runs.c.ended_at - runs.c.started_at,
    "type": runs.c.run_type,
}


def _where(  # type: ignore[no-untyped-def]
    query,
    dialect: str,
    *,
    experiment_name: str | None = None,
    parent_id: str | None = None,
    top_level_only: bool = False,
    statuses: Iterable[RunStatus | str] | None = None,
    run_type: str | None = None,
    display_name: str | None = None,
    tag: str | None = None,
    tag_value: str | None = None,
    search: str | None = None,
):
    """Narrow a runs query: ``tag`` alone means "has the tag", with ``tag_value`` "equals";
    ``search`` matches a substring of the run's id or display name."""
    if experiment_name is not None:
        query = query.where(experiments.c.name == experiment_name)
    if parent_id is not None:
        query = query.where(_parent.c.id == parent_id)
    if top_level_only:
        query = query.where(runs.c.parent_key.is_(None))
    if statuses is not None:
        query = query.where(runs.c.status.in_([RunStatus(s).value for s in statuses]))
    if run_type is not None:
        query = query.where(runs.c.run_type == run_type)
    if display_name is not None:
        query = query.where(runs.c.display_name == display_name)
    if tag is not None:
        if tag_value is not None:
            query = query.where(runs.c.tags[tag].as_string() == tag_value)
        elif dialect == "postgresql":  # a tag may have no value (JSON null): test the key
            query = query.where(cast(runs.c.tags, JSONB).has_key(tag))
        else:
            path = '$."' + tag.replace('"', '""') + '"'
            query = query.where(func.json_type(runs.c.tags, path).is_not(None))
    if search:
        query = query.where(
            runs.c.id.contains(search, autoescape=True)
            | runs.c.display_name.contains(search, autoescape=True)
        )
    return query


def _last_point_id():  # type: ignore[no-untyped-def]
    """The id of a series' newest point, as a subquery correlated with ``metric_series``: an
    index lookup, where a GROUP BY over the points would read every one of them."""
    return (
        select(func.max(metric_points.c.id))
        .where(metric_points.c.series_id == metric_series.c.id)
        .correlate(metric_series)
        .scalar_subquery()
    )


def _last_value_of(name: str):  # type: ignore[no-untyped-def]
    """The last logged value of metric ``name`` of the run in the enclosing query."""
    newest = (
        select(func.max(metric_points.c.id))
        .join(metric_series, metric_points.c.series_id == metric_series.c.id)
        .where(metric_series.c.run_key == runs.c.key, metric_series.c.name == name)
        .correlate(runs)
        .scalar_subquery()
    )
    return select(metric_points.c.value).where(metric_points.c.id == newest).scalar_subquery()


def _point_data(value: float | None, payload: str | None) -> Any:
    """A stored point's value: the number, or the decoded payload (NaN is kept there)."""
    return json.loads(payload) if value is None and payload is not None else value


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - _UPDATABLE_RUN_FIELDS
    if unknown:
        raise ValueError(f"cannot update run fields {sorted(unknown)}")


def _run_select():  # type: ignore[no-untyped-def]
    return select(
        runs, experiments.c.name.label("experiment_name"), _parent.c.id.label("parent_id")
    ).select_from(
        runs.join(experiments, runs.c.experiment_key == experiments.c.key).join(
            _parent, runs.c.parent_key == _parent.c.key, isouter=True
        )
    )


def _experiment(row: Row) -> ExperimentRecord:
    return ExperimentRecord(row.key, row.name, row.created_at, bool(row.archived))


def _run(row: Row) -> RunRecord:
    return RunRecord(
        key=row.key,
        id=row.id,
        experiment_name=row.experiment_name,
        number=row.number,
        run_type=row.run_type,
        status=RunStatus(row.status),
        created_at=row.created_at,
        parent_id=row.parent_id,
        display_name=row.display_name,
        target=row.target,
        definition=row.definition or {},
        error=row.error,
        tags=row.tags or {},
        properties=row.properties or {},
        started_at=row.started_at,
        ended_at=row.ended_at,
        host=row.host,
        pid=row.pid,
        pid_started_at=row.pid_started_at,
        reuse_key=row.reuse_key,
    )


def _model(row: Row) -> ModelRecord:
    return ModelRecord(
        name=row.name,
        version=row.version,
        datastore=row.datastore,
        path=row.path,
        created_at=row.created_at,
        run_id=row.run_id,
        experiment_name=row.experiment_name,
        description=row.description,
        framework=row.framework,
        framework_version=row.framework_version,
        tags=row.tags or {},
        properties=row.properties or {},
    )


def _dataset(row: Row) -> DatasetRecord:
    return DatasetRecord(
        key=row.key,
        id=row.id,
        name=row.name,
        version=row.version,
        kind=row.kind,
        definition=row.definition or {},
        content_hash=row.content_hash,
        file_count=row.file_count,
        total_size=row.total_size,
        created_at=row.created_at,
        description=row.description,
        tags=row.tags or {},
    )
