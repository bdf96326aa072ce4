"""Steps start as plain processes until the fork server is ready, then as its forks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil

from hyperpipe.compute._base import TaskSpec
from hyperpipe.compute._local import LocalBackend
from hyperpipe.compute._warming import WarmingBackend
from hyperpipe.compute._zygote import ZygoteBackend

# Writes what a task sees of itself: its parent's command line (a fork server's, or this test
# process's for a plain process), its argv, name and working folder.
REPORT = """\
import json, os, sys
import psutil
parent = " ".join(psutil.Process(os.getppid()).cmdline())
json.dump({"server": "_zygote_server" in parent, "argv": sys.argv, "name": __name__,
           "cwd": os.getcwd(), "var": os.environ.get("STEP_VAR")}, open(sys.argv[1], "w"))
sys.exit(int(sys.argv[2]))
"""


def _backend(tmp_path) -> WarmingBackend:
    server = ZygoteBackend(sys.executable, [], str(tmp_path / "server.log"), wait=False)
    return WarmingBackend(LocalBackend(), server)


def _spec(tmp_path, name: str, code: int = 0) -> TaskSpec:
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    argv = (sys.executable, str(script), str(tmp_path / f"{name}.json"), str(code))
    return TaskSpec(name, argv, str(tmp_path), str(tmp_path / f"{name}.log"), {"STEP_VAR": name})


def _seen(tmp_path, name: str) -> dict:
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_a_task_started_before_the_server_is_ready_is_a_plain_process_and_later_ones_its_forks(
    tmp_path,
):
    backend = _backend(tmp_path)
    try:
        first = backend.start(_spec(tmp_path, "first"))  # the server is still starting
        deadline = time.monotonic() + 60
        while not backend._server.is_ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        second = backend.start(_spec(tmp_path, "second", code=3))

        while backend.poll(first) is None or backend.poll(second) is None:
            backend.wait_any([first, second], 5.0)
        assert (backend.poll(first), backend.poll(second)) == (0, 3)
    finally:
        backend.close()

    assert isinstance(first.native, subprocess.Popen)
    assert isinstance(second.native, ZygoteBackend)
    for name, forked in (("first", False), ("second", True)):
        seen = _seen(tmp_path, name)
        assert seen["server"] is forked
        # what `python script.py` gives a script, either way
        assert seen["argv"][0] == str(tmp_path / "report.py")
        assert (seen["name"], seen["cwd"], seen["var"]) == ("__main__", str(tmp_path), name)


def test_a_script_for_another_interpreter_always_starts_as_a_plain_process(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text("import os, sys\nopen(sys.argv[1], 'w').write(str(os.getppid()))\n")
    other = tmp_path / "python-elsewhere"  # another path to an interpreter: not the server's
    other.symlink_to(os.path.realpath(sys.executable))
    backend = _backend(tmp_path)
    try:
        backend._server.ready()
        argv = (str(other), str(script), str(tmp_path / "parent"))
        handle = backend.start(TaskSpec("other", argv, str(tmp_path), str(tmp_path / "o.log")))
        assert backend.wait(handle, timeout=60) == 0
    finally:
        backend.close()
    assert isinstance(handle.native, subprocess.Popen)
    assert (tmp_path / "parent").read_text() == str(os.getpid())


def test_terminating_a_forked_task_stops_it_and_closing_stops_the_server(tmp_path):
    script = tmp_path / "sleep.py"
    script.write_text("import time\ntime.sleep(60)\n")
    backend = _backend(tmp_path)
    server = backend._server._process.pid
    backend._server.ready()
    try:
        handle = backend.start(
            TaskSpec("s", (sys.executable, str(script)), str(tmp_path), str(tmp_path / "s.log"))
        )
        assert isinstance(handle.native, ZygoteBackend)
        assert backend.terminate(handle, grace_s=5.0) < 0  # ended by a signal
        assert not psutil.pid_exists(handle.pid)
    finally:
        backend.close()
    assert not psutil.pid_exists(server) or psutil.Process(server).status() == "zombie"


def test_closing_before_the_server_is_ready_does_not_wait_for_its_imports(tmp_path):
    (tmp_path / "slow_import.py").write_text("import time\ntime.sleep(60)\n")
    server = ZygoteBackend(
        sys.executable,
        ["slow_import"],  # a minute's import: closing must not wait for it
        str(tmp_path / "server.log"),
        env={"PYTHONPATH": str(tmp_path)},
        wait=False,
    )
    pid = server._process.pid
    started = time.monotonic()
    WarmingBackend(LocalBackend(), server).close()
    assert time.monotonic() - started < 5
    assert server._process.returncode is not None
    assert not psutil.pid_exists(pid)
