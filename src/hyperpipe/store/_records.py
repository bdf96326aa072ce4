"""Immutable records the store hands out. Nothing outside ``store/`` sees a SQL row."""

from __future__ import annotations

from typing import Any

from hyperpipe._record import Record, field
from hyperpipe.store._status import RunStatus

__all__ = [
    "ArtifactRecord",
    "DatasetRecord",
    "EnvironmentRecord",
    "ExperimentRecord",
    "MetricBucket",
    "MetricPoint",
    "MetricSeries",
    "ModelRecord",
    "PipelineEndpointRecord",
    "PublishedPipelineRecord",
    "RunRecord",
    "ScheduleFireRecord",
    "ScheduleRecord",
    "SchedulerRecord",
    "SeriesSummary",
]


class ExperimentRecord(Record):
    key: int
    name: str
    created_at: float
    archived: bool = False


class RunRecord(Record):
    """One run as stored. ``definition`` is what was submitted (script, arguments, target...)."""

    key: int
    id: str
    experiment_name: str
    number: int
    run_type: str
    status: RunStatus
    created_at: float
    parent_id: str | None = None
    display_name: str | None = None
    target: str | None = None
    definition: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    ended_at: float | None = None
    host: str | None = None
    pid: int | None = None
    pid_started_at: float | None = None
    reuse_key: str | None = None
    heartbeat_at: float | None = None


class MetricPoint(Record):
    """One logged value: a number in ``value`` or anything JSON in ``payload``."""

    value: float | None
    payload: Any
    ts: float
    step: int | None = None

    @property
    def data(self) -> Any:
        return self.payload if self.payload is not None else self.value


class MetricSeries(Record):
    """Every value logged under one name in one run, in logging order."""

    name: str
    kind: str
    description: str
    points: tuple[MetricPoint, ...]


class SeriesSummary(Record):
    """A metric series without its points: how many there are and the last value."""

    name: str
    kind: str
    description: str
    count: int
    last: Any


class MetricBucket(Record):
    """A stretch of consecutive points of one series: its ends, extremes and size.

    ``first`` and ``last`` are ``(step, value)``; ``steps`` counts the points that have a step.
    ``low``/``high`` are over the numeric values (None when the stretch has none).
    """

    count: int
    steps: int
    first: tuple[int | None, Any]
    last: tuple[int | None, Any]
    low: float | None
    high: float | None


class ArtifactRecord(Record):
    path: str
    size: int
    created_at: float


class ModelRecord(Record):
    name: str
    version: int
    datastore: str
    path: str
    created_at: float
    run_id: str | None = None
    experiment_name: str | None = None
    description: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}:{self.version}"


class DatasetRecord(Record):
    """A dataset version. ``name``/``version`` are None for anonymous (unregistered) datasets."""

    key: int
    id: str
    name: str | None
    version: int | None
    kind: str
    definition: dict[str, Any]
    content_hash: str
    file_count: int
    total_size: int
    created_at: float
    description: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)


class EnvironmentRecord(Record):
    """A registered environment version; ``definition`` is the environment as JSON."""

    name: str
    version: int
    definition: dict[str, Any]
    created_at: float


class DataDriftRecord(Record):
    """A data drift monitor's definition at one version (the newest version is the monitor)."""

    name: str
    version: int
    definition: dict[str, Any]
    created_at: float


class DataDriftRetrainRecord(Record):
    """A retrain a drift monitor's check claimed (and, once submitted, the run it started)."""

    key: int
    name: str
    window_start: str
    window_end: str
    check_run_id: str
    retrain_run_id: str | None
    claimed_at: float


class PublishedPipelineRecord(Record):
    """A published pipeline. ``definition`` (step specs, parameters) never changes; ``status``
    is ``Active`` or ``Disabled``."""

    key: int
    id: str
    name: str
    status: str
    graph_id: str
    definition: dict[str, Any]
    created_at: float
    description: str | None = None
    version: str | None = None
    continue_on_step_failure: bool | None = None
    source_run_id: str | None = None


class PipelineEndpointRecord(Record):
    """A pipeline endpoint: ``versions`` are ``(version, published pipeline id)`` pairs in
    version order."""

    key: int
    id: str
    name: str
    status: str
    default_version: str
    versions: tuple[tuple[str, str], ...]
    created_at: float
    updated_at: float
    description: str | None = None

    def pipeline_id_of(self, version: str) -> str | None:
        return dict(self.versions).get(version)


class ScheduleRecord(Record):
    """A schedule: what it submits (a published pipeline or an endpoint's default version),
    where, and its trigger (``{"recurrence": {...}}`` or ``{"datastore": {...}}``)."""

    key: int
    id: str
    name: str
    status: str
    experiment_name: str
    trigger: dict[str, Any]
    pipeline_parameters: dict[str, Any]
    not_before: float
    state: dict[str, Any]
    state_version: int
    created_at: float
    updated_at: float
    description: str | None = None
    pipeline_id: str | None = None
    pipeline_endpoint_id: str | None = None
    continue_on_step_failure: bool | None = None


class ScheduleFireRecord(Record):
    """One fire of a schedule: a due time or a data change, and what came of it.

    ``outcome`` is ``Claimed`` (a scheduler is submitting it), ``Submitted`` (``run_id`` says
    which run), ``Failed`` or ``Skipped`` (``reason`` says why).
    """

    key: int
    schedule_id: str
    fire_key: str
    due_at: float
    outcome: str
    claimed_at: float
    claimed_by: str | None = None
    run_id: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    ended_at: float | None = None


class SchedulerRecord(Record):
    """A scheduler daemon: which process it is, and when it last looked for due fires."""

    id: str
    host: str
    started_at: float
    heartbeat_at: float
    pid: int | None = None
    pid_started_at: float | None = None
    stopped_at: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
