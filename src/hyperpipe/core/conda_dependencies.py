"""``hyperpipe.core.conda_dependencies``: SDK v1's ``azureml.core.conda_dependencies``.

A :class:`CondaDependencies` is a conda environment specification (the ``environment.yml``
format: ``name``, ``channels``, ``dependencies`` with a ``pip:`` list). hyperpipe records it with
the run and shows it; runs use the local interpreter, so nothing is installed (see README).
"""

from __future__ import annotations

import copy
import os
import re
import sys
from pathlib import Path
from typing import Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import UserErrorException

__all__ = ["DEFAULT_PYTHON_VERSION", "CondaDependencies"]

DEFAULT_PYTHON_VERSION = ".".join(map(str, sys.version_info[:3]))
"""The interpreter runs use: the default ``python=`` dependency (SDK v1 wrote 3.8.13)."""

_VALID_KEYS = ("name", "channels", "dependencies", "prefix", "variables")
_NAME = re.compile(r"^\s*([A-Za-z0-9_.\-]+)")


def _package_name(spec: str) -> str:
    match = _NAME.match(spec.split("[", 1)[0])
    return match.group(1).lower() if match else spec.strip().lower()


class CondaDependencies(SdkV1Surface):
    """A conda environment: conda packages, pip packages and options, channels.

    ``CondaDependencies()`` starts as SDK v1's default (``python=<version>``, pip
    ``azureml-defaults``, channels ``anaconda`` and ``conda-forge``);
    ``CondaDependencies(conda_dependencies_file_path)`` reads an environment file.
    """

    def __init__(
        self,
        conda_dependencies_file_path: str | os.PathLike[str] | None = None,
        _underlying_structure: dict[str, Any] | None = None,
    ) -> None:
        if conda_dependencies_file_path is not None:
            structure = _read_yaml(Path(conda_dependencies_file_path))
        elif _underlying_structure is not None:
            structure = copy.deepcopy(_underlying_structure)
        else:
            structure = {
                "name": "project_environment",
                "dependencies": [f"python={DEFAULT_PYTHON_VERSION}", {"pip": ["azureml-defaults"]}],
                "channels": ["anaconda", "conda-forge"],
            }
        if not isinstance(structure, dict):
            raise UserErrorException(
                f"a conda specification must be a YAML mapping (name, channels, dependencies), "
                f"got {type(structure).__name__}"
            )
        unknown = sorted(str(k) for k in structure if str(k) not in _VALID_KEYS)
        if unknown:
            raise UserErrorException(
                f"unknown key {unknown[0]!r} in the conda specification; allowed: "
                f"{', '.join(_VALID_KEYS)}"
            )
        structure.setdefault("dependencies", [])
        self._conda_dependencies: dict[str, Any] = structure

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """SDK v1's constructor: given ``pip_packages`` replace ``azureml-defaults``."""
        deps = CondaDependencies()
        if pip_indexurl:
            deps.set_pip_index_url(f"--index-url {pip_indexurl}")
        deps.set_python_version(python_version or DEFAULT_PYTHON_VERSION)
        if pip_packages is not None:
            for package in deps.pip_packages:
                deps.remove_pip_package(package)
            for package in pip_packages:
                deps.add_pip_package(package)
        for package in conda_packages or []:
            deps.add_conda_package(package)
        return deps

    # -- reading ------------------------------------------------------------------------------

    @property
    def _dependencies(self) -> list[Any]:
        return self._conda_dependencies["dependencies"]

    def _pip_section(self, create: bool = False) -> list[str] | None:
        for item in self._dependencies:
            if isinstance(item, dict) and "pip" in item:
                return item["pip"]
        if not create:
            return None
        section: list[str] = []
        self._dependencies.append({"pip": section})
        return section

    @property
    def conda_packages(self) -> list[str]:
        """Conda packages (``python=...`` included), in order."""
        return [d for d in self._dependencies if isinstance(d, str)]

    @property
    def pip_packages(self) -> list[str]:
        """pip packages (options such as ``--index-url`` excluded), in order."""
        return [p for p in self._pip_section() or [] if not str(p).startswith("-")]

    @property
    def pip_options(self) -> list[str]:
        return [p for p in self._pip_section() or [] if str(p).startswith("-")]

    @property
    def conda_channels(self) -> list[str]:
        return list(self._conda_dependencies.get("channels") or [])

    def get_python_version(self) -> str | None:
        for package in self.conda_packages:
            if _package_name(package) == "python" and "=" in package:
                return package.split("=", 1)[1].lstrip("=")
        return None

    # -- editing ------------------------------------------------------------------------------

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package, or replace the version of one already there (in its place)."""
        name = _package_name(conda_package)
        for index, item in enumerate(self._dependencies):
            if isinstance(item, str) and _package_name(item) == name:
                self._dependencies[index] = conda_package
                return
        self._dependencies.insert(len(self.conda_packages), conda_package)

    def remove_conda_package(self, conda_package: str) -> None:
        name = _package_name(conda_package)
        self._dependencies[:] = [
            d for d in self._dependencies if not isinstance(d, str) or _package_name(d) != name
        ]

    def add_pip_package(self, pip_package: str) -> None:
        """Add (or replace the version of) a pip package."""
        self.remove_pip_package(pip_package)
        section = self._pip_section(create=True)
        assert section is not None
        section.append(pip_package)

    def remove_pip_package(self, pip_package: str) -> None:
        section = self._pip_section()
        if section is not None:
            name = _package_name(pip_package)
            section[:] = [p for p in section if str(p).startswith("-") or _package_name(p) != name]

    def set_pip_option(self, pip_option: str) -> None:
        """Add a pip option (``--extra-index-url ...``), replacing one with the same flag."""
        section = self._pip_section(create=True)
        assert section is not None
        flag = pip_option.split()[0]
        section[:] = [p for p in section if not str(p).startswith(flag)]
        section.insert(0, pip_option)

    def set_pip_index_url(self, index_url: str) -> None:
        self.set_pip_option(index_url)

    def add_channel(self, channel: str) -> None:
        channels = self._conda_dependencies.setdefault("channels", [])
        if channel not in channels:
            channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        channels = self._conda_dependencies.get("channels") or []
        self._conda_dependencies["channels"] = [c for c in channels if c != channel]

    def set_python_version(self, version: str) -> None:
        self.add_conda_package(f"python={version}")

    # -- files --------------------------------------------------------------------------------

    def serialize_to_string(self) -> str:
        """The specification as ``environment.yml`` text."""
        import yaml

        return yaml.safe_dump(self._conda_dependencies, sort_keys=False, default_flow_style=False)

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the specification to ``path`` (default ``conda_dependencies.yml``)."""
        target = Path(path or "conda_dependencies.yml")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.serialize_to_string(), encoding="utf-8")
        return str(target)

    def save_to_file(
        self, base_directory: str | os.PathLike[str], conda_file_path: str | None = None
    ) -> str:
        return self.save(Path(base_directory) / (conda_file_path or "conda_dependencies.yml"))

    def _as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._conda_dependencies)

    def _extra_packages(self) -> list[str]:
        """Packages beyond what every environment has (python, pip, azureml-defaults)."""
        conda = [p for p in self.conda_packages if _package_name(p) not in ("python", "pip")]
        pip = [p for p in self.pip_packages if _package_name(p) != "azureml-defaults"]
        return conda + pip

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CondaDependencies)
            and self._conda_dependencies == other._conda_dependencies
        )

    def __hash__(self) -> int:
        return hash(self.serialize_to_string())

    def __repr__(self) -> str:
        return (
            f"CondaDependencies(conda_packages={self.conda_packages}, "
            f"pip_packages={self.pip_packages})"
        )


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserErrorException(
            f"cannot read the conda specification {path}: {exc.strerror}"
        ) from exc
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UserErrorException(f"{path} is not valid YAML: {exc}") from exc
