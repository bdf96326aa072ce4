"""What both SQL paths of the store share, free of SQLAlchemy: rows to records, the rules for
run fields, what a failed write means, and the run methods built on the primitive ones.

``_sql`` (SQLAlchemy Core, every database) and ``_sqlite`` (the standard library's ``sqlite3``,
the embedded default's fast path) import from here, so that a SQLite workspace can open its store
without loading SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperpipe.exceptions import (
    RunNotFoundError,
    StoreError,
    StoreUnwritableError,
    UserErrorException,
)
from hyperpipe.store._records import ExperimentRecord, RunRecord
from hyperpipe.store._status import RunStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# How long a SQLite writer waits for another process's write lock before it gives up.
BUSY_TIMEOUT_S = 120.0

UPDATABLE_RUN_FIELDS = frozenset(
    {
        "display_name",
        "target",
        "definition",
        "error",
        "host",
        "pid",
        "pid_started_at",
        "reuse_key",
        "heartbeat_at",
    }
)
STARTED = frozenset({RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FINISHED})


def check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - UPDATABLE_RUN_FIELDS
    if unknown:
        raise ValueError(f"cannot update run fields {sorted(unknown)}")


def check_parent_tags(parent_id: str | None, parent_tags: dict[str, Any] | None) -> None:
    """``create_run``'s ``parent_tags`` go to the parent: a run without one cannot take them."""
    if parent_tags and parent_id is None:
        raise ValueError("parent_tags need a parent_id: they are merged into the parent's tags")


def experiment_from_row(row: Any) -> ExperimentRecord:
    return ExperimentRecord(row.key, row.name, row.created_at, bool(row.archived))


def run_from_row(row: Any) -> RunRecord:
    """A run record from a row of the runs query (runs' columns, ``experiment_name``,
    ``parent_id``), JSON columns already decoded."""
    return RunRecord(
        key=row.key,
        id=row.id,
        experiment_name=row.experiment_name,
        number=row.number,
        run_type=row.run_type,
        status=RunStatus(row.status),
        created_at=row.created_at,
        parent_id=row.parent_id,
        display_name=row.display_name,
        target=row.target,
        definition=row.definition or {},
        error=row.error,
        tags=row.tags or {},
        properties=row.properties or {},
        started_at=row.started_at,
        ended_at=row.ended_at,
        host=row.host,
        pid=row.pid,
        pid_started_at=row.pid_started_at,
        reuse_key=row.reuse_key,
        heartbeat_at=row.heartbeat_at,
    )


def status_values(current: RunRecord, status: RunStatus, now: float) -> dict[str, Any]:
    """The columns a move of ``current`` to ``status`` writes besides the ones the caller gave:
    Running stamps the start, a terminal status the end, Queued again (resumed) clears both the
    end and the error."""
    values: dict[str, Any] = {"status": status.value}
    if status == RunStatus.RUNNING and current.started_at is None:
        values["started_at"] = now
    if status.is_terminal() and status != current.status:
        values["ended_at"] = now
    elif status == RunStatus.QUEUED:
        values["ended_at"] = None
        values["error"] = None
    return values


def write_failure(reason: Any, where: str, location: str, *, disk_full: bool) -> StoreError:
    """Say why a write failed, and what to do: a full disk is no lock contention.

    ``reason`` is the driver's exception, ``where`` the store's URL without password,
    ``location`` what ``disk_location`` says of the SQLite file ("" for a server).
    """
    text = str(reason).lower()
    if disk_full or "full" in text or "no space left" in text:
        return StoreUnwritableError(
            f"store write failed: no space left{location} for the store {where} "
            f"({reason}); free space there (this call wrote nothing), then retry or resume"
        )
    if "readonly" in text or "read-only" in text:
        return StoreUnwritableError(
            f"store write failed: the store {where} is read-only ({reason}); make the "
            "database file and its folder writable"
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            f"store write failed: {reason}; another process held the database for over "
            f"{int(BUSY_TIMEOUT_S)} s: stop it, or move the store to PostgreSQL "
            "(HYPERPIPE_STORE_URL)"
        )
    return StoreError(f"store write failed on {where}: {reason}")


class RunConveniences:
    """Run methods written on top of ``find_run`` and ``_merge_json``, the same on every path."""

    def find_run(self, run_id: str) -> RunRecord | None:
        raise NotImplementedError

    def _merge_json(
        self, run_id: str, column: str, merge: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        raise NotImplementedError

    def get_run(self, run_id: str) -> RunRecord:
        found = self.find_run(run_id)
        if found is None:
            raise RunNotFoundError(
                f"no run with id {run_id!r} in this workspace; list runs with `hyperpipe runs list`"
            )
        return found

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> dict[str, Any]:
        return self._merge_json(run_id, "tags", lambda old: {**old, **tags})

    def remove_tags(self, run_id: str, keys: Iterable[str]) -> dict[str, Any]:
        drop = set(keys)
        return self._merge_json(
            run_id, "tags", lambda old: {k: v for k, v in old.items() if k not in drop}
        )

    def add_properties(self, run_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Add properties; they are immutable, so changing an existing one is an error."""

        def merge(old: dict[str, Any]) -> dict[str, Any]:
            for key, value in properties.items():
                if key in old and old[key] != value:
                    raise UserErrorException(
                        f"property {key!r} of run {run_id!r} is already {old[key]!r}; properties "
                        "cannot change once set (use tags for values that change)"
                    )
            return {**old, **properties}

        return self._merge_json(run_id, "properties", merge)
