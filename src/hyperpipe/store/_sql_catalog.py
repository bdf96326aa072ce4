"""Artifacts, models, datasets and environments of the SQL store: the catalog of what runs made,
read and ran in.

Mixed into ``SqlStore``, whose connection helpers (``_read``, ``_write``,
``_retry_on_conflict``) it uses.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update

from hyperpipe._ids import uuid4_hex
from hyperpipe.exceptions import ModelNotFoundException, UserErrorException
from hyperpipe.store._records import (
    ArtifactRecord,
    DataDriftRecord,
    DataDriftRetrainRecord,
    DatasetRecord,
    EnvironmentRecord,
    ModelRecord,
)
from hyperpipe.store._schema import (
    artifacts,
    datadrift_detectors,
    datadrift_retrains,
    datasets,
    environments,
    models,
)
from hyperpipe.store._schema import dataset_files as manifest_rows

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime, timedelta

    from sqlalchemy.engine import Row

__all__ = ["CatalogQueries"]


class CatalogQueries:
    """The catalog half of ``SqlStore``."""

    # -- artifacts ------------------------------------------------------------------------------

    def add_artifacts(self, run_key: int, files: Iterable[tuple[str, int]]) -> None:
        rows = [
            {"run_key": run_key, "path": p, "size": s, "created_at": time.time()} for p, s in files
        ]
        if not rows:
            return
        with self._write() as conn:
            conn.execute(
                delete(artifacts).where(
                    artifacts.c.run_key == run_key, artifacts.c.path.in_([r["path"] for r in rows])
                )
            )
            conn.execute(insert(artifacts), rows)

    def list_artifacts(self, run_key: int, prefix: str | None = None) -> list[ArtifactRecord]:
        query = select(artifacts).where(artifacts.c.run_key == run_key).order_by(artifacts.c.path)
        if prefix:
            query = query.where(artifacts.c.path.startswith(prefix, autoescape=True))
        with self._read() as conn:
            return [ArtifactRecord(r.path, r.size, r.created_at) for r in conn.execute(query)]

    # -- models ---------------------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        *,
        datastore: str,
        path: str,
        run_id: str | None = None,
        experiment_name: str | None = None,
        description: str | None = None,
        framework: str | None = None,
        framework_version: str | None = None,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> ModelRecord:
        """Record the next version of model ``name`` (1 for a new name)."""

        def insert_next() -> ModelRecord:
            with self._write() as conn:
                latest = conn.execute(
                    select(func.max(models.c.version)).where(models.c.name == name)
                ).scalar()
                version = (latest or 0) + 1
                conn.execute(
                    insert(models).values(
                        name=name,
                        version=version,
                        datastore=datastore,
                        path=path,
                        run_id=run_id,
                        experiment_name=experiment_name,
                        description=description,
                        framework=framework,
                        framework_version=framework_version,
                        tags=tags or {},
                        properties=properties or {},
                        created_at=time.time(),
                    )
                )
                row = conn.execute(
                    select(models).where(models.c.name == name, models.c.version == version)
                ).one()
                return _model(row)

        return self._retry_on_conflict(insert_next)

    def get_model(self, name: str, version: int | None = None) -> ModelRecord | None:
        query = select(models).where(models.c.name == name)
        query = (
            query.order_by(models.c.version.desc()).limit(1)
            if version is None
            else query.where(models.c.version == version)
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _model(row)

    def list_models(
        self, name: str | None = None, run_id: str | None = None, latest: bool = False
    ) -> list[ModelRecord]:
        query = select(models).order_by(models.c.name, models.c.version.desc())
        if name is not None:
            query = query.where(models.c.name == name)
        if run_id is not None:
            query = query.where(models.c.run_id == run_id)
        with self._read() as conn:
            records = [_model(row) for row in conn.execute(query)]
        if latest:
            seen: set[str] = set()
            records = [r for r in records if not (r.name in seen or seen.add(r.name))]
        return records

    def update_model(
        self,
        name: str,
        version: int,
        *,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> ModelRecord:
        values = {k: v for k, v in (("tags", tags), ("properties", properties)) if v is not None}
        with self._write() as conn:
            if values:
                conn.execute(
                    update(models)
                    .where(models.c.name == name, models.c.version == version)
                    .values(**values)
                )
            row = conn.execute(
                select(models).where(models.c.name == name, models.c.version == version)
            ).one_or_none()
            if row is None:
                raise ModelNotFoundException(
                    f"model {name!r} has no version {version}; list its versions with "
                    f"Model.list(workspace, name={name!r})"
                )
            return _model(row)

    # -- environments ---------------------------------------------------------------------------

    def register_environment(self, name: str, definition: dict[str, Any]) -> EnvironmentRecord:
        """Record the next version of environment ``name``, unless its latest version has the
        same definition (then that version is returned)."""

        def insert_next() -> EnvironmentRecord:
            with self._write() as conn:
                latest = conn.execute(
                    select(environments)
                    .where(environments.c.name == name)
                    .order_by(environments.c.version.desc())
                    .limit(1)
                ).one_or_none()
                if latest is not None and latest.definition == definition:
                    return _environment(latest)
                version = (latest.version if latest is not None else 0) + 1
                conn.execute(
                    insert(environments).values(
                        name=name, version=version, definition=definition, created_at=time.time()
                    )
                )
                row = conn.execute(
                    select(environments).where(
                        environments.c.name == name, environments.c.version == version
                    )
                ).one()
                return _environment(row)

        return self._retry_on_conflict(insert_next)

    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord | None:
        query = select(environments).where(environments.c.name == name)
        query = (
            query.order_by(environments.c.version.desc()).limit(1)
            if version is None
            else query.where(environments.c.version == version)
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _environment(row)

    def list_environments(
        self, name: str | None = None, latest: bool = False
    ) -> list[EnvironmentRecord]:
        """Registered versions, by name then newest first (``latest``: one per name)."""
        query = select(environments).order_by(environments.c.name, environments.c.version.desc())
        if name is not None:
            query = query.where(environments.c.name == name)
        with self._read() as conn:
            records = [_environment(row) for row in conn.execute(query)]
        if latest:
            seen: set[str] = set()
            records = [r for r in records if not (r.name in seen or seen.add(r.name))]
        return records

    # -- data drift monitors ----------------------------------------------------------------------

    def save_datadrift(self, name: str, definition: dict[str, Any]) -> DataDriftRecord:
        """Record the next version of monitor ``name``'s definition (unchanged: the latest)."""
        table = datadrift_detectors

        def insert_next() -> DataDriftRecord:
            with self._write() as conn:
                latest = conn.execute(
                    select(table).where(table.c.name == name).order_by(table.c.version.desc())
                ).first()
                if latest is not None and latest.definition == definition:
                    return _datadrift(latest)
                version = (latest.version if latest is not None else 0) + 1
                conn.execute(
                    insert(table).values(
                        name=name, version=version, definition=definition, created_at=time.time()
                    )
                )
                row = conn.execute(
                    select(table).where(table.c.name == name, table.c.version == version)
                ).one()
                return _datadrift(row)

        return self._retry_on_conflict(insert_next)

    def get_datadrift(self, name: str) -> DataDriftRecord | None:
        table = datadrift_detectors
        with self._read() as conn:
            row = conn.execute(
                select(table).where(table.c.name == name).order_by(table.c.version.desc())
            ).first()
        return None if row is None else _datadrift(row)

    def list_datadrifts(self) -> list[DataDriftRecord]:
        """The newest version of every monitor, by name."""
        table = datadrift_detectors
        with self._read() as conn:
            rows = conn.execute(select(table).order_by(table.c.name, table.c.version.desc()))
            records = [_datadrift(row) for row in rows]
        seen: set[str] = set()
        return [r for r in records if not (r.name in seen or seen.add(r.name))]

    def claim_datadrift_retrain(
        self,
        name: str,
        *,
        window_start: datetime,
        window_end: datetime,
        cool_down: timedelta,
        check_run_id: str,
    ) -> DataDriftRetrainRecord | None:
        """Claim the retrain for monitor ``name``'s window, or None when a retrain was claimed
        for a window ending less than ``cool_down`` before ``window_start``.

        Atomic: the read and the insert share one transaction that holds a lock on the
        monitor's rows (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write transactions
        take the database's write lock up front), so of two checks finishing together exactly
        one gets the claim."""
        from datetime import datetime

        table = datadrift_retrains
        with self._write() as conn:
            conn.execute(
                select(datadrift_detectors.c.key)
                .where(datadrift_detectors.c.name == name)
                .with_for_update()
            ).all()
            ends = conn.execute(select(table.c.window_end).where(table.c.name == name)).scalars()
            latest = max((datetime.fromisoformat(end) for end in ends), default=None)
            if latest is not None and window_start < latest + cool_down:
                return None
            key = conn.execute(
                insert(table).values(
                    name=name,
                    window_start=window_start.isoformat(),
                    window_end=window_end.isoformat(),
                    check_run_id=check_run_id,
                    retrain_run_id=None,
                    claimed_at=time.time(),
                )
            ).inserted_primary_key[0]
            return _retrain(conn.execute(select(table).where(table.c.key == key)).one())

    def finish_datadrift_retrain(
        self, key: int, *, retrain_run_id: str | None
    ) -> DataDriftRetrainRecord | None:
        """Record the run a claimed retrain started; ``None`` gives the claim up (the submit
        failed), so a later check may claim again."""
        table = datadrift_retrains
        with self._write() as conn:
            if retrain_run_id is None:
                conn.execute(delete(table).where(table.c.key == key))
                return None
            conn.execute(
                update(table).where(table.c.key == key).values(retrain_run_id=retrain_run_id)
            )
            return _retrain(conn.execute(select(table).where(table.c.key == key)).one())

    def list_datadrift_retrains(self, name: str) -> list[DataDriftRetrainRecord]:
        """Monitor ``name``'s retrains, oldest first."""
        table = datadrift_retrains
        with self._read() as conn:
            rows = conn.execute(select(table).where(table.c.name == name).order_by(table.c.key))
            return [_retrain(row) for row in rows]

    # -- datasets -------------------------------------------------------------------------------

    def register_dataset(
        self,
        *,
        name: str | None,
        kind: str,
        definition: dict[str, Any],
        files: Sequence[tuple[str | None, str, int, str, float | None]],
        content_hash: str,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        create_new_version: bool = True,
    ) -> DatasetRecord:
        """Record a dataset version, unless the latest version of ``name`` has the same content.

        Anonymous datasets (``name`` None) are recorded once per content and definition.
        """

        def register() -> DatasetRecord:
            with self._write() as conn:
                if name is None:
                    same = conn.execute(
                        select(datasets).where(
                            datasets.c.name.is_(None),
                            datasets.c.content_hash == content_hash,
                            datasets.c.kind == kind,
                        )
                    ).all()
                    for row in same:
                        if row.definition == definition:
                            return _dataset(row)
                    version = None
                else:
                    latest = conn.execute(
                        select(datasets)
                        .where(datasets.c.name == name)
                        .order_by(datasets.c.version.desc())
                        .limit(1)
                    ).one_or_none()
                    if (
                        latest is not None
                        and latest.content_hash == content_hash
                        and (
                            latest.kind == kind
                            and (latest.definition or {}).get("options")
                            == definition.get("options")
                        )
                    ):
                        return _dataset(latest)
                    if latest is not None and not create_new_version:
                        raise UserErrorException(
                            f"a dataset is already registered as {name!r} (version "
                            f"{latest.version}) with other content; pass create_new_version=True "
                            "to register this as a new version"
                        )
                    version = (latest.version if latest is not None else 0) + 1
                key = conn.execute(
                    insert(datasets)
                    .values(
                        id=uuid4_hex(),
                        name=name,
                        version=version,
                        kind=kind,
                        definition=definition,
                        content_hash=content_hash,
                        description=description,
                        tags=tags or {},
                        file_count=len(files),
                        total_size=sum(f[2] for f in files),
                        created_at=time.time(),
                    )
                    .returning(datasets.c.key)
                ).scalar_one()
                if files:
                    conn.execute(
                        insert(manifest_rows),
                        [
                            {
                                "dataset_key": key,
                                "datastore": store or "",
                                "path": path,
                                "size": size,
                                "sha256": sha,
                                "mtime": mtime,
                            }
                            for store, path, size, sha, mtime in files
                        ],
                    )
                return _dataset(conn.execute(select(datasets).where(datasets.c.key == key)).one())

        return self._retry_on_conflict(register)

    def get_dataset(self, name: str, version: int | None = None) -> DatasetRecord | None:
        query = select(datasets).where(datasets.c.name == name)
        query = (
            query.order_by(datasets.c.version.desc()).limit(1)
            if version is None
            else query.where(datasets.c.version == version)
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _dataset(row)

    def get_dataset_by_id(self, dataset_id: str) -> DatasetRecord | None:
        with self._read() as conn:
            row = conn.execute(select(datasets).where(datasets.c.id == dataset_id)).one_or_none()
        return None if row is None else _dataset(row)

    def list_datasets(self, name: str | None = None, latest: bool = False) -> list[DatasetRecord]:
        """Registered versions (anonymous ones excluded), newest version first per name."""
        query = (
            select(datasets)
            .where(datasets.c.name.is_not(None))
            .order_by(datasets.c.name, datasets.c.version.desc())
        )
        if name is not None:
            query = query.where(datasets.c.name == name)
        with self._read() as conn:
            records = [_dataset(row) for row in conn.execute(query)]
        if latest:
            seen: set[str | None] = set()
            records = [r for r in records if not (r.name in seen or seen.add(r.name))]
        return records

    def dataset_files(self, key: int) -> list[tuple[str | None, str, int, str, float | None]]:
        """The manifest of a version: (datastore, path, size, sha256, mtime), sorted."""
        query = (
            select(manifest_rows)
            .where(manifest_rows.c.dataset_key == key)
            .order_by(manifest_rows.c.datastore, manifest_rows.c.path)
        )
        with self._read() as conn:
            return [
                (r.datastore or None, r.path, r.size, r.sha256, r.mtime)
                for r in conn.execute(query)
            ]


def _model(row: Row) -> ModelRecord:
    return ModelRecord(
        name=row.name,
        version=row.version,
        datastore=row.datastore,
        path=row.path,
        created_at=row.created_at,
        run_id=row.run_id,
        experiment_name=row.experiment_name,
        description=row.description,
        framework=row.framework,
        framework_version=row.framework_version,
        tags=row.tags or {},
        properties=row.properties or {},
    )


def _environment(row: Row) -> EnvironmentRecord:
    return EnvironmentRecord(
        name=row.name, version=row.version, definition=row.definition, created_at=row.created_at
    )


def _retrain(row: Row) -> DataDriftRetrainRecord:
    return DataDriftRetrainRecord(
        key=row.key,
        name=row.name,
        window_start=row.window_start,
        window_end=row.window_end,
        check_run_id=row.check_run_id,
        retrain_run_id=row.retrain_run_id,
        claimed_at=row.claimed_at,
    )


def _datadrift(row: Row) -> DataDriftRecord:
    return DataDriftRecord(
        name=row.name, version=row.version, definition=row.definition, created_at=row.created_at
    )


def _dataset(row: Row) -> DatasetRecord:
    return DatasetRecord(
        key=row.key,
        id=row.id,
        name=row.name,
        version=row.version,
        kind=row.kind,
        definition=row.definition or {},
        content_hash=row.content_hash,
        file_count=row.file_count,
        total_size=row.total_size,
        created_at=row.created_at,
        description=row.description,
        tags=row.tags or {},
    )
