"""Fixtures for drift monitors: a workspace with a registered baseline table and a timestamped
target table (numeric, categorical and text columns) whose later days drift."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from hyperpipe.core import Dataset, Workspace
from hyperpipe.testing.faults import stop_unfinished_runs

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DAY0 = datetime(2024, 3, 4)  # a Monday
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "sigma",
    "omega",
]
NEW_WORDS = ["hockey", "puck", "goalie", "stanley", "playoff"]


def table(rows: int, seed: int, drifted: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = WORDS + (NEW_WORDS if drifted else [])
    texts = [
        " ".join(rng.choice(words, size=12)) + " this is a message body of some length"
        for _ in range(rows)
    ]
    return pd.DataFrame(
        {
            "age": rng.normal(50 if drifted else 40, 8, rows).round(1),
            "colour": rng.choice(
                ["red", "green", "blue"], rows, p=[0.6, 0.3, 0.1] if drifted else [0.2, 0.3, 0.5]
            ),
            "text": texts,
        }
    )


def stream(
    days: int, rows_per_day: int, drift_from: int, first_day: datetime = DAY0
) -> pd.DataFrame:
    frames = []
    for day in range(days):
        # fixed draws: a 5 % test may alarm on some no-drift draw; these seeds do not
        frame = table(rows_per_day, seed=1000 + day, drifted=day >= drift_from)
        frame.insert(
            0,
            "timestamp",
            [first_day + timedelta(days=day, minutes=i) for i in range(rows_per_day)],
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    workspace = Workspace.create("drift", path=tmp_path / "ws")
    yield workspace
    stop_unfinished_runs(workspace)


def register_table(ws: Workspace, frame: pd.DataFrame, name: str, timestamp: str | None = None):
    store = ws.get_default_datastore()
    folder = store._local_path(f"tables/{name}")
    folder.mkdir(parents=True, exist_ok=True)
    version = len(list(folder.iterdir()))
    frame.to_csv(folder / f"v{version}.csv", index=False)
    dataset = Dataset.Tabular.from_delimited_files((store, f"tables/{name}/v{version}.csv"))
    if timestamp:
        dataset = dataset.with_timestamp_columns(timestamp)
    return dataset.register(ws, name, create_new_version=True)


@pytest.fixture
def datasets(ws: Workspace):
    """(baseline, target): 400 baseline rows; 4 days of 120 rows, drifting from day 2."""
    baseline = register_table(ws, table(400, seed=3), "baseline")
    target = register_table(ws, stream(4, 120, drift_from=2), "target", timestamp="timestamp")
    return baseline, target
