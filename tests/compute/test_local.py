"""The local backend: each task a child process that dies with the process that started it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

# Starts a task with the local backend, prints its pid, then waits to be killed.
PARENT = """
import sys, time
from hyperpipe.compute import _process
from hyperpipe.compute._base import TaskSpec
from hyperpipe.compute._local import LocalBackend

if sys.argv[1] == "preexec":
    _process._setpriv = ""  # as where util-linux's setpriv is not installed
spec = TaskSpec(run_id="r", argv=["sleep", "600"], cwd=sys.argv[2], env={},
                log_path=sys.argv[2] + "/task.log")
handle = LocalBackend().start(spec)
print(handle.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("how", ["setpriv", "preexec"])
def test_a_task_dies_with_the_process_that_started_it(tmp_path, how):
    if how == "setpriv" and not any(
        os.access(os.path.join(folder, "setpriv"), os.X_OK) for folder in os.get_exec_path()
    ):
        pytest.skip("util-linux's setpriv is not installed")
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT), how, str(tmp_path)],
        stdout=subprocess.PIPE,
    )
    try:
        task = psutil.Process(int(parent.stdout.readline()))
        deadline = time.monotonic() + 10
        while task.cmdline()[:1] != ["sleep"]:  # past setpriv, the task's own program runs
            assert time.monotonic() < deadline, task.cmdline()
            time.sleep(0.01)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while not _gone(task):
            assert time.monotonic() < deadline, "the task outlived the process that started it"
            time.sleep(0.01)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # dead, not yet reaped by its new parent
    except psutil.NoSuchProcess:
        return True


# What a script can see of how it was started; printed as JSON, then it exits as asked.
PROBE = """
import atexit, json, os, sys, threading, time

def annotated(x: int): pass

seen = {
    "argv": sys.argv,
    "orig_argv": sys.orig_argv[1:],
    "name": __name__,
    "file": __file__,
    "spec": repr(__spec__),
    "package": __package__,
    "loader": type(__loader__).__name__,
    "main": sys.modules["__main__"].__dict__ is globals(),
    "path0": sys.path[0],
    "cwd": os.getcwd(),
    "env": {k: v for k, v in os.environ.items() if k.startswith("PROBE_")},
    "stdin": sys.stdin.read(),
    "stdout_tty": sys.stdout.isatty(),
    "stdout_line_buffering": sys.stdout.line_buffering,
    "annotations": repr(annotated.__annotations__),
}
print(json.dumps(seen))
atexit.register(lambda: print("atexit ran", flush=True))
threading.Thread(target=lambda: (time.sleep(0.2), print("thread joined", flush=True))).start()
how = sys.argv[1]
if how == "raise":
    def inner():
        raise ValueError("from the script")
    inner()
elif how == "exit":
    sys.exit(3)
elif how == "message":
    sys.exit("a message")
"""


def _run(tmp_path, scripts: int, how: str, env: dict[str, str] | None = None):
    from hyperpipe.compute._base import TaskSpec
    from hyperpipe.compute._local import LocalBackend

    folder = tmp_path / f"{how}-{scripts}"
    folder.mkdir()
    (folder / "probe.py").write_text(PROBE)
    backend = LocalBackend(scripts=scripts)
    try:
        if scripts:
            time.sleep(0.3)  # the spare is ready: what follows is how it runs a script
        spec = TaskSpec(
            run_id="r",
            argv=(sys.executable, "probe.py", how),
            cwd=str(folder),
            log_path=str(folder / "log"),
            env={"PROBE_A": "1", **(env or {})},
        )
        spare = backend._spare
        handle = backend.start(spec)
        code = backend.wait(handle, timeout=30)
        kept = backend._spare
    finally:
        backend.close()
    lines = (folder / "log").read_text().splitlines()
    used = spare is not None and handle.pid == spare._process.pid
    return code, lines, used, kept is spare


@pytest.mark.parametrize("how", ["return", "raise", "exit", "message"])
def test_a_spare_runs_a_script_as_python_script_py_does(tmp_path, how):
    plain = _run(tmp_path, 0, how)
    spared = _run(tmp_path, 2, how)
    assert spared[2] and not plain[2]
    assert spared[0] == plain[0] == {"return": 0, "raise": 1, "exit": 3, "message": 1}[how]
    # Each ran in its own folder: the only difference allowed.
    plain_log = [line.replace(f"{how}-0", "FOLDER") for line in plain[1]]
    spared_log = [line.replace(f"{how}-2", "FOLDER") for line in spared[1]]
    assert json.loads(spared_log[0]) == json.loads(plain_log[0])
    # The rest: the traceback from the script's frame down, atexit, the joined thread.
    assert spared_log[1:] == plain_log[1:]
    assert "atexit ran" in plain_log and "thread joined" in plain_log


@pytest.mark.parametrize(
    "env", [{"PYTHONHASHSEED": "7"}, {"LC_ALL": "C"}, {"PYTHONPATH": "/elsewhere"}], ids=str
)
def test_a_task_whose_start_up_settings_differ_does_not_use_the_spare(tmp_path, env):
    code, _lines, used, kept = _run(tmp_path, 2, "return", env=env)
    assert code == 0
    assert not used and kept  # started plainly; the spare waits for the next task


def test_a_relative_python_path_does_not_use_the_spare(tmp_path, monkeypatch):
    # The same for the spare and the task, but the spare made it absolute from another folder.
    monkeypatch.setenv("PYTHONPATH", "lib")
    code, _lines, used, kept = _run(tmp_path, 2, "return")
    assert code == 0
    assert not used and kept
