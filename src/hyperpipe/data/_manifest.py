"""Manifests: the exact files a dataset version is made of, each with its size and sha256.

A source is a ``(datastore, path)`` pair or a URL; a path may be a file, a folder (every file under
it) or a glob (``raw/*.csv``, ``raw/**/*.csv``). Resolving sources lists the files; hashing them
gives the manifest, whose content hash is what registration and step reuse compare. Hashes of
files whose size and modification time are unchanged since a previous manifest are reused, so
re-registering a large unchanged dataset does not read it again.
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import TYPE_CHECKING, Any

from hyperpipe._record import Record
from hyperpipe.data._datastore import is_temporary
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import fsspec

    from hyperpipe.data._datastore import Datastore

__all__ = [
    "FileEntry",
    "Source",
    "build_manifest",
    "content_hash",
    "file_mtime",
    "relative_paths",
]

GLOB_CHARS = frozenset("*?[")
_CHUNK = 1 << 20


class Source(Record):
    """Where files come from: a path in a named datastore, or a URL (``datastore`` None)."""

    datastore: str | None
    path: str

    def describe(self) -> str:
        return (
            f"{self.path!r} in datastore {self.datastore!r}" if self.datastore else repr(self.path)
        )

    def to_json(self) -> list[Any]:
        return [self.datastore, self.path]


class FileEntry(Record):
    """One file of a manifest. ``path`` is relative to the datastore root (or a full URL)."""

    datastore: str | None
    path: str
    size: int
    sha256: str
    mtime: float | None = None


def _has_glob(path: str) -> bool:
    return any(c in GLOB_CHARS for c in path)


def _list_source(
    source: Source,
    fs: fsspec.AbstractFileSystem,
    root: str,
    folders: dict[str, dict[str, dict[str, Any]]] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(full path, info) of every file a source names, sorted.

    With ``folders`` (a cache of parent folder listings), a file is found in one listing of its
    folder shared by its siblings instead of requests of its own: object stores pay per request.
    """
    full = f"{root}/{source.path.lstrip('/')}" if root else source.path
    listed = None
    if folders is not None and not _has_glob(full) and "/" in full.rstrip("/"):
        listed = _folder(fs, full.rstrip("/").rsplit("/", 1)[0], folders).get(full.rstrip("/"))
    if listed is not None and listed.get("type") != "directory":
        found = {full.rstrip("/"): listed}
    elif _has_glob(full):
        found = fs.glob(full, detail=True)
    elif listed is None and fs.isfile(full):
        found = {full: fs.info(full)}
    elif fs.isdir(full):
        found = fs.find(full, detail=True)
    else:
        found = {}
    files = [
        (path, info)
        for path, info in found.items()
        if info.get("type") != "directory" and not is_temporary(path)
    ]
    return sorted(files)


def _folder(
    fs: fsspec.AbstractFileSystem, folder: str, folders: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """``{full path: info}`` of what is directly in ``folder`` (empty when there is no such
    folder), listed once per build."""
    if folder not in folders:
        try:
            entries = fs.ls(folder, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            entries = []
        folders[folder] = {fs._strip_protocol(e["name"]).rstrip("/"): e for e in entries}
    return folders[folder]


def build_manifest(
    sources: Sequence[Source],
    datastores: dict[str, Datastore],
    *,
    previous: Iterable[FileEntry] = (),
    validate: bool = True,
) -> list[FileEntry]:
    """Hash every file the sources name. Raises when a source matches no file and ``validate``.

    Files of an object store datastore are listed per folder and hashed in concurrent batches
    (``Datastore._sha256s``), so a dataset of many small files costs few round trips.
    """
    known = {(e.datastore, e.path): e for e in previous}
    entries: dict[tuple[str | None, str], FileEntry] = {}
    pending: dict[tuple[str | None, str], tuple[Any, str, int, float | None]] = {}
    folders: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for source in sources:
        if source.datastore is not None:
            datastore = datastores[source.datastore]
            fs, root = datastore._fs, datastore._root
            cache = folders.setdefault(source.datastore, {}) if datastore._bulk else None
        else:
            import fsspec

            fs, root, cache = fsspec.core.url_to_fs(source.path)[0], "", None
        files = _list_source(source, fs, root, cache)
        if not files and validate:
            where = f" (looked under {fs.unstrip_protocol(root or source.path)})"
            raise UserErrorException(
                f"path {source.describe()} matches no file{where}; check the path or glob, or "
                "upload the data first (datastore.upload)"
            )
        for full, info in files:
            rel = full[len(root) :].lstrip("/") if root else fs.unstrip_protocol(full)
            key = (source.datastore, rel)
            size = int(info.get("size") or 0)
            mtime = file_mtime(info)
            old = known.get(key)
            store = datastores[source.datastore] if source.datastore else None
            uploaded = store._known_sha256(info) if store is not None else None
            if old is not None and old.size == size and old.mtime == mtime and mtime is not None:
                entries[key] = old
            elif uploaded is not None:
                entries[key] = FileEntry(source.datastore, rel, size, uploaded, mtime)
            elif key not in entries:
                pending[key] = (fs, full, size, mtime)
    by_store: dict[str | None, list[tuple[str | None, str]]] = {}
    for key in pending:
        by_store.setdefault(key[0], []).append(key)
    for name, keys in by_store.items():
        if name is None:
            digests = {k: _sha256(pending[k][0], pending[k][1]) for k in keys}
        else:
            found = datastores[name]._sha256s([rel for _name, rel in keys])
            digests = {k: found[k[1]] for k in keys}
        for key in keys:
            _fs, _full, size, mtime = pending[key]
            entries[key] = FileEntry(key[0], key[1], size, digests[key], mtime)
    return [entries[k] for k in sorted(entries, key=lambda k: (k[0] or "", k[1]))]


def content_hash(entries: Sequence[FileEntry]) -> str:
    """sha256 over (path below the common folder, file sha256): the identity of the content,
    wherever it is stored."""
    digest = hashlib.sha256()
    pairs = sorted(zip(relative_paths(entries), entries, strict=True), key=lambda pair: pair[0])
    for rel, entry in pairs:
        digest.update(f"{rel}\0{entry.sha256}\n".encode())
    return digest.hexdigest()


def common_base(entries: Sequence[FileEntry]) -> str:
    """The folder all entries share (SDK v1's ``to_path`` strips it)."""
    if not entries:
        return ""
    paths = [e.path for e in entries]
    protocol = ""
    if "://" in paths[0]:
        protocol = paths[0].partition("://")[0] + "://"
        paths = [p.partition("://")[2] for p in paths]
    folders = [posixpath.dirname(p) for p in paths]
    if not all(folders):
        return ""
    try:
        base = posixpath.commonpath(folders)
    except ValueError:  # absolute and relative paths mixed
        return ""
    return protocol + base if base else ""


def relative_paths(entries: Sequence[FileEntry], base: str | None = None) -> list[str]:
    """Each entry's path below ``base`` (default: the common folder)."""
    base = common_base(entries) if base is None else base
    cut = len(base) + 1 if base else 0
    return [e.path[cut:] for e in entries]


def _sha256(fs: fsspec.AbstractFileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_mtime(info: dict[str, Any]) -> float | None:
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return float(value)
        if value is not None and hasattr(value, "timestamp"):
            return float(value.timestamp())
    return None
