"""The pipeline graph in Chromium at 1280 and 1920 px: it spreads over the width of its box,
and no edge label overlaps another label or a node (label boxes measured in the page)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from tests.portal.conftest import SHOTS, serving

from hyperpipe.core import Dataset, Datastore, Experiment, Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.pipeline.core import Pipeline, PipelineData
from hyperpipe.pipeline.steps import PythonScriptStep
from hyperpipe.testing.faults import stop_unfinished_runs

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page


STEP = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--out", action="append", default=[])
parser.add_argument("--in", action="append", default=[])
for folder in parser.parse_known_args()[0].out:
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, "part.txt"), "w").write("x")
"""


@pytest.fixture(scope="module")
def fan_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str]]:
    """Four steps whose edges converge: a target fed by two steps and a dataset, an edge that
    skips a column, labels longer than the default gap between columns."""
    root = tmp_path_factory.mktemp("graph")
    ws = Workspace.create("graph", path=root / "ws")
    ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2))
    datastore = Datastore.get(ws, "workspaceblobstore")
    (datastore._local_path("texts")).mkdir(parents=True)
    (datastore._local_path("texts") / "1.txt").write_text("hello")
    texts = Dataset.File.from_files((datastore, "texts")).register(ws, "newsgroups_corpus")
    (root / "src").mkdir()
    (root / "src" / "step.py").write_text(textwrap.dedent(STEP))
    cleaned = PipelineData("cleaned_documents")
    features = PipelineData("tfidf_features_matrix")
    vocabulary = PipelineData("vocabulary_and_counts")
    scores = PipelineData("validation_scores")

    def step(name: str, outputs: list, inputs: list) -> PythonScriptStep:
        arguments: list = []
        for o in outputs:
            arguments += ["--out", o]
        for i in inputs:
            arguments += ["--in", i]
        return PythonScriptStep(
            "step.py",
            name=name,
            source_directory=root / "src",
            arguments=arguments,
            inputs=[i for i in inputs if isinstance(i, PipelineData)],
            outputs=outputs,
            compute_target="cpu",
        )

    steps = [
        step("clean", [cleaned], [texts.as_named_input("raw_posts")]),
        step("featurize", [features, vocabulary], [cleaned]),
        step("validate", [scores], [features]),
        step(
            "report",
            [],
            [features, vocabulary, scores, cleaned, texts.as_named_input("posts_again")],
        ),
    ]
    try:
        run = Experiment(ws, "graph").submit(Pipeline(ws, steps))
        assert run.wait_for_completion(show_output=False) == "Finished"
    finally:
        stop_unfinished_runs(ws)
    yield ws, run.id


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


BOXES = """root => ({
  labels: Array.from(root.querySelectorAll('text.edge-label')).map(l => {
    const r = l.getBoundingClientRect(); return {text: l.textContent, x: r.x, y: r.y, width: r.width, height: r.height};
  }),
  nodes: Array.from(root.querySelectorAll('g.node rect')).map(n => {
    const r = n.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height};
  }),
  names: Array.from(root.querySelectorAll('g.node')).map(g => {
    const t = g.querySelector('.node-label').getBoundingClientRect();
    const r = g.querySelector('rect').getBoundingClientRect();
    return t.x >= r.x && t.x + t.width <= r.x + r.width;
  }),
  svg: root.getBoundingClientRect().width,
  wrap: root.parentElement.clientWidth,
})"""


@pytest.mark.parametrize("width", [1280, 1920])
def test_the_graph_fills_its_box_and_no_edge_label_overlaps(
    fan_in: tuple[Workspace, str], page: Page, width: int
) -> None:
    ws, run_id = fan_in
    with serving(ws) as served:
        page.set_viewport_size({"width": width, "height": 1000})
        page.goto(f"{served.url}/runs/{quote(run_id)}")
        graph = page.locator("#pipeline-graph")
        page.wait_for_function("() => document.querySelector('#pipeline-graph').dataset.fitted")
        boxes = graph.evaluate(BOXES)
        labels, nodes = boxes["labels"], boxes["nodes"]
        assert len(labels) >= 8 and len(nodes) == 5
        clashes = [
            (a["text"], b["text"])
            for i, a in enumerate(labels)
            for b in labels[i + 1 :]
            if _overlap(a, b)
        ]
        on_nodes = [a["text"] for a in labels for n in nodes if _overlap(a, n)]
        assert clashes == [] and on_nodes == []
        assert all(boxes["names"])  # every step's name inside its box
        # The width of the box, less its padding: used, not left blank on the right.
        assert boxes["wrap"] - 16 - 1 <= boxes["svg"] <= boxes["wrap"], boxes
        assert page.evaluate(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        page.locator("#graph-region").screenshot(path=str(SHOTS / f"pipeline-graph-{width}.png"))
