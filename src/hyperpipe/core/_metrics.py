"""Metric logging: batched writes to the store, journaled so a killed process loses nothing.

Every logged value is first appended to a per-process journal file (through a shared memory map,
so it survives the process being killed) and to an in-memory batch. A background thread moves
batches into the store in one transaction each, together with the journal sequence number they
reach. Whoever finalizes a run replays journal lines past that number, so values logged just
before a crash still land, exactly once.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import mmap
import os
import sys
import threading
import time
import weakref
from _thread import start_new_thread
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._disk import write_failure
from hyperpipe._ids import uuid4_hex
from hyperpipe.core._metric_events import URGENT_METRIC_ENV, notify
from hyperpipe.exceptions import RunEndedError, UserErrorException
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

    def __init__(
        self,
        store: Store,
        run_key: int,
        journal_dir: Path | None,
        *,
        require_active: bool = False,
        replayed: bool = False,
    ) -> None:
        self._store = store
        self._run_key = run_key
        # A run's own process: once the run has ended (crashed, cancelled), nothing more lands.
        self._require_active = require_active
        # Whoever ends the run replays this writer's journal (see ``close``).
        self._replayed = replayed
        self._wrote = False  # whether a batch has reached the store from this process
        self._ended = False
        self.writer_id = uuid4_hex()
        self._buffer: list[NewPoint] = []
        self._seq = 0
        self._flushed_seq = 0
        self._urgent = os.environ.get(URGENT_METRIC_ENV)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._kinds: dict[str, str] = {}
        self._journal: _Journal | None = None
        if journal_dir is not None:
            path = journal_dir / f"{self.writer_id}.jsonl"
            try:
                self._journal = _Journal(path)
            except OSError as exc:
                self._journal_failed(exc, path)
        # A bare thread: Thread.start() waits until the new thread runs, a round trip of two
        # context switches (~0.3 ms) that a short trial pays on its path. ``close`` waits on
        # ``_stopped`` instead of a join.
        self._stopped = threading.Event()
        start_new_thread(self._run, ())
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
        if self._ended:
            return
        with self._lock:
            self._seq += 1
            if self._journal is not None:
                try:
                    self._journal.write(_journal_line(self._seq, point))
                except OSError as exc:
                    self._lose_journal(exc)
            self._buffer.append(point)
            full = len(self._buffer) == FLUSH_SIZE or point.name == self._urgent
        if full:
            self._wake.set()

    def _lose_journal(self, exc: OSError) -> None:
        """Go on without the journal: values still reach the store, only later than a kill."""
        journal, self._journal = self._journal, None
        if journal is not None:
            journal.close()  # what it holds stays, for replay
            self._journal_failed(exc, journal.path)

    def _journal_failed(self, exc: OSError, path: Path) -> None:
        message = write_failure(exc, path, "the metric journal")
        if message is None:
            raise exc
        with contextlib.suppress(OSError):  # stderr may be on the same full disk
            print(  # noqa: T201 - a warning the script's author must see in the run's log
                f"hyperpipe: {message}; metric values still go to the store, but those logged "
                "in the last moments before a crash may be lost",
                file=sys.stderr,
                flush=True,
            )

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
                        self._run_key,
                        batch,
                        writer=self.writer_id,
                        last_seq=seq,
                        require_active=self._require_active,
                    )
                    self._flushed_seq = seq
                    self._wrote = True
                    notify()
                    return
                except RunEndedError as exc:
                    self._end(exc)
                    return
                except Exception:
                    if attempt == 4:
                        with self._lock:  # keep the values; the journal still has them too
                            self._buffer[:0] = batch
                        raise
                    time.sleep(0.2 * (attempt + 1))

    def _end(self, exc: RunEndedError) -> None:
        """The run has ended under this process: drop what it logs from now on, say so once."""
        self._ended = True
        with self._lock:
            self._buffer.clear()
            journal, self._journal = self._journal, None
        if journal is not None:
            journal.close()
            with contextlib.suppress(OSError):
                journal.path.unlink()
        with contextlib.suppress(OSError):
            print(f"hyperpipe: {exc}", file=sys.stderr, flush=True)  # noqa: T201

    def forget(self) -> None:
        """In a forked child: this writer is the parent's; the child never writes through it."""
        self._closed = True
        self._buffer = []
        if self._journal is not None:
            self._journal.forget()
            self._journal = None

    def close(self, at_exit: bool = False) -> None:
        """Write what is left to the store and remove the journal.

        ``at_exit`` (the process is ending): a writer whose journal is replayed by whoever ends
        the run, and which has not written to the store yet, leaves its values in the journal
        for that replay instead. A short run that only logs then never opens the store: opening
        it (a fresh connection reads the schema) cost a trial more than the values' insert.
        """
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._stopped.wait(timeout=30)
        if at_exit and self._replayed and not self._wrote and self._journal is not None:
            self._journal.close()
            self._journal = None
            return
        self.flush()
        if self._journal is not None:
            self._journal.close()
            if self._flushed_seq == self._seq:  # the store holds every value: nothing to replay
                with contextlib.suppress(OSError):
                    self._journal.path.unlink()
            self._journal = None

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(FLUSH_INTERVAL_S)
                self._wake.clear()
                if self._closed:  # close() writes what is left (or leaves it to the replay)
                    return
                with contextlib.suppress(Exception):  # retried on the next tick; close() raises
                    self.flush()
        finally:
            self._stopped.set()


class _Journal:
    """An append-only file written through a shared memory map.

    Bytes written to a shared mapping are in the kernel's page cache at once, so they outlive a
    killed process without costing a system call per value. The file grows in chunks whose disk
    space is reserved up front (``posix_fallocate``): a page of a sparse file that cannot be
    backed by the disk would kill the process with SIGBUS when written. Unused space stays zero
    bytes, where replay stops.
    """

    # Reserving disk space costs time by the size (4 MiB: ~2.5 ms, per run process); a run that
    # logs more grows it by doubling.
    CHUNK = 64 * 1024

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._size = 0
        self._offset = 0
        self._map: mmap.mmap | None = None
        try:
            self._grow(self.CHUNK)
        except BaseException:
            os.close(self._fd)
            raise

    def _grow(self, minimum: int) -> None:
        size = max(self._size * 2, self._size + minimum, self.CHUNK)
        os.posix_fallocate(self._fd, self._size, size - self._size)  # ENOSPC here, not SIGBUS
        if self._map is not None:
            self._map.close()
        self._size = size
        self._map = mmap.mmap(self._fd, self._size, mmap.MAP_SHARED, mmap.PROT_WRITE)

    def write(self, data: bytes) -> None:
        end = self._offset + len(data)
        if end > self._size:
            self._grow(len(data))
        self._map[self._offset : end] = data  # type: ignore[index]
        self._offset = end

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._offset)
        os.close(self._fd)

    def forget(self) -> None:
        """In a forked child: drop the parent's mapping and descriptor, leaving the file as is."""
        if self._map is not None:
            self._map.close()
            self._map = None
        with contextlib.suppress(OSError):
            os.close(self._fd)


_json_names: dict[str, str] = {}


def _journal_line(seq: int, point: NewPoint) -> bytes:
    """One journal line; plain float values skip the JSON encoder (the hot path)."""
    value = point.value
    if (
        point.payload is None
        and point.step is None
        and not point.description
        and value is not None
        and value - value == 0  # finite: NaN and infinities take the general path
    ):
        name = _json_names.get(point.name)
        if name is None:
            name = _json_names[point.name] = json.dumps(point.name)
        return f'[{seq},{name},"{point.kind}",{value!r},null,{point.ts!r},null,""]\n'.encode()
    return (json.dumps((seq, *point), separators=(",", ":"), default=str) + "\n").encode()


@atexit.register
def _flush_all_writers() -> None:
    for writer in list(_writers):
        with contextlib.suppress(Exception):
            writer.close(at_exit=True)


def _forget_writers_in_child() -> None:
    """A forked child starts with no writer: the parent's buffers and journals stay its own."""
    for writer in list(_writers):
        writer.forget()
    _writers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_writers_in_child)


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
        with open(journal, "rb") as lines:
            for line in lines:
                try:
                    seq, *fields = json.loads(line)
                except ValueError:
                    break  # zero padding, or a line cut short by the kill: the rest is unwritten
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
