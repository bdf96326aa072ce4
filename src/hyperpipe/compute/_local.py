"""Local processes: each task in its own process group, so stopping it leaves no orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hyperpipe.compute._base import TaskHandle, TaskSpec, gpu_environment, place_snapshot
from hyperpipe.compute._process import dying_with_parent, readable, start_time

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["LocalBackend", "readable"]


class LocalBackend:
    """Runs tasks as child processes of this one, output appended to the task's log file.

    A task leads its own process group. When it ends, whatever it left running in that group is
    killed before the task is reaped: until then the task's pid (and so its group number) cannot
    be reused, so the signal can only reach the task's own processes.
    """

    def start(self, spec: TaskSpec) -> TaskHandle:
        place_snapshot(spec.snapshot, spec.cwd)
        env = {**os.environ, **spec.env, **gpu_environment(spec)}
        Path(spec.log_path).parent.mkdir(parents=True, exist_ok=True)
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
