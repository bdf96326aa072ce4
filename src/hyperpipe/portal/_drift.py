"""The data drift monitor pages: each monitor's checks over time (a chart of the coefficient
and the p-value per check), what moved (classes, terms, columns) and the retrain runs its
alarms started."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hyperpipe.datadrift import DataDriftDetector
from hyperpipe.exceptions import DataDriftNameError
from hyperpipe.portal._charts import chartable
from hyperpipe.portal._views import NotFound

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
api_router = APIRouter(prefix="/api/datadrift", tags=["datadrift"])
CHART_METRICS = ("datadrift_coefficient", "p_value")


def _detector(request: Request, name: str) -> DataDriftDetector:
    try:
        return DataDriftDetector.get_by_name(request.app.state.views.workspace, name)
    except (DataDriftNameError, ValueError) as exc:
        raise NotFound(str(exc)) from exc


def _checks(detector: DataDriftDetector) -> list[dict[str, Any]]:
    """Every completed check, oldest window first (the newest check per window)."""
    checks = []
    for run in detector._checks():
        document = _document(run)
        if document is None:
            continue
        result = document["result"]
        coefficient = next(
            m["value"]
            for m in document["metrics"]["dataset_metrics"]
            if m["name"] == "datadrift_coefficient"
        )
        checks.append(
            {
                "run_id": run.id,
                "start": result["start_date"],
                "window_size": result.get("window_size"),
                "p_value": result.get("p_value"),
                "coefficient": coefficient,
                "has_drift": result["has_drift"],
                "target": run.properties.get("datadrift_target"),
                "families": document.get("families", []),
                "action": document.get("action") or {},
            }
        )
    newest: dict[str, dict[str, Any]] = {c["start"]: c for c in checks}
    return [newest[k] for k in sorted(newest)]


def _document(run: Any) -> dict[str, Any] | None:
    from hyperpipe.datadrift._detector import _read_document

    try:
        return _read_document(run)
    except (OSError, ValueError):
        return None


@router.get("/datadrift")
def monitors_page(request: Request) -> HTMLResponse:
    workspace = request.app.state.views.workspace
    monitors = []
    for detector in DataDriftDetector.list(workspace):
        checks = _checks(detector)
        monitors.append(
            {
                "name": detector.name,
                "state": detector.state,
                "frequency": detector.frequency,
                "checks": len(checks),
                "alarms": sum(c["has_drift"] for c in checks),
                "last": checks[-1] if checks else None,
            }
        )
    return request.app.state.templates.TemplateResponse(
        request, "datadrift_list.html", {"monitors": monitors}
    )


@router.get("/datadrift/{name}")
def monitor_page(request: Request, name: str) -> HTMLResponse:
    detector = _detector(request, name)
    checks = _checks(detector)
    return request.app.state.templates.TemplateResponse(
        request,
        "datadrift.html",
        {"d": detector, "checks": checks, "metrics": CHART_METRICS},
    )


@api_router.get("/{name}/series/{metric}")
def monitor_series(request: Request, name: str, metric: str) -> dict[str, Any]:
    """One chart line: ``metric`` of every check, by check (oldest window first)."""
    if metric not in CHART_METRICS:
        raise NotFound(f"no drift chart {metric!r}; charts: {', '.join(CHART_METRICS)}")
    checks = _checks(_detector(request, name))
    return {
        "name": metric,
        "x": list(range(1, len(checks) + 1)),
        "y": [
            chartable(c["coefficient" if metric == "datadrift_coefficient" else metric])
            for c in checks
        ],
        "x_label": "check",
        "labels": [c["start"] for c in checks],
        "downsampled": False,
        "count": len(checks),
    }
