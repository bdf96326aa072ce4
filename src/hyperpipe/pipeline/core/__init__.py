"""``hyperpipe.pipeline.core``: pipelines, their data and runs, published pipelines, endpoints
and schedules (``azureml.pipeline.core``)."""

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
from hyperpipe.pipeline.core._published import (
    PipelineEndpoint,
    PipelineIdVersion,
    PipelineVersion,
    PublishedPipeline,
)
from hyperpipe.pipeline.core.schedule import Schedule, ScheduleRecurrence, TimeZone

__all__ = [
    "OutputFileDatasetConfig",
    "Pipeline",
    "PipelineData",
    "PipelineDataInput",
    "PipelineEndpoint",
    "PipelineIdVersion",
    "PipelineParameter",
    "PipelineRun",
    "PipelineVersion",
    "PortDataReference",
    "PublishedPipeline",
    "Schedule",
    "ScheduleRecurrence",
    "StepRun",
    "StepRunOutput",
    "StepSequence",
    "TimeZone",
    "TrainingOutput",
]
