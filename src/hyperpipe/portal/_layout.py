"""A layered drawing of a pipeline graph: sources on the left, each step right of its inputs.

Pipeline graphs are small (tens of nodes), so a longest-path layering with one barycentre pass
to order each column reads well and needs no layout library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Placed", "layout"]

NODE_W, NODE_H = 190, 54
GAP_X, GAP_Y = 80, 28
MARGIN = 16


@dataclass
class Placed:
    """Where one node sits, and the start and end points of the edges that leave it."""

    x: float
    y: float
    w: float = NODE_W
    h: float = NODE_H
    column: int = 0
    edges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def layout(
    nodes: list[str], edges: list[tuple[str, str]]
) -> tuple[dict[str, Placed], float, float]:
    """Positions for ``nodes`` (in the given order where the graph leaves a choice), each edge's
    points, and the drawing's width and height."""
    parents: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        parents[target].append(source)
    rank: dict[str, int] = {}

    def rank_of(node: str, path: tuple[str, ...] = ()) -> int:
        if node not in rank:
            if node in path:  # a cycle cannot be submitted; draw it rather than fail
                return 0
            rank[node] = 1 + max((rank_of(p, (*path, node)) for p in parents[node]), default=-1)
        return rank[node]

    children: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        children[source].append(target)
    for node in nodes:  # an input sits just left of its first reader, not always in column 0
        if not parents[node] and children[node]:
            rank[node] = max(0, min(rank_of(c) for c in children[node]) - 1)
    columns: dict[int, list[str]] = {}
    for node in nodes:
        columns.setdefault(rank_of(node), []).append(node)
    row: dict[str, float] = {}
    for r in sorted(columns):
        column = columns[r]
        order = {n: i for i, n in enumerate(column)}

        def barycentre(n: str, order: dict[str, int] = order) -> tuple[float, int]:
            placed = [row[p] for p in parents[n] if p in row]
            return (sum(placed) / len(placed) if placed else order[n], order[n])

        for i, node in enumerate(sorted(column, key=barycentre)):
            row[node] = i
    tallest = max((len(c) for c in columns.values()), default=0)
    height = 2 * MARGIN + tallest * NODE_H + max(0, tallest - 1) * GAP_Y
    width = 2 * MARGIN + len(columns) * NODE_W + max(0, len(columns) - 1) * GAP_X
    placed: dict[str, Placed] = {}
    for r, column in columns.items():
        offset = (tallest - len(column)) * (NODE_H + GAP_Y) / 2  # centre short columns
        for node in column:
            placed[node] = Placed(
                x=MARGIN + r * (NODE_W + GAP_X),
                y=MARGIN + offset + row[node] * (NODE_H + GAP_Y),
                column=r,
            )
    for source, target in edges:
        a, b = placed[source], placed[target]
        start = (a.x + a.w, a.y + a.h / 2)
        end = (b.x, b.y + b.h / 2)
        a.edges[target] = [start, end]
    return placed, width, height
