"""The best HyperDrive trial from a HyperDriveStep's metrics JSON (SDK v1 shape).

The file maps each trial's run id to the metrics it logged, every value a list (one element per
``run.log`` call): ``{"HD_x_0": {"accuracy": [0.83], "learning_rate": [0.07], ...}, ...}``.
Trials that logged nothing (``{}``), non-numeric junk and trials without the hyperparameters are
skipped. The best trial has the highest ``accuracy`` it ever logged; ties go to the trial listed
first (pandas ``idxmax``, as the lab's script did). No usable trial is an error, never a silent
fall-back to default hyperparameters.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METRIC = "accuracy"
HYPERPARAMETERS: dict[str, type] = {
    "learning_rate": float,
    "num_epochs": int,
    "batch_size": int,
    "hidden_size": int,
}
NO_ACCURACY = "the HyperDrive step logged no accuracy"


@dataclass(frozen=True)
class BestTrial:
    run_id: str
    accuracy: float
    hyperparameters: dict[str, float | int]
    trials: int  # trials in the file
    usable: int  # trials with a numeric accuracy and every hyperparameter


def _numbers(value: Any) -> list[float]:
    """The finite numbers in a logged value (a list, or a bare value); junk is dropped."""
    values = value if isinstance(value, list) else [value]
    found = []
    for item in values:
        if isinstance(item, bool):
            continue
        if isinstance(item, str):
            item = item.strip().strip("[]")
        try:
            number = float(item)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            found.append(number)
    return found


def _hyperparameter(name: str, value: Any) -> float | int | None:
    numbers = _numbers(value)
    if not numbers:
        return None
    last = numbers[-1]  # the value the trial ran with (logged once; last if more)
    if HYPERPARAMETERS[name] is int:
        return int(last) if last == int(last) and last > 0 else None
    return last if last > 0 else None


def read_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metrics JSON at ``path`` (a file, or a folder holding exactly one file)."""
    where = Path(path)
    if where.is_dir():
        files = [p for p in where.iterdir() if p.is_file()]
        if len(files) != 1:
            raise SystemExit(
                f"{where}: expected the metrics JSON file, found a folder with "
                f"{len(files)} files; {NO_ACCURACY}?"
            )
        where = files[0]
    if not where.is_file():
        raise SystemExit(f"{where}: metrics JSON not found; {NO_ACCURACY}")
    try:
        data = json.loads(where.read_text(encoding="utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SystemExit(
            f"{where}: metrics JSON is not valid JSON ({exc}); {NO_ACCURACY}"
        ) from None
    if not isinstance(data, dict):
        raise SystemExit(f"{where}: metrics JSON is not an object of trials; {NO_ACCURACY}")
    return data


def select(metrics: dict[str, Any], source: str = "metrics JSON") -> BestTrial:
    """The trial with the highest accuracy among those that logged every hyperparameter."""
    if not metrics:
        raise SystemExit(f"{source}: metrics JSON is empty ({{}}); {NO_ACCURACY}")
    best: tuple[float, str, dict[str, float | int]] | None = None
    with_accuracy = usable = 0
    for run_id, logged in metrics.items():
        if not isinstance(logged, dict):
            continue
        scores = _numbers(logged.get(METRIC))
        if not scores:
            continue
        with_accuracy += 1
        params = {name: _hyperparameter(name, logged.get(name)) for name in HYPERPARAMETERS}
        if any(value is None for value in params.values()):
            continue
        usable += 1
        score = max(scores)
        if best is None or score > best[0]:
            best = (score, str(run_id), params)  # type: ignore[assignment]
    if best is None:
        if with_accuracy:
            raise SystemExit(
                f"{source}: {with_accuracy} trial(s) logged accuracy but none logged all of "
                f"{', '.join(HYPERPARAMETERS)}; cannot choose hyperparameters"
            )
        raise SystemExit(
            f"{source}: no trial of {len(metrics)} has a numeric '{METRIC}'; {NO_ACCURACY}"
        )
    score, run_id, params = best
    return BestTrial(run_id, score, params, trials=len(metrics), usable=usable)


def best_trial(path: str | os.PathLike[str]) -> BestTrial:
    """Read the metrics JSON at ``path`` and select its best trial (SystemExit when none)."""
    return select(read_metrics(path), source=os.fspath(path))
