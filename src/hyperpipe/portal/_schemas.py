"""What the JSON API answers: the shapes behind the pages, published in the OpenAPI schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "CompareLine",
    "CompareSeries",
    "CompareView",
    "DatasetInfo",
    "ExperimentInfo",
    "FileInfo",
    "GraphEdge",
    "GraphNode",
    "HyperDriveView",
    "InputInfo",
    "LogChunk",
    "MetricInfo",
    "MetricSeriesData",
    "ModelInfo",
    "PipelineGraph",
    "ReuseInfo",
    "RunDetail",
    "RunPage",
    "RunState",
    "RunSummary",
    "Trial",
    "TrialCurve",
    "TrialCurves",
]

RunKind = Literal["script", "pipeline", "step", "hyperdrive", "run"]


class ExperimentInfo(BaseModel):
    name: str
    run_count: int = Field(description="Top-level runs (child runs not counted).")
    last_run_at: float | None = Field(description="UNIX time the newest run was created.")


class RunSummary(BaseModel):
    id: str
    number: int
    experiment: str
    name: str | None = Field(description="The display name (a step's name for step runs).")
    title: str = Field(
        description="What lists call the run: its display name, else a pipeline's first script "
        "and step count, a sweep's or a script run's script, else its id."
    )
    position: int = Field(
        description="Its place in creation order among its siblings: a top-level run's among the "
        "experiment's top-level runs, a child's among its parent's children. ``number`` (as in "
        "SDK v1) counts every run of the experiment, children too."
    )
    label: str = Field(description='"Run 12" for a top-level run, "step 2" or "trial 7" else.')
    kind: RunKind
    type: str = Field(description="The SDK v1 run type, e.g. azureml.PipelineRun.")
    status: str
    active: bool = Field(description="Whether the run may still change (not ended).")
    created_at: float
    started_at: float | None
    ended_at: float | None
    duration_s: float | None = Field(description="Run time so far, or in all once ended.")
    parent_id: str | None
    target: str | None
    tags: dict[str, Any]
    metrics: dict[str, Any] = Field(
        default_factory=dict, description="Last value of each scalar metric (run lists only)."
    )


class RunPage(BaseModel):
    experiment: str
    total: int = Field(description="How many runs match the filters.")
    offset: int
    limit: int
    order: str
    metric_columns: list[str] = Field(
        description="The scalar metrics most runs of this page logged, most common first."
    )
    runs: list[RunSummary]


class FileInfo(BaseModel):
    path: str
    size: int


class MetricInfo(BaseModel):
    name: str
    kind: str = Field(description="scalar, list, row, table, image or json.")
    description: str
    count: int
    last: Any = Field(description="The last value logged.")


class InputInfo(BaseModel):
    name: str
    kind: str
    dataset_id: str | None = None
    dataset_name: str | None = None
    dataset_version: int | None = None
    detail: str | None = Field(None, description="What else identifies it (producer, path).")


class ReuseInfo(BaseModel):
    reused: bool
    reasons: list[str]
    reused_run_id: str | None = None
    key: str | None = None


class ModelInfo(BaseModel):
    name: str
    version: int
    created_at: float
    run_id: str | None
    experiment_name: str | None
    description: str | None
    framework: str | None
    framework_version: str | None
    datastore: str
    path: str
    tags: dict[str, Any]
    properties: dict[str, Any]


class RunDetail(RunSummary):
    script: str | None
    arguments: list[str]
    hyperparameters: dict[str, Any] | None = Field(
        description="A HyperDrive trial's sampled values."
    )
    properties: dict[str, Any]
    error: dict[str, Any] | None
    inputs: list[InputInfo]
    reuse: ReuseInfo | None = Field(description="For pipeline step runs: why it ran or was reused.")
    child_count: int
    children: list[RunSummary] = Field(description="The first 200 children, oldest first.")
    files: list[FileInfo]
    metrics: list[MetricInfo]
    models: list[ModelInfo] = Field(description="Models registered from this run.")


class RunState(BaseModel):
    """What a page of an active run polls to know whether it must redraw."""

    id: str
    status: str
    active: bool
    version: str = Field(description="Changes whenever anything shown on the run's page changes.")
    metric_counts: dict[str, int]


class MetricSeriesData(BaseModel):
    name: str
    kind: str
    description: str
    count: int = Field(description="Points logged in all.")
    x_label: Literal["step", "index"]
    x: list[float]
    y: list[float | None]
    downsampled: bool = Field(description="True when x/y keep each bucket's extremes only.")
    t: list[float] | None = Field(
        default=None,
        description="Seconds from the run's start to each point's logging, beside x (charts over "
        "time); None for a downsampled series.",
    )
    values: list[Any] | None = Field(description="The logged values of non-scalar series.")


class LogChunk(BaseModel):
    run_id: str
    offset: int = Field(description="Ask again from here for what is written next.")
    text: str
    status: str
    active: bool
    source: Literal["live", "stored", "none"]


class GraphNode(BaseModel):
    id: str
    kind: Literal["step", "dataset"]
    label: str
    status: str | None
    reused: bool | None
    run_id: str | None
    reasons: list[str]
    x: float
    y: float
    w: float
    h: float
    column: int = Field(0, description="The node's column, counted from the left.")


class GraphEdge(BaseModel):
    source: str
    target: str
    label: str
    start: tuple[float, float]
    end: tuple[float, float]


class PipelineGraph(BaseModel):
    run_id: str
    status: str
    active: bool
    width: float
    height: float
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class Trial(BaseModel):
    run_id: str
    index: int = Field(description="Order of creation within the sweep.")
    status: str
    hyperparameters: dict[str, Any]
    metric: float | None = Field(description="The trial's best primary-metric value.")
    early_terminated: bool
    started_at: float | None
    ended_at: float | None


class TrialCurve(BaseModel):
    run_id: str
    index: int
    status: str
    early_terminated: bool
    y: list[float | None] = Field(description="Values at the shared x; null where not logged.")


class TrialCurves(BaseModel):
    """Every trial's primary metric over its steps, on one shared x axis (for one chart)."""

    run_id: str
    primary_metric: str
    x_label: Literal["step", "index"]
    x: list[float]
    trials: list[TrialCurve]


class HyperDriveView(BaseModel):
    run_id: str
    status: str
    active: bool
    primary_metric: str
    goal: Literal["MAXIMIZE", "MINIMIZE"]
    sampling: str
    policy: str | None
    max_total_runs: int
    parameters: list[str]
    trials: list[Trial]
    best_so_far: list[float | None] = Field(
        description="Best primary metric after each trial, in creation order."
    )
    best_run_id: str | None


class DatasetInfo(BaseModel):
    id: str
    name: str | None
    version: int | None
    kind: str
    file_count: int
    total_size: int
    created_at: float
    description: str | None
    tags: dict[str, Any]
    used_by: list[RunSummary] | None = Field(
        None, description="Runs given this version as an input (detail view only)."
    )
    made_by: list[RunSummary] | None = Field(
        None, description="The pipeline step that registered this version from its output."
    )


class CompareLine(BaseModel):
    run_id: str
    y: list[float | None]


class CompareSeries(BaseModel):
    name: str
    x_label: Literal["step", "index"]
    x: list[float]
    runs: list[CompareLine]


class CompareView(BaseModel):
    """Runs side by side: their parameters, last metric values, and curves on shared charts."""

    runs: list[RunSummary] = Field(description="With the last value of each scalar metric.")
    parameters: list[str] = Field(description="Every parameter name any of the runs has.")
    values: dict[str, dict[str, Any]] = Field(
        description="Per run id: hyperparameters, or the --name value pairs of its arguments."
    )
    metrics: list[str] = Field(description="Every scalar metric any of the runs logged.")
    series: list[CompareSeries] = Field(
        description="Metrics that some run logged more than once, one line per run."
    )
