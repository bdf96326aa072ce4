"""``hyperpipe.core.authentication``: SDK v1's auth classes.

A local workspace needs no credentials to be used from Python; these exist so SDK v1 scripts that
pass ``auth=`` run unchanged. ``get_authentication_header()`` answers what the portal's REST
routes want, ``{"Authorization": "Bearer <token>"}``: ``HYPERPIPE_PORTAL_TOKEN`` if set, else the
token of the workspace the object was given to (``Workspace.from_config(auth=auth)``), else of
the workspace found from the current folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hyperpipe._surface import SdkV1Surface

__all__ = [
    "AbstractAuthentication",
    "AzureCliAuthentication",
    "InteractiveLoginAuthentication",
    "MsiAuthentication",
    "ServicePrincipalAuthentication",
    "TokenAuthentication",
]


class AbstractAuthentication(SdkV1Surface):
    """Base of the no-op authentication objects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs
        self._workspace_root: Path | None = None

    def _bind(self, root: Path) -> None:
        """Remember the workspace this object authenticates to."""
        self._workspace_root = root

    def get_authentication_header(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for the workspace's portal."""
        from hyperpipe.core import _portal_access

        token = _portal_access.given_token()
        if token is None:
            root = self._workspace_root
            if root is None:
                from hyperpipe.core._workspace import Workspace

                root = Workspace.from_config().root
            token = _portal_access.workspace_token(root)
        return {"Authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AzureCliAuthentication(AbstractAuthentication):
    pass


class InteractiveLoginAuthentication(AbstractAuthentication):
    pass


class ServicePrincipalAuthentication(AbstractAuthentication):
    pass


class MsiAuthentication(AbstractAuthentication):
    pass


class TokenAuthentication(AbstractAuthentication):
    pass
