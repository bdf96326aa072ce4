"""``RunConfiguration`` files: SDK v1's ``.runconfig`` YAML, written and read back.

The keys are SDK v1's (camelCase: ``script``, ``arguments``, ``target``, ``nodeCount``,
``environment.python.condaDependencies``...). Files SDK v1 wrote keep the conda specification in a
separate file named by ``environment.python.condaDependenciesFile``; both forms load.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.core._environment import Environment
from hyperpipe.core.conda_dependencies import CondaDependencies
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core.runconfig import RunConfiguration

__all__ = ["EXTENSION", "delete_runconfig", "load_runconfig", "save_runconfig"]

EXTENSION = ".runconfig"
CONFIG_FOLDERS = (".azureml", "aml_config")


def _config_folder(project: Path) -> Path:
    """``aml_config/`` when the project has one (SDK v1's older layout), else ``.azureml/``."""
    return project / "aml_config" if (project / "aml_config").is_dir() else project / ".azureml"


def _file_name(name: str) -> str:
    return name if name.endswith(EXTENSION) else name + EXTENSION


def to_dict(config: RunConfiguration) -> dict[str, Any]:
    return {
        "script": config.script,
        "command": config.command,
        "arguments": [str(a) for a in config.arguments],
        "target": config.target,
        "framework": config.framework,
        "communicator": config.communicator,
        "maxRunDurationSeconds": config.max_run_duration_seconds,
        "nodeCount": config.node_count,
        "environmentVariables": dict(config.environment_variables),
        "environment": {**config.environment._definition(), "version": config.environment.version},
        "history": {
            "outputCollection": config.history.output_collection,
            "snapshotProject": config.history.snapshot_project,
            "directoriesToWatch": list(config.history.directories_to_watch),
        },
        "mpi": {"processCountPerNode": config.mpi.process_count_per_node},
        "pytorch": {
            "communicationBackend": config.pytorch.communication_backend,
            "processCount": config.pytorch.process_count,
        },
        "tensorflow": {
            "workerCount": config.tensorflow.worker_count,
            "parameterServerCount": config.tensorflow.parameter_server_count,
        },
        "dataReferences": dict(config.data_references),
        "data": dict(config.data),
        "outputData": dict(config.output_data),
    }


def from_dict(raw: dict[str, Any], base: Path, where: Path) -> RunConfiguration:
    from hyperpipe.core.runconfig import RunConfiguration

    config = RunConfiguration(
        script=raw.get("script"),
        arguments=list(raw.get("arguments") or []),
        framework=raw.get("framework"),
        communicator=raw.get("communicator"),
        command=raw.get("command") or None,
    )
    config.target = raw.get("target") or "local"
    config.node_count = int(raw.get("nodeCount") or 1)
    config.max_run_duration_seconds = raw.get("maxRunDurationSeconds")
    config.environment_variables = dict(raw.get("environmentVariables") or {})
    environment = dict(raw.get("environment") or {})
    python = dict(environment.get("python") or {})
    conda_file = python.get("condaDependenciesFile")
    if python.get("condaDependencies") is None and conda_file:
        candidates = [
            base / conda_file,
            where.parent / conda_file,
            where.parent / Path(conda_file).name,
        ]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise UserErrorException(
                f"{where}: its condaDependenciesFile {conda_file!r} was not found next to it or "
                f"in {base}; put the conda specification there or inline it"
            )
        python["condaDependencies"] = CondaDependencies(found)._as_dict()
        environment["python"] = python
    if environment:
        config.environment = Environment._from_definition(
            {"name": "default-environment", **environment}, environment.get("version")
        )
    history = raw.get("history") or {}
    config.history.output_collection = bool(history.get("outputCollection", True))
    config.history.snapshot_project = bool(history.get("snapshotProject", True))
    config.history.directories_to_watch = list(history.get("directoriesToWatch") or ["logs"])
    mpi = raw.get("mpi") or {}
    config.mpi.process_count_per_node = int(mpi.get("processCountPerNode") or 1)
    pytorch = raw.get("pytorch") or {}
    config.pytorch.communication_backend = str(pytorch.get("communicationBackend") or "nccl")
    config.pytorch.process_count = pytorch.get("processCount")
    tensorflow = raw.get("tensorflow") or {}
    config.tensorflow.worker_count = int(tensorflow.get("workerCount") or 1)
    config.tensorflow.parameter_server_count = int(tensorflow.get("parameterServerCount") or 1)
    config.data_references = dict(raw.get("dataReferences") or {})
    config.data = dict(raw.get("data") or {})
    config.output_data = dict(raw.get("outputData") or {})
    return config


def save_runconfig(
    config: RunConfiguration,
    path: str | os.PathLike[str] | None,
    name: str | None,
    separate_environment_yaml: bool,
) -> Path:
    import yaml

    target = Path(path or os.getcwd())
    if target.is_dir():
        if not name:
            raise UserErrorException(
                f"RunConfiguration.save({str(target)!r}): a folder needs name= (the file becomes "
                f"{_config_folder(target).name}/<name>{EXTENSION}); or pass a file path"
            )
        project = target
        target = _config_folder(target) / _file_name(name)
    else:
        if not target.parent.is_dir():
            raise UserErrorException(
                f"RunConfiguration.save: {str(target)!r} is neither a folder nor a file in an "
                "existing folder"
            )
        project = target.parent
    content = to_dict(config)
    if separate_environment_yaml:
        conda_path = target.parent / "environment.yml"
        config.environment.python.conda_dependencies.save(conda_path)
        python = content["environment"]["python"]
        python.pop("condaDependencies")
        python["condaDependenciesFile"] = os.path.relpath(conda_path, project)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    config._path, config._name = str(project), target.name
    return target


def load_runconfig(path: str | os.PathLike[str] | None, name: str | None) -> RunConfiguration:
    import yaml

    base = Path(path or os.getcwd())
    candidates = [base] if base.is_file() else []
    if not candidates and name:
        for folder in CONFIG_FOLDERS:
            candidates += [base / folder / name, base / folder / _file_name(name)]
        candidates.append(base / _file_name(name))
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise UserErrorException(
            f"Failed to load RunConfiguration from path={os.fspath(base)!r} name={name!r}: no "
            f"such file (looked for {', '.join(str(c) for c in candidates) or 'a file at path'})"
        )
    try:
        raw = yaml.safe_load(found.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserErrorException(f"{found} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise UserErrorException(f"{found} must hold a YAML mapping of run configuration keys")
    config = from_dict(raw, base if base.is_dir() else found.parent, found)
    config._path = str(base if base.is_dir() else found.parent)
    config._name = found.name
    return config


def delete_runconfig(path: str | os.PathLike[str], name: str) -> None:
    project = Path(path)
    found = [
        project / folder / _file_name(name)
        for folder in CONFIG_FOLDERS
        if (project / folder / _file_name(name)).is_file()
    ]
    if not found:
        raise UserErrorException(f"run configuration {name!r} not found in {project}")
    for file in found:
        file.unlink()
