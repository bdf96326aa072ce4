"""``hyperpipe.compat``: the ``azureml`` import alias (design decision 2).

``enable_azureml_alias()`` makes ``import azureml.core`` (and the other SDK v1 module paths the
seed scripts use) load hyperpipe's modules, so an SDK v1 script runs unchanged. It is an import
hook, not a package: it steps aside when the real SDK is importable, and it never ships a
top-level ``azureml`` package that would shadow the real one.

The alias reaches child processes through the environment: ``enable_azureml_alias()`` sets
``HYPERPIPE_AZUREML_ALIAS=1`` (``ALIAS_ENV``), and the ``hyperpipe_azureml_alias.pth`` file that
hyperpipe installs into site-packages turns the alias on at start-up in every Python process that
inherits it (submitted scripts, pipeline steps, HyperDrive trials). ``python -S`` skips ``.pth``
files, and with them the alias.

Names SDK v1 has and hyperpipe does not raise :class:`AzureMLNotSupportedError` (an
``AttributeError``), :class:`AzureMLNotSupportedImportError` (``from ... import ...``) or
:class:`AzureMLModuleNotSupportedError` (a ``ModuleNotFoundError``), naming the call.

This module stays light: it is imported at interpreter start-up when the variable is set.
"""

from __future__ import annotations

import os

from hyperpipe.compat._errors import (
    AzureMLModuleNotSupportedError,
    AzureMLNotSupportedError,
    AzureMLNotSupportedImportError,
)

__all__ = [
    "ALIAS_ENV",
    "AzureMLModuleNotSupportedError",
    "AzureMLNotSupportedError",
    "AzureMLNotSupportedImportError",
    "azureml_alias_enabled",
    "disable_azureml_alias",
    "enable_azureml_alias",
]

ALIAS_ENV = "HYPERPIPE_AZUREML_ALIAS"
"""Set (to ``1``) in a process's environment, it turns the alias on at that process's start-up."""


def enable_azureml_alias() -> bool:
    """Map ``azureml.*`` imports onto hyperpipe, here and in child processes.

    Returns ``True`` when the alias is on (already, or now), ``False`` when the real Azure ML SDK
    is importable: then nothing is installed, ``azureml`` imports the real SDK and the
    environment is left alone.
    """
    from hyperpipe.compat import _finder

    if _finder.active_finder() is None:
        if _finder.real_sdk_importable():
            return False
        _finder.install(check_real_sdk=False)
    os.environ[ALIAS_ENV] = "1"
    return True


def disable_azureml_alias() -> None:
    """Undo :func:`enable_azureml_alias`: remove the hook, the aliased modules and the variable.

    Objects already imported through ``azureml`` keep working (they are hyperpipe's).
    """
    from hyperpipe.compat import _finder

    _finder.uninstall()
    os.environ.pop(ALIAS_ENV, None)


def azureml_alias_enabled() -> bool:
    """Whether this process maps ``azureml.*`` imports onto hyperpipe right now."""
    from hyperpipe.compat import _finder

    return _finder.active_finder() is not None
