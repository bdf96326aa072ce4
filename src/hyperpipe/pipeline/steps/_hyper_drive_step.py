"""``HyperDriveStep``: a hyperparameter sweep as a pipeline step, writing SDK v1's metrics JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperpipe.data._data_reference import DataReference
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.core._pipeline_data import PipelineData
from hyperpipe.pipeline.steps._base import PipelineStep

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["HyperDriveStep"]


class HyperDriveStep(PipelineStep):
    """Runs ``hyperdrive_config``'s sweep; every trial gets the step's inputs and arguments.

    ``metrics_output`` (a ``PipelineData``) receives one JSON file: trial run id → metric name →
    list of logged values, as SDK v1 writes it; so does any output whose ``training_output`` is
    ``TrainingOutput("Metrics")``. An output with ``TrainingOutput("Model", model_file=...)``
    receives the best trial's model file (or folder; its whole ``outputs/`` folder without
    ``model_file``). ``HyperDriveStepRun(step_run)`` reads the sweep after the pipeline ran.
    Reuse covers the sweep's whole definition (space, sampling, policy, budget, metric) besides
    the script, arguments and inputs.
    """

    _type = "HyperDriveStep"
    _takes_training_outputs = True

    def __init__(
        self,
        name: str,
        hyperdrive_config: Any,
        estimator_entry_script_arguments: Sequence[Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        metrics_output: PipelineData | DataReference | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
    ) -> None:
        from hyperpipe.train.hyperdrive._config import HyperDriveConfig

        if not isinstance(name, str) or not name:
            raise UserErrorException(f"HyperDriveStep needs a name (a string), got {name!r}")
        if not isinstance(hyperdrive_config, HyperDriveConfig):
            raise UserErrorException(
                f"HyperDriveStep {name!r}: hyperdrive_config must be a HyperDriveConfig, got "
                f"{type(hyperdrive_config).__name__}"
            )
        estimator = hyperdrive_config.estimator
        src_arguments = list(hyperdrive_config.run_config.arguments) if estimator is None else []
        if estimator is not None:
            if estimator.script_params:
                raise UserErrorException(
                    f"HyperDriveStep {name!r}: arguments in the estimator's script_params should "
                    "not be provided; use estimator_entry_script_arguments on the step"
                )
            if estimator_entry_script_arguments is None:
                raise UserErrorException(
                    f"HyperDriveStep {name!r}: estimator_entry_script_arguments is required with "
                    "an estimator (use [] when there are none)"
                )
        if estimator_entry_script_arguments is not None and not isinstance(
            estimator_entry_script_arguments, list
        ):
            raise UserErrorException(
                f"HyperDriveStep {name!r}: estimator_entry_script_arguments must be a list, got "
                f"{type(estimator_entry_script_arguments).__name__}"
            )
        if estimator is None and estimator_entry_script_arguments and src_arguments:
            raise UserErrorException(
                f"HyperDriveStep {name!r}: give the arguments either in the ScriptRunConfig or in "
                "estimator_entry_script_arguments, not both"
            )
        if metrics_output is not None and not isinstance(metrics_output, PipelineData):
            raise UserErrorException(
                f"HyperDriveStep {name!r}: metrics_output must be a PipelineData, got "
                f"{type(metrics_output).__name__}"
            )
        arguments = list(estimator_entry_script_arguments or src_arguments)
        all_outputs = list(outputs or [])
        if metrics_output is not None and all(o is not metrics_output for o in all_outputs):
            all_outputs.append(metrics_output)
        # As in SDK v1, the step's inputs replace those the estimator declared.
        all_inputs = (
            list(inputs) if inputs is not None else hyperdrive_config.run_config._extra_inputs
        )
        super().__init__(
            name,
            inputs=all_inputs,
            outputs=all_outputs,
            arguments=arguments,
            allow_reuse=allow_reuse,
            version=version,
        )
        self.hyperdrive_config = hyperdrive_config
        self.metrics_output = metrics_output
        for data in self._outputs:
            training = data.training_output
            if training is not None and (training.iteration or training.metric):
                raise UserErrorException(
                    f"HyperDriveStep {name!r}: output {data.name!r} gives TrainingOutput "
                    "iteration= or metric=, which pick an AutoML model; a HyperDriveStep's "
                    "model output is its best trial by the primary metric (model_file= picks "
                    "the file)"
                )
        config = hyperdrive_config.run_config
        self.script_name = config.script
        self.source_directory = config.source_directory
        self.runconfig = None
        self.params: dict[str, Any] = {}
        self.compute_target = config.target_name
