"""The background process that executes a pipeline run (see ``core._background``).

SIGTERM cancels the pipeline run.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from hyperpipe.core._background import drive, start_in_background
from hyperpipe.pipeline._scheduler import Scheduler

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace

__all__ = ["main", "start_orchestrator"]


def start_orchestrator(workspace: Workspace, run_id: str, *, local_scripts: bool = False) -> None:
    """Start executing ``run_id`` in the background; returns at once. ``local_scripts``: the
    run has Python steps to run on a local target (the first can start from a spare)."""
    start_in_background(workspace, run_id, "hyperpipe.pipeline._orchestrator", spare=local_scripts)


def main(argv: list[str]) -> int:
    """Execute (or resume) one pipeline run; the exit code is 0 unless hyperpipe itself failed."""
    # What starting the first step takes: the backends, and the copy of its snapshot.
    warm_up = ("hyperpipe.compute._local", "hyperpipe.compute._warming", "shutil")
    return drive(*argv, Scheduler, "execute the pipeline", warm_up)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
