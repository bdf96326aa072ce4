"""Drawing pipeline graphs: inputs left of readers, columns that do not overlap."""

from __future__ import annotations

import itertools

from hyperpipe.portal._layout import NODE_H, NODE_W, layout


def test_each_node_sits_right_of_everything_it_reads() -> None:
    edges = [("prep", "train"), ("train", "eval"), ("prep", "eval"), ("data", "prep")]
    placed, width, height = layout(["data", "prep", "train", "eval"], edges)
    for source, target in edges:
        assert placed[source].x + NODE_W <= placed[target].x
    assert width >= placed["eval"].x + NODE_W
    assert height >= NODE_H


def test_an_input_sits_just_left_of_its_first_reader() -> None:
    edges = [("a", "b"), ("b", "c"), ("late_data", "c")]
    placed, _, _ = layout(["late_data", "a", "b", "c"], edges)
    assert placed["late_data"].x == placed["b"].x


def test_nodes_in_one_column_do_not_overlap() -> None:
    nodes = [f"s{i}" for i in range(5)] + ["join"]
    placed, _, height = layout(nodes, [(f"s{i}", "join") for i in range(5)])
    ys = sorted(placed[f"s{i}"].y for i in range(5))
    assert all(b - a >= NODE_H for a, b in itertools.pairwise(ys))
    assert ys[-1] + NODE_H <= height


def test_edges_run_from_the_right_side_of_the_source_to_the_left_of_the_target() -> None:
    placed, _, _ = layout(["a", "b"], [("a", "b")])
    start, end = placed["a"].edges["b"]
    assert start == (placed["a"].x + NODE_W, placed["a"].y + NODE_H / 2)
    assert end == (placed["b"].x, placed["b"].y + NODE_H / 2)


def test_a_graph_without_edges_is_one_column() -> None:
    placed, _, _ = layout(["x", "y"], [])
    assert placed["x"].x == placed["y"].x
