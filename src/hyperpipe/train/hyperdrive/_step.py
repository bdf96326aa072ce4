"""The process of a ``HyperDriveStep``: ``python -m hyperpipe.train.hyperdrive._step ARGS...``.

It starts the sweep as a child run of its step run, with its own (already resolved) arguments
as every trial's base arguments and its dataset inputs as every trial's named inputs, drives it
to the end in this process, then writes SDK v1's metrics JSON to the ``metrics_output`` path.
The step succeeds when the sweep completes.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

from hyperpipe.core import _lifecycle
from hyperpipe.core._run import Run
from hyperpipe.data._data_reference import DATA_REFERENCE_ENV_PREFIX as DATA_REFERENCE_PREFIX
from hyperpipe.store import RunStatus
from hyperpipe.train.hyperdrive._config import HYPERDRIVE_RUN_TYPE
from hyperpipe.train.hyperdrive._driver import Driver


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


def main(arguments: list[str]) -> int:
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
            "mode": item["mode"],
            "path_on_compute": item.get("path_on_compute"),
        }
        for item in definition.get("inputs", [])
        if item["kind"] == "dataset"
    ]
    record = store.create_run(
        experiment_name=step.experiment.name,
        run_id=f"HD_{uuid.uuid4()}",
        run_type=HYPERDRIVE_RUN_TYPE,
        parent_id=step.id,
        target=sweep["target"],
        definition={"hyperdrive": sweep, "datastore": definition["datastore"]},
        properties={"runTemplate": "HyperDrive", "StepType": "HyperDriveStep"},
        **_lifecycle.process_identity(),  # this step process drives it
    )
    print(
        f"HyperDrive run {record.id}: {sweep['max_total_runs']} trials of {sweep['script']}",
        flush=True,
    )
    driver = Driver(workspace, record.id, base_arguments=arguments)
    signal.signal(signal.SIGTERM, lambda *_: driver.stop.set())
    status = driver.execute()
    metrics = metrics_json(store, record.id)
    output = definition.get("metrics_output")
    if output:
        path = Path(os.environ[DATA_REFERENCE_PREFIX + output])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(metrics), encoding="utf-8")
    print("Metrics for HyperDrive run:", json.dumps(metrics), flush=True)
    if status != RunStatus.COMPLETED:
        error = (store.get_run(record.id).error or {}).get("error", {})
        print(
            f"HyperDrive run {record.id} {status.value}: {error.get('message', '')}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
