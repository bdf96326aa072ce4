"""Data flowing between steps: ``PipelineData`` and ``PipelineParameter`` (SDK v1 semantics)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hyperpipe.data.datapath import DataPath, DataPathComputeBinding
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.data._datastore import Datastore
    from hyperpipe.pipeline.steps._base import PipelineStep

__all__ = [
    "DATA_REFERENCE_PREFIX",
    "DataPathInput",
    "PipelineData",
    "PipelineDataInput",
    "PipelineParameter",
]

DATA_REFERENCE_PREFIX = "AZUREML_DATAREFERENCE_"
_WORD = re.compile(r"^\w+$")
_MODES = ("mount", "upload")


def check_port_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _WORD.match(name):
        raise UserErrorException(
            f"{what} {name!r} is invalid: use letters, digits and '_' only (it names an "
            "environment variable)"
        )
    return name


class PipelineData:
    """An intermediate output of one step that later steps consume.

    The producing step gets a path to write (which may not exist yet: create the folder, or
    write a file there); consumers get the committed result. ``str(data)`` is
    ``$AZUREML_DATAREFERENCE_<name>``, replaced by the path in a step's arguments.
    """

    def __init__(
        self,
        name: str,
        datastore: Datastore | None = None,
        output_name: str | None = None,
        output_mode: str = "mount",
        output_path_on_compute: str | None = None,
        output_overwrite: bool | None = None,
        data_type: str | None = None,
        is_directory: bool | None = None,
        pipeline_output_name: str | None = None,
        training_output: Any = None,
    ) -> None:
        self._name = check_port_name(name, "PipelineData name")
        self._output_name = check_port_name(output_name or name, "output_name")
        if output_mode not in _MODES:
            raise UserErrorException(
                f"output_mode must be 'mount' or 'upload', got {output_mode!r}"
            )
        if pipeline_output_name is not None:
            check_port_name(pipeline_output_name, "pipeline_output_name")
        self.datastore = datastore
        self._output_mode = output_mode
        self._output_path_on_compute = output_path_on_compute
        self.is_directory = is_directory
        self.pipeline_output_name = pipeline_output_name
        self.training_output = training_output
        self._producers: list[PipelineStep] = []  # steps listing it as an output

    @property
    def name(self) -> str:
        return self._name

    @property
    def output_name(self) -> str:
        return self._output_name

    @property
    def datastore_name(self) -> str | None:
        return self.datastore.name if self.datastore is not None else None

    def get_env_variable_name(self) -> str:
        return f"${DATA_REFERENCE_PREFIX}{self._name}"

    def __str__(self) -> str:
        return self.get_env_variable_name()

    def __repr__(self) -> str:
        return f"PipelineData(name={self._name!r}, output_name={self._output_name!r})"

    def as_mount(self, input_name: str | None = None) -> PipelineDataInput:
        return PipelineDataInput(self, "mount", input_name)

    def as_download(
        self,
        input_name: str | None = None,
        path_on_compute: str | None = None,
        overwrite: bool | None = None,
    ) -> PipelineDataInput:
        return PipelineDataInput(self, "download", input_name, path_on_compute)

    def as_input(self, input_name: str) -> PipelineDataInput:
        return PipelineDataInput(self, "mount", input_name)


class PipelineDataInput:
    """A ``PipelineData`` consumed by a step in a given mode (SDK v1's InputPortBinding)."""

    def __init__(
        self,
        data: PipelineData,
        mode: str = "mount",
        input_name: str | None = None,
        path_on_compute: str | None = None,
    ) -> None:
        if mode not in ("mount", "download"):
            raise UserErrorException(f"input mode must be 'mount' or 'download', got {mode!r}")
        self.data = data
        self.mode = mode
        self.name = check_port_name(input_name or data.name, "input name")
        self.path_on_compute = path_on_compute

    def __str__(self) -> str:
        return f"${DATA_REFERENCE_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"PipelineDataInput(data={self.data.name!r}, mode={self.mode!r}, name={self.name!r})"


class PipelineParameter:
    """A value chosen at submit time (``pipeline_parameters={name: value}``), else the default."""

    _TYPES = (bool, int, float, str, DataPath)

    def __init__(self, name: str, default_value: Any) -> None:
        check_port_name(name, "PipelineParameter name")
        if not isinstance(default_value, self._TYPES) and not hasattr(default_value, "_kind"):
            raise UserErrorException(
                f"PipelineParameter {name!r}: default value {default_value!r} of type "
                f"{type(default_value).__name__} is not supported; use int, float, bool, str, "
                "DataPath or a dataset"
            )
        if isinstance(default_value, str) and "\n" in default_value:
            raise UserErrorException(
                f"PipelineParameter {name!r}: multi-line strings are not supported"
            )
        self.name = name
        self.default_value = default_value

    @property
    def type_name(self) -> str:
        for kind, label in (
            (bool, "bool"),
            (int, "int"),
            (float, "float"),
            (str, "string"),
            (DataPath, "datapath"),
        ):
            if isinstance(self.default_value, kind):
                return label
        return "dataset"

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


class DataPathInput:
    """A ``DataPath`` parameter consumed by a step, SDK v1's
    ``(PipelineParameter(name, DataPath(...)), DataPathComputeBinding(mode))`` pair.

    The input is named after the parameter; where it points is chosen at submit time.
    """

    def __init__(self, parameter: PipelineParameter, binding: DataPathComputeBinding) -> None:
        if not isinstance(parameter, PipelineParameter) or parameter.type_name != "datapath":
            raise UserErrorException(
                f"a DataPathComputeBinding goes with a PipelineParameter whose default is a "
                f"DataPath, got {parameter!r}"
            )
        if not isinstance(binding, DataPathComputeBinding):
            raise UserErrorException(
                f"expected (PipelineParameter, DataPathComputeBinding), got {binding!r} as the "
                "binding"
            )
        self.parameter = parameter
        self.binding = binding
        self.name = parameter.name

    @classmethod
    def from_value(cls, value: Any) -> DataPathInput | None:
        """The input a ``(parameter, binding)`` pair stands for; None for anything else."""
        if isinstance(value, DataPathInput):
            return value
        if (
            isinstance(value, tuple)
            and len(value) == 2
            and isinstance(value[1], DataPathComputeBinding)
        ):
            return cls(value[0], value[1])
        return None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DataPathInput)
            and other.parameter is self.parameter
            and other.binding.mode == self.binding.mode
        )

    def __hash__(self) -> int:
        return hash((id(self.parameter), self.binding.mode))

    def __str__(self) -> str:
        return f"${DATA_REFERENCE_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"DataPathInput(parameter={self.name!r}, mode={self.binding.mode!r})"
