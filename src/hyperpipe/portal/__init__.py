"""The portal: runs, metrics, pipelines and HyperDrive sweeps of a workspace in the browser.

Internal package: ``hyperpipe portal`` starts it; ``create_app`` gives the ASGI app for tests and
for serving behind another server. Needs the ``portal`` extra (FastAPI, Uvicorn, Jinja2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperpipe.core import Workspace

__all__ = ["create_app", "serve"]


def create_app(workspace: Workspace, token: str | None = None, scheduler: bool = False) -> Any:
    """The portal's FastAPI app for ``workspace`` (see ``_app.create_app``)."""
    _require_extra()
    from hyperpipe.portal._app import create_app as create

    return create(workspace, token, scheduler=scheduler)


def serve(workspace: Workspace, host: str = "127.0.0.1", port: int = 8765, **kwargs: Any) -> None:
    """Serve the portal until interrupted (see ``_server.serve``)."""
    _require_extra()
    from hyperpipe.portal._server import serve as run

    run(workspace, host, port, **kwargs)


def _require_extra() -> None:
    from importlib.util import find_spec

    from hyperpipe.exceptions import ConfigError

    missing = [name for name in ("fastapi", "uvicorn", "jinja2") if find_spec(name) is None]
    if missing:
        raise ConfigError(f"the portal needs {', '.join(missing)}: pip install 'hyperpipe[portal]'")
