"""Chart data: long metric series reduced to what a chart can show, and best-so-far curves."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["best_so_far", "downsample"]


def downsample(
    xs: Sequence[float], ys: Sequence[float | None], max_points: int
) -> tuple[list[float], list[float | None]]:
    """At most ``max_points`` points that draw the same line: per bucket, first, min, max, last.

    A chart a few thousand pixels wide cannot show more; keeping each bucket's extremes (rather
    than every n-th point) keeps spikes, such as a diverging loss, visible.
    """
    n = len(xs)
    if max_points <= 0 or n <= max_points:
        return list(xs), list(ys)
    buckets = max(1, max_points // 4)
    size = n / buckets
    out_x: list[float] = []
    out_y: list[float | None] = []
    for b in range(buckets):
        start, end = int(b * size), min(n, int((b + 1) * size))
        if start >= end:
            continue
        chunk = ys[start:end]
        picks = {start, end - 1}
        values = [v for v in chunk if v is not None and v == v]  # v == v: not NaN
        if values:
            picks.add(start + chunk.index(min(values)))
            picks.add(start + chunk.index(max(values)))
        for i in sorted(picks):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y


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
    return value is not None and not math.isnan(value) and not math.isinf(value)
