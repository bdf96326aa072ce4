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

import atexit
import contextlib
import gc
import importlib
import json
import os
import runpy
import signal
import subprocess
import sys
import time
import traceback
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import psutil

from hyperpipe.compute._base import TaskHandle, TaskSpec, gpu_environment, place_snapshot
from hyperpipe.compute._local import _die_with_parent
from hyperpipe.compute._process import readable

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ZygoteBackend", "serve"]

# What a preloaded package imports only on first use, at a cost every task would pay again:
# torch imports torch._dynamo when the first optimiser is made (1.4 s here, in a 4 s lab trial).
IMPORTED_LATER = {"torch": ("torch._dynamo",)}


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
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(
                [python, "-m", "hyperpipe.compute._zygote", *preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, **(env or {})},
                start_new_session=True,
                preexec_fn=partial(_die_with_parent, os.getpid()),
            )
        self._exits: dict[int, int] = {}
        self._started: set[int] = set()
        self._buffer = b""
        self.dead = False  # the fork server is gone (its tasks died with it)
        self._log_path = log_path
        self.preloaded: list[str] = []
        if wait:
            self.ready()

    def ready(self) -> ZygoteBackend:
        """Wait until the zygote has imported its modules; RuntimeError when it cannot serve."""
        ready = self._read_message(timeout=300)
        if ready is not None and "refused" in ready:
            self.close()
            raise RuntimeError(ready["refused"])
        if ready is None or "ready" not in ready:
            raise RuntimeError(f"the trial fork server did not start; see {self._log_path}")
        self.preloaded = ready["ready"]
        return self

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

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._process.stdin.close()  # type: ignore[union-attr]
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()

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


# -- the zygote side ------------------------------------------------------------------------


def serve(preload: list[str], requests: IO[bytes], replies: IO[bytes]) -> None:
    loaded = []
    for item in preload:  # "module", or "module:function" to call once imported
        module, _, function = item.partition(":")
        try:
            imported = importlib.import_module(module)
            if function:
                getattr(imported, function)()
            elif module.startswith("hyperpipe."):  # its exports load on first use: now, here
                for name in getattr(imported, "__all__", ()):
                    getattr(imported, name)
            loaded.append(item)
        except Exception:  # a module that fails to import is imported (or fails) in the task
            traceback.print_exc()
    for package, later in IMPORTED_LATER.items():
        if package in sys.modules:
            for module in later:
                with contextlib.suppress(Exception):  # the task imports it itself, as before
                    importlib.import_module(module)
                    loaded.append(module)  # named, should it be what started CUDA
    write = _writer(replies)
    driver = cuda_driver_loaded()
    if driver:
        write(
            {
                "refused": f"preloading {', '.join(loaded) or 'modules'} initialised CUDA "
                f"({driver} is loaded in the fork server), which forked tasks could not use"
            }
        )
        return
    write({"ready": loaded})
    # The preloaded modules outlive every task: forked tasks' collections skip them (and leave
    # their pages shared), as the gc module's documentation advises for a fork server.
    gc.freeze()
    # A child's exit wakes the loop at once: SIGCHLD writes to a pipe that poll() watches.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    tasks = _Tasks(write)
    stream = requests.fileno()
    pending = b""
    while True:
        ready = readable([stream, wake_read], tasks.next_deadline(1.0))
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 4096)
        tasks.reap()
        tasks.escalate()
        if stream not in ready:
            continue
        chunk = os.read(stream, 65536)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            if "stop" in request:
                tasks.stop(request["stop"], request["grace"])
            else:
                tasks.start(request)
    # The backend went away: stop what it started.
    for pid in list(tasks.running):
        tasks.stop(pid, 5.0)
    while tasks.running:
        readable([wake_read], tasks.next_deadline(1.0))
        with contextlib.suppress(BlockingIOError):
            os.read(wake_read, 4096)
        tasks.reap()
        tasks.escalate()


class _Tasks:
    """The zygote's children: started, stopping (with a SIGKILL deadline), reaped."""

    def __init__(self, write: Any) -> None:
        self.write = write
        self.running: set[int] = set()
        self.deadlines: dict[int, float] = {}

    def start(self, request: dict[str, Any]) -> None:
        pid = _fork_task(request)
        self.running.add(pid)
        try:
            started_at = psutil.Process(pid).create_time()
        except psutil.NoSuchProcess:
            started_at = time.time()
        self.write({"started": pid, "started_at": started_at})

    def stop(self, pid: int, grace: float) -> None:
        if pid not in self.running or pid in self.deadlines:
            return
        _signal_task(pid, signal.SIGTERM)
        self.deadlines[pid] = time.monotonic() + grace

    def escalate(self) -> None:
        now = time.monotonic()
        for pid, deadline in list(self.deadlines.items()):
            if now >= deadline and pid in self.running:
                _signal_task(pid, signal.SIGKILL)
                self.deadlines[pid] = now + 3600

    def next_deadline(self, longest: float) -> float:
        if not self.deadlines:
            return longest
        return max(0.0, min(longest, min(self.deadlines.values()) - time.monotonic()))

    def reap(self) -> None:
        for pid in list(self.running):
            try:
                ended = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                ended = True
            if not ended:
                continue
            # Still unreaped, the task pins its group's number: what it left there is its own.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            try:
                _, status = os.waitpid(pid, 0)
                code = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                code = -signal.SIGKILL
            self.running.discard(pid)
            self.deadlines.pop(pid, None)
            self.write({"exited": pid, "code": code})


def _signal_task(pid: int, signum: int) -> None:
    """Signal an unreaped child's process group and every descendant that left it."""
    try:
        family = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.send_signal(signum)


def cuda_driver_loaded() -> str | None:
    """The CUDA driver library's path when it is mapped into this process (CUDA was started:
    the runtime loads it on its first call), else None."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rstrip("\n").partition("/")[2]
                if path and os.path.basename(path).startswith("libcuda.so"):
                    return "/" + path
    except OSError:  # no procfs (not Linux): nothing to tell
        pass
    return None


def _writer(replies: IO[bytes]) -> Any:
    def write(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message).encode() + b"\n")
        replies.flush()

    return write


def _fork_task(request: dict[str, Any]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        _die_with_parent(parent)
    except BaseException:
        traceback.print_exc()  # into the fork server's log: the task's own is not open yet
        os._exit(code)
    try:
        log = os.open(request["log_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        place_snapshot(request.get("snapshot", ""), request["cwd"])
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        script = request["argv"][1]
        sys.argv = request["argv"][1:]
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except BaseException as exc:
            _print_user_traceback(exc, script)
            code = 1
        atexit._run_exitfuncs()  # what interpreter exit would run; os._exit below skips it
    except BaseException:
        traceback.print_exc()  # setting the task up failed: into its log (or the server's)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _print_user_traceback(exc: BaseException, script: str) -> None:
    """The traceback ``python script.py`` would print: from the script's frame down."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != os.path.abspath(
        script
    ):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


def _exit_code(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)  # noqa: T201 - what `python script.py` prints for SystemExit("...")
    return 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Replies get a private copy of stdout; what imported modules print goes to the log.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.argv[1:], sys.stdin.buffer, replies)
