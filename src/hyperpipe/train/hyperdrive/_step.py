"""The process of a ``HyperDriveStep``: ``python -m hyperpipe.train.hyperdrive._step ARGS...``.

It starts the sweep as a child run of its step run, with its own (already resolved) arguments
as every trial's base arguments and its dataset inputs as every trial's named inputs, drives it
to the end in this process, then fills its training outputs: SDK v1's metrics JSON for the
``metrics_output`` (and any ``TrainingOutput("Metrics")`` output), the best trial's model file or
folder for a ``TrainingOutput("Model")`` output. The step succeeds when the sweep completes and
its outputs are filled.

Its log (the step's driver log) is lines a person reads: timestamp, level, message; a line per
trial at the end, not the metrics JSON, which goes to the metrics output.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from hyperpipe._ids import uuid4_str
from hyperpipe.core import _lifecycle
from hyperpipe.core._run import Run
from hyperpipe.data._data_reference import DATA_REFERENCE_ENV_PREFIX as DATA_REFERENCE_PREFIX
from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import RunStatus
from hyperpipe.train.hyperdrive._config import HYPERDRIVE_RUN_TYPE
from hyperpipe.train.hyperdrive._driver import Driver

log = logging.getLogger("hyperpipe.hyperdrive.step")
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
LOG_DATE = "%Y-%m-%d %H:%M:%S"


def metrics_json(store: Any, sweep_run_id: str) -> dict[str, dict[str, list[Any]]]:
    """SDK v1's metrics_output: trial run id → metric name → every logged value, in order.

    Only scalar and list metrics are written (tables and images would break readers that
    convert the columns to numbers); metric names keep their first-logged order.
    """
    trials = store.list_runs(parent_id=sweep_run_id, newest_first=False)
    by_key = store.get_metrics([t.key for t in trials])
    result: dict[str, dict[str, list[Any]]] = {}
    for trial in trials:
        series = [s for s in by_key.get(trial.key, []) if s.kind in ("scalar", "list")]
        if series:
            result[trial.id] = {s.name: [p.data for p in s.points] for s in series}
    return result


def fill_training_outputs(
    workspace: Any, definition: dict[str, Any], sweep_run_id: str, metrics: dict[str, Any]
) -> None:
    """Write each training output where the step's process was told to write it."""
    for output in definition.get("outputs", []):
        training = output.get("training_output")
        if training is None and output["name"] == definition.get("metrics_output"):
            training = {"type": "Metrics"}  # a run recorded before training outputs existed
        if training is None:
            continue
        # mount outputs are named by their variable; upload outputs by their path on compute
        path = Path(
            os.environ.get(DATA_REFERENCE_PREFIX + output["name"]) or output["path_on_compute"]
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        if training["type"] == "Metrics":
            path.write_text(json.dumps(metrics), encoding="utf-8")
        else:
            _copy_best_model(workspace, sweep_run_id, training.get("model_file"), path)


def _copy_best_model(workspace: Any, sweep_run_id: str, model_file: str | None, path: Path) -> None:
    """The best trial's ``model_file`` (a file, or a folder of its files), else its outputs/."""
    sweep = Run.get(workspace, sweep_run_id)
    best = sweep.get_best_run_by_primary_metric()  # type: ignore[attr-defined]
    if best is None:
        raise UserErrorException(
            f"no trial of HyperDrive run {sweep_run_id} logged the primary metric "
            f"{sweep.primary_metric_name!r}, so there is no best model to hand on"  # type: ignore[attr-defined]
        )
    names = best.get_file_names()
    wanted = (model_file or "outputs").strip("/")
    if model_file and wanted in names:
        best.download_file(wanted, path)
        log.info("best trial %s: model file %s", best.id, wanted)
        return
    inside = [n for n in names if n.startswith(wanted + "/")]
    if not inside:
        what = f"file or folder {wanted!r}" if model_file else "outputs/ folder"
        raise UserErrorException(
            f"the best trial {best.id} has no {what} among its files "
            f"({', '.join(names) or 'none'}); save the model under outputs/ in the training "
            "script, or set TrainingOutput(model_file=) to one of those files"
        )
    if path.is_file():
        path.unlink()
    shutil.rmtree(path, ignore_errors=True)
    for name in inside:
        best.download_file(name, path / name[len(wanted) + 1 :])
    log.info("best trial %s: %d model files under %s/", best.id, len(inside), wanted)


def log_trials(store: Any, sweep: dict[str, Any], sweep_run_id: str, metrics: dict) -> None:
    """A line per trial (status, best primary metric, hyperparameters), then the best one."""
    name = sweep["primary_metric_name"]
    maximize = sweep["primary_metric_goal"] == "MAXIMIZE"
    pick = max if maximize else min
    best: tuple[float, int, str] | None = None
    trials = store.list_runs(parent_id=sweep_run_id, newest_first=False)
    for number, trial in enumerate(trials, start=1):
        values = [
            v
            for v in metrics.get(trial.id, {}).get(name, [])
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        value = pick(values) if values else None
        shown = f"{name} {value:.4g}" if value is not None else f"no {name}"
        log.log(
            logging.INFO if trial.status.value in ("Completed", "Finished") else logging.WARNING,
            "trial %d %s: %s, %s, %s",
            number,
            trial.id,
            trial.status.value,
            shown,
            trial.properties.get("hyperparameters", "{}"),
        )
        if value is not None and (
            best is None or (value > best[0] if maximize else value < best[0])
        ):
            best = (value, number, trial.id)
    if best is not None:
        log.info("best: trial %d %s, %s %.4g", best[1], best[2], name, best[0])


def main(arguments: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt=LOG_DATE, stream=sys.stdout)
    step = Run.get_context(allow_offline=False)
    workspace = step._workspace
    store = workspace._store
    definition = step._record.definition
    sweep = dict(definition["hyperdrive"])
    sweep["arguments"] = arguments
    sweep["inputs"] = [
        {
            "name": item["port"],
            "dataset_id": item["dataset_id"],
            "dataset_name": item.get("dataset_name"),
            "dataset_version": item.get("dataset_version"),
            "mode": item["mode"],
            "path_on_compute": item.get("path_on_compute"),
        }
        for item in definition.get("inputs", [])
        if item["kind"] == "dataset"
    ]
    record = store.create_run(
        experiment_name=step.experiment.name,
        run_id=f"HD_{uuid4_str()}",
        run_type=HYPERDRIVE_RUN_TYPE,
        parent_id=step.id,
        target=sweep["target"],
        definition={
            "hyperdrive": sweep,
            "datastore": definition["datastore"],
            "environment": definition.get("environment"),
        },
        properties={"runTemplate": "HyperDrive", "StepType": "HyperDriveStep"},
        **_lifecycle.process_identity(),  # this step process drives it
    )
    log.info(
        "HyperDrive run %s: %s trials of %s, %s %s",
        record.id,
        sweep["max_total_runs"],
        sweep["script"],
        sweep["primary_metric_goal"].lower(),
        sweep["primary_metric_name"],
    )
    driver = Driver(workspace, record.id, base_arguments=arguments)
    signal.signal(signal.SIGTERM, lambda *_: driver.stop.set())
    status = driver.execute()
    metrics = metrics_json(store, record.id)
    log_trials(store, sweep, record.id, metrics)
    if status == RunStatus.COMPLETED:
        try:
            fill_training_outputs(workspace, definition, record.id, metrics)
        except UserErrorException as exc:
            log.error("HyperDrive step outputs: %s", exc)
            return 1
        names = sorted({m for trial in metrics.values() for m in trial})
        log.info(
            "HyperDrive run %s Completed: metrics of %d trials (%s) written to the step's outputs",
            record.id,
            len(metrics),
            ", ".join(names) or "none",
        )
        return 0
    error = (store.get_run(record.id).error or {}).get("error", {})
    log.error("HyperDrive run %s %s: %s", record.id, status.value, error.get("message", ""))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
