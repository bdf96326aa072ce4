"""``Environment``: what a run's process gets besides its code (variables; Python packages are
recorded, not installed: runs use the submitting interpreter unless ``python.interpreter_path``
names another)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import UserErrorException

__all__ = ["CondaDependencies", "Environment"]


@dataclass
class CondaDependencies:
    pip_packages: list[str] = field(default_factory=list)
    conda_packages: list[str] = field(default_factory=list)
    python_version: str | None = None

    @staticmethod
    def create(
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        **kwargs: Any,
    ) -> CondaDependencies:
        return CondaDependencies(
            list(pip_packages or []), list(conda_packages or []), python_version
        )

    def add_pip_package(self, package: str) -> None:
        self.pip_packages.append(package)

    def add_conda_package(self, package: str) -> None:
        self.conda_packages.append(package)


@dataclass
class _PythonSection:
    conda_dependencies: CondaDependencies = field(default_factory=CondaDependencies)
    user_managed_dependencies: bool = False
    interpreter_path: str | None = None


@dataclass
class _DockerSection:
    base_image: str | None = None
    enabled: bool = False


class Environment(SdkV1Surface):
    """A named run environment, SDK v1's ``azureml.core.Environment``."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Environment name must be a str, got {type(name).__name__}")
        self.name = name
        self.version: str | None = None
        self.python = _PythonSection()
        self.docker = _DockerSection()
        self.environment_variables: dict[str, str] = {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str, pip_version: str | None = None
    ) -> Environment:
        env = Environment(name)
        try:
            lines = open(file_path, encoding="utf-8").read().splitlines()  # noqa: SIM115
        except OSError as exc:
            raise UserErrorException(
                f"cannot read pip requirements {file_path!r}: {exc.strerror}"
            ) from exc
        env.python.conda_dependencies.pip_packages = [
            line.strip() for line in lines if line.strip() and not line.startswith("#")
        ]
        return env

    def clone(self, new_name: str) -> Environment:
        env = Environment(new_name)
        env.python = self.python
        env.docker = self.docker
        env.environment_variables = dict(self.environment_variables)
        return env

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"
