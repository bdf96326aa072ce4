"""The ``azureml`` alias table: each SDK v1 module path and the hyperpipe module it loads.

``None`` marks a namespace: SDK v1 ships it as a namespace package with nothing in it, so here it
only holds its mapped submodules. Several SDK v1 modules may map onto one hyperpipe module; an
aliased module offers every public name of its target. Pure data: nothing is imported here.
"""

from __future__ import annotations

__all__ = ["ALIASES"]

ALIASES: dict[str, str | None] = {
    "azureml": None,
    # azureml-core
    "azureml.core": "hyperpipe.core",
    "azureml.core.authentication": "hyperpipe.core.authentication",
    "azureml.core.compute": "hyperpipe.core.compute",
    "azureml.core.compute.amlcompute": "hyperpipe.core.compute",
    "azureml.core.compute.compute": "hyperpipe.core.compute",
    "azureml.core.compute_target": "hyperpipe.core.compute",
    "azureml.core.conda_dependencies": "hyperpipe.core.conda_dependencies",
    "azureml.core.dataset": "hyperpipe.core.dataset",
    "azureml.core.datastore": "hyperpipe.core",
    "azureml.core.environment": "hyperpipe.core",
    "azureml.core.experiment": "hyperpipe.core",
    "azureml.core.model": "hyperpipe.core",
    "azureml.core.run": "hyperpipe.core",
    "azureml.core.runconfig": "hyperpipe.core.runconfig",
    "azureml.core.script_run_config": "hyperpipe.core",
    "azureml.core.workspace": "hyperpipe.core",
    "azureml.exceptions": "hyperpipe.exceptions",
    # azureml-core's data package
    "azureml.data": "hyperpipe.compat._data",
    "azureml.data.data_reference": "hyperpipe.data",
    "azureml.data.datapath": "hyperpipe.data.datapath",
    "azureml.data.dataset_consumption_config": "hyperpipe.data",
    "azureml.data.file_dataset": "hyperpipe.data",
    "azureml.data.output_dataset_config": "hyperpipe.compat._output_dataset_config",
    "azureml.data.tabular_dataset": "hyperpipe.data",
    # azureml-pipeline-core / -steps
    "azureml.pipeline": None,
    "azureml.pipeline.core": "hyperpipe.pipeline.core",
    "azureml.pipeline.core.builder": "hyperpipe.pipeline.core",
    "azureml.pipeline.core.graph": "hyperpipe.pipeline.core",
    "azureml.pipeline.core.pipeline": "hyperpipe.pipeline.core",
    "azureml.pipeline.core.pipeline_endpoint": "hyperpipe.pipeline.core",
    "azureml.pipeline.core.run": "hyperpipe.pipeline.core",
    "azureml.pipeline.core.schedule": "hyperpipe.pipeline.core.schedule",
    "azureml.pipeline.steps": "hyperpipe.pipeline.steps",
    "azureml.pipeline.steps.command_step": "hyperpipe.pipeline.steps",
    "azureml.pipeline.steps.hyper_drive_step": "hyperpipe.pipeline.steps",
    "azureml.pipeline.steps.python_script_step": "hyperpipe.pipeline.steps",
    # azureml-train-core
    "azureml.train": None,
    "azureml.train.dnn": "hyperpipe.train.dnn",
    "azureml.train.estimator": "hyperpipe.train.dnn",
    "azureml.train.hyperdrive": "hyperpipe.train.hyperdrive",
    "azureml.train.hyperdrive.parameter_expressions": (
        "hyperpipe.train.hyperdrive.parameter_expressions"
    ),
    "azureml.train.hyperdrive.policy": "hyperpipe.train.hyperdrive",
    "azureml.train.hyperdrive.run": "hyperpipe.train.hyperdrive",
    "azureml.train.hyperdrive.runconfig": "hyperpipe.train.hyperdrive",
    "azureml.train.hyperdrive.sampling": "hyperpipe.train.hyperdrive",
    # azureml-widgets
    "azureml.widgets": "hyperpipe.widgets",
}
