"""The lab end to end, small: the SDK v1 pipeline script, unchanged, through the azureml alias."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyperpipe.core import Model, Run, Workspace
from hyperpipe.core.compute import AmlCompute, ComputeTarget
from hyperpipe.examples.newsgroups.prepare import prepare

ROOT = Path(__file__).resolve().parents[3]
ARCHIVE = ROOT.parent / "shared/data/20news-bydate.tar.gz"
SDKV1 = ROOT / "examples/newsgroups/code/pipelines/pipeline_retrain_sdkv1.py"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"no archive at {ARCHIVE}"),
]


@pytest.fixture(scope="module")
def lab_ws(tmp_path_factory) -> Workspace:
    ws = Workspace.create("lab", path=tmp_path_factory.mktemp("lab"))
    for name, nodes in (("hypercomputegpu", 2), ("fullcomputegpu", 1)):
        ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=nodes))
    prepare(ws, ARCHIVE)
    return ws


def test_the_sdk_v1_pipeline_runs_unchanged_through_the_alias(lab_ws):
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
