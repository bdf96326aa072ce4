"""SDK v1's deprecated estimators (``Estimator``, ``PyTorch``) as run configurations.

An estimator becomes a ``ScriptRunConfig``: ``script_params`` become arguments (a ``""`` value
gives a bare flag), dataset ``inputs`` become named inputs of the run (and of every trial when
tuned), packages are recorded on the environment (not installed: runs use this interpreter), and
``process_count_per_node > 1`` launches the script with ``torchrun`` on this machine.
"""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from typing import Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.core._environment import Environment
from hyperpipe.core._script_run_config import ScriptRunConfig
from hyperpipe.data._consumption import DatasetConsumptionConfig
from hyperpipe.exceptions import UserErrorException

__all__ = ["Estimator", "PyTorch"]

SUPPORTED_PYTORCH = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6")
DEFAULT_PYTORCH = "1.4"


class Estimator(SdkV1Surface):
    """A training script with its parameters, packages and compute target (deprecated in SDK v1:
    use ScriptRunConfig)."""

    def __init__(
        self,
        source_directory: str,
        *,
        compute_target: Any = None,
        vm_size: str | None = None,
        vm_priority: str | None = None,
        entry_script: str | None = None,
        script_params: dict[str, Any] | None = None,
        node_count: int = 1,
        process_count_per_node: int = 1,
        distributed_backend: str | None = None,
        distributed_training: Any = None,
        use_gpu: bool = False,
        use_docker: bool = True,
        custom_docker_base_image: str | None = None,
        custom_docker_image: str | None = None,
        image_registry_details: Any = None,
        user_managed: bool = False,
        conda_packages: list[str] | None = None,
        pip_packages: list[str] | None = None,
        conda_dependencies_file_path: str | None = None,
        pip_requirements_file_path: str | None = None,
        conda_dependencies_file: str | None = None,
        pip_requirements_file: str | None = None,
        environment_variables: dict[str, str] | None = None,
        environment_definition: Environment | None = None,
        inputs: list[Any] | None = None,
        source_directory_data_store: Any = None,
        shm_size: str | None = None,
        resume_from: Any = None,
        max_run_duration_seconds: int | None = None,
        **kwargs: Any,
    ) -> None:
        warnings.warn(
            f"{type(self).__name__} estimators are deprecated; use ScriptRunConfig",
            FutureWarning,  # shown by default, as SDK v1 showed its deprecation message
            stacklevel=3 if type(self) is not Estimator else 2,
        )
        if not entry_script:
            raise UserErrorException(
                f"{type(self).__name__} needs entry_script= (the script to run)"
            )
        processes = process_count_per_node
        processes *= getattr(distributed_training, "process_count_per_node", 1)
        if node_count > 1:
            raise UserErrorException(
                f"node_count={node_count}: local compute runs on one machine; use node_count=1 "
                "(and process_count_per_node for several processes)"
            )
        for item in inputs or []:
            if not isinstance(item, DatasetConsumptionConfig):
                raise UserErrorException(
                    f"estimator input {item!r} is not supported; give datasets as "
                    "dataset.as_named_input('name') (or .as_mount())"
                )
        self.source_directory = source_directory
        self.entry_script = entry_script
        self.compute_target = compute_target
        self.script_params = dict(script_params or {})
        self.process_count = processes
        self.use_gpu = use_gpu
        self.inputs = list(inputs or [])
        self.max_run_duration_seconds = max_run_duration_seconds
        environment = environment_definition or Environment(
            f"{type(self).__name__.lower()}-environment"
        )
        environment.environment_variables.update(environment_variables or {})
        environment.environment_variables.pop("EXAMPLE_ENV_VAR", None)
        for package in pip_packages or []:
            environment.python.conda_dependencies.add_pip_package(package)
        for package in conda_packages or []:
            environment.python.conda_dependencies.add_conda_package(package)
        self.environment = environment

    def _arguments(self) -> list[Any]:
        arguments: list[Any] = []
        for key, value in self.script_params.items():
            arguments.append(key)
            if value != "":
                arguments.append(value)
        return arguments

    def _to_script_run_config(self, arguments: list[Any] | None = None) -> ScriptRunConfig:
        """The run configuration this estimator stands for."""
        command = None
        if self.process_count > 1:
            command = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",
                f"--nproc_per_node={self.process_count}",
                self.entry_script,
            ]
        config = ScriptRunConfig(
            source_directory=self.source_directory,
            script=self.entry_script,
            arguments=self._arguments() if arguments is None else arguments,
            compute_target=self.compute_target,
            environment=self.environment,
            max_run_duration_seconds=self.max_run_duration_seconds,
            command=command,
        )
        config._extra_inputs = list(self.inputs)
        return config

    def _submit_to(self, experiment: Any, **kwargs: Any) -> Any:
        config = self._to_script_run_config()
        _warn_gpu(self, experiment.workspace)
        return config._submit_to(experiment, **kwargs)


class PyTorch(Estimator):
    """SDK v1's PyTorch estimator. ``framework_version`` is recorded; the installed torch runs."""

    def __init__(
        self, source_directory: str, *, framework_version: str | None = None, **kwargs: Any
    ) -> None:
        if framework_version is None:
            warnings.warn(
                f"framework_version is not specified, defaulting to {DEFAULT_PYTORCH}",
                UserWarning,
                stacklevel=2,
            )
            framework_version = DEFAULT_PYTORCH
        if framework_version not in SUPPORTED_PYTORCH:
            raise UserErrorException(
                f"PyTorch framework_version {framework_version!r} is not one SDK v1 knew; use one "
                f"of {list(SUPPORTED_PYTORCH)} (the installed torch runs either way)"
            )
        installed = _installed("torch")
        if installed is None or not installed.startswith(framework_version):
            warnings.warn(
                f"PyTorch {framework_version} is recorded on the run but not installed; this "
                f"interpreter's torch ({installed or 'none'}) runs the script",
                UserWarning,
                stacklevel=2,
            )
        super().__init__(source_directory, **kwargs)
        self.framework_version = framework_version
        self.environment.environment_variables.setdefault("NCCL_TREE_THRESHOLD", "0")


def _installed(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _warn_gpu(estimator: Estimator, workspace: Any) -> None:
    target = workspace._target_spec(
        estimator.compute_target
        if isinstance(estimator.compute_target, str) or estimator.compute_target is None
        else estimator.compute_target.name
    )
    warn_if_no_gpus(estimator, target, stacklevel=4)


def warn_if_no_gpus(estimator: Any, target: Any, stacklevel: int = 2) -> None:
    """SDK v1's ``use_gpu=True`` asked for a GPU image; here it asks for the target's GPUs. A run
    on a target without GPUs sees none (``CUDA_VISIBLE_DEVICES`` is empty), so it runs on the
    CPU: say so."""
    if getattr(estimator, "use_gpu", False) and not target.gpus:
        warnings.warn(
            f"use_gpu=True but compute target {target.name!r} has no GPUs; the script runs on "
            "the CPU",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
