"""The SQL store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

With ``_sql_metrics`` (metric series and points), ``_sql_catalog`` (artifacts, models,
datasets) and ``_sql_automation`` (published pipelines, endpoints, schedules), the only code that
writes SQL. This module holds experiments, runs and transactions.
"""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, and_, cast, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from hyperpipe._disk import disk_location
from hyperpipe.exceptions import (
    InvalidStatusTransition,
    RunNotFoundError,
    StoreError,
    UserErrorException,
)
from hyperpipe.store._engine import WRITE_OPTION, ensure_schema, make_engine
from hyperpipe.store._metric_rows import SeriesIds
from hyperpipe.store._records import ExperimentRecord, RunRecord
from hyperpipe.store._rows import (
    STARTED,
    RunConveniences,
    check_fields,
    check_parent_tags,
    experiment_from_row,
    run_from_row,
    status_values,
    write_failure,
)
from hyperpipe.store._schema import experiments, metric_points, metric_series, runs
from hyperpipe.store._sql_automation import AutomationQueries
from hyperpipe.store._sql_catalog import CatalogQueries
from hyperpipe.store._sql_metrics import MetricQueries
from hyperpipe.store._status import RunStatus, can_transition

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlalchemy.engine import Connection

__all__ = ["SqlStore"]

_parent = runs.alias("parent")
# Connection pools a forked child inherited: kept referenced, never closed, never used (closing an
# inherited SQLite descriptor would drop the child's own locks on the same file).
_inherited_pools: list[object] = []


class SqlStore(RunConveniences, MetricQueries, CatalogQueries, AutomationQueries):
    """Metadata store on a SQL database, safe to share between threads and processes.

    Records returned are frozen snapshots. The store pickles as its URL only, so it can be sent to
    another process, which opens its own connections.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._series_ids = SeriesIds()
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

    def after_fork_in_child(self) -> None:
        """In a forked child: keep the engine (its compiled statements) on new connections; the
        parent's are never used or closed here (SQLAlchemy's rule: ``dispose(close=False)``)."""
        _inherited_pools.append(self._engine.pool)
        self._engine.dispose(close=False)

    def release_for_fork(self) -> bool:
        """Close idle SQLite connections before a fork (see ``hyperpipe.store.prepare_fork``)."""
        if self.dialect != "sqlite":
            return True
        if self._engine.pool.checkedout():
            return False
        self._engine.dispose()
        return True

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
            raise self._write_error(exc) from exc

    def _write_error(self, exc: OperationalError) -> StoreError:
        database = self._engine.url.database
        sqlite_file = self.dialect == "sqlite" and database not in (None, "", ":memory:")
        return write_failure(
            exc.orig,
            self._engine.url.render_as_string(hide_password=True),
            disk_location(Path(database)) if sqlite_file else "",  # type: ignore[arg-type]
            disk_full=getattr(exc.orig, "sqlstate", "") == "53100",  # PostgreSQL's disk_full
        )

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
                return experiment_from_row(row)

        return self._retry_on_conflict(create)

    def get_experiment(self, name: str) -> ExperimentRecord | None:
        with self._read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).one_or_none()
        return None if row is None else experiment_from_row(row)

    def list_experiments(self) -> list[ExperimentRecord]:
        with self._read() as conn:
            rows = conn.execute(select(experiments).order_by(experiments.c.name)).all()
        return [experiment_from_row(row) for row in rows]

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
        """Insert a run, numbering it within its experiment (1, 2, ...).

        ``parent_tags`` are merged into the parent's tags (as ``set_tags`` would) in the same
        transaction: a sweep records each trial and its entry on the sweep's run at once.
        """
        check_parent_tags(parent_id, parent_tags)
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
                    started_at=now if RunStatus(status) in STARTED else None,
                    ended_at=now if RunStatus(status).is_terminal() else None,
                    reuse_key=reuse_key,
                    host=host,
                    pid=pid,
                    pid_started_at=pid_started_at,
                )
            )
            if parent_tags:
                # Locked after the experiment's row, as every run creation does: no deadlock.
                _merge_json_in(
                    conn, runs.c.key == parent_key, "tags", lambda old: {**old, **parent_tags}
                )
            return run_from_row(conn.execute(_run_select().where(runs.c.id == run_id)).one())

    def find_run(self, run_id: str) -> RunRecord | None:
        with self._read() as conn:
            row = conn.execute(_run_select().where(runs.c.id == run_id)).one_or_none()
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
            return [run_from_row(row) for row in conn.execute(query).all()]

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

    def run_positions(self, run_keys: Iterable[int]) -> dict[int, int]:
        """Each run's place (1, 2, ...) among its siblings in creation order: a top-level run's
        among its experiment's top-level runs, a child's among its parent's children.

        ``number`` counts every run of an experiment, steps and trials too, so top-level runs
        skip numbers; this is the sequence a person reads in a list ("Run 12", "trial 7").
        """
        keys = list(dict.fromkeys(run_keys))
        if not keys:
            return {}
        wanted = select(runs.c.experiment_key).where(runs.c.key.in_(keys))
        ranked = (
            select(
                runs.c.key,
                func.row_number()
                .over(
                    partition_by=(runs.c.experiment_key, runs.c.parent_key), order_by=runs.c.number
                )
                .label("position"),
            )
            .where(runs.c.experiment_key.in_(wanted))
            .subquery()
        )
        query = select(ranked.c.key, ranked.c.position).where(ranked.c.key.in_(keys))
        with self._read() as conn:
            return {int(key): int(position) for key, position in conn.execute(query)}

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
            found = [run_from_row(row) for row in conn.execute(query)]
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
        return None if row is None else run_from_row(row)

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
        """Move a run to ``status`` following the transition table.

        Entering Running stamps the start time; entering a terminal status stamps the end time.
        With ``strict=False`` a move the table forbids leaves the run as it is (used when two
        parties race to end a run) instead of raising. ``if_fields`` makes the move conditional:
        when any of those fields no longer has that value (another process took the run over),
        the run is returned unchanged. ``fields`` (as for ``update_run``) are written in the same
        transaction when the move happens.
        """
        check_fields(fields)
        status = RunStatus(status)
        now = time.time()
        with self._write() as conn:
            # FOR UPDATE (PostgreSQL): a racing move waits and is judged against this one's result.
            row = conn.execute(
                _run_select().where(runs.c.id == run_id).with_for_update(of=runs)
            ).one_or_none()
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
            conn.execute(update(runs).where(runs.c.key == current.key).values(**values))
            return run_from_row(conn.execute(_run_select().where(runs.c.key == current.key)).one())

    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        """Set bookkeeping fields (pid, host, definition, error...) without touching the status."""
        check_fields(fields)
        with self._write() as conn:
            result = conn.execute(update(runs).where(runs.c.id == run_id).values(**fields))
            if result.rowcount == 0:
                raise RunNotFoundError(f"no run with id {run_id!r} in this workspace")
            return run_from_row(conn.execute(_run_select().where(runs.c.id == run_id)).one())

    def _merge_json(self, run_id: str, column: str, merge: Any) -> dict[str, Any]:
        with self._write() as conn:
            merged = _merge_json_in(conn, runs.c.id == run_id, column, merge)
            if merged is None:
                raise RunNotFoundError(f"no run with id {run_id!r} in this workspace")
            return merged


def _merge_json_in(conn: Any, where: Any, column: str, merge: Any) -> dict[str, Any] | None:
    """``merge`` the JSON ``column`` of the run ``where`` selects, its row locked, in the
    transaction of ``conn``; None when there is no such run."""
    current = conn.execute(
        select(runs.c[column]).where(where).with_for_update()
    ).scalar_one_or_none()
    if current is None:
        return None
    merged = merge(dict(current))
    conn.execute(update(runs).where(where).values({column: merged}))
    return merged


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
    parent_ids: Iterable[str] | None = None,
    top_level_only: bool = False,
    statuses: Iterable[RunStatus | str] | None = None,
    run_type: str | None = None,
    display_name: str | None = None,
    tag: str | None = None,
    tag_value: str | None = None,
    property_name: str | None = None,
    property_value: str | None = None,
    search: str | None = None,
):
    """Narrow a runs query: ``tag`` alone means "has the tag", with ``tag_value`` "equals";
    ``property_name`` with ``property_value``: the property equals that text;
    ``search`` matches a substring of the run's id or display name."""
    if experiment_name is not None:
        query = query.where(experiments.c.name == experiment_name)
    if parent_id is not None:
        query = query.where(_parent.c.id == parent_id)
    if parent_ids is not None:  # children of any of these runs
        query = query.where(_parent.c.id.in_(list(parent_ids)))
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
            from sqlalchemy.dialects.postgresql import JSONB

            query = query.where(cast(runs.c.tags, JSONB).has_key(tag))
        else:
            path = '$."' + tag.replace('"', '""') + '"'
            query = query.where(func.json_type(runs.c.tags, path).is_not(None))
    if property_name is not None:  # a property equal to a text value
        query = query.where(runs.c.properties[property_name].as_string() == property_value)
    if search:
        query = query.where(
            runs.c.id.contains(search, autoescape=True)
            | runs.c.display_name.contains(search, autoescape=True)
        )
    return query


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


def _run_select():  # type: ignore[no-untyped-def]
    return select(
        runs, experiments.c.name.label("experiment_name"), _parent.c.id.label("parent_id")
    ).select_from(
        runs.join(experiments, runs.c.experiment_key == experiments.c.key).join(
            _parent, runs.c.parent_key == _parent.c.key, isouter=True
        )
    )
