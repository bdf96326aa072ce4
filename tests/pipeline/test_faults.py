"""Faults with real processes: a failing step, a killed orchestrator and resume, cancel."""

from __future__ import annotations

import os
import signal
import subprocess

import psutil
import pytest

from hyperpipe.exceptions import ActivityFailedException
from hyperpipe.pipeline.core import Pipeline, PipelineData

WRITE = """
import os, sys
os.makedirs(sys.argv[1])
open(os.path.join(sys.argv[1], "rows.csv"), "w").write("1\\n2\\n")
"""

BAD = """
import sys
print("reading rows from", sys.argv[1], flush=True)
raise RuntimeError("bad row 7")
"""


def _failing_pipeline(ws, make_step):
    rows, cleaned = PipelineData("rows"), PipelineData("cleaned")
    write = make_step("write", WRITE, arguments=[rows], outputs=[rows])
    bad = make_step("bad", BAD, arguments=[rows, cleaned], inputs=[rows], outputs=[cleaned])
    after = make_step("after", "print('never')", arguments=[cleaned], inputs=[cleaned])
    return Pipeline(ws, [write, bad, after])


def test_failing_step_fails_the_pipeline_and_downstream_steps_never_start(
    ws, experiment, make_step
):
    run = experiment.submit(_failing_pipeline(ws, make_step))

    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert run.get_status() == "Failed"
    assert {s.name: s.get_status() for s in run.get_steps()} == {
        "write": "Finished",
        "bad": "Failed",
    }
    assert run.find_step_run("after") == []
    bad = run.find_step_run("bad")[0]
    assert bad.get_details()["error"]["error"]["message"] == "RuntimeError: bad row 7"


def test_failed_pipeline_raises_with_the_step_error_and_its_log_tail(ws, experiment, make_step):
    run = experiment.submit(_failing_pipeline(ws, make_step))

    with pytest.raises(
        ActivityFailedException, match=r"step 'bad' failed: RuntimeError: bad row 7"
    ) as caught:
        run.wait_for_completion(show_output=False)
    message = str(caught.value)
    assert "reading rows from" in message  # the log tail
    assert "Traceback (most recent call last)" in message


FIRST = """
import os, sys
out, counter = sys.argv[1:3]
open(counter, "a").write("first\\n")
os.makedirs(out)
open(os.path.join(out, "first.txt"), "w").write("first")
"""

# Writes half of its output, then (the first time only) sleeps until it is killed.
SLOW = """
import os, sys, time
src, out, counter, flag = sys.argv[1:5]
open(counter, "a").write("slow\\n")
os.makedirs(out)
with open(os.path.join(out, "part.txt"), "w") as f:
    f.write("first half;")
    f.flush()
    if not os.path.exists(flag):
        open(flag, "w").close()
        time.sleep(120)
    f.write("second half")
"""

LAST = """
import sys
open(sys.argv[2], "a").write("last:" + open(sys.argv[1] + "/part.txt").read() + "\\n")
"""


def test_killed_orchestrator_crashes_the_run_and_resume_finishes_it_without_rerunning_steps(
    ws, experiment, make_step, wait_for, tmp_path
):
    counter, flag = tmp_path / "counter.txt", tmp_path / "slow-started"
    first_out, slow_out = PipelineData("first_out"), PipelineData("slow_out")
    steps = [
        make_step("first", FIRST, arguments=[first_out, str(counter)], outputs=[first_out]),
        make_step(
            "slow",
            SLOW,
            arguments=[first_out, slow_out, str(counter), str(flag)],
            inputs=[first_out],
            outputs=[slow_out],
        ),
        make_step("last", LAST, arguments=[slow_out, str(counter)], inputs=[slow_out]),
    ]
    run = experiment.submit(Pipeline(ws, steps))
    wait_for(flag.exists)
    assert run.find_step_run("slow")[0].get_status() == "Running"
    first_ids = [s.id for s in run.find_step_run("first")]
    assert run.get_status() == "Running"
    orchestrator = run._record.pid
    assert orchestrator not in (None, os.getpid())

    os.kill(orchestrator, signal.SIGKILL)
    wait_for(lambda: run.get_status() == "Crashed")
    assert run.find_step_run("slow")[0].get_status() == "Crashed"

    run.resume()
    assert run.wait_for_completion(show_output=False) == "Finished"

    assert counter.read_text().splitlines() == [
        "first",
        "slow",
        "slow",
        "last:first half;second half",
    ]
    assert [s.id for s in run.find_step_run("first")] == first_ids
    assert [s.get_status() for s in run.find_step_run("slow")] == ["Crashed", "Finished"]
    committed = run.find_step_run("slow")[-1].get_output_data("slow_out").local_path()
    assert (committed / "part.txt").read_text() == "first half;second half"
    # The half-written attempt left nothing in the datastore.
    datastore = ws.get_default_datastore()._local_path("azureml")
    assert sorted(datastore.glob("*/slow_out")) == [committed]
    contents = [p.read_text() for p in datastore.rglob("*") if p.is_file()]
    assert "first half;" not in contents


# Starts a grandchild and records both pids, then waits to be stopped.
SLEEPER = """
import os, subprocess, sys, time
child = subprocess.Popen(["sleep", "600"])
open(sys.argv[1] + ".tmp", "w").write(f"{os.getpid()} {child.pid}")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""


def _gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_cancel_stops_the_running_step_and_its_child_processes(
    ws, experiment, make_step, wait_for, tmp_path
):
    pids = tmp_path / "pids"
    sleeper = make_step("sleeper", SLEEPER, arguments=[str(pids)])
    after = make_step("after", "print('never')")
    after.run_after(sleeper)
    run = experiment.submit(Pipeline(ws, [sleeper, after]))
    wait_for(pids.exists)
    step_pid, sleep_pid = map(int, pids.read_text().split())
    assert not _gone(step_pid) and not _gone(sleep_pid)

    run.cancel()
    assert run.wait_for_completion(show_output=False) == "Canceled"

    assert run.get_status() == "Canceled"
    assert run.find_step_run("sleeper")[0].get_status() == "Canceled"
    assert run.find_step_run("after") == []
    wait_for(lambda: _gone(step_pid) and _gone(sleep_pid), timeout=10)


def test_resume_never_signals_a_process_that_only_shares_a_recorded_pid(
    ws, experiment, make_step, wait_for, tmp_path
):
    # A stranger that happens to hold a pid once recorded for a step (after a reboot, or pid
    # reuse): same number, another start time, not one of the run's processes.
    stranger = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        flag = tmp_path / "started"
        step = make_step("nap", f"open({str(flag)!r}, 'w').close()\nimport time\ntime.sleep(600)")
        run = experiment.submit(Pipeline(ws, [step]))
        wait_for(flag.exists)
        (nap,) = run.find_step_run("nap")
        orchestrator = psutil.Process(run._refresh().pid)
        orchestrator.kill()
        orchestrator.wait(timeout=10)
        fake = {"pid": stranger.pid, "started_at": psutil.Process(stranger.pid).create_time() - 999}
        ws._store.update_run(
            nap.id,
            definition={**nap._record.definition, "process": fake, "process_pid": stranger.pid},
        )

        run.resume()
        run.cancel()
        run.wait_for_completion(show_output=False, raise_on_error=False)

        assert stranger.poll() is None, "resume signalled a process that was not the step's"
    finally:
        stranger.kill()
        stranger.wait()


# Starts a grandchild in its own process group, which the step's own death does not reach.
ORPHAN_MAKER = """
import subprocess, sys, time
child = subprocess.Popen(["sleep", "600"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(600)
"""


def test_a_dead_orchestrators_step_processes_and_their_children_do_not_outlive_it(
    ws, experiment, make_step, wait_for, tmp_path
):
    pids = tmp_path / "pids"
    step = make_step("maker", ORPHAN_MAKER, arguments=[str(pids)])
    run = experiment.submit(Pipeline(ws, [step]))
    wait_for(pids.exists)
    (maker,) = run.find_step_run("maker")
    step_pid = wait_for(lambda: maker._refresh().definition.get("process", {}).get("pid"))
    child = psutil.Process(int(pids.read_text()))

    psutil.Process(run._refresh().pid).kill()  # the orchestrator

    wait_for(lambda: _gone(step_pid), timeout=10)  # the step dies with its orchestrator
    assert run.get_status() == "Crashed"  # and whoever notices stops what the step left
    child.wait(timeout=10)
    assert _gone(child.pid)


def test_a_data_reference_to_a_missing_datastore_path_fails_its_step_before_it_starts(
    ws, experiment, make_step
):
    from hyperpipe.data import DataReference

    missing = DataReference(ws.get_default_datastore(), path_on_datastore="no/such/folder")
    step = make_step("reads", "print('never')", arguments=[missing], inputs=[missing])
    run = experiment.submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    (reads,) = run.find_step_run("reads")
    message = reads.get_details()["error"]["error"]["message"]
    assert "workspaceblobstore/no/such/folder, which does not exist" in message
    assert "datastore.upload(" in message
    assert "never" not in reads.get_job_log()
