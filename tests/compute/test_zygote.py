"""The trial fork server: what it imports ahead, every task inherits."""

from __future__ import annotations

import json
import signal
import sys
import time

import pytest

from hyperpipe.compute._base import TaskSpec
from hyperpipe.compute._process import ProcessIdentity
from hyperpipe.compute._zygote import ZygoteBackend


def _run_task(tmp_path, preload, code):
    """Run ``code`` as a task of a fork server that preloaded ``preload``; its JSON output."""
    script = tmp_path / "task.py"
    script.write_text(code)
    zygote = ZygoteBackend(sys.executable, preload, str(tmp_path / "zygote.log"))
    try:
        out = tmp_path / "out.json"
        argv = (sys.executable, str(script), str(out))
        spec = TaskSpec("t", argv, str(tmp_path), str(tmp_path / "task.log"))
        assert zygote.wait(zygote.start(spec), timeout=60) == 0
    finally:
        zygote.close()
    return json.loads(out.read_text())


def test_preloading_a_hyperpipe_package_loads_its_exports_and_freezes_them(tmp_path):
    seen = _run_task(
        tmp_path,
        ["hyperpipe.core"],
        "import gc, json, sys\n"
        "json.dump({'run': 'hyperpipe.core._run' in sys.modules, 'frozen': gc.get_freeze_count()},"
        " open(sys.argv[1], 'w'))\n",
    )
    # hyperpipe.core loads Run on first use; a sweep's trials all use it, so it is loaded once
    assert seen["run"] is True
    assert seen["frozen"] > 10_000  # the preloaded objects, left out of the task's collections


def test_a_fork_server_preloading_torch_imports_what_torch_defers_to_first_use(tmp_path):
    pytest.importorskip("torch")
    seen = _run_task(
        tmp_path,
        ["torch"],
        "import json, sys\n"
        "json.dump({'dynamo': 'torch._dynamo' in sys.modules}, open(sys.argv[1], 'w'))\n",
    )
    # torch imports torch._dynamo when the first optimiser is made: 1.4 s a trial, paid once here
    assert seen == {"dynamo": True}


def test_a_task_dies_with_the_fork_server_that_forked_it(tmp_path):
    script = tmp_path / "task.py"
    script.write_text("import pathlib, time\npathlib.Path('running').touch()\ntime.sleep(600)\n")
    zygote = ZygoteBackend(sys.executable, [], str(tmp_path / "zygote.log"))
    task = None
    try:
        spec = TaskSpec("t", (sys.executable, str(script)), str(tmp_path), str(tmp_path / "l"))
        handle = zygote.start(spec)
        task = ProcessIdentity(handle.pid, handle.started_at)
        deadline = time.monotonic() + 10
        while not (tmp_path / "running").exists():  # past its start-up: the script runs
            assert time.monotonic() < deadline, (tmp_path / "l").read_text()
            time.sleep(0.01)
        # libc's prctl was loaded once by the server; each task asks for the signal with it
        zygote._process.send_signal(signal.SIGKILL)
        zygote._process.wait()
        deadline = time.monotonic() + 10
        while task.alive():  # a zombie, not yet reaped by its new parent, counts as gone
            assert time.monotonic() < deadline, "the task outlived its fork server"
            time.sleep(0.01)
    finally:
        zygote.close()
        if task is not None:
            task.send(signal.SIGKILL)  # only if still that process
