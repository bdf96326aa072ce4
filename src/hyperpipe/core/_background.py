"""Starting a run's driver process in the background, so the run outlives the submitting script.

The driver (a script run's monitor, a pipeline's orchestrator, a sweep's driver) is started by
forking the submitting process when that is safe: its modules are already imported, so the
driver runs within milliseconds. It goes into a new session, detached from the terminal, and is
re-parented to init (double fork), so it never lingers as a zombie of the submitter. Forking is
safe only from a process with one thread and no SQLite connection open (``store.prepare_fork``);
otherwise (a server, a notebook, a script that logs metrics) and with
``HYPERPIPE_BACKGROUND=subprocess``, ``python -m <module> ROOT RUN_ID`` is started instead.

Either way the submitter records the driver's identity (host, pid, start time) on the run before
it returns, and only then lets the driver begin (a byte on a pipe): a driver whose submitter died
before recording it exits without touching the run, which readers then see as crashed (the
submitter's identity is on the run from its creation). Driver output goes to
``.hyperpipe/runs/<run id>/driver.log``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from hyperpipe._disk import write_failure
from hyperpipe.core import _lifecycle, _paths
from hyperpipe.core._workspace import STORE_ENV
from hyperpipe.core._workspace_config import WORKSPACE_ENV

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from hyperpipe.core._workspace import Workspace

__all__ = ["MODE_ENV", "StopFlag", "drive", "start_in_background"]

MODE_ENV = "HYPERPIPE_BACKGROUND"
# The read end of the pipe on which the submitter says "go" once the driver is recorded.
GO_FD_ENV = "HYPERPIPE_GO_FD"
_GO = b"go"
# In a driver forked by ``start_in_background(..., spare=True)``: start a spare interpreter.
_spare_wanted = False


class StopFlag:
    """A stop request a signal handler may set: no lock (``threading.Event.set`` in a handler
    can deadlock against the interrupted thread's own use of the event)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


def start_in_background(
    workspace: Workspace, run_id: str, module: str, *, spare: bool = False
) -> int:
    """Run ``module.main([root, run_id])`` in a detached process, record that process as the
    one responsible for the run, and return its pid.

    ``spare``: the run has a Python script to start locally; a forked driver starts an
    interpreter for it at once (``compute._local.prestart_spare``), while it is being recorded.
    """
    global _spare_wanted
    log = _paths.run_dir(workspace.root, run_id) / "driver.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    go_read, go_write = os.pipe()
    try:
        if _fork_is_safe():
            entry = importlib.import_module(module).main  # imported here, before the fork
            _spare_wanted = spare  # the child sees it in its copy of this memory
            try:
                pid = _fork(entry, [str(workspace.root), run_id], log, go_read, go_write)
            finally:
                _spare_wanted = False
        else:
            pid = _spawn(workspace, run_id, module, log, go_read)
    except BaseException:
        os.close(go_write)
        raise
    finally:
        os.close(go_read)
    try:
        workspace._store.update_run(run_id, **_lifecycle.process_identity(pid))
        os.write(go_write, _GO)
    finally:
        os.close(go_write)  # without "go" first, the driver sees end-of-file and exits
    return pid


def _fork_is_safe() -> bool:
    """Whether this process may fork a long-lived child: one thread, no SQLite connection."""
    if not hasattr(os, "fork") or os.environ.get(MODE_ENV, "fork") != "fork":
        return False
    if threading.active_count() > 1:
        return False
    with contextlib.suppress(OSError):  # threads Python does not know of (native libraries)
        if len(os.listdir("/proc/self/task")) > 1:
            return False
    from hyperpipe.store import prepare_fork

    return prepare_fork()


def _spawn(workspace: Workspace, run_id: str, module: str, log: Path, go_read: int) -> int:
    import subprocess

    env = {
        **os.environ,
        WORKSPACE_ENV: str(workspace.root),
        STORE_ENV: workspace.store_url,
        GO_FD_ENV: str(go_read),
    }
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, str(workspace.root), run_id],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
            pass_fds=(go_read,),
        )
    return process.pid


def _fork(
    entry: Callable[[list[str]], int], argv: list[str], log: Path, go_read: int, go_write: int
) -> int:
    """Double-fork ``entry(argv)`` into a new session; returns the grandchild's pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid_read, pid_write = os.pipe()
    child = os.fork()
    if child:
        os.close(pid_write)
        try:
            pid = _read_all(pid_read)
        finally:
            os.close(pid_read)
            os.waitpid(child, 0)
        if not pid:
            raise RuntimeError(f"the background process did not start; see {log}")
        return int(pid)
    try:  # the intermediate child: a new session, then the driver forked off it
        os.close(pid_read)
        os.close(go_write)
        os.setsid()
        grandchild = os.fork()
        if grandchild:
            os.write(pid_write, str(grandchild).encode())
            os._exit(0)
        os.close(pid_write)
    except BaseException:
        os._exit(1)
    code = 1
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(devnull)
        os.close(out)
        os.environ[GO_FD_ENV] = str(go_read)
        # What the submitter imported and built lives as long as the driver: the collector
        # need not walk it again (nor touch its pages, which stay shared with the submitter).
        gc.freeze()
        code = entry(argv)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _read_all(fd: int) -> bytes:
    data = b""
    while chunk := os.read(fd, 64):
        data += chunk
    return data


def _wait_for_go() -> str | None:
    """Wait until the submitter has recorded this process on the run: "go"; None if it died
    first. A driver started by hand, with no pipe, answers "by hand" at once."""
    fd = os.environ.pop(GO_FD_ENV, None)
    if fd is None:
        return "by hand"
    try:
        return "go" if _read_all(int(fd)) == _GO else None
    finally:
        with contextlib.suppress(OSError):
            os.close(int(fd))


def drive(
    root: str,
    run_id: str,
    make_driver: Callable[[Workspace, str], Any],
    what: str,
    warm_up: tuple[str, ...] = (),
) -> int:
    """Run a driver to its end in this process: signals stop it; a failure fails the run.

    ``make_driver(workspace, run_id)`` returns an object with a ``stop`` event and an
    ``execute()`` method. A user error (bad input found late) fails the run with its message;
    anything else fails it naming ``what`` could not be done, with the traceback in the log.
    Nothing is written to a run that another process has taken over or that has ended.
    ``warm_up``: modules the driver will need, imported while its submitter records it.
    """
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.exceptions import UserErrorException
    from hyperpipe.store import RunStatus

    if _spare_wanted:
        from hyperpipe.compute._local import prestart_spare

        prestart_spare()
    for module in warm_up:
        importlib.import_module(module)
    started = _wait_for_go()
    if started is None:
        return 0
    workspace = Workspace.from_config(path=root)
    store = workspace._store
    me = _lifecycle.process_identity()
    record = store.get_run(run_id)
    if started == "by hand" and not record.status.is_terminal():
        record = store.update_run(run_id, **me)
    if not _lifecycle.owned_by(record, me) or record.status.is_terminal():
        print(f"run {run_id} is {record.status.value} and not driven by this process; exiting")  # noqa: T201
        return 0
    driver = make_driver(workspace, run_id)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: driver.stop.set())
    beating = threading.Event()
    heart = threading.Thread(
        target=_heartbeat, args=(store, run_id, beating), name="heartbeat", daemon=True
    )
    heart.start()
    try:
        driver.execute()
    except BaseException as exc:
        user = isinstance(exc, UserErrorException)
        if not user:
            import traceback

            traceback.print_exc()
        disk = write_failure(exc, getattr(exc, "filename", None) or root, "a file")
        message = str(exc) if user else disk or f"hyperpipe could not {what}: {exc!r}"
        code = "UserError" if user else "SystemError"
        with contextlib.suppress(Exception):
            store.set_status(
                run_id,
                RunStatus.FAILED,
                error={"error": {"code": code, "message": message}},
                strict=False,
                if_fields=me,
            )
        return 1
    finally:
        beating.set()
        heart.join(timeout=10)
    return 0


def _heartbeat(store: Any, run_id: str, stop: threading.Event) -> None:
    """Stamp the run every ``HEARTBEAT_S`` while its driver runs (one row update each): how a
    reader on another machine knows the driver lives."""
    while True:
        with contextlib.suppress(Exception):  # a store that is briefly unwritable: next time
            store.update_run(run_id, heartbeat_at=time.time())
        if stop.wait(_lifecycle.HEARTBEAT_S):
            return
