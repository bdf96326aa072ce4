"""The server-rendered pages. Each reads the same views as the API; scripts only add charts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from hyperpipe.core._paths import artifact_prefix
from hyperpipe.portal._api import OFFSET_LIMIT, TEXT_LIMIT
from hyperpipe.portal._results import pipeline_results

if TYPE_CHECKING:
    from hyperpipe.portal._views import Views

__all__ = ["router"]

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PAGE_SIZES = (25, 50, 100, 200)
LOG_TAIL_BYTES = 32 * 1024


def _render(request: Request, template: str, **context: object) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, context)


def _views(request: Request) -> Views:
    return request.app.state.views


@router.get("/")
def experiments_page(request: Request) -> HTMLResponse:
    views = _views(request)
    return _render(
        request,
        "experiments.html",
        experiments=views.experiments(),
        model_count=len(views.models()),
        dataset_count=len(views.datasets()),
    )


@router.get("/experiments/{name}")
def runs_page(
    request: Request,
    name: str,
    status: Annotated[str | None, Query(max_length=TEXT_LIMIT)] = None,
    tag: Annotated[str | None, Query(max_length=TEXT_LIMIT)] = None,
    q: Annotated[str | None, Query(max_length=TEXT_LIMIT)] = None,
    order: Annotated[str, Query(max_length=TEXT_LIMIT)] = "-created",
    offset: Annotated[int, Query(ge=0, le=OFFSET_LIMIT)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    children: bool = False,
) -> HTMLResponse:
    page = _views(request).runs_page(
        name,
        status=status or None,
        tag=tag or None,
        search=q or None,
        order=order,
        offset=offset,
        limit=limit,
        children=children,
    )
    return _render(
        request,
        "runs.html",
        page=page,
        filters={"status": status or "", "tag": tag or "", "q": q or "", "children": children},
        page_sizes=PAGE_SIZES,
        live=any(r.active for r in page.runs),
    )


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str) -> HTMLResponse:
    views = _views(request)
    detail = views.detail(run_id)
    # A sweep's own page, or a pipeline step's page showing the sweep it ran.
    sweep = (
        detail.id
        if detail.kind == "hyperdrive"
        else next((c.id for c in detail.children if c.kind == "hyperdrive"), None)
    )
    log = views.log(run_id, -LOG_TAIL_BYTES)
    others = [m for m in detail.metrics if m.kind not in ("scalar", "image")]
    images = [m for m in detail.metrics if m.kind == "image"]
    prefix = f"aml://artifactId/{artifact_prefix(detail.id)}"
    return _render(
        request,
        "run.html",
        run=detail,
        graph=views.graph(run_id) if detail.kind == "pipeline" else None,
        parent=views.summary(views.record(detail.parent_id)) if detail.parent_id else None,
        results=(
            pipeline_results(views, views.record(run_id)) if detail.kind == "pipeline" else None
        ),
        hyperdrive=views.hyperdrive(sweep) if sweep is not None else None,
        log=log,
        log_truncated=log.offset > len(log.text.encode()),
        live=detail.active or any(c.active for c in detail.children),
        scalars=[m for m in detail.metrics if m.kind == "scalar"],
        others=others,
        other_values={m.name: views.series(run_id, m.name).values or [] for m in others},
        images=images,
        image_files={
            m.name: m.last[len(prefix) :]
            for m in images
            if isinstance(m.last, str) and m.last.startswith(prefix)
        },
    )


@router.get("/compare")
def compare_page(request: Request, run: Annotated[list[str], Query()]) -> HTMLResponse:
    view = _views(request).compare(run)
    query = "&".join(f"run={quote(r.id, safe='')}" for r in view.runs)
    return _render(request, "compare.html", view=view, api=f"/api/compare?{query}")


@router.get("/models")
def models_page(request: Request) -> HTMLResponse:
    return _render(request, "models.html", models=_views(request).models())


@router.get("/datasets")
def datasets_page(request: Request) -> HTMLResponse:
    return _render(request, "datasets.html", datasets=_views(request).datasets())


@router.get("/datasets/{name}")
def dataset_page(request: Request, name: str) -> HTMLResponse:
    return _render(request, "dataset.html", name=name, versions=_views(request).datasets(name))


@router.get("/published")
def published_page(request: Request) -> HTMLResponse:
    automation = request.app.state.automation
    base = str(request.base_url)
    return _render(request, "published.html", pipelines=automation.published_list(base))


@router.get("/published/{pipeline_id}")
def published_pipeline_page(request: Request, pipeline_id: str) -> HTMLResponse:
    automation = request.app.state.automation
    base = str(request.base_url)
    return _render(request, "published_pipeline.html", p=automation.published(pipeline_id, base))


@router.get("/endpoints")
def endpoints_page(request: Request) -> HTMLResponse:
    automation = request.app.state.automation
    base = str(request.base_url)
    return _render(request, "endpoints.html", endpoints=automation.endpoints(base))


@router.get("/endpoints/{endpoint_id}")
def endpoint_page(request: Request, endpoint_id: str) -> HTMLResponse:
    automation = request.app.state.automation
    base = str(request.base_url)
    return _render(request, "endpoint.html", e=automation.endpoint(endpoint_id, base))


@router.get("/schedules")
def schedules_page(request: Request) -> HTMLResponse:
    automation = request.app.state.automation
    return _render(
        request,
        "schedules.html",
        schedules=automation.schedules(),
        schedulers=automation.schedulers(),
    )


@router.get("/schedules/{schedule_id}")
def schedule_page(request: Request, schedule_id: str) -> HTMLResponse:
    automation = request.app.state.automation
    return _render(request, "schedule.html", s=automation.schedule(schedule_id))
