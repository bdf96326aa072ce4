"""Data flowing between steps: ``PipelineData`` and ``PipelineParameter`` (SDK v1 semantics)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
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
    "TrainingOutput",
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


class TrainingOutput(SdkV1Surface):
    """What a ``HyperDriveStep`` output receives: ``Metrics`` (SDK v1's metrics JSON, a file) or
    ``Model`` (the best trial's ``model_file`` — a file or a folder among its files — or, without
    ``model_file``, the best trial's whole ``outputs/`` folder).

    ``PipelineData(name, training_output=TrainingOutput("Model", model_file="outputs/model.pt"))``
    in the step's ``outputs`` gives later steps that file at ``$AZUREML_DATAREFERENCE_<name>``.
    ``iteration`` and ``metric`` are AutoML's (pick a model by iteration or metric) and only
    allowed with type ``Model``, one or the other.
    """

    TYPES = ("Metrics", "Model")

    def __init__(
        self,
        type: str,
        iteration: int | None = None,
        metric: str | None = None,
        model_file: str | None = None,
    ) -> None:
        kind = next(
            (t for t in self.TYPES if isinstance(type, str) and t.lower() == type.lower()), None
        )
        if kind is None:
            raise UserErrorException(
                f"TrainingOutput type must be 'Metrics' or 'Model', got {type!r}"
            )
        if kind == "Metrics" and (iteration or metric or model_file):
            raise UserErrorException(
                "TrainingOutput('Metrics') takes no iteration, metric or model_file; those pick "
                "a model: use TrainingOutput('Model', ...)"
            )
        if iteration and metric:
            raise UserErrorException("TrainingOutput('Model') takes iteration or metric, not both")
        self._type = kind
        self._iteration = iteration
        self._metric = metric
        self._model_file = model_file

    @property
    def type(self) -> str:
        return self._type

    @property
    def iteration(self) -> int | None:
        return self._iteration

    @property
    def metric(self) -> str | None:
        return self._metric

    @property
    def model_file(self) -> str | None:
        return self._model_file

    def _to_json(self) -> dict[str, Any]:
        return {"type": self._type, "model_file": self._model_file}

    def __repr__(self) -> str:
        extra = f", model_file={self._model_file!r}" if self._model_file else ""
        return f"TrainingOutput({self._type!r}{extra})"


class PipelineData(SdkV1Surface):
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
        if training_output is not None and not isinstance(training_output, TrainingOutput):
            raise UserErrorException(
                f"PipelineData {name!r}: training_output must be a TrainingOutput, got "
                f"{training_output!r}"
            )
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


class PipelineDataInput(SdkV1Surface):
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


class PipelineParameter(SdkV1Surface):
    """A value chosen at submit time (``pipeline_parameters={name: value}``), else the default."""

    _TYPES = (bool, int, float, str, DataPath)

    def __init__(self, name: str, default_value: Any) -> None:
        check_port_name(name, "PipelineParameter name")
        if not isinstance(default_value, self._TYPES) and not hasattr(default_value, "_kind"):
            raise UserErrorException(
                f"PipelineParameter {name!r}: default value {default_value!r} of type "
                f"{type(default_value).__name__} is not supported; use int, float, bool, str, "
                "a DataPath or a dataset"
            )
        if isinstance(default_value, str) and "\n" in default_value:
            raise UserErrorException(
                f"PipelineParameter {name!r}: multi-line strings are not supported"
            )
        self.name = name
        self.default_value = default_value

    @property
    def type_name(self) -> str:
        for kind, label in ((bool, "bool"), (int, "int"), (float, "float"), (str, "string")):
            if isinstance(self.default_value, kind):
                return label
        return "datapath" if isinstance(self.default_value, DataPath) else "dataset"

    def __str__(self) -> str:
        return f"PipelineParameter_Name:{self.name}_Default:{self.default_value}"

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


class DataPathInput(SdkV1Surface):
    """A ``(PipelineParameter, DataPathComputeBinding)`` step input: the datastore path the
    parameter holds at submit, mounted or downloaded as the binding says. Its port (and its
    ``AZUREML_DATAREFERENCE_<name>`` variable) is named after the parameter."""

    def __init__(self, parameter: PipelineParameter, binding: DataPathComputeBinding) -> None:
        if not isinstance(parameter.default_value, DataPath):
            raise UserErrorException(
                f"PipelineParameter {parameter.name!r} is paired with a DataPathComputeBinding, "
                f"so its default must be a DataPath, got {parameter.default_value!r}"
            )
        self.parameter = parameter
        self.binding = binding
        self.name = parameter.name

    @staticmethod
    def matches(value: Any) -> bool:
        """Whether ``value`` is SDK v1's ``(PipelineParameter, DataPathComputeBinding)`` pair."""
        return (
            isinstance(value, tuple)
            and len(value) == 2
            and isinstance(value[0], PipelineParameter)
            and isinstance(value[1], DataPathComputeBinding)
        )

    def __str__(self) -> str:
        return f"${DATA_REFERENCE_PREFIX}{self.name}"

    def __repr__(self) -> str:
        return f"DataPathInput(parameter={self.name!r}, mode={self.binding.mode!r})"
