"""The local backend: each task a child process that dies with the process that started it."""

from __future__ import annotations

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
