"""Steps, trials and script runs as Ray work on a real two-node cluster (PostgreSQL store, S3
default datastore): placement on the nodes asked for, output streamed into the run's log,
cancel killing the whole process tree on the node, a lost node ending in a retry elsewhere, and
bad input refused before anything starts."""

from __future__ import annotations

import signal
import textwrap
import time
from typing import TYPE_CHECKING

import psutil
import pytest

from hyperpipe.core import Experiment, ScriptRunConfig
from hyperpipe.core.compute import ComputeTarget, ComputeTargetException, RayCompute

if TYPE_CHECKING:
    from pathlib import Path

    from hyperpipe.core import Workspace
    from hyperpipe.testing.ray_cluster import LocalRayCluster

pytestmark = [pytest.mark.postgres]

WHERE = """
import os, sys, time
from hyperpipe.core import Run
run = Run.get_context()
node = os.environ.get("HYPERPIPE_RAY_NODE", "?")
print("running on", node, flush=True)
run.log("node", node)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


def _stop_warm_runners(ws: Workspace) -> None:
    """End the idle runners earlier tests left warm (as ``hyperpipe compute stop`` does): they
    hold their nodes' CPUs."""
    from hyperpipe.compute._ray import stop_runners

    for target in ws.compute_targets.values():
        if target.type == "ray":
            _, busy = stop_runners(target.address, target.name)
            assert not busy, busy


def _node_names(cluster: LocalRayCluster) -> dict[str, str]:
    """Ray node id -> the node's custom resource name (node_head, node_1)."""
    import ray

    if not ray.is_initialized():
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    names = {}
    for node in ray.nodes():
        custom = [r for r in node["Resources"] if r.startswith("node_") and ":" not in r]
        if custom:
            names[node["NodeID"]] = custom[0]
    return names


def _source(tmp_path: Path, name: str, code: str) -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(code))
    return folder


def _driver_log(run, tmp_path: Path) -> str:
    """The run's stored driver log (its output, as streamed from the node)."""
    target = tmp_path / f"{run.id}.log"
    run.download_file("azureml-logs/70_driver_log.txt", output_file_path=str(target))
    return target.read_text()


def _wait(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_pipeline_steps_pinned_to_each_node_run_there_with_their_output_in_the_log(
    cluster_ws: Workspace, ray_cluster: LocalRayCluster, tmp_path: Path
):
    from hyperpipe.pipeline.core import Pipeline
    from hyperpipe.pipeline.steps import PythonScriptStep

    source = _source(tmp_path, "where.py", WHERE)
    first = PythonScriptStep(
        "where.py",
        name="on_head",
        source_directory=str(source),
        compute_target="head",
        allow_reuse=False,
    )
    second = PythonScriptStep(
        "where.py",
        name="on_node1",
        source_directory=str(source),
        compute_target="node1",
        allow_reuse=False,
    )
    second.run_after(first)
    run = Experiment(cluster_ws, "ray-pipeline").submit(Pipeline(cluster_ws, [second]))
    assert run.wait_for_completion(timeout_seconds=120) == "Finished"
    names = _node_names(ray_cluster)
    placed = {}
    for step in run.get_steps():
        node = step.get_metrics()["node"]
        placed[step.name] = names[node]
        assert f"running on {node}" in _driver_log(step, tmp_path)
    assert placed == {"on_head": "node_head", "on_node1": "node_1"}


@pytest.mark.slow
def test_a_second_pipeline_run_and_a_sweep_find_the_runner_warm_and_compute_stop_ends_it(
    cluster_ws: Workspace, ray_cluster: LocalRayCluster, tmp_path: Path
):
    from typer.testing import CliRunner

    from hyperpipe.cli import app
    from hyperpipe.pipeline.core import Pipeline
    from hyperpipe.pipeline.steps import PythonScriptStep
    from hyperpipe.train.hyperdrive import (
        GridParameterSampling,
        HyperDriveConfig,
        PrimaryMetricGoal,
        choice,
    )

    source = _source(
        tmp_path,
        "parent.py",
        """
        import os
        from hyperpipe.core import Run
        Run.get_context().log("runner", os.getppid())
        """,
    )
    runners = []
    for _ in range(2):  # each run's orchestrator is a new process that joins the cluster
        step = PythonScriptStep(
            "parent.py", source_directory=str(source), compute_target="head", allow_reuse=False
        )
        run = Experiment(cluster_ws, "ray-warm").submit(Pipeline(cluster_ws, [step]))
        assert run.wait_for_completion(timeout_seconds=120) == "Finished"
        runners.append(int(next(iter(run.get_steps())).get_metrics()["runner"]))
    assert runners[0] == runners[1] and psutil.pid_exists(runners[0])

    # A sweep's trials (forks of a fork server the runner starts for them) use the same runner.
    trial = _source(
        tmp_path,
        "trial.py",
        """
        import argparse, psutil
        from hyperpipe.core import Run
        parser = argparse.ArgumentParser()
        parser.add_argument("--score", type=float)
        run = Run.get_context()
        run.log("ancestors", ",".join(str(p.pid) for p in psutil.Process().parents()))
        run.log("score", parser.parse_args().score)
        """,
    )
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(trial), "trial.py", compute_target="head"),
        hyperparameter_sampling=GridParameterSampling({"--score": choice(1)}),
        primary_metric_name="score",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=1,
        max_concurrent_runs=1,
    )
    sweep = Experiment(cluster_ws, "ray-warm").submit(config)
    sweep.wait_for_completion(raise_on_error=False)
    assert sweep.get_status() == "Completed"
    ancestors = next(iter(sweep.get_children())).get_metrics()["ancestors"].split(",")
    assert str(runners[0]) in ancestors

    result = CliRunner().invoke(app, ["-w", str(cluster_ws.root), "compute", "stop", "head"])
    assert result.exit_code == 0, result.output
    assert f"ended runner pid {runners[0]}" in result.output
    _wait(lambda: not psutil.pid_exists(runners[0]), what="the runner to end")


@pytest.mark.slow
def test_a_sweep_runs_its_trials_on_both_nodes(
    cluster_ws: Workspace, ray_cluster: LocalRayCluster, tmp_path: Path
):
    from hyperpipe.train.hyperdrive import (
        GridParameterSampling,
        HyperDriveConfig,
        PrimaryMetricGoal,
        choice,
    )

    source = _source(
        tmp_path,
        "trial.py",
        """
        import argparse, os, time
        from hyperpipe.core import Run
        parser = argparse.ArgumentParser()
        parser.add_argument("--score", type=float)
        args = parser.parse_args()
        run = Run.get_context()
        print("trial on", os.environ.get("HYPERPIPE_RAY_NODE"), flush=True)
        run.log("node", os.environ.get("HYPERPIPE_RAY_NODE", "?"))
        time.sleep(1.0)
        run.log("score", args.score)
        """,
    )
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(source), "trial.py", compute_target="anywhere"),
        hyperparameter_sampling=GridParameterSampling({"--score": choice(1, 2, 3, 4)}),
        primary_metric_name="score",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=4,
        max_concurrent_runs=2,
    )
    run = Experiment(cluster_ws, "ray-sweep").submit(config)
    run.wait_for_completion(raise_on_error=False)
    assert run.get_status() == "Completed"
    names = _node_names(ray_cluster)
    trials = list(run.get_children())
    assert len(trials) == 4 and all(t.get_status() == "Completed" for t in trials)
    assert {names[t.get_metrics()["node"]] for t in trials} == {"node_head", "node_1"}
    assert run.get_best_run_by_primary_metric().get_metrics()["score"] == 4


@pytest.mark.slow
def test_cancel_kills_a_running_steps_grandchild_on_its_node(cluster_ws: Workspace, tmp_path: Path):
    pid_file = tmp_path / "grandchild.pid"
    source = _source(
        tmp_path,
        "spawn.py",
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("spawned", child.pid, flush=True)
        time.sleep(300)
        """,
    )
    config = ScriptRunConfig(str(source), "spawn.py", compute_target="node1")
    run = Experiment(cluster_ws, "ray-cancel").submit(config)
    _wait(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the grandchild")
    grandchild = psutil.Process(int(pid_file.read_text()))
    run.cancel()
    run.wait_for_completion(raise_on_error=False)
    assert run.get_status() == "Canceled", run.get_details().get("error")
    psutil.wait_procs([grandchild], timeout=10)
    assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE


@pytest.mark.slow
def test_a_two_node_gloo_training_all_reduces_across_its_ranks_and_finishes(
    cluster_ws: Workspace, ray_cluster: LocalRayCluster, tmp_path: Path
):
    pytest.importorskip("torch")
    from hyperpipe.core.runconfig import PyTorchConfiguration

    source = _source(
        tmp_path,
        "ddp.py",
        """
        import os
        import torch
        import torch.distributed as dist
        from hyperpipe.core import Run
        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        value = torch.tensor([float(rank + 1)])
        dist.all_reduce(value)
        print(f"rank {rank} of {world} on {os.environ['HYPERPIPE_RAY_NODE']}: {value.item()}",
              flush=True)
        run = Run.get_context()
        run.log("sum", value.item())
        run.log("node", os.environ["HYPERPIPE_RAY_NODE"])
        dist.destroy_process_group()
        """,
    )
    config = ScriptRunConfig(
        str(source),
        "ddp.py",
        compute_target="anywhere",
        distributed_job_config=PyTorchConfiguration(
            communication_backend="Gloo", process_count=2, node_count=2
        ),
    )
    run = Experiment(cluster_ws, "ray-ddp").submit(config)
    run.wait_for_completion(raise_on_error=False)
    assert run.get_status() == "Completed", run.get_details().get("error")
    metrics = run.get_metrics()
    assert metrics["sum"] == 3.0  # 1 + 2: both ranks took part; only rank 0 recorded it
    names = _node_names(ray_cluster)
    log = _driver_log(run, tmp_path)
    assert "rank 0 of 2" in log and "rank 1 of 2" not in log
    other = tmp_path / "rank1.log"
    run.download_file("logs/rank_1.log", output_file_path=str(other))
    assert "rank 1 of 2" in other.read_text()
    rank1_node = other.read_text().split(" on ")[1].split(":")[0]
    assert {names[metrics["node"]], names[rank1_node]} == {"node_head", "node_1"}


@pytest.mark.slow
@pytest.mark.parametrize("retries", [1, 0])
def test_a_run_whose_node_is_killed_runs_again_on_the_head_or_fails_naming_the_node(
    cluster_ws: Workspace, ray_cluster: LocalRayCluster, tmp_path: Path, retries: int
):
    import ray

    config = RayCompute.provisioning_configuration(
        address=ray_cluster.address, max_concurrency=2, max_retries=retries
    )
    ComputeTarget.create(cluster_ws, "retrying", config)

    names = _node_names(ray_cluster)  # connects this process to the cluster
    _stop_warm_runners(cluster_ws)

    # The head's CPU is taken, so the run starts on node_1; once node_1 is gone it is freed.
    class Blocker:  # defined here: Ray ships it by value (the test module is no package)
        def ready(self) -> bool:
            return True

    blocker = ray.remote(num_cpus=1, resources={"node_head": 1})(Blocker).remote()
    ray.get(blocker.ready.remote())
    started = tmp_path / "started"
    source = _source(
        tmp_path,
        "long.py",
        f"""
        import os, time
        from hyperpipe.core import Run
        run = Run.get_context()
        run.log("node", os.environ["HYPERPIPE_RAY_NODE"])
        print("attempt on", os.environ["HYPERPIPE_RAY_NODE"], flush=True)
        open({str(started)!r}, "a").write(os.environ["HYPERPIPE_RAY_NODE"] + "\\n")
        time.sleep(3)
        """,
    )
    run = Experiment(cluster_ws, "ray-retry").submit(
        ScriptRunConfig(str(source), "long.py", compute_target="retrying")
    )
    _wait(lambda: started.exists() and started.read_text().strip(), what="the first attempt")
    first = started.read_text().split()[0]
    assert names[first] == "node_1"
    node = ray_cluster.node("node_1")
    raylet = node.raylet()
    assert raylet is not None
    raylet.send_signal(signal.SIGKILL)
    ray.kill(blocker)
    try:
        run.wait_for_completion(raise_on_error=False)
        logs = _driver_log(run, tmp_path)
        attempts = [names.get(a) for a in started.read_text().split()]
        if retries:
            assert run.get_status() == "Completed", run.get_details().get("error")
            assert attempts == ["node_1", "node_head"]
            assert "was lost while the task ran" in logs and "retry 1 of 1" in logs
        else:
            assert run.get_status() == "Failed" and attempts == ["node_1"]
            error = run.get_details()["error"]["error"]
            assert error["code"] == "NodeLost"
            assert f"node {first[:12]}" in error["message"]
            assert "no retries were left" in error["message"]
    finally:
        node.stop()
        ray_cluster.add_node("node_1")


def test_a_resource_no_node_has_is_refused_naming_what_the_nodes_have(
    cluster_ws: Workspace, tmp_path: Path
):
    config = RayCompute.provisioning_configuration(
        address=cluster_ws.compute_targets["head"].address, resources={"tpu": 1}
    )
    ComputeTarget.create(cluster_ws, "tpus", config)
    source = _source(tmp_path, "where.py", WHERE)
    with pytest.raises(
        ComputeTargetException,
        match=r"compute target 'tpus' asks each run for CPU=1, tpu=1, which no node of the Ray "
        r"cluster has \(nodes: [0-9.]+: CPU=1.*node_head=100.*\); lower the request",
    ):
        Experiment(cluster_ws, "bad").submit(
            ScriptRunConfig(str(source), "where.py", compute_target="tpus")
        )
    assert cluster_ws._store.list_runs() == []


def test_a_two_node_cluster_refuses_a_sqlite_store_and_a_local_datastore(
    ray_cluster: LocalRayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from hyperpipe.core import Workspace

    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    ws = Workspace.create("sqlitews", path=tmp_path / "ws")
    ComputeTarget.create(
        ws, "cluster", RayCompute.provisioning_configuration(address=ray_cluster.address)
    )
    source = _source(tmp_path, "where.py", WHERE)
    with pytest.raises(
        ComputeTargetException,
        match=r"compute target 'cluster' is a Ray cluster of 2 nodes, but the workspace's store "
        r"is a SQLite file .* use PostgreSQL",
    ):
        Experiment(ws, "bad").submit(
            ScriptRunConfig(str(source), "where.py", compute_target="cluster")
        )
    assert ws._store.list_runs() == []


@pytest.mark.slow
def test_a_node_that_cannot_see_the_snapshot_folder_fetches_it_once_into_its_cache(
    cluster_ws: Workspace, ray_cluster: LocalRayCluster, tmp_path: Path
):
    import shutil
    import sys
    import uuid
    from pathlib import Path

    from hyperpipe.compute import TaskSpec
    from hyperpipe.compute._ray import RayBackend, stop_runners
    from hyperpipe.compute._ray_cluster import RayRequest
    from hyperpipe.compute._ray_runner import SNAPSHOT_CACHE

    _stop_warm_runners(cluster_ws)
    snapshot = tmp_path / "snapshots" / uuid.uuid4().hex  # named for its content, as stored
    (snapshot / "data").mkdir(parents=True)
    (snapshot / "job.py").write_text("print('read', open('data/x.txt').read(), flush=True)\n")
    (snapshot / "data" / "x.txt").write_text("hello")
    backend = RayBackend(
        ray_cluster.address, RayRequest(resources={"node_1": 1}), target="fetch-test"
    )

    def run(n: int) -> str:
        log = tmp_path / f"task{n}.log"
        spec = TaskSpec(
            run_id=f"task{n}",
            argv=(sys.executable, "job.py"),
            cwd=str(tmp_path / f"wd{n}"),
            log_path=str(log),
            snapshot=str(snapshot),
        )
        assert backend.wait(backend.start(spec), timeout=60) == 0, log.read_text()
        return log.read_text()

    cached = Path(SNAPSHOT_CACHE) / snapshot.name
    try:
        assert "read hello" in run(1)  # the node sees the stored folder: read from there
        assert not cached.exists()
        shutil.rmtree(snapshot)  # as on a node that does not share the submitter's disk
        assert "read hello" in run(2)
        assert (cached / "data" / "x.txt").read_text() == "hello"
        (cached / "data" / "x.txt").write_text("from the cache")  # fetched once, then kept
        assert "read from the cache" in run(3)
    finally:
        backend.close()
        stop_runners(ray_cluster.address, "fetch-test")
        shutil.rmtree(cached, ignore_errors=True)


@pytest.mark.slow
def test_joining_through_hyperpipe_skips_rays_serializer_imports_and_leaves_them_importable(
    ray_cluster: LocalRayCluster, tmp_path: Path
):
    import json
    import subprocess
    import sys

    # A fresh process: this one may have imported pydantic or pyarrow already. It answers in a
    # file: Ray prints the cluster's news (a node an earlier test killed) to a driver's stdout.
    code = textwrap.dedent(
        f"""
        import json, sys
        from hyperpipe.compute import TaskSpec
        from hyperpipe.compute._ray import RayBackend, stop_runners
        backend = RayBackend({ray_cluster.address!r}, target="lean-test")
        spec = TaskSpec(run_id="t", argv=(sys.executable, "-c", "print('ran')"),
                        cwd={str(tmp_path)!r}, log_path={str(tmp_path / "t.log")!r})
        code = backend.wait(backend.start(spec), timeout=60)
        loaded = sorted(m for m in ("pyarrow", "pydantic", "numpy") if m in sys.modules)
        import pydantic, ray._common.pydantic_compat as compat
        answer = {{"code": code, "loaded": loaded, "pydantic": compat.PYDANTIC_INSTALLED}}
        open({str(tmp_path / "answer.json")!r}, "w").write(json.dumps(answer))
        backend.close()
        stop_runners({ray_cluster.address!r}, "lean-test")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer == {"code": 0, "loaded": [], "pydantic": True}
    assert (tmp_path / "t.log").read_text().strip() == "ran"


@pytest.mark.slow
def test_a_warm_runner_taken_meanwhile_by_another_backend_answers_busy_and_the_task_runs_elsewhere(
    ray_cluster: LocalRayCluster, tmp_path: Path
):
    import sys

    from hyperpipe.compute import TaskSpec
    from hyperpipe.compute._ray import RayBackend, stop_runners

    def spec(name: str, seconds: float) -> TaskSpec:
        code = f"import os, time; time.sleep({seconds}); print('{name}', os.getpid())"
        (tmp_path / name).mkdir()
        return TaskSpec(
            run_id=name,
            argv=(sys.executable, "-c", code),
            cwd=str(tmp_path / name),
            log_path=str(tmp_path / f"{name}.log"),
        )

    first = RayBackend(ray_cluster.address, target="busy-test")
    other = RayBackend(ray_cluster.address, target="busy-test")
    try:
        assert first.wait(first.start(spec("a", 0)), timeout=60) == 0
        assert len(first._warm) == 1  # the runner that ran "a", known free to `first`
        taken = other.start(spec("b", 3))  # `other` finds that runner by name and takes it
        handle = first.start(spec("c", 0))  # asks the taken runner, which answers busy
        assert first.wait(handle, timeout=60) == 0
        assert handle.pid and handle.native.tries == 2
        assert other.wait(taken, timeout=60) == 0
        assert (tmp_path / "c.log").read_text().startswith("c ")
        assert (tmp_path / "b.log").read_text().startswith("b ")
    finally:
        first.close()
        other.close()
        stop_runners(ray_cluster.address, "busy-test")
