"""The drift demo's retrain step (examples/newsgroups/code/drift/retrain.py): its recent_weight
parameter, which makes the labelled posts of the drifted dataset's last days weigh more than
the training posts, set by the monitor's alert when it starts the retrain."""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from tests.datadrift.conftest import DAY0, register_table, stream, table

from hyperpipe.core import Dataset, Model, Run
from hyperpipe.datadrift import AlertConfiguration, DataDriftDetector
from hyperpipe.pipeline.core import PipelineEndpoint

pytest.importorskip("torch")

CODE = Path(__file__).resolve().parents[2] / "examples/newsgroups/code"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def _retrain_module():
    return _load("drift_retrain", CODE / "drift" / "retrain.py")


def _demo():
    """The drift demo, whose retrain pipeline the test publishes as it does."""
    return _load("run_drift_demo", CODE.parent / "run_drift_demo.py")


def test_the_last_days_posts_weigh_recent_weight_and_the_others_one() -> None:
    recent_weights = _retrain_module().recent_weights
    # three days of four posts, an hour apart; the newest is day 2 at 03:00
    when = pd.Series([DAY0 + timedelta(days=d, hours=h) for d in range(3) for h in range(4)])
    assert recent_weights(when, 1, 4.0).tolist() == [1.0] * 8 + [4.0] * 4
    assert recent_weights(when, 2, 3.0).tolist() == [1.0] * 4 + [3.0] * 8
    assert recent_weights(when, 1, 1.0).tolist() == [1.0] * 12
    assert recent_weights(when[:0], 1, 4.0).tolist() == []
    with pytest.raises(ValueError, match=r"--recent-weight \(0.0\) and --recent-days \(1\) must"):
        recent_weights(when, 1, 0.0)


@pytest.mark.slow
def test_the_alert_sets_recent_weight_and_the_retrain_weighs_the_flagged_days_posts(ws) -> None:
    store = ws.get_default_datastore()
    corpus = store._local_path("corpus")
    for i, row in table(40, seed=5).iterrows():
        label = "old-a" if i % 2 else "old-b"
        (corpus / label).mkdir(parents=True, exist_ok=True)
        (corpus / label / str(i)).write_text(row["text"])
    train = Dataset.File.from_files((store, "corpus")).register(ws, "corpus")
    baseline = register_table(ws, table(400, seed=3), "baseline")
    # three days of 60 labelled posts; day 2 drifts, and its posts are a new topic
    posts = stream(3, 60, drift_from=2)
    posts["label"] = ["new" if t >= DAY0 + timedelta(days=2) else "old-a" for t in posts.timestamp]
    target = register_table(ws, posts, "stream", timestamp="timestamp")
    pipeline = _demo().retrain_pipeline(ws, train, target, epochs="1", hidden="4")
    endpoint = PipelineEndpoint.publish(ws, "retrain", "retrain", pipeline)
    detector = DataDriftDetector.create_from_datasets(
        ws,
        "weighted",
        baseline,
        target,
        feature_list=["text"],
        alert_config=AlertConfiguration(
            pipeline_endpoint=endpoint, pipeline_parameters={"recent_weight": 3.0}
        ),
    )
    checks = [detector.run(DAY0 + timedelta(days=day)) for day in range(3)]
    started = [check.get_tags().get("retrain_run_id") for check in checks]
    assert started[:2] == [None, None] and started[2] is not None

    retrain = Run.get(ws, started[2])
    assert retrain.wait_for_completion(show_output=False) == "Finished"
    (step_run,) = retrain.get_steps()
    metrics = step_run.get_metrics()
    assert (metrics["new_posts"], metrics["recent_posts"], metrics["recent_weight"]) == (
        180,
        60,
        3.0,
    )
    assert metrics["training_posts"] == 40 + 180
    model = Model(ws, "newsgroups-classifier")
    assert model.run_id == step_run.id and model.tags["classes"] == "3"
