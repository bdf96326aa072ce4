"""A run's processes end with the process responsible for them; nothing lands in an ended run."""

from __future__ import annotations

import time

import psutil

from hyperpipe.core import Run, ScriptRunConfig
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
    from hyperpipe.core import Experiment

    folder = scripts("slow.py", "import time\ntime.sleep(2)\n")
    run = Experiment(ws, "beat").submit(ScriptRunConfig(str(folder), "slow.py"))
    deadline = time.monotonic() + 30
    while ws._store.get_run(run.id).heartbeat_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
    beat = ws._store.get_run(run.id).heartbeat_at
    assert beat is not None and abs(time.time() - beat) < 30
    run.wait_for_completion()
