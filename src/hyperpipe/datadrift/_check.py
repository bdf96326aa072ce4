"""One drift check: read the baseline and the target's window, run every test family that fits
the columns, decide, record the check as a run, and start the retrain when it drifts.

The families are Bonferroni-combined, so a monitor with text, a model and table columns still
keeps false alarms at or below its ``alpha``. Fitted tests (baseline vocabulary, null draws,
baseline class probabilities) are kept per process, keyed by the baseline version, so a backfill
or a long-lived scheduler pays for them once.
"""

from __future__ import annotations

import importlib.util
import io
import json
import tempfile
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperpipe.datadrift._class_test import ClassProbabilityTest
from hyperpipe.datadrift._column_test import ColumnTest, column_kinds
from hyperpipe.datadrift._result import TestOutcome, bonferroni
from hyperpipe.datadrift._term_test import TermShiftTest
from hyperpipe.datadrift._validation import DEFAULT_DRIFT_THRESHOLD, MIN_ROWS
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    import pandas as pd

    from hyperpipe.core import Run, Workspace

__all__ = ["OUTPUT_FILE", "SCHEMA_VERSION", "check", "experiment_name"]

OUTPUT_FILE = "outputs/datadrift.json"
SCHEMA_VERSION = "0.1"
DRIFT_TYPE = "DatasetBased"


def experiment_name(monitor: str) -> str:
    """The experiment a monitor's checks are recorded in."""
    return f"datadrift-{monitor}"


@lru_cache(maxsize=8)
def _baseline_frame(workspace: Workspace, dataset_id: str) -> pd.DataFrame:
    from hyperpipe.core import Dataset

    return Dataset.get_by_id(workspace, dataset_id).to_pandas_dataframe()


@lru_cache(maxsize=8)
def _term_test(workspace: Workspace, dataset_id: str, column: str) -> TermShiftTest:
    texts = _baseline_frame(workspace, dataset_id)[column].fillna("").astype(str).tolist()
    return TermShiftTest(texts)


@lru_cache(maxsize=4)
def _scorer(workspace: Workspace, model: str, version: int, script: str) -> Any:
    """``score(texts) -> (classes, probabilities)`` from the monitor's scoring script."""
    from hyperpipe.core import Model

    path = Model(workspace, model, version=version).download(
        target_dir=tempfile.mkdtemp(prefix="hyperpipe-drift-model-"), exist_ok=True
    )
    spec = importlib.util.spec_from_file_location("hyperpipe_drift_scoring", script)
    if spec is None or spec.loader is None:
        raise UserErrorException(
            f"scoring_script {script!r} cannot be loaded: pass the path of a .py file that "
            "defines score(model_path, texts) -> (classes, probabilities)"
        )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "score"):
        raise UserErrorException(
            f"scoring_script {script!r} defines no score(model_path, texts): add it, returning "
            "(class names, documents x classes probabilities)"
        )
    return lambda texts: module.score(path, texts)


@lru_cache(maxsize=4)
def _class_test(
    workspace: Workspace, dataset_id: str, column: str, model: str, version: int, script: str
) -> ClassProbabilityTest:
    texts = _baseline_frame(workspace, dataset_id)[column].fillna("").astype(str).tolist()
    classes, probabilities = _scorer(workspace, model, version, script)(texts)
    return ClassProbabilityTest(np.asarray(probabilities), list(classes))


def _window(definition: dict[str, Any], workspace: Workspace, start: datetime, end: datetime):
    import pandas as pd

    from hyperpipe.core import Dataset

    target = Dataset.get_by_name(workspace, definition["target_dataset_name"])
    frame = target.to_pandas_dataframe()
    column = definition["timestamp_column"]
    if column not in frame.columns:
        raise UserErrorException(
            f"target dataset {target.name!r} version {target.version} has no timestamp column "
            f"{column!r}: register versions with the same columns"
        )
    moments = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    return target, frame[(moments >= start) & (moments < end)]


def _outcomes(
    definition: dict[str, Any],
    workspace: Workspace,
    window: pd.DataFrame,
    feature_list: list[str] | None,
) -> list[TestOutcome]:
    baseline_id = definition["baseline_dataset_id"]
    baseline = _baseline_frame(workspace, baseline_id)
    kinds = column_kinds(baseline, exclude={definition["timestamp_column"]})
    wanted = feature_list or definition.get("feature_list")
    if wanted:
        missing = sorted(set(wanted) - set(kinds))
        if missing:
            raise UserErrorException(
                f"feature_list names columns the baseline lacks: {', '.join(missing)}; its "
                f"columns: {', '.join(sorted(map(str, kinds)))}"
            )
        kinds = type(kinds)({k: v for k, v in kinds.items() if k in wanted})
    outcomes: list[TestOutcome] = []
    model = definition.get("model")
    for column in kinds.of("text"):
        texts = window[column].fillna("").astype(str).tolist()
        outcome = _term_test(workspace, baseline_id, column).test(texts)
        outcome.family = f"terms:{column}"
        outcomes.append(outcome)
        if model:
            test = _class_test(
                workspace,
                baseline_id,
                column,
                model["name"],
                model["version"],
                definition["scoring_script"],
            )
            _classes, probabilities = _scorer(
                workspace, model["name"], model["version"], definition["scoring_script"]
            )(texts)
            outcome = test.test(np.asarray(probabilities))
            outcome.family = f"classes:{column}"
            outcomes.append(outcome)
    if kinds.of("numeric") or kinds.of("categorical"):
        outcomes.append(ColumnTest(baseline, kinds).test(window))
    if not outcomes:
        raise UserErrorException(
            "no column of the baseline can be monitored (numeric, categorical or text): check "
            "feature_list and the baseline's columns"
        )
    return outcomes


def _column_metrics(outcomes: list[TestOutcome]) -> list[dict[str, list[dict[str, Any]]]]:
    """SDK v1's per-feature metrics: one entry per contributing feature."""
    found: dict[str, list[dict[str, Any]]] = {}
    for outcome in outcomes:
        for feature, share in outcome.contributions.items():
            found.setdefault(str(feature), []).append(
                {"name": "datadrift_contribution", "value": float(share), "family": outcome.family}
            )
        for row in outcome.explanation:
            name = row.get("column")
            if name is None:
                continue
            for key in ("wasserstein_distance", "energy_distance", "euclidean_distance"):
                if key in row:
                    found.setdefault(str(name), []).append({"name": key, "value": row[key]})
    return [{feature: values} for feature, values in found.items()]


def check(
    detector: Any,
    start: datetime,
    end: datetime,
    *,
    parent: Run | None = None,
    feature_list: list[str] | None = None,
    drift_threshold: float | None = None,
) -> Run:
    """Check the target's window [start, end) against the baseline; the recorded run."""
    from hyperpipe.core import Experiment

    workspace = detector.workspace
    definition = detector._definition
    target, window = _window(definition, workspace, start, end)
    if len(window) < MIN_ROWS:
        raise UserErrorException(
            f"the target window {start:%Y-%m-%d} to {end:%Y-%m-%d} has {len(window)} rows; a "
            f"drift check needs at least {MIN_ROWS}: check a period with more data or use a "
            "longer frequency"
        )
    outcomes = _outcomes(definition, workspace, window, feature_list)
    alpha = float(definition.get("alpha", 0.05))
    threshold = drift_threshold if drift_threshold is not None else definition["drift_threshold"]
    p_value = bonferroni([o.p_value for o in outcomes])
    coefficient = max(o.coefficient for o in outcomes)
    if threshold is None:
        has_drift, decided_by = p_value <= alpha, "p_value"
    else:
        has_drift, decided_by = coefficient > threshold, "drift_threshold"
    shown_threshold = DEFAULT_DRIFT_THRESHOLD if threshold is None else threshold
    common = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "base_dataset_id": definition["baseline_dataset_id"],
        "target_dataset_id": target.id,
    }
    result = {
        "has_drift": bool(has_drift),
        "drift_threshold": shown_threshold,
        **common,
        "p_value": p_value,
        "alpha": alpha,
        "window_size": len(window),
        "decided_by": decided_by,
        "target_dataset_version": target.version,
    }
    metrics = {
        "schema_version": SCHEMA_VERSION,
        **common,
        "dataset_metrics": [
            {"name": "datadrift_coefficient", "value": float(coefficient)},
            {"name": "p_value", "value": p_value},
            {"name": "window_size", "value": len(window)},
        ],
        "column_metrics": _column_metrics(outcomes),
    }

    if parent is not None:
        run = parent.child_run(name=f"{start:%Y-%m-%d}")
    else:
        run = Experiment(workspace, experiment_name(detector.name)).start_logging(
            display_name=f"{detector.name} {start:%Y-%m-%d}"
        )
    try:
        run.set_tags({"datadrift": detector.name, "has_drift": str(bool(has_drift))})
        run.add_properties(
            {
                "datadrift_start": start.isoformat(),
                "datadrift_end": end.isoformat(),
                "datadrift_target": f"{target.name}:{target.version}",
            }
        )
        run.log("datadrift_coefficient", float(coefficient))
        run.log("p_value", p_value)
        run.log("window_size", len(window))
        run.log("has_drift", int(has_drift))
        for outcome in outcomes:
            run.log(f"p_value_{outcome.family.replace(':', '_')}", outcome.p_value)
        document = {
            "result": result,
            "metrics": metrics,
            "families": [o.as_dict() for o in outcomes],
        }
        if has_drift:
            document["action"] = _act(detector, run, start, end, target)
        run.upload_file(OUTPUT_FILE, io.BytesIO(json.dumps(document, default=str).encode()))
    except BaseException:
        run.fail()
        raise
    run.complete()
    return run


def _act(detector: Any, run: Run, start: datetime, end: datetime, target: Any) -> dict[str, Any]:
    """Record the alert; submit the retrain unless one started within the cool-down."""
    config = detector.alert_config
    if config is None:
        return {"emails": [], "retrain": None}
    action: dict[str, Any] = {"emails": config.email_addresses, "retrain": None}
    if not config.pipeline_endpoint:
        return action
    claim = detector.workspace._store.claim_datadrift_retrain(
        detector.name,
        window_start=start,
        window_end=end,
        cool_down=config.cool_down,
        check_run_id=run.id,
    )
    if claim is None:
        last = _last_retrain(detector)
        action["skipped"] = (
            "cool-down: another check claimed the retrain"
            if last is None
            else f"cool-down: a retrain started for the window ending {last:%Y-%m-%d %H:%M}; the "
            f"next may start for windows from {last + config.cool_down:%Y-%m-%d %H:%M}"
        )
        return action
    try:
        retrain = config._submit(detector.workspace, target)
    except BaseException:
        detector.workspace._store.finish_datadrift_retrain(claim.key, retrain_run_id=None)
        raise
    detector.workspace._store.finish_datadrift_retrain(claim.key, retrain_run_id=retrain.id)
    run.set_tags({"retrain_run_id": retrain.id, "retrain_window_end": end.isoformat()})
    action["retrain"] = retrain.id
    return action


def _last_retrain(detector: Any) -> datetime | None:
    """The window end of the monitor's latest claimed retrain."""
    claims = detector.workspace._store.list_datadrift_retrains(detector.name)
    return max((datetime.fromisoformat(claim.window_end) for claim in claims), default=None)
