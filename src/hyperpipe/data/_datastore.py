"""Datastores: named storage locations behind fsspec (a local folder by default).

A workspace keeps its datastores' URLs in its config; ``Datastore(ws, name)`` returns one. Writes
are atomic: a file appears under its final name only once it is complete.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

import fsspec

from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["WORKSPACE_DEFAULT_BLOB_STORE_NAME", "Datastore"]

WORKSPACE_DEFAULT_BLOB_STORE_NAME = "workspaceblobstore"


class Datastore:
    """A named storage location, SDK v1's ``azureml.core.Datastore``.

    ``Datastore(workspace, name)`` returns the named datastore, or the workspace default when
    ``name`` is None. Paths inside a datastore are POSIX-style and relative to its root.
    """

    def __new__(cls, workspace: Any, name: str | None = None) -> Datastore:
        if name is None:
            return workspace.get_default_datastore()
        return workspace._datastore(name)

    @classmethod
    def _from_url(cls, name: str, url: str, options: dict[str, Any] | None = None) -> Datastore:
        self = object.__new__(cls)
        self.name = name
        self.url = url
        self._options = dict(options or {})
        self._fs, root = fsspec.core.url_to_fs(url, **self._options)
        self._root = root.rstrip("/")
        self._local = "file" in _protocols(self._fs)
        return self

    @staticmethod
    def get(workspace: Any, datastore_name: str) -> Datastore:
        """The datastore registered under ``datastore_name`` in ``workspace``."""
        return workspace._datastore(datastore_name)

    @staticmethod
    def get_default(workspace: Any) -> Datastore:
        return workspace.get_default_datastore()

    @property
    def datastore_type(self) -> str:
        return "Local" if self._local else type(self._fs).__name__

    def __repr__(self) -> str:
        return f"Datastore(name={self.name!r}, url={self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Datastore) and (self.name, self.url) == (other.name, other.url)

    def __hash__(self) -> int:
        return hash((self.name, self.url))

    # -- internal file API (runs, models and datasets build on these) ---------------------------

    def _full(self, path: str) -> str:
        rel = PurePosixPath(path.lstrip("/"))
        if ".." in rel.parts:
            raise UserErrorException(f"datastore path {path!r} must not contain '..'")
        return f"{self._root}/{rel}" if str(rel) not in ("", ".") else self._root

    def _local_path(self, path: str = "") -> Path | None:
        """The local filesystem path of ``path`` when this datastore is a local folder."""
        return Path(self._full(path)) if self._local else None

    def _put_file(self, local_path: str | os.PathLike[str], path: str) -> int:
        """Copy a local file to ``path`` atomically; returns its size."""
        target = self._full(path)
        parent = target.rsplit("/", 1)[0]
        self._fs.makedirs(parent, exist_ok=True)
        if self._local:
            temp = f"{target}.tmp-{uuid.uuid4().hex[:8]}"
            shutil.copyfile(local_path, temp)
            os.replace(temp, target)
        else:
            self._fs.put_file(os.fspath(local_path), target)
        return os.path.getsize(local_path)

    def _put_stream(self, stream: BinaryIO, path: str) -> int:
        target = self._full(path)
        self._fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        temp = f"{target}.tmp-{uuid.uuid4().hex[:8]}" if self._local else target
        with self._fs.open(temp, "wb") as out:
            shutil.copyfileobj(stream, out)
        if self._local:
            os.replace(temp, target)
        return self._fs.size(target)

    def _get_file(self, path: str, local_path: str | os.PathLike[str]) -> None:
        Path(local_path).parent.mkdir(parents=True, exist_ok=True)
        self._fs.get_file(self._full(path), os.fspath(local_path))

    def _open(self, path: str, mode: str = "rb") -> Any:
        return self._fs.open(self._full(path), mode)

    def _exists(self, path: str) -> bool:
        return self._fs.exists(self._full(path))

    def _walk(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """(relative path, size) of every file under ``prefix``, sorted; temp files skipped."""
        base = self._full(prefix)
        if not self._fs.exists(base):
            return
        if self._fs.isfile(base):
            yield prefix.strip("/"), self._fs.size(base)
            return
        for full, info in sorted(self._fs.find(base, detail=True).items()):
            if ".tmp-" in full.rsplit("/", 1)[-1]:
                continue
            yield full[len(self._root) :].lstrip("/"), int(info.get("size") or 0)


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
