"""The workspace config file: SDK v1's search rules, parsing with precise errors, atomic updates.

The file is SDK v1's ``config.json`` (``subscription_id``, ``resource_group``, ``workspace_name``
or an ARM ``Scope``) plus a ``hyperpipe`` section that SDK v1 ignores::

    {"workspace_name": "demo", "subscription_id": "local", "resource_group": "local",
     "hyperpipe": {"store_url": null, "default_datastore": "workspaceblobstore",
                   "datastores": {"workspaceblobstore": {"url": "datastores/workspaceblobstore"}},
                   "compute_targets": {"cpu": {"type": "local", "max_concurrency": 2, "gpus": []}}}}

Relative paths in the section are relative to the workspace root, the folder that holds
``.azureml/`` (or ``aml_config/``), or the config file's own folder for a plain ``config.json``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._record import Record, field
from hyperpipe.exceptions import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

CONFIG_FOLDERS = (".azureml", "aml_config", "")
CONFIG_FILES = ("config.json", "project.json")
SECTION = "hyperpipe"
WORKSPACE_ENV = "HYPERPIPE_WORKSPACE"
LOCAL_SCOPE = (
    "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices"
    "/workspaces/{ws}"
)


class WorkspaceConfig(Record, frozen=False):
    """A parsed config file; ``settings`` is the ``hyperpipe`` section."""

    path: Path
    workspace_name: str
    subscription_id: str
    resource_group: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        # Kept with what it was resolved from (not a field): drivers ask for it for every run.
        key = (self.path, self.settings.get("root"))
        resolved = self.__dict__.get("_resolved")
        if resolved is None or resolved[0] != key:
            resolved = self.__dict__["_resolved"] = (key, self._resolve_root())
        return resolved[1]

    def _resolve_root(self) -> Path:
        root = self.settings.get("root")
        if root:
            return (self.path.parent / root).resolve()
        parent = self.path.parent
        if parent.name in (".azureml", "aml_config"):
            return parent.parent.resolve()
        return parent.resolve()

    def to_json(self) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "workspace_name": self.workspace_name,
            SECTION: self.settings,
        }


def find_config(path: str | os.PathLike[str] | None = None, file_name: str | None = None) -> Path:
    """Locate a config file the way SDK v1's ``Workspace.from_config`` does.

    An existing file path is used as is. Otherwise, for each folder name in ``.azureml``,
    ``aml_config`` and none (outer loop), and each file name (``config.json``, ``project.json``, or
    only ``file_name``), walk up from ``path`` to the root. If nothing is found there, the
    ``HYPERPIPE_WORKSPACE`` environment variable (set inside submitted runs) is tried.
    """
    start = Path(path or ".").resolve()
    if start.is_file():
        return start
    names = (file_name,) if file_name else CONFIG_FILES
    for folder in CONFIG_FOLDERS:
        for name in names:
            for directory in (start, *start.parents):
                candidate = directory / folder / name
                if candidate.is_file():
                    return candidate
    from_env = os.environ.get(WORKSPACE_ENV)
    if from_env and path is None:
        for folder in CONFIG_FOLDERS:
            for name in names:
                candidate = Path(from_env) / folder / name
                if candidate.is_file():
                    return candidate
    raise ConfigError(
        f"could not find a workspace config ({' or '.join(names)}) in {start} or its parents "
        f"(looked in .azureml/, aml_config/ and the folders themselves); create a workspace with "
        f"`hyperpipe init` or Workspace.create(name, path=...), or pass path= to from_config"
    )


def load_config(path: Path) -> WorkspaceConfig:
    """Parse ``path``; every problem names the file and the key."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); fix the "
            "file or recreate it with `hyperpipe init`"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must hold a JSON object, found {type(raw).__name__}")
    settings = raw.get(SECTION) or {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: key {SECTION!r} must be an object, found {settings!r}")
    if raw.get("Scope"):
        parts = str(raw["Scope"]).split("/")
        if len(parts) < 9:
            raise ConfigError(
                f"{path}: key 'Scope' must be an ARM id like "
                f"{LOCAL_SCOPE.format(s='S', rg='RG', ws='WS')!r}"
                f", found {raw['Scope']!r}"
            )
        sub, rg, name = parts[2], parts[4], parts[8]
    else:
        missing = [
            k for k in ("subscription_id", "resource_group", "workspace_name") if not raw.get(k)
        ]
        if missing:
            raise ConfigError(
                f"{path}: missing key {missing[0]!r} (a config needs subscription_id, "
                "resource_group and workspace_name, or an ARM 'Scope'); add it or recreate the "
                "file with `hyperpipe init`"
            )
        sub, rg, name = (
            str(raw[k]) for k in ("subscription_id", "resource_group", "workspace_name")
        )
    _check_settings(path, settings)
    return WorkspaceConfig(path.resolve(), name, sub, rg, settings)


def _check_settings(path: Path, settings: dict[str, Any]) -> None:
    where = f"{path}: key '{SECTION}."
    for key in ("store_url", "default_datastore", "root", "location"):
        value = settings.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}{key}' must be a string, found {value!r}")
    for key in ("datastores", "compute_targets"):
        value = settings.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{where}{key}' must be an object keyed by name, found {value!r}")
        for name, entry in value.items():
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}{key}.{name}' must be an object, found {entry!r}")
    for name, entry in settings.get("datastores", {}).items():
        if not isinstance(entry.get("url"), str):
            raise ConfigError(f"{where}datastores.{name}.url' must be a string URL or path")
    from hyperpipe.core._compute_config import validate_target

    for name, entry in settings.get("compute_targets", {}).items():
        problem = validate_target(entry)
        if problem:
            raise ConfigError(f"{where}compute_targets.{name}.{problem[0]}' {problem[1]}")


def save_config(config: WorkspaceConfig, path: Path | None = None) -> Path:
    """Write ``config`` atomically (temporary file, then rename)."""
    target = path or config.path
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(config.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temp, target)
    return target


@contextlib.contextmanager
def editing(path: Path) -> Iterator[WorkspaceConfig]:
    """Read-modify-write the config under an exclusive lock, so concurrent edits are not lost."""
    lock_path = path.with_name(f".{path.name}.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            config = load_config(path)
            yield config
            save_config(config)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
