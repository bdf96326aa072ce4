"""A run's files: stored in its datastore under the run's prefix and listed in the store, as
SDK v1's ``upload_file``/``download_files`` keep them. A part of ``Run``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.core import _paths
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.data._datastore import Datastore
    from hyperpipe.store import RunRecord, Store

__all__ = ["RunFiles"]


class RunFiles:
    """``Run``'s file methods (a mixin: ``Run`` provides the attributes below)."""

    if TYPE_CHECKING:  # what Run provides
        id: str
        _record: RunRecord

        @property
        def _store(self) -> Store: ...

        @property
        def _workspace(self) -> Workspace: ...

    @property
    def _datastore(self) -> Datastore:
        """Where this run's files are: the default datastore when the run was created."""
        name = self._record.definition.get("datastore")
        return self._workspace._datastore(name) if name else self._workspace.get_default_datastore()

    def upload_file(
        self, name: str, path_or_stream: Any, datastore_name: str | None = None
    ) -> None:
        """Store a file among the run's files as ``name`` (e.g. ``outputs/model.pt``)."""
        name = _artifact_name(name)
        target = _paths.artifact_prefix(self.id) + name
        if hasattr(path_or_stream, "read"):
            size = self._datastore._put_stream(path_or_stream, target)
        else:
            source = Path(path_or_stream)
            if not source.is_file():
                raise UserErrorException(
                    f"upload_file({name!r}, ...): no file at {source.resolve()}"
                )
            size = self._datastore._put_file(source, target)
        self._store.add_artifacts(self._record.key, [(name, size)])

    def upload_files(
        self,
        names: list[str],
        paths: list[str],
        return_artifacts: bool = False,
        timeout_seconds: int | None = None,
        datastore_name: str | None = None,
    ) -> None:
        if len(names) != len(paths):
            raise UserErrorException(f"upload_files got {len(names)} names but {len(paths)} paths")
        for name, path in zip(names, paths, strict=True):
            self.upload_file(name, path)

    def upload_folder(
        self, name: str, path: str | os.PathLike[str], datastore_name: str | None = None
    ) -> None:
        """Store every file under the local folder ``path`` as ``name/<relative path>``."""
        folder = Path(path)
        if not folder.is_dir():
            raise UserErrorException(
                f"upload_folder({name!r}, ...): no folder at {folder.resolve()}"
            )
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.upload_file(f"{name.rstrip('/')}/{file.relative_to(folder).as_posix()}", file)

    def get_file_names(self) -> list[str]:
        return [a.path for a in self._store.list_artifacts(self._record.key)]

    def download_file(
        self,
        name: str,
        output_file_path: str | os.PathLike[str] | None = None,
        _validate_checksum: bool = False,
    ) -> None:
        """Copy one of the run's files to ``output_file_path`` (default: its base name here)."""
        if name not in self.get_file_names():
            raise UserErrorException(
                f"run {self.id} has no file {name!r}; its files: "
                + (", ".join(self.get_file_names()) or "none")
            )
        target = Path(output_file_path) if output_file_path else Path(Path(name).name)
        if target.is_dir():
            target = target / Path(name).name
        self._datastore._get_file(_paths.artifact_prefix(self.id) + name, target)

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: str | os.PathLike[str] | None = None,
        output_paths: list[str] | None = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        timeout_seconds: int | None = None,
    ) -> None:
        out = Path(output_directory or ".")
        for artifact in self._store.list_artifacts(self._record.key, prefix):
            relative = (
                artifact.path
                if append_prefix or not prefix
                else artifact.path[len(prefix) :].lstrip("/")
            )
            self._datastore._get_file(
                _paths.artifact_prefix(self.id) + artifact.path, out / relative
            )


def _artifact_name(name: str) -> str:
    clean = name.replace("\\", "/").lstrip("/")
    if not clean or ".." in clean.split("/"):
        raise UserErrorException(f"file name {name!r} must be a relative path without '..'")
    return clean
