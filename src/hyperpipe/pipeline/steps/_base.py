"""What every pipeline step shares: its ports (inputs and outputs), ordering, and validation.

Steps check what can be checked alone when they are built; the pipeline checks the rest (scripts,
targets, the graph) when it is built.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.core._script_run_config import check_arguments
from hyperpipe.data._consumption import DatasetConsumptionConfig
from hyperpipe.data._data_reference import DataReference
from hyperpipe.data._dataset import AbstractDataset
from hyperpipe.data.datapath import DataPath
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.core._pipeline_data import (
    DataPathInput,
    PipelineData,
    PipelineDataInput,
    PipelineParameter,
)
from hyperpipe.pipeline.core._port_data import PortDataReference

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ArgumentValue", "InputBinding", "PipelineStep"]

InputBinding = PipelineDataInput | DatasetConsumptionConfig | DataReference | DataPathInput
ArgumentValue = Any
_STEP_NAME = re.compile(r"^[\w][\w\-. ]{0,254}$")


class PipelineStep(SdkV1Surface):
    """A node of a pipeline. ``run_after(other)`` orders two steps with no data between them."""

    _type = "PipelineStep"
    _takes_training_outputs = False  # TrainingOutput outputs: HyperDriveStep's only

    def __init__(
        self,
        name: str,
        *,
        inputs: Sequence[Any] | None,
        outputs: Sequence[Any] | None,
        arguments: Sequence[Any] | None,
        allow_reuse: bool,
        version: str | None,
    ) -> None:
        if not isinstance(name, str) or not _STEP_NAME.match(name):
            raise UserErrorException(
                f"step name {name!r} is invalid: use letters, digits, '_', '-', '.' or spaces"
            )
        self.name = name
        self.allow_reuse = bool(allow_reuse)
        self.version = None if version is None else str(version)
        self._run_after: list[PipelineStep] = []
        self._outputs = [self._check_output(o) for o in outputs or []]
        self._inputs = [self._check_input(i) for i in inputs or []]
        self._arguments = check_arguments(arguments, f"step {name!r}")
        self._add_argument_inputs()
        self._check_ports()
        for data in self._outputs:
            data._producers.append(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def run_after(self, step: PipelineStep) -> None:
        """Run this step only once ``step`` has finished."""
        if not isinstance(step, PipelineStep):
            raise UserErrorException(f"run_after needs a pipeline step, got {step!r}")
        self._run_after.append(step)

    # -- validation ---------------------------------------------------------------------------

    def _check_output(self, value: Any) -> PipelineData:
        if isinstance(value, PipelineData):
            if value.training_output is not None and not self._takes_training_outputs:
                raise UserErrorException(
                    f"step {self.name!r}: output {value.name!r} has training_output="
                    f"{value.training_output!r}, which only a HyperDriveStep fills (with its "
                    "metrics or its best trial's model); drop training_output here"
                )
            return value
        raise UserErrorException(
            f"step {self.name!r}: output {value!r} of type {type(value).__name__} is not "
            "supported; outputs are PipelineData objects"
        )

    def _check_input(self, value: Any) -> InputBinding:
        if isinstance(value, PipelineData):
            return value.as_mount()
        if DataPathInput.matches(value):
            return DataPathInput(*value)
        if isinstance(value, PortDataReference):  # an output of an earlier pipeline run
            return value.data_reference
        if isinstance(
            value, (PipelineDataInput, DatasetConsumptionConfig, DataReference, DataPathInput)
        ):
            return value
        if isinstance(value, AbstractDataset):
            raise UserErrorException(
                f"step {self.name!r}: a dataset cannot be an input as it is; call "
                "dataset.as_named_input('name') (and .as_mount() or .as_download())"
            )
        raise UserErrorException(
            f"step {self.name!r}: input {value!r} of type {type(value).__name__} is not "
            "supported; use PipelineData, dataset.as_named_input(name), a DataReference or "
            "(PipelineParameter(name, DataPath(...)), DataPathComputeBinding())"
        )

    def _add_argument_inputs(self) -> None:
        """Dataset inputs and outputs in the arguments are added to the step's inputs and
        outputs (as SDK v1 does); ``PipelineData`` there must be declared."""
        from hyperpipe.pipeline.core._output_dataset import OutputFileDatasetConfig

        for value in self._arguments:
            if isinstance(value, OutputFileDatasetConfig) and all(
                value.name != o.name for o in self._outputs
            ):
                self._outputs.append(value)
            if (
                isinstance(value, PipelineDataInput)
                and isinstance(value.data, OutputFileDatasetConfig)
                and all(value is not i for i in self._inputs)
            ):
                self._inputs.append(value)
        ports = {id(i.data) for i in self._inputs if isinstance(i, PipelineDataInput)}
        ports |= {id(o) for o in self._outputs}
        names = {i.name for i in self._inputs if isinstance(i, DatasetConsumptionConfig)}
        self._arguments = [self._datapath_argument(value) for value in self._arguments]
        for value in self._arguments:
            if isinstance(value, AbstractDataset):
                raise UserErrorException(
                    f"step {self.name!r}: argument {value!r} is a dataset; pass "
                    "dataset.as_named_input('name') instead"
                )
            if isinstance(value, DatasetConsumptionConfig) and value.name not in names:
                self._inputs.append(value)
                names.add(value.name)
            data = value.data if isinstance(value, PipelineDataInput) else value
            if isinstance(data, PipelineData) and id(data) not in ports:
                raise UserErrorException(
                    f"step {self.name!r}: {data.name!r} appears in arguments but not in inputs "
                    "or outputs; add it to inputs=[...] or outputs=[...]"
                )
            if not isinstance(
                value,
                (
                    str,
                    int,
                    float,
                    bool,
                    PipelineData,
                    PipelineDataInput,
                    PipelineParameter,
                    DatasetConsumptionConfig,
                    DataReference,
                    DataPathInput,
                ),
            ):
                raise UserErrorException(
                    f"step {self.name!r}: argument {value!r} of type {type(value).__name__} is "
                    "not supported; use str, int, float, bool, PipelineData, PipelineParameter "
                    "or a dataset input"
                )

    def _datapath_argument(self, value: Any) -> Any:
        """A ``(PipelineParameter, DataPathComputeBinding)`` argument as the step's matching
        input (added to the inputs when missing); a bare DataPath parameter is refused."""
        if isinstance(value, PipelineParameter) and isinstance(value.default_value, DataPath):
            raise UserErrorException(
                f"step {self.name!r}: PipelineParameter {value.name!r} holds a DataPath; pass "
                "(parameter, DataPathComputeBinding(mode='mount')) in arguments and inputs so "
                "the step gets a local path"
            )
        if not (DataPathInput.matches(value) or isinstance(value, DataPathInput)):
            return value
        name = value.name if isinstance(value, DataPathInput) else value[0].name
        for known in self._inputs:
            if isinstance(known, DataPathInput) and known.name == name:
                return known
        binding = value if isinstance(value, DataPathInput) else DataPathInput(*value)
        self._inputs.append(binding)
        return binding

    def _check_ports(self) -> None:
        outputs = [o.output_name for o in self._outputs]
        if len(set(outputs)) != len(outputs):
            raise UserErrorException(f"step {self.name!r} declares an output name twice: {outputs}")
        seen = set(outputs)
        for binding in self._inputs:
            name = (
                binding.name
                if not isinstance(binding, DataReference)
                else binding.data_reference_name
            )
            if name in seen:
                if isinstance(binding, PipelineDataInput) and name in outputs:
                    binding.name = f"INPUT_{name}"  # SDK v1's fix for an input named like an output
                    continue
                raise UserErrorException(
                    f"step {self.name!r} has two inputs or outputs named {name!r}; give them "
                    "distinct names"
                )
            seen.add(name)
