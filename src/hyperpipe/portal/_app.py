"""The portal application: FastAPI over one workspace's store, pages and API side by side."""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

import hyperpipe
from hyperpipe.core._portal_access import workspace_token
from hyperpipe.exceptions import HyperpipeError
from hyperpipe.portal import _api, _drift, _pages, _rest
from hyperpipe.portal._automation import AutomationViews
from hyperpipe.portal._security import SecurityHeaders, TokenGate
from hyperpipe.portal._views import NotFound, Views

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from hyperpipe.core import Workspace

__all__ = ["create_app"]

HERE = Path(__file__).parent


def create_app(workspace: Workspace, token: str | None = None, scheduler: bool = False) -> FastAPI:
    """The portal for ``workspace``. With ``token`` every request must carry it; without, only
    requests addressed to a loopback name are answered. With ``scheduler`` the scheduler daemon's
    loop runs inside the portal (a thread) while it serves."""
    app = FastAPI(
        title="hyperpipe portal",
        version=hyperpipe.__version__,
        description="Runs, metrics, pipelines and HyperDrive sweeps of one hyperpipe workspace.",
        docs_url=None,  # the interactive docs load their script from a CDN: not here
        redoc_url=None,
        lifespan=_scheduler_loop(workspace) if scheduler else None,
    )
    app.state.views = Views(workspace)
    app.state.automation = AutomationViews(workspace)
    app.state.templates = _templates(workspace)
    # REST submission takes the portal's token or the workspace's own one, even on loopback.
    app.state.submit_tokens = [t for t in (token, workspace_token(workspace.root)) if t]
    app.include_router(_rest.router)
    app.include_router(_api.router)
    app.include_router(_pages.router)
    app.include_router(_drift.router)
    app.include_router(_drift.api_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(NotFound, _error(404))
    app.add_exception_handler(HyperpipeError, _error(400))
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(TokenGate, token=token)
    app.add_middleware(SecurityHeaders)
    return app


def _scheduler_loop(workspace: Workspace) -> Any:
    """Lifespan that runs the scheduler daemon in a thread while the portal serves."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from hyperpipe.compat import enable_azureml_alias
        from hyperpipe.pipeline._daemon import SchedulerDaemon, clock_from_environment

        enable_azureml_alias()

        def log(line: str) -> None:
            sys.stderr.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {line}\n")

        daemon = SchedulerDaemon(workspace, clock=clock_from_environment(), log=log)
        daemon.register(portal=True)
        thread = threading.Thread(target=daemon.run, name="hyperpipe-scheduler", daemon=True)
        thread.start()
        app.state.scheduler = daemon
        try:
            yield
        finally:
            daemon.stop.set()
            thread.join(timeout=30)

    return lifespan


def _error(status: int) -> Any:
    async def handle(request: Request, exc: Exception) -> Response:
        message = str(exc)
        if request.url.path.startswith("/api/v1.0/"):  # the REST routes answer as SDK v1's did
            return JSONResponse(
                {
                    "error": {
                        "code": "NotFound" if status == 404 else "UserError",
                        "message": message,
                    },
                    "detail": message,
                },
                status_code=status,
            )
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=status)
        return request.app.state.templates.TemplateResponse(
            request, "error.html", {"status": status, "message": message}, status_code=status
        )

    return handle


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A value out of bounds or of the wrong type: 400 naming the parameter and the limit."""
    problems = []
    for error in getattr(exc, "errors", list)():
        where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    message = "; ".join(problems) or "invalid request"
    return await _error(400)(request, HyperpipeError(message))


def _templates(workspace: Workspace) -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.globals.update(workspace=workspace.name, version=hyperpipe.__version__, page_url=_page_url)
    env.filters.update(when=_when, duration=_duration, size=_size, number=_number)
    # HyperDrive keeps each trial's values in tags named _aml_system_<trial>: not for people.
    env.tests["system_key"] = lambda key: str(key).startswith("_aml_system")
    return templates


def _page_url(request: Request, **changes: Any) -> str:
    """This page's address with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "" or value is False:
            params.pop(key, None)
        else:
            params[key] = str(value).lower() if isinstance(value, bool) else str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} m {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} m"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON has it, not Python's True
    if not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        # 64, not 64.0: a sampler hands integer choices back as floats
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return str(value)
