"""``hyperpipe.pipeline.core``: pipelines, their data and runs, published pipelines, endpoints
and schedules (``azureml.pipeline.core``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperpipe._lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "OutputFileDatasetConfig": "hyperpipe.pipeline.core._output_dataset",
        "Pipeline": "hyperpipe.pipeline.core._pipeline",
        "StepSequence": "hyperpipe.pipeline.core._pipeline",
        "PipelineData": "hyperpipe.pipeline.core._pipeline_data",
        "PipelineDataInput": "hyperpipe.pipeline.core._pipeline_data",
        "PipelineParameter": "hyperpipe.pipeline.core._pipeline_data",
        "TrainingOutput": "hyperpipe.pipeline.core._pipeline_data",
        "PipelineRun": "hyperpipe.pipeline.core._pipeline_run",
        "StepRun": "hyperpipe.pipeline.core._pipeline_run",
        "PortDataReference": "hyperpipe.pipeline.core._port_data",
        "StepRunOutput": "hyperpipe.pipeline.core._port_data",
        "PipelineEndpoint": "hyperpipe.pipeline.core._published",
        "PipelineIdVersion": "hyperpipe.pipeline.core._published",
        "PipelineVersion": "hyperpipe.pipeline.core._published",
        "PublishedPipeline": "hyperpipe.pipeline.core._published",
        "Schedule": "hyperpipe.pipeline.core.schedule",
        "ScheduleRecurrence": "hyperpipe.pipeline.core.schedule",
        "TimeZone": "hyperpipe.pipeline.core.schedule",
    },
)
