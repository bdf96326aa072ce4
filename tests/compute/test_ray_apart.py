"""Steps and trials on a node that does not see the workspace folder (as a machine without the
submitter's disk): they run in a copy of their run folder that travels through Ray's object
store, and what they write comes back, on a real cluster with a PostgreSQL store and an S3
default datastore. A workspace other machines cannot reach is refused there in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from hyperpipe.core import Experiment, ScriptRunConfig

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from hyperpipe.core import Workspace
    from hyperpipe.testing.ray_cluster import LocalRayCluster, RayNode


APART = "node_apart"

PRODUCE = """
import os, sys
from hyperpipe.core import Run
run = Run.get_context()
print("working in", os.getcwd(), flush=True)
docs = sorted(os.listdir(sys.argv[1]))
text = " ".join(open(os.path.join(sys.argv[1], name)).read() for name in docs)
os.makedirs(sys.argv[2], exist_ok=True)
with open(os.path.join(sys.argv[2], "words.txt"), "w") as out:
    out.write(text.upper())
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as out:
    out.write("weights")
run.log("words", len(text.split()))
"""

CONSUME = """
import os, sys
from hyperpipe.core import Run
with open(os.path.join(sys.argv[1], "words.txt")) as data:
    Run.get_context().log("read", data.read())
"""

TRIAL = """
import argparse, os
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--score", type=float)
args = parser.parse_args()
run = Run.get_context()
print("working in", os.getcwd(), flush=True)
os.makedirs("outputs", exist_ok=True)
with open("outputs/score.txt", "w") as out:
    out.write(str(args.score))
run.log("score", args.score)
"""


@pytest.fixture(scope="module")
def apart_node(
    ray_cluster: LocalRayCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RayNode]:
    """A node that sees none of the tests' folders: an empty tmpfs over pytest's base folder,
    in a mount namespace of its own (custom resource ``node_apart``)."""
    base = tmp_path_factory.getbasetemp()
    probe = ["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs"]
    if not shutil.which("unshare") or subprocess.run([*probe, str(base)]).returncode:
        pytest.skip("needs a mount namespace to hide a folder from a node: root and unshare")
    node = ray_cluster.add_node(APART, hidden=[base])
    yield node
    node.stop()
    ray_cluster.nodes.remove(node)


@pytest.fixture
def apart_ws(cluster_ws: Workspace, ray_cluster: LocalRayCluster, apart_node: RayNode):
    """``cluster_ws`` with target ``apart``, pinned to the node that does not see it."""
    from hyperpipe.compute._ray import stop_runners
    from hyperpipe.core.compute import ComputeTarget, RayCompute

    config = RayCompute.provisioning_configuration(
        address=ray_cluster.address, max_concurrency=1, resources={APART: 1}
    )
    ComputeTarget.create(cluster_ws, "apart", config)
    yield cluster_ws
    stop_runners(ray_cluster.address, "apart")


def _source(tmp_path: Path, files: dict[str, str]) -> str:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    for name, code in files.items():
        (folder / name).write_text(textwrap.dedent(code))
    return str(folder)


def _worked_in(run, tmp_path: Path) -> str:
    """The folder the run's script said it worked in (its stored driver log)."""
    target = tmp_path / f"{run.id}.log"
    run.download_file("azureml-logs/70_driver_log.txt", output_file_path=str(target))
    lines = [line for line in target.read_text().splitlines() if line.startswith("working in ")]
    assert lines, target.read_text()
    return lines[0].removeprefix("working in ")


@pytest.mark.postgres
@pytest.mark.slow
def test_a_pipeline_on_a_node_apart_reads_its_inputs_and_its_outputs_metrics_and_files_come_back(
    apart_ws: Workspace, tmp_path: Path
):
    from hyperpipe.core import Dataset
    from hyperpipe.pipeline.core import Pipeline, PipelineData
    from hyperpipe.pipeline.steps import PythonScriptStep

    datastore = apart_ws.get_default_datastore()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "1.txt").write_text("one two")
    (docs / "2.txt").write_text("three")
    datastore.upload(str(docs), target_path="docs", show_progress=False)
    dataset = Dataset.File.from_files((datastore, "docs"))
    source = _source(tmp_path, {"produce.py": PRODUCE, "consume.py": CONSUME})
    words = PipelineData("words")
    produce = PythonScriptStep(
        "produce.py",
        name="produce",
        source_directory=source,
        arguments=[dataset.as_named_input("docs").as_mount(), words],
        outputs=[words],
        compute_target="apart",
        allow_reuse=False,
    )
    consume = PythonScriptStep(
        "consume.py",
        name="consume",
        source_directory=source,
        arguments=[words],
        inputs=[words],
        compute_target="apart",
        allow_reuse=False,
    )
    run = Experiment(apart_ws, "ray-apart").submit(Pipeline(apart_ws, [produce, consume]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=180) == "Finished"
    steps = {step.name: step for step in run.get_steps()}

    first = steps["produce"]
    assert first.get_metrics()["words"] == 3  # its input, materialized here, reached the node
    folder = _worked_in(first, tmp_path)
    assert not folder.startswith(str(apart_ws.root))  # a copy on the node, not the workspace
    assert not os.path.exists(folder)  # removed once its files came back
    assert "outputs/model.txt" in first.get_file_names()
    model = tmp_path / "model.txt"
    first.download_file("outputs/model.txt", output_file_path=str(model))
    assert model.read_text() == "weights"
    # Its PipelineData output came back, was committed, and the next step read it on the node.
    assert steps["consume"].get_metrics()["read"] == "ONE TWO THREE"


@pytest.mark.postgres
@pytest.mark.slow
def test_a_sweep_on_a_node_apart_runs_every_trial_and_stores_their_outputs(
    apart_ws: Workspace, tmp_path: Path
):
    from hyperpipe.train.hyperdrive import (
        GridParameterSampling,
        HyperDriveConfig,
        PrimaryMetricGoal,
        choice,
    )

    source = _source(tmp_path, {"trial.py": TRIAL})
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(source, "trial.py", compute_target="apart"),
        hyperparameter_sampling=GridParameterSampling({"--score": choice(1, 2, 3)}),
        primary_metric_name="score",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=3,
        max_concurrent_runs=1,
    )
    run = Experiment(apart_ws, "ray-apart-sweep").submit(config)
    run.wait_for_completion(show_output=False, raise_on_error=False)
    assert run.get_status() == "Completed", run.get_details().get("error")
    trials = list(run.get_children())
    assert sorted(t.get_metrics()["score"] for t in trials) == [1, 2, 3]
    for trial in trials:
        assert not _worked_in(trial, tmp_path).startswith(str(apart_ws.root))
        score = tmp_path / f"{trial.id}.txt"
        trial.download_file("outputs/score.txt", output_file_path=str(score))
        assert float(score.read_text()) == trial.get_metrics()["score"]
    assert run.get_best_run_by_primary_metric().get_metrics()["score"] == 3


@pytest.mark.postgres
@pytest.mark.slow
def test_a_node_apart_refuses_a_workspace_other_machines_cannot_reach_saying_what_to_use(
    ray_cluster: LocalRayCluster, apart_node: RayNode, tmp_path_factory: pytest.TempPathFactory
):
    from hyperpipe.compute import TaskSpec
    from hyperpipe.compute._ray import RayBackend, stop_runners
    from hyperpipe.compute._ray_apart import Apart
    from hyperpipe.compute._ray_cluster import RayRequest
    from hyperpipe.exceptions import ComputeTargetException

    root = tmp_path_factory.mktemp("unreachable")
    (root / ".hyperpipe").mkdir()
    (root / ".hyperpipe" / "folder-token").write_text("t0k3n\n")
    backend = RayBackend(
        ray_cluster.address,
        RayRequest(resources={APART: 1}),
        target="refusing",
        shared=(str(root / ".hyperpipe" / "folder-token"), "t0k3n"),
        apart=Apart(str(root), refusal="or, for nodes without it, since the store is SQLite: X"),
    )
    spec = TaskSpec(
        run_id="refused",
        argv=(sys.executable, "-c", "print('ran')"),
        cwd=str(root / ".hyperpipe" / "runs" / "refused" / "wd"),
        log_path=str(root / "refused.log"),
    )
    try:
        with pytest.raises(ComputeTargetException) as refused:
            backend.start(spec)
    finally:
        backend.close()
        stop_runners(ray_cluster.address, "refusing")
    message = str(refused.value.args[0])
    assert message.startswith("compute target 'refusing': the task could not start on its runner")
    assert f"does not see the workspace folder {root} (that path has no workspace there)" in message
    assert message.endswith("; or, for nodes without it, since the store is SQLite: X")
    assert "\n" not in message and not (root / "refused.log").exists()


def test_a_tasks_run_folder_is_its_runs_folder_or_its_working_folder_inside_the_workspace():
    from hyperpipe.compute._ray_apart import run_folder

    assert run_folder("/ws", "/ws/.hyperpipe/runs/r1/wd") == ".hyperpipe/runs/r1"
    assert run_folder("/ws", "/ws/.hyperpipe/runs/r1/wd/sub") == ".hyperpipe/runs/r1"
    assert run_folder("/ws", "/ws/jobs/a") == "jobs/a"
    assert run_folder("/ws", "/elsewhere/wd") is None
    assert run_folder("/ws", "/ws") is None


def test_a_node_copy_moves_paths_into_itself_and_sends_back_only_what_the_task_changed(
    tmp_path: Path,
):
    from hyperpipe.compute._ray_apart import Apart, NodeCopy, pack, unpack

    root = tmp_path / "ws"
    wd = root / ".hyperpipe" / "runs" / "r1" / "wd"
    (wd / "inputs").mkdir(parents=True)
    (wd / "inputs" / "data.txt").write_text("input")
    (wd / "inputs" / "tool.sh").write_text("#!/bin/sh\n")
    (wd / "inputs" / "tool.sh").chmod(0o755)
    (wd / "train.py").write_text("print('hi')")  # as the snapshot placed it
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "train.py").write_text("print('hi')")
    (snapshot / "other.py").write_text("x = 1")
    packed = pack(Apart(str(root), config='{"workspace_name": "w"}'), str(wd))
    assert packed is not None and packed["folder"] == ".hyperpipe/runs/r1"

    copy = NodeCopy(packed)
    try:
        local_wd = copy.path(str(wd))
        assert local_wd == os.path.join(copy.local, ".hyperpipe", "runs", "r1", "wd")
        assert copy.path(str(root)) == copy.local
        assert copy.path(f"--data={wd}/inputs") == f"--data={local_wd}/inputs"
        assert copy.path("/elsewhere/x") == "/elsewhere/x"
        with open(os.path.join(copy.local, ".azureml", "config.json")) as config:
            assert config.read() == '{"workspace_name": "w"}'
        assert os.stat(os.path.join(local_wd, "inputs", "tool.sh")).st_mode & 0o777 == 0o755
        # The task: a snapshot file placed unchanged, an output, a journal, an input rewritten.
        with open(os.path.join(local_wd, "other.py"), "w") as placed:
            placed.write("x = 1")
        os.makedirs(os.path.join(local_wd, "outputs"))
        with open(os.path.join(local_wd, "outputs", "model.bin"), "wb") as out:
            out.write(b"\x00weights")
        journal = os.path.join(copy.local, ".hyperpipe", "runs", "r1", "metrics", "1.jsonl")
        os.makedirs(os.path.dirname(journal))
        with open(journal, "w") as out:
            out.write('{"name": "acc"}\n')
        with open(os.path.join(local_wd, "inputs", "data.txt"), "w") as data:
            data.write("rewritten input")
        changes = copy.changes(local_wd, str(snapshot))
    finally:
        copy.remove()
    assert not os.path.exists(copy.local)
    assert sorted(changes) == [
        ".hyperpipe/runs/r1/metrics/1.jsonl",
        ".hyperpipe/runs/r1/wd/inputs/data.txt",
        ".hyperpipe/runs/r1/wd/outputs/model.bin",
    ]

    unpack(str(root), changes)
    assert (wd / "outputs" / "model.bin").read_bytes() == b"\x00weights"
    assert (wd / "inputs" / "data.txt").read_text() == "rewritten input"
    assert (root / ".hyperpipe" / "runs" / "r1" / "metrics" / "1.jsonl").is_file()
    unpack(str(root), {"../outside.txt": (b"no", 0o644)})  # never outside the workspace
    assert not (tmp_path / "outside.txt").exists()


def test_only_a_workspace_every_machine_reaches_may_run_on_nodes_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):

    from hyperpipe.core import Workspace
    from hyperpipe.core._backends import _apart

    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    ws = Workspace.create("apartws", path=tmp_path / "ws")
    refused = _apart(ws)
    assert refused.root == str(ws.root) and not refused.config
    assert refused.refusal.startswith("or, for nodes without it, since the workspace's store is")
    assert "use PostgreSQL" in refused.refusal

    # The store reachable, the default datastore still a local folder: refused, saying so.
    monkeypatch.setenv("HYPERPIPE_STORE_URL", "postgresql+psycopg://u@db.example/hp")
    assert "the default datastore 'workspaceblobstore' is a local folder" in _apart(ws).refusal


@pytest.mark.postgres
@pytest.mark.slow
def test_a_node_copys_config_is_the_workspaces_without_its_root_setting(cluster_ws: Workspace):
    import json

    from hyperpipe.core import Workspace
    from hyperpipe.core._backends import _apart

    config = json.loads(cluster_ws.config_path.read_text())
    config["hyperpipe"]["root"] = ".."  # the folder above .azureml/: the same root, said so
    cluster_ws.config_path.write_text(json.dumps(config))
    ws = Workspace.from_config(path=str(cluster_ws.config_path))
    allowed = _apart(ws)
    assert not allowed.refusal and allowed.root == str(cluster_ws.root)
    copied = json.loads(allowed.config)
    assert "root" not in copied["hyperpipe"]
    assert ws._config.settings["root"] == ".."  # the workspace's own settings are untouched
    assert copied["workspace_name"] == "rayws"
    assert copied["hyperpipe"]["default_datastore"] == "objects"


def test_a_run_folder_too_large_for_the_object_store_is_refused_saying_what_to_do(
    tmp_path: Path,
):
    from hyperpipe.compute._ray_apart import Apart, pack
    from hyperpipe.exceptions import ComputeTargetException

    wd = tmp_path / "ws" / ".hyperpipe" / "runs" / "r1" / "wd"
    (wd / "inputs").mkdir(parents=True)
    (wd / "inputs" / "big.bin").write_bytes(b"\0" * 3 * 2**20)
    apart = Apart(str(tmp_path / "ws"), config="{}")
    with pytest.raises(ComputeTargetException) as refused:
        pack(apart, str(wd), limit=2**20)
    message = str(refused.value.args[0])
    assert f"the run folder {wd.parent} holds 3 MiB" in message
    assert "more than the 1 MiB a node that does not see the workspace folder" in message
    assert message.endswith("or pin the target to nodes that see it (resources=...)")
    assert pack(apart, str(wd), limit=4 * 2**20) is not None
