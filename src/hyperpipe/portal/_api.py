"""The JSON API under ``/api``: what the pages show, for scripts and for the pages' refresh."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from hyperpipe.portal._automation_schemas import (
    EndpointInfo,
    PublishedDetail,
    PublishedInfo,
    ScheduleDetail,
    ScheduleInfo,
    SchedulerInfo,
)
from hyperpipe.portal._schemas import (
    CompareView,
    DatasetInfo,
    ExperimentInfo,
    FileInfo,
    HyperDriveView,
    LogChunk,
    MetricInfo,
    MetricSeriesData,
    ModelInfo,
    PipelineGraph,
    RunDetail,
    RunPage,
    RunState,
    TrialCurves,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hyperpipe.portal._automation import AutomationViews
    from hyperpipe.portal._views import Views

__all__ = ["router"]

router = APIRouter(prefix="/api")
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _views(request: Request) -> Views:
    return request.app.state.views


# Bounds on query values: beyond them a database or a file offset would overflow.
TEXT_LIMIT = 1000
OFFSET_LIMIT = 2**53


@router.get("/experiments", tags=["experiments"])
def list_experiments(request: Request) -> list[ExperimentInfo]:
    """Every experiment, the most recently used first."""
    return _views(request).experiments()


@router.get("/experiments/{name}/runs", tags=["runs"])
def list_runs(
    request: Request,
    name: str,
    status: Annotated[
        str | None, Query(max_length=TEXT_LIMIT, description="Only runs in this status.")
    ] = None,
    tag: Annotated[
        str | None, Query(max_length=TEXT_LIMIT, description="KEY (has the tag) or KEY=VALUE.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=TEXT_LIMIT, description="Text in the run's id or name.")
    ] = None,
    order: Annotated[
        str,
        Query(
            max_length=TEXT_LIMIT,
            description="created, number, name, status, started, ended, duration or "
            "type; a leading - sorts descending.",
        ),
    ] = "-created",
    offset: Annotated[int, Query(ge=0, le=OFFSET_LIMIT)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    children: Annotated[bool, Query(description="Include child runs.")] = False,
) -> RunPage:
    """One page of an experiment's runs, filtered and sorted in the store."""
    return _views(request).runs_page(
        name,
        status=status,
        tag=tag,
        search=q,
        order=order,
        offset=offset,
        limit=limit,
        children=children,
    )


@router.get("/runs/{run_id}", tags=["runs"])
def get_run(request: Request, run_id: str) -> RunDetail:
    """A run: status, timing, arguments, tags, inputs, reuse, children, files, metrics, models."""
    return _views(request).detail(run_id)


@router.get("/runs/{run_id}/state", tags=["runs"])
def get_run_state(request: Request, run_id: str) -> RunState:
    """Status and a version that changes with anything on the run's page: cheap to poll."""
    return _views(request).state(run_id)


@router.get("/runs/{run_id}/metrics", tags=["metrics"])
def list_metrics(request: Request, run_id: str) -> list[MetricInfo]:
    """The run's metric series: kind, size and last value of each."""
    views = _views(request)
    return views.metrics(views.record(run_id))


@router.get("/runs/{run_id}/metrics/{name:path}", tags=["metrics"])
def get_metric(
    request: Request,
    run_id: str,
    name: str,
    max_points: Annotated[
        int,
        Query(
            ge=0, le=OFFSET_LIMIT, description="Reduce to about this many points (0: all of them)."
        ),
    ] = 2000,
) -> MetricSeriesData:
    """One metric series, ready to chart; long series keep each bucket's extremes."""
    return _views(request).series(run_id, name, max_points)


@router.get("/runs/{run_id}/log", tags=["runs"])
def get_log(
    request: Request,
    run_id: str,
    offset: Annotated[
        int,
        Query(
            ge=-OFFSET_LIMIT,
            le=OFFSET_LIMIT,
            description="Byte offset; negative counts from the end.",
        ),
    ] = 0,
) -> LogChunk:
    """The run's output (stdout and stderr) from a byte offset: poll it to follow a live run."""
    return _views(request).log(run_id, offset)


@router.get("/runs/{run_id}/files", tags=["files"])
def list_files(request: Request, run_id: str) -> list[FileInfo]:
    """The run's stored files: outputs/, logs/ and anything uploaded."""
    views = _views(request)
    return views.files(views.record(run_id))


@router.get(
    "/runs/{run_id}/files/{path:path}",
    tags=["files"],
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_file(request: Request, run_id: str, path: str) -> Response:
    """One of the run's files. Only names from the run's own file list are served."""
    datastore, location = _views(request).file_location(run_id, path)
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    inline = media in INLINE_TYPES
    filename = path.rsplit("/", 1)[-1]
    # Anything but a plain image is a download, in a sandbox: an output .html or .svg must not
    # run script with the portal's origin.
    headers = {"content-security-policy": "sandbox"}
    if not inline:
        media = (
            "application/octet-stream" if media.startswith(("text/html", "image/svg")) else media
        )
    local = datastore._local_path(location)
    if local is not None:
        return FileResponse(
            local,
            media_type=media,
            filename=filename,
            content_disposition_type="inline" if inline else "attachment",
            headers=headers,
        )

    def chunks() -> Iterator[bytes]:
        with datastore._open(location) as handle:
            while block := handle.read(1 << 20):
                yield block

    disposition = "inline" if inline else "attachment"
    headers["content-disposition"] = f'{disposition}; filename="{filename}"'
    return StreamingResponse(chunks(), media_type=media, headers=headers)


@router.get("/runs/{run_id}/graph", tags=["pipelines"])
def get_graph(request: Request, run_id: str) -> PipelineGraph:
    """A pipeline run's step graph, laid out, with each step's status and reuse decision."""
    return _views(request).graph(run_id)


@router.get("/runs/{run_id}/hyperdrive", tags=["hyperdrive"])
def get_hyperdrive(request: Request, run_id: str) -> HyperDriveView:
    """A sweep's trials with their hyperparameters and primary metric, and the best so far.

    ``run_id`` may be the HyperDrive run or the pipeline step run that holds it.
    """
    return _views(request).hyperdrive(run_id)


@router.get("/runs/{run_id}/hyperdrive/curves", tags=["hyperdrive"])
def get_trial_curves(
    request: Request,
    run_id: str,
    max_points: Annotated[int, Query(ge=10, le=5000, description="Most x values.")] = 500,
) -> TrialCurves:
    """Every trial's primary metric over its steps, aligned on one x axis: a chart where trials
    stopped early by the policy end early."""
    return _views(request).trial_curves(run_id, max_points)


@router.get("/compare", tags=["runs"])
def compare_runs(
    request: Request,
    run: Annotated[list[str], Query(description="A run id; repeat for each run (up to 20).")],
    max_points: Annotated[int, Query(ge=10, le=5000, description="Most x values.")] = 500,
) -> CompareView:
    """Runs side by side: parameters, last metric values, and each metric's curves together."""
    return _views(request).compare(run, max_points)


@router.get("/models", tags=["models"])
def list_models(
    request: Request, name: Annotated[str | None, Query(description="Only this model.")] = None
) -> list[ModelInfo]:
    """Registered models, every version, with the run that made each."""
    return _views(request).models(name)


@router.get("/datasets", tags=["datasets"])
def list_datasets(request: Request) -> list[DatasetInfo]:
    """Registered datasets, every version."""
    return _views(request).datasets()


@router.get("/datasets/{name}", tags=["datasets"])
def get_dataset(request: Request, name: str) -> list[DatasetInfo]:
    """Every version of one dataset, each with the runs that used it."""
    return _views(request).datasets(name)


def _automation(request: Request) -> AutomationViews:
    return request.app.state.automation


@router.get("/published", tags=["published pipelines"])
def list_published(request: Request) -> list[PublishedInfo]:
    """Every published pipeline (Active and Disabled), newest first, with its REST endpoint."""
    return _automation(request).published_list(str(request.base_url))


@router.get("/published/{pipeline_id}", tags=["published pipelines"])
def get_published(request: Request, pipeline_id: str) -> PublishedDetail:
    """A published pipeline: steps, parameters and defaults, schedules, latest runs."""
    return _automation(request).published(pipeline_id, str(request.base_url))


@router.get("/endpoints", tags=["published pipelines"])
def list_endpoints(request: Request) -> list[EndpointInfo]:
    """Every pipeline endpoint with its versions and default version."""
    return _automation(request).endpoints(str(request.base_url))


@router.get("/endpoints/{endpoint_id}", tags=["published pipelines"])
def get_endpoint(request: Request, endpoint_id: str) -> EndpointInfo:
    """One pipeline endpoint with its versions and default version."""
    return _automation(request).endpoint(endpoint_id, str(request.base_url))


@router.get("/schedules", tags=["schedules"])
def list_schedules(request: Request) -> list[ScheduleInfo]:
    """Every schedule: what it submits, its trigger, next due time and last fire."""
    return _automation(request).schedules()


@router.get("/schedules/{schedule_id}", tags=["schedules"])
def get_schedule(request: Request, schedule_id: str) -> ScheduleDetail:
    """A schedule with its latest fires: runs, failures and skipped due times with reasons."""
    return _automation(request).schedule(schedule_id)


@router.get("/schedulers", tags=["schedules"])
def list_schedulers(request: Request) -> list[SchedulerInfo]:
    """The latest scheduler daemons and whether their processes live."""
    return _automation(request).schedulers()
