"""Local processes: each task in its own process group, so stopping it leaves no orphans.

A backend told how many Python scripts are still to come keeps a spare: an interpreter started
ahead (``_standby``), which the next script for this interpreter becomes instead of starting
its own. The script then skips the interpreter's start-up (about 20 ms here, more than a short
step's own work), which the spare paid while the previous task ran.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hyperpipe.compute._base import TaskHandle, TaskSpec, gpu_environment, place_snapshot
from hyperpipe.compute._process import dying_with_parent, readable, start_time

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["LocalBackend", "is_script", "prestart_spare", "readable"]

_STANDBY = str(Path(__file__).with_name("_standby.py"))
# Environment variables read when an interpreter starts (by Python, the C library or the dynamic
# loader): a task whose values differ cannot use a spare started with other values.
_AT_START = ("PYTHON", "LD_", "LC_", "MALLOC_", "GLIBC_")
_AT_START_NAMES = frozenset({"LANG", "LANGUAGE", "TZ", "HOME"})
# A spare started before the backend that takes it existed (see ``prestart_spare``).
_prestarted: _Spare | None = None


class LocalBackend:
    """Runs tasks as child processes of this one, output appended to the task's log file.

    A task leads its own process group. When it ends, whatever it left running in that group is
    killed before the task is reaped: until then the task's pid (and so its group number) cannot
    be reused, so the signal can only reach the task's own processes.

    ``scripts``: how many Python scripts for this interpreter are still to come; while there
    are, a spare is kept for the next one (see the module's text).
    """

    def __init__(self, scripts: int = 0) -> None:
        global _prestarted
        self.scripts = scripts
        self._spare: _Spare | None = None
        if scripts and _prestarted is not None and _prestarted.python == sys.executable:
            self._spare, _prestarted = _prestarted, None
        self._keep_spare()

    def start(self, spec: TaskSpec) -> TaskHandle:
        place_snapshot(spec.snapshot, spec.cwd)
        env = {**os.environ, **spec.env, **gpu_environment(spec)}
        Path(spec.log_path).parent.mkdir(parents=True, exist_ok=True)
        if not is_script(spec.argv):
            return self._start_plainly(spec, env)
        self.scripts -= 1
        spare = self._spare
        if spare is not None and not spare.alive():
            spare.discard()
            spare = self._spare = None
        if spare is not None and spare.fits(spec, env):
            self._spare = None
            process = spare.become(spec, env)
            self._keep_spare()
            if process is not None:
                return TaskHandle(spec.run_id, process.pid, spare.started_at, process)
        return self._start_plainly(spec, env)

    def close(self) -> None:
        """Stop the spare, if any, and keep no more: no script is coming for them."""
        self.scripts = 0
        if self._spare is not None:
            self._spare.discard()
            self._spare = None

    def _keep_spare(self) -> None:
        if self.scripts > 0 and self._spare is None:
            self._spare = _Spare(sys.executable)

    def _start_plainly(self, spec: TaskSpec, env: dict[str, str]) -> TaskHandle:
        argv, preexec_fn = (spec.argv, None)
        if spec.die_with_parent:
            argv, preexec_fn = dying_with_parent(spec.argv)
        with open(spec.log_path, "ab", buffering=0) as log:
            process = subprocess.Popen(
                argv,
                cwd=spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                preexec_fn=preexec_fn,
            )
        return TaskHandle(spec.run_id, process.pid, _start_time(process.pid), process)

    def poll(self, handle: TaskHandle) -> int | None:
        process = self._process(handle)
        if process.returncode is None and not _exited(process.pid):
            return None
        return _reap(process)

    def wait(self, handle: TaskHandle, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll(handle)) is None:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return None
            self.wait_any([handle], left)
        return code

    wake_on_fds = True

    def wait_any(self, handles: list[TaskHandle], timeout: float, wake: Sequence[int] = ()) -> None:
        """Sleep until a task ends or ``wake`` is readable: woken by the kernel through pidfds
        where Linux has them."""
        if any(self._ended(h) for h in handles):
            return
        if not handles:
            if wake:
                readable(list(wake), timeout)
            else:
                time.sleep(timeout)
            return
        fds: list[int] = []
        try:
            fds = [os.pidfd_open(h.pid) for h in handles]
        except (AttributeError, OSError):  # no pidfd here: poll
            for fd in fds:
                os.close(fd)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if any(self._ended(h) for h in handles) or (wake and readable(list(wake), 0)):
                    return
                time.sleep(0.002)
            return
        try:
            readable(fds + list(wake), timeout)
        finally:
            for fd in fds:
                os.close(fd)

    def terminate(self, handle: TaskHandle, grace_s: float = 10.0) -> int:
        """SIGTERM the task's group and descendants; SIGKILL them after ``grace_s``."""
        import psutil

        process = self._process(handle)
        if process.returncode is not None:
            return process.returncode
        try:
            family = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)  # the unreaped leader pins the group number
        for proc in family:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                proc.terminate()
        deadline = time.monotonic() + grace_s
        while not _exited(process.pid) and time.monotonic() < deadline:
            self.wait_any([handle], deadline - time.monotonic())
        _, alive = psutil.wait_procs(family, timeout=max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                proc.kill()  # descendants that left the group; psutil checks their start time
        return _reap(process)

    def _ended(self, handle: TaskHandle) -> bool:
        process = self._process(handle)
        return process.returncode is not None or _exited(process.pid)

    @staticmethod
    def _process(handle: TaskHandle) -> subprocess.Popen[bytes]:
        assert isinstance(handle.native, subprocess.Popen), "handle from another backend"
        return handle.native


def prestart_spare() -> None:
    """Start a spare for this interpreter now, for the first ``LocalBackend`` that keeps
    spares to take (a pipeline's orchestrator starts one while its submitter records it)."""
    global _prestarted
    if _prestarted is None:
        _prestarted = _Spare(sys.executable)


class _Spare:
    """An interpreter started ahead, waiting on its stdin for the task it becomes."""

    def __init__(self, python: str) -> None:
        self.python = python
        self._at_start = _read_at_start(os.environ)
        argv, preexec_fn = dying_with_parent([python, _STANDBY])
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # as a task's are a log file: not a terminal
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            preexec_fn=preexec_fn,
        )
        self.started_at = _start_time(self._process.pid)

    def alive(self) -> bool:
        return self._process.poll() is None

    def fits(self, spec: TaskSpec, env: dict[str, str]) -> bool:
        """Whether this spare can become ``spec`` (a script for its interpreter): killed with
        its parent, as it is, and with what is read at start-up unchanged."""
        return (
            spec.die_with_parent
            and spec.argv[0] == self.python
            and _read_at_start(env) == self._at_start
            # site makes relative entries absolute from the folder the interpreter started in
            and all(os.path.isabs(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)
        )

    def become(self, spec: TaskSpec, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
        """Hand the spare its task; None if it died meanwhile (then it is reaped)."""
        request = {"argv": list(spec.argv), "cwd": spec.cwd, "env": env, "log_path": spec.log_path}
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(marshal.dumps(request))
            stdin.close()
        except OSError:
            self.discard()
            return None
        self._process.stdin = None  # closed: Popen.wait and friends must not flush it
        return self._process

    def discard(self) -> None:
        """Stop the spare (our own unreaped child, so the pid is still its own)."""
        with contextlib.suppress(OSError):
            self._process.kill()
        self._process.wait()
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()


def is_script(argv: Sequence[str]) -> bool:
    """``python script.py ...`` for this interpreter: what a spare can become."""
    return len(argv) >= 2 and argv[0] == sys.executable and argv[1].endswith(".py")


def _read_at_start(env: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    return {
        name: value
        for name, value in env.items()
        if name.startswith(_AT_START) or name in _AT_START_NAMES
    }


def _exited(pid: int) -> bool:
    """Whether our child ``pid`` has ended, without reaping it (it stays a zombie)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _reap(process: subprocess.Popen[bytes]) -> int:
    """Kill what the ended task left in its group, then collect its exit code."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


def _start_time(pid: int) -> float:
    started = start_time(pid)
    return time.time() if started is None else started  # gone already: close enough
