"""``hyperpipe.pipeline.core``: pipelines, their data and runs (``azureml.pipeline.core``)."""

from __future__ import annotations

from hyperpipe.pipeline.core._output_dataset import OutputFileDatasetConfig
from hyperpipe.pipeline.core._pipeline import Pipeline, StepSequence
from hyperpipe.pipeline.core._pipeline_data import (
    PipelineData,
    PipelineDataInput,
    PipelineParameter,
    TrainingOutput,
)
from hyperpipe.pipeline.core._pipeline_run import PipelineRun, StepRun
from hyperpipe.pipeline.core._port_data import PortDataReference, StepRunOutput

__all__ = [
    "OutputFileDatasetConfig",
    "Pipeline",
    "PipelineData",
    "PipelineDataInput",
    "PipelineParameter",
    "PipelineRun",
    "PortDataReference",
    "StepRun",
    "StepRunOutput",
    "StepSequence",
    "TrainingOutput",
]
