"""Datasets: SDK v1's ``Dataset.File`` / ``Dataset.Tabular``, registered as immutable manifests.

A dataset is a definition (its sources, and for tables how to parse them). Registering it hashes
every file into a manifest; a registered version never changes. Registering content identical to
the latest version returns that version; any changed byte makes a new one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface
from hyperpipe.data._consumption import DatasetConsumptionConfig, check_input_name
from hyperpipe.data._datastore import Datastore
from hyperpipe.data._manifest import (
    FileEntry,
    Source,
    build_manifest,
    content_hash,
    relative_paths,
)
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    import pandas as pd

    from hyperpipe.store import DatasetRecord

__all__ = [
    "AbstractDataset",
    "Dataset",
    "DatasetFactory",
    "FileDataset",
    "FileDatasetFactory",
    "TabularDataset",
    "TabularDatasetFactory",
]


class AbstractDataset(SdkV1Surface):
    """What file and tabular datasets share: identity, registration, consumption."""

    _kind = "abstract"

    def __init__(
        self,
        sources: list[Source],
        *,
        workspace: Any = None,
        options: dict[str, Any] | None = None,
        entries: list[FileEntry] | None = None,
        record: DatasetRecord | None = None,
        datastores: dict[str, Datastore] | None = None,
    ) -> None:
        self._sources = list(sources)
        self._workspace = workspace
        self._given_datastores = dict(datastores or {})
        self._options = dict(options or {})
        self._entries = entries
        self._record = record

    @classmethod
    def _from_record(cls, workspace: Any, record: DatasetRecord) -> AbstractDataset:
        definition = record.definition
        target = FileDataset if record.kind == "file" else TabularDataset
        return target(
            [Source(d, p) for d, p in definition.get("sources", [])],
            workspace=workspace,
            options=definition.get("options"),
            record=record,
        )

    # -- identity -----------------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        return self._record.name if self._record else None

    @property
    def version(self) -> int | None:
        return self._record.version if self._record else None

    @property
    def id(self) -> str | None:
        return self._record.id if self._record else None

    @property
    def description(self) -> str | None:
        return self._record.description if self._record else None

    @property
    def tags(self) -> dict[str, Any]:
        return dict(self._record.tags) if self._record else {}

    @property
    def content_hash(self) -> str:
        """sha256 of the content (paths below the common folder and each file's sha256)."""
        return self._record.content_hash if self._record else content_hash(self._manifest())

    def __repr__(self) -> str:
        kind = type(self).__name__
        if self._record and self._record.name:
            return f"{kind}(name={self.name!r}, version={self.version}, id={self.id!r})"
        return f"{kind}(sources={[s.describe() for s in self._sources]})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AbstractDataset)
            and type(self) is type(other)
            and self.content_hash == other.content_hash
            and self._options == other._options
        )

    def __hash__(self) -> int:
        return hash(self.content_hash)

    # -- manifest -----------------------------------------------------------------------------

    def _datastores(self) -> dict[str, Datastore]:
        found = dict(self._given_datastores)
        for name in {s.datastore for s in self._sources if s.datastore} - found.keys():
            if self._workspace is None:
                raise UserErrorException(f"datastore {name!r} of this dataset has no workspace")
            found[name] = self._workspace._datastore(name)
        return found

    def _manifest(self) -> list[FileEntry]:
        if self._entries is None:
            if self._record is not None:
                store = self._workspace._store
                self._entries = [FileEntry(*row) for row in store.dataset_files(self._record.key)]
            else:
                self._entries = build_manifest(self._sources, self._datastores())
        return self._entries

    def _open(self, entry: FileEntry, mode: str = "rb") -> Any:
        if entry.datastore is None:
            import fsspec

            return fsspec.open(entry.path, mode).open()
        return self._datastores()[entry.datastore]._open(entry.path, mode)

    def _fetch(self, pairs: list[tuple[FileEntry, Path]]) -> None:
        """Copy each entry's file to its local path; a datastore's files go together, so an
        object store fetches them in concurrent batches (``Datastore._get_files``)."""
        import shutil

        by_store: dict[str, list[tuple[str, Path]]] = {}
        for entry, out in pairs:
            if entry.datastore is None:
                out.parent.mkdir(parents=True, exist_ok=True)
                with self._open(entry) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            else:
                by_store.setdefault(entry.datastore, []).append((entry.path, out))
        stores = self._datastores()
        for name, files in by_store.items():
            stores[name]._get_files(files)

    # -- registration -------------------------------------------------------------------------

    def register(
        self,
        workspace: Any,
        name: str,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        create_new_version: bool = False,
    ) -> AbstractDataset:
        """Register this definition as ``name``; returns the registered version.

        Identical content to the latest version returns that version (no new version, whatever
        ``create_new_version`` says); changed content needs ``create_new_version=True``.
        """
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException(f"dataset name must be a non-empty string, got {name!r}")
        return self._save(workspace, name, description, tags, create_new_version)

    def _save(
        self,
        workspace: Any,
        name: str | None,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        create_new_version: bool = True,
    ) -> AbstractDataset:
        if self._workspace is None:
            self._workspace = workspace
        previous: list[FileEntry] = []
        if name is not None:
            latest = workspace._store.get_dataset(name)
            if latest is not None:
                previous = [FileEntry(*row) for row in workspace._store.dataset_files(latest.key)]
        if self._record is None:
            # Hashes taken moments ago (from_files validates by building the manifest) are
            # reused for files whose size and time are unchanged, as a previous version's are.
            previous += self._entries or []
            self._entries = build_manifest(self._sources, self._datastores(), previous=previous)
        entries = self._manifest()
        record = workspace._store.register_dataset(
            name=name,
            kind=self._kind,
            definition={
                "sources": [s.to_json() for s in self._sources],
                "options": self._options,
            },
            files=[(e.datastore, e.path, e.size, e.sha256, e.mtime) for e in entries],
            content_hash=content_hash(entries),
            description=description,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            create_new_version=create_new_version,
        )
        return AbstractDataset._from_record(workspace, record)

    def _adopt(self, saved: AbstractDataset) -> None:
        """Take on the identity ``saved`` was stored under (an unregistered dataset given to a
        run keeps that id, so later uses point at the same stored version)."""
        self._record = saved._record
        self._workspace = saved._workspace
        self._entries = saved._entries if saved._entries is not None else self._entries

    # -- consumption --------------------------------------------------------------------------

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """Give this dataset to a run as ``name`` (``Run.get_context().input_datasets[name]``)."""
        return DatasetConsumptionConfig(check_input_name(name), self)

    def _auto_input_name(self) -> str:
        return f"input__{(self.id or self.content_hash)[:8]}"


class FileDataset(AbstractDataset):
    """A set of files, consumed as a mounted or downloaded folder."""

    _kind = "file"

    def to_path(self) -> list[str]:
        """Each file's path below the files' common folder, with a leading ``/`` (SDK v1)."""
        return ["/" + p for p in relative_paths(self._manifest())]

    def download(
        self,
        target_path: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        ignore_not_found: bool = False,
    ) -> list[str]:
        """Copy the files into ``target_path`` (keeping their layout); returns their paths."""
        target = Path(target_path or ".")
        entries = self._manifest()
        outs = [target / rel for rel in relative_paths(entries)]
        for out in outs:
            if out.exists() and not overwrite:
                raise UserErrorException(f"{out} already exists; pass overwrite=True to replace it")
        self._fetch(list(zip(entries, outs, strict=True)))
        return [str(out) for out in outs]

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self._auto_input_name(), self, "mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self._auto_input_name(), self, "download", path_on_compute)

    def take(self, count: int) -> FileDataset:
        return self._subset(self._manifest()[:count])

    def skip(self, count: int) -> FileDataset:
        return self._subset(self._manifest()[count:])

    def random_split(
        self, percentage: float, seed: int | None = None
    ) -> tuple[FileDataset, FileDataset]:
        """Two disjoint datasets, the first holding about ``percentage`` of the files."""
        if not 0 < percentage < 1:
            raise UserErrorException(f"percentage must be between 0 and 1, got {percentage!r}")
        import random

        entries = list(self._manifest())
        random.Random(seed).shuffle(entries)
        cut = round(len(entries) * percentage)
        first, second = sorted(entries[:cut], key=_order), sorted(entries[cut:], key=_order)
        return self._subset(first), self._subset(second)

    def _subset(self, entries: list[FileEntry]) -> FileDataset:
        sources = [Source(e.datastore, e.path) for e in entries]
        return FileDataset(
            sources,
            workspace=self._workspace,
            entries=list(entries),
            datastores=self._given_datastores,
        )


class TabularDataset(AbstractDataset):
    """Delimited or Parquet files read as one table."""

    _kind = "tabular"

    def to_pandas_dataframe(
        self, on_error: str = "null", out_of_range_datetime: str = "null"
    ) -> pd.DataFrame:
        """Read every file and concatenate them, in manifest order."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise UserErrorException(
                "to_pandas_dataframe needs pandas; run: pip install pandas"
            ) from exc
        frames = []
        options = self._options
        for entry in self._manifest():
            with self._open(entry) as stream:
                if options.get("format") == "parquet":
                    frame = pd.read_parquet(stream)
                else:
                    frame = pd.read_csv(
                        stream,
                        sep=options.get("separator", ","),
                        header=0 if options.get("header", True) else None,
                        encoding=options.get("encoding", "utf8"),
                        dtype=None if options.get("infer_column_types", True) else str,
                        keep_default_na=not options.get("empty_as_string", False),
                    )
            if options.get("include_path"):
                frame.insert(0, "Path", entry.path)
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for column, kind in (options.get("set_column_types") or {}).items():
            table[column] = table[column].astype(kind)
        keep = options.get("keep_columns")
        if keep:
            table = table[keep]
        drop = options.get("drop_columns")
        if drop:
            table = table.drop(columns=drop)
        return table

    def keep_columns(self, columns: str | list[str], validate: bool = False) -> TabularDataset:
        return self._with(keep_columns=[columns] if isinstance(columns, str) else list(columns))

    def drop_columns(self, columns: str | list[str]) -> TabularDataset:
        return self._with(drop_columns=[columns] if isinstance(columns, str) else list(columns))

    @property
    def timestamp_columns(self) -> tuple[str | None, str | None]:
        """(timestamp column, partition timestamp column), as set by ``with_timestamp_columns``."""
        return (self._options.get("timestamp"), self._options.get("partition_timestamp"))

    def with_timestamp_columns(
        self,
        timestamp: str | None = None,
        partition_timestamp: str | None = None,
        validate: bool = False,
        **kwargs: Any,
    ) -> TabularDataset:
        """This dataset with its time columns named (what time filters and drift monitors read);
        ``validate`` reads the table to check the columns exist."""
        for value, what in ((timestamp, "timestamp"), (partition_timestamp, "partition_timestamp")):
            if value is not None and (not isinstance(value, str) or not value):
                raise UserErrorException(
                    f"with_timestamp_columns: {what} must be a column name, got {value!r}"
                )
        dataset = self._with(timestamp=timestamp, partition_timestamp=partition_timestamp)
        if validate:
            columns = set(dataset.to_pandas_dataframe().columns)
            for value in (timestamp, partition_timestamp):
                if value is not None and value not in columns:
                    raise UserErrorException(
                        f"with_timestamp_columns: no column {value!r} in this dataset; its "
                        f"columns: {', '.join(sorted(map(str, columns)))}"
                    )
        return dataset

    def _with(self, **options: Any) -> TabularDataset:
        return TabularDataset(
            self._sources,
            workspace=self._workspace,
            options={**self._options, **options},
            entries=self._entries,
            datastores=self._given_datastores,
        )


def _order(entry: FileEntry) -> tuple[str, str]:
    return (entry.datastore or "", entry.path)


def _sources(path: Any) -> list[Source]:
    """SDK v1's path forms: a URL or local path, ``(datastore, path)``, a DataPath, or a list."""
    items = path if isinstance(path, list) else [path]
    if not items:
        raise UserErrorException("path must name at least one file, folder or glob")
    sources = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Datastore):
            sources.append(Source(item[0].name, str(item[1])))
        elif hasattr(item, "datastore") and hasattr(item, "path_on_datastore"):  # DataPath
            sources.append(Source(item.datastore.name, item.path_on_datastore or ""))
        elif isinstance(item, (str, os.PathLike)):
            text = os.fspath(item)
            sources.append(Source(None, text if "://" in text else str(Path(text).resolve())))
        else:
            raise UserErrorException(
                f"cannot make a dataset from {item!r}: use a URL, a local path, "
                "(datastore, 'path/in/datastore') or a list of those"
            )
    kinds = {s.datastore is None for s in sources}
    if len(kinds) > 1:
        raise UserErrorException(
            "a dataset's paths must all be URLs or all be datastore paths, not a mix"
        )
    return sources


def _datastores_in(path: Any) -> dict[str, Datastore]:
    items = path if isinstance(path, list) else [path]
    found = {}
    for item in items:
        if isinstance(item, tuple) and isinstance(item[0], Datastore):
            found[item[0].name] = item[0]
        elif hasattr(item, "datastore") and hasattr(item, "path_on_datastore"):
            found[item.datastore.name] = item.datastore
    return found


class FileDatasetFactory(SdkV1Surface):
    """``Dataset.File``: create file datasets."""

    @staticmethod
    def from_files(
        path: Any, validate: bool = True, partition_format: str | None = None, is_file: bool = False
    ) -> FileDataset:
        """Files named by a path, folder or glob (or a list of them), in a datastore or at URLs."""
        sources = _sources(path)
        dataset = FileDataset(sources, datastores=_datastores_in(path))
        if validate:
            dataset._manifest()
        return dataset

    @staticmethod
    def upload_directory(
        src_dir: str,
        target: Any,
        pattern: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> FileDataset:
        """Upload a local folder to ``target=(datastore, path)`` and return it as a dataset."""
        datastore, path = target if isinstance(target, tuple) else (target, "")
        datastore.upload(
            src_dir, target_path=path, overwrite=overwrite, show_progress=show_progress
        )
        return FileDatasetFactory.from_files((datastore, f"{path.rstrip('/')}/{pattern or '**'}"))


class TabularDatasetFactory(SdkV1Surface):
    """``Dataset.Tabular``: create tabular datasets."""

    @staticmethod
    def from_delimited_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types: dict[str, Any] | None = None,
        separator: str = ",",
        header: bool | str = True,
        partition_format: str | None = None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
    ) -> TabularDataset:
        sources = _sources(path)
        dataset = TabularDataset(
            sources,
            datastores=_datastores_in(path),
            options={
                "format": "delimited",
                "include_path": include_path,
                "infer_column_types": infer_column_types,
                "set_column_types": {k: str(v) for k, v in (set_column_types or {}).items()},
                "separator": separator,
                "header": bool(header),
                "empty_as_string": empty_as_string,
                "encoding": encoding,
            },
        )
        if validate:
            dataset._manifest()
        return dataset

    @staticmethod
    def from_parquet_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: dict[str, Any] | None = None,
        partition_format: str | None = None,
    ) -> TabularDataset:
        sources = _sources(path)
        dataset = TabularDataset(
            sources,
            datastores=_datastores_in(path),
            options={
                "format": "parquet",
                "include_path": include_path,
                "set_column_types": {k: str(v) for k, v in (set_column_types or {}).items()},
            },
        )
        if validate:
            dataset._manifest()
        return dataset


class DatasetFactory(SdkV1Surface):
    """Namespace of SDK v1's ``Dataset``: ``Dataset.File``, ``Dataset.Tabular`` and lookups."""

    File = FileDatasetFactory
    Tabular = TabularDatasetFactory

    @staticmethod
    def get_by_name(
        workspace: Any, name: str, version: int | str | None = "latest"
    ) -> AbstractDataset:
        """A registered dataset version; ``version`` is an int, a numeric string or 'latest'."""
        wanted = _version(version)
        record = workspace._store.get_dataset(name, wanted)
        if record is None:
            versions = [d.version for d in workspace._store.list_datasets(name=name)]
            if versions:
                raise UserErrorException(
                    f"dataset {name!r} has no version {wanted}; registered versions: "
                    f"{sorted(v for v in versions if v is not None)}"
                )
            names = sorted({d.name for d in workspace._store.list_datasets() if d.name})
            raise UserErrorException(
                f"cannot find a dataset registered as {name!r}; registered datasets: "
                f"{', '.join(names) or 'none'}"
            )
        return AbstractDataset._from_record(workspace, record)

    @staticmethod
    def get_by_id(workspace: Any, id: str) -> AbstractDataset:
        record = workspace._store.get_dataset_by_id(id)
        if record is None:
            raise UserErrorException(f"no dataset with id {id!r} in workspace {workspace.name!r}")
        return AbstractDataset._from_record(workspace, record)

    @staticmethod
    def get_all(workspace: Any) -> dict[str, AbstractDataset]:
        """The latest version of every registered dataset, by name."""
        return {
            r.name: AbstractDataset._from_record(workspace, r)
            for r in workspace._store.list_datasets(latest=True)
            if r.name
        }

    @staticmethod
    def list_versions(workspace: Any, name: str) -> list[AbstractDataset]:
        """Every registered version of ``name``, newest first."""
        return [
            AbstractDataset._from_record(workspace, r)
            for r in workspace._store.list_datasets(name=name)
        ]


Dataset = DatasetFactory


def _version(version: int | str | None) -> int | None:
    if version is None or version == "latest":
        return None
    if isinstance(version, bool):
        raise UserErrorException(
            f"version must be an int, a numeric string or 'latest', got {version!r}"
        )
    if isinstance(version, int):
        return version
    if isinstance(version, str) and version.isdigit():
        return int(version)
    raise UserErrorException(
        f"version must be an int, a numeric string or 'latest', got {version!r}"
    )
