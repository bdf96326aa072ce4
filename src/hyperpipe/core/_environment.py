"""``Environment``: what a run's process gets besides its code.

Environment variables are applied. Python packages (conda and pip), Docker images and
Dockerfiles are recorded with each run and shown in its details, not applied: runs use the
submitting interpreter (or ``python.interpreter_path``), and a warning says so once per process.
SDK v1's curated environments (``Environment.get(ws, "AzureML-...")``) map to that interpreter,
with a note in the run's details. ``register``/``get``/``list`` keep versions in the store.
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.core.conda_dependencies import CondaDependencies
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace

__all__ = [
    "CURATED_PREFIX",
    "CondaDependencies",
    "DockerSection",
    "Environment",
    "PythonSection",
    "environment_record",
]

CURATED_PREFIX = "AzureML-"
_EXAMPLE_VARIABLES = {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
_warned: set[str] = set()


class PythonSection(SdkV1Surface):
    """``env.python``: the conda specification and which interpreter runs the script."""

    def __init__(self) -> None:
        self.conda_dependencies = CondaDependencies()
        self.user_managed_dependencies = False
        self.interpreter_path: str | None = None
        self.conda_dependencies_file: str | None = None
        self.base_conda_environment: str | None = None


class DockerSection(SdkV1Surface):
    """``env.docker``: the image or Dockerfile SDK v1 would build (recorded, not applied)."""

    def __init__(self) -> None:
        self.enabled = False
        self.base_image: str | None = None
        self.base_dockerfile: str | None = None
        self.base_image_registry: Any = None
        self.shared_volumes = True
        self.shm_size: str | None = None
        self.gpu_support = False
        self.arguments: list[str] = []

    @property
    def _configured(self) -> bool:
        return bool(self.enabled or self.base_image or self.base_dockerfile)


class Environment(SdkV1Surface):
    """A named run environment, SDK v1's ``azureml.core.Environment``."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Environment name must be a str, got {type(name).__name__}")
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = dict(_EXAMPLE_VARIABLES)
        self.inferencing_stack_version: str | None = None

    # -- factories ----------------------------------------------------------------------------

    @staticmethod
    def from_conda_specification(name: str, file_path: str) -> Environment:
        """An environment whose packages are those of a conda ``environment.yml``."""
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies(file_path)
        return env

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str, pip_version: str | None = None
    ) -> Environment:
        """An environment whose pip packages are those of a ``requirements.txt``."""
        try:
            lines = Path(file_path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserErrorException(
                f"cannot read pip requirements {file_path!r}: {exc.strerror}"
            ) from exc
        packages = [
            line.strip() for line in lines if line.strip() and not line.strip().startswith("#")
        ]
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies.create(pip_packages=packages)
        if pip_version:
            env.python.conda_dependencies.add_conda_package(f"pip={pip_version}")
        return env

    @staticmethod
    def from_docker_image(
        name: str,
        image: str,
        container_registry: Any = None,
        conda_specification: str | None = None,
        pip_requirements: str | None = None,
    ) -> Environment:
        """An environment SDK v1 would run in ``image`` (recorded; runs stay local)."""
        env = Environment._with_packages(name, conda_specification, pip_requirements)
        env.docker.enabled = True
        env.docker.base_image = image
        env.docker.base_image_registry = container_registry
        return env

    @staticmethod
    def from_dockerfile(
        name: str,
        dockerfile: str,
        conda_specification: str | None = None,
        pip_requirements: str | None = None,
    ) -> Environment:
        """An environment SDK v1 would build from ``dockerfile`` (a path or its text)."""
        env = Environment._with_packages(name, conda_specification, pip_requirements)
        path = Path(dockerfile)
        env.docker.enabled = True
        env.docker.base_dockerfile = (
            path.read_text(encoding="utf-8")
            if "\n" not in dockerfile and path.is_file()
            else dockerfile
        )
        return env

    @staticmethod
    def _with_packages(
        name: str, conda_specification: str | None, pip_requirements: str | None
    ) -> Environment:
        if conda_specification:
            return Environment.from_conda_specification(name, conda_specification)
        if pip_requirements:
            return Environment.from_pip_requirements(name, pip_requirements)
        env = Environment(name)
        env.python.user_managed_dependencies = True
        return env

    # -- the workspace's environments ---------------------------------------------------------

    def register(self, workspace: Workspace) -> Environment:
        """Store this definition as the next version of ``name`` (the same version when the
        latest one is identical); returns the registered environment."""
        record = workspace._store.register_environment(self.name, self._definition())
        return Environment._from_definition(record.definition, record.version)

    @staticmethod
    def get(
        workspace: Workspace, name: str, version: str | int | None = None, label: str | None = None
    ) -> Environment:
        """A registered environment (latest version unless ``version``); SDK v1's curated
        ``AzureML-...`` names give an environment running on the local interpreter."""
        if version is not None and label is not None:
            raise UserErrorException(
                f"Environment.get({name!r}): give version= or label=, not both"
            )
        if label is not None:
            raise UserErrorException(
                f"Environment.get({name!r}, label={label!r}): environment labels are not kept by "
                "hyperpipe; pass version= instead"
            )
        wanted = _version_number(name, version)
        record = workspace._store.get_environment(name, wanted)
        if record is not None:
            return Environment._from_definition(record.definition, record.version)
        if name.startswith(CURATED_PREFIX) and version is None:
            return Environment._curated(name)
        known = sorted({r.name for r in workspace._store.list_environments()})
        if wanted is not None and name in known:
            raise UserErrorException(
                f"environment {name!r} has no version {version}; registered versions: "
                f"{[r.version for r in workspace._store.list_environments(name=name)]}"
            )
        raise UserErrorException(
            f"no environment {name!r} is registered in workspace {workspace.name!r} "
            f"(registered: {', '.join(known) or 'none'}); register it with env.register(ws), "
            f"or use a curated name starting with {CURATED_PREFIX!r}"
        )

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Environment]:
        """The latest version of every registered environment, by name."""
        return {
            r.name: Environment._from_definition(r.definition, r.version)
            for r in workspace._store.list_environments(latest=True)
        }

    @staticmethod
    def _curated(name: str) -> Environment:
        env = Environment(name)
        env.python.user_managed_dependencies = True
        env.environment_variables = {}
        return env

    # -- copies and (de)serialization ---------------------------------------------------------

    def clone(self, new_name: str) -> Environment:
        env = copy.deepcopy(self)
        env.name = new_name
        env.version = None
        return env

    def _definition(self) -> dict[str, Any]:
        """SDK v1's JSON shape of an environment (camelCase keys), without its version."""
        python, docker = self.python, self.docker
        return {
            "name": self.name,
            "python": {
                "userManagedDependencies": python.user_managed_dependencies,
                "interpreterPath": python.interpreter_path,
                "condaDependencies": python.conda_dependencies._as_dict(),
                "condaDependenciesFile": python.conda_dependencies_file,
                "baseCondaEnvironment": python.base_conda_environment,
            },
            "environmentVariables": dict(self.environment_variables),
            "docker": {
                "enabled": docker.enabled,
                "baseImage": docker.base_image,
                "baseDockerfile": docker.base_dockerfile,
                "sharedVolumes": docker.shared_volumes,
                "shmSize": docker.shm_size,
                "gpuSupport": docker.gpu_support,
                "arguments": list(docker.arguments),
            },
            "inferencingStackVersion": self.inferencing_stack_version,
        }

    @staticmethod
    def _from_definition(definition: dict[str, Any], version: Any = None) -> Environment:
        env = Environment(str(definition.get("name") or "default-environment"))
        env.version = None if version is None else str(version)
        python = definition.get("python") or {}
        env.python.user_managed_dependencies = bool(python.get("userManagedDependencies"))
        env.python.interpreter_path = python.get("interpreterPath")
        if python.get("condaDependencies") is not None:
            env.python.conda_dependencies = CondaDependencies(
                _underlying_structure=python["condaDependencies"]
            )
        env.python.conda_dependencies_file = python.get("condaDependenciesFile")
        env.python.base_conda_environment = python.get("baseCondaEnvironment")
        if "environmentVariables" in definition:
            env.environment_variables = dict(definition["environmentVariables"] or {})
        docker = definition.get("docker") or {}
        env.docker.enabled = bool(docker.get("enabled"))
        env.docker.base_image = docker.get("baseImage")
        env.docker.base_dockerfile = docker.get("baseDockerfile")
        env.docker.shared_volumes = bool(docker.get("sharedVolumes", True))
        env.docker.shm_size = docker.get("shmSize")
        env.docker.gpu_support = bool(docker.get("gpuSupport"))
        env.docker.arguments = list(docker.get("arguments") or [])
        env.inferencing_stack_version = definition.get("inferencingStackVersion")
        return env

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Environment) and (self.name, self.version, self._definition()) == (
            other.name,
            other.version,
            other._definition(),
        )

    def __hash__(self) -> int:
        return hash((self.name, self.version))

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"


def _version_number(name: str, version: str | int | None) -> int | None:
    if version is None:
        return None
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if isinstance(version, str) and version.isdigit():
        return int(version)
    raise UserErrorException(
        f"Environment.get({name!r}): version must be a number like '2', got {version!r}"
    )


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside hyperpipe: the user's submitting line."""
    package = str(Path(__file__).resolve().parents[1])
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def environment_record(environment: Environment | None) -> dict[str, Any] | None:
    """What a run's definition records about its environment: the definition, its version and
    notes on what was not applied locally. Warns (once per process) when Docker or conda
    settings will not be applied."""
    if environment is None:
        return None
    notes = []
    interpreter = environment.python.interpreter_path or sys.executable
    if environment.name.startswith(CURATED_PREFIX):
        notes.append(
            f"curated environment {environment.name!r} maps to the local interpreter "
            f"{interpreter}; hyperpipe installs none of its packages"
        )
    docker = environment.docker
    if docker._configured:
        image = docker.base_image or ("a Dockerfile" if docker.base_dockerfile else "Docker")
        notes.append(
            f"Docker settings ({image}) are recorded, not applied: the run used {interpreter}"
        )
    packages = environment.python.conda_dependencies._extra_packages()
    if not environment.python.user_managed_dependencies and packages:
        notes.append(
            f"conda/pip packages ({', '.join(packages)}) are recorded, not installed: the run "
            f"used {interpreter}; install what it needs there"
        )
    for note in notes[1:] if environment.name.startswith(CURATED_PREFIX) else notes:
        kind = note.split(" ", 1)[0]
        if kind not in _warned:
            _warned.add(kind)
            warnings.warn(f"hyperpipe: {note}", UserWarning, stacklevel=_caller_level())
    return {
        "name": environment.name,
        "version": environment.version,
        "definition": environment._definition(),
        "notes": notes,
    }
