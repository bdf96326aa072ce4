"""The SDK v1 sample pipelines in ``examples/sdkv1`` run unchanged under the ``azureml`` alias:
``HYPERPIPE_AZUREML_ALIAS=1 python examples/sdkv1/<script>.py`` in a folder holding a workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.compat.conftest import run_script

from hyperpipe.core import Model, Run, Workspace
from hyperpipe.pipeline.core import PipelineRun

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sdkv1"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a workspace, as after ``hyperpipe init .``."""
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    hyperpipe = Path(sys.executable).parent / "hyperpipe"
    subprocess.run(
        [str(hyperpipe), "init", ".", "--name", "samples"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return tmp_path


def _pipeline_runs(ws: Workspace, experiment: str) -> list[PipelineRun]:
    records = ws._store.list_runs(
        experiment_name=experiment, run_type="azureml.PipelineRun", newest_first=False
    )
    return [Run.get(ws, r.id) for r in records]  # type: ignore[misc]


def test_the_data_dependency_sample_runs_three_chained_steps(project):
    ran = run_script(EXAMPLES / "data_dependency_pipeline.py", cwd=project)
    assert ran.returncode == 0, ran.stderr[-3000:]
    ws = Workspace.from_config(path=project)
    [run] = _pipeline_runs(ws, "Data_dependency_sample")
    assert run.get_status() == "Finished"
    assert sorted(s.name for s in run.get_steps()) == ["compare.py", "extract.py", "train.py"]
    assert run.find_step_run("compare.py")[0].get_metrics() == {"raw_rows": 20, "kept_rows": 17}
    train_output = run.find_step_run("train.py")[0].get_output_data("processed_data1")
    downloaded = project / "outputs" / train_output.path_on_datastore / "train.csv"
    assert len(downloaded.read_text().splitlines()) == 18  # header + the rows with an age
    assert "path on datastore: azureml/" in ran.stdout


def test_the_datapath_sample_reads_the_folder_chosen_at_submit(project):
    ran = run_script(EXAMPLES / "datapath_parameter_pipeline.py", cwd=project)
    assert ran.returncode == 0, ran.stderr[-3000:]
    ws = Workspace.from_config(path=project)
    default, overridden = _pipeline_runs(ws, "showcasing-datapath")
    assert [r.get_status() for r in (default, overridden)] == ["Finished", "Finished"]
    assert default.find_step_run("train_step")[0].get_metrics() == {"lines": 3}
    assert overridden.find_step_run("train_step")[0].get_metrics() == {"lines": 5}
    summaries = [
        json.loads(line.split(" ", 1)[1].replace("'", '"'))
        for line in ran.stdout.splitlines()
        if line.startswith((default.id, overridden.id))
    ]
    assert [s["string"] for s in summaries] == ["sample_string1", "sample_string2"]


def test_the_hyperdrive_sample_registers_the_best_trials_model(project):
    ran = run_script(EXAMPLES / "hyperdrive_register_pipeline.py", cwd=project)
    assert ran.returncode == 0, ran.stderr[-3000:]
    ws = Workspace.from_config(path=project)
    [run] = _pipeline_runs(ws, "Hyperdrive_sample")
    assert run.get_status() == "Finished"
    step_run = run.find_step_run("hd_step01")[0]
    sweep = next(c for c in step_run.get_children() if c.type == "hyperdrive")
    best = sweep.get_best_run_by_primary_metric()
    losses = [m["validation_loss"] for m in sweep.get_metrics().values()]
    assert best.get_metrics()["validation_loss"] == min(losses) and len(losses) == 4
    registered = Path(Model(ws, "sdkv1-logreg").download(project / "check")) / "model.json"
    trial_model = project / "trial.json"
    best.download_file("outputs/model/model.json", trial_model)
    assert json.loads(registered.read_text()) == json.loads(trial_model.read_text())
    assert "Portal: http://127.0.0.1:8765/runs/" in ran.stdout  # RunDetails(...).show()
