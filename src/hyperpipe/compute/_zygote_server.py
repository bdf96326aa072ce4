"""The fork server's own side (see ``_zygote`` for what it is, and its protocol).

Kept apart from the backend and light to import: the server is a new interpreter whose start-up
is on the path of the first task it can take, so what it needs only to stop a task (psutil) or
to report an error (traceback) is imported when that happens.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import signal
import sys
import time
from typing import IO, Any

from hyperpipe.compute._base import place_snapshot
from hyperpipe.compute._process import die_with_parent, load_prctl, readable, start_time
from hyperpipe.compute._standby import print_from_script, run_as_main

__all__ = ["IMPORTED_LATER", "cuda_driver_loaded", "serve"]

# What a preloaded package imports only on first use, at a cost every task would pay again:
# torch imports torch._dynamo when the first optimiser is made (1.4 s here, in a 4 s lab trial);
# argparse imports shutil and gettext's locale when the first parser is made (5 ms a task).
IMPORTED_LATER = {"torch": ("torch._dynamo",), "argparse": ("shutil", "locale")}


def serve(preload: list[str], requests: IO[bytes], replies: IO[bytes]) -> None:
    """Import ``preload``, say so, then fork a task per request until ``requests`` ends."""
    with contextlib.suppress(OSError, AttributeError):
        load_prctl()  # die_with_parent's, loaded once here rather than per task

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
            _print_exc()
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
        started_at = start_time(pid) or time.time()  # gone already: close enough
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
    import psutil

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
        die_with_parent(parent)
    except BaseException:
        _print_exc()  # into the fork server's log: the task's own is not open yet
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
            run_as_main(script)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except BaseException as exc:
            print_from_script(exc, script)
            code = 1
        atexit._run_exitfuncs()  # what interpreter exit would run; os._exit below skips it
    except BaseException:
        _print_exc()  # setting the task up failed: into its log (or the server's)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _print_exc() -> None:
    import traceback

    traceback.print_exc()


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
