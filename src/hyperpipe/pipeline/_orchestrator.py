"""The background process that executes a pipeline run, so it outlives the submitting script.

``start_orchestrator`` forks the submitting process (its modules are already imported, so the
orchestrator starts in milliseconds) into a new session, detached from the terminal; with
``HYPERPIPE_ORCHESTRATOR=subprocess`` (or where fork is unavailable) it starts
``python -m hyperpipe.pipeline._orchestrator ROOT RUN_ID`` instead. Output goes to
``.hyperpipe/runs/<run id>/orchestrator.log``. SIGTERM cancels the pipeline run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import traceback
from typing import TYPE_CHECKING

from hyperpipe.core import _paths
from hyperpipe.core._workspace import STORE_ENV, Workspace
from hyperpipe.core._workspace_config import WORKSPACE_ENV
from hyperpipe.pipeline._scheduler import Scheduler
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["main", "start_orchestrator"]

MODE_ENV = "HYPERPIPE_ORCHESTRATOR"


def start_orchestrator(workspace: Workspace, run_id: str) -> None:
    """Start executing ``run_id`` in the background; returns at once."""
    log = _paths.run_dir(workspace.root, run_id) / "orchestrator.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(os, "fork") and os.environ.get(MODE_ENV, "fork") == "fork":
        _fork(workspace.root, run_id, log)
        return
    env = {**os.environ, WORKSPACE_ENV: str(workspace.root), STORE_ENV: workspace.store_url}
    with open(log, "ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "hyperpipe.pipeline._orchestrator", str(workspace.root), run_id],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )


def _fork(root: Path, run_id: str, log: Path) -> None:
    """Double fork: the orchestrator is re-parented to init and never becomes a zombie here."""
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    code = 1
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        code = main([str(root), run_id])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


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
