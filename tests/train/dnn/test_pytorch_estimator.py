"""SDK v1's PyTorch estimator as a run configuration: arguments, packages, GPUs, torchrun."""

from __future__ import annotations

import textwrap

import pytest

from hyperpipe.core import Experiment, Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.core.runconfig import MpiConfiguration
from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.dnn import PyTorch
from hyperpipe.train.hyperdrive import (
    HyperDriveConfig,
    PrimaryMetricGoal,
    RandomParameterSampling,
    uniform,
)


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    return Workspace.create("est", path=tmp_path / "ws")


def _source(tmp_path, code: str):
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(code))
    return folder


def test_script_params_become_arguments_and_packages_are_recorded(ws, tmp_path):
    source = _source(
        tmp_path,
        """
        import sys
        from hyperpipe.core import Run
        Run.get_context().log_list("argv", sys.argv[1:])
        """,
    )
    with pytest.warns(FutureWarning, match="estimators are deprecated"):
        estimator = PyTorch(
            str(source),
            entry_script="train.py",
            script_params={"--lr": 0.1, "--verbose": ""},
            framework_version="1.4",
            pip_packages=["numpy==1.15.4"],
            distributed_training=MpiConfiguration(),
        )
    # added to SDK v1's default environment, which holds azureml-defaults
    assert estimator.environment.python.conda_dependencies.pip_packages == [
        "azureml-defaults",
        "numpy==1.15.4",
    ]
    with pytest.warns(UserWarning, match="use_gpu=True but compute target 'local' has no GPUs"):
        estimator.use_gpu = True
        run = Experiment(ws, "est").submit(estimator)
    run.wait_for_completion()
    assert run.get_metrics()["argv"] == ["--lr", "0.1", "--verbose"]


def test_unknown_framework_versions_are_refused_and_missing_entry_scripts_named(tmp_path):
    with pytest.raises(UserErrorException, match="framework_version '0.3' is not one SDK v1 knew"):
        PyTorch(str(tmp_path), entry_script="train.py", framework_version="0.3")
    with pytest.raises(UserErrorException, match="needs entry_script="):
        PyTorch(str(tmp_path), framework_version="1.4")


def test_several_processes_per_node_run_under_torchrun(ws, tmp_path):
    source = _source(
        tmp_path,
        """
        import os
        import sys  # one write per line: the two ranks share the log
        sys.stdout.write(f"rank {os.environ['LOCAL_RANK']} of {os.environ['WORLD_SIZE']}\\n")
        sys.stdout.flush()
        """,
    )
    estimator = PyTorch(
        str(source), entry_script="train.py", framework_version="1.4", process_count_per_node=2
    )
    run = Experiment(ws, "torchrun").submit(estimator)
    details = run.wait_for_completion()
    log = open(details["logFiles"]["azureml-logs/70_driver_log.txt"]).read()
    assert "rank 0 of 2" in log and "rank 1 of 2" in log


def test_use_gpu_on_a_target_without_gpus_warns_and_the_script_runs_on_the_cpu(
    ws, tmp_path, monkeypatch
):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # a GPU this machine has is not handed out
    source = _source(
        tmp_path,
        """
        import os, torch
        from hyperpipe.core import Run
        run = Run.get_context()
        run.log("visible", repr(os.environ.get("CUDA_VISIBLE_DEVICES")))
        run.log("cuda", torch.cuda.is_available())
        """,
    )
    ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2))
    with pytest.warns(FutureWarning):
        estimator = PyTorch(
            str(source),
            entry_script="train.py",
            framework_version="1.4",
            compute_target=ws.compute_targets["cpu"],
            use_gpu=True,
        )
    with pytest.warns(UserWarning, match="use_gpu=True but compute target 'cpu' has no GPUs"):
        run = Experiment(ws, "est").submit(estimator)
    run.wait_for_completion()
    assert run.get_metrics() == {"visible": "''", "cuda": False}
    # A sweep of it says the same when it is submitted.
    config = HyperDriveConfig(
        estimator=estimator,
        hyperparameter_sampling=RandomParameterSampling({"--x": uniform(0, 1)}),
        primary_metric_name="cuda",
        primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_total_runs=1,
    )
    with pytest.warns(UserWarning, match="use_gpu=True but compute target 'cpu' has no GPUs"):
        sweep = Experiment(ws, "est-sweep").submit(config)
    sweep.wait_for_completion()
    (trial,) = sweep.get_children()
    assert trial.get_metrics()["visible"] == "''"
