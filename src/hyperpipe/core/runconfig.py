"""``hyperpipe.core.runconfig``: run configuration objects, SDK v1's ``azureml.core.runconfig``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.core._environment import Environment
from hyperpipe.exceptions import UserErrorException

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "HistoryConfiguration",
    "MpiConfiguration",
    "PyTorchConfiguration",
    "RunConfiguration",
    "TensorflowConfiguration",
]

DEFAULT_CPU_IMAGE = "hyperpipe/local-cpu"
DEFAULT_GPU_IMAGE = "hyperpipe/local-gpu"


@dataclass
class MpiConfiguration(SdkV1Surface):
    process_count_per_node: int = 1
    node_count: int = 1


@dataclass
class PyTorchConfiguration(SdkV1Surface):
    communication_backend: str = "Nccl"
    process_count: int | None = None
    node_count: int = 1

    def __post_init__(self) -> None:
        backend = self.communication_backend.lower()
        if backend not in ("nccl", "gloo"):
            raise UserErrorException(
                "communication_backend must be 'nccl' or 'gloo', "
                f"got {self.communication_backend!r}"
            )
        self.communication_backend = backend


@dataclass
class TensorflowConfiguration(SdkV1Surface):
    worker_count: int = 1
    parameter_server_count: int = 1


@dataclass
class HistoryConfiguration(SdkV1Surface):
    """What a run keeps: ``outputs/`` (always, here) and the folders watched for logs."""

    output_collection: bool = True
    snapshot_project: bool = True
    directories_to_watch: list[str] = field(default_factory=lambda: ["logs"])


class RunConfiguration(SdkV1Surface):
    """Where and how a script runs: target, environment, node count, arguments.

    ``RunConfiguration(conda_dependencies=deps)`` sets ``environment.python.conda_dependencies``.
    ``save(path, name)`` writes SDK v1's ``.azureml/<name>.runconfig`` YAML (or a file path);
    ``RunConfiguration.load(path, name)`` reads it back (also SDK v1's own files, whose conda
    specification is in a ``condaDependenciesFile``).
    """

    def __init__(
        self,
        script: str | None = None,
        arguments: list[Any] | None = None,
        framework: str | None = None,
        communicator: str | None = None,
        conda_dependencies: Any = None,
        _history_enabled: bool | None = None,
        _path: str | None = None,
        _name: str | None = None,
        command: list[str] | str | None = None,
    ) -> None:
        self.script = script
        self.arguments: list[Any] = list(arguments or [])
        self.command = command
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self._target = "local"
        self.environment = Environment("default-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self.node_count = 1
        self.max_run_duration_seconds: int | None = None
        self.environment_variables: dict[str, str] = {}
        self.history = HistoryConfiguration(
            output_collection=True if _history_enabled is None else bool(_history_enabled)
        )
        self.mpi = MpiConfiguration()
        self.pytorch = PyTorchConfiguration()
        self.tensorflow = TensorflowConfiguration()
        self.data_references: dict[str, Any] = {}
        self.data: dict[str, Any] = {}
        self.output_data: dict[str, Any] = {}
        self._path = _path
        self._name = _name

    @property
    def target(self) -> str:
        """The compute target's name (a ``ComputeTarget`` object may be assigned)."""
        return self._target

    @target.setter
    def target(self, value: Any) -> None:
        self._target = value if isinstance(value, str) else getattr(value, "name", str(value))

    def save(
        self,
        path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        separate_environment_yaml: bool = False,
    ) -> None:
        """Write this configuration as YAML: to ``<path>/.azureml/<name>.runconfig`` when
        ``path`` is a folder (``aml_config/`` if that exists), else to the file ``path``."""
        from hyperpipe.core._runconfig_file import save_runconfig

        save_runconfig(self, path or self._path, name or self._name, separate_environment_yaml)

    @staticmethod
    def load(
        path: str | os.PathLike[str] | None = None, name: str | None = None
    ) -> RunConfiguration:
        """Read a configuration written by ``save`` (or by SDK v1): the file ``path``, or
        ``<path>/.azureml/<name>`` (``.runconfig`` added when missing, ``aml_config/`` too)."""
        from hyperpipe.core._runconfig_file import load_runconfig

        return load_runconfig(path, name)

    @staticmethod
    def delete(path: str | os.PathLike[str], name: str) -> None:
        """Remove the saved configuration ``name`` from the project folder ``path``."""
        from hyperpipe.core._runconfig_file import delete_runconfig

        delete_runconfig(path, name)

    def __repr__(self) -> str:
        return (
            f"RunConfiguration(script={self.script!r}, target={self.target!r}, "
            f"environment={self.environment.name!r})"
        )
