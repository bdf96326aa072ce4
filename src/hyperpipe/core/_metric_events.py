"""Metric reports as events: a sweep's driver wakes when a trial's metrics reach the store.

An early-termination policy judges each trial's reports as they arrive. Rather than look every
quarter second, the sweep driver makes a named pipe in its run folder and gives its path to its
trials (``HYPERPIPE_METRIC_EVENTS``); each trial's metric writer writes one byte to it after every
batch it stores, and the driver sleeps on the pipe together with its trials' exits. A byte that
cannot be written (no reader yet, the pipe already full of unread bytes, a trial on another
machine) is dropped: the pipe only wakes the driver, the store holds the values, and a driver
that is not woken still looks on its own timer.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["METRIC_EVENTS_ENV", "URGENT_METRIC_ENV", "MetricEvents", "notify"]

METRIC_EVENTS_ENV = "HYPERPIPE_METRIC_EVENTS"
# The metric whose every report a trial's writer stores at once (the policy's primary metric),
# instead of with the next quarter-second batch.
URGENT_METRIC_ENV = "HYPERPIPE_URGENT_METRIC"

_writer: tuple[str, int] | None = None  # this process's open write end: (path, fd)


class MetricEvents:
    """The driver's end: a named pipe at ``path`` it can sleep on (``fileno``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.mkfifo(path, 0o600)
        self._read = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        # Held open so the pipe never reads as closed between two trials' writes.
        self._keep = os.open(path, os.O_WRONLY | os.O_NONBLOCK)

    def fileno(self) -> int:
        return self._read

    def drain(self) -> bool:
        """Whether any report arrived since the last call."""
        arrived = False
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                arrived = True
        return arrived

    def close(self) -> None:
        for fd in (self._read, self._keep):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self.path.unlink()


def notify() -> None:
    """Tell this run's sweep driver, if it listens, that metrics reached the store."""
    global _writer
    path = os.environ.get(METRIC_EVENTS_ENV)
    if not path:
        return
    if _writer is not None and _writer == (path, -1):
        return
    try:
        if _writer is None or _writer[0] != path:
            _writer = (path, os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        os.write(_writer[1], b"m")
    except BlockingIOError:
        pass  # the driver has not read the earlier bytes yet: it will wake anyway
    except OSError:
        # no pipe here (a trial on another machine), or its driver is gone: stop trying
        if _writer is not None and _writer[1] >= 0:
            with contextlib.suppress(OSError):
                os.close(_writer[1])
        _writer = (path, -1)
