"""``ScriptRunConfig`` and its submission: validate, record the run, start its monitor process."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_hex
from hyperpipe._record import Record
from hyperpipe._surface import SdkV1Surface
from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._background import start_in_background
from hyperpipe.core._environment import environment_record
from hyperpipe.data._consumption import DatasetConsumptionConfig
from hyperpipe.data._dataset import AbstractDataset
from hyperpipe.exceptions import ExperimentExecutionException, UserErrorException
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from hyperpipe.core._environment import Environment
    from hyperpipe.core._experiment import Experiment
    from hyperpipe.core._run import ScriptRun
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.core.runconfig import RunConfiguration

__all__ = ["ScriptRunConfig", "format_argument"]


class ScriptRunConfig(SdkV1Surface):
    """A script, its arguments and where to run it; submit it with ``experiment.submit``.

    Without ``run_config`` the target is ``compute_target`` (default ``"local"``); with one, the
    run config's target and environment win, as in SDK v1.
    """

    def __init__(
        self,
        source_directory: str | os.PathLike[str] | None = None,
        script: str | None = None,
        arguments: list[Any] | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values: Any = None,
        compute_target: Any = None,
        environment: Environment | None = None,
        distributed_job_config: Any = None,
        resume_from: Any = None,
        max_run_duration_seconds: int | None = 2592000,
        command: list[str] | str | None = None,
        docker_runtime_config: Any = None,
    ) -> None:
        self.source_directory = os.fspath(source_directory) if source_directory is not None else "."
        self.script = script
        self.arguments = check_arguments(arguments, "ScriptRunConfig")
        self.run_config = run_config
        self.compute_target = compute_target
        self.environment = environment
        self.distributed_job_config = distributed_job_config
        self.max_run_duration_seconds = max_run_duration_seconds
        self.command = command
        self._extra_inputs: list[Any] = []  # datasets given as inputs, not arguments (estimators)
        if run_config is not None:
            self.compute_target = run_config.target
            self.environment = run_config.environment
            self.max_run_duration_seconds = run_config.max_run_duration_seconds
            self.script = script or run_config.script
            self.command = command or getattr(run_config, "command", None)
            self.arguments = check_arguments(
                arguments if arguments is not None else run_config.arguments, "ScriptRunConfig"
            )

    def __repr__(self) -> str:
        return (
            f"ScriptRunConfig(source_directory={self.source_directory!r}, script={self.script!r}, "
            f"arguments={self.arguments!r}, compute_target={self.target_name!r})"
        )

    @property
    def target_name(self) -> str:
        target = self.compute_target
        if target is None:
            return "local"
        return target if isinstance(target, str) else getattr(target, "name", str(target))

    def _submit_to(self, experiment: Experiment, **kwargs: Any) -> ScriptRun:
        return submit_script(experiment, self, **kwargs)


def check_arguments(arguments: Any, owner: str) -> list[Any]:
    """``arguments`` as a list; a string (split into characters by ``list()``) or a single value
    is refused with the fix, as SDK v1 requires a list."""
    if arguments is None:
        return []
    if isinstance(arguments, (str, bytes)):
        raise UserErrorException(
            f"{owner}: arguments must be a list, one item per command-line word, e.g. "
            f"arguments={arguments.split()!r}; got the string {arguments!r}"
        )
    if isinstance(arguments, dict) or not hasattr(arguments, "__iter__"):
        raise UserErrorException(
            f"{owner}: arguments must be a list, e.g. arguments=['--lr', 0.1]; got "
            f"{type(arguments).__name__} {arguments!r}"
        )
    return list(arguments)


def resolve_arguments(
    arguments: list[Any], workspace: Workspace
) -> tuple[list[str], list[dict[str, Any]]]:
    """Arguments as strings, datasets replaced by placeholders; and the inputs they stand for."""
    strings: list[str] = []
    inputs: dict[str, dict[str, Any]] = {}
    for value in arguments:
        if isinstance(value, AbstractDataset):
            value = value.as_named_input(value._auto_input_name())
            value = value.as_mount() if value.dataset._kind == "file" else value
        if isinstance(value, DatasetConsumptionConfig):
            spec = value._to_spec(workspace)
            known = inputs.get(spec["name"])
            if known is not None and known != spec:
                raise UserErrorException(
                    f"two different inputs are named {spec['name']!r}; give each dataset its own "
                    "name with as_named_input(name)"
                )
            inputs[spec["name"]] = spec
            strings.append(value.placeholder)
        else:
            strings.append(format_argument(value))
    return strings, list(inputs.values())


def format_argument(value: Any) -> str:
    """A script argument as the string the process receives; unsupported objects are refused."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise UserErrorException(
        f"argument {value!r} of type {type(value).__name__} cannot be passed to a script; use "
        "str, int, float, bool, a path, or a dataset (dataset.as_named_input(name).as_mount())"
    )


class Submission(Record):
    """What a ``ScriptRunConfig`` resolves to in a workspace, checked before any run exists."""

    source: Path
    argv: list[str]
    target: Any
    arguments: list[str]
    inputs: list[dict[str, Any]]
    environment_variables: dict[str, str]
    interpreter: str | None


def validate_submission(workspace: Workspace, config: ScriptRunConfig) -> Submission:
    """Check everything about ``config`` that can be checked before recording a run."""
    if not config.script and not config.command:
        raise ExperimentExecutionException("ScriptRunConfig needs script= (or command=) to run")
    limit = config.max_run_duration_seconds
    if limit is not None and (
        not isinstance(limit, (int, float)) or isinstance(limit, bool) or not limit > 0
    ):
        raise ExperimentExecutionException(
            "max_run_duration_seconds must be a positive number of seconds (or None for no "
            f"limit), got {limit!r}"
        )
    try:
        source = Path(config.source_directory).resolve()
    except ValueError as exc:  # a NUL character: no file system takes it
        raise ExperimentExecutionException(
            f"source_directory {config.source_directory!r} is not a usable path ({exc}); pass "
            "the folder that holds your script"
        ) from exc
    if not source.is_dir():
        raise ExperimentExecutionException(
            f"source_directory {source} does not exist; pass the folder that holds your script"
        )
    if config.script:
        script_path = source / config.script
        if not script_path.is_file():
            raise ExperimentExecutionException(
                f"script {config.script!r} not found: {script_path} does not exist "
                f"(source_directory={source}); check script= and source_directory="
            )
    # A command (e.g. torchrun for several processes) runs as given; else python runs the script.
    command = config.command.split() if isinstance(config.command, str) else config.command
    target = workspace._target_spec(config.target_name)
    from hyperpipe.core._backends import check_targets

    check_targets(workspace, [target.name])
    arguments, inputs = resolve_arguments(config.arguments, workspace)
    inputs += [c._to_spec(workspace) for c in config._extra_inputs]
    return Submission(
        source=source,
        argv=list(command) if command else [],
        target=target,
        arguments=arguments,
        inputs=inputs,
        environment_variables=dict(getattr(config.environment, "environment_variables", {}) or {}),
        interpreter=getattr(getattr(config.environment, "python", None), "interpreter_path", None),
    )


def distribution(job: Any) -> dict[str, int] | None:
    """``PyTorchConfiguration`` / ``MpiConfiguration`` as nodes and processes per node; None for
    a run of one process."""
    if job is None:
        return None
    nodes = int(getattr(job, "node_count", 1) or 1)
    if hasattr(job, "process_count_per_node"):
        per_node = int(job.process_count_per_node or 1)
    else:
        total = getattr(job, "process_count", None) or nodes
        if total % nodes:
            raise ExperimentExecutionException(
                f"process_count={total} is not a multiple of node_count={nodes}; give each node "
                "the same number of processes"
            )
        per_node = total // nodes
    if nodes < 1 or per_node < 1:
        raise ExperimentExecutionException(
            f"node_count={nodes} and processes per node={per_node} must be at least 1"
        )
    return (
        None if nodes * per_node == 1 else {"node_count": nodes, "process_count_per_node": per_node}
    )


def submit_script(experiment: Experiment, config: ScriptRunConfig, **kwargs: Any) -> ScriptRun:
    """Check everything that can be checked here, record the run, then start its monitor."""
    from hyperpipe.core._run import Run

    workspace = experiment.workspace
    checked = validate_submission(workspace, config)
    source, argv, target = checked.source, checked.argv, checked.target
    arguments, inputs = checked.arguments, checked.inputs
    environment_variables, interpreter = checked.environment_variables, checked.interpreter

    run_id = f"{experiment.name}_{int(time.time())}_{uuid4_hex()[:8]}"
    datastore = workspace.get_default_datastore()
    log_path = datastore._local_path(_paths.artifact_prefix(run_id) + _paths.DRIVER_LOG)
    if log_path is None:
        log_path = _paths.run_dir(workspace.root, run_id) / _paths.DRIVER_LOG
    record = workspace._store.create_run(
        experiment_name=experiment.name,
        run_id=run_id,
        run_type="azureml.scriptrun",
        target=target.name,
        definition={
            "script": config.script,
            "command": argv or None,
            "arguments": arguments,
            "inputs": inputs,
            "source_directory": str(source),
            "target": target.name,
            "environment_variables": environment_variables,
            "environment": environment_record(config.environment),
            "python": interpreter or sys.executable,
            "log_path": str(log_path),
            "datastore": datastore.name,
            "max_run_duration_seconds": config.max_run_duration_seconds,
            "distributed": distribution(config.distributed_job_config),
            "submitted_by": _user(),
        },
        **_lifecycle.process_identity(),  # responsible until its monitor is recorded
    )
    try:
        start_in_background(workspace, run_id, "hyperpipe.core._launcher")
    except Exception as exc:
        workspace._store.set_status(
            run_id,
            RunStatus.FAILED,
            error={"error": {"code": "SystemError", "message": f"could not start the run: {exc}"}},
        )
        raise
    return Run._from_record(experiment, workspace._store.get_run(record.id))  # type: ignore[return-value]


def _user() -> str:
    import getpass  # loads termios and pwd: only when a run is submitted

    return getpass.getuser()
