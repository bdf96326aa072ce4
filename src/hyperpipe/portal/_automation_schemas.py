"""What the API answers about published pipelines, endpoints and schedules, and the REST
submission routes' request and answer (SDK v1's field names), all in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DataPathAssignment",
    "EndpointInfo",
    "EndpointVersion",
    "FireInfo",
    "ParameterInfo",
    "PipelineRunSubmitted",
    "PublishedDetail",
    "PublishedInfo",
    "ScheduleDetail",
    "ScheduleInfo",
    "SchedulerInfo",
    "SubmitEndpointRequest",
    "SubmitRequest",
    "SubmitStatus",
]


class ParameterInfo(BaseModel):
    name: str
    type: str = Field(description="int, float, bool, string, datapath or dataset.")
    default: Any


class PublishedInfo(BaseModel):
    id: str
    name: str
    description: str | None
    version: str | None
    status: str = Field(description="Active or Disabled.")
    graph_id: str
    created_at: float
    step_count: int
    parameters: list[ParameterInfo]
    endpoint: str = Field(description="POST here to submit it (REST, SDK v1's request body).")


class FireInfo(BaseModel):
    fire_key: str
    due_at: float
    outcome: str = Field(description="Claimed, Submitted, Failed or Skipped.")
    claimed_at: float
    claimed_by: str | None
    run_id: str | None
    run_status: str | None = None
    reason: str | None = Field(description="Why it failed or was skipped.")
    details: dict[str, Any]


class ScheduleInfo(BaseModel):
    id: str
    name: str
    description: str | None
    status: str
    pipeline_id: str | None
    pipeline_endpoint_id: str | None
    experiment_name: str
    trigger: str = Field(description="The recurrence or datastore change it fires on, in words.")
    next_due_at: float | None = Field(description="UNIX time of the next due time (recurrences).")
    last_fire: FireInfo | None


class PublishedDetail(PublishedInfo):
    steps: list[str]
    continue_on_step_failure: bool
    source_run_id: str | None
    schedules: list[ScheduleInfo]
    runs: list[str] = Field(description="Ids of its latest pipeline runs, newest first.")


class EndpointVersion(BaseModel):
    version: str
    pipeline_id: str
    pipeline_name: str
    pipeline_status: str
    default: bool


class EndpointInfo(BaseModel):
    id: str
    name: str
    description: str | None
    status: str
    default_version: str
    versions: list[EndpointVersion]
    endpoint: str = Field(description="POST here to submit its default (or a given) version.")
    updated_at: float


class ScheduleDetail(ScheduleInfo):
    parameters: dict[str, Any]
    fires: list[FireInfo] = Field(description="Its latest fires, latest due time first.")
    skipped_count: int


class SchedulerInfo(BaseModel):
    id: str
    host: str
    pid: int | None
    alive: bool | None = Field(description="Whether its process lives (None: another host).")
    started_at: float
    heartbeat_at: float
    stopped_at: float | None


# -- REST submission (SDK v1's names) ----------------------------------------------------------


class DataPathAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    DataStoreName: str
    RelativePath: str


class SubmitRequest(BaseModel):
    """What SDK v1's REST sample posts to a published pipeline's endpoint."""

    model_config = ConfigDict(extra="forbid")

    ExperimentName: str
    ParameterAssignments: dict[str, Any] = Field(default_factory=dict)
    DataPathAssignments: dict[str, DataPathAssignment] = Field(default_factory=dict)
    Description: str | None = None


class SubmitEndpointRequest(SubmitRequest):
    """As ``SubmitRequest``, for a pipeline endpoint; ``PipelineVersion`` picks a version."""

    PipelineVersion: str | None = None


class SubmitStatus(BaseModel):
    StatusCode: int = Field(
        description="0 NotStarted, 1 Running, 2 Failed, 3 Finished, 4 Canceled."
    )
    StatusDetail: str | None
    CreationTime: str
    EndTime: str | None


class PipelineRunSubmitted(BaseModel):
    """The submitted pipeline run, as SDK v1's service answers: ``Id`` is the run's id."""

    Id: str
    Description: str | None
    Status: SubmitStatus
    GraphId: str
    IsSubmitted: bool
    HasErrors: bool
    UploadState: int
    ParameterAssignments: dict[str, Any]
    DataPathAssignments: dict[str, DataPathAssignment]
    RunHistoryExperimentName: str
    PipelineId: str
    PipelineEndpointId: str | None = None
    PipelineVersion: str | None = None
    RunSource: str
    TotalRunSteps: int
    ScheduleId: str | None
    RunUrl: str
    tags: dict[str, Any]
    Properties: dict[str, Any]
