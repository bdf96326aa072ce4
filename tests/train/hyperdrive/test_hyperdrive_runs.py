"""Sweeps with real trial processes: results, policies, crashes, bad input, resume, the step."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time

import psutil
import pytest

from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.exceptions import ActivityFailedException, UserErrorException
from hyperpipe.pipeline.core import Pipeline, PipelineData
from hyperpipe.pipeline.steps import HyperDriveStep, PythonScriptStep
from hyperpipe.testing.faults import stop_unfinished_runs
from hyperpipe.train.hyperdrive import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    uniform,
)

TRAIN = """
import argparse, os, sys, time
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--quality", type=float)
parser.add_argument("--mode", default="ok")
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--pause", type=float, default=0.0)
args = parser.parse_args()
run = Run.get_context()
run.log("pid", os.getpid())
run.flush()
if args.mode == "crash":
    raise RuntimeError("trial blew up")
for epoch in range(args.epochs):
    run.log("accuracy", args.quality + 0.001 * epoch)
    run.flush()
    time.sleep(args.pause)
run.log("quality", args.quality)
"""


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    workspace = Workspace.create("sweeps", path=tmp_path / "ws")
    ComputeTarget.create(
        workspace, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2)
    )
    yield workspace
    stop_unfinished_runs(workspace)


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "trainer"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(TRAIN))
    return folder


def _config(source, space, sampling=GridParameterSampling, arguments=("--data", "d"), **kwargs):
    kwargs.setdefault("primary_metric_name", "accuracy")
    kwargs.setdefault("primary_metric_goal", PrimaryMetricGoal.MAXIMIZE)
    kwargs.setdefault("max_total_runs", 4)
    kwargs.setdefault("max_concurrent_runs", 2)
    return HyperDriveConfig(
        run_config=ScriptRunConfig(
            source, "train.py", arguments=list(arguments), compute_target="cpu"
        ),
        hyperparameter_sampling=sampling(space),
        **kwargs,
    )


def test_show_output_prints_each_trial_and_the_sweeps_progress(ws, source, capsys):
    run = Experiment(ws, "sweep").submit(_config(source, {"quality": choice(0.2, 0.9, 0.5, 0.7)}))
    run.wait_for_completion(show_output=True)
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("  trial ") for line in lines) == 4
    progress = [line.strip() for line in lines if line.startswith("  [")]
    assert progress[-1] == "[4/4 done, 0 running, best accuracy 0.9]"
    assert all(" done, " in line for line in progress)


def test_a_sweep_finds_the_best_trial_and_reports_sdk_v1_shapes(ws, source):
    config = _config(source, {"quality": choice(0.2, 0.9, 0.5, 0.7)})
    run = Experiment(ws, "sweep").submit(config)
    run.wait_for_completion()
    assert run.get_status() == "Completed"
    best = run.get_best_run_by_primary_metric()
    assert best.get_metrics()["quality"] == 0.9
    args = best.get_details()["runDefinition"]["arguments"]
    assert args == ["--data", "d", "--quality", "0.9"]  # base arguments, then sampled pairs
    rows = run.get_children_sorted_by_primary_metric()
    assert [r["best_primary_metric"] for r in rows] == [0.9, 0.7, 0.5, 0.2]
    assert [json.loads(r["hyperparameters"])["quality"] for r in rows[:2]] == [0.9, 0.7]
    assert [
        r["best_primary_metric"] for r in run.get_children_sorted_by_primary_metric(reverse=True)
    ] == [0.2, 0.5, 0.7, 0.9]
    assert len(run.get_children_sorted_by_primary_metric(top=2)) == 2
    hyper = run.get_hyperparameters()
    assert sorted(json.loads(v)["quality"] for v in hyper.values()) == [0.2, 0.5, 0.7, 0.9]
    assert all(child_id.startswith(run.id + "_") for child_id in hyper)
    assert run.get_metrics()[best.id]["accuracy"] == 0.9  # logged once: a scalar
    assert run.get_tags()[f"_aml_system_{best.id}"] == json.dumps({"quality": 0.9})


def test_a_policy_stops_poor_trials_and_their_processes(ws, source):
    # Trials alternate good and poor by their number, whatever order the grid is walked in.
    (source / "alternate.py").write_text(
        "import argparse, os, time\nfrom hyperpipe.core import Run\n"
        "p = argparse.ArgumentParser(); p.add_argument('--point'); p.parse_args()\n"
        "number = int(os.environ['AZUREML_RUN_ID'].rsplit('_', 1)[1])\n"
        "quality = 0.9 if number % 2 == 0 else 0.1\n"
        "run = Run.get_context()\nrun.log('pid', os.getpid())\n"
        "for epoch in range(30):\n"
        "    run.log('accuracy', quality + 0.001 * epoch); run.flush(); time.sleep(0.05)\n"
    )
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source, "alternate.py", compute_target="cpu"),
        hyperparameter_sampling=GridParameterSampling({"point": choice(1, 2, 3, 4)}),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=4,
        max_concurrent_runs=1,
        policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1, delay_evaluation=2),
    )
    run = Experiment(ws, "policy").submit(config)
    run.wait_for_completion()
    trials = {int(t.id.rsplit("_", 1)[1]): t for t in run.get_children()}
    assert [trials[n].get_status() for n in range(4)] == [
        "Completed",  # good
        "Canceled",  # poor: stopped
        "Completed",  # good
        "Canceled",  # poor: stopped
    ]
    for number in (1, 3):
        assert trials[number].get_properties()["early_terminated"] == "true"
        assert len(trials[number].get_metrics()["accuracy"]) < 30
        pid = trials[number].get_metrics()["pid"]
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_the_first_concurrent_batch_is_never_stopped(ws, source):
    (source / "poor_first.py").write_text(
        "import argparse, os, time\nfrom hyperpipe.core import Run\n"
        "p = argparse.ArgumentParser(); p.add_argument('--point'); p.parse_args()\n"
        "number = int(os.environ['AZUREML_RUN_ID'].rsplit('_', 1)[1])\n"
        "quality = 0.1 if number == 1 else 0.9\nrun = Run.get_context()\n"
        "for epoch in range(20):\n"
        "    run.log('accuracy', quality); run.flush(); time.sleep(0.05)\n"
    )
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source, "poor_first.py", compute_target="cpu"),
        hyperparameter_sampling=GridParameterSampling({"point": choice(1, 2)}),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=2,
        max_concurrent_runs=2,
        policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1),
    )
    run = Experiment(ws, "firstbatch").submit(config)
    run.wait_for_completion()
    assert sorted(t.get_status() for t in run.get_children()) == ["Completed", "Completed"]


def test_a_crashing_trial_fails_and_the_others_finish(ws, source):
    space = {"quality": choice(0.5), "mode": choice("ok", "crash")}
    run = Experiment(ws, "crash").submit(_config(source, space, max_total_runs=2))
    run.wait_for_completion()
    assert run.get_status() == "Completed"
    statuses = sorted(t.get_status() for t in run.get_children())
    assert statuses == ["Completed", "Failed"]
    failed = next(t for t in run.get_children() if t.get_status() == "Failed")
    assert "RuntimeError: trial blew up" in failed.get_details()["error"]["error"]["message"]


def test_all_trials_crashing_fails_the_sweep_with_the_reason(ws, source):
    run = Experiment(ws, "allcrash").submit(
        _config(source, {"quality": choice(0.1, 0.2), "mode": choice("crash")}, max_total_runs=2)
    )
    with pytest.raises(
        ActivityFailedException, match="all 2 trials failed.*RuntimeError: trial blew up"
    ):
        run.wait_for_completion()


def test_a_primary_metric_no_trial_logs_is_named(ws, source):
    config = _config(
        source, {"quality": choice(0.1, 0.2)}, primary_metric_name="f1", max_total_runs=2
    )
    run = Experiment(ws, "nometric").submit(config)
    with pytest.raises(
        ActivityFailedException,
        match=r"no trial logged the primary metric 'f1' \(the trials logged: accuracy, pid, quality\)",
    ):
        run.wait_for_completion()


def test_a_space_key_the_script_rejects_surfaces_its_stderr(ws, source):
    run = Experiment(ws, "badkey").submit(
        _config(source, {"quality": choice(0.1), "bogus": choice(1)}, max_total_runs=1)
    )
    with pytest.raises(ActivityFailedException, match="unrecognized arguments: --bogus 1"):
        run.wait_for_completion()


def test_bad_budgets_and_goals_are_refused(source):
    with pytest.raises(
        UserErrorException, match="max_total_runs must be a positive integer .* got 0"
    ):
        _config(source, {"quality": choice(0.1)}, max_total_runs=0)
    with pytest.raises(UserErrorException, match="primary_metric_goal must be PrimaryMetricGoal"):
        _config(source, {"quality": choice(0.1)}, primary_metric_goal="maximize")
    with pytest.raises(UserErrorException, match="needs the script to tune"):
        HyperDriveConfig(
            hyperparameter_sampling=RandomParameterSampling({"x": uniform(0, 1)}),
            primary_metric_name="a",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=1,
        )


def test_a_sweep_resumes_after_its_driver_is_killed(ws, source):
    space = {"quality": choice(0.1, 0.2, 0.3, 0.4), "epochs": choice(3), "pause": choice(0.4)}
    run = Experiment(ws, "resume").submit(
        _config(source, space, max_total_runs=4, max_concurrent_runs=1)
    )
    deadline = time.monotonic() + 60
    while sum(t.get_status() == "Completed" for t in run.get_children()) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first_done = {t.id for t in run.get_children() if t.get_status() == "Completed"}
    os.kill(run._refresh().pid, signal.SIGKILL)
    while run.get_status() != "Crashed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run.resume().wait_for_completion()
    trials = list(run.get_children())
    assert run.get_status() == "Completed"
    assert {t.id for t in trials} >= first_done  # finished trials were kept, not re-run
    assert sum(t.get_status() == "Completed" for t in trials) == 4  # lost trials ran again
    qualities = sorted(
        json.loads(t.properties["hyperparameters"])["quality"]
        for t in trials
        if t.get_status() == "Completed"
    )
    assert len(qualities) == len(set(qualities))  # grid points are not repeated


def test_trials_lost_with_a_killed_fork_server_end_and_the_rest_run_on_a_new_one(ws, source):
    # Both running trials die with their fork server; the driver must end them (they were
    # started by the dead server, which alone could report them) before it starts a new one.
    space = {"quality": choice(0.1, 0.2, 0.3, 0.4), "epochs": choice(40), "pause": choice(0.1)}
    run = Experiment(ws, "forkserver").submit(_config(space=space, source=source))
    deadline = time.monotonic() + 60
    while sum("pid" in t.get_metrics() for t in run.get_children()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    driver = psutil.Process(run._refresh().pid)
    (server,) = [
        p for p in driver.children() if "hyperpipe.compute._zygote" in " ".join(p.cmdline())
    ]
    server.kill()
    run.wait_for_completion(raise_on_error=False)
    statuses = {int(t.id.rsplit("_", 1)[1]): t.get_status() for t in run.get_children()}
    assert run.get_status() == "Completed"
    assert [statuses[n] for n in (0, 1)] == ["Crashed", "Crashed"]
    assert sum(status == "Completed" for status in statuses.values()) == 2


def test_a_hyperdrive_step_writes_sdk_v1_metrics_json_and_is_reused(ws, source, tmp_path):
    metrics = PipelineData("metrics_data", pipeline_output_name="metrics_output")
    step = HyperDriveStep(
        "hypertuning",
        _config(source, {"quality": choice(0.3, 0.6)}, arguments=()),
        estimator_entry_script_arguments=["--data", "x"],
        metrics_output=metrics,
    )
    reader = tmp_path / "reader"
    reader.mkdir()
    (reader / "read.py").write_text(
        "import json, os\nfrom hyperpipe.core import Run\n"
        "m = json.load(open(os.environ['AZUREML_DATAREFERENCE_metrics_data']))\n"
        "Run.get_context().log('trials', len(m))\n"
    )
    full = PythonScriptStep("read.py", name="fullmodel", inputs=[metrics], source_directory=reader)
    experiment = Experiment(ws, "re-train")
    run = experiment.submit(Pipeline(ws, [step, full]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    content = json.loads(open(run.get_pipeline_output("metrics_output").local_path()).read())
    assert len(content) == 2
    for child_id, values in content.items():
        assert "_" in child_id and child_id.startswith("HD_")
        assert list(values) == ["pid", "accuracy", "quality"]  # first-logged order
        assert all(isinstance(v, list) for v in values.values())  # always lists
    assert sorted(v["quality"][0] for v in content.values()) == [0.3, 0.6]
    assert run.find_step_run("fullmodel")[0].get_metrics() == {"trials": 2}
    again = experiment.submit(Pipeline(ws, [step, full]))
    assert again.wait_for_completion(show_output=False) == "Finished"
    assert all(s.reuse_decision["reused"] for s in again.get_steps())


def test_resume_from_warm_starts_the_sampler_with_earlier_trials(ws, source):
    space = {"quality": choice(0.1, 0.2, 0.3, 0.4)}
    first = Experiment(ws, "warm").submit(_config(source, space, max_total_runs=2))
    first.wait_for_completion()
    done = {json.loads(v)["quality"] for v in first.get_hyperparameters().values()}
    second = Experiment(ws, "warm").submit(
        _config(source, space, max_total_runs=2, resume_from=first)
    )
    second.wait_for_completion()
    again = {json.loads(v)["quality"] for v in second.get_hyperparameters().values()}
    assert done.isdisjoint(again)  # the grid continues where the first sweep stopped
    assert done | again == {0.1, 0.2, 0.3, 0.4}


def test_concurrent_trials_on_a_gpu_target_get_their_own_gpu(ws, source, tmp_path):
    ComputeTarget.create(
        ws, "gpus", LocalCompute.provisioning_configuration(max_concurrency=2, gpus=[0, 1])
    )
    (source / "gpu.py").write_text(
        "import os, time, argparse\nfrom hyperpipe.core import Run\n"
        "p = argparse.ArgumentParser(); p.add_argument('--i'); p.parse_args()\n"
        "run = Run.get_context()\nrun.log('gpu', os.environ['CUDA_VISIBLE_DEVICES'])\n"
        "run.log('accuracy', 1.0)\ntime.sleep(0.5)\n"
    )
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source, "gpu.py", compute_target="gpus"),
        hyperparameter_sampling=GridParameterSampling({"i": choice(1, 2)}),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=2,
        max_concurrent_runs=2,
    )
    run = Experiment(ws, "gpu").submit(config)
    run.wait_for_completion()
    assert sorted(m["gpu"] for m in run.get_metrics().values()) == ["0", "1"]


@pytest.mark.parametrize("minutes", [-5, 0, "10"])
def test_a_sweep_duration_that_is_not_positive_is_refused(source, minutes):
    with pytest.raises(UserErrorException, match="max_duration_minutes must be a positive"):
        _config(source, {"quality": choice(0.2)}, max_duration_minutes=minutes)


def test_a_policy_given_by_name_is_refused_naming_the_policy_classes(source):
    with pytest.raises(UserErrorException, match=r"policy must be .*BanditPolicy\(slack_factor"):
        _config(source, {"quality": choice(0.2)}, policy="bandit")


def test_trials_start_with_the_run_context_records_ready_in_the_fork_server(ws, tmp_path):
    # Each trial is a fork of a server that built what Run.get_context() needs once, so a
    # trial finds the records' __init__ already written (it would write them otherwise), and
    # the workspace loaded.
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "train.py").write_text(
        textwrap.dedent(
            """
            import argparse, os
            from hyperpipe._record import Record
            from hyperpipe.core import Run, _run
            from hyperpipe.core._workspace_config import WorkspaceConfig
            from hyperpipe.store import RunRecord
            ready = all(c.__dict__["__init__"] is not Record.__init__ for c in (WorkspaceConfig, RunRecord))
            parser = argparse.ArgumentParser()
            parser.add_argument("--x", type=float)
            parser.parse_args()
            run = Run.get_context()
            warmed = _run._warm_workspaces[os.environ["HYPERPIPE_WORKSPACE"]][1]
            run.log("ready", float(ready and run.experiment.workspace is warmed))
            """
        )
    )
    config = _config(folder, {"x": choice(1, 2)}, arguments=(), primary_metric_name="ready")
    run = Experiment(ws, "warm").submit(config)
    assert run.wait_for_completion()["status"] == "Completed"
    assert [child.get_metrics()["ready"] for child in run.get_children()] == [1.0, 1.0]


def test_a_trial_that_only_logs_never_opens_the_store_and_its_metric_counts(ws, tmp_path):
    # A trial is a fork of a server whose store has no open connection: opening one (the schema
    # read included) was most of what logging one value cost a short trial. Its values wait in
    # its journal at exit, and the driver stores them as it ends the trial.
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "train.py").write_text(
        textwrap.dedent(
            """
            import argparse, sqlite3, traceback
            from hyperpipe.core import Run
            connect = sqlite3.connect
            def watched(*args, **kwargs):
                print("CONNECTED", "".join(traceback.format_stack(limit=6)), flush=True)
                return connect(*args, **kwargs)
            sqlite3.connect = watched
            parser = argparse.ArgumentParser()
            parser.add_argument("--x", type=float)
            run = Run.get_context()
            run.log("score", parser.parse_args().x)
            """
        )
    )
    config = _config(folder, {"x": choice(1, 2, 3)}, arguments=(), primary_metric_name="score")
    run = Experiment(ws, "lean").submit(config)
    assert run.wait_for_completion()["status"] == "Completed"
    trials = list(run.get_children())
    assert len(trials) == 3
    assert sorted(t.get_metrics()["score"] for t in trials) == [1.0, 2.0, 3.0]
    assert run.get_best_run_by_primary_metric().get_metrics()["score"] == 3.0
    for trial in trials:
        log = trial.get_details()["logFiles"]["azureml-logs/70_driver_log.txt"]
        with open(log) as text:
            assert "CONNECTED" not in text.read()
