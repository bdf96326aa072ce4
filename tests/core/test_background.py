"""Detached drivers: a run outlives the script that submitted it, and is never left stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from hyperpipe.compute._process import start_time
from hyperpipe.core import Experiment, Run
from hyperpipe.pipeline.core import Pipeline
from hyperpipe.pipeline.steps import PythonScriptStep
from hyperpipe.testing.faults import FaultCase, run_case


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request):
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("new_postgres_database")("hp_detached")


@pytest.mark.slow
@pytest.mark.parametrize("workload", ["pipeline", "sweep"])
def test_a_script_that_submits_and_exits_leaves_a_run_that_finishes_with_every_metric(
    workload, store_url, tmp_path
):
    # The submitting script exits right after submit(), as SDK v1 notebooks and schedulers do.
    case = FaultCase(f"exit-{workload}", workload, kill=None, root=tmp_path, store_url=store_url)
    result = run_case(case)
    assert result.ok(), result.problems
    assert result.final_status in ("Finished", "Completed") and result.resumes == 0


@pytest.mark.slow
def test_a_submitter_with_threads_starts_its_driver_as_a_new_process_that_also_finishes(
    tmp_path, monkeypatch
):
    # A process with threads (a server, a notebook) must not fork: its driver is spawned.
    monkeypatch.setenv("HYPERPIPE_BACKGROUND", "subprocess")
    result = run_case(FaultCase("spawned", "pipeline", kill=None, root=tmp_path, values=4))
    assert result.ok(), result.problems


def _sleepy_pipeline(ws, tmp_path):
    source = tmp_path / "sleepy"
    source.mkdir()
    (source / "nap.py").write_text("import time\ntime.sleep(3)\n")
    step = PythonScriptStep("nap.py", name="nap", source_directory=source)
    return Pipeline(ws, [step])


def test_submit_records_the_driver_before_returning_so_a_dead_driver_is_never_stuck(ws, tmp_path):
    run = Experiment(ws, "stuck").submit(_sleepy_pipeline(ws, tmp_path))
    record = ws._store.get_run(run.id)
    assert record.pid not in (None, os.getpid())
    assert record.pid_started_at == start_time(record.pid)

    os.kill(record.pid, signal.SIGKILL)  # before it has done anything
    deadline = time.monotonic() + 10
    while run.get_status() != "Crashed":
        assert time.monotonic() < deadline, f"stuck {run.get_status()}"
        time.sleep(0.02)
    assert run.resume().wait_for_completion(show_output=False) == "Finished"


def test_a_cancel_whose_driver_died_before_acting_on_it_ends_canceled_not_pending(ws, tmp_path):
    run = Experiment(ws, "stuck").submit(_sleepy_pipeline(ws, tmp_path))
    driver = psutil.Process(ws._store.get_run(run.id).pid)
    driver.suspend()  # it cannot act on the cancel...
    run.cancel()
    assert ws._store.get_run(run.id).status.value == "CancelRequested"
    driver.kill()  # ...and dies
    driver.wait(timeout=10)
    assert run.get_status() == "Canceled"


def test_cancelling_a_run_whose_driver_died_leaves_it_ended(ws, tmp_path):
    run = Experiment(ws, "stuck").submit(_sleepy_pipeline(ws, tmp_path))
    driver = psutil.Process(ws._store.get_run(run.id).pid)
    driver.kill()
    driver.wait(timeout=10)
    run.cancel()
    assert run.get_status() == "Crashed"  # it had ended before the cancel


def test_a_run_created_by_a_submitter_that_died_is_crashed_not_queued(ws, scripts):
    # The submitter is responsible for the run until its driver is recorded.
    source = scripts("hello.py", "print('hello')")
    # Killed (by itself, for precision) after recording the run, before starting its monitor.
    code = textwrap.dedent(
        f"""
        import os, signal
        from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
        import hyperpipe.core._script_run_config as submission
        submission.start_in_background = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        ws = Workspace.from_config(path={str(ws.root)!r})
        Experiment(ws, "orphans").submit(ScriptRunConfig({str(source)!r}, "hello.py"))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=False, timeout=60)
    (record,) = ws._store.list_runs(experiment_name="orphans")
    assert record.status.value == "NotStarted"
    assert Run.get(ws, record.id).get_status() == "Crashed"
