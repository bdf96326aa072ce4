"""Datasets by name and version, never by id, on the pages of a sweep's trials and of pipeline
steps: the inputs listed and the arguments that refer to them."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from tests.portal.conftest import SHOTS, serving

from hyperpipe.core import Dataset, Datastore, Experiment, ScriptRunConfig, Workspace
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

    from playwright.sync_api import Page


SCRIPT = """
from hyperpipe.core import Run
Run.get_context().log("accuracy", 0.5)
"""


@pytest.fixture(scope="module")
def data_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, dict]]:
    """A sweep step fed a registered and an unregistered dataset, then a step given a dataset
    and the sweep's metrics as arguments."""
    root = tmp_path_factory.mktemp("datasets")
    ws = Workspace.create("datasets", path=root / "ws")
    ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2))
    datastore = Datastore.get(ws, "workspaceblobstore")
    (datastore._local_path("texts") / "a").mkdir(parents=True)
    (datastore._local_path("texts") / "a" / "1.txt").write_text("hello")
    texts = Dataset.File.from_files((datastore, "texts")).register(ws, "texts")
    loose = Dataset.File.from_files((datastore, "texts/a"))
    (root / "src").mkdir()
    (root / "src" / "job.py").write_text(textwrap.dedent(SCRIPT))
    metrics = PipelineData("metrics_data")
    sweep = HyperDriveStep(
        name="hypertrain",
        hyperdrive_config=HyperDriveConfig(
            run_config=ScriptRunConfig(root / "src", "job.py", compute_target="cpu"),
            hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.01)}),
            primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=1,
            max_concurrent_runs=1,
        ),
        estimator_entry_script_arguments=[],
        inputs=[texts.as_named_input("texts"), loose.as_named_input("loose")],
        metrics_output=metrics,
    )
    after = PythonScriptStep(
        "job.py",
        name="after",
        source_directory=root / "src",
        arguments=["--data", texts.as_named_input("corpus"), "--metrics", metrics],
        inputs=[metrics],
        compute_target="cpu",
    )
    try:
        run = Experiment(ws, "data").submit(Pipeline(ws, [sweep, after]))
        assert run.wait_for_completion(show_output=False) == "Finished"
    finally:
        stop_unfinished_runs(ws)
    steps = {s.name: s.id for s in run.get_steps()}
    sweep_run = ws._store.list_runs(parent_id=steps["hypertrain"], run_type="hyperdrive")[0]
    trial = ws._store.list_runs(parent_id=sweep_run.id)[0]
    ids = {"texts": texts.id, "loose": loose.id, "trial": trial.id, "after": steps["after"]}
    yield ws, ids


def test_a_trial_page_names_its_datasets_and_never_shows_their_ids(
    data_pipeline: tuple[Workspace, dict], page: Page
) -> None:
    ws, ids = data_pipeline
    with serving(ws) as served:
        page.goto(f"{served.url}/runs/{quote(ids['trial'])}")
        inputs = [" ".join(t.split()) for t in page.locator(".card li").all_inner_texts()]
        assert "texts: texts v1" in inputs
        assert "loose: unregistered file dataset of workspaceblobstore/texts/a" in inputs
        body = page.locator("body").inner_text()
        assert ids["texts"][:8] not in body and ids["loose"][:8] not in body
        page.screenshot(path=str(SHOTS / "trial-datasets-1280.png"), full_page=True)


def test_a_step_page_names_the_data_its_arguments_refer_to(
    data_pipeline: tuple[Workspace, dict], page: Page
) -> None:
    ws, ids = data_pipeline
    with serving(ws) as served:
        page.goto(f"{served.url}/runs/{quote(ids['after'])}")
        arguments = page.locator("pre.args").inner_text()
        assert arguments == (
            "--data [corpus: texts v1] --metrics [output metrics_data of step hypertrain]"
        )
        assert "{" not in arguments and ids["texts"][:8] not in page.locator("body").inner_text()
        page.screenshot(path=str(SHOTS / "step-datasets-1280.png"), full_page=True)
