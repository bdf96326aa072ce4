"""The portal's read model for what starts pipelines without a person: published pipelines,
endpoints (versions, default), schedules (next due time, fires and their runs, skipped times
with reasons) and the scheduler daemons."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from hyperpipe.pipeline._daemon import daemon_alive
from hyperpipe.pipeline.core import PipelineEndpoint, PipelineRun, PublishedPipeline, Schedule
from hyperpipe.pipeline.core._published import ENDPOINT_SUBMIT_ROUTE, SUBMIT_ROUTE
from hyperpipe.pipeline.core.schedule import next_due_of
from hyperpipe.portal._automation_schemas import (
    EndpointInfo,
    EndpointVersion,
    FireInfo,
    ParameterInfo,
    PublishedDetail,
    PublishedInfo,
    ScheduleDetail,
    ScheduleInfo,
    SchedulerInfo,
)
from hyperpipe.portal._views import NotFound

if TYPE_CHECKING:
    from hyperpipe.core import Workspace
    from hyperpipe.store import ScheduleFireRecord, ScheduleRecord

__all__ = ["AutomationViews"]

MAX_FIRES = 200
MAX_RUNS = 20


class AutomationViews:
    """Read-only views over one workspace's published pipelines, endpoints and schedules."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def store(self) -> Any:
        return self.workspace._store

    # -- published pipelines --------------------------------------------------------------------

    def published_list(self, base: str | None = None) -> list[PublishedInfo]:
        """``base``: the portal's address as the client reached it (REST URLs start there)."""
        records = self.store.list_published_pipelines(active_only=False)
        return [self._published(PublishedPipeline(self.workspace, r), base) for r in records]

    def published(self, pipeline_id: str, base: str | None = None) -> PublishedDetail:
        record = self.store.get_published_pipeline(pipeline_id)
        if record is None:
            raise NotFound(f"no published pipeline with id {pipeline_id!r} in this workspace")
        pipeline = PublishedPipeline(self.workspace, record)
        runs = PipelineRun.get_pipeline_runs(self.workspace, pipeline.id)[:MAX_RUNS]
        return PublishedDetail(
            **self._published(pipeline, base).model_dump(),
            steps=pipeline.get_step_names(),
            continue_on_step_failure=pipeline.continue_on_step_failure,
            source_run_id=record.source_run_id,
            schedules=[
                self._schedule(s)
                for s in self.store.list_schedules(active_only=False, pipeline_id=pipeline.id)
            ],
            runs=[r.id for r in runs],
        )

    def _published(self, pipeline: PublishedPipeline, base: str | None) -> PublishedInfo:
        record = pipeline._record
        return PublishedInfo(
            id=pipeline.id,
            name=pipeline.name,
            description=pipeline.description,
            version=pipeline.version,
            status=pipeline.status,
            graph_id=pipeline.graph_id,
            created_at=record.created_at,
            step_count=pipeline.total_run_steps,
            parameters=[
                ParameterInfo(name=name, type=d["type"], default=d["default"])
                for name, d in record.definition["parameters"].items()
            ],
            endpoint=_at(base, SUBMIT_ROUTE, pipeline.id) or pipeline.endpoint,
        )

    # -- endpoints ------------------------------------------------------------------------------

    def endpoints(self, base: str | None = None) -> list[EndpointInfo]:
        records = self.store.list_pipeline_endpoints(active_only=False)
        return [self._endpoint(PipelineEndpoint(self.workspace, r), base) for r in records]

    def endpoint(self, endpoint_id: str, base: str | None = None) -> EndpointInfo:
        record = self.store.get_pipeline_endpoint(endpoint_id=endpoint_id)
        if record is None:
            raise NotFound(f"no pipeline endpoint with id {endpoint_id!r} in this workspace")
        return self._endpoint(PipelineEndpoint(self.workspace, record), base)

    def _endpoint(self, endpoint: PipelineEndpoint, base: str | None) -> EndpointInfo:
        versions = []
        for version, pipeline_id in endpoint._record.versions:
            record = self.store.get_published_pipeline(pipeline_id)
            versions.append(
                EndpointVersion(
                    version=version,
                    pipeline_id=pipeline_id,
                    pipeline_name=record.name if record else "?",
                    pipeline_status=record.status if record else "?",
                    default=version == endpoint.default_version,
                )
            )
        return EndpointInfo(
            id=endpoint.id,
            name=endpoint.name,
            description=endpoint.description,
            status=endpoint.status,
            default_version=endpoint.default_version,
            versions=versions,
            endpoint=_at(base, ENDPOINT_SUBMIT_ROUTE, endpoint.id) or endpoint.endpoint,
            updated_at=endpoint._record.updated_at,
        )

    # -- schedules ------------------------------------------------------------------------------

    def schedules(self) -> list[ScheduleInfo]:
        return [self._schedule(r) for r in self.store.list_schedules(active_only=False)]

    def schedule(self, schedule_id: str) -> ScheduleDetail:
        record = self.store.get_schedule(schedule_id)
        if record is None:
            raise NotFound(f"no schedule with id {schedule_id!r} in this workspace")
        fires = self.store.list_schedule_fires(record.id, limit=MAX_FIRES)
        statuses = self._run_statuses([f.run_id for f in fires if f.run_id])
        return ScheduleDetail(
            **self._schedule(record, fires[:1]).model_dump(),
            parameters=record.pipeline_parameters,
            fires=[_fire(f, statuses.get(f.run_id or "")) for f in fires],
            skipped_count=len(self.store.list_schedule_fires(record.id, outcomes=["Skipped"])),
        )

    def _schedule(
        self, record: ScheduleRecord, last: list[ScheduleFireRecord] | None = None
    ) -> ScheduleInfo:
        if last is None:
            last = self.store.list_schedule_fires(record.id, limit=1)
        schedule = Schedule(self.workspace, record)
        due = None
        if record.status == "Active" and "recurrence" in record.trigger:
            due = next_due_of(self.workspace, record, time.time())
        return ScheduleInfo(
            id=record.id,
            name=record.name,
            description=record.description,
            status=record.status,
            pipeline_id=record.pipeline_id,
            pipeline_endpoint_id=record.pipeline_endpoint_id,
            experiment_name=record.experiment_name,
            trigger=_trigger_text(schedule),
            next_due_at=due,
            last_fire=_fire(last[0]) if last else None,
        )

    def schedulers(self) -> list[SchedulerInfo]:
        return [
            SchedulerInfo(
                id=r.id,
                host=r.host,
                pid=r.pid,
                alive=daemon_alive(r) if r.stopped_at is None else False,
                started_at=r.started_at,
                heartbeat_at=r.heartbeat_at,
                stopped_at=r.stopped_at,
            )
            for r in self.store.list_schedulers()[:20]
        ]

    def _run_statuses(self, run_ids: list[str]) -> dict[str, str]:
        statuses = {}
        for run_id in run_ids[:MAX_FIRES]:
            record = self.store.find_run(run_id)
            if record is not None:
                statuses[run_id] = record.status.value
        return statuses


def _at(base: str | None, route: str, item_id: str) -> str | None:
    return f"{base.rstrip('/')}{route}{item_id}" if base else None


def _fire(fire: ScheduleFireRecord, run_status: str | None = None) -> FireInfo:
    return FireInfo(
        fire_key=fire.fire_key,
        due_at=fire.due_at,
        outcome=fire.outcome,
        claimed_at=fire.claimed_at,
        claimed_by=fire.claimed_by,
        run_id=fire.run_id,
        run_status=run_status,
        reason=fire.reason,
        details=fire.details,
    )


def _trigger_text(schedule: Schedule) -> str:
    recurrence = schedule.recurrence
    if recurrence is not None:
        text = f"every {recurrence.interval} {recurrence.frequency}"
        if recurrence.interval != 1:
            text += "s"
        extras = [
            f"{name.replace('_', ' ')} {getattr(value, 'value', value)}"
            for name in ("start_time", "time_zone", "hours", "minutes", "week_days", "time_of_day")
            if (value := getattr(recurrence, name)) is not None
        ]
        return text + (f" ({', '.join(str(e) for e in extras)})" if extras else "")
    path = schedule.path_on_datastore or ""
    return (
        f"new or changed files in {schedule.datastore_name}/{path}, checked every "
        f"{schedule.polling_interval} min"
    )
