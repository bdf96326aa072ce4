"""The store contract: what every metadata store offers, whatever database is behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime, timedelta

    from hyperpipe.store._records import (
        ArtifactRecord,
        DataDriftRecord,
        DataDriftRetrainRecord,
        DatasetRecord,
        EnvironmentRecord,
        ExperimentRecord,
        MetricBucket,
        MetricSeries,
        ModelRecord,
        PipelineEndpointRecord,
        PublishedPipelineRecord,
        RunRecord,
        ScheduleFireRecord,
        ScheduleRecord,
        SchedulerRecord,
        SeriesSummary,
    )
    from hyperpipe.store._status import RunStatus

__all__ = ["NewFire", "NewPoint", "Store"]


class NewPoint(NamedTuple):
    """A metric value on its way into the store."""

    name: str
    kind: str
    value: float | None
    payload: Any
    ts: float
    step: int | None = None
    description: str = ""


class NewFire(NamedTuple):
    """A schedule fire on its way into the store: ``Claimed`` (to be submitted by whoever
    recorded it) or ``Skipped`` (with its ``reason``)."""

    fire_key: str
    due_at: float
    outcome: str = "Claimed"
    reason: str | None = None
    details: dict[str, Any] | None = None


@runtime_checkable
class Store(Protocol):
    """Persistence for experiments, runs, metrics, artifacts and models.

    Implementations are safe to use from several threads and processes at once, return frozen
    records that callers never mutate, and pickle as their URL. Status changes follow the one
    transition table in ``_status``.
    """

    url: str

    def get_or_create_experiment(self, name: str) -> ExperimentRecord: ...
    def get_experiment(self, name: str) -> ExperimentRecord | None: ...
    def list_experiments(self) -> list[ExperimentRecord]: ...

    def create_run(
        self, *, experiment_name: str, run_id: str, run_type: str, **fields: Any
    ) -> RunRecord: ...
    def find_run(self, run_id: str) -> RunRecord | None: ...
    def get_run(self, run_id: str) -> RunRecord: ...
    def list_runs(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = True,
        order: str | None = None,
        **filters: Any,
    ) -> list[RunRecord]: ...
    def count_runs(self, **filters: Any) -> int: ...
    def experiment_stats(self) -> dict[str, tuple[int, float | None]]: ...
    def run_positions(self, run_keys: Iterable[int]) -> dict[int, int]: ...
    def runs_with_dataset(
        self, dataset_id: str, limit: int = 100
    ) -> list[tuple[RunRecord, str]]: ...
    def find_reusable(self, reuse_key: str, statuses: Iterable[RunStatus]) -> RunRecord | None: ...
    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: dict[str, Any] | None = None,
        strict: bool = True,
        if_fields: dict[str, Any] | None = None,
        **fields: Any,
    ) -> RunRecord: ...
    def update_run(self, run_id: str, **fields: Any) -> RunRecord: ...
    def set_tags(self, run_id: str, tags: dict[str, Any]) -> dict[str, Any]: ...
    def remove_tags(self, run_id: str, keys: Iterable[str]) -> dict[str, Any]: ...
    def add_properties(self, run_id: str, properties: dict[str, Any]) -> dict[str, Any]: ...

    def log_metrics(
        self,
        run_key: int,
        points: Sequence[NewPoint],
        *,
        writer: str | None = None,
        last_seq: int | None = None,
        require_active: bool = False,
    ) -> None: ...
    def writer_checkpoint(self, run_key: int, writer: str) -> int | None: ...
    def get_metrics(
        self, run_keys: Sequence[int], names: Sequence[str] | None = None
    ) -> dict[int, list[MetricSeries]]: ...

    def metric_summaries(self, run_key: int) -> list[SeriesSummary]: ...
    def metric_buckets(self, run_key: int, name: str, buckets: int) -> list[MetricBucket]: ...
    def latest_metrics(self, run_keys: Sequence[int]) -> dict[int, dict[str, Any]]: ...
    def metric_rows(
        self, run_key: int, name: str
    ) -> list[tuple[int | None, float | None, str | None]]: ...
    def metric_times(self, run_key: int, name: str) -> list[float]: ...

    def add_artifacts(self, run_key: int, files: Iterable[tuple[str, int]]) -> None: ...
    def list_artifacts(self, run_key: int, prefix: str | None = None) -> list[ArtifactRecord]: ...

    def register_model(
        self, name: str, *, datastore: str, path: str, **fields: Any
    ) -> ModelRecord: ...
    def get_model(self, name: str, version: int | None = None) -> ModelRecord | None: ...
    def list_models(
        self, name: str | None = None, run_id: str | None = None, latest: bool = False
    ) -> list[ModelRecord]: ...
    def update_model(self, name: str, version: int, **fields: Any) -> ModelRecord: ...

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
    ) -> DatasetRecord: ...
    def get_dataset(self, name: str, version: int | None = None) -> DatasetRecord | None: ...
    def get_dataset_by_id(self, dataset_id: str) -> DatasetRecord | None: ...
    def list_datasets(
        self, name: str | None = None, latest: bool = False
    ) -> list[DatasetRecord]: ...
    def dataset_files(self, key: int) -> list[tuple[str | None, str, int, str, float | None]]: ...

    def register_environment(self, name: str, definition: dict[str, Any]) -> EnvironmentRecord: ...
    def get_environment(
        self, name: str, version: int | None = None
    ) -> EnvironmentRecord | None: ...
    def list_environments(
        self, name: str | None = None, latest: bool = False
    ) -> list[EnvironmentRecord]: ...

    # Data drift monitors: versioned definitions, the newest is the monitor.
    def save_datadrift(self, name: str, definition: dict[str, Any]) -> DataDriftRecord: ...
    def get_datadrift(self, name: str) -> DataDriftRecord | None: ...
    def list_datadrifts(self) -> list[DataDriftRecord]: ...
    # A retrain is claimed atomically: of two checks racing, one gets the record, one None.
    def claim_datadrift_retrain(
        self,
        name: str,
        *,
        window_start: datetime,
        window_end: datetime,
        cool_down: timedelta,
        check_run_id: str,
    ) -> DataDriftRetrainRecord | None: ...
    def finish_datadrift_retrain(
        self, key: int, *, retrain_run_id: str | None
    ) -> DataDriftRetrainRecord | None: ...
    def list_datadrift_retrains(self, name: str) -> list[DataDriftRetrainRecord]: ...

    # What starts pipelines without a person. Firing is exactly-once: a fire is claimed by
    # recording it, and (schedule, fire key) is unique.
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
    ) -> PublishedPipelineRecord: ...
    def get_published_pipeline(self, pipeline_id: str) -> PublishedPipelineRecord | None: ...
    def list_published_pipelines(
        self, *, active_only: bool = True, name: str | None = None
    ) -> list[PublishedPipelineRecord]: ...
    def set_published_pipeline_status(
        self, pipeline_id: str, status: str
    ) -> PublishedPipelineRecord: ...

    def create_pipeline_endpoint(
        self, *, endpoint_id: str, name: str, pipeline_id: str, description: str | None = None
    ) -> PipelineEndpointRecord: ...
    def get_pipeline_endpoint(
        self, *, endpoint_id: str | None = None, name: str | None = None
    ) -> PipelineEndpointRecord | None: ...
    def list_pipeline_endpoints(
        self, *, active_only: bool = True
    ) -> list[PipelineEndpointRecord]: ...
    def add_pipeline_endpoint_version(
        self, endpoint_id: str, pipeline_id: str, *, make_default: bool = False
    ) -> PipelineEndpointRecord: ...
    def update_pipeline_endpoint(
        self,
        endpoint_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        status: str | None = None,
        default_version: str | None = None,
    ) -> PipelineEndpointRecord: ...

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
    ) -> ScheduleRecord: ...
    def get_schedule(self, schedule_id: str) -> ScheduleRecord | None: ...
    def list_schedules(
        self,
        *,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
    ) -> list[ScheduleRecord]: ...
    def schedules_version(self) -> tuple[int, int, float]: ...
    def update_schedule(self, schedule_id: str, **fields: Any) -> ScheduleRecord: ...
    def claim_schedule_fires(
        self,
        schedule_id: str,
        fires: Sequence[NewFire],
        *,
        claimed_by: str | None = None,
        state: dict[str, Any] | None = None,
        state_version: int | None = None,
    ) -> list[ScheduleFireRecord] | None: ...
    def finish_schedule_fire(
        self,
        fire_key: int,
        *,
        outcome: str,
        run_id: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> ScheduleFireRecord: ...
    def list_schedule_fires(
        self,
        schedule_id: str,
        *,
        limit: int | None = None,
        outcomes: Iterable[str] | None = None,
    ) -> list[ScheduleFireRecord]: ...
    def last_due_times(self, schedule_ids: Sequence[str]) -> dict[str, float]: ...

    def register_scheduler(
        self,
        *,
        scheduler_id: str,
        host: str,
        pid: int | None = None,
        pid_started_at: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> SchedulerRecord: ...
    def update_scheduler(
        self,
        scheduler_id: str,
        *,
        heartbeat: bool = False,
        stopped: bool = False,
        pid: int | None = None,
        pid_started_at: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> SchedulerRecord: ...
    def get_scheduler(self, scheduler_id: str) -> SchedulerRecord | None: ...
    def list_schedulers(self, *, running_only: bool = False) -> list[SchedulerRecord]: ...

    def close(self) -> None: ...
    def release_for_fork(self) -> bool: ...
