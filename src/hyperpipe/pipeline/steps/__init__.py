"""``hyperpipe.pipeline.steps``: pipeline steps (SDK v1's ``azureml.pipeline.steps``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperpipe._lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "PipelineStep": "hyperpipe.pipeline.steps._base",
        "CommandStep": "hyperpipe.pipeline.steps._command_step",
        "HyperDriveStep": "hyperpipe.pipeline.steps._hyper_drive_step",
        "HyperDriveStepRun": "hyperpipe.pipeline.steps._hyper_drive_step_run",
        "PythonScriptStep": "hyperpipe.pipeline.steps._python_script_step",
    },
)
