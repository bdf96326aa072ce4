"""Published pipelines and pipeline endpoints: stored apart from the files they were built from,
submitted by id with parameters, reusing steps exactly as a normal submission does."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from hyperpipe.core import Experiment, Run
from hyperpipe.exceptions import AzureMLNotSupportedError, UserErrorException
from hyperpipe.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
    PublishedPipeline,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from hyperpipe.core import Workspace
    from hyperpipe.pipeline.steps import PythonScriptStep

PREP = """
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--rows", type=int)
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
open(os.path.join(args.out, "data.txt"), "w").write("x" * args.rows)
print("FACTS " + json.dumps({"rows": args.rows, "version": "v1"}))
"""

TRAIN = """
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--data")
args = parser.parse_args()
text = open(os.path.join(args.data, "data.txt")).read()
print("FACTS " + json.dumps({"chars": len(text), "mode": os.environ["AML_PARAMETER_mode"]}))
"""


@pytest.fixture
def pipeline(ws: Workspace, make_step: Callable[..., PythonScriptStep]) -> Pipeline:
    rows = PipelineParameter("rows", default_value=3)
    mode = PipelineParameter("mode", default_value="fast")
    data = PipelineData("prepared")
    prep = make_step("prep", PREP, arguments=["--out", data, "--rows", rows], outputs=[data])
    train = make_step(
        "train", TRAIN, arguments=["--data", data], inputs=[data], params={"mode": mode}
    )
    return Pipeline(ws, [prep, train], description="tiny")


def _reused(run: PipelineRun) -> dict[str, bool]:
    return {s.name: s._is_reused for s in run.get_steps()}


def test_a_published_pipeline_runs_after_its_sources_are_deleted_and_reuses_like_a_pipeline(
    ws: Workspace, pipeline: Pipeline, experiment: Experiment, write_script, facts
) -> None:
    first = experiment.submit(pipeline)
    assert first.wait_for_completion(show_output=False) == "Finished"
    published = pipeline.publish("tiny", description="two steps", version="1.0")
    shutil.rmtree(write_script.folder("prep").parent)  # every source folder of the pipeline

    found = PublishedPipeline.get(ws, published.id)
    assert (found.name, found.description, found.version, found.status) == (
        "tiny",
        "two steps",
        "1.0",
        "Active",
    )
    assert found.parameters == {"mode": "fast", "rows": 3}
    assert found.get_step_names() == ["prep", "train"]
    assert found.endpoint.endswith(f"/api/v1.0/PipelineRuns/PipelineSubmit/{published.id}")
    assert found.graph_id == published.graph_id and len(found.graph_id) == 64

    unchanged = found.submit(ws, "pl")
    assert unchanged.wait_for_completion(show_output=False) == "Finished"
    assert _reused(unchanged) == {"prep": True, "train": True}
    assert unchanged.properties["azureml.pipelineid"] == published.id

    changed = Experiment(ws, "pl").submit(found, pipeline_parameters={"rows": 5})
    assert changed.wait_for_completion(show_output=False) == "Finished"
    assert _reused(changed) == {"prep": False, "train": False}
    steps = {s.name: s for s in changed.get_steps()}
    assert facts(steps["prep"]) == {"rows": 5, "version": "v1"}
    assert facts(steps["train"]) == {"chars": 5, "mode": "fast"}
    assert {r.id for r in PipelineRun.get_pipeline_runs(ws, published.id)} == {
        unchanged.id,
        changed.id,
    }


def test_a_published_pipeline_is_immutable_when_its_files_change(
    ws: Workspace, pipeline: Pipeline, write_script, facts
) -> None:
    published = pipeline.publish("tiny")
    write_script("prep", PREP.replace('"v1"', '"v2"'))  # edited after publishing
    run = published.submit(ws, "pl")
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert facts(run.find_step_run("prep")[0])["version"] == "v1"


def test_a_pipeline_run_publishes_the_pipeline_it_ran(ws: Workspace, pipeline: Pipeline) -> None:
    run = Experiment(ws, "pl").submit(pipeline, pipeline_parameters={"rows": 4})
    assert run.wait_for_completion(show_output=False) == "Finished"
    published = Run.get(ws, run.id).publish_pipeline("from-run", "from a run", "2")
    assert published.parameters == {"mode": "fast", "rows": 3}  # the defaults, not 4
    assert published._record.source_run_id == run.id
    again = published.submit(ws, "pl", pipeline_parameters={"rows": 4})
    assert again.wait_for_completion(show_output=False) == "Finished"
    assert _reused(again) == {"prep": True, "train": True}


def test_disabled_pipelines_are_not_submitted_or_listed(ws: Workspace, pipeline: Pipeline) -> None:
    published = pipeline.publish("tiny")
    published.disable()
    assert PublishedPipeline.list(ws) == []
    assert PublishedPipeline.list(ws, active_only=False) == [published]
    with pytest.raises(UserErrorException, match=r"is Disabled; enable it with .*\.enable\(\)"):
        published.submit(ws, "pl")
    published.enable()
    assert PublishedPipeline.list(ws) == [published]


def test_bad_ids_and_parameters_get_one_line_errors(ws: Workspace, pipeline: Pipeline) -> None:
    published = pipeline.publish("tiny")
    with pytest.raises(UserErrorException, match=r"no published pipeline with id 'nope'.*list"):
        PublishedPipeline.get(ws, "nope")
    with pytest.raises(
        UserErrorException,
        match=r"pipeline parameter 'row' does not exist in this pipeline; its parameters: mode, "
        "rows",
    ):
        published.submit(ws, "pl", pipeline_parameters={"row": 5})
    with pytest.raises(UserErrorException, match="'rows' takes a int, got 'five'"):
        published.submit(ws, "pl", pipeline_parameters={"rows": "five"})
    assert ws._store.list_runs(run_type="azureml.PipelineRun") == []


def test_endpoint_versions_and_the_default_they_submit(ws: Workspace, pipeline: Pipeline) -> None:
    v0 = pipeline.publish("tiny-a")
    v1 = pipeline.publish("tiny-b")
    endpoint = PipelineEndpoint.publish(ws, "retrain", "the retrain endpoint", v0)
    assert (endpoint.default_version, endpoint.get_default_version()) == ("0", "0")
    endpoint.add(v1)
    assert [(v.version, v.pipeline_id) for v in endpoint.pipeline_version_list] == [
        ("0", v0.id),
        ("1", v1.id),
    ]
    assert endpoint.get_pipeline() == v0
    endpoint.set_default(v1)
    assert endpoint.get_default_version() == "1"
    endpoint.set_default_version("0")
    assert PipelineEndpoint.get(ws, name="retrain").default_version == "0"
    with pytest.raises(UserErrorException, match="cannot set version '5'.*add\\(\\) or"):
        endpoint.set_default_version("5")
    v2 = pipeline.publish("tiny-c")
    endpoint.add_default(v2)
    assert endpoint.default_version == "2"
    assert [v.version for v in endpoint.list_versions()] == ["0", "1", "2"]
    assert endpoint.list_pipelines() == [v0, v1, v2]

    run = endpoint.submit("pl", pipeline_version="1")
    assert run.properties["azureml.pipelineid"] == v1.id
    assert run.properties["azureml.pipelineEndpointVersion"] == "1"
    default = Experiment(ws, "pl").submit(endpoint, pipeline_parameters={"rows": 2})
    assert default.properties["azureml.pipelineid"] == v2.id
    for submitted in (run, default):
        assert submitted.wait_for_completion(show_output=False) == "Finished"

    with pytest.raises(UserErrorException, match="named 'retrain' already exists"):
        PipelineEndpoint.publish(ws, "retrain", None, v0)
    endpoint.disable()
    with pytest.raises(UserErrorException, match="is Disabled; enable it"):
        endpoint.submit("pl")
    assert PipelineEndpoint.list(ws) == []
    endpoint.archive()
    assert endpoint.name != "retrain"
    fresh = PipelineEndpoint.publish(ws, "retrain", None, pipeline)  # a Pipeline is published
    assert fresh.get_pipeline().name.startswith("retrain-")
    endpoint.reactivate("retrain-old")
    assert {e.name for e in PipelineEndpoint.list(ws)} == {"retrain", "retrain-old"}


def test_sdk_v1_names_hyperpipe_lacks_raise_one_line_naming_them(
    ws: Workspace, pipeline: Pipeline
) -> None:
    published = pipeline.publish("tiny")
    endpoint = PipelineEndpoint.publish(ws, "retrain", None, published)
    with pytest.raises(
        AzureMLNotSupportedError,
        match=r"^not supported in hyperpipe: PublishedPipeline\.get_step_name; did you mean "
        r"PublishedPipeline\.get_step_names\?",
    ):
        published.get_step_name()
    with pytest.raises(
        AzureMLNotSupportedError, match=r"^not supported in hyperpipe: PipelineEndpoint\.swagger;"
    ):
        endpoint.swagger  # noqa: B018
    assert not hasattr(PublishedPipeline, "save_yaml")
    assert [v.version for v in endpoint.pipeline_version_list] == ["0"]
