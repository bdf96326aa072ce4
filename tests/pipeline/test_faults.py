"""Faults with real processes: a failing step, a killed orchestrator and resume, cancel."""

from __future__ import annotations

import os
import signal

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
