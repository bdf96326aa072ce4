"""Chart data: long metric series reduced to what a chart can show, and best-so-far curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperpipe.store import MetricBucket

__all__ = ["align", "best_so_far", "chartable", "from_buckets"]


def from_buckets(buckets: Sequence[MetricBucket]) -> tuple[list[float], list[float | None], bool]:
    """Chart points for a long series cut into stretches (``Store.metric_buckets``): each
    stretch's first point, its lowest and highest value midway, and its last point.

    A chart a few thousand pixels wide cannot show more; keeping each stretch's extremes (rather
    than every n-th point) keeps spikes, such as a diverging loss, visible. The x values are the
    logged steps when every point has one, else the points' positions. Returns x, y and whether
    x are steps.
    """
    stepped = all(b.steps == b.count for b in buckets)
    xs: list[float] = []
    ys: list[float | None] = []
    position = 0
    for bucket in buckets:
        first_x = bucket.first[0] if stepped else position
        last_x = bucket.last[0] if stepped else position + bucket.count - 1
        xs.append(first_x)  # type: ignore[arg-type]
        ys.append(chartable(bucket.first[1]))
        if bucket.count > 2 and bucket.low is not None and bucket.high is not None:
            middle = (first_x + last_x) / 2  # type: ignore[operator]
            xs += [middle, middle]
            ys += [chartable(bucket.low), chartable(bucket.high)]
        if bucket.count > 1:
            xs.append(last_x)  # type: ignore[arg-type]
            ys.append(chartable(bucket.last[1]))
        position += bucket.count
    return xs, ys, stepped


def chartable(value: Any) -> float | None:
    """A number a chart can draw; NaN, infinities and non-numbers become gaps (JSON has no NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def align(
    lines: dict[str, list[tuple[float | None, float | None]]], max_points: int
) -> tuple[list[float], dict[str, list[float | None]], bool]:
    """Several series of ``(step, y)`` on one shared x axis, as a multi-line chart needs it.

    x is the step when every point has one, else the point's position. Where a series has no
    point at an x, its y is None (a gap). Beyond ``max_points`` x values, evenly spaced ones are
    kept, the last one always.
    """
    stepped = all(step is not None for points in lines.values() for step, _ in points)
    by_x = {
        key: {(step if stepped else i): y for i, (step, y) in enumerate(points)}
        for key, points in lines.items()
    }
    xs = sorted({x for values in by_x.values() for x in values})  # type: ignore[type-var]
    if len(xs) > max_points:
        stride = len(xs) / max_points
        xs = sorted({xs[int(i * stride)] for i in range(max_points)} | {xs[-1]})
    return xs, {key: [values.get(x) for x in xs] for key, values in by_x.items()}, stepped  # type: ignore[misc]


def best_so_far(values: Sequence[float | None], maximize: bool) -> list[float | None]:
    """The best value seen up to each position (None until the first value)."""
    best: float | None = None
    out: list[float | None] = []
    for value in values:
        if _finite(value) and (
            best is None or (value > best if maximize else value < best)  # type: ignore[operator]
        ):
            best = value
        out.append(best)
    return out


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
