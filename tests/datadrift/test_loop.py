"""The loop closed with small settings: a monitor whose alert submits a retrain pipeline endpoint
on the drifted data, with a cool-down, and a scheduled check fired by the scheduler daemon."""

from __future__ import annotations

import tempfile
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from tests.datadrift.conftest import DAY0, register_table, stream

from hyperpipe.core import Model, Run
from hyperpipe.data import DatasetConsumptionConfig
from hyperpipe.datadrift import AlertConfiguration, DataDriftDetector
from hyperpipe.pipeline._daemon import SchedulerDaemon
from hyperpipe.pipeline.core import Pipeline, PipelineEndpoint, PipelineParameter, Schedule
from hyperpipe.pipeline.steps import PythonScriptStep

RETRAIN = """
import json
from pathlib import Path
from hyperpipe.core import Run

run = Run.get_context()
rows = run.input_datasets["drifted"].to_pandas_dataframe()
Path("outputs").mkdir(exist_ok=True)
Path("outputs/model.json").write_text(json.dumps({"rows": len(rows)}))
model = run.register_model("drift-model", "outputs/model.json", tags={"rows": len(rows)})
print("FACTS", json.dumps({"rows": len(rows), "model_version": model.version}))
"""


@pytest.fixture
def endpoint(ws, tmp_path, datasets) -> PipelineEndpoint:
    source = tmp_path / "retrain"
    source.mkdir()
    (source / "retrain.py").write_text(textwrap.dedent(RETRAIN))
    drifted = PipelineParameter("drifted_dataset", default_value=datasets[0])
    data = DatasetConsumptionConfig("drifted", drifted)
    step = PythonScriptStep(
        "retrain.py", name="retrain", source_directory=source, inputs=[data], arguments=[data]
    )
    return PipelineEndpoint.publish(ws, "retrain", "retrain on drifted data", Pipeline(ws, [step]))


@pytest.mark.slow
def test_drift_starts_exactly_one_retrain_that_registers_a_model_and_the_cool_down_holds(
    ws, datasets, endpoint
) -> None:
    baseline, _ = datasets
    # 8 days of 60 rows, drifting from day 3 on
    target = register_table(ws, stream(8, 60, drift_from=3), "stream", timestamp="timestamp")
    detector = DataDriftDetector.create_from_datasets(
        ws,
        "loop",
        baseline,
        target,
        alert_config=AlertConfiguration(
            ["ops@example.com"], pipeline_endpoint=endpoint, cool_down=timedelta(days=7)
        ),
    )
    checks = [detector.run(DAY0 + timedelta(days=day)) for day in range(8)]
    drifted = [check.get_metrics()["has_drift"] for check in checks]
    assert drifted == [0, 0, 0, 1, 1, 1, 1, 1]
    started = [check.get_tags().get("retrain_run_id") for check in checks]
    assert started[:3] == [None] * 3  # no retrain while the stream has no drift
    assert started[3] is not None and started[4:] == [None] * 4  # one, then the cool-down
    explained = detector.get_explanations(run_id=checks[4].id)[0]["action"]
    assert "cool-down" in explained["skipped"]

    retrain = Run.get(ws, started[3])
    assert retrain.wait_for_completion(show_output=False) == "Finished"
    model = Model(ws, "drift-model")
    assert model.version == 1 and model.tags["rows"] == str(8 * 60)
    (step,) = retrain.get_steps()
    assert model.run_id == step.id  # registered by the retrain the monitor started


def test_enable_schedule_puts_checks_on_the_scheduler(ws, datasets, tmp_path, monkeypatch) -> None:
    baseline, target = datasets
    detector = DataDriftDetector.create_from_datasets(ws, "sched", baseline, target)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    detector.enable_schedule()
    assert list(temporary.iterdir()) == [], "the check step's source folder is removed once stored"
    assert DataDriftDetector.get_by_name(ws, "sched").enabled
    (schedule,) = Schedule.list(ws)
    assert (schedule.name, schedule.recurrence.frequency) == ("datadrift-sched", "Day")
    detector.disable_schedule()
    assert Schedule.list(ws) == []
    assert not DataDriftDetector.get_by_name(ws, "sched").enabled


@pytest.mark.slow
def test_a_scheduled_fire_checks_the_latest_complete_day_through_the_daemon(ws, datasets) -> None:
    baseline, _ = datasets
    today = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    target = register_table(
        ws, stream(1, 80, drift_from=0, first_day=yesterday), "recent", timestamp="timestamp"
    )
    detector = DataDriftDetector.create_from_datasets(ws, "fired", baseline, target)
    detector.enable_schedule()
    (schedule,) = Schedule.list(ws)
    moment = datetime.now(UTC).timestamp()  # no start time: the first fire is immediate
    clock = type("Clock", (), {"now": moment, "__call__": lambda self: self.now})()
    (fire,) = SchedulerDaemon(ws, clock=clock, poll_interval=0.01).run_once()
    assert fire.outcome == "Submitted"
    pipeline_run = schedule.get_last_pipeline_run()
    assert pipeline_run.wait_for_completion(show_output=False) == "Finished"
    results, _ = detector.get_output(yesterday, today)
    (result,) = results[0]["result"]
    assert (result["start_date"], result["has_drift"]) == (yesterday.isoformat(), True)
    assert result["window_size"] == 80
