"""A drift monitor's retrain claim is atomic: processes racing to claim the same windows (two
checks finishing together) get exactly one claim per window, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from hyperpipe.store._sql import SqlStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

DAY0 = datetime(2024, 4, 1)
ROUNDS = 15


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("new_postgres_database")("hp_drift_claim")


_CLAIMER = """
import json
from datetime import datetime, timedelta
from hyperpipe.store._sql import SqlStore

store = SqlStore(ARGS[0])
day0 = datetime.fromisoformat(ARGS[1])
won = []
wait_for_go()
for day in range(int(ARGS[2])):
    start = day0 + timedelta(days=day)
    claim = store.claim_datadrift_retrain(
        "monitor",
        window_start=start,
        window_end=start + timedelta(days=1),
        cool_down=timedelta(0),
        check_run_id=f"check-{INDEX}-{day}",
    )
    if claim is not None:
        won.append(day)
store.close()
print(json.dumps(won))
"""


def test_racing_processes_claim_each_window_exactly_once(
    url: str, run_together: Callable[..., list]
) -> None:
    store = SqlStore(url)
    store.save_datadrift("monitor", {"state": "Enabled"})
    store.close()
    results = run_together(_CLAIMER, [[url, DAY0.isoformat(), str(ROUNDS)]] * 3)
    assert all(r.returncode == 0 for r in results), [r.stderr[-2000:] for r in results]
    won = [json.loads(r.stdout) for r in results]
    # Each window claimed by exactly one process: no window twice, none lost.
    assert sorted(day for days in won for day in days) == list(range(ROUNDS))
    store = SqlStore(url)
    try:
        claims = store.list_datadrift_retrains("monitor")
    finally:
        store.close()
    assert [c.window_start for c in claims] == [
        (DAY0 + timedelta(days=d)).isoformat() for d in range(ROUNDS)
    ]


def test_a_claim_within_the_cool_down_is_refused_and_a_given_up_claim_frees_it(
    url: str,
) -> None:
    store = SqlStore(url)
    try:
        week = timedelta(days=7)
        first = store.claim_datadrift_retrain(
            "m",
            window_start=DAY0,
            window_end=DAY0 + timedelta(days=1),
            cool_down=week,
            check_run_id="c1",
        )
        assert first is not None and first.retrain_run_id is None
        later = DAY0 + timedelta(days=3)
        assert (
            store.claim_datadrift_retrain(
                "m",
                window_start=later,
                window_end=later + timedelta(days=1),
                cool_down=week,
                check_run_id="c2",
            )
            is None
        )
        # Another monitor has its own cool-down.
        assert store.claim_datadrift_retrain(
            "other", window_start=later, window_end=later, cool_down=week, check_run_id="c3"
        )
        # The submit failed: the claim is given up, and the next check may retrain.
        assert store.finish_datadrift_retrain(first.key, retrain_run_id=None) is None
        again = store.claim_datadrift_retrain(
            "m",
            window_start=later,
            window_end=later + timedelta(days=1),
            cool_down=week,
            check_run_id="c2",
        )
        assert again is not None
        done = store.finish_datadrift_retrain(again.key, retrain_run_id="retrain-1")
        assert done is not None and done.retrain_run_id == "retrain-1"
        assert [c.check_run_id for c in store.list_datadrift_retrains("m")] == ["c2"]
        eight_days = DAY0 + timedelta(days=11)
        assert store.claim_datadrift_retrain(
            "m", window_start=eight_days, window_end=eight_days, cool_down=week, check_run_id="c4"
        )
    finally:
        store.close()
