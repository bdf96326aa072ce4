"""Starting a run's driver process in the background, so the run outlives the submitting script.

The driver (a pipeline's orchestrator, a sweep's driver) is started by forking the submitting
process: its modules are already imported, so the driver runs within milliseconds. It goes into a
new session, detached from the terminal, and is re-parented to init (double fork), so it never
lingers as a zombie of the submitter. With ``HYPERPIPE_BACKGROUND=subprocess`` (or where fork is
unavailable) ``python -m <module> ROOT RUN_ID`` is started instead. Its output goes to
``.hyperpipe/runs/<run id>/driver.log``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import subprocess
import sys
import traceback
from typing import TYPE_CHECKING, Any

from hyperpipe.core import _paths
from hyperpipe.core._workspace import STORE_ENV
from hyperpipe.core._workspace_config import WORKSPACE_ENV

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from hyperpipe.core._workspace import Workspace

__all__ = ["MODE_ENV", "drive", "start_in_background"]

MODE_ENV = "HYPERPIPE_BACKGROUND"


def start_in_background(workspace: Workspace, run_id: str, module: str) -> None:
    """Run ``module.main([root, run_id])`` in a detached process; returns at once."""
    log = _paths.run_dir(workspace.root, run_id) / "driver.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(os, "fork") and os.environ.get(MODE_ENV, "fork") == "fork":
        entry = importlib.import_module(module).main  # imported here, before the fork
        _fork(entry, [str(workspace.root), run_id], log)
        return
    env = {**os.environ, WORKSPACE_ENV: str(workspace.root), STORE_ENV: workspace.store_url}
    with open(log, "ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", module, str(workspace.root), run_id],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )


def _fork(entry, argv: list[str], log: Path) -> None:  # type: ignore[no-untyped-def]
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
        code = entry(argv)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def drive(root: str, run_id: str, make_driver: Callable[[Workspace, str], Any], what: str) -> int:
    """Run a driver to its end in this process: signals stop it; a failure fails the run.

    ``make_driver(workspace, run_id)`` returns an object with a ``stop`` event and an
    ``execute()`` method. A user error (bad input found late) fails the run with its message;
    anything else fails it naming ``what`` could not be done, with the traceback in the log.
    """
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.exceptions import UserErrorException
    from hyperpipe.store import RunStatus

    workspace = Workspace.from_config(path=root)
    driver = make_driver(workspace, run_id)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: driver.stop.set())
    try:
        driver.execute()
    except BaseException as exc:
        user = isinstance(exc, UserErrorException)
        if not user:
            traceback.print_exc()
        message = str(exc) if user else f"hyperpipe could not {what}: {exc!r}"
        code = "UserError" if user else "SystemError"
        with contextlib.suppress(Exception):
            workspace._store.set_status(
                run_id,
                RunStatus.FAILED,
                error={"error": {"code": code, "message": message}},
                strict=False,
            )
        return 1
    return 0
