"""``hyperpipe.core.runconfig``: run configuration objects, SDK v1's ``azureml.core.runconfig``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.core._environment import Environment
from hyperpipe.exceptions import UserErrorException

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
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
class RunConfiguration(SdkV1Surface):
    """Where and how a script runs: target, environment, node count."""

    script: str | None = None
    arguments: list[Any] = field(default_factory=list)
    framework: str = "Python"
    communicator: str = "None"
    conda_dependencies: Any = None
    target: str = "local"
    environment: Environment = field(default_factory=lambda: Environment("default-environment"))
    node_count: int = 1
    max_run_duration_seconds: int | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
