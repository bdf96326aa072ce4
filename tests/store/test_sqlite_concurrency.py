"""Acceptance: eight processes log metrics into one SQLite file at once, and nothing is lost.

Each process creates its own run and logs 10,000 values through ``SqlStore.log_metrics`` in
batches of 500, all starting at the same moment. Every value must be stored, in order, and no
process may see an error: "database is locked" in particular must never surface.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from hyperpipe.store import RunStatus
from hyperpipe.store._sql import SqlStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

N_PROCESSES = 8
N_VALUES = 10_000
BATCH = 500

_WRITER = """
import json, traceback
from hyperpipe.store import NewPoint
from hyperpipe.store._sql import SqlStore

url, n_values, batch = ARGS[0], int(ARGS[1]), int(ARGS[2])
store = SqlStore(url)
run_id, errors = f"writer-{INDEX}", []
wait_for_go()
try:
    run = store.create_run(
        experiment_name="load", run_id=run_id, run_type="azureml.scriptrun", status="Running"
    )
    for start in range(0, n_values, batch):
        points = [
            NewPoint("loss", "scalar", INDEX * 1e6 + i / 8, None, 1e9 + i, i)
            for i in range(start, min(start + batch, n_values))
        ]
        try:
            store.log_metrics(run.key, points, writer="w", last_seq=start + len(points))
        except Exception:
            errors.append(traceback.format_exc())
    store.set_status(run_id, "Completed")
except Exception:
    errors.append(traceback.format_exc())
print(json.dumps({"run_id": run_id, "errors": errors}))
"""


@pytest.mark.timeout(180)
def test_eight_processes_log_metrics_into_one_sqlite_file(
    tmp_path: Path, run_together: Callable[..., list]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    SqlStore(url).close()  # the schema exists before the race; test_schema races its creation

    started = time.monotonic()
    results = run_together(_WRITER, [[url, str(N_VALUES), str(BATCH)]] * N_PROCESSES)
    elapsed = time.monotonic() - started

    problems = []
    for i, result in enumerate(results):
        if result.returncode != 0 or "database is locked" in result.stderr:
            problems.append(f"process {i} exited {result.returncode}: {result.stderr[-2000:]}")
            continue
        report = json.loads(result.stdout.strip().splitlines()[-1])
        problems += [f"process {i}: {error}" for error in report["errors"]]
    assert problems == [], "\n".join(problems)

    store = SqlStore(url)
    try:
        runs = store.list_runs(experiment_name="load", newest_first=False)
        assert sorted(r.number for r in runs) == list(range(1, N_PROCESSES + 1))
        assert all(r.status is RunStatus.COMPLETED for r in runs)
        metrics = store.get_metrics([r.key for r in runs])
        for run in runs:
            index = int(run.id.removeprefix("writer-"))
            (series,) = metrics[run.key]
            assert series.name == "loss"
            assert len(series.points) == N_VALUES, run.id
            assert [p.value for p in series.points] == [
                index * 1e6 + i / 8 for i in range(N_VALUES)
            ], run.id
            assert [p.step for p in series.points] == list(range(N_VALUES)), run.id
            assert store.writer_checkpoint(run.key, "w") == N_VALUES
    finally:
        store.close()
    print(f"{N_PROCESSES} x {N_VALUES} values in {elapsed:.1f} s")
