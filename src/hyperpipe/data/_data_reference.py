"""``DataReference``: SDK v1's value object naming a path in a datastore and how a run gets it.

It only describes: ``str(ref)`` is ``$AZUREML_DATAREFERENCE_<name>``, the environment variable
that will hold the local path inside a run. Making the data appear there is done elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from hyperpipe._surface import SdkV1Surface
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["DATA_REFERENCE_ENV_PREFIX", "DataReference", "normalize_path"]

DATA_REFERENCE_ENV_PREFIX = "AZUREML_DATAREFERENCE_"
MODES = ("mount", "download", "upload")
_REFERENCE_NAME = re.compile(r"^[A-Za-z0-9_]+$")
CHUNK = 1 << 20


def normalize_path(path: str | None) -> str:
    """A datastore path as ``a/b`` (no leading ``/`` or ``./``; ``""`` for the root).

    Raises ``UserErrorException`` for ``..``, which could reach outside the datastore.
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise UserErrorException(f"datastore path must be a string, got {path!r}")
    rel = PurePosixPath(path.lstrip("/"))
    if ".." in rel.parts:
        raise UserErrorException(
            f"datastore path {path!r} must not contain '..'; use a path relative to the "
            "datastore root"
        )
    text = str(rel)
    return "" if text == "." else text


class DataReference(SdkV1Surface):
    """A path in a datastore plus how a run gets it: ``mount``, ``download`` or ``upload``.

    Args:
        datastore: the :class:`~hyperpipe.data.Datastore` the path lives in.
        data_reference_name: letters, digits and underscores; names the environment variable.
            Default: the datastore's name for its root (as SDK v1). For a sub-path SDK v1 drew a
            random name; here it is ``<datastore>_<12 hex digits of the path's sha256>``, so the
            same path always gives the same name (stable step arguments and reuse keys).
        path_on_datastore: a path relative to the datastore root (default: the root).
        mode: ``mount`` (default), ``download`` or ``upload``.
        path_on_compute: where a run should see the data (download and upload modes).
        overwrite: whether data already at the destination may be replaced.
    """

    def __init__(
        self,
        datastore: Any,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ) -> None:
        if not isinstance(getattr(datastore, "name", None), str):
            raise UserErrorException(
                f"DataReference needs a Datastore, got {datastore!r}; get one with "
                "Datastore.get(ws, name)"
            )
        if mode not in MODES:
            raise UserErrorException(
                f"Invalid mode {mode!r}. Only mount, download, upload are supported; switch "
                "with as_mount(), as_download() or as_upload()"
            )
        rel = normalize_path(path_on_datastore)
        if data_reference_name is None or data_reference_name == "":
            data_reference_name = datastore.name
            if rel:
                data_reference_name += "_" + hashlib.sha256(rel.encode()).hexdigest()[:12]
        if not isinstance(data_reference_name, str) or not _REFERENCE_NAME.match(
            data_reference_name
        ):
            raise UserErrorException(
                f"data_reference_name {data_reference_name!r} is invalid: it becomes the "
                f"environment variable ${DATA_REFERENCE_ENV_PREFIX}<name>, so use letters, "
                "digits and underscores"
            )
        self.datastore = datastore
        self.data_reference_name = data_reference_name
        self.path_on_datastore = path_on_datastore
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    @staticmethod
    def create(
        data_reference_name: str | None = None,
        datapath: Any = None,
        datapath_compute_binding: Any = None,
    ) -> DataReference:
        """A reference to a ``DataPath``, made available as a ``DataPathComputeBinding`` says."""
        if datapath is None or datapath_compute_binding is None:
            raise UserErrorException(
                "DataReference.create needs datapath=DataPath(...) and "
                "datapath_compute_binding=DataPathComputeBinding(...)"
            )
        return datapath_compute_binding.create_data_reference(data_reference_name, datapath)

    @property
    def environment_variable(self) -> str:
        """``AZUREML_DATAREFERENCE_<name>``: the variable that holds the local path in a run."""
        return DATA_REFERENCE_ENV_PREFIX + self.data_reference_name

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A reference to ``path`` below this one (mount mode, as in SDK v1).

        With no ``path``, this reference itself, renamed when ``data_reference_name`` is given.
        """
        base = normalize_path(self.path_on_datastore)
        rel = normalize_path(path)
        if not rel:
            if not data_reference_name:
                return self
            return self._replace(data_reference_name=data_reference_name)
        joined = f"{base}/{rel}" if base else rel
        return DataReference(self.datastore, data_reference_name, joined)

    def as_mount(self) -> DataReference:
        """A copy in ``mount`` mode."""
        return self._replace(mode="mount")

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        """A copy in ``download`` mode, downloaded to ``path_on_compute`` when given."""
        return self._replace(mode="download", path_on_compute=path_on_compute, overwrite=overwrite)

    def as_upload(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        """A copy in ``upload`` mode: what the run writes at ``path_on_compute`` is uploaded."""
        return self._replace(mode="upload", path_on_compute=path_on_compute, overwrite=overwrite)

    def _replace(self, **changes: Any) -> DataReference:
        fields = {
            "data_reference_name": self.data_reference_name,
            "path_on_datastore": self.path_on_datastore,
            "mode": self.mode,
            "path_on_compute": self.path_on_compute,
            "overwrite": self.overwrite,
        }
        return DataReference(self.datastore, **{**fields, **changes})

    def _key(self) -> tuple[Any, ...]:
        return (
            self.datastore.name,
            getattr(self.datastore, "url", None),
            self.data_reference_name,
            normalize_path(self.path_on_datastore),
            self.mode,
            self.path_on_compute,
            self.overwrite,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataReference) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return f"${self.environment_variable}"

    def __repr__(self) -> str:
        return str(self)


# -- transfer helpers for Datastore.upload/download (kept here so _datastore.py stays small) --


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder``, sorted; symbolic links to folders are not followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        found.extend(Path(dirpath, f) for f in sorted(filenames))
    return [p for p in found if p.is_file()]


def sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def progress(show: bool, total: int, description: str) -> Iterator[Callable[..., None]]:
    """A Rich progress bar on stderr; yields the function that advances it (by one file, or by
    the count it is given)."""
    if not show or total == 0:
        yield lambda _count=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)
        yield lambda count=1: bar.advance(task, count)
