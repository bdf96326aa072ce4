"""REST submission, as SDK v1's REST sample does it: ``POST`` to a published pipeline's (or a
pipeline endpoint's) ``endpoint`` URL with ``{"ExperimentName", "ParameterAssignments",
"DataPathAssignments"}`` starts a run and answers ``{"Id": run id, ...}``.

These routes change state, so they always want the token as ``Authorization: Bearer`` (never a
cookie), also on loopback: the portal's ``--token``, or the workspace's own token that
``InteractiveLoginAuthentication().get_authentication_header()`` returns. A request from another
site (an ``Origin`` that is not the portal's) is refused, and only JSON bodies are accepted, so a
web page elsewhere cannot submit through a visitor's browser.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from hyperpipe.core import Experiment
from hyperpipe.exceptions import HyperpipeError
from hyperpipe.pipeline.core import PipelineEndpoint, PublishedPipeline
from hyperpipe.pipeline.core._published import ENDPOINT_SUBMIT_ROUTE, SUBMIT_ROUTE
from hyperpipe.portal._automation_schemas import (
    PipelineRunSubmitted,
    SubmitEndpointRequest,
    SubmitRequest,
    SubmitStatus,
)
from hyperpipe.portal._security import cross_site
from hyperpipe.portal._views import NotFound

if TYPE_CHECKING:
    from hyperpipe.pipeline.core import PipelineRun

__all__ = ["router"]

RUN_SOURCE_PROPERTY = "azureml.runSource"
_STATUS_CODES = {"NotStarted": 0, "Running": 1, "Failed": 2, "Finished": 3, "Canceled": 4}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad input (unknown parameter, bad value, disabled pipeline...)."},
    401: {"description": "The token is missing or wrong (Authorization: Bearer TOKEN)."},
    403: {"description": "A request from another site."},
    404: {"description": "No such published pipeline or endpoint."},
}


def require_submit_token(request: Request) -> None:
    """A state-changing request: same site, JSON, and the bearer token, even on loopback."""
    if cross_site(request.headers):
        raise HTTPException(403, "cross-site requests may not submit runs")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise HTTPException(
            400, f"send the request body as JSON (Content-Type: application/json), not {media!r}"
        )
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else None
    tokens = request.app.state.submit_tokens
    if given is None or not any(secrets.compare_digest(given.encode(), t.encode()) for t in tokens):
        raise HTTPException(
            401,
            "submitting needs the portal token as 'Authorization: Bearer TOKEN'; "
            "InteractiveLoginAuthentication().get_authentication_header() gives it",
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(
    tags=["pipeline submission"], dependencies=[Depends(require_submit_token)], responses=_ERRORS
)


@router.post(SUBMIT_ROUTE + "{pipeline_id}", response_model=PipelineRunSubmitted)
def submit_published_pipeline(
    request: Request, pipeline_id: str, body: SubmitRequest
) -> PipelineRunSubmitted | JSONResponse:
    """Submit a published pipeline; ``Id`` in the answer is the new pipeline run's id."""
    workspace = request.app.state.views.workspace
    record = workspace._store.get_published_pipeline(pipeline_id)
    if record is None:
        raise NotFound(f"no published pipeline with id {pipeline_id!r} in this workspace")
    return _submit(request, PublishedPipeline(workspace, record), body)


@router.post(ENDPOINT_SUBMIT_ROUTE + "{endpoint_id}", response_model=PipelineRunSubmitted)
def submit_pipeline_endpoint(
    request: Request, endpoint_id: str, body: SubmitEndpointRequest
) -> PipelineRunSubmitted | JSONResponse:
    """Submit a pipeline endpoint's default version (or ``PipelineVersion``)."""
    workspace = request.app.state.views.workspace
    record = workspace._store.get_pipeline_endpoint(endpoint_id=endpoint_id)
    if record is None:
        raise NotFound(f"no pipeline endpoint with id {endpoint_id!r} in this workspace")
    return _submit(request, PipelineEndpoint(workspace, record), body, body.PipelineVersion)


def _submit(
    request: Request,
    target: PublishedPipeline | PipelineEndpoint,
    body: SubmitRequest,
    version: str | None = None,
) -> PipelineRunSubmitted | JSONResponse:
    from hyperpipe.compat import enable_azureml_alias

    enable_azureml_alias()  # steps written for SDK v1 keep their azureml imports
    parameters: dict[str, Any] = dict(body.ParameterAssignments)
    parameters.update({k: v.model_dump() for k, v in body.DataPathAssignments.items()})
    options: dict[str, Any] = {"pipeline_version": version} if version is not None else {}
    try:
        run = Experiment(request.app.state.views.workspace, body.ExperimentName).submit(
            target,
            pipeline_parameters=parameters,
            _from_text=True,
            _properties={RUN_SOURCE_PROPERTY: "REST"},
            **options,
        )
    except HyperpipeError as exc:
        return JSONResponse(
            {"error": {"code": "UserError", "message": str(exc)}, "detail": str(exc)},
            status_code=400,
        )
    return _answer(request, run, body)


def _answer(request: Request, run: PipelineRun, body: SubmitRequest) -> PipelineRunSubmitted:
    record = run._record
    definition = record.definition
    base = str(request.base_url).rstrip("/")
    return PipelineRunSubmitted(
        Id=run.id,
        Description=body.Description or definition.get("description"),
        Status=SubmitStatus(
            StatusCode=_STATUS_CODES.get(record.status.value, 0),
            StatusDetail=None,
            CreationTime=_iso(record.created_at),
            EndTime=_iso(record.ended_at) if record.ended_at else None,
        ),
        GraphId=_graph_id(run),
        IsSubmitted=True,
        HasErrors=False,
        UploadState=1,
        ParameterAssignments=body.ParameterAssignments,
        DataPathAssignments=body.DataPathAssignments,
        RunHistoryExperimentName=record.experiment_name,
        PipelineId=record.properties.get("azureml.pipelineid", ""),
        PipelineEndpointId=record.properties.get("azureml.pipelineEndpointId"),
        PipelineVersion=record.properties.get("azureml.pipelineEndpointVersion"),
        RunSource="REST",
        TotalRunSteps=len(definition.get("steps", [])),
        ScheduleId=None,
        RunUrl=f"{base}/runs/{run.id}",
        tags=record.tags,
        Properties=record.properties,
    )


def _graph_id(run: PipelineRun) -> str:
    from hyperpipe.pipeline._template import graph_id, run_template

    return graph_id(run_template(run._record.definition))  # type: ignore[arg-type]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()
