"""The Run API on interactive and child runs: metric shapes, tags, properties, files, children."""

from __future__ import annotations

import numpy as np
import pytest

from hyperpipe.core import Model, Run
from hyperpipe.exceptions import ModelPathNotFoundException, UserErrorException


def test_get_metrics_follows_sdk_v1_shapes(experiment):
    run = experiment.start_logging()
    run.log("once", 1)
    run.log("float_once", 0.25)
    run.log("twice", 1.0)
    run.log("twice", 2.0)
    run.log("numpy", np.float32(0.5))
    run.log("text", "hello")
    run.log("flag", True)
    run.log_list("single_list", [7])
    run.log_row("row_once", a=1, b="x")
    run.log_table("table", {"x": [1, 2], "y": [3, 4]})
    assert run.get_metrics() == {
        "once": 1,
        "float_once": 0.25,
        "twice": [1.0, 2.0],
        "numpy": 0.5,
        "text": "hello",
        "flag": True,
        "single_list": 7,
        "row_once": {"a": 1, "b": "x"},
        "table": {"x": [1, 2], "y": [3, 4]},
    }
    assert isinstance(run.get_metrics()["once"], int)


def test_logging_a_list_with_log_says_to_use_log_list(experiment):
    run = experiment.start_logging()
    with pytest.raises(
        UserErrorException, match=r"log a sequence with run.log_list\(.loss., values\)"
    ):
        run.log("loss", [1, 2])
    with pytest.raises(UserErrorException, match="cannot also be logged as table"):
        run.log("mixed", 1.0)
        run.log_table("mixed", {"a": [1]})


def test_tags_merge_and_properties_are_add_only(experiment):
    run = experiment.start_logging()
    run.tag("stage", "dev")
    run.set_tags({"owner": "ana", "stage": "prod"})
    run.remove_tags(["owner"])
    assert run.get_tags() == {"stage": "prod"}
    run.add_properties({"commit": "abc"})
    run.add_properties({"commit": "abc"})
    with pytest.raises(UserErrorException, match="property 'commit' .* cannot change"):
        run.add_properties({"commit": "def"})
    assert run.get_properties() == {"commit": "abc"}


def test_children_and_recursive_metrics(experiment):
    parent = experiment.start_logging()
    with parent.child_run("first") as child:
        child.log("score", 1.0)
        grandchild = child.child_run("deep")
        grandchild.log("score", 2.0)
        grandchild.complete()
    parent.log("score", 0.0)
    assert [c.display_name for c in parent.get_children()] == ["first"]
    assert {r.id for r in parent.get_children(recursive=True)} == {child.id, grandchild.id}
    assert child.get_status() == "Completed" and child.parent == parent
    assert parent.get_metrics(recursive=True) == {
        parent.id: {"score": 0.0},
        child.id: {"score": 1.0},
        grandchild.id: {"score": 2.0},
    }
    parent.complete()
    assert parent.get_status() == "Completed"
    assert [r.id for r in experiment.get_runs()] == [parent.id]


def test_failing_inside_a_context_manager_fails_the_run(experiment):
    run = experiment.start_logging()
    with pytest.raises(ValueError), run:
        raise ValueError("boom")
    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["message"] == "boom"


def test_files_upload_list_download(experiment, tmp_path):
    run = experiment.start_logging()
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "sub" / "b.txt").write_text("B")
    run.upload_file("outputs/a.txt", str(tmp_path / "a.txt"))
    run.upload_folder("outputs/folder", tmp_path / "folder")
    assert run.get_file_names() == ["outputs/a.txt", "outputs/folder/sub/b.txt"]
    run.download_file("outputs/folder/sub/b.txt", tmp_path / "got.txt")
    assert (tmp_path / "got.txt").read_text() == "B"
    run.download_files(prefix="outputs/folder", output_directory=tmp_path / "all")
    assert (tmp_path / "all" / "outputs" / "folder" / "sub" / "b.txt").read_text() == "B"
    with pytest.raises(UserErrorException, match="has no file 'missing'"):
        run.download_file("missing")


def test_register_model_from_run_files_and_the_missing_path_error(experiment, tmp_path):
    run = experiment.start_logging()
    (tmp_path / "net.onnx").write_bytes(b"onnx")
    with pytest.raises(
        ModelPathNotFoundException,
        match=r"'outputs/net.onnx' is not among the files .* \(none uploaded yet\)",
    ):
        run.register_model("net", "outputs/net.onnx")
    run.upload_file("outputs/net.onnx", str(tmp_path / "net.onnx"))
    model = run.register_model("net", "outputs/net.onnx", tags={"accuracy": 0.9})
    assert (model.name, model.version, model.run_id) == ("net", 1, run.id)
    assert model.tags == {"accuracy": "0.9"}
    path = Model(experiment.workspace, "net").download(tmp_path / "dl")
    assert open(path, "rb").read() == b"onnx"


def test_run_get_returns_the_run_and_unknown_ids_are_named(experiment, ws):
    run = experiment.start_logging()
    assert Run.get(ws, run.id) == run
    with pytest.raises(UserErrorException, match="no run with id 'missing-run'"):
        Run.get(ws, "missing-run")


def test_metric_names_tags_and_properties_have_documented_limits(experiment):
    run = experiment.start_logging()
    with pytest.raises(UserErrorException, match="the limit is 255"):
        run.log("m" * 100_000, 1.0)
    with pytest.raises(UserErrorException, match="the limit is 5,000"):
        run.tag("big", "v" * 10_000_000)
    with pytest.raises(UserErrorException, match="the limit is 5,000"):
        run.add_properties({"big": "v" * 6000})
    run.tag("fine", "v" * 5000)
    run.complete()
    assert "big" not in run.get_tags() and run.get_tags()["fine"] == "v" * 5000


def test_a_run_context_uses_the_workspace_its_fork_server_loaded_until_the_config_changes(
    ws, monkeypatch
):
    from hyperpipe.core import _run
    from hyperpipe.core.compute import ComputeTarget, LocalCompute

    root = str(ws.root)
    monkeypatch.setenv("HYPERPIPE_WORKSPACE", root)
    monkeypatch.setattr(_run, "_warm_workspaces", {})
    _run.warm()  # what a fork server does before it forks its first task
    warmed = _run._warm_workspaces[root][1]
    assert _run._context_workspace(root) is warmed
    ComputeTarget.create(ws, "gpu", LocalCompute.provisioning_configuration(max_concurrency=1))
    fresh = _run._context_workspace(root)  # the config was written again: read it again
    assert fresh is not warmed and "gpu" in fresh.compute_targets
