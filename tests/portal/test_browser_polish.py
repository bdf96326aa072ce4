"""Every page in Chromium at 1280 and 1920 px: results in plain view on a pipeline's page, integer
hyperparameters written as integers, no page wider than the window, a screenshot of each page.

Screenshots go to tests/output/portal/<page>-<width>.png (kept by CI as artifacts)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from tests.portal.conftest import SHOTS, serving, watched_tab

from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.pipeline.core import Pipeline, PipelineData
from hyperpipe.pipeline.steps import HyperDriveStep, PythonScriptStep
from hyperpipe.testing.faults import stop_unfinished_runs
from hyperpipe.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    choice,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page
    from tests.portal.conftest import Lab

WIDTHS = (1280, 1920)

TRIAL = """
import argparse
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
parser.add_argument("--layers", type=int)
args = parser.parse_args()
Run.get_context().log("accuracy", 0.5 + args.lr * args.layers)
"""

REGISTER = """
import argparse, os
from hyperpipe.core import Model, Run
parser = argparse.ArgumentParser()
parser.add_argument("--metrics")
args = parser.parse_args()
run = Run.get_context()
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write("weights")
run.upload_file("outputs/model.txt", "outputs/model.txt")
run.register_model("classifier", "outputs/model.txt", tags={"accuracy": "0.87"})
"""


@pytest.fixture(scope="module")
def sweep_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str]]:
    """A pipeline whose first step sweeps (integer and float hyperparameters) and whose second
    registers a model: what a pipeline's page should show as its results."""
    root = tmp_path_factory.mktemp("polish")
    ws = Workspace.create("polish", path=root / "ws")
    ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2))
    for name, code in (("trial", TRIAL), ("register", REGISTER)):
        (root / name).mkdir()
        (root / name / f"{name}.py").write_text(textwrap.dedent(code))
    metrics = PipelineData("metrics_data")
    sweep = HyperDriveStep(
        name="hypertrain",
        hyperdrive_config=HyperDriveConfig(
            run_config=ScriptRunConfig(root / "trial", "trial.py", compute_target="cpu"),
            hyperparameter_sampling=GridParameterSampling(
                {"--lr": choice(0.01, 0.1), "--layers": choice(2, 4)}
            ),
            primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=4,
            max_concurrent_runs=2,
        ),
        estimator_entry_script_arguments=[],
        metrics_output=metrics,
    )
    register = PythonScriptStep(
        "register.py",
        name="register",
        source_directory=root / "register",
        arguments=["--metrics", metrics],
        inputs=[metrics],
        compute_target="cpu",
    )
    try:
        run = Experiment(ws, "retrain").submit(Pipeline(ws, [sweep, register]))
        assert run.wait_for_completion(show_output=False) == "Finished"
    finally:
        stop_unfinished_runs(ws)
    yield ws, run.id


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_tab(browser, WIDTHS[0], 900) as tab:
        yield tab


def _overflow(page: Page) -> int:
    """How many pixels the page is wider than its window (0: no horizontal scroll bar)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def _settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # charts draw after their data arrives


def test_a_pipeline_page_shows_the_best_hyperparameters_and_the_registered_model(
    sweep_pipeline: tuple[Workspace, str], page: Page
) -> None:
    ws, run_id = sweep_pipeline
    with serving(ws) as served:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{served.url}/runs/{quote(run_id)}")
            _settle(page)
            results = page.locator("#results")
            text = results.inner_text()
            assert "Best of 4 trials" in text and "hypertrain" in text
            assert "accuracy 0.9" in " ".join(text.split())  # 0.5 + 0.1 * 4
            best = dict(
                zip(
                    results.locator("dt").all_inner_texts(),
                    results.locator("dd").all_inner_texts(),
                    strict=True,
                )
            )
            assert best == {"--lr": "0.1", "--layers": "4"}  # an integer, not 4.0
            models = results.locator("li").all_inner_texts()
            assert any("classifier version 1" in m and "accuracy 0.87" in m for m in models)
            # No empty boxes: a pipeline that logged nothing has no Tags, Metrics or Files box.
            assert page.locator("#metrics-region").is_hidden()
            assert page.locator("#files-region").is_hidden()
            assert _overflow(page) == 0
            page.screenshot(path=str(SHOTS / f"pipeline-results-{width}.png"), full_page=True)
        # Named: "Run 1" in its experiment, then the first step's script and how many follow.
        assert page.locator("h1").inner_text().startswith("Run 1 trial.py + 1 step")
        page.locator("#children a.run-link", has_text="register").click()
        _settle(page)
        crumbs = page.locator(".crumbs").inner_text()
        assert "parent run" not in crumbs and "pipeline trial.py + 1 step" in crumbs
        page.screenshot(path=str(SHOTS / "pipeline-step-1280.png"), full_page=True)


def test_integer_hyperparameters_read_as_integers_on_the_sweep_page(
    sweep_pipeline: tuple[Workspace, str], page: Page
) -> None:
    ws, run_id = sweep_pipeline
    with serving(ws) as served:
        page.goto(f"{served.url}/runs/{quote(run_id)}")
        _settle(page)
        page.locator("#results a", has_text="the sweep").click()
        _settle(page)
        headers = page.locator("#trials thead th").all_inner_texts()
        column = next(i for i, h in enumerate(headers) if h.strip().startswith("--layers")) + 1
        layers = page.locator(f"#trials tbody td:nth-child({column})").all_inner_texts()
        assert sorted(layers) == ["2", "2", "4", "4"]
        # Chart legends name their lines; away from the cursor they show no placeholder values.
        page.locator(".best-so-far canvas").wait_for()
        values = page.locator(".u-legend .u-value").all_inner_texts()
        assert values and all(v.strip() in ("",) for v in values), values
        page.screenshot(path=str(SHOTS / "pipeline-sweep-1280.png"), full_page=True)


PAGES = {
    "experiments": lambda lab: "/",
    "runs": lambda lab: "/experiments/tracking",
    "run": lambda lab: f"/runs/{quote(lab.tracking)}",
    "failed-run": lambda lab: f"/runs/{quote(lab.failed)}",
    "pipeline": lambda lab: f"/runs/{quote(lab.pipeline_again)}",
    "hyperdrive": lambda lab: f"/runs/{quote(lab.sweep)}",
    "hyperdrive-policy": lambda lab: f"/runs/{quote(lab.policy_sweep)}",
    "trial": lambda lab: f"/runs/{quote(lab.sweep)}_0",
    "compare": lambda lab: f"/compare?run={quote(lab.sweep)}_0&run={quote(lab.sweep)}_1",
    "models": lambda lab: "/models",
    "datasets": lambda lab: "/datasets",
    "dataset": lambda lab: f"/datasets/{lab.dataset}",
    "published": lambda lab: "/published",
    "published-pipeline": lambda lab: f"/published/{quote(lab.published)}",
    "endpoints": lambda lab: "/endpoints",
    "endpoint": lambda lab: f"/endpoints/{quote(lab.endpoint)}",
    "schedules": lambda lab: "/schedules",
    "schedule": lambda lab: f"/schedules/{quote(lab.schedule)}",
}
# The pages the issue names: their body must never be wider than a 1280 px window.
NO_OVERFLOW = ("runs", "compare", "hyperdrive", "hyperdrive-policy", "pipeline", "run")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_its_window_and_is_photographed(
    lab: Lab, base: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    wide: dict[str, int] = {}
    for name, path in PAGES.items():
        response = page.goto(base + path(lab))
        assert response is not None and response.status == 200, (name, path(lab))
        _settle(page)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = _overflow(page)
        if overflow > 0:
            wide[name] = overflow
    assert not {n: px for n, px in wide.items() if n in NO_OVERFLOW}, wide
