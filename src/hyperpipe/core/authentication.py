"""``hyperpipe.core.authentication``: SDK v1's auth classes, accepted and ignored.

A local workspace needs no credentials; these exist so SDK v1 scripts that pass ``auth=`` run
unchanged.
"""

from __future__ import annotations

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

    def get_authentication_header(self) -> dict[str, str]:
        return {}

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
