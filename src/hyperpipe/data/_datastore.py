"""Datastores: named storage locations behind fsspec (a local folder by default).

A workspace keeps its datastores' URLs and storage options in its config; ``Datastore(ws, name)``
returns one, ``Datastore.register(ws, name, url)`` adds one. Writes are atomic on every backend: a
file appears under its final name only once it is complete.

How each backend gets there:

- local folders: write a temporary sibling, then ``os.replace`` it onto the final name;
- object stores whose upload is atomic per object (``s3``, ``gs``, ``az``/``abfs``): a direct
  ``put_file`` (a multipart or block upload becomes visible only when it completes); streams are
  spooled to a local temporary file first, because those backends' writable files commit on close
  even when the writer failed;
- any other filesystem (``memory://``, ...): write a temporary key, then ``fs.mv`` it.

Temporary names end in ``.hp-tmp-<12 hex digits>`` and are never listed by ``_walk``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from contextlib import suppress
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from hyperpipe._ids import uuid4_hex
from hyperpipe._surface import SdkV1Surface
from hyperpipe.data._data_reference import (
    CHUNK,
    DataReference,
    files_under,
    normalize_path,
    progress,
    sha256_of,
)
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import fsspec

__all__ = ["WORKSPACE_DEFAULT_BLOB_STORE_NAME", "Datastore"]

WORKSPACE_DEFAULT_BLOB_STORE_NAME = "workspaceblobstore"

_NAME = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_TEMP = re.compile(r"\.hp-tmp-[0-9a-f]{12}$")
# Files per concurrent transfer on object stores: progress moves, and a failure stops, per batch.
_BATCH = 256
# Object stores whose plain objects have the MD5 of their bytes as ETag.
_MD5_ETAG = frozenset({"s3", "s3a"})
_MD5 = re.compile(r"^[0-9a-f]{32}$")
# {md5: sha256} of content this process uploaded to such a store (see Datastore._known_sha256).
_UPLOADED: dict[str, str] = {}
_UPLOADED_MAX = 1_000_000


def is_temporary(path: str) -> bool:
    """Whether ``path`` is a write in progress (never part of a listing or a dataset)."""
    return _TEMP.search(path) is not None


_LOCAL = frozenset({"file", "local"})
# Object stores: one upload is one atomic object write, and folders are only key prefixes.
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
_TYPES = {"file": "Local", "local": "Local", "memory": "Memory", "s3": "S3", "s3a": "S3"}
_TYPES |= {"az": "AzureBlob", "abfs": "AzureBlob", "abfss": "AzureBlob", "gs": "GCS", "gcs": "GCS"}


class Datastore(SdkV1Surface):
    """A named storage location, SDK v1's ``azureml.core.Datastore``.

    ``Datastore(workspace, name)`` returns the named datastore, or the workspace default when
    ``name`` is None. Paths inside a datastore are POSIX-style and relative to its root. The
    filesystem is opened on first use, so listing ``ws.datastores`` never needs a backend package.
    """

    def __new__(cls, workspace: Any, name: str | None = None) -> Datastore:
        if name is None:
            return workspace.get_default_datastore()
        return workspace._datastore(name)

    @classmethod
    def _from_url(
        cls, name: str, url: str, options: dict[str, Any] | None = None, *, workspace: Any = None
    ) -> Datastore:
        self = object.__new__(cls)
        self.name = name
        self.url = url
        self.workspace = workspace
        self._options = dict(options or {})
        self._protocol = split_protocol(url.split("::")[0])[0] or "file"
        self._local = self._protocol in _LOCAL
        return self

    # -- registration (hyperpipe's API and SDK v1's) ------------------------------------------

    @staticmethod
    def register(
        workspace: Any,
        datastore_name: str,
        url: str,
        *,
        storage_options: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> Datastore:
        """Register ``url`` as ``datastore_name`` in ``workspace`` and return it.

        ``url`` is a folder (relative to the workspace root unless absolute), a ``file://`` or
        ``memory://`` URL, or an object store URL (``s3://``, ``az://``/``abfs://``, ``gs://``)
        whose fsspec package is installed. ``storage_options`` go to that fsspec filesystem and
        are kept in the workspace config (never shown in reprs or messages).
        """
        if not isinstance(datastore_name, str) or not _NAME.match(datastore_name):
            raise UserErrorException(
                f"datastore name {datastore_name!r} is invalid: use 1-255 letters, digits or "
                "underscores (e.g. 'raw_data')"
            )
        if not isinstance(url, str) or not url.strip():
            raise UserErrorException(
                f"datastore {datastore_name!r}: url must be a non-empty string such as "
                f"'data/raw', 'file:///srv/data' or 's3://bucket/prefix', got {url!r}"
            )
        options = _check_options(datastore_name, storage_options)
        _check_backend(datastore_name, url)
        resolved = workspace._datastore_url(url)
        if "://" not in resolved and os.path.isfile(resolved):
            raise UserErrorException(
                f"datastore {datastore_name!r}: {resolved!r} is a file, not a folder; pass a "
                "folder path (it is created when missing)"
            )
        datastore: Datastore = workspace._register_datastore(
            datastore_name, url, options, overwrite=overwrite
        )
        if datastore._local:
            datastore._fs.makedirs(datastore._root, exist_ok=True)
        return datastore

    @staticmethod
    def register_azure_blob_container(
        workspace: Any,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> Datastore:
        """SDK v1's blob container registration: ``az://<container_name>`` through adlfs.

        ``endpoint`` (e.g. ``core.chinacloudapi.cn``) sets adlfs's ``account_host``;
        ``create_if_not_exists`` creates the container. ``protocol``, ``skip_validation``,
        ``blob_cache_timeout``, ``grant_workspace_access``, ``subscription_id`` and
        ``resource_group`` are accepted for compatibility and ignored.
        """
        options: dict[str, Any] = {"account_name": account_name}
        if account_key:
            options["account_key"] = account_key
        elif sas_token:
            options["sas_token"] = sas_token.lstrip("?")
        if endpoint and endpoint != "core.windows.net":
            options["account_host"] = f"{account_name}.blob.{endpoint}"
        datastore = Datastore.register(
            workspace,
            datastore_name,
            f"az://{container_name}",
            storage_options=options,
            overwrite=overwrite,
        )
        if create_if_not_exists:
            datastore._fs.makedirs(datastore._root, exist_ok=True)
        return datastore

    @staticmethod
    def get(workspace: Any, datastore_name: str) -> Datastore:
        """The datastore registered under ``datastore_name`` in ``workspace``."""
        return workspace._datastore(datastore_name)

    @staticmethod
    def get_default(workspace: Any) -> Datastore:
        return workspace.get_default_datastore()

    def set_as_default(self) -> None:
        """Make this the workspace's default datastore (where runs and models store files)."""
        self._bound_workspace("set_as_default").set_default_datastore(self.name)

    def unregister(self) -> None:
        """Remove this datastore from the workspace config; its files are left untouched."""
        self._bound_workspace("unregister")._unregister_datastore(self.name)

    def _bound_workspace(self, action: str) -> Any:
        if self.workspace is None:
            raise UserErrorException(
                f"datastore {self.name!r} is not bound to a workspace, so {action}() cannot "
                "work; get it with Datastore.get(ws, name)"
            )
        return self.workspace

    # -- identity -------------------------------------------------------------------------------

    @property
    def datastore_type(self) -> str:
        return _TYPES.get(self._protocol, self._protocol)

    @property
    def container_name(self) -> str | None:
        """SDK v1's blob container (the URL's first path segment) for ``az://`` datastores."""
        if _TYPES.get(self._protocol) != "AzureBlob":
            return None
        return split_protocol(self.url)[1].split("/")[0] or None

    @property
    def account_name(self) -> str | None:
        return self._options.get("account_name")

    def __repr__(self) -> str:
        return f"Datastore(name={self.name!r}, url={self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Datastore) and (self.name, self.url) == (other.name, other.url)

    def __hash__(self) -> int:
        return hash((self.name, self.url))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickles as its constructor arguments; the filesystem is reopened on first use.
        state = {"workspace": self.workspace}
        return (Datastore._from_url, (self.name, self.url, self._options), state)

    # -- SDK v1 file operations -------------------------------------------------------------------

    def upload(
        self,
        src_dir: str | os.PathLike[str],
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload every file under the folder ``src_dir`` to ``target_path``, keeping the layout.

        Like SDK v1, existing files are skipped unless ``overwrite``; unlike it, skipping a file
        whose content differs from the local one warns (SDK v1 left stale data silently).
        """
        source = Path(src_dir)
        if not source.is_dir():
            what = "a file" if source.is_file() else "missing"
            raise UserErrorException(
                f"upload: src_dir must be a folder, got {os.fspath(src_dir)!r} ({what}); use "
                "upload_files([...]) to upload single files"
            )
        files = [(path, path.relative_to(source).as_posix()) for path in files_under(source)]
        return self._upload(files, target_path, overwrite, show_progress)

    def upload_files(
        self,
        files: Sequence[str | os.PathLike[str]],
        relative_root: str | os.PathLike[str] | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload ``files``, each stored at its path relative to ``relative_root`` under
        ``target_path``; ``relative_root`` defaults to the files' common parent folder."""
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        paths = [Path(os.path.abspath(f)) for f in files]
        missing = [os.fspath(f) for f, p in zip(files, paths, strict=True) if not p.is_file()]
        if missing or not paths:
            raise UserErrorException(
                f"upload_files: these are not files: {missing or 'none given'}; pass a list of "
                "existing file paths (use upload(src_dir) for a folder)"
            )
        root = os.path.abspath(relative_root or os.path.commonpath([p.parent for p in paths]))
        outside = [os.fspath(p) for p in paths if not p.is_relative_to(root)]
        if outside:
            raise UserErrorException(
                f"upload_files: {outside} are not under relative_root {root!r}; pass a "
                "relative_root that contains every file, or leave it out"
            )
        pairs = {p.relative_to(root).as_posix(): p for p in paths}
        return self._upload(
            [(p, rel) for rel, p in pairs.items()], target_path, overwrite, show_progress
        )

    def download(
        self,
        target_path: str | os.PathLike[str],
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Download the files under ``prefix`` (a folder or file path; default: everything) to
        ``target_path``, keeping their datastore paths. Returns how many files were written;
        existing local files are skipped unless ``overwrite``."""
        target = Path(target_path)
        files = list(self._walk(prefix or ""))
        count = 0
        with progress(show_progress, len(files), f"Downloading from {self.name}") as advance:
            wanted = []
            for rel, _size in files:
                local = target.joinpath(*rel.split("/"))
                if overwrite or not local.exists():
                    wanted.append((rel, local))
                    count += 1
            advance(len(files) - len(wanted))
            self._get_files(wanted, advance)
        return count

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A :class:`DataReference` to ``path`` in this datastore (default: its root)."""
        return DataReference(self, data_reference_name=data_reference_name, path_on_datastore=path)

    def as_mount(self) -> DataReference:
        return self.path().as_mount()

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        return self.path().as_download(path_on_compute)

    def as_upload(self, path_on_compute: str | None = None) -> DataReference:
        return self.path().as_upload(path_on_compute)

    def _upload(
        self,
        files: list[tuple[Path, str]],
        target_path: str | None,
        overwrite: bool,
        show_progress: bool,
    ) -> DataReference:
        prefix = normalize_path(target_path)
        wanted = [(local, normalize_path(f"{prefix}/{rel}")) for local, rel in files]
        changed: list[str] = []
        with progress(show_progress, len(files), f"Uploading to {self.name}") as advance:
            if self._bulk:  # one listing per folder instead of a request per file
                existing = {} if overwrite else self._sizes([dest for _local, dest in wanted])
                new = []
                for local, dest in wanted:
                    if dest not in existing:
                        new.append((local, dest))
                    elif self._differs(local, dest, existing[dest]):
                        changed.append(dest)
                advance(len(wanted) - len(new))
                self._put_files(new, advance)
            else:
                for local, dest in wanted:
                    size = None if overwrite else self._size(dest)
                    if size is None:
                        self._put_file(local, dest)
                    elif self._differs(local, dest, size):
                        changed.append(dest)
                    advance()
        if changed:
            warnings.warn(
                f"upload to datastore {self.name!r} skipped {len(changed)} existing file(s) whose "
                f"content differs from the local copy (first: {changed[0]!r}); they still hold "
                "the old data. Pass overwrite=True to replace them",
                UserWarning,
                stacklevel=3,
            )
        return self.path(target_path)

    def _size(self, path: str) -> int | None:
        """The size of the file at ``path``, or None when there is none."""
        try:
            info = self._fs.info(self._full(path))
        except FileNotFoundError:
            return None
        return int(info.get("size") or 0) if info.get("type") != "directory" else None

    def _differs(self, local: Path, path: str, size: int) -> bool:
        if local.stat().st_size != size:
            return True
        with open(local, "rb") as mine, self._open(path) as theirs:
            return sha256_of(mine) != sha256_of(theirs)

    # -- internal file API (runs, models and datasets build on these) ---------------------------

    @cached_property
    def _fs_and_root(self) -> tuple[fsspec.AbstractFileSystem, str]:
        import fsspec

        _check_backend(self.name, self.url)
        fs, root = fsspec.core.url_to_fs(self.url, **self._options)
        return fs, root.rstrip("/")

    @property
    def _fs(self) -> fsspec.AbstractFileSystem:
        return self._fs_and_root[0]

    @cached_property
    def _root(self) -> str:
        if self._local and "::" not in self.url:  # a plain folder: no filesystem to open
            return _local_root(self.url)
        return self._fs_and_root[1]

    def _full(self, path: str) -> str:
        rel = normalize_path(path)
        return f"{self._root}/{rel}" if rel else self._root

    def _local_path(self, path: str = "") -> Path | None:
        """The local filesystem path of ``path`` when this datastore is a local folder."""
        return Path(self._full(path)) if self._local else None

    def _put_file(self, local_path: str | os.PathLike[str], path: str) -> int:
        """Copy a local file to ``path`` atomically; returns its size."""
        target = self._full(path)
        source = os.fspath(local_path)
        if self._protocol in _ATOMIC_PUT:
            self._fs.put_file(source, target)
        else:
            self._write_via_temp(target, lambda temp: self._fs.put_file(source, temp))
        return os.path.getsize(source)

    @property
    def _bulk(self) -> bool:
        """Whether many files move in concurrent batches: an object store behind an asynchronous
        fsspec filesystem (s3fs, gcsfs, adlfs), where every file is a request of its own."""
        return self._protocol in _ATOMIC_PUT and bool(getattr(self._fs, "async_impl", False))

    def _put_files(
        self, pairs: Sequence[tuple[Path, str]], advance: Callable[..., None] | None = None
    ) -> None:
        """Copy local files to their paths here. On object stores, ``_BATCH`` files at a time go
        in one fsspec ``put`` with lists of paths, which uploads them concurrently (each object
        still appears only once complete); elsewhere file by file, as ``_put_file`` does."""
        if not self._bulk:
            for local, path in pairs:
                self._put_file(local, path)
                if advance:
                    advance()
            return
        targets = [(os.fspath(local), self._full(path)) for local, path in pairs]
        for start in range(0, len(targets), _BATCH):
            batch = targets[start : start + _BATCH]
            if self._protocol in _MD5_ETAG:
                for local, _target in batch:
                    _remember_upload(local)
            self._fs.put([local for local, _ in batch], [target for _, target in batch])
            if advance:
                advance(len(batch))

    def _known_sha256(self, info: dict[str, Any]) -> str | None:
        """The sha256 of an object this process uploaded, known from its listing alone: on S3 a
        plain object's ETag is the MD5 of its bytes, so an ETag equal to the MD5 of content put
        here names that content (a multipart or encrypted object's ETag is not an MD5 and finds
        nothing)."""
        if self._protocol not in _MD5_ETAG:
            return None
        etag = str(info.get("ETag") or info.get("etag") or "").strip('"').lower()
        return _UPLOADED.get(etag) if _MD5.match(etag) else None

    def _get_files(
        self, pairs: Sequence[tuple[str, Path]], advance: Callable[..., None] | None = None
    ) -> None:
        """Copy files here to local paths, each atomically (a temporary sibling, then a rename).
        On object stores, ``_BATCH`` files at a time in one concurrent fsspec ``get``."""
        if not self._bulk:
            for path, local in pairs:
                self._get_file(path, local)
                if advance:
                    advance()
            return
        sources = [self._full(path) for path, _local in pairs]
        for start in range(0, len(pairs), _BATCH):
            locals_ = [Path(local) for _path, local in pairs[start : start + _BATCH]]
            temps = [t.with_name(f"{t.name}.hp-tmp-{uuid4_hex()[:12]}") for t in locals_]
            for local in {t.parent for t in locals_}:
                local.mkdir(parents=True, exist_ok=True)
            try:
                self._fs.get(sources[start : start + _BATCH], [os.fspath(t) for t in temps])
                for temp, local in zip(temps, locals_, strict=True):
                    os.replace(temp, local)
            except BaseException:
                for temp in temps:
                    temp.unlink(missing_ok=True)
                raise
            if advance:
                advance(len(locals_))

    def _infos(self, paths: Sequence[str]) -> dict[str, dict[str, Any]]:
        """fsspec's info of each of ``paths`` that is a file here (missing ones are left out),
        from one listing of each parent folder rather than a request per file."""
        wanted = {self._full(path): normalize_path(path) for path in paths}
        found: dict[str, dict[str, Any]] = {}
        for parent in sorted({full.rsplit("/", 1)[0] for full in wanted}):
            try:
                listing = self._fs.ls(parent, detail=True)
            except (FileNotFoundError, NotADirectoryError):
                continue
            for info in listing:
                name = self._fs._strip_protocol(info["name"]).rstrip("/")
                if name in wanted and info.get("type") != "directory":
                    found[wanted[name]] = info
        return found

    def _sizes(self, paths: Sequence[str]) -> dict[str, int]:
        """The size of each of ``paths`` that is a file here (see ``_infos``)."""
        return {path: int(info.get("size") or 0) for path, info in self._infos(paths).items()}

    def _sha256s(self, paths: Sequence[str]) -> dict[str, str]:
        """The sha256 of each file at ``paths``. On object stores the files are fetched
        ``_BATCH`` at a time, concurrently, into a scratch folder; elsewhere streamed one by one."""
        digests: dict[str, str] = {}
        if not self._bulk:
            for path in paths:
                with self._open(path) as stream:
                    digests[path] = sha256_of(stream)
            return digests
        import tempfile

        with tempfile.TemporaryDirectory(prefix="hyperpipe-hash-") as scratch:
            for start in range(0, len(paths), _BATCH):
                batch = list(paths[start : start + _BATCH])
                spools = [os.path.join(scratch, str(i)) for i in range(len(batch))]
                self._fs.get([self._full(path) for path in batch], spools)
                for path, spool in zip(batch, spools, strict=True):
                    with open(spool, "rb") as stream:
                        digests[path] = sha256_of(stream)
                    os.remove(spool)
        return digests

    def _put_stream(self, stream: BinaryIO, path: str) -> int:
        """Store what ``stream`` yields at ``path`` atomically; returns the size written."""
        import shutil

        target = self._full(path)
        if self._protocol in _ATOMIC_PUT:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="hyperpipe-") as scratch:
                spool = os.path.join(scratch, "stream")
                with open(spool, "wb") as out:
                    shutil.copyfileobj(stream, out, CHUNK)
                self._fs.put_file(spool, target)
                return os.path.getsize(spool)

        def write(temp: str) -> None:
            with self._fs.open(temp, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)

        self._write_via_temp(target, write)
        return self._fs.size(target)

    def _write_via_temp(self, target: str, write: Callable[[str], None]) -> None:
        self._fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        temp = f"{target}.hp-tmp-{uuid4_hex()[:12]}"
        try:
            write(temp)
            if self._local:
                os.replace(temp, target)
            else:
                self._fs.mv(temp, target)
        except BaseException:
            with suppress(OSError):  # never created, or already gone
                self._fs.rm_file(temp)
            raise

    def _get_file(self, path: str, local_path: str | os.PathLike[str]) -> None:
        """Copy ``path`` to a local file, atomically (a temporary sibling, then a rename)."""
        target = Path(local_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f"{target.name}.hp-tmp-{uuid4_hex()[:12]}")
        try:
            self._fs.get_file(self._full(path), os.fspath(temp))
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def _open(self, path: str, mode: str = "rb") -> Any:
        """Open ``path`` through fsspec; writing this way is not atomic (use ``_put_stream``)."""
        return self._fs.open(self._full(path), mode)

    def _exists(self, path: str) -> bool:
        return self._fs.exists(self._full(path))

    def _remove(self, path: str) -> None:
        """Delete the file or folder at ``path`` (nothing there is fine)."""
        import shutil

        full = self._full(path)
        if self._local:
            local = Path(full)
            if local.is_dir() and not local.is_symlink():
                shutil.rmtree(local, ignore_errors=True)
            else:
                local.unlink(missing_ok=True)
        elif self._fs.exists(full):
            with suppress(FileNotFoundError):
                self._fs.rm(full, recursive=True)

    def _temp_name(self, path: str) -> str:
        """A sibling of ``path`` that ``_walk`` and readers never list: for staged copies."""
        return f"{normalize_path(path)}.hp-tmp-{uuid4_hex()[:12]}"

    def _remove_temps(self, path: str) -> int:
        """Delete staged copies of ``path`` left by a process killed mid-copy; how many."""
        parent, _, name = normalize_path(path).rpartition("/")
        base = self._full(parent)
        if not self._fs.exists(base):
            return 0
        removed = 0
        for entry in self._fs.ls(base, detail=False):
            leaf = entry.rstrip("/").rsplit("/", 1)[-1]
            if leaf.startswith(f"{name}.hp-tmp-") and _TEMP.search(leaf):
                self._remove(f"{parent}/{leaf}" if parent else leaf)
                removed += 1
        return removed

    def _walk(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """(relative path, size) of every file under ``prefix``, sorted; temp files skipped.

        ``prefix`` is a folder or file path, not a string prefix: ``a`` covers ``a/x``, not ``ab``.
        """
        base = self._full(prefix)
        if not self._fs.exists(base):
            return
        if self._fs.isfile(base):
            yield normalize_path(prefix), self._fs.size(base)
            return
        for full, info in sorted(self._fs.find(base, detail=True).items()):
            if _TEMP.search(full) or info.get("type") == "directory":
                continue
            yield full[len(self._root) :].lstrip("/"), int(info.get("size") or 0)


# -- helpers -----------------------------------------------------------------------------------


def _remember_upload(local: str) -> None:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(local, "rb") as stream:
        while chunk := stream.read(CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
    if len(_UPLOADED) >= _UPLOADED_MAX:
        _UPLOADED.clear()
    _UPLOADED[md5.hexdigest()] = sha256.hexdigest()


def _check_options(name: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """``storage_options`` must be a JSON object; messages name keys only, never values."""
    if options is None:
        return {}
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise UserErrorException(
            f"datastore {name!r}: storage_options must be a dict with string keys, got "
            f"{type(options).__name__}"
        )
    bad = []
    for key, value in options.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            bad.append(key)
    if bad:
        raise UserErrorException(
            f"datastore {name!r}: storage_options {bad} are not JSON values (they are kept in "
            "the workspace config); pass strings, numbers, booleans, lists or dicts"
        )
    return dict(options)


def split_protocol(url: str) -> tuple[str | None, str]:
    """``fsspec.core.split_protocol``, without importing fsspec: ``("s3", "bucket/key")``."""
    if "://" in url:
        protocol, path = url.split("://", 1)
        if len(protocol) > 1:  # a longer protocol than a Windows drive letter
            return protocol, path
    if url.startswith("data:"):
        protocol, path = url.split(":", 1)
        return protocol, path
    return None, url


def _local_root(url: str) -> str:
    """The absolute folder of a local datastore URL, as fsspec's LocalFileSystem names it."""
    path = split_protocol(url)[1]
    return os.path.abspath(os.path.expanduser(path)).rstrip("/") or "/"


def _check_backend(name: str, url: str) -> None:
    """Raise a one-line fix when ``url``'s protocol is unknown or its package is missing."""
    for part in url.split("::"):
        protocol = split_protocol(part)[0]
        if protocol is None or protocol in _LOCAL:
            continue
        import fsspec
        from fsspec.registry import known_implementations

        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError as exc:
            raise UserErrorException(
                f"datastore {name!r} has URL {url!r} with unknown protocol {protocol!r}; use a "
                "folder path or a file://, memory://, s3://, az:// (abfs://) or gs:// URL"
            ) from exc
        except ImportError as exc:
            module = known_implementations.get(protocol, {}).get("class", protocol).split(".")[0]
            if find_spec(module) is not None:  # installed, but it (or a dependency) is broken
                raise UserErrorException(
                    f"datastore {name!r}: the {module} package for {protocol}:// URLs failed to "
                    f"import ({exc}); run: pip install --force-reinstall {module}"
                ) from exc
            raise UserErrorException(
                f"datastore {name!r} needs the {module} package for {protocol}:// URLs like "
                f"{url!r}; run: pip install {module}"
            ) from exc
