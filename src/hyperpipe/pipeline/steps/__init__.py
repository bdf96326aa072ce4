"""``hyperpipe.pipeline.steps``: pipeline steps (SDK v1's ``azureml.pipeline.steps``)."""

from __future__ import annotations

from hyperpipe.pipeline.steps._base import PipelineStep
from hyperpipe.pipeline.steps._command_step import CommandStep
from hyperpipe.pipeline.steps._hyper_drive_step import HyperDriveStep
from hyperpipe.pipeline.steps._hyper_drive_step_run import HyperDriveStepRun
from hyperpipe.pipeline.steps._python_script_step import PythonScriptStep

__all__ = [
    "CommandStep",
    "HyperDriveStep",
    "HyperDriveStepRun",
    "PipelineStep",
    "PythonScriptStep",
]
