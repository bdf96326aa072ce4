"""DataPath and dataset pipeline parameters through the one submit path: a plain submission, a
published pipeline, an endpoint, a schedule and REST bind the same step spec and reuse the same
step; bad values get one-line errors and record no run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from hyperpipe.core import Dataset, Experiment, Run, Workspace
from hyperpipe.core.authentication import InteractiveLoginAuthentication
from hyperpipe.data import DatasetConsumptionConfig
from hyperpipe.data.datapath import DataPath, DataPathComputeBinding
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline._daemon import SchedulerDaemon
from hyperpipe.pipeline.core import (
    Pipeline,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
    Schedule,
    ScheduleRecurrence,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from hyperpipe.pipeline.steps import PythonScriptStep

READ = """
import argparse, json, os
from hyperpipe.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--rows")
parser.add_argument("--tag")
args = parser.parse_args()
rows = Run.get_context().input_datasets["rows"]
print("FACTS " + json.dumps({
    "text": open(os.path.join(args.data, "part.txt")).read(),
    "rows": open(rows).read().count("\\n"),  # lines, the header included
    "same_rows": rows == args.rows,
    "tag": args.tag,
}))
"""
T0 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def reader(ws: Workspace, make_step: Callable[..., PythonScriptStep]) -> Pipeline:
    store = ws.get_default_datastore()
    for folder, text in (("first", "one"), ("second", "two")):
        (store._local_path(folder)).mkdir(parents=True)
        (store._local_path(folder) / "part.txt").write_text(text)
    (store._local_path("small.csv")).write_text("a\n1\n")
    (store._local_path("large.csv")).write_text("a\n1\n2\n3\n")
    Dataset.File.from_files((store, "large.csv")).register(ws, "large")
    data = PipelineParameter("data", default_value=DataPath(store, "first"))
    data_input = (data, DataPathComputeBinding(mode="mount"))
    small = Dataset.File.from_files((store, "small.csv"))
    rows = DatasetConsumptionConfig("rows", PipelineParameter("table", small)).as_mount()
    tag = PipelineParameter("tag", default_value="plain")
    step = make_step(
        "read",
        READ,
        arguments=["--data", data_input, "--rows", rows, "--tag", tag],
        inputs=[data_input, rows],
    )
    return Pipeline(ws, [step], description="reader")


def _bound(run: PipelineRun) -> dict[str, Any]:
    """What a run's definition says its step was given."""
    definition = run._record.definition
    (spec,) = definition["steps"]
    return {
        "parameters": definition["parameters"],
        "arguments": spec["arguments"],
        "inputs": spec["inputs"],
    }


def _reused(run: PipelineRun) -> bool:
    assert run.wait_for_completion(show_output=False) == "Finished"
    (step,) = run.get_steps()
    return step._is_reused


def test_datapath_and_dataset_parameters_bind_and_reuse_alike_however_the_run_is_started(
    ws: Workspace, reader: Pipeline, experiment: Experiment, facts
) -> None:
    from fastapi.testclient import TestClient

    from hyperpipe.portal import create_app

    store = ws.get_default_datastore()
    large = Dataset.get_by_name(ws, "large")
    python = {"data": DataPath(store, "second"), "table": large, "tag": "x"}
    first = experiment.submit(reader, pipeline_parameters=python)
    assert _reused(first) is False
    seen = facts(first.find_step_run("read")[0])
    assert seen == {"text": "two", "rows": 4, "same_rows": True, "tag": "x"}
    assert _bound(first)["parameters"] == {
        "data": {"datastore": store.name, "path_on_datastore": "second"},
        "table": {"dataset_id": large.id, "name": "large", "version": 1},
        "tag": "x",
    }

    published = reader.publish("reader")
    # A run keeps what it was bound from: publishing it gives the same graph, defaults included.
    from_run = first.publish_pipeline("from-run", None, None)
    assert from_run.graph_id == published.graph_id
    assert from_run.get_graph()["parameters"] == published.get_graph()["parameters"]
    endpoint = PipelineEndpoint.publish(ws, "reading", None, published)
    text = {
        "data": {"DataStoreName": store.name, "RelativePath": "second"},
        "table": "large:1",
        "tag": "x",
    }
    auth = InteractiveLoginAuthentication()
    Workspace.from_config(path=ws.root, auth=auth)  # the header is this workspace's token
    with TestClient(create_app(ws), base_url="http://127.0.0.1:8765") as api:
        answer = api.post(
            f"/api/v1.0/PipelineRuns/PipelineSubmit/{published.id}",
            json={
                "ExperimentName": "pl",
                "ParameterAssignments": {"table": "large", "tag": "x"},
                "DataPathAssignments": {
                    "data": {"DataStoreName": store.name, "RelativePath": "second"}
                },
            },
            headers=auth.get_authentication_header(),
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["GraphId"] == published.graph_id
    schedule = Schedule.create(
        ws,
        "nightly",
        published.id,
        "pl",
        recurrence=ScheduleRecurrence("Minute", 1, start_time="2030-01-01T00:00:00"),
        pipeline_parameters=python,
    )
    assert schedule.pipeline_parameters == _bound(first)["parameters"]  # kept as JSON
    (fire,) = SchedulerDaemon(ws, clock=lambda: T0 + 5).run_once()
    assert fire.outcome == "Submitted", fire.reason

    again = {
        "python": experiment.submit(reader, pipeline_parameters=python),
        "published": published.submit(ws, "pl", pipeline_parameters=python),
        "endpoint": endpoint.submit("pl", pipeline_parameters=python),
        "text": experiment.submit(published, pipeline_parameters=text, _from_text=True),
        "rest": Run.get(ws, answer.json()["Id"]),
        "schedule": Run.get(ws, fire.run_id),
    }
    assert {how: _reused(run) for how, run in again.items()} == dict.fromkeys(again, True)
    assert {how: _bound(run) for how, run in again.items()} == dict.fromkeys(again, _bound(first))

    default = published.submit(ws, "pl")  # the defaults, kept in the published pipeline
    assert _reused(default) is False
    assert facts(default.find_step_run("read")[0]) == {
        "text": "one",
        "rows": 2,
        "same_rows": True,
        "tag": "plain",
    }


def test_bad_datapath_and_dataset_values_are_refused_before_a_run_is_recorded(
    ws: Workspace, reader: Pipeline, experiment: Experiment
) -> None:
    published = reader.publish("reader")
    large_table = Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), "large.csv"))
    datapath = (
        "pipeline parameter 'data' takes a DataPath (DataPath(datastore, 'path/on/datastore')), "
        "got 'second'"
    )
    for submit in (
        lambda p: experiment.submit(reader, pipeline_parameters=p),
        lambda p: published.submit(ws, "pl", pipeline_parameters=p),
    ):
        with pytest.raises(UserErrorException, match=rf"^{_re(datapath)}$"):
            submit({"data": "second"})
        with pytest.raises(UserErrorException, match="'table' takes a FileDataset, got Tab"):
            submit({"table": large_table})
    as_text = {
        "data": {"DataStoreName": "nope", "RelativePath": "x"},
    }
    with pytest.raises(
        UserErrorException,
        match=r"'data' takes a DataPath .*: datastore 'nope' is not registered in workspace",
    ):
        experiment.submit(published, pipeline_parameters=as_text, _from_text=True)
    with pytest.raises(UserErrorException, match=r"'data' takes a DataPath .*, got 42; as text"):
        experiment.submit(published, pipeline_parameters={"data": 42}, _from_text=True)
    with pytest.raises(
        UserErrorException, match="'table': cannot find a dataset registered as 'nope'"
    ):
        experiment.submit(published, pipeline_parameters={"table": "nope"}, _from_text=True)
    with pytest.raises(UserErrorException, match="must not contain '..'"):
        experiment.submit(
            published, pipeline_parameters={"data": "workspaceblobstore:../up"}, _from_text=True
        )
    with pytest.raises(UserErrorException, match=_re(datapath)):
        Schedule.create(
            ws,
            "bad",
            published.id,
            "pl",
            recurrence=ScheduleRecurrence("Minute", 1),
            pipeline_parameters={"data": "second"},
        )
    assert ws._store.list_runs(run_type="azureml.PipelineRun") == []
    assert Schedule.list(ws) == []


def _re(text: str) -> str:
    import re

    return re.escape(text)
