"""The embedded store's fast path: a SQLite file through the standard library's ``sqlite3``.

Loading SQLAlchemy costs a process about 0.2 s, more than the rest of a resubmitted pipeline. So a
SQLite workspace's everyday work (opening the store, submitting, reusing and recording steps and
trials, moving runs through their statuses) runs here on plain ``sqlite3`` connections, and every
other query, schema creation and upgrades go to a ``SqlStore`` on the same file, made the first
time one is needed. Both set up their connections alike (``configure``) and take the write lock
the same way (``BEGIN IMMEDIATE``), so they mix freely, even within one process.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections import Counter
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from hyperpipe.exceptions import InvalidStatusTransition, RunNotFoundError, StoreError
from hyperpipe.store._base import Store
from hyperpipe.store._metric_rows import (
    SeriesIds,
    check_active,
    point_row,
    rollup_rows,
    series_from_rows,
)
from hyperpipe.store._records import RunRecord
from hyperpipe.store._revision import SCHEMA_REVISION
from hyperpipe.store._rows import (
    BUSY_TIMEOUT_S,
    STARTED,
    RunConveniences,
    check_fields,
    check_parent_tags,
    experiment_from_row,
    run_from_row,
    status_values,
    write_failure,
)
from hyperpipe.store._status import RunStatus, can_transition

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from hyperpipe.store._base import NewPoint
    from hyperpipe.store._records import ExperimentRecord, MetricSeries
    from hyperpipe.store._sql import SqlStore

__all__ = ["SqliteStore", "configure", "sqlite_file"]

_JSON_COLUMNS = frozenset({"definition", "error", "tags", "properties"})
_RUNS = (
    "SELECT runs.*, experiments.name AS experiment_name, parent.id AS parent_id FROM runs "
    'JOIN experiments ON runs.experiment_key = experiments."key" '
    'LEFT OUTER JOIN runs AS parent ON runs.parent_key = parent."key"'
)
# The filters and orders of ``list_runs`` answered here; any other goes to SQLAlchemy.
_LIST_FILTERS = {
    "experiment_name": "experiments.name = ?",
    "parent_id": "parent.id = ?",
    "run_type": "runs.run_type = ?",
    "display_name": "runs.display_name = ?",
}
_LIST_ORDERS = {"created": 'runs."key" ASC', "-created": 'runs."key" DESC'}
_ROLLUP_COLUMNS = (
    "series_id",
    "chunk",
    "points",
    "steps",
    "first_step",
    "first_value",
    "last_step",
    "last_value",
    "low",
    "high",
)
# Adds a batch's chunk summaries to those stored: the same upsert ``SqlStore`` builds.
_UPSERT_ROLLUPS = (
    f"INSERT INTO metric_rollups ({', '.join(_ROLLUP_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_ROLLUP_COLUMNS))}) "
    "ON CONFLICT (series_id, chunk) DO UPDATE SET "
    "points = metric_rollups.points + excluded.points, "
    "steps = metric_rollups.steps + excluded.steps, "
    "first_step = CASE WHEN metric_rollups.points = 0 THEN excluded.first_step "
    "ELSE metric_rollups.first_step END, "
    "last_step = excluded.last_step, "
    "last_value = excluded.last_value, "
    "low = CASE WHEN excluded.low IS NULL THEN metric_rollups.low "
    "WHEN metric_rollups.low IS NULL OR excluded.low < metric_rollups.low THEN excluded.low "
    "ELSE metric_rollups.low END, "
    "high = CASE WHEN excluded.high IS NULL THEN metric_rollups.high "
    "WHEN metric_rollups.high IS NULL OR excluded.high > metric_rollups.high THEN excluded.high "
    "ELSE metric_rollups.high END"
)
_INSERT_POINTS = (
    "INSERT INTO metric_points (series_id, step, value, payload, ts) VALUES (?, ?, ?, ?, ?)"
)
_METRICS = (
    "SELECT metric_series.run_key, metric_series.id, metric_series.name, metric_series.kind, "
    "metric_series.description, metric_points.step, metric_points.value, "
    "metric_points.payload, metric_points.ts FROM metric_series "
    "LEFT OUTER JOIN metric_points ON metric_points.series_id = metric_series.id "
)
# Connections a forked child inherited: kept referenced, never closed, never used (closing one
# would drop the child's own locks on the same file, which POSIX keeps per process).
_inherited: list[sqlite3.Connection] = []


def sqlite_file(url: str) -> str | None:
    """The database file a plain ``sqlite:///PATH`` URL names; None for anything else (memory
    databases, URL options), which the SQLAlchemy store handles."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    return None if path in ("", ":memory:") or path.startswith("file:") else path


def configure(conn: sqlite3.Connection) -> None:
    """Hyperpipe's settings for every SQLite connection, on either path: WAL (readers never
    block the writer), a long busy timeout, and foreign keys enforced. Autocommit mode: each
    path issues BEGIN itself (``BEGIN IMMEDIATE`` to write, so a writer waits on the busy
    timeout instead of failing when a read transaction would have to upgrade)."""
    conn.isolation_level = None
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> SimpleNamespace:
    row = SimpleNamespace()
    for (name, *_), value in zip(cursor.description, values, strict=True):
        if name in _JSON_COLUMNS and value is not None:
            value = json.loads(value)
        setattr(row, name, value)
    return row


def _roll_back(conn: sqlite3.Connection) -> None:
    # SQLite has already rolled back a transaction that hit a full disk or an I/O error.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _merge_json_in(
    conn: sqlite3.Connection,
    by: str,
    value: Any,
    column: str,
    merge: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any] | None:
    """``merge`` the JSON ``column`` of the run whose ``by`` column is ``value``, in the write
    transaction of ``conn``; None when there is no such run."""
    row = conn.execute(f'SELECT "{column}" FROM runs WHERE "{by}" = ?', (value,)).fetchone()
    if row is None:
        return None
    merged = merge(dict(getattr(row, column)))
    conn.execute(f'UPDATE runs SET "{column}" = ? WHERE "{by}" = ?', (_json(merged), value))
    return merged


def _json(value: Any) -> str:
    # As SQLAlchemy's JSON type stores it, so rows written by either path read alike.
    return json.dumps(value)


class _Connections:
    """This process's connections to one file, shared by its threads (one per concurrent use)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._busy = 0
        self._pid = os.getpid()

    @contextlib.contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._pid != os.getpid():
                self.abandon()
            self._busy += 1
            conn = self._idle.pop() if self._idle else None
        try:
            if conn is None:
                conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
                conn.row_factory = _row
                configure(conn)
            yield conn
        finally:
            if conn is not None and conn.in_transaction:  # never hand on an open transaction
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            with self._lock:
                self._busy -= 1
                if conn is not None and self._pid == os.getpid():
                    self._idle.append(conn)

    def close_idle(self) -> bool:
        """Close every connection, unless one is in use (then False: forking now is unsafe)."""
        with self._lock:
            if self._busy:
                return False
            for conn in self._idle:
                conn.close()
            self._idle.clear()
            return True

    def abandon(self) -> None:
        """In a forked child: leave the parent's connections alone, and open new ones."""
        _inherited.extend(self._idle)
        self._idle = []
        self._busy = 0
        self._pid = os.getpid()


class SqliteStore(RunConveniences):
    """The store on a SQLite file: runs and experiments here, the rest through ``SqlStore``.

    Same contract, records and pickling (as its URL) as ``SqlStore``; see the module's text.
    """

    def __init__(self, url: str) -> None:
        path = sqlite_file(url)
        if path is None:
            raise ValueError(f"not a plain SQLite file URL: {url!r}")
        self.url = url
        self._path = path
        self._connections = _Connections(path)
        self._series_ids = SeriesIds()
        if not os.path.exists(path) or self._revision() != SCHEMA_REVISION:
            self._full  # noqa: B018 - creates the file, or brings its schema up to date

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"SqliteStore({self.url!r})"

    @cached_property
    def _full(self) -> SqlStore:
        """The SQLAlchemy store on the same file, for everything this path does not answer."""
        from hyperpipe.store._sql import SqlStore

        return SqlStore(self.url)

    @property
    def dialect(self) -> str:
        return "sqlite"

    def close(self) -> None:
        self._connections.close_idle()
        if "_full" in self.__dict__:
            self._full.close()

    def release_for_fork(self) -> bool:
        """Close this process's connections before a fork (see ``hyperpipe.store.prepare_fork``)."""
        if not self._connections.close_idle():
            return False
        return "_full" not in self.__dict__ or self._full.release_for_fork()

    def after_fork_in_child(self) -> None:
        self._connections.abandon()
        if "_full" in self.__dict__:
            self._full.after_fork_in_child()

    def _revision(self) -> str | None:
        try:
            with self._connections.use() as conn:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise StoreError(f"cannot open the store at {self.url!r}: {exc}") from exc
        return None if row is None else row.version_num

    # -- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, holding the database's write lock from its start."""
        with self._connections.use() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise self._write_error(exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                _roll_back(conn)
                raise self._write_error(exc) from exc
            except BaseException:
                _roll_back(conn)
                raise

    def _write_error(self, exc: sqlite3.Error) -> StoreError:
        from hyperpipe._disk import disk_location

        return write_failure(exc, self.url, disk_location(Path(self._path)), disk_full=False)

    def _retry_on_conflict(self, operation: Callable[[], Any], attempts: int = 8) -> Any:
        """Run ``operation`` again when a concurrent writer took the same unique key first."""
        for attempt in range(attempts):
            try:
                return operation()
            except sqlite3.IntegrityError:
                if attempt == attempts - 1:
                    raise
                import random

                time.sleep(0.01 * random.uniform(1, 3))
        return None

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._connections.use() as conn:
            return conn.execute(sql, params).fetchone()

    # -- experiments ----------------------------------------------------------------------------

    def get_experiment(self, name: str) -> ExperimentRecord | None:
        row = self._one("SELECT * FROM experiments WHERE name = ?", (name,))
        return None if row is None else experiment_from_row(row)

    def get_or_create_experiment(self, name: str) -> ExperimentRecord:
        found = self.get_experiment(name)
        if found is not None:
            return found

        def create() -> ExperimentRecord:
            with self._write() as conn:
                row = conn.execute("SELECT * FROM experiments WHERE name = ?", (name,)).fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO experiments (name, created_at, run_counter, archived) "
                        "VALUES (?, ?, 0, 0)",
                        (name, time.time()),
                    )
                    row = conn.execute(
                        "SELECT * FROM experiments WHERE name = ?", (name,)
                    ).fetchone()
                return experiment_from_row(row)

        return self._retry_on_conflict(create)

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
        parent_tags: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Insert a run, numbering it within its experiment (1, 2, ...); see
        ``SqlStore.create_run`` for ``parent_tags``.

        One write transaction of two statements (three for a run of a new experiment; two more
        to merge ``parent_tags``): the experiment's counter, then the run, whose parent key comes
        from a subquery. The record is built from what was written (JSON columns as they read
        back), not read again.
        """
        check_parent_tags(parent_id, parent_tags)
        status = RunStatus(status)
        now = time.time()
        columns = {
            "definition": _json(definition or {}),
            "tags": _json(tags or {}),
            "properties": _json(properties or {}),
        }
        with self._write() as conn:
            counted = conn.execute(
                "UPDATE experiments SET run_counter = run_counter + 1 WHERE name = ? "
                'RETURNING "key", run_counter',
                (experiment_name,),
            ).fetchone()
            if counted is None:
                counted = conn.execute(
                    "INSERT INTO experiments (name, created_at, run_counter, archived) "
                    'VALUES (?, ?, 1, 0) RETURNING "key", run_counter',
                    (experiment_name, now),
                ).fetchone()
            started_at = now if status in STARTED else None
            ended_at = now if status.is_terminal() else None
            inserted = conn.execute(
                "INSERT INTO runs (id, experiment_key, number, parent_key, run_type, display_name, "
                "status, target, definition, tags, properties, created_at, started_at, ended_at, "
                "reuse_key, host, pid, pid_started_at) "
                'VALUES (?, ?, ?, (SELECT "key" FROM runs WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, '
                '?, ?, ?, ?, ?, ?, ?) RETURNING "key", parent_key',
                (
                    run_id,
                    counted.key,
                    counted.run_counter,
                    parent_id,
                    run_type,
                    display_name,
                    status.value,
                    target,
                    columns["definition"],
                    columns["tags"],
                    columns["properties"],
                    now,
                    started_at,
                    ended_at,
                    reuse_key,
                    host,
                    pid,
                    pid_started_at,
                ),
            ).fetchone()
            if parent_id is not None and inserted.parent_key is None:
                raise RunNotFoundError(f"parent run {parent_id!r} does not exist")
            if parent_tags:
                _merge_json_in(
                    conn, "key", inserted.parent_key, "tags", lambda old: {**old, **parent_tags}
                )
        return RunRecord(
            key=inserted.key,
            id=run_id,
            experiment_name=experiment_name,
            number=counted.run_counter,
            run_type=run_type,
            status=status,
            created_at=now,
            parent_id=parent_id,
            display_name=display_name,
            target=target,
            definition=json.loads(columns["definition"]),
            tags=json.loads(columns["tags"]),
            properties=json.loads(columns["properties"]),
            started_at=started_at,
            ended_at=ended_at,
            host=host,
            pid=pid,
            pid_started_at=pid_started_at,
            reuse_key=reuse_key,
        )

    def find_run(self, run_id: str) -> RunRecord | None:
        row = self._one(f"{_RUNS} WHERE runs.id = ?", (run_id,))
        return None if row is None else run_from_row(row)

    def find_reusable(self, reuse_key: str, statuses: Iterable[RunStatus]) -> RunRecord | None:
        """The newest run with ``reuse_key`` that ended in one of ``statuses``."""
        values = [RunStatus(s).value for s in statuses]
        if not values:
            return None
        row = self._one(
            f"{_RUNS} WHERE runs.reuse_key = ? AND runs.status IN ({', '.join('?' * len(values))})"
            ' ORDER BY runs."key" DESC LIMIT 1',
            (reuse_key, *values),
        )
        return None if row is None else run_from_row(row)

    def list_runs(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = True,
        order: str | None = None,
        **filters: Any,
    ) -> list[RunRecord]:
        """Runs matching ``filters``; see ``SqlStore.list_runs``, which answers the rarer ones."""
        order = order or ("-created" if newest_first else "created")
        statuses = filters.pop("statuses", None)
        top_level_only = filters.pop("top_level_only", False)
        simple = order in _LIST_ORDERS and all(
            name in _LIST_FILTERS for name, value in filters.items() if value is not None
        )
        if not simple:
            if statuses is not None:
                filters["statuses"] = statuses
            return self._full.list_runs(
                limit=limit, offset=offset, order=order, top_level_only=top_level_only, **filters
            )
        clauses, params = [], []
        for name, value in filters.items():
            if value is not None:
                clauses.append(_LIST_FILTERS[name])
                params.append(value)
        if top_level_only:
            clauses.append("runs.parent_key IS NULL")
        if statuses is not None:
            values = [RunStatus(s).value for s in statuses]
            clauses.append(f"runs.status IN ({', '.join('?' * len(values))})" if values else "0")
            params.extend(values)
        sql = _RUNS + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        sql += f" ORDER BY {_LIST_ORDERS[order]} LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        with self._connections.use() as conn:
            return [run_from_row(row) for row in conn.execute(sql, params)]

    def run_positions(self, run_keys: Iterable[int]) -> dict[int, int]:
        """Each run's place among its siblings; see ``SqlStore.run_positions``."""
        keys = list(dict.fromkeys(run_keys))
        if not keys:
            return {}
        marks = ", ".join("?" * len(keys))
        sql = (
            'SELECT "key", position FROM (SELECT runs."key", row_number() OVER '
            "(PARTITION BY runs.experiment_key, runs.parent_key ORDER BY runs.number) AS position "
            f'FROM runs WHERE runs.experiment_key IN (SELECT experiment_key FROM runs WHERE "key" '
            f'IN ({marks}))) WHERE "key" IN ({marks})'
        )
        with self._connections.use() as conn:
            return {int(row.key): int(row.position) for row in conn.execute(sql, keys + keys)}

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: dict[str, Any] | None = None,
        strict: bool = True,
        if_fields: dict[str, Any] | None = None,
        **fields: Any,
    ) -> RunRecord:
        """Move a run to ``status``; see ``SqlStore.set_status`` for the rules."""
        check_fields(fields)
        status = RunStatus(status)
        now = time.time()
        with self._write() as conn:
            row = conn.execute(f"{_RUNS} WHERE runs.id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in this workspace")
            current = run_from_row(row)
            if if_fields and any(getattr(current, k) != v for k, v in if_fields.items()):
                return current
            if not can_transition(current.status, status):
                if strict:
                    raise InvalidStatusTransition(
                        f"run {run_id!r} is {current.status.value}; it cannot become {status.value}"
                    )
                return current
            values = status_values(current, status, now)
            if error is not None:
                values["error"] = error
            values.update(fields)
            self._update_run_row(conn, "key", current.key, values)
            return run_from_row(
                conn.execute(f'{_RUNS} WHERE runs."key" = ?', (current.key,)).fetchone()
            )

    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        """Set bookkeeping fields (pid, host, definition, error...) without touching the status."""
        check_fields(fields)
        with self._write() as conn:
            if not self._update_run_row(conn, "id", run_id, fields):
                raise RunNotFoundError(f"no run with id {run_id!r} in this workspace")
            return run_from_row(conn.execute(f"{_RUNS} WHERE runs.id = ?", (run_id,)).fetchone())

    @staticmethod
    def _update_run_row(
        conn: sqlite3.Connection, by: str, value: Any, values: dict[str, Any]
    ) -> int:
        if not values:  # as an UPDATE without columns would: the row is there or not
            return int(
                conn.execute(f'SELECT count(*) AS n FROM runs WHERE "{by}" = ?', (value,))
                .fetchone()
                .n
            )
        names = list(values)
        assignments = ", ".join(f'"{name}" = ?' for name in names)
        params = [_json(values[n]) if n in _JSON_COLUMNS else values[n] for n in names]
        cursor = conn.execute(f'UPDATE runs SET {assignments} WHERE "{by}" = ?', (*params, value))
        return cursor.rowcount

    def _merge_json(
        self, run_id: str, column: str, merge: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        with self._write() as conn:
            merged = _merge_json_in(conn, "id", run_id, column, merge)
            if merged is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in this workspace")
            return merged

    # -- artifacts ------------------------------------------------------------------------------

    def add_artifacts(self, run_key: int, files: Iterable[tuple[str, int]]) -> None:
        now = time.time()
        rows = [(run_key, path, size, now) for path, size in files]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                "DELETE FROM artifacts WHERE run_key = ? AND path = ?", [r[:2] for r in rows]
            )
            conn.executemany(
                "INSERT INTO artifacts (run_key, path, size, created_at) VALUES (?, ?, ?, ?)", rows
            )

    # -- metrics --------------------------------------------------------------------------------

    def log_metrics(
        self,
        run_key: int,
        points: Sequence[NewPoint],
        *,
        writer: str | None = None,
        last_seq: int | None = None,
        require_active: bool = False,
    ) -> None:
        """Append ``points`` in one transaction; see ``SqlStore.log_metrics``."""

        def write() -> dict[str, int]:
            with self._write() as conn:
                if require_active:
                    check_active(
                        conn.execute(
                            'SELECT id, status FROM runs WHERE "key" = ?', (run_key,)
                        ).fetchone()
                    )
                ids = self._series_for(conn, run_key, points)
                if points:
                    conn.executemany(
                        _INSERT_POINTS, [point_row(ids[p.name], p, True) for p in points]
                    )
                    added = Counter(ids[p.name] for p in points)
                    numbers = {}  # each series' number for its first point of this batch
                    for sid, n in sorted(added.items()):
                        total = conn.execute(
                            "UPDATE metric_series SET point_count = point_count + ? WHERE id = ? "
                            "RETURNING point_count",
                            (n, sid),
                        ).fetchone()
                        numbers[sid] = total.point_count - n
                    conn.executemany(
                        _UPSERT_ROLLUPS,
                        [
                            tuple(row[c] for c in _ROLLUP_COLUMNS)
                            for row in rollup_rows(points, ids, numbers)
                        ],
                    )
                if writer is not None and last_seq is not None:
                    moved = conn.execute(
                        "UPDATE metric_writers SET last_seq = ? WHERE run_key = ? AND writer = ?",
                        (last_seq, run_key, writer),
                    ).rowcount
                    if not moved:
                        conn.execute(
                            "INSERT INTO metric_writers (run_key, writer, last_seq) "
                            "VALUES (?, ?, ?)",
                            (run_key, writer, last_seq),
                        )
            return ids

        self._series_ids.remember(run_key, self._retry_on_conflict(write))

    def _series_for(
        self, conn: sqlite3.Connection, run_key: int, points: Sequence[NewPoint]
    ) -> dict[str, int]:
        ids, missing = self._series_ids.split(run_key, points)
        if missing:
            names = list(missing)
            existing = {
                row.name: row.id
                for row in conn.execute(
                    "SELECT name, id FROM metric_series WHERE run_key = ? "
                    f"AND name IN ({', '.join('?' * len(names))})",
                    (run_key, *names),
                )
            }
            for name, p in missing.items():
                if name not in existing:
                    existing[name] = (
                        conn.execute(
                            "INSERT INTO metric_series (run_key, name, kind, description, "
                            "point_count) VALUES (?, ?, ?, ?, 0) RETURNING id",
                            (run_key, name, p.kind, p.description or ""),
                        )
                        .fetchone()
                        .id
                    )
            ids.update(existing)
        return ids

    def writer_checkpoint(self, run_key: int, writer: str) -> int | None:
        row = self._one(
            "SELECT last_seq FROM metric_writers WHERE run_key = ? AND writer = ?",
            (run_key, writer),
        )
        return None if row is None else row.last_seq

    def get_metrics(
        self, run_keys: Sequence[int], names: Sequence[str] | None = None
    ) -> dict[int, list[MetricSeries]]:
        """Every series of the given runs, keyed by run key, points in logging order."""
        keys = list(run_keys)
        if not keys:
            return {}
        sql = _METRICS + f"WHERE metric_series.run_key IN ({', '.join('?' * len(keys))})"
        params: list[Any] = list(keys)
        if names is not None:
            names = list(names)
            marks = ", ".join("?" * len(names))
            sql += f" AND metric_series.name IN ({marks})" if names else " AND 0"
            params.extend(names)
        sql += " ORDER BY metric_series.id, metric_points.id"
        with self._connections.use() as conn:
            conn.execute("BEGIN")  # one snapshot, however many rows
            try:
                return series_from_rows(conn.execute(sql, params))
            finally:
                conn.execute("COMMIT")


def _forward(name: str) -> Callable[..., Any]:
    def forward(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._full, name)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = f"``SqlStore.{name}`` on the same file."
    return forward


# Everything else the contract promises goes to the SQLAlchemy store, by explicit methods (not
# ``__getattr__``), so that ``isinstance(store, Store)`` does not load SQLAlchemy.
for _name in dir(Store):
    if not _name.startswith("_") and not hasattr(SqliteStore, _name):
        setattr(SqliteStore, _name, _forward(_name))
