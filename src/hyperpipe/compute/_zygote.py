"""A fork server: a process that has already imported a script's heavy modules forks per task.

Starting Python and importing torch costs over a second, more than a short trial's training.
A zygote pays it once: it imports the modules it is told to, then for each task forks a child
that becomes the task (its own session and process group, working folder, environment, argv and
log file) and runs the script as ``__main__``. Tasks stay isolated and killable one by one; the
zygote reaps them and reports each exit code.

``preload`` names modules to import, or ``module:function`` to call once imported (to warm
caches every task then inherits). Some packages defer part of their import to first use, which
every task would then pay again: those parts (``IMPORTED_LATER``) are imported ahead too.
The zygote speaks JSON lines over its stdin/stdout: ``{"argv", "cwd", "env", "log_path"}`` (start
a task) and ``{"stop": pid, "grace": s}`` (SIGTERM it, SIGKILL after ``grace`` seconds) in;
``{"started": pid, "started_at": t}`` and ``{"exited": pid, "code": n}`` out (code negative:
killed by a signal). Only the zygote signals its tasks: they are its children, so their pids
cannot be reused before it reaps them.
It must not start threads before forking, so it imports modules but runs nothing else.

Nor may it initialise CUDA: a CUDA driver set up before ``fork()`` is unusable in the child, and
``CUDA_VISIBLE_DEVICES``, which gives each task its GPU, is read only when the driver starts.
Importing torch does not start it (``torch.cuda.is_available()`` would). Should a preloaded
module have started it anyway (the driver library is then mapped in the zygote), the zygote
refuses to serve, and the backend falls back to starting each task as a new process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.compute._base import TaskHandle, TaskSpec, gpu_environment
from hyperpipe.compute._process import dying_with_parent, readable

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ZygoteBackend"]


class ZygoteBackend:
    """Runs Python-script tasks as forks of one zygote process (see the module docstring)."""

    def __init__(
        self,
        python: str,
        preload: list[str],
        log_path: str,
        env: dict[str, str] | None = None,
        *,
        wait: bool = True,
    ) -> None:
        """Start the zygote; with ``wait=False`` the caller does other work while it imports,
        and calls :meth:`ready` before the first task."""
        argv, preexec_fn = dying_with_parent(
            [python, "-m", "hyperpipe.compute._zygote_server", *preload]
        )
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, **(env or {})},
                start_new_session=True,
                preexec_fn=preexec_fn,
            )
        self._exits: dict[int, int] = {}
        self._started: set[int] = set()
        self._buffer = b""
        self.dead = False  # the fork server is gone (its tasks died with it)
        self._log_path = log_path
        self._serving = False
        self.preloaded: list[str] = []
        if wait:
            self.ready()

    def ready(self) -> ZygoteBackend:
        """Wait until the zygote has imported its modules; RuntimeError when it cannot serve."""
        if not self._await_ready(300):
            raise RuntimeError(f"the trial fork server did not start; see {self._log_path}")
        return self

    def is_ready(self) -> bool:
        """Whether the zygote has imported its modules, without waiting; RuntimeError when it
        cannot serve."""
        return self._await_ready(0)

    def _await_ready(self, timeout: float) -> bool:
        if self._serving:
            return True
        message = self._read_message(timeout)
        if message is None and not self.dead:
            return False
        if message is not None and "refused" in message:
            self.close()
            raise RuntimeError(message["refused"])
        if message is None or "ready" not in message:
            raise RuntimeError(f"the trial fork server did not start; see {self._log_path}")
        self.preloaded = message["ready"]
        self._serving = True
        return True

    def start(self, spec: TaskSpec) -> TaskHandle:
        Path(spec.log_path).parent.mkdir(parents=True, exist_ok=True)
        env = {**spec.env, **gpu_environment(spec)}
        request = {
            "argv": list(spec.argv),
            "cwd": spec.cwd,
            "env": env,
            "log_path": spec.log_path,
            "snapshot": spec.snapshot,  # the task copies it, in parallel with this process
        }
        try:
            self._send(request)
        except OSError as exc:  # the pipe broke: the fork server is gone
            self._lost()
            raise RuntimeError("the trial fork server stopped") from exc
        while True:
            message = self._read_message(timeout=60)
            if message is None:
                self._lost()
                raise RuntimeError("the trial fork server stopped answering")
            if "started" in message:
                self._started.add(message["started"])
                return TaskHandle(spec.run_id, message["started"], message["started_at"], self)
            self._record(message)

    def poll(self, handle: TaskHandle) -> int | None:
        self._drain(0)
        return self._exits.get(handle.pid)

    def _lost(self) -> None:
        """The fork server died: its tasks died with it (they die with their parent)."""
        self.dead = True
        for pid in self._started - set(self._exits):
            self._exits[pid] = -signal.SIGKILL

    def wait(self, handle: TaskHandle, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while handle.pid not in self._exits:
            if self.dead:
                return self._exits.get(handle.pid, -signal.SIGKILL)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            self._drain(left if left is not None else 1.0)
        return self._exits[handle.pid]

    wake_on_fds = True

    def wait_any(self, handles: list[TaskHandle], timeout: float, wake: Sequence[int] = ()) -> None:
        if self.dead or any(h.pid in self._exits for h in handles):
            return
        self._drain(timeout, wake)

    def terminate(self, handle: TaskHandle, grace_s: float = 10.0) -> int:
        if handle.pid not in self._exits and not self.dead:
            with contextlib.suppress(OSError):
                self._send({"stop": handle.pid, "grace": grace_s})
        code = self.wait(handle, timeout=grace_s + 10)
        return code if code is not None else -signal.SIGKILL

    def fileno(self) -> int:
        """The pipe its messages arrive on: readable when a task has started or ended."""
        assert self._process.stdout is not None
        return self._process.stdout.fileno()

    def close(self) -> None:
        if not self._serving:  # still importing, or refused: it has no task to stop
            self._process.kill()
        with contextlib.suppress(OSError):
            self._process.stdin.close()  # type: ignore[union-attr]
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    # -- the pipe -----------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(json.dumps(message).encode() + b"\n")
        stdin.flush()

    def _record(self, message: dict[str, Any]) -> None:
        if "exited" in message:
            self._exits[message["exited"]] = message["code"]

    def _drain(self, timeout: float, wake: Sequence[int] = ()) -> None:
        """Read every message available within ``timeout`` seconds (or until ``wake`` is
        readable)."""
        message = self._read_message(timeout, wake)
        while message is not None:
            self._record(message)
            message = self._read_message(0)

    def _read_message(self, timeout: float, wake: Sequence[int] = ()) -> dict[str, Any] | None:
        stdout = self._process.stdout
        assert stdout is not None
        while b"\n" not in self._buffer:
            if self.dead or stdout.fileno() not in readable([stdout.fileno(), *wake], timeout):
                return None
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                self._lost()
                return None
            self._buffer += chunk
            timeout = 0.5
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)
