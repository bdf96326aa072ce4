"""``hyperpipe.core``: workspaces, experiments, runs and models (SDK v1's ``azureml.core``)."""

from __future__ import annotations

from hyperpipe.core._environment import CondaDependencies, Environment
from hyperpipe.core._experiment import Experiment
from hyperpipe.core._model import Model
from hyperpipe.core._run import Run, ScriptRun
from hyperpipe.core._script_run_config import ScriptRunConfig
from hyperpipe.core._workspace import Workspace
from hyperpipe.core.compute import ComputeTarget
from hyperpipe.core.runconfig import RunConfiguration
from hyperpipe.data._dataset import Dataset
from hyperpipe.data._datastore import Datastore
from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import RunStatus

__all__ = [
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
