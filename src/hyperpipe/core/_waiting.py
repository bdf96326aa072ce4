"""Waiting for a run to end, woken by the kernel when the process that drives it exits.

A run's driver (a script run's monitor, a pipeline's orchestrator, a sweep's driver) records its
end in the store and then exits, so a waiter on the same machine sleeps on a pidfd of that
process (Linux 5.3+) between reads of the store: the end is seen within milliseconds of being
recorded, instead of at the next tick of a polling interval. Where the driver runs elsewhere,
or pidfds are missing, the waiter sleeps its interval as before. The store stays the only
source of truth: the wake-up only says when to read it again.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING

from hyperpipe.compute._process import ProcessIdentity, readable
from hyperpipe.core._lifecycle import HOST

if TYPE_CHECKING:
    from hyperpipe.store import RunRecord

__all__ = ["EndWatch"]


class EndWatch:
    """Sleeps between reads of one run, waking as soon as its driver process exits."""

    def __init__(self) -> None:
        self._driver: tuple[object, ...] | None = None
        self._fd: int | None = None

    def sleep(self, record: RunRecord, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds; less when the process driving ``record`` exits."""
        driver = (record.host, record.pid, record.pid_started_at)
        if driver != self._driver:
            self.close()
            self._driver = driver
            self._fd = _open_driver(record)
        if self._fd is None:
            time.sleep(timeout)
        elif readable([self._fd], timeout):
            self.close()  # it has exited: the next read of the store shows how the run ended

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def __enter__(self) -> EndWatch:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _open_driver(record: RunRecord) -> int | None:
    """A pidfd of the run's recorded process, if it is this machine's, still the same process
    (pid and start time), and not this one; else None."""
    if record.host != HOST or not record.pid or record.pid == os.getpid():
        return None
    if not record.pid_started_at:
        return None
    try:
        fd = os.pidfd_open(record.pid)
    except (AttributeError, OSError):  # no pidfds here, or the process is gone
        return None
    # Checked after opening: the descriptor then names the process whose identity matched.
    if not ProcessIdentity(record.pid, record.pid_started_at).alive():
        os.close(fd)
        return None
    return fd
