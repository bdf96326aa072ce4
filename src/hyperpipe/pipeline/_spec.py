"""Step specs: what a pipeline run records about each step, self-contained and JSON.

A spec holds everything needed to run the step again in any process (resume): the script and
its stored snapshot, arguments as tokens (literals, or ``{"port": name}`` / ``{"dataset": name}``
replaced by paths when the step starts), inputs, outputs. Specs are made as templates where each
pipeline parameter is a ``{"parameter": name}`` token (``_template`` binds them at submit), so a
published pipeline keeps its specs and binds new values each time it is submitted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.core._environment import environment_record
from hyperpipe.core._snapshot import store_snapshot
from hyperpipe.data._consumption import DatasetConsumptionConfig
from hyperpipe.data._data_reference import DataReference
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.core._pipeline_data import (
    DataPathInput,
    PipelineData,
    PipelineDataInput,
    PipelineParameter,
)

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.pipeline.steps._base import PipelineStep
    from hyperpipe.pipeline.steps._python_script_step import PythonScriptStep

__all__ = ["DEFAULT_PATH", "source_directory_of", "step_spec"]

DEFAULT_PATH = "azureml/{run-id}/{output-name}"  # SDK v1's place for PipelineData


def source_directory_of(step: PythonScriptStep, default: str | os.PathLike[str] | None) -> Path:
    return Path(step.source_directory or default or os.getcwd()).resolve()


def step_spec(
    step: PythonScriptStep,
    *,
    workspace: Workspace,
    default_source_directory: str | os.PathLike[str] | None,
    default_datastore: str,
    depends_on: set[str],
    snapshots: dict[Path, tuple[str, dict[str, str]]] | None = None,
) -> dict[str, Any]:
    """The JSON description of ``step``, pipeline parameters left as ``{"parameter": name}``.

    ``snapshots`` holds the snapshots already stored for this pipeline, by source folder: steps
    that share a folder (most do) share one snapshot, read once.
    """
    source = source_directory_of(step, default_source_directory)
    snapshots = {} if snapshots is None else snapshots
    if source not in snapshots:
        snapshots[source] = store_snapshot(source, workspace.state_dir / "snapshots")
    snapshot, files = snapshots[source]
    ports = _ports(step)
    environment = dict(
        getattr(getattr(step.runconfig, "environment", None), "environment_variables", {}) or {}
    )
    environment.pop("EXAMPLE_ENV_VAR", None)
    environment.update(getattr(step.runconfig, "environment_variables", {}) or {})
    return {
        "name": step.name,
        "type": step._type,
        "script": step.script_name,
        "source_directory": str(source),
        "snapshot": snapshot,
        "source_files": files,
        "arguments": [_token(step, value, ports) for value in step._arguments],
        "params": {name: _param(value) for name, value in sorted(step.params.items())},
        "target": step.compute_target or "local",
        "allow_reuse": step.allow_reuse,
        "version": step.version,
        "environment_variables": environment,
        "environment": environment_record(_environment_of(step)),
        "inputs": [_input(binding, workspace) for binding in step._inputs],
        "outputs": [
            {
                "name": data.output_name,
                "data": data.name,
                "datastore": data.datastore_name or default_datastore,
                "mode": data._output_mode,
                "path_on_compute": data._output_path_on_compute,
                "pipeline_output_name": data.pipeline_output_name,
                "destination": getattr(data, "destination_path", DEFAULT_PATH),
                "register": getattr(data, "registration", None),
                "training_output": _training_output(step, data),
            }
            for data in step._outputs
        ],
        "depends_on": sorted(depends_on),
        **_hyperdrive(step, workspace),
        **_command(step),
    }


def _environment_of(step: Any) -> Any:
    """The environment a step's run configuration names (a sweep's: its trials')."""
    config = getattr(step, "hyperdrive_config", None)
    if config is not None:
        return config.run_config.environment
    return getattr(step.runconfig, "environment", None)


def _training_output(step: Any, data: PipelineData) -> dict[str, Any] | None:
    """What a HyperDriveStep writes to this output: metrics JSON or the best trial's model."""
    if data is getattr(step, "metrics_output", None):
        return {"type": "Metrics", "model_file": None}
    training = data.training_output
    return training._to_json() if training is not None else None


def _command(step: Any) -> dict[str, Any]:
    """A CommandStep's process: the command runner (``pipeline._command``)."""
    launcher = getattr(step, "_launcher", None)
    return {"command": launcher()} if launcher is not None else {}


def _hyperdrive(step: Any, workspace: Workspace) -> dict[str, Any]:
    """A HyperDriveStep's sweep; the step process runs it (``train.hyperdrive._step``)."""
    config = getattr(step, "hyperdrive_config", None)
    if config is None:
        return {}
    sweep = config._to_json(workspace)
    sweep.pop("arguments")  # the step's own (resolved) arguments are the trials' base arguments
    sweep.pop("inputs")
    return {
        "hyperdrive": sweep,
        "command": ["-m", "hyperpipe.train.hyperdrive._step"],
        "metrics_output": step.metrics_output.output_name if step.metrics_output else None,
    }


def _ports(step: PipelineStep) -> dict[int, str]:
    """Port name of each data object the step reads or writes (outputs win)."""
    ports = {
        id(binding.data): binding.name
        for binding in step._inputs
        if isinstance(binding, PipelineDataInput)
    }
    ports.update({id(data): data.output_name for data in step._outputs})
    return ports


def _param(value: Any) -> Any:
    return {"parameter": value.name} if isinstance(value, PipelineParameter) else str(value)


def _token(step: PipelineStep, value: Any, ports: dict[int, str]) -> Any:
    if isinstance(value, PipelineParameter):
        if value.type_name == "datapath":
            raise UserErrorException(
                f"step {step.name!r}: PipelineParameter {value.name!r} holds a DataPath; pass "
                "(parameter, DataPathComputeBinding()) as the argument and input instead"
            )
        if value.type_name == "dataset":
            raise UserErrorException(
                f"step {step.name!r}: PipelineParameter {value.name!r} holds a dataset; pass "
                f"DatasetConsumptionConfig('name', {value.name}) as the argument and input "
                "instead"
            )
        return {"parameter": value.name}
    if isinstance(value, DataPathInput):
        return {"port": value.name}
    if isinstance(value, PipelineDataInput):
        return {"port": value.name}
    if isinstance(value, PipelineData):
        return {"port": ports[id(value)]}
    if isinstance(value, DatasetConsumptionConfig):
        return {"dataset": value.name}
    if isinstance(value, DataReference):
        return {"port": value.data_reference_name}
    if isinstance(value, (str, int, float, bool)):
        return str(value)
    raise UserErrorException(f"step {step.name!r}: cannot pass {value!r} as an argument")


def _input(binding: Any, workspace: Workspace) -> dict[str, Any]:
    if isinstance(binding, DataPathInput):  # a "reference" input once the path is bound
        return {
            "kind": "datapath",
            "port": binding.name,
            "parameter": binding.parameter.name,
            "mode": binding.binding.mode,
            "path_on_compute": binding.binding.path_on_compute,
        }
    if isinstance(binding, PipelineDataInput):
        return {
            "kind": "data",
            "port": binding.name,
            "producer": binding.data._producers[0].name,
            "output": binding.data.output_name,
            "mode": binding.mode,
            "path_on_compute": binding.path_on_compute,
            "tabular": getattr(binding.data, "tabular", None),
        }
    if isinstance(binding, DatasetConsumptionConfig):
        if binding.parameter is not None:  # a "dataset" input once the dataset is bound
            return {
                "kind": "dataset_parameter",
                "port": binding.name,
                "name": binding.name,
                "parameter": binding.parameter.name,
                "mode": binding.mode,
                "path_on_compute": binding.path_on_compute,
            }
        # The spec's own "kind" (file/tabular) must not replace the input kind "dataset".
        return {**binding._to_spec(workspace), "kind": "dataset", "port": binding.name}
    return {
        "kind": "reference",
        "port": binding.data_reference_name,
        "datastore": binding.datastore.name,
        "path": binding.path_on_datastore or "",
        "mode": binding.mode,
        "path_on_compute": binding.path_on_compute,
    }
