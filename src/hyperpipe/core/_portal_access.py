"""How programs reach a workspace's portal: its address and its token.

The portal's REST routes that start runs always need a token, also on loopback. Unless one is
given (``HYPERPIPE_PORTAL_TOKEN``, ``hyperpipe portal --token``), the workspace's own token is
used: a random secret kept in ``.hyperpipe/portal-token``, readable by its owner only, created the
first time it is needed. The SDK v1 auth classes return it as the ``Authorization`` header.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from hyperpipe.core._workspace import Workspace

__all__ = ["PORTAL_URL_ENV", "TOKEN_ENV", "portal_url", "workspace_token"]

TOKEN_ENV = "HYPERPIPE_PORTAL_TOKEN"
PORTAL_URL_ENV = "HYPERPIPE_PORTAL_URL"
DEFAULT_PORTAL_URL = "http://127.0.0.1:8765"
TOKEN_FILE = "portal-token"


def portal_url(workspace: Workspace) -> str:
    """Where the workspace's portal answers: ``HYPERPIPE_PORTAL_URL``, else the workspace
    config's ``portal_url``, else ``hyperpipe portal``'s default address."""
    url = (
        os.environ.get(PORTAL_URL_ENV)
        or workspace._config.settings.get("portal_url")
        or DEFAULT_PORTAL_URL
    )
    return url.rstrip("/")


def workspace_token(root: Path) -> str:
    """The workspace's portal token (created, owner-only, on first use)."""
    path = root / ".hyperpipe" / TOKEN_FILE
    with contextlib.suppress(FileNotFoundError):
        token = path.read_text().strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    temp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    try:
        os.link(temp, path)  # fails if another process made it first: then use theirs
    except FileExistsError:
        token = path.read_text().strip()
    finally:
        os.unlink(temp)
    return token


def given_token() -> str | None:
    """A token set for this process (``HYPERPIPE_PORTAL_TOKEN``), if any."""
    return os.environ.get(TOKEN_ENV) or None
