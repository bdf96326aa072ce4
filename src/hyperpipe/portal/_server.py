"""Serving the portal with Uvicorn: the binding rule, then one line saying where to look."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import uvicorn

from hyperpipe.portal._app import create_app
from hyperpipe.portal._security import check_binding

if TYPE_CHECKING:
    from hyperpipe.core import Workspace

__all__ = ["TOKEN_ENV", "serve"]

TOKEN_ENV = "HYPERPIPE_PORTAL_TOKEN"


def serve(
    workspace: Workspace,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    log_level: str = "warning",
    scheduler: bool = False,
) -> None:
    """Serve the portal until interrupted. Off loopback a token is required (``--token`` or
    ``HYPERPIPE_PORTAL_TOKEN``)."""
    token = token or os.environ.get(TOKEN_ENV) or None
    check_binding(host, token)
    app = create_app(workspace, token, scheduler=scheduler)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/"
    sys.stderr.write(
        f"hyperpipe portal for workspace {workspace.name!r} at {address}"
        + (f"?token={token}" if token else "")
        + ("; firing schedules" if scheduler else "")
        + "  (Ctrl+C to stop)\n"
    )
    sys.stderr.flush()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
