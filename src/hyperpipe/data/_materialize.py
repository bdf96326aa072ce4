"""Making a run's input datasets available to its process, before it starts.

``mount`` on a local datastore is a read-only view: a folder of symbolic links to the registered
files (a single-file dataset is the file itself), never a copy. Other datastores have no local
mount, so ``mount`` downloads there. ``download`` always copies into the run's working folder.
Every file is checked against the version's manifest first: a registered version is immutable, so
a file changed since registration is an error, not silently different data.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from hyperpipe.data._dataset import AbstractDataset
from hyperpipe.data._manifest import file_mtime, relative_paths
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from hyperpipe.data._manifest import FileEntry

__all__ = ["DATASET_ENV", "LaterRemovals", "materialize_inputs", "remove_tree"]

DATASET_ENV = "AZUREML_DATASET_ENVIRONMENT_VARS"
# How old an object store's modification time (whole seconds) must have been when a version was
# stored for an equal size and time to prove the object unchanged.
_SETTLED = 2.0


def materialize_inputs(
    workspace: Any, inputs: list[dict[str, Any]], workdir: Path, views: Path
) -> dict[str, str]:
    """Prepare every input; returns ``{input name: path or dataset id}``."""
    values: dict[str, str] = {}
    for spec in inputs:
        dataset = AbstractDataset._from_record(
            workspace, workspace._store.get_dataset_by_id(spec["dataset_id"])
        )
        entries = dataset._manifest()
        _verify(dataset, entries)
        mode = spec["mode"]
        if mode == "direct":
            values[spec["name"]] = spec["dataset_id"]
            continue
        local = _local_paths(dataset, entries)
        target = _target(spec, workdir, views)
        if mode == "mount" and local is not None:
            values[spec["name"]] = _link_view(entries, local, target)
        else:
            values[spec["name"]] = _copy(dataset, entries, target)
    return values


def environment(inputs: list[dict[str, Any]], values: dict[str, str]) -> dict[str, str]:
    """The variables SDK v1 scripts read: one per input, plus the list of them."""
    env = dict(values)
    env[DATASET_ENV] = ",".join(f"{spec['name']}:{spec['mode']}" for spec in inputs)
    return env


def _target(spec: dict[str, Any], workdir: Path, views: Path) -> Path:
    if spec.get("path_on_compute"):
        path = Path(spec["path_on_compute"])
        return path if path.is_absolute() else workdir / path
    return views / spec["name"] if spec["mode"] == "mount" else workdir / "inputs" / spec["name"]


def _local_paths(dataset: AbstractDataset, entries: list[FileEntry]) -> list[Path] | None:
    stores = dataset._datastores()
    paths = []
    for entry in entries:
        if entry.datastore is None:
            if not entry.path.startswith("file://"):
                return None
            paths.append(Path(entry.path[len("file://") :]))
            continue
        local = stores[entry.datastore]._local_path(entry.path)
        if local is None:
            return None
        paths.append(local)
    return paths


def _link_view(entries: list[FileEntry], local: list[Path], target: Path) -> str:
    if len(entries) == 1:
        return str(local[0])
    target.mkdir(parents=True, exist_ok=True)
    for rel, source in zip(relative_paths(entries), local, strict=True):
        link = target / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(source, link)
    for directory, _subdirs, _files in os.walk(target):
        os.chmod(directory, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    return str(target)


def _copy(dataset: AbstractDataset, entries: list[FileEntry], target: Path) -> str:

    target.mkdir(parents=True, exist_ok=True)
    written = [target / rel for rel in relative_paths(entries)]
    dataset._fetch(list(zip(entries, written, strict=True)))
    return str(written[0]) if len(written) == 1 else str(target)


def _verify(dataset: AbstractDataset, entries: list[FileEntry]) -> None:
    """Refuse files that changed since the version was registered.

    A file whose size and modification time still match the manifest is taken as unchanged: by
    stat on a local folder; on an object store by one listing per folder, and only when that
    time was at least ``_SETTLED`` seconds old when the version was stored (object stores keep
    whole seconds, so an overwrite within the same second would show the same time). The others
    are hashed, on object stores in concurrent batches, and must match their sha256.
    """
    stores = dataset._datastores()
    by_store: dict[str, list[FileEntry]] = {}
    for entry in entries:
        if entry.datastore is not None:
            by_store.setdefault(entry.datastore, []).append(entry)
    record = getattr(dataset, "_record", None)
    settled = record.created_at - _SETTLED if record is not None else float("-inf")
    for name, group in by_store.items():
        store = stores[name]
        if store._local_path() is not None:
            stats = {e.path: _stat(dataset, e, store._local_path(e.path)) for e in group}
            trusted = group
        else:
            infos = store._infos([e.path for e in group])
            stats = {e.path: _listed(dataset, e, infos.get(e.path)) for e in group}
            trusted = [e for e in group if e.mtime is not None and e.mtime <= settled]
        unchanged = {e.path for e in trusted if stats[e.path] == (e.size, e.mtime)}
        suspect = [e for e in group if e.path not in unchanged]
        try:
            digests = store._sha256s([e.path for e in suspect])
        except FileNotFoundError:
            digests = {}
        for entry in suspect:
            digest = digests.get(entry.path)
            if digest is None:
                _changed(dataset, entry, "it no longer exists")
            elif digest != entry.sha256:
                _changed(
                    dataset, entry, f"its sha256 is now {digest[:12]}…, not {entry.sha256[:12]}…"
                )


def _stat(dataset: AbstractDataset, entry: FileEntry, local: Path | None) -> tuple[int, float]:
    try:
        info = local.stat() if local is not None else None
    except FileNotFoundError:
        info = None
    if info is None:
        _changed(dataset, entry, "it no longer exists")
    return info.st_size, info.st_mtime


def _listed(
    dataset: AbstractDataset, entry: FileEntry, info: dict[str, Any] | None
) -> tuple[int, float | None]:
    if info is None:
        _changed(dataset, entry, "it no longer exists")
    return int(info.get("size") or 0), file_mtime(info)


def _changed(dataset: AbstractDataset, entry: FileEntry, what: str) -> NoReturn:
    raise UserErrorException(
        f"dataset {dataset.name or dataset.id!r} version {dataset.version}: file {entry.path!r} in "
        f"datastore {entry.datastore!r} changed since the version was registered ({what}); "
        "register the data again to make a new version"
    )


def remove_tree(path: Path) -> None:
    """Delete a folder, including read-only views."""
    import shutil

    def writable(func: Any, target: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), stat.S_IRWXU)
            os.chmod(target, stat.S_IRWXU) if os.path.isdir(target) else None
        func(target)

    if path.exists():
        shutil.rmtree(path, onerror=writable)


class LaterRemovals:
    """Folders removed by a background thread, off the path that starts the next task.

    The thread starts with the first folder given; ``wait`` returns once every folder given so
    far is gone (a folder that cannot be removed is left), and ends the thread.
    """

    def __init__(self) -> None:
        self._folders: Any = None
        self._thread: Any = None

    def add(self, folder: Path) -> None:
        if self._folders is None:
            import queue
            import threading

            self._folders = queue.SimpleQueue()
            self._thread = threading.Thread(
                target=_remove_until_none, args=(self._folders,), name="hyperpipe-remove"
            )
            self._thread.start()
        self._folders.put(folder)

    def wait(self) -> None:
        if self._folders is not None:
            self._folders.put(None)
            self._thread.join()
            self._folders = self._thread = None


def _remove_until_none(folders: Any) -> None:
    while (folder := folders.get()) is not None:
        with contextlib.suppress(OSError):
            remove_tree(folder)
