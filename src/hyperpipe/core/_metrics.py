"""Metric logging: batched writes to the store, journaled so a killed process loses nothing.

Every logged value is first appended to a per-process journal file (one ``write`` system call,
so it survives the process being killed) and to an in-memory batch. A background thread moves
batches into the store in one transaction each, together with the journal sequence number they
reach. Whoever finalizes a run replays journal lines past that number, so values logged just
before a crash still land, exactly once.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import NewPoint

if TYPE_CHECKING:
    from hyperpipe.store import MetricSeries, Store

__all__ = ["MetricWriter", "replay_journals", "shape_metrics", "to_point"]

FLUSH_INTERVAL_S = 0.25
FLUSH_SIZE = 20_000
TABLE_KINDS = frozenset({"table", "row"})
_writers: weakref.WeakSet[MetricWriter] = weakref.WeakSet()


def to_point(name: str, kind: str, value: Any, description: str, step: int | None) -> NewPoint:
    """Validate one value the way SDK v1 does and split it into number and JSON payload."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # numpy scalars
    if isinstance(value, float):
        return NewPoint(name, kind, value, None, time.time(), step, description)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return NewPoint(name, kind, None, value, time.time(), step, description)
    if isinstance(value, int):
        return NewPoint(name, kind, float(value), value, time.time(), step, description)
    if kind in TABLE_KINDS or kind == "json":
        return NewPoint(name, kind, None, value, time.time(), step, description)
    if isinstance(value, (list, tuple, range, set)) or hasattr(value, "__next__"):
        raise UserErrorException(
            f"run.log({name!r}, ...) got a {type(value).__name__}; log a sequence with "
            f"run.log_list({name!r}, values)"
        )
    raise UserErrorException(
        f"metric {name!r}: cannot log a value of type {type(value).__name__}; use int, float, "
        "str, bool or None (numpy scalars are converted)"
    )


class MetricWriter:
    """Buffers one run's metric values in this process and writes them in batches."""

    def __init__(self, store: Store, run_key: int, journal_dir: Path | None) -> None:
        self._store = store
        self._run_key = run_key
        self.writer_id = uuid.uuid4().hex
        self._buffer: list[NewPoint] = []
        self._seq = 0
        self._flushed_seq = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._kinds: dict[str, str] = {}
        self._journal_fd: int | None = None
        if journal_dir is not None:
            journal_dir.mkdir(parents=True, exist_ok=True)
            path = journal_dir / f"{self.writer_id}.jsonl"
            self._journal_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._thread = threading.Thread(target=self._run, name="hyperpipe-metrics", daemon=True)
        self._thread.start()
        _writers.add(self)

    def append(self, point: NewPoint) -> None:
        known = self._kinds.get(point.name)
        if known is None:
            self._kinds[point.name] = point.kind
        elif known != point.kind and (known in TABLE_KINDS) != (point.kind in TABLE_KINDS):
            raise UserErrorException(
                f"metric {point.name!r} was logged as {known}; it cannot also be logged as "
                f"{point.kind} (use another name)"
            )
        with self._lock:
            self._seq += 1
            if self._journal_fd is not None:
                line = json.dumps((self._seq, *point), separators=(",", ":"), default=str)
                os.write(self._journal_fd, line.encode() + b"\n")
            self._buffer.append(point)
            full = len(self._buffer) >= FLUSH_SIZE
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Write everything logged so far; returns once it is in the store."""
        with self._flush_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
                seq = self._seq
            if not batch:
                return
            for attempt in range(5):
                try:
                    self._store.log_metrics(
                        self._run_key, batch, writer=self.writer_id, last_seq=seq
                    )
                    self._flushed_seq = seq
                    return
                except Exception:
                    if attempt == 4:
                        with self._lock:  # keep the values; the journal still has them too
                            self._buffer[:0] = batch
                        raise
                    time.sleep(0.2 * (attempt + 1))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            with contextlib.suppress(Exception):  # retried on the next tick; close() raises
                self.flush()


@atexit.register
def _flush_all_writers() -> None:
    for writer in list(_writers):
        with contextlib.suppress(Exception):
            writer.close()


def replay_journals(store: Store, run_key: int, journal_dir: Path) -> int:
    """Store journal lines that never reached the store (their process died); returns how many.

    Journals are removed afterwards, so replaying twice never duplicates a value.
    """
    replayed = 0
    if not journal_dir.is_dir():
        return 0
    for journal in sorted(journal_dir.glob("*.jsonl")):
        writer = journal.stem
        done = store.writer_checkpoint(run_key, writer) or 0
        pending: list[NewPoint] = []
        last = done
        with open(journal, encoding="utf-8") as lines:
            for line in lines:
                try:
                    seq, *fields = json.loads(line)
                except ValueError:
                    break  # a line cut short by the kill: everything before it is whole
                if seq > done:
                    pending.append(NewPoint(*fields))
                    last = seq
        if pending:
            store.log_metrics(run_key, pending, writer=writer, last_seq=last)
            replayed += len(pending)
        journal.unlink()
    with contextlib.suppress(OSError):
        journal_dir.rmdir()
    return replayed


def shape_metrics(series: list[MetricSeries]) -> dict[str, Any]:
    """SDK v1's ``get_metrics`` shapes: one value → scalar, several → list, tables → columns."""
    shaped: dict[str, Any] = {}
    for s in series:
        values = [p.data for p in s.points]
        if s.kind in TABLE_KINDS:
            shaped[s.name] = _merge_rows(values)
        elif len(values) == 1:
            shaped[s.name] = values[0]
        else:
            shaped[s.name] = values
    return shaped


def _merge_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    columns: dict[str, list[Any]] = {}
    count = 0
    for row in rows:
        width = max((len(v) if isinstance(v, list) else 1 for v in row.values()), default=0)
        for key, value in row.items():
            column = columns.setdefault(key, [None] * count)
            column.extend(value if isinstance(value, list) else [value])
        count += width
        for column in columns.values():
            column.extend([None] * (count - len(column)))
    if count == 1:
        return {key: column[0] for key, column in columns.items()}
    return columns
