"""Compute targets' GPUs: each GPU shared by up to trials_per_gpu concurrent runs, checked input,
and runs that see the GPU they were given, or none on a target without GPUs."""

from __future__ import annotations

import json

import pytest

from hyperpipe.core import ScriptRunConfig, Workspace
from hyperpipe.core.compute import AmlCompute, ComputeTarget, ComputeTargetException, LocalCompute
from hyperpipe.exceptions import ConfigError


def test_trials_per_gpu_shares_each_gpu_and_sets_the_concurrency(ws):
    config = LocalCompute.provisioning_configuration(gpus=[0, 1], trials_per_gpu=3)
    target = ComputeTarget.create(ws, "gpu", config)
    assert (target.max_concurrency, target.gpus, target.trials_per_gpu) == (6, (0, 1), 3)
    saved = json.loads(ws._config.path.read_text())["hyperpipe"]["compute_targets"]["gpu"]
    assert saved == {"type": "local", "max_concurrency": 6, "gpus": [0, 1], "trials_per_gpu": 3}
    again = Workspace.from_config(path=ws.root).compute_targets["gpu"]
    assert (again.max_concurrency, again.trials_per_gpu) == (6, 3)
    assert "trials_per_gpu=3" in repr(again)
    # Fewer at once than the GPUs could take is fine; so is the SDK v1 spelling.
    fewer = LocalCompute.provisioning_configuration(
        max_concurrency=4, gpus=[0, 1], trials_per_gpu=3
    )
    assert ComputeTarget.create(ws, "fewer", fewer).max_concurrency == 4
    aml = AmlCompute.provisioning_configuration(max_nodes=4, gpus=[0], trials_per_gpu=4)
    assert ComputeTarget.create(ws, "aml", aml).trials_per_gpu == 4


def test_without_trials_per_gpu_runs_share_the_gpus_in_turn_as_before(ws):
    target = ComputeTarget.create(
        ws, "gpu", LocalCompute.provisioning_configuration(max_concurrency=3, gpus=[0, 1])
    )
    assert (target.max_concurrency, target.trials_per_gpu) == (3, 2)  # GPU 0 gets two of three
    assert ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration()).gpus == ()
    assert ws.compute_targets["cpu"].max_concurrency == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"gpus": [0], "trials_per_gpu": 0}, "trials_per_gpu must be a positive integer, found 0"),
        (
            {"gpus": [0], "trials_per_gpu": "4"},
            "trials_per_gpu must be a positive integer, found '4'",
        ),
        (
            {"trials_per_gpu": 2},
            "trials_per_gpu is 2 but the target has no GPUs to share; give it gpus",
        ),
        (
            {"max_concurrency": 5, "gpus": [0, 1], "trials_per_gpu": 2},
            r"max_concurrency 5 would put more than 2 runs on a GPU \(2 GPU\(s\) x 2 trials_per_gpu "
            r"= 4 at most\); lower max_concurrency, raise trials_per_gpu or add GPUs",
        ),
        ({"gpus": [-1]}, r"gpus must be a list of GPU indices like \[0, 1\], found \[-1\]"),
        ({"max_concurrency": 0}, "max_concurrency must be a positive integer, found 0"),
    ],
)
def test_bad_gpu_sharing_is_a_one_line_error_naming_the_value(arguments, message):
    with pytest.raises(
        ComputeTargetException, match=f"^LocalCompute.provisioning_configuration: {message}"
    ):
        LocalCompute.provisioning_configuration(**arguments)


def test_a_bad_trials_per_gpu_in_the_config_file_names_its_key(ws):
    path = ws._config.path
    config = json.loads(path.read_text())
    config["hyperpipe"]["compute_targets"] = {"gpu": {"gpus": [0], "trials_per_gpu": -2}}
    path.write_text(json.dumps(config))
    with pytest.raises(
        ConfigError,
        match=r"key 'hyperpipe.compute_targets.gpu.trials_per_gpu' must be a positive integer, "
        r"found -2",
    ):
        Workspace.from_config(path=ws.root)


def test_concurrent_runs_share_a_gpu_and_runs_on_a_target_without_gpus_see_none(
    experiment, scripts, ws, monkeypatch
):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # the machine's: never handed out unasked
    config = LocalCompute.provisioning_configuration(gpus=[1], trials_per_gpu=2)
    ComputeTarget.create(ws, "shared", config)
    source = scripts(
        "gpu.py",
        """
        import os, time
        from hyperpipe.core import Run
        Run.get_context().log("gpu", repr(os.environ.get("CUDA_VISIBLE_DEVICES")))
        time.sleep(1.0)
        """,
    )
    shared = [
        experiment.submit(ScriptRunConfig(source, "gpu.py", compute_target="shared"))
        for _ in range(2)
    ]
    plain = experiment.submit(ScriptRunConfig(source, "gpu.py", compute_target="local"))
    for run in [*shared, plain]:
        run.wait_for_completion()
    first, second = sorted((r._record.started_at, r._record.ended_at) for r in shared)
    assert second[0] < first[1]  # both at once, on the one GPU
    assert [r.get_metrics()["gpu"] for r in shared] == ["'1'", "'1'"]
    assert plain.get_metrics()["gpu"] == "''"


# -- ray targets ----------------------------------------------------------------------------


def test_a_ray_target_keeps_its_address_and_what_each_run_asks_of_a_node(ws):
    from hyperpipe.core.compute import RayCompute

    config = RayCompute.provisioning_configuration(
        address="10.0.0.5:6379",
        max_concurrency=4,
        num_cpus=2,
        memory=2**30,
        resources={"node_b": 1},
        max_retries=2,
    )
    ComputeTarget.create(ws, "cluster", config)
    again = Workspace.from_config(path=ws.root).compute_targets["cluster"]
    assert isinstance(again, RayCompute) and again.type == "ray"
    assert (again.address, again.max_concurrency, again.max_retries) == ("10.0.0.5:6379", 4, 2)
    assert again.resources == {
        "num_cpus": 2,
        "num_gpus": 0,
        "memory": 2**30,
        "resources": {"node_b": 1},
    }
    assert isinstance(ComputeTarget(ws, "cluster"), RayCompute)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"address": ""}, "address must be the Ray cluster's address"),
        ({"num_cpus": -1}, "num_cpus must be a number >= 0, found -1"),
        ({"memory": 1.5}, "memory must be a number of bytes, found 1.5"),
        ({"resources": {"node_b": 0}}, r"resources must map custom resource names to amounts > 0"),
        ({"max_retries": -1}, "max_retries must be an integer >= 0, found -1"),
    ],
)
def test_a_bad_ray_setting_is_a_one_line_error_naming_it(arguments, message):
    from hyperpipe.core.compute import RayCompute

    with pytest.raises(ComputeTargetException, match=message):
        RayCompute.provisioning_configuration(**{"address": "auto", **arguments})


def test_an_unreachable_ray_address_fails_the_submission_naming_it_and_how_to_start_ray(
    ws, scripts
):
    from hyperpipe.core import Experiment
    from hyperpipe.core.compute import RayCompute

    with __import__("socket").socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ComputeTarget.create(
        ws, "cluster", RayCompute.provisioning_configuration(address=f"127.0.0.1:{port}")
    )
    folder = scripts("hello.py", "print('hi')\n")
    config = ScriptRunConfig(str(folder), "hello.py", compute_target="cluster")
    message = (
        rf"no Ray cluster answers at '127.0.0.1:{port}' \(.*\); start one with `ray start --head "
        rf"--port {port}`"
    )
    with pytest.raises(ComputeTargetException, match=message):
        Experiment(ws, "ray").submit(config)
    assert ws._store.list_runs() == []  # nothing half-started


def test_a_ray_target_without_ray_installed_says_how_to_install_it(ws, monkeypatch):
    import sys

    from hyperpipe.core._backends import check_targets
    from hyperpipe.core.compute import RayCompute

    ComputeTarget.create(ws, "cluster", RayCompute.provisioning_configuration(address="auto"))
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray imports
    with pytest.raises(ComputeTargetException, match=r"pip install 'hyperpipe\[ray\]'"):
        check_targets(ws, ["cluster"])
