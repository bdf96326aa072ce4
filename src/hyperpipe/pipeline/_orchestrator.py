"""The background process that executes a pipeline run (see ``core._background``).

SIGTERM cancels the pipeline run.
"""

from __future__ import annotations

import signal
import sys
import traceback

from hyperpipe.core._background import start_in_background
from hyperpipe.core._workspace import Workspace
from hyperpipe.pipeline._scheduler import Scheduler
from hyperpipe.store import RunStatus

__all__ = ["main", "start_orchestrator"]


def start_orchestrator(workspace: Workspace, run_id: str) -> None:
    """Start executing ``run_id`` in the background; returns at once."""
    start_in_background(workspace, run_id, "hyperpipe.pipeline._orchestrator")


def main(argv: list[str]) -> int:
    """Execute (or resume) one pipeline run; the exit code is 0 unless hyperpipe itself failed."""
    root, run_id = argv
    workspace = Workspace.from_config(path=root)
    scheduler = Scheduler(workspace, run_id)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: scheduler.stop.set())
    try:
        scheduler.execute()
    except BaseException as exc:
        traceback.print_exc()
        workspace._store.set_status(
            run_id,
            RunStatus.FAILED,
            error={
                "error": {
                    "code": "SystemError",
                    "message": f"hyperpipe could not execute the pipeline: {exc!r}",
                }
            },
            strict=False,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
