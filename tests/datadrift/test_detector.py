"""SDK v1's DataDriftDetector surface: creating, finding, validating, running checks and the
``(results, metrics)`` shapes of ``get_output``."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tests.datadrift.conftest import DAY0, register_table, table

from hyperpipe.core import Dataset, Experiment, Run
from hyperpipe.datadrift import AlertConfiguration, DataDriftDetector
from hyperpipe.exceptions import DataDriftNameError, DatasetTypeError, UserErrorException


def _create(ws, datasets, name="monitor", **kwargs):
    baseline, target = datasets
    return DataDriftDetector.create_from_datasets(ws, name, baseline, target, **kwargs)


def test_a_monitor_is_created_found_by_name_listed_and_deleted(ws, datasets) -> None:
    detector = _create(ws, datasets, frequency="Day", feature_list=["age", "colour", "text"])
    assert (detector.name, detector.frequency, detector.state) == ("monitor", "Day", "Disabled")
    assert detector.drift_threshold == 0.2  # SDK v1's default
    again = DataDriftDetector.get_by_name(ws, "monitor")
    assert again.feature_list == ["age", "colour", "text"]
    assert [d.name for d in DataDriftDetector.list(ws)] == ["monitor"]
    assert [d.name for d in DataDriftDetector.list(ws, baseline_dataset=datasets[0])] == ["monitor"]
    assert DataDriftDetector.list(ws, baseline_dataset=datasets[1]) == []
    again.update(drift_threshold=0.4)
    assert DataDriftDetector.get_by_name(ws, "monitor").drift_threshold == 0.4
    again.delete()
    assert DataDriftDetector.list(ws) == []
    with pytest.raises(DataDriftNameError, match=r"no data drift monitor named 'monitor'"):
        DataDriftDetector.get_by_name(ws, "monitor")


def test_a_taken_name_raises_key_error_naming_get_by_name(ws, datasets) -> None:
    _create(ws, datasets)
    with pytest.raises(KeyError, match=r"already exists: get it with DataDriftDetector.get_by"):
        _create(ws, datasets)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "-starts-with-dash"}, UserErrorException, r"name '-starts-with-dash' is invalid"),
        ({"name": "x" * 37}, UserErrorException, r"use 1-36 letters"),
        (
            {"frequency": "Hour"},
            UserErrorException,
            r"frequency 'Hour' is not supported: use 'Day'",
        ),
        ({"drift_threshold": 1.5}, UserErrorException, r"drift_threshold 1.5 is out of range"),
        ({"drift_threshold": "high"}, UserErrorException, r"must be a number in \[0, 1\]"),
        ({"latency": 1001}, UserErrorException, r"latency must be a whole number of hours"),
        ({"feature_list": "age"}, UserErrorException, r"feature_list must be a list"),
        ({"feature_list": ["a,b"]}, UserErrorException, r"entry 'a,b' is invalid"),
        ({"feature_list": [f"c{i}" for i in range(201)]}, UserErrorException, r"limit is 200"),
    ],
)
def test_sdk_v1_validation_errors_are_one_line_with_the_fix(
    ws, datasets, kwargs, error, message
) -> None:
    name = kwargs.pop("name", "monitor")
    with pytest.raises(error, match=message) as raised:
        _create(ws, datasets, name=name, **kwargs)
    assert "\n" not in str(raised.value)


def test_datasets_of_the_wrong_kind_or_without_a_timestamp_raise_type_error(ws, datasets) -> None:
    baseline, target = datasets
    files = Dataset.File.from_files((ws.get_default_datastore(), "tables")).register(ws, "files")
    no_time = register_table(ws, table(60, seed=3), "no-time")
    with pytest.raises(TypeError, match=r"baseline_dataset must be a TabularDataset, got File"):
        DataDriftDetector.create_from_datasets(ws, "m", files, target)
    with pytest.raises(
        DatasetTypeError,
        match=r"target_dataset has no timestamp column: .*"
        r"with_timestamp_columns",
    ):
        DataDriftDetector.create_from_datasets(ws, "m", baseline, no_time)
    with pytest.raises(UserErrorException, match=r"AlertConfiguration: 'not-an-address' is not"):
        AlertConfiguration(["not-an-address"])


def test_a_check_records_a_run_and_get_output_has_sdk_v1_shapes(ws, datasets) -> None:
    detector = _create(ws, datasets, alert_config=AlertConfiguration(["ops@example.com"]))
    quiet = detector.run(DAY0)
    drifted = detector.run(DAY0 + timedelta(days=3))
    assert isinstance(quiet, Run) and quiet.get_status() == "Completed"
    assert quiet.experiment.name == "datadrift-monitor"
    assert drifted.get_metrics()["has_drift"] == 1

    results, metrics = detector.get_output(DAY0, DAY0 + timedelta(days=4))
    assert [r["drift_type"] for r in results] == ["DatasetBased"]
    (result_quiet, result_drift) = results[0]["result"]
    assert set(result_quiet) >= {
        "has_drift",
        "drift_threshold",
        "start_date",
        "end_date",
        "base_dataset_id",
        "target_dataset_id",
    }
    assert (result_quiet["has_drift"], result_drift["has_drift"]) == (False, True)
    assert result_quiet["start_date"] == DAY0.isoformat()
    assert result_quiet["base_dataset_id"] == datasets[0].id
    assert result_drift["window_size"] == 120 and result_drift["p_value"] <= 0.05
    (series,) = metrics
    assert series["drift_type"] == "DatasetBased"
    entry = series["metrics"][1]
    assert entry["schema_version"] == "0.1"
    (coefficient,) = [m for m in entry["dataset_metrics"] if m["name"] == "datadrift_coefficient"]
    assert 0 < coefficient["value"] <= 1
    features = {name: values for item in entry["column_metrics"] for name, values in item.items()}
    assert {"age", "colour"} <= set(features)
    age = {m["name"] for m in features["age"]}
    assert {"datadrift_contribution", "wasserstein_distance", "energy_distance"} <= age
    # the explanation names the terms that separate the new rows
    (explained,) = detector.get_explanations(run_id=drifted.id)
    terms = next(f for f in explained["families"] if f["family"] == "terms:text")
    assert {row["term"] for row in terms["explanation"]} & {"hockey", "puck", "goalie"}
    assert explained["action"] == {"emails": ["ops@example.com"], "retrain": None}
    assert detector.get_output(run_id=drifted.id)[0][0]["result"] == [result_drift]


def test_the_newest_check_per_window_is_kept_and_no_output_raises_file_not_found(
    ws, datasets
) -> None:
    detector = _create(ws, datasets)
    with pytest.raises(FileNotFoundError, match=r"no drift check output of monitor 'monitor'"):
        detector.get_output(DAY0, DAY0 + timedelta(days=4))
    detector.run(DAY0)
    second = detector.run(DAY0, drift_threshold=0.9)
    results, _ = detector.get_output(DAY0, DAY0 + timedelta(days=1))
    (only,) = results[0]["result"]
    assert only["drift_threshold"] == 0.9 and only["decided_by"] == "drift_threshold"
    with pytest.raises(ValueError, match=r"run_id or start_time/end_time, not both"):
        detector.get_output(DAY0, run_id=second.id)


def test_backfill_checks_each_period_and_limits_the_span_to_30(ws, datasets) -> None:
    detector = _create(ws, datasets)
    with pytest.raises(UserErrorException, match=r"spans 31 Day periods; the limit is 30"):
        detector.backfill(DAY0, DAY0 + timedelta(days=30))
    with pytest.raises(UserErrorException, match=r"end_date .* is earlier than start_date"):
        detector.backfill(DAY0, DAY0 - timedelta(days=1))
    parent = detector.backfill(DAY0, DAY0 + timedelta(days=4))  # the fifth day has no rows
    assert parent.get_status() == "Completed"
    assert len(list(parent.get_children())) == 4
    assert parent.get_metrics()["skipped_periods"] == 1
    assert "2024-03-08: the target window" in parent.get_tags()["skipped"]
    results, _ = detector.get_output(DAY0, DAY0 + timedelta(days=5))
    assert [r["has_drift"] for r in results[0]["result"]] == [False, False, True, True]


def test_a_window_under_50_rows_is_refused_with_the_fix(ws, datasets) -> None:
    detector = _create(ws, datasets)
    with pytest.raises(UserErrorException, match=r"has 0 rows; a drift check needs at least 50"):
        detector.run(datetime(2030, 1, 1))


def test_show_draws_the_checks(ws, datasets) -> None:
    detector = _create(ws, datasets)
    detector.backfill(DAY0, DAY0 + timedelta(days=3))
    figure = detector.show(DAY0, DAY0 + timedelta(days=4))
    assert len(figure.axes) == 2
    assert len(figure.axes[0].lines[0].get_xdata()) == 4


def test_checks_are_runs_of_the_monitor_experiment(ws, datasets) -> None:
    detector = _create(ws, datasets)
    run = detector.run(DAY0)
    assert [r.id for r in Experiment(ws, detector.experiment_name).get_runs()] == [run.id]
