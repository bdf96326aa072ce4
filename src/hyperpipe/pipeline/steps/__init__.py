"""``hyperpipe.pipeline.steps``: pipeline steps (SDK v1's ``azureml.pipeline.steps``)."""

from __future__ import annotations

from hyperpipe.pipeline.steps._base import PipelineStep
from hyperpipe.pipeline.steps._python_script_step import PythonScriptStep

__all__ = ["PipelineStep", "PythonScriptStep"]
