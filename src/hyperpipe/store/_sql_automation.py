"""Published pipelines, pipeline endpoints, schedules, their fires and scheduler daemons.

Mixed into ``SqlStore``, whose connection helpers (``_read``, ``_write``, ``_retry_on_conflict``)
it uses. Firing is exactly-once because every fire is a row unique per (schedule, fire key): a
scheduler claims a fire by inserting it, and a second scheduler's insert of the same key fails.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hyperpipe.exceptions import UserErrorException
from hyperpipe.store._records import (
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    ScheduleFireRecord,
    ScheduleRecord,
    SchedulerRecord,
)
from hyperpipe.store._schema import (
    pipeline_endpoint_versions,
    pipeline_endpoints,
    published_pipelines,
    schedule_fires,
    scheduler_daemons,
    schedules,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.engine import Connection, Row

    from hyperpipe.store._base import NewFire

__all__ = ["STATUSES", "AutomationQueries"]

STATUSES = ("Active", "Disabled")
FIRE_OUTCOMES = ("Claimed", "Submitted", "Failed", "Skipped")
_SCHEDULE_FIELDS = frozenset(
    {
        "name",
        "description",
        "status",
        "experiment_name",
        "trigger",
        "pipeline_parameters",
        "continue_on_step_failure",
        "not_before",
    }
)


def _check_status(status: str) -> str:
    if status not in STATUSES:
        raise UserErrorException(f"status must be 'Active' or 'Disabled', got {status!r}")
    return status


class AutomationQueries:
    """The automation half of ``SqlStore``: what starts pipelines without a person."""

    # -- published pipelines --------------------------------------------------------------------

    def publish_pipeline(
        self,
        *,
        pipeline_id: str,
        name: str,
        graph_id: str,
        definition: dict[str, Any],
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
        source_run_id: str | None = None,
    ) -> PublishedPipelineRecord:
        """Store a published pipeline (Active). Its definition is never changed afterwards."""
        with self._write() as conn:
            conn.execute(
                insert(published_pipelines).values(
                    id=pipeline_id,
                    name=name,
                    description=description,
                    version=version,
                    status="Active",
                    graph_id=graph_id,
                    definition=definition,
                    continue_on_step_failure=continue_on_step_failure,
                    source_run_id=source_run_id,
                    created_at=time.time(),
                )
            )
            return _published(_one(conn, published_pipelines, pipeline_id))

    def get_published_pipeline(self, pipeline_id: str) -> PublishedPipelineRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(published_pipelines).where(published_pipelines.c.id == pipeline_id)
            ).one_or_none()
        return None if row is None else _published(row)

    def list_published_pipelines(
        self, *, active_only: bool = True, name: str | None = None
    ) -> list[PublishedPipelineRecord]:
        """Published pipelines, newest first."""
        query = select(published_pipelines).order_by(published_pipelines.c.key.desc())
        if active_only:
            query = query.where(published_pipelines.c.status == "Active")
        if name is not None:
            query = query.where(published_pipelines.c.name == name)
        with self._read() as conn:
            return [_published(row) for row in conn.execute(query)]

    def set_published_pipeline_status(
        self, pipeline_id: str, status: str
    ) -> PublishedPipelineRecord:
        _check_status(status)
        with self._write() as conn:
            result = conn.execute(
                update(published_pipelines)
                .where(published_pipelines.c.id == pipeline_id)
                .values(status=status)
            )
            if result.rowcount == 0:
                raise _no_published(pipeline_id)
            return _published(_one(conn, published_pipelines, pipeline_id))

    # -- pipeline endpoints ---------------------------------------------------------------------

    def create_pipeline_endpoint(
        self, *, endpoint_id: str, name: str, pipeline_id: str, description: str | None = None
    ) -> PipelineEndpointRecord:
        """A new endpoint whose version "0" (the default) is ``pipeline_id``."""
        now = time.time()
        try:
            with self._write() as conn:
                _require_published(conn, pipeline_id)
                key = conn.execute(
                    insert(pipeline_endpoints)
                    .values(
                        id=endpoint_id,
                        name=name,
                        description=description,
                        status="Active",
                        default_version="0",
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(pipeline_endpoints.c.key)
                ).scalar_one()
                conn.execute(
                    insert(pipeline_endpoint_versions).values(
                        endpoint_key=key,
                        version="0",
                        number=0,
                        pipeline_id=pipeline_id,
                        created_at=now,
                    )
                )
                return _endpoint(conn, _one(conn, pipeline_endpoints, endpoint_id))
        except IntegrityError:
            raise UserErrorException(
                f"a pipeline endpoint named {name!r} already exists; choose another name, or add "
                "a version to it with PipelineEndpoint.get(ws, name=...).add(pipeline)"
            ) from None

    def get_pipeline_endpoint(
        self, *, endpoint_id: str | None = None, name: str | None = None
    ) -> PipelineEndpointRecord | None:
        if (endpoint_id is None) == (name is None):
            raise UserErrorException("give a pipeline endpoint's id or its name (one of them)")
        column = pipeline_endpoints.c.id if endpoint_id is not None else pipeline_endpoints.c.name
        with self._read() as conn:
            row = conn.execute(
                select(pipeline_endpoints).where(column == (endpoint_id or name))
            ).one_or_none()
            return None if row is None else _endpoint(conn, row)

    def list_pipeline_endpoints(self, *, active_only: bool = True) -> list[PipelineEndpointRecord]:
        """Endpoints by name."""
        query = select(pipeline_endpoints).order_by(pipeline_endpoints.c.name)
        if active_only:
            query = query.where(pipeline_endpoints.c.status == "Active")
        with self._read() as conn:
            rows = conn.execute(query).all()
            versions = _versions_of(conn, [row.key for row in rows])
        return [_endpoint_record(row, versions.get(row.key, ())) for row in rows]

    def add_pipeline_endpoint_version(
        self, endpoint_id: str, pipeline_id: str, *, make_default: bool = False
    ) -> PipelineEndpointRecord:
        """Add ``pipeline_id`` as the endpoint's next version ("1", "2", ...)."""

        def add() -> PipelineEndpointRecord:
            with self._write() as conn:
                _require_published(conn, pipeline_id)
                row = _endpoint_row(conn, endpoint_id)
                number = conn.execute(
                    select(func.max(pipeline_endpoint_versions.c.number)).where(
                        pipeline_endpoint_versions.c.endpoint_key == row.key
                    )
                ).scalar()
                version = str((number if number is not None else -1) + 1)
                now = time.time()
                conn.execute(
                    insert(pipeline_endpoint_versions).values(
                        endpoint_key=row.key,
                        version=version,
                        number=int(version),
                        pipeline_id=pipeline_id,
                        created_at=now,
                    )
                )
                values: dict[str, Any] = {"updated_at": now}
                if make_default:
                    values["default_version"] = version
                conn.execute(
                    update(pipeline_endpoints)
                    .where(pipeline_endpoints.c.key == row.key)
                    .values(**values)
                )
                return _endpoint(conn, _one(conn, pipeline_endpoints, endpoint_id))

        return self._retry_on_conflict(add)

    def update_pipeline_endpoint(
        self,
        endpoint_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        status: str | None = None,
        default_version: str | None = None,
    ) -> PipelineEndpointRecord:
        values: dict[str, Any] = {"updated_at": time.time()}
        if name is not None:
            values["name"] = name
        if description is not None:
            values["description"] = description
        if status is not None:
            values["status"] = _check_status(status)
        try:
            with self._write() as conn:
                row = _endpoint_row(conn, endpoint_id)
                if default_version is not None:
                    known = [v for v, _ in _versions_of(conn, [row.key]).get(row.key, ())]
                    if default_version not in known:
                        raise UserErrorException(
                            f"pipeline endpoint {row.name!r} has no version "
                            f"{default_version!r}; its versions: {', '.join(known)}. Add one "
                            "with add() or add_default()"
                        )
                    values["default_version"] = default_version
                conn.execute(
                    update(pipeline_endpoints)
                    .where(pipeline_endpoints.c.key == row.key)
                    .values(**values)
                )
                return _endpoint(conn, _one(conn, pipeline_endpoints, endpoint_id))
        except IntegrityError:
            raise UserErrorException(
                f"a pipeline endpoint named {name!r} already exists; choose another name"
            ) from None

    # -- schedules ------------------------------------------------------------------------------

    def create_schedule(
        self,
        *,
        schedule_id: str,
        name: str,
        experiment_name: str,
        trigger: dict[str, Any],
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        continue_on_step_failure: bool | None = None,
        not_before: float | None = None,
        state: dict[str, Any] | None = None,
    ) -> ScheduleRecord:
        """A new Active schedule. Due times before ``not_before`` (default: now) never fire."""
        if (pipeline_id is None) == (pipeline_endpoint_id is None):
            raise UserErrorException(
                "a schedule submits either a published pipeline or a pipeline endpoint (one)"
            )
        now = time.time()
        with self._write() as conn:
            conn.execute(
                insert(schedules).values(
                    id=schedule_id,
                    name=name,
                    description=description,
                    status="Active",
                    pipeline_id=pipeline_id,
                    pipeline_endpoint_id=pipeline_endpoint_id,
                    experiment_name=experiment_name,
                    trigger=trigger,
                    pipeline_parameters=pipeline_parameters or {},
                    continue_on_step_failure=continue_on_step_failure,
                    not_before=now if not_before is None else not_before,
                    state=state or {},
                    state_version=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            return _schedule(_one(conn, schedules, schedule_id))

    def get_schedule(self, schedule_id: str) -> ScheduleRecord | None:
        with self._read() as conn:
            row = conn.execute(select(schedules).where(schedules.c.id == schedule_id)).one_or_none()
        return None if row is None else _schedule(row)

    def list_schedules(
        self,
        *,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
    ) -> list[ScheduleRecord]:
        """Schedules, oldest first."""
        query = select(schedules).order_by(schedules.c.key)
        if active_only:
            query = query.where(schedules.c.status == "Active")
        if pipeline_id is not None:
            query = query.where(schedules.c.pipeline_id == pipeline_id)
        if pipeline_endpoint_id is not None:
            query = query.where(schedules.c.pipeline_endpoint_id == pipeline_endpoint_id)
        with self._read() as conn:
            return [_schedule(row) for row in conn.execute(query)]

    def schedules_version(self) -> tuple[int, int, float]:
        """Changes whenever a schedule is made or changed (not when it fires): a scheduler
        re-reads its schedules only then."""
        query = select(
            func.count(schedules.c.key),
            func.coalesce(func.max(schedules.c.key), 0),
            func.coalesce(func.max(schedules.c.updated_at), 0.0),
        )
        with self._read() as conn:
            count, key, updated = conn.execute(query).one()
        return int(count), int(key), float(updated)

    def update_schedule(self, schedule_id: str, **fields: Any) -> ScheduleRecord:
        """Change a schedule's settings (name, description, status, trigger, parameters...)."""
        unknown = set(fields) - _SCHEDULE_FIELDS
        if unknown:
            raise ValueError(f"cannot update schedule fields {sorted(unknown)}")
        if "status" in fields:
            _check_status(fields["status"])
        with self._write() as conn:
            result = conn.execute(
                update(schedules)
                .where(schedules.c.id == schedule_id)
                .values(**fields, updated_at=time.time())
            )
            if result.rowcount == 0:
                raise _no_schedule(schedule_id)
            return _schedule(_one(conn, schedules, schedule_id))

    def claim_schedule_fires(
        self,
        schedule_id: str,
        fires: Sequence[NewFire],
        *,
        claimed_by: str | None = None,
        state: dict[str, Any] | None = None,
        state_version: int | None = None,
    ) -> list[ScheduleFireRecord] | None:
        """Record ``fires`` all at once, or none of them.

        Returns None when another scheduler already recorded one of the same fire keys, or (with
        ``state``) when the schedule's state is no longer at ``state_version``: then that
        scheduler acts on it, not this one. With ``state`` the schedule's state is replaced in the
        same transaction and its version goes up by one.
        """
        now = time.time()
        try:
            with self._write() as conn:
                key = conn.execute(
                    select(schedules.c.key).where(schedules.c.id == schedule_id)
                ).scalar_one_or_none()
                if key is None:
                    raise _no_schedule(schedule_id)
                if state is not None:
                    moved = conn.execute(
                        update(schedules)
                        .where(schedules.c.key == key, schedules.c.state_version == state_version)
                        .values(state=state, state_version=schedules.c.state_version + 1)
                    )
                    if moved.rowcount == 0:
                        raise _Moved  # rolls the transaction back
                for fire in fires:
                    if fire.outcome not in FIRE_OUTCOMES:
                        raise ValueError(f"unknown fire outcome {fire.outcome!r}")
                    conn.execute(
                        insert(schedule_fires).values(
                            schedule_key=key,
                            fire_key=fire.fire_key,
                            due_at=fire.due_at,
                            outcome=fire.outcome,
                            claimed_at=now,
                            claimed_by=claimed_by,
                            reason=fire.reason,
                            details=fire.details or {},
                            ended_at=None if fire.outcome == "Claimed" else now,
                        )
                    )
                rows = conn.execute(
                    _fire_select().where(
                        schedule_fires.c.schedule_key == key,
                        schedule_fires.c.fire_key.in_([f.fire_key for f in fires]),
                    )
                ).all()
        except (IntegrityError, _Moved):
            return None
        order = {f.fire_key: i for i, f in enumerate(fires)}
        return sorted((_fire(row) for row in rows), key=lambda r: order[r.fire_key])

    def finish_schedule_fire(
        self,
        fire_key: int,
        *,
        outcome: str,
        run_id: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> ScheduleFireRecord:
        """Say what came of a claimed fire (by the record's ``key``)."""
        if outcome not in FIRE_OUTCOMES:
            raise ValueError(f"unknown fire outcome {outcome!r}")
        values: dict[str, Any] = {
            "outcome": outcome,
            "run_id": run_id,
            "reason": reason,
            "ended_at": time.time(),
        }
        if details is not None:
            values["details"] = details
        with self._write() as conn:
            conn.execute(
                update(schedule_fires).where(schedule_fires.c.key == fire_key).values(values)
            )
            row = conn.execute(_fire_select().where(schedule_fires.c.key == fire_key)).one_or_none()
        if row is None:
            raise UserErrorException(f"no schedule fire with key {fire_key}")
        return _fire(row)

    def list_schedule_fires(
        self,
        schedule_id: str,
        *,
        limit: int | None = None,
        outcomes: Iterable[str] | None = None,
    ) -> list[ScheduleFireRecord]:
        """A schedule's fires, the latest due time first."""
        query = (
            _fire_select()
            .where(schedules.c.id == schedule_id)
            .order_by(schedule_fires.c.due_at.desc(), schedule_fires.c.key.desc())
        )
        if outcomes is not None:
            query = query.where(schedule_fires.c.outcome.in_(list(outcomes)))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [_fire(row) for row in conn.execute(query)]

    def last_due_times(self, schedule_ids: Sequence[str]) -> dict[str, float]:
        """The latest due time recorded for each schedule that has fires (one query)."""
        if not schedule_ids:
            return {}
        query = (
            select(schedules.c.id, func.max(schedule_fires.c.due_at))
            .select_from(
                schedule_fires.join(schedules, schedule_fires.c.schedule_key == schedules.c.key)
            )
            .where(schedules.c.id.in_(list(schedule_ids)))
            .group_by(schedules.c.id)
        )
        with self._read() as conn:
            return {row[0]: float(row[1]) for row in conn.execute(query)}

    # -- scheduler daemons ----------------------------------------------------------------------

    def register_scheduler(
        self,
        *,
        scheduler_id: str,
        host: str,
        pid: int | None = None,
        pid_started_at: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> SchedulerRecord:
        now = time.time()
        with self._write() as conn:
            conn.execute(
                insert(scheduler_daemons).values(
                    id=scheduler_id,
                    host=host,
                    pid=pid,
                    pid_started_at=pid_started_at,
                    started_at=now,
                    heartbeat_at=now,
                    details=details or {},
                )
            )
            return _scheduler(_one(conn, scheduler_daemons, scheduler_id))

    def update_scheduler(
        self,
        scheduler_id: str,
        *,
        heartbeat: bool = False,
        stopped: bool = False,
        pid: int | None = None,
        pid_started_at: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> SchedulerRecord:
        now = time.time()
        values: dict[str, Any] = {}
        if heartbeat:
            values["heartbeat_at"] = now
        if stopped:
            values["stopped_at"] = now
        if pid is not None:
            values["pid"] = pid
            values["pid_started_at"] = pid_started_at
        if details is not None:
            values["details"] = details
        with self._write() as conn:
            if values:
                result = conn.execute(
                    update(scheduler_daemons)
                    .where(scheduler_daemons.c.id == scheduler_id)
                    .values(**values)
                )
                if result.rowcount == 0:
                    raise _no_scheduler(scheduler_id)
            row = conn.execute(
                select(scheduler_daemons).where(scheduler_daemons.c.id == scheduler_id)
            ).one_or_none()
        if row is None:
            raise _no_scheduler(scheduler_id)
        return _scheduler(row)

    def get_scheduler(self, scheduler_id: str) -> SchedulerRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(scheduler_daemons).where(scheduler_daemons.c.id == scheduler_id)
            ).one_or_none()
        return None if row is None else _scheduler(row)

    def list_schedulers(self, *, running_only: bool = False) -> list[SchedulerRecord]:
        """Scheduler daemons, newest first; ``running_only``: those never marked stopped."""
        query = select(scheduler_daemons).order_by(scheduler_daemons.c.key.desc())
        if running_only:
            query = query.where(scheduler_daemons.c.stopped_at.is_(None))
        with self._read() as conn:
            return [_scheduler(row) for row in conn.execute(query)]


# -- helpers ------------------------------------------------------------------------------------


class _Moved(Exception):
    """Another scheduler changed a schedule's state first."""


def _one(conn: Connection, table: Any, row_id: str) -> Row:
    return conn.execute(select(table).where(table.c.id == row_id)).one()


def _no_published(pipeline_id: str) -> UserErrorException:
    return UserErrorException(
        f"no published pipeline with id {pipeline_id!r} in this workspace; list them with "
        "`hyperpipe published list --all` or PublishedPipeline.list(ws, active_only=False)"
    )


def _no_schedule(schedule_id: str) -> UserErrorException:
    return UserErrorException(
        f"no schedule with id {schedule_id!r} in this workspace; list them with "
        "`hyperpipe schedules list --all`"
    )


def _no_scheduler(scheduler_id: str) -> UserErrorException:
    return UserErrorException(
        f"no scheduler daemon with id {scheduler_id!r}; list them with `hyperpipe scheduler status`"
    )


def _require_published(conn: Connection, pipeline_id: str) -> None:
    found = conn.execute(
        select(published_pipelines.c.key).where(published_pipelines.c.id == pipeline_id)
    ).scalar_one_or_none()
    if found is None:
        raise _no_published(pipeline_id)


def _endpoint_row(conn: Connection, endpoint_id: str) -> Row:
    row = conn.execute(
        select(pipeline_endpoints).where(pipeline_endpoints.c.id == endpoint_id)
    ).one_or_none()
    if row is None:
        raise UserErrorException(
            f"no pipeline endpoint with id {endpoint_id!r} in this workspace; list them with "
            "`hyperpipe endpoints list --all`"
        )
    return row


def _versions_of(conn: Connection, keys: Sequence[int]) -> dict[int, tuple[tuple[str, str], ...]]:
    if not keys:
        return {}
    rows = conn.execute(
        select(pipeline_endpoint_versions)
        .where(pipeline_endpoint_versions.c.endpoint_key.in_(list(keys)))
        .order_by(pipeline_endpoint_versions.c.endpoint_key, pipeline_endpoint_versions.c.number)
    ).all()
    found: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        found.setdefault(row.endpoint_key, []).append((row.version, row.pipeline_id))
    return {key: tuple(pairs) for key, pairs in found.items()}


def _endpoint(conn: Connection, row: Row) -> PipelineEndpointRecord:
    return _endpoint_record(row, _versions_of(conn, [row.key]).get(row.key, ()))


def _endpoint_record(row: Row, versions: tuple[tuple[str, str], ...]) -> PipelineEndpointRecord:
    return PipelineEndpointRecord(
        key=row.key,
        id=row.id,
        name=row.name,
        status=row.status,
        default_version=row.default_version,
        versions=versions,
        created_at=row.created_at,
        updated_at=row.updated_at,
        description=row.description,
    )


def _published(row: Row) -> PublishedPipelineRecord:
    return PublishedPipelineRecord(
        key=row.key,
        id=row.id,
        name=row.name,
        status=row.status,
        graph_id=row.graph_id,
        definition=row.definition or {},
        created_at=row.created_at,
        description=row.description,
        version=row.version,
        continue_on_step_failure=row.continue_on_step_failure,
        source_run_id=row.source_run_id,
    )


def _schedule(row: Row) -> ScheduleRecord:
    return ScheduleRecord(
        key=row.key,
        id=row.id,
        name=row.name,
        status=row.status,
        experiment_name=row.experiment_name,
        trigger=row.trigger or {},
        pipeline_parameters=row.pipeline_parameters or {},
        not_before=row.not_before,
        state=row.state or {},
        state_version=row.state_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        description=row.description,
        pipeline_id=row.pipeline_id,
        pipeline_endpoint_id=row.pipeline_endpoint_id,
        continue_on_step_failure=row.continue_on_step_failure,
    )


_FIRES_JOIN = schedule_fires.join(schedules, schedule_fires.c.schedule_key == schedules.c.key)


def _fire_select():  # type: ignore[no-untyped-def]
    return select(schedule_fires, schedules.c.id.label("schedule_id")).select_from(_FIRES_JOIN)


def _fire(row: Row) -> ScheduleFireRecord:
    return ScheduleFireRecord(
        key=row.key,
        schedule_id=row.schedule_id,
        fire_key=row.fire_key,
        due_at=row.due_at,
        outcome=row.outcome,
        claimed_at=row.claimed_at,
        claimed_by=row.claimed_by,
        run_id=row.run_id,
        reason=row.reason,
        details=row.details or {},
        ended_at=row.ended_at,
    )


def _scheduler(row: Row) -> SchedulerRecord:
    return SchedulerRecord(
        id=row.id,
        host=row.host,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        pid=row.pid,
        pid_started_at=row.pid_started_at,
        stopped_at=row.stopped_at,
        details=row.details or {},
    )
