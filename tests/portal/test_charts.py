"""Chart points for long series, and best-so-far curves."""

from __future__ import annotations

import math

from hyperpipe.portal._charts import best_so_far, chartable, from_buckets
from hyperpipe.store import MetricBucket


def test_each_stretch_gives_its_ends_and_its_extremes_midway() -> None:
    buckets = [
        MetricBucket(count=10, steps=10, first=(0, 1.0), last=(9, 0.5), low=0.2, high=7.0),
        MetricBucket(count=10, steps=10, first=(10, 0.4), last=(19, 0.3), low=0.1, high=0.4),
    ]
    xs, ys, stepped = from_buckets(buckets)
    assert stepped
    assert xs == [0, 4.5, 4.5, 9, 10, 14.5, 14.5, 19]
    assert ys == [1.0, 0.2, 7.0, 0.5, 0.4, 0.1, 0.4, 0.3]  # the spike of 7.0 stays


def test_without_steps_x_is_the_points_position() -> None:
    buckets = [
        MetricBucket(count=3, steps=0, first=(None, 1.0), last=(None, 3.0), low=1.0, high=3.0),
        MetricBucket(count=1, steps=0, first=(None, 4.0), last=(None, 4.0), low=4.0, high=4.0),
        MetricBucket(count=2, steps=1, first=(7, 5.0), last=(None, 6.0), low=5.0, high=6.0),
    ]
    xs, ys, stepped = from_buckets(buckets)
    assert not stepped
    assert xs == [0, 1, 1, 2, 3, 4, 5]
    assert ys == [1.0, 1.0, 3.0, 3.0, 4.0, 5.0, 6.0]


def test_values_a_chart_cannot_draw_become_gaps() -> None:
    buckets = [
        MetricBucket(count=3, steps=3, first=(0, math.nan), last=(2, "text"), low=None, high=None)
    ]
    xs, ys, _ = from_buckets(buckets)
    assert xs == [0, 2]
    assert ys == [None, None]
    assert [chartable(v) for v in (1, 2.5, math.inf, True, None)] == [1.0, 2.5, None, None, None]


def test_best_so_far_follows_the_goal_and_skips_missing_values() -> None:
    values = [0.5, None, 0.7, 0.6, math.nan, 0.9]
    assert best_so_far(values, maximize=True) == [0.5, 0.5, 0.7, 0.7, 0.7, 0.9]
    assert best_so_far(values, maximize=False) == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert best_so_far([None, 2.0], maximize=False) == [None, 2.0]
