"""Concurrency slots shared by every process on this machine: one lock file per slot.

A target with ``max_concurrency = n`` has n slot files; running a task holds an exclusive
``flock`` on one of them. The kernel drops the lock when the holder dies, so a crash never leaks a
slot. Slot ``i`` carries GPU ``gpus[i % len(gpus)]``: that is how concurrent runs get distinct GPUs.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hyperpipe._record import Record

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Slot", "SlotPool"]


class Slot(Record, frozen=False):
    index: int
    gpus: tuple[int, ...]
    _fd: int

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


class SlotPool:
    """``size`` slots kept as lock files in ``directory``."""

    def __init__(
        self, directory: str | os.PathLike[str], size: int, gpus: tuple[int, ...] = ()
    ) -> None:
        self.directory = Path(directory)
        self.size = size
        self.gpus = gpus

    def try_acquire(self) -> Slot | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for index in range(self.size):
            fd = os.open(self.directory / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            gpus = (self.gpus[index % len(self.gpus)],) if self.gpus else ()
            return Slot(index, gpus, fd)
        return None

    def busy(self) -> int:
        """How many slots are held right now (each probed with a shared lock, released at once)."""
        if not self.directory.is_dir():
            return 0
        held = 0
        for index in range(self.size):
            path = self.directory / f"slot-{index}.lock"
            if not path.exists():
                continue
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                held += 1
            finally:
                os.close(fd)
        return held

    def acquire(
        self, should_stop: Callable[[], bool] = lambda: False, poll_s: float = 0.05
    ) -> Slot | None:
        """Wait for a free slot; None if ``should_stop`` turns true first."""
        delay = poll_s
        while True:
            slot = self.try_acquire()
            if slot is not None or should_stop():
                return slot
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
