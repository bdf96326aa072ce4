"""``hyperpipe.core``: workspaces, experiments, runs and models (SDK v1's ``azureml.core``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperpipe import __version__ as _hyperpipe_version
from hyperpipe._lazy import lazy_exports
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core._environment import Environment
    from hyperpipe.core._experiment import Experiment
    from hyperpipe.core._model import Model
    from hyperpipe.core._run import Run, ScriptRun
    from hyperpipe.core._script_run_config import ScriptRunConfig
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.core.compute import ComputeTarget
    from hyperpipe.core.conda_dependencies import CondaDependencies
    from hyperpipe.core.runconfig import RunConfiguration
    from hyperpipe.data._dataset import Dataset
    from hyperpipe.data._datastore import Datastore
    from hyperpipe.store import RunStatus

SDK_V1_VERSION = "1.62.0"
"""The SDK v1 release whose surface hyperpipe mirrors (see the API reference)."""

VERSION = f"{SDK_V1_VERSION}+hyperpipe.{_hyperpipe_version}"
"""``azureml.core.VERSION``: a PEP 440 version that compares as the mirrored SDK v1 release
(``packaging.version.Version(VERSION) >= Version("1.0.85")``) and names hyperpipe's own version
as its local part."""

__all__ = [
    "SDK_V1_VERSION",
    "VERSION",
    "ComputeTarget",
    "CondaDependencies",
    "Dataset",
    "Datastore",
    "Environment",
    "Experiment",
    "Model",
    "Run",
    "RunConfiguration",
    "RunStatus",
    "ScriptRun",
    "ScriptRunConfig",
    "UserErrorException",
    "Workspace",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Environment": "hyperpipe.core._environment",
        "Experiment": "hyperpipe.core._experiment",
        "Model": "hyperpipe.core._model",
        "Run": "hyperpipe.core._run",
        "ScriptRun": "hyperpipe.core._run",
        "ScriptRunConfig": "hyperpipe.core._script_run_config",
        "Workspace": "hyperpipe.core._workspace",
        "ComputeTarget": "hyperpipe.core.compute",
        "CondaDependencies": "hyperpipe.core.conda_dependencies",
        "RunConfiguration": "hyperpipe.core.runconfig",
        "Dataset": "hyperpipe.data._dataset",
        "Datastore": "hyperpipe.data._datastore",
        "RunStatus": "hyperpipe.store",
    },
)
