"""A run's processes end with the process responsible for them; nothing lands in an ended run."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from hyperpipe.compute._process import ProcessIdentity
from hyperpipe.core import Experiment, Run, ScriptRunConfig
from hyperpipe.core._metrics import MetricWriter, to_point
from hyperpipe.store import RunStatus

LOOP = """
import os, sys, time
from hyperpipe.core import Run
run = Run.get_context()
open(sys.argv[1], "w").write(str(os.getpid()))
tick = 0
while True:
    run.log("tick", tick)
    run.flush()
    tick += 1
    time.sleep(0.05)
"""


def _ticks(run):
    ticks = Run.get(run.experiment.workspace, run.id).get_metrics().get("tick", [])
    return len(ticks) if isinstance(ticks, list) else 1


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_script_dies_with_its_monitor_and_its_ended_run_gets_no_more_metrics(
    ws, experiment, scripts, tmp_path
):
    pidfile = tmp_path / "script.pid"
    config = ScriptRunConfig(scripts("loop.py", LOOP), "loop.py", arguments=[str(pidfile)])
    run = experiment.submit(config)
    _wait(lambda: pidfile.exists() and _ticks(run) >= 3)
    monitor = psutil.Process(ws._store.get_run(run.id).pid)
    script = psutil.Process(int(pidfile.read_text()))

    monitor.kill()

    script.wait(timeout=10)  # killed with its monitor: it does not run on under init
    assert run.get_status() == "Crashed"
    ticks = _ticks(run)
    time.sleep(0.3)
    assert _ticks(run) == ticks


def test_a_run_context_writes_nothing_once_its_run_has_ended(ws, capsys):
    record = ws._store.create_run(
        experiment_name="ended", run_id="ended_1", run_type="azureml.scriptrun"
    )
    ws._store.set_status(record.id, RunStatus.CRASHED)
    writer = MetricWriter(ws._store, record.key, None, require_active=True)

    writer.append(to_point("tick", "scalar", 1.0, "", None))
    writer.flush()
    writer.append(to_point("tick", "scalar", 2.0, "", None))
    writer.close()

    assert ws._store.get_metrics([record.key]).get(record.key, []) == []
    err = capsys.readouterr().err
    assert err.count("run ended_1 has ended (Crashed)") == 1


def test_a_run_driven_from_another_machine_is_judged_by_its_heartbeat(ws):
    from hyperpipe.core import _lifecycle

    store = ws._store
    store.create_run(
        experiment_name="e",
        run_id="remote",
        run_type="azureml.scriptrun",
        status=RunStatus.RUNNING,
        host="another-machine",
        pid=4242,
        pid_started_at=1.0,
    )
    assert _lifecycle.is_alive(store.get_run("remote")) is None  # no heartbeat: cannot tell
    store.update_run("remote", heartbeat_at=time.time())
    assert _lifecycle.is_alive(store.get_run("remote")) is True
    store.update_run("remote", heartbeat_at=time.time() - _lifecycle.HEARTBEAT_STALE_S - 1)
    ended = _lifecycle.reconcile(store, store.get_run("remote"), ws.root)
    assert ended.status == RunStatus.CRASHED
    assert "pid 4242 on another-machine" in ended.error["error"]["message"]


def test_a_driver_keeps_a_heartbeat_on_its_run_while_it_runs(ws, scripts):
    folder = scripts("slow.py", "import time\ntime.sleep(2)\n")
    run = Experiment(ws, "beat").submit(ScriptRunConfig(str(folder), "slow.py"))
    deadline = time.monotonic() + 30
    while ws._store.get_run(run.id).heartbeat_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
    beat = ws._store.get_run(run.id).heartbeat_at
    assert beat is not None and abs(time.time() - beat) < 30
    run.wait_for_completion()


ELSEWHERE = """
import sys
from hyperpipe.core import Experiment, Workspace
from hyperpipe.pipeline.core import Pipeline, PipelineData
from hyperpipe.pipeline.steps import PythonScriptStep

root, release, source = sys.argv[1:]
ws = Workspace.from_config(path=root)
handoff = PipelineData("handoff")
steps = [
    PythonScriptStep(
        "wait.py", name="wait", arguments=[release, handoff], outputs=[handoff],
        source_directory=source, allow_reuse=False,
    ),
    PythonScriptStep(
        "after.py", name="after", arguments=[handoff], inputs=[handoff],
        source_directory=source, allow_reuse=False,
    ),
]
print(Experiment(ws, "elsewhere").submit(Pipeline(ws, steps)).id)
"""


def _on_another_machine(argv: list[str], hostname: str) -> subprocess.CompletedProcess:
    """``argv`` run as if on another machine: in a UTS namespace of its own, named
    ``hostname`` (what the store records as a process's host); its detached processes stay
    there. Skips where no such namespace can be made (it needs root)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare")
    probe = subprocess.run(["unshare", "--uts", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a UTS namespace here: {probe.stderr.decode().strip()}")
    shell = f"hostname {shlex.quote(hostname)} && exec {shlex.join(argv)}"
    return subprocess.run(
        ["unshare", "--uts", "sh", "-c", shell], capture_output=True, text=True, timeout=120
    )


def test_a_pipeline_whose_driver_died_on_another_machine_is_resumed_here(
    ws, scripts, tmp_path, monkeypatch
):
    # Its orchestrator ran elsewhere: no pid can be checked from here, only its heartbeat,
    # and once that is stale the run is Crashed and resumes on this machine.
    from hyperpipe.core import _lifecycle

    release = tmp_path / "release"
    folder = scripts(
        "wait.py",
        """
        import os, sys, time
        while not os.path.exists(sys.argv[1]):
            time.sleep(0.05)
        os.makedirs(sys.argv[2], exist_ok=True)
        open(os.path.join(sys.argv[2], "data"), "w").write("handed over")
        """,
    )
    scripts("after.py", "import os, sys\nassert open(os.path.join(sys.argv[1], 'data')).read()\n")
    (tmp_path / "elsewhere.py").write_text(ELSEWHERE)
    done = _on_another_machine(
        [sys.executable, str(tmp_path / "elsewhere.py"), str(ws.root), str(release), str(folder)],
        "another-machine",
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    store = ws._store
    _wait(
        lambda: any(s.status == RunStatus.RUNNING for s in store.list_runs(parent_id=run_id)),
        timeout=60,
    )
    record = store.get_run(run_id)
    assert record.host == "another-machine" != _lifecycle.HOST
    _wait(lambda: store.get_run(run_id).heartbeat_at is not None)
    assert _lifecycle.is_alive(store.get_run(run_id)) is True  # judged by its heartbeat

    # The other machine is gone, with its orchestrator (the process recorded, no other).
    assert ProcessIdentity(record.pid, record.pid_started_at).send(signal.SIGKILL)
    monkeypatch.setattr(_lifecycle, "HEARTBEAT_STALE_S", 1.0)  # not the ~20 s a reader waits
    run = Run.get(ws, run_id)
    _wait(lambda: run.get_status() == "Crashed")
    message = store.get_run(run_id).error["error"]["message"]
    assert f"pid {record.pid} on another-machine" in message
    release.touch()
    run.resume()
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert store.get_run(run_id).host == _lifecycle.HOST  # driven from here now
    waits = run.find_step_run("wait")
    assert [s.get_status() for s in waits] == ["Crashed", "Finished"]  # lost there, run here
    assert [s.get_status() for s in run.find_step_run("after")] == ["Finished"]


def test_what_a_script_left_is_stopped_when_its_monitor_died_before_recording_it(ws):
    # The monitor records the script's process just after starting it; killed in between, it
    # leaves a run with no process to stop. What carries the run as its owner still goes, and
    # nothing of another run's.
    from hyperpipe.core import _lifecycle

    store = ws._store
    record = store.create_run(
        experiment_name="e", run_id="e_1", run_type="azureml.scriptrun", status=RunStatus.PREPARING
    )
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    env = {k: v for k, v in os.environ.items() if k != "HYPERPIPE_OWNER"}
    left = subprocess.Popen(sleeper, env={**env, "HYPERPIPE_OWNER": record.id})
    other = subprocess.Popen(sleeper, env={**env, "HYPERPIPE_OWNER": "e_2"})
    try:
        _wait(lambda: "HYPERPIPE_OWNER" in psutil.Process(left.pid).environ())
        _wait(lambda: "HYPERPIPE_OWNER" in psutil.Process(other.pid).environ())
        _lifecycle.stop_task_processes(store.get_run(record.id))
        assert left.wait(timeout=10) == -signal.SIGKILL
        assert other.poll() is None, "another run's process is left alone"
    finally:
        for process in (left, other):
            process.kill()
            process.wait()
