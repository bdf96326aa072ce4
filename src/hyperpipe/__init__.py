"""hyperpipe: ML pipelines, HyperDrive sweeps and run tracking with the Azure ML SDK v1 model.

Importing hyperpipe does no I/O. The SDK v1 names live in the modules that mirror SDK v1
(``hyperpipe.core``, ``hyperpipe.pipeline.core``, ``hyperpipe.train.hyperdrive``...); the few most
used ones are also reachable here, loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Workspace": "hyperpipe.core",
    "Experiment": "hyperpipe.core",
    "Run": "hyperpipe.core",
    "ScriptRunConfig": "hyperpipe.core",
    "Model": "hyperpipe.core",
    "Datastore": "hyperpipe.core",
}

__all__ = [
    "Datastore",
    "Experiment",
    "Model",
    "Run",
    "ScriptRunConfig",
    "Workspace",
    "__version__",
]

if TYPE_CHECKING:
    from hyperpipe.core import Datastore, Experiment, Model, Run, ScriptRunConfig, Workspace


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hyperpipe' has no attribute {name!r}")
