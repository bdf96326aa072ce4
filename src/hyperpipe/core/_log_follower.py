"""Following a run's driver log as it is written (``wait_for_completion(show_output=True)``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from hyperpipe.core import _lifecycle

if TYPE_CHECKING:
    from hyperpipe.core._run import Run

__all__ = ["LogFollower"]


class LogFollower:
    """Copies new lines of a run's driver log to stdout (``show_output=True``)."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self._offset = 0

    def pump(self) -> None:
        path = _lifecycle.driver_log_path(self._run._record)
        if path is None or not path.is_file():
            return
        with open(path, "rb") as log:
            log.seek(self._offset)
            chunk = log.read()
        if chunk:
            self._offset += len(chunk)
            sys.stdout.write(chunk.decode("utf-8", errors="replace"))
            sys.stdout.flush()
