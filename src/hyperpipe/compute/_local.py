"""Local processes: each task in its own process group, so stopping it leaves no orphans."""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import time
from pathlib import Path

import psutil

from hyperpipe.compute._base import TaskHandle, TaskSpec, gpu_environment

__all__ = ["LocalBackend", "kill_process_tree", "readable"]


class LocalBackend:
    """Runs tasks as child processes of this one, output appended to the task's log file."""

    def start(self, spec: TaskSpec) -> TaskHandle:
        env = {**os.environ, **spec.env, **gpu_environment(spec)}
        Path(spec.log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log_path, "ab", buffering=0) as log:
            process = subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                preexec_fn=_die_with_parent if spec.die_with_parent else None,
            )
        return TaskHandle(spec.run_id, process.pid, time.time(), process)

    def poll(self, handle: TaskHandle) -> int | None:
        return self._process(handle).poll()

    def wait(self, handle: TaskHandle, timeout: float | None = None) -> int | None:
        try:
            return self._process(handle).wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_any(self, handles: list[TaskHandle], timeout: float) -> None:
        """Sleep until a task ends: woken by the kernel through pidfds where Linux has them."""
        if any(self._process(h).poll() is not None for h in handles):
            return
        if not handles:
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
                if any(self._process(h).poll() is not None for h in handles):
                    return
                time.sleep(0.002)
            return
        try:
            readable(fds, timeout)
        finally:
            for fd in fds:
                os.close(fd)

    def terminate(self, handle: TaskHandle, grace_s: float = 10.0) -> int:
        process = self._process(handle)
        kill_process_tree(process.pid, grace_s)
        return process.wait()

    @staticmethod
    def _process(handle: TaskHandle) -> subprocess.Popen[bytes]:
        assert isinstance(handle.native, subprocess.Popen), "handle from another backend"
        return handle.native


def readable(fds: list[int], timeout: float) -> list[int]:
    """The file descriptors in ``fds`` ready to read within ``timeout`` seconds.

    ``poll`` rather than ``select``: a process with many files open (a long-lived driver, a test
    run) gets descriptors above 1024, which ``select`` cannot watch.
    """
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return [fd for fd, _event in poller.poll(max(timeout, 0) * 1000)]


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGKILL when the parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def kill_process_tree(pid: int, grace_s: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid`` and any descendants that left it; SIGKILL after
    ``grace_s`` whatever is still alive."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    for proc in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(family, timeout=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
