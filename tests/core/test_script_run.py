"""Submitting scripts: statuses, SDK v1 metric shapes, files, logs, errors, cancel, crashes."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from hyperpipe.core import Run, ScriptRunConfig
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.exceptions import (
    ActivityFailedException,
    ComputeTargetException,
    ExperimentExecutionException,
    UserErrorException,
)

TRAIN = """
import os, sys
from hyperpipe.core import Run

run = Run.get_context()
print("training with", sys.argv[1:], flush=True)
run.log("accuracy", 0.91)
for loss in (0.9, 0.5, 0.3):
    run.log("loss", loss)
run.log_list("lr_schedule", [0.1, 0.01, 0.001])
run.log_row("per_class", label="cat", f1=0.8)
run.log_row("per_class", label="dog", f1=0.7)
run.log_table("confusion", {"actual": [0, 1], "predicted": [0, 0]})
with open("weights.bin", "wb") as f:
    f.write(b"\\x00" * 128)
run.upload_file("outputs/uploaded.bin", "weights.bin")
os.makedirs("outputs", exist_ok=True)
with open("outputs/left_in_outputs.txt", "w") as f:
    f.write("saved")
if "--fail" in sys.argv:
    print("about to fail", file=sys.stderr, flush=True)
    raise RuntimeError("loss diverged at epoch 3")
"""


def test_script_run_records_metrics_files_and_logs(experiment, scripts):
    source = scripts("train.py", TRAIN)
    run = experiment.submit(ScriptRunConfig(source, "train.py", arguments=["--epochs", 3]))
    details = run.wait_for_completion()

    assert details["status"] == "Completed" == run.get_status()
    assert details["runDefinition"]["arguments"] == ["--epochs", "3"]
    assert run.get_metrics() == {
        "accuracy": 0.91,
        "loss": [0.9, 0.5, 0.3],
        "lr_schedule": [0.1, 0.01, 0.001],
        "per_class": {"label": ["cat", "dog"], "f1": [0.8, 0.7]},
        "confusion": {"actual": [0, 1], "predicted": [0, 0]},
    }
    assert run.get_metrics("accuracy") == {"accuracy": 0.91}
    assert set(run.get_file_names()) == {
        "azureml-logs/70_driver_log.txt",
        "outputs/uploaded.bin",
        "outputs/left_in_outputs.txt",
    }
    log = open(details["logFiles"]["azureml-logs/70_driver_log.txt"]).read()
    assert "training with ['--epochs', '3']" in log
    assert run.number == 1 and run.type == "azureml.scriptrun"


def test_failing_script_fails_the_run_with_its_error_and_log_tail(experiment, scripts):
    source = scripts("train.py", TRAIN)
    run = experiment.submit(ScriptRunConfig(source, "train.py", arguments=["--fail"]))
    with pytest.raises(ActivityFailedException, match="loss diverged at epoch 3") as caught:
        run.wait_for_completion()

    assert run.get_status() == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["message"] == "RuntimeError: loss diverged at epoch 3"
    assert error["exitCode"] == 1
    assert "about to fail" in error["logTail"]
    assert "Traceback (most recent call last)" in error["logTail"]
    assert "about to fail" in str(caught.value)
    # What was logged before the failure is kept.
    assert run.get_metrics()["loss"] == [0.9, 0.5, 0.3]
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"


def test_script_sees_its_run_and_the_sdk_v1_environment(experiment, scripts):
    source = scripts(
        "ctx.py",
        """
        import os
        from hyperpipe.core import Run, Workspace
        run = Run.get_context()
        ws = Workspace.from_config()
        run.log("same_id", run.id == os.environ["AZUREML_RUN_ID"])
        run.log("experiment", run.experiment.name)
        run.log("workspace", ws.name)
        run.log("cwd_is_snapshot", os.path.exists("ctx.py"))
        """,
    )
    run = experiment.submit(ScriptRunConfig(source, "ctx.py"))
    run.wait_for_completion()
    assert run.get_metrics() == {
        "same_id": True,
        "experiment": "tests",
        "workspace": "testws",
        "cwd_is_snapshot": True,
    }


def test_values_a_script_leaves_in_its_journal_at_exit_land_once(experiment, scripts):
    source = scripts(
        "only_logs.py",
        """
        from hyperpipe.core import Run
        run = Run.get_context()
        for loss in (0.9, 0.5, 0.3):
            run.log("loss", loss)
        print("run:", type(run).__name__, run.id, flush=True)
        """,
    )
    run = experiment.submit(ScriptRunConfig(source, "only_logs.py"))
    details = run.wait_for_completion()
    log = open(details["logFiles"]["azureml-logs/70_driver_log.txt"]).read()
    assert f"run: ScriptRun {run.id}" in log
    # The values waited in the process's journal; the run's end stored them, each once.
    assert run.get_metrics() == {"loss": [0.9, 0.5, 0.3]}


def test_a_scripts_run_context_reads_its_record_when_asked(experiment, scripts):
    source = scripts(
        "reads.py",
        """
        from hyperpipe.core import Run
        run = Run.get_context()
        run.log("status", run.get_status())
        run.log("tag", run.tags.get("team"))
        run.log("type", run.type)
        run.log("number", run.number)
        """,
    )
    config = ScriptRunConfig(source, "reads.py")
    run = experiment.submit(config, tags={"team": "nlp"})
    run.wait_for_completion()
    assert run.get_metrics() == {
        "status": "Running",
        "tag": "nlp",
        "type": "azureml.scriptrun",
        "number": run.number,
    }


def test_missing_script_is_refused_before_any_run_exists(experiment, tmp_path):
    source = tmp_path / "code"
    source.mkdir()
    with pytest.raises(
        ExperimentExecutionException, match=r"script 'nope\.py' not found: .*code/nope\.py"
    ):
        experiment.submit(ScriptRunConfig(source, "nope.py"))
    assert list(experiment.get_runs()) == []


def test_unknown_compute_target_lists_the_known_ones(experiment, scripts, ws):
    ComputeTarget.create(ws, "cpu2", LocalCompute.provisioning_configuration(max_concurrency=2))
    source = scripts("ok.py", "print('ok')")
    with pytest.raises(
        ComputeTargetException, match=r"'gpu-cluster' is not defined .* known targets: cpu2, local"
    ):
        experiment.submit(ScriptRunConfig(source, "ok.py", compute_target="gpu-cluster"))
    assert list(experiment.get_runs()) == []


def test_unsupported_argument_type_is_refused(experiment, scripts):
    source = scripts("ok.py", "print('ok')")
    with pytest.raises(UserErrorException, match="argument .* of type dict cannot be passed"):
        experiment.submit(ScriptRunConfig(source, "ok.py", arguments=[{"a": 1}]))


def test_run_fail_inside_a_script_fails_the_run_even_if_it_exits_zero(experiment, scripts):
    source = scripts(
        "selffail.py",
        """
        from hyperpipe.core import Run
        Run.get_context().fail(error_details="validation set is empty")
        """,
    )
    run = experiment.submit(ScriptRunConfig(source, "selffail.py"))
    run.wait_for_completion(raise_on_error=False)
    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["message"] == "validation set is empty"


SLOW = """
import subprocess, sys, time
from hyperpipe.core import Run
run = Run.get_context()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open("child.pid", "w") as f:
    f.write(str(child.pid))
run.log("child_pid", child.pid)
run.flush()
print("started", flush=True)
time.sleep(600)
"""


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_cancel_stops_the_script_and_every_process_it_started(experiment, scripts):
    source = scripts("slow.py", SLOW)
    run = experiment.submit(ScriptRunConfig(source, "slow.py"))
    child_pid = _wait_for(lambda: run.get_metrics().get("child_pid"))
    run.cancel()
    run.wait_for_completion()
    assert run.get_status() == "Canceled"
    _wait_for(
        lambda: (
            not psutil.pid_exists(child_pid)
            or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE
        )
    )


def test_killed_script_crashes_the_run_and_keeps_every_logged_value(experiment, scripts):
    source = scripts(
        "oom.py",
        """
        import os, signal
        from hyperpipe.core import Run
        run = Run.get_context()
        for i in range(5000):
            run.log("step", i)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    run = experiment.submit(ScriptRunConfig(source, "oom.py"))
    run.wait_for_completion(raise_on_error=False)
    assert run.get_status() == "Crashed"
    assert "killed by SIGKILL" in run.get_details()["error"]["error"]["message"]
    assert run.get_metrics()["step"] == list(range(5000))


def test_run_whose_monitor_dies_is_reported_crashed(experiment, scripts):
    source = scripts("slow.py", SLOW)
    run = experiment.submit(ScriptRunConfig(source, "slow.py"))
    child_pid = _wait_for(lambda: run.get_metrics().get("child_pid"))
    # The monitor records the script's process just after starting it; the script can log
    # before that. It dies here once the script runs as recorded.
    _wait_for(lambda: run._refresh().definition.get("process"))
    os.kill(run._record.pid, signal.SIGKILL)
    _wait_for(lambda: run.get_status() == "Crashed")
    message = run.get_details()["error"]["error"]["message"]
    assert "ended without reporting" in message
    # What is known is said: the kernel's log (where readable) has no out-of-memory kill of it.
    readable = os.access("/dev/kmsg", os.R_OK)
    assert ("not by the kernel's out-of-memory killer" in message) == readable, message
    # The script died with its monitor, and what it started went when the crash was noticed.
    _wait_for(
        lambda: (
            not psutil.pid_exists(child_pid)
            or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE
        )
    )


def test_target_concurrency_limits_runs_and_hands_out_distinct_gpus(experiment, scripts, ws):
    ComputeTarget.create(
        ws, "gpu", LocalCompute.provisioning_configuration(max_concurrency=2, gpus=[0, 1])
    )
    source = scripts(
        "gpu.py",
        """
        import os, time
        from hyperpipe.core import Run
        run = Run.get_context()
        run.log("gpu", os.environ.get("CUDA_VISIBLE_DEVICES"))
        time.sleep(0.6)
        """,
    )
    runs = [
        experiment.submit(ScriptRunConfig(source, "gpu.py", compute_target="gpu")) for _ in range(4)
    ]
    for run in runs:
        run.wait_for_completion()
    spans = sorted((r._record.started_at, r._record.ended_at) for r in runs)
    # How many runs were going at each moment a run started (ties broken towards the start).
    running_at_starts = [sum(1 for s, e in spans if s <= start < e) for start, _ in spans]
    assert (
        max(running_at_starts) == 2
    )  # never more than max_concurrency at once, and really 2 in parallel
    gpus = [r.get_metrics()["gpu"] for r in runs]
    assert set(gpus) == {"0", "1"}


def test_get_context_outside_a_run_is_offline_and_prints(capsys, monkeypatch):
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    run = Run.get_context()
    assert run.id.startswith("OfflineRun_")
    run.log("accuracy", 0.5)
    assert "Attempted to log scalar metric accuracy:\n0.5" in capsys.readouterr().out
    assert not hasattr(run, "experiment")
    with pytest.raises(Exception, match="outside a submitted run"):
        Run.get_context(allow_offline=False)


def test_eight_concurrent_runs_logging_ten_thousand_values_each_lose_nothing(
    experiment, scripts, ws, tmp_path
):
    ComputeTarget.create(ws, "wide", LocalCompute.provisioning_configuration(max_concurrency=8))
    source = scripts(
        "logger.py",
        """
        import os, sys, time
        from hyperpipe.core import Run
        run = Run.get_context()
        here = sys.argv[1]
        open(os.path.join(here, run.id), "w").close()
        deadline = time.monotonic() + 60
        while len(os.listdir(here)) < 8 and time.monotonic() < deadline:  # all eight at once
            time.sleep(0.01)
        for i in range(10_000):
            run.log("value", float(i))
        """,
    )
    here = tmp_path / "here"
    here.mkdir()
    config = ScriptRunConfig(source, "logger.py", arguments=[str(here)], compute_target="wide")
    runs = [experiment.submit(config) for _ in range(8)]
    for run in runs:
        details = run.wait_for_completion(raise_on_error=False)
        assert details["status"] == "Completed", details.get("error")
    starts = [r._record.started_at for r in runs]
    ends = [r._record.ended_at for r in runs]
    assert max(starts) < min(ends)  # all eight really ran at the same time
    for run in runs:
        assert run.get_metrics()["value"] == [float(i) for i in range(10_000)]


def test_arguments_given_as_one_string_are_refused_with_the_list_to_pass(scripts):
    with pytest.raises(UserErrorException, match=r"arguments=\['--lr', '0.1'\]"):
        ScriptRunConfig(scripts("t.py", "pass"), "t.py", arguments="--lr 0.1")


@pytest.mark.parametrize("limit", [-1, 0, "1h"])
def test_a_run_duration_limit_that_is_not_positive_is_refused_before_any_run(
    experiment, scripts, ws, limit
):
    config = ScriptRunConfig(scripts("t.py", "pass"), "t.py", max_run_duration_seconds=limit)
    with pytest.raises(UserErrorException, match="max_run_duration_seconds must be a positive"):
        experiment.submit(config)
    assert ws._store.list_runs() == []
