"""``Model``: registered, versioned model files kept in the workspace's default datastore."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_hex
from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import ModelNotFoundException, UserErrorException, WebserviceException

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.store import ModelRecord

__all__ = ["Model"]

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-\._]{0,254}$")


class Model(SdkV1Surface):
    """A registered model version; ``Model(ws, name, version=None)`` gets one (default: latest)."""

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        expand: bool = True,
        **kwargs: Any,
    ) -> None:
        if id is not None:
            name, _, raw_version = id.partition(":")
            version = int(raw_version) if raw_version else version
        if not name:
            raise UserErrorException(
                "Model(workspace, name=...) needs a name or an id 'name:version'"
            )
        record = workspace._store.get_model(name, version)
        if record is None:
            versions = [m.version for m in workspace._store.list_models(name=name)]
            hint = (
                f"registered versions: {sorted(versions)}"
                if versions
                else "registered models: "
                + (", ".join(sorted({m.name for m in workspace._store.list_models()})) or "none")
            )
            raise ModelNotFoundException(
                f"model not found: {name!r}"
                + (f" version {version}" if version else "")
                + f"; {hint}"
            )
        self._workspace = workspace
        self._record = record

    @classmethod
    def _from_record(cls, workspace: Workspace, record: ModelRecord) -> Model:
        model = object.__new__(cls)
        model._workspace = workspace
        model._record = record
        return model

    # -- registering ----------------------------------------------------------------------------

    @staticmethod
    def register(
        workspace: Workspace,
        model_path: str | os.PathLike[str],
        model_name: str,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        description: str | None = None,
        datasets: Any = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: list[str] | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
    ) -> Model:
        """Register a local file or folder as the next version of ``model_name``."""
        source = Path(model_path)
        if not source.exists():
            raise UserErrorException(
                f"cannot register model {model_name!r}: no file or folder at {source.resolve()}"
            )
        return Model._register(
            workspace,
            source,
            model_name,
            tags=tags,
            properties=properties,
            description=description,
            model_framework=model_framework,
            model_framework_version=model_framework_version,
            child_paths=child_paths,
        )

    @staticmethod
    def _register(
        workspace: Workspace,
        source: Path,
        model_name: str,
        *,
        child_paths: list[str] | None = None,
        run_id: str | None = None,
        experiment_name: str | None = None,
        **fields: Any,
    ) -> Model:
        if not _NAME.match(model_name):
            raise WebserviceException(
                f"model name {model_name!r} is invalid: start with a letter or digit, then "
                "up to 254 letters, digits, '-', '.' or '_'"
            )
        datastore = workspace.get_default_datastore()
        # Files go to a fresh folder first and the version is allocated last, so a crash never
        # leaves a registered version pointing at missing files.
        folder = f"models/{model_name}/{uuid4_hex()[:12]}"
        source = source.resolve()
        files = (
            [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
        )
        if child_paths:
            files = [source / c for c in child_paths]
        # A folder keeps its name, as in SDK v1: registering ./model/ downloads as model/...
        base = source.parent
        for file in files:
            datastore._put_file(file, f"{folder}/{file.relative_to(base).as_posix()}")
        path = f"{folder}/{source.name}"
        record = workspace._store.register_model(
            model_name,
            datastore=datastore.name,
            path=path,
            run_id=run_id,
            experiment_name=experiment_name,
            description=fields.get("description"),
            framework=fields.get("model_framework"),
            framework_version=fields.get("model_framework_version"),
            tags={k: str(v) for k, v in (fields.get("tags") or {}).items()},
            properties={k: str(v) for k, v in (fields.get("properties") or {}).items()},
        )
        return Model._from_record(workspace, record)

    # -- reading --------------------------------------------------------------------------------

    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: list[Any] | None = None,
        properties: list[Any] | None = None,
        run_id: str | None = None,
        latest: bool = False,
        **kwargs: Any,
    ) -> list[Model]:
        """Registered models, newest version first per name; ``tags``/``properties`` filter by
        ``[key]`` or ``[key, value]`` entries as in SDK v1."""
        records = workspace._store.list_models(name=name, run_id=run_id, latest=latest)
        return [
            Model._from_record(workspace, r)
            for r in records
            if _filter(r.tags, tags) and _filter(r.properties, properties)
        ]

    @staticmethod
    def get_model_path(
        model_name: str, version: int | None = None, _workspace: Workspace | None = None
    ) -> str:
        """A local path to the model's files, downloading them when the datastore is remote."""
        if version is not None and not isinstance(version, int):
            raise UserErrorException(f"version must be an int, got {version!r}")
        workspace = _workspace or _current_workspace()
        model = Model(workspace, model_name, version=version)
        local = model._datastore._local_path(model._record.path)
        if local is not None:
            return str(local)
        return model.download(
            target_dir=f"azureml-models/{model.name}/{model.version}", exist_ok=True
        )

    @property
    def _datastore(self):  # type: ignore[no-untyped-def]
        return self._workspace._datastore(self._record.datastore)

    def download(
        self,
        target_dir: str | os.PathLike[str] = ".",
        exist_ok: bool = False,
        exists_ok: bool | None = None,
    ) -> str:
        """Copy the model's files into ``target_dir``; returns the path of the file or folder."""
        exist_ok = exist_ok if exists_ok is None else exists_ok
        target = Path(target_dir) / Path(self._record.path).name
        if target.exists() and not exist_ok:
            raise UserErrorException(f"{target} already exists; pass exist_ok=True to overwrite it")
        files = list(self._datastore._walk(self._record.path))
        for relative, _size in files:
            inside = relative[len(self._record.path) :].lstrip("/")
            self._datastore._get_file(relative, target / inside if inside else target)
        return str(target)

    def add_tags(self, tags: dict[str, Any]) -> None:
        merged = {**self._record.tags, **{k: str(v) for k, v in tags.items()}}
        self._record = self._workspace._store.update_model(self.name, self.version, tags=merged)

    def remove_tags(self, tags: list[str]) -> None:
        merged = {k: v for k, v in self._record.tags.items() if k not in tags}
        self._record = self._workspace._store.update_model(self.name, self.version, tags=merged)

    def add_properties(self, properties: dict[str, Any]) -> None:
        for key, value in properties.items():
            if key in self._record.properties and self._record.properties[key] != str(value):
                raise WebserviceException(
                    f"model property {key!r} is already set; properties cannot change"
                )
        merged = {**self._record.properties, **{k: str(v) for k, v in properties.items()}}
        self._record = self._workspace._store.update_model(
            self.name, self.version, properties=merged
        )

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def version(self) -> int:
        return self._record.version

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def tags(self) -> dict[str, Any]:
        return dict(self._record.tags)

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self._record.properties)

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def run_id(self) -> str | None:
        return self._record.run_id

    @property
    def experiment_name(self) -> str | None:
        return self._record.experiment_name

    @property
    def model_framework(self) -> str | None:
        return self._record.framework

    @property
    def created_time(self) -> float:
        return self._record.created_at

    @property
    def url(self) -> str:
        return f"{self._datastore.url.rstrip('/')}/{self._record.path}"

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    def serialize(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "tags": self.tags,
            "properties": self.properties,
            "runId": self.run_id,
            "experimentName": self.experiment_name,
            "url": self.url,
            "description": self.description,
        }

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self._workspace.name!r}, name={self.name!r}, id={self.id!r}, "
            f"version={self.version}, tags={self.tags}, properties={self.properties})"
        )


def _filter(values: dict[str, Any], wanted: list[Any] | None) -> bool:
    if not wanted:
        return True
    for entry in wanted:
        key, value = (
            (entry, None)
            if isinstance(entry, str)
            else (entry[0], entry[1] if len(entry) > 1 else None)
        )
        if key not in values or (value is not None and values[key] != str(value)):
            return False
    return True


def _current_workspace() -> Workspace:
    from hyperpipe.core._run import Run
    from hyperpipe.core._workspace import Workspace

    context = Run.get_context()
    experiment = getattr(context, "experiment", None)
    return experiment.workspace if experiment is not None else Workspace.from_config()
