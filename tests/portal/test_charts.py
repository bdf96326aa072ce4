"""Reducing long series for charts without losing what a chart must show."""

from __future__ import annotations

import math
import random

from hyperpipe.portal._charts import best_so_far, downsample


def test_a_short_series_is_returned_whole() -> None:
    xs, ys = [0.0, 1.0, 2.0], [3.0, None, 1.0]
    assert downsample(xs, ys, 10) == (xs, ys)
    assert downsample(xs, ys, 0) == (xs, ys)  # 0 asks for everything


def test_a_long_series_keeps_at_most_the_budget_and_every_spike() -> None:
    rng = random.Random(7)
    ys: list[float | None] = [rng.random() for _ in range(100_000)]
    ys[31_337] = 50.0
    ys[77_777] = -50.0
    xs = [float(i) for i in range(len(ys))]
    small_x, small_y = downsample(xs, ys, 2000)
    assert len(small_x) <= 2000
    assert max(v for v in small_y if v is not None) == 50.0
    assert min(v for v in small_y if v is not None) == -50.0
    assert small_x[0] == 0.0 and small_x[-1] == 99_999.0  # the ends stay
    assert small_x == sorted(small_x)  # still in order, and each x keeps its own y
    assert all(small_y[i] == ys[int(x)] for i, x in enumerate(small_x))


def test_gaps_do_not_count_as_extremes() -> None:
    ys = [None if i % 3 else float(i) for i in range(1000)]
    small_x, small_y = downsample([float(i) for i in range(1000)], ys, 40)
    assert 999.0 in small_y or 998.0 in small_y or 996.0 in small_y
    assert len(small_x) <= 40


def test_best_so_far_follows_the_goal_and_skips_missing_values() -> None:
    values = [0.5, None, 0.7, 0.6, math.nan, 0.9]
    assert best_so_far(values, maximize=True) == [0.5, 0.5, 0.7, 0.7, 0.7, 0.9]
    assert best_so_far(values, maximize=False) == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert best_so_far([None, 2.0], maximize=False) == [None, 2.0]
