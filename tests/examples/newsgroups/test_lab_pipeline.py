"""The lab end to end, small: the SDK v1 pipeline script, unchanged, through the azureml alias."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from hyperpipe.core import Model, Run, Workspace
from hyperpipe.core.compute import AmlCompute, ComputeTarget
from hyperpipe.examples.newsgroups.prepare import prepare

ROOT = Path(__file__).resolve().parents[3]
ARCHIVE = ROOT.parent / "shared/data/20news-bydate.tar.gz"
SDKV1 = ROOT / "examples/newsgroups/code/pipelines/pipeline_retrain_sdkv1.py"
_PYCACHE = shutil.ignore_patterns("__pycache__")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1500),
    pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"no archive at {ARCHIVE}"),
]


@pytest.fixture(scope="module")
def lab_ws(tmp_path_factory) -> Workspace:
    ws = Workspace.create("lab", path=tmp_path_factory.mktemp("lab"))
    for name, nodes in (("hypercomputegpu", 2), ("fullcomputegpu", 1)):
        ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=nodes))
    prepare(ws, ARCHIVE)
    return ws


def test_the_sdk_v1_pipeline_runs_unchanged_through_the_alias(lab_ws, monkeypatch):
    env = {
        **os.environ,
        "HYPERPIPE_AZUREML_ALIAS": "1",
        "HYPERPIPE_STORE_URL": lab_ws.store_url,
    }
    env.pop("AZUREML_RUN_ID", None)
    result = subprocess.run(
        [sys.executable, str(SDKV1), "--max-total-runs", "2", "--space", "recommended"],
        cwd=lab_ws.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_id = result.stdout.strip().splitlines()[-1].split()[2]
    run = Run.get(lab_ws, run_id)
    assert run.get_status() == "Finished"
    steps = {s.name: s for s in run.get_steps()}
    assert {name: s.get_status() for name, s in steps.items()} == {
        "hypertrain": "Finished",
        "fullmodel": "Finished",
    }
    metrics = json.loads(run.get_pipeline_output("metrics_output").local_path().read_text())
    assert len(metrics) == 2
    for trial in metrics.values():
        assert isinstance(trial["accuracy"], list) and 0 <= trial["accuracy"][-1] <= 1
        assert {"learning_rate", "num_epochs", "batch_size", "hidden_size"} <= set(trial)
    model = Model(lab_ws, "newsgroups-classifier")
    full = steps["fullmodel"].get_metrics()
    assert model.run_id == steps["fullmodel"].id
    assert float(model.tags["accuracy"]) == pytest.approx(full["accuracy"], abs=1e-3)
    assert full["accuracy"] > 0.5  # a real model on the real test split, even when tuned briefly
    # The lab's targets here have no GPUs: every run trained on the CPU, and recorded it.
    sweep = next(
        c for c in steps["hypertrain"]._original().get_children() if c.type == "hyperdrive"
    )
    devices = [t.get_properties().get("device") for t in sweep.get_children()]
    assert devices == ["cpu", "cpu"]
    assert steps["fullmodel"].get_properties()["device"] == "cpu"

    # The SDK v1 variant is the same pipeline as hyperpipe's (space, settings, seed parameter):
    # with the same settings, one reuses both steps of the other (as after `make demo`).
    monkeypatch.syspath_prepend(str(ROOT / "examples/newsgroups/code/pipelines"))
    from pipeline_retrain import SPACES, build_pipeline

    from hyperpipe.core import Experiment

    again = Experiment(lab_ws, "re-train").submit(
        build_pipeline(lab_ws, SPACES["recommended"], 2, 2)
    )
    assert again.wait_for_completion(show_output=False) == "Finished"
    reused = {s.name: s.reuse_decision for s in again.get_steps()}
    assert {name: d["reused"] for name, d in reused.items()} == {
        "hypertrain": True,
        "fullmodel": True,
    }, reused


def test_the_published_lab_pipeline_runs_by_id_from_python_the_cli_and_rest(
    lab_ws, tmp_path, monkeypatch
):
    """Publish the lab's pipeline, delete the folder it was built from, then submit it by id with
    a changed seed from Python, the CLI (another seed) and REST (Python's seed again): all three
    finish, and the unchanged REST submission reuses every step."""
    from tests.portal.conftest import serving

    from hyperpipe.core.authentication import InteractiveLoginAuthentication
    from hyperpipe.pipeline.core import PublishedPipeline

    modeling = tmp_path / "modeling"
    shutil.copytree(ROOT / "examples/newsgroups/code/modeling", modeling, ignore=_PYCACHE)
    monkeypatch.syspath_prepend(str(ROOT / "examples/newsgroups/code/pipelines"))
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    from pipeline_retrain import SPACES, build_pipeline

    pipeline = build_pipeline(lab_ws, SPACES["quick"], 2, 2, source_directory=modeling)
    published_id = pipeline.publish("retrain", description="the lab's retraining", version="1").id
    shutil.rmtree(modeling)
    del pipeline

    published = PublishedPipeline.get(lab_ws, published_id)
    assert published.parameters == {"seed": 0}
    by_python = published.submit(lab_ws, "re-train-published", pipeline_parameters={"seed": 1})
    assert by_python.wait_for_completion(show_output=False) == "Finished"

    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "hyperpipe",
            "-w",
            str(lab_ws.root),
            "published",
            "submit",
            published_id,
            "-e",
            "re-train-published",
            "-p",
            "seed=2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "HYPERPIPE_STORE_URL"},
    )
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    by_cli = Run.get(lab_ws, cli.stdout.strip().splitlines()[-1])

    auth = InteractiveLoginAuthentication()
    lab_ws_for_auth = Workspace.from_config(path=lab_ws.root, auth=auth)
    with serving(lab_ws_for_auth) as served:
        monkeypatch.setenv("HYPERPIPE_PORTAL_URL", served.url)
        request = urllib.request.Request(
            PublishedPipeline.get(lab_ws, published_id).endpoint,
            data=json.dumps(
                {"ExperimentName": "re-train-published", "ParameterAssignments": {"seed": 1}}
            ).encode(),
            headers={**auth.get_authentication_header(), "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            by_rest = Run.get(lab_ws, json.loads(response.read())["Id"])
    assert by_rest.wait_for_completion(show_output=False) == "Finished"

    reused = {
        how: {s.name: s._is_reused for s in run.get_steps()}
        for how, run in (("python", by_python), ("cli", by_cli), ("rest", by_rest))
    }
    assert {
        how: Run.get(lab_ws, r.id).get_status()
        for how, r in (("python", by_python), ("cli", by_cli), ("rest", by_rest))
    } == {"python": "Finished", "cli": "Finished", "rest": "Finished"}
    assert reused["python"]["fullmodel"] is False
    assert reused["cli"] == {"hypertrain": True, "fullmodel": False}  # another seed: re-trained
    assert reused["rest"] == {"hypertrain": True, "fullmodel": True}  # unchanged: all reused
    assert by_rest.properties["azureml.pipelineid"] == published_id
    full = {
        how: r.find_step_run("fullmodel")[0].get_metrics()["accuracy"]
        for how, r in (("python", by_python), ("cli", by_cli))
    }
    assert all(0.5 < a <= 1 for a in full.values())
