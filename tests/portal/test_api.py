"""The JSON API: a valid OpenAPI schema, every endpoint answering, and what each one says."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest
from openapi_spec_validator import validate

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from tests.portal.conftest import Lab


def test_the_openapi_schema_is_served_and_valid(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["info"]["title"] == "hyperpipe portal"
    assert all(path.startswith("/api/") for path in schema["paths"])  # pages stay out of it


def _example_path(path: str, lab: Lab) -> str:
    """A real address for every templated path in the schema."""
    run_id = lab.tracking
    if path.endswith("/graph"):
        run_id = lab.pipeline
    elif "/hyperdrive" in path:
        run_id = lab.sweep
    if path == "/api/compare":
        return f"/api/compare?run={lab.tracking}&run={lab.failed}"
    values = {
        "pipeline_id": lab.published,
        "endpoint_id": lab.endpoint,
        "schedule_id": lab.schedule,
        "run_id": run_id,
        "name": "loss" if "/metrics/" in path else "tracking",
        "path": "outputs/result.txt",
    }
    if path.startswith("/api/datasets/"):
        values["name"] = lab.dataset
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: values[m.group(1)], path)


def test_every_endpoint_in_the_schema_answers_for_a_workspace_with_runs(
    client: TestClient, lab: Lab
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert len(paths) >= 14
    for path, operations in paths.items():
        if path.startswith("/api/v1.0/PipelineRuns/"):  # REST submission: see test_rest.py
            assert set(operations) == {"post"}, path
            continue
        if path.startswith("/api/datadrift/"):  # needs a drift monitor: test_datadrift_pages.py
            assert set(operations) == {"get"}, path
            continue
        assert set(operations) == {"get"}, path  # everything else only reads
        response = client.get(_example_path(path, lab))
        assert response.status_code == 200, (path, response.text[:300])
        assert response.content, path


def test_runs_are_paged_sorted_and_filtered_in_the_store(client: TestClient, lab: Lab) -> None:
    page = client.get("/api/experiments/tracking/runs", params={"limit": 2}).json()
    assert page["total"] == 3
    assert [r["id"] for r in page["runs"]] == [lab.failed, lab.hostile]  # newest first
    rest = client.get("/api/experiments/tracking/runs", params={"limit": 2, "offset": 2}).json()
    assert [r["id"] for r in rest["runs"]] == [lab.tracking]
    oldest = client.get("/api/experiments/tracking/runs", params={"order": "created"}).json()
    assert oldest["runs"][0]["id"] == lab.tracking
    failed = client.get("/api/experiments/tracking/runs", params={"status": "failed"}).json()
    assert [r["id"] for r in failed["runs"]] == [lab.failed]
    tagged = client.get("/api/experiments/tracking/runs", params={"tag": "team=nlp"}).json()
    assert [r["id"] for r in tagged["runs"]] == [lab.tracking]
    found = client.get("/api/experiments/tracking/runs", params={"q": lab.hostile[-8:]}).json()
    assert [r["id"] for r in found["runs"]] == [lab.hostile]


def test_run_lists_show_the_last_values_of_the_pages_common_metrics(
    client: TestClient, lab: Lab
) -> None:
    page = client.get("/api/experiments/tracking/runs").json()
    assert set(page["metric_columns"]) == {
        "loss",
        "accuracy",
        "<img src=x onerror=alert(2)>",
        "train/loss",
    }
    by_id = {r["id"]: r["metrics"] for r in page["runs"]}
    assert by_id[lab.tracking] == {"loss": 1 / 50, "accuracy": 0.91}
    assert by_id[lab.failed] == {}
    html = client.get("/experiments/tracking").text
    assert 'href="/experiments/tracking?order=-metric%3Aaccuracy">accuracy</a>' in html
    assert "0.91" in html
    by_accuracy = client.get(
        "/api/experiments/tracking/runs", params={"order": "-metric:accuracy"}
    ).json()
    assert by_accuracy["runs"][0]["id"] == lab.tracking
    assert "accuracy" in by_accuracy["metric_columns"]
    rare = client.get("/api/experiments/tracking/runs", params={"order": "metric:absent"}).json()
    assert rare["metric_columns"][0] == "absent"  # the sort key is always shown


def test_children_are_left_out_of_run_lists_unless_asked_for(client: TestClient) -> None:
    top = client.get("/api/experiments/sweep/runs").json()
    everything = client.get("/api/experiments/sweep/runs", params={"children": True}).json()
    assert [r["kind"] for r in top["runs"]] == ["hyperdrive", "hyperdrive"]
    assert everything["total"] == 10


def test_bad_list_parameters_are_400_naming_the_valid_choices(client: TestClient) -> None:
    status = client.get("/api/experiments/tracking/runs", params={"status": "Done"})
    assert status.status_code == 400
    assert "Completed" in status.json()["detail"]
    order = client.get("/api/experiments/tracking/runs", params={"order": "colour"})
    assert order.status_code == 400
    assert "duration" in order.json()["detail"]


def test_unknown_things_are_404_with_a_message(client: TestClient, lab: Lab) -> None:
    for path in (
        "/api/runs/nope",
        "/api/experiments/nope/runs",
        f"/api/runs/{lab.tracking}/metrics/nope",
        f"/api/runs/{lab.tracking}/files/outputs/nope.txt",
        "/api/datasets/nope",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "nope" in response.json()["detail"]


def test_a_run_shows_its_arguments_inputs_metrics_files_and_model(
    client: TestClient, lab: Lab
) -> None:
    run = client.get(f"/api/runs/{lab.tracking}").json()
    assert run["status"] == "Completed"
    assert run["kind"] == "script"
    assert run["script"] == "track.py"
    assert run["arguments"][:2] == ["--epochs", "3"]
    assert run["tags"] == {"team": "nlp"}
    assert [(i["name"], i["dataset_name"]) for i in run["inputs"]] == [("texts", "texts")]
    kinds = {m["name"]: m["kind"] for m in run["metrics"]}
    assert kinds == {
        "loss": "scalar",
        "accuracy": "scalar",
        "folds": "list",
        "confusion": "table",
        "epochs": "row",
        "dot": "image",
    }
    files = {f["path"] for f in run["files"]}
    assert {"outputs/result.txt", "outputs/deep/page.html", "dot.png"} <= files
    assert [(m["name"], m["version"]) for m in run["models"]] == [("tiny", 1)]


def test_a_metric_series_is_chart_ready_and_reduced_on_request(
    client: TestClient, lab: Lab
) -> None:
    full = client.get(f"/api/runs/{lab.tracking}/metrics/loss").json()
    assert full["count"] == 50
    assert full["x_label"] == "step"
    assert full["x"] == list(range(50))
    assert full["y"][0] == 1.0
    assert full["downsampled"] is False
    small = client.get(f"/api/runs/{lab.tracking}/metrics/loss", params={"max_points": 8}).json()
    assert small["downsampled"] is True
    assert len(small["x"]) <= 8
    assert max(small["y"]) == 1.0  # the extremes survive
    assert min(small["y"]) == pytest.approx(1 / 50)
    slashed = client.get(f"/api/runs/{lab.hostile}/metrics/train%2Floss").json()
    assert (slashed["name"], slashed["y"]) == ("train/loss", [0.5, 0.4])
    page = client.get(f"/runs/{lab.hostile}").text
    assert f'data-src="/api/runs/{lab.hostile}/metrics/train/loss"' in page
    assert client.get(f"/api/runs/{lab.hostile}/metrics/train/loss").status_code == 200
    table = client.get(f"/api/runs/{lab.tracking}/metrics/confusion").json()
    assert table["values"] == [{"label": ["cat", "dog"], "right": [40, 45], "wrong": [5, 10]}]


def test_the_log_is_read_from_an_offset_or_from_the_end(client: TestClient, lab: Lab) -> None:
    whole = client.get(f"/api/runs/{lab.tracking}/log").json()
    assert "training done" in whole["text"]
    assert whole["offset"] == len(whole["text"].encode())
    assert whole["active"] is False
    later = client.get(f"/api/runs/{lab.tracking}/log", params={"offset": whole["offset"]}).json()
    assert later["text"] == ""
    assert later["offset"] == whole["offset"]
    tail = client.get(f"/api/runs/{lab.tracking}/log", params={"offset": -14}).json()
    assert tail["text"] == whole["text"][-14:]


def test_a_failed_run_shows_its_error(client: TestClient, lab: Lab) -> None:
    run = client.get(f"/api/runs/{lab.failed}").json()
    assert run["status"] == "Failed"
    assert "the data was bad" in json.dumps(run["error"])


def test_the_pipeline_graph_has_each_step_with_status_and_reuse(
    client: TestClient, lab: Lab
) -> None:
    first = client.get(f"/api/runs/{lab.pipeline}/graph").json()
    steps = {n["id"]: n for n in first["nodes"] if n["kind"] == "step"}
    assert {name: n["status"] for name, n in steps.items()} == {
        "prep": "Finished",
        "train": "Finished",
    }
    assert not any(n["reused"] for n in steps.values())
    assert [(e["source"], e["target"], e["label"]) for e in first["edges"]] == [
        ("prep", "train", "prepared")
    ]
    assert steps["prep"]["x"] < steps["train"]["x"]  # inputs to the left
    again = client.get(f"/api/runs/{lab.pipeline_again}/graph").json()
    reused = {n["id"]: n for n in again["nodes"] if n["kind"] == "step"}
    assert all(n["reused"] for n in reused.values())
    assert all(n["reasons"] for n in reused.values())


def test_the_graph_of_a_run_that_is_not_a_pipeline_is_400(client: TestClient, lab: Lab) -> None:
    response = client.get(f"/api/runs/{lab.tracking}/graph")
    assert response.status_code == 400
    assert "not a pipeline run" in response.json()["detail"]


def test_a_sweep_lists_trials_with_values_and_the_best_so_far(client: TestClient, lab: Lab) -> None:
    sweep = client.get(f"/api/runs/{lab.sweep}/hyperdrive").json()
    assert sweep["primary_metric"] == "accuracy"
    assert sweep["goal"] == "MAXIMIZE"
    assert sorted(sweep["parameters"]) == ["layers", "lr"]
    trials = sweep["trials"]
    assert len(trials) == 4
    for trial in trials:
        expected = 0.5 + trial["hyperparameters"]["lr"] * trial["hyperparameters"]["layers"]
        assert trial["metric"] == pytest.approx(expected + 0.02)  # the best of its 3 epochs
    best = max(trials, key=lambda t: t["metric"])
    assert sweep["best_run_id"] == best["run_id"]
    assert sweep["best_so_far"][-1] == best["metric"]
    assert sweep["best_so_far"] == sorted(sweep["best_so_far"])  # maximizing: never goes down


def test_trials_stopped_by_the_policy_are_marked_early_terminated(
    client: TestClient, lab: Lab
) -> None:
    sweep = client.get(f"/api/runs/{lab.policy_sweep}/hyperdrive").json()
    assert sweep["policy"] == "BanditPolicy"
    trials = sorted(sweep["trials"], key=lambda t: int(t["run_id"].rsplit("_", 1)[1]))
    assert [t["early_terminated"] for t in trials] == [False, True, False, True]
    assert [t["status"] for t in trials] == ["Completed", "Canceled", "Completed", "Canceled"]
    page = client.get(f"/runs/{lab.policy_sweep}").text
    assert page.count('class="early-terminated') == 2
    assert page.count(">early-terminated</span>") == 2


def test_trial_curves_show_each_trial_and_where_the_policy_stopped_it(
    client: TestClient, lab: Lab
) -> None:
    curves = client.get(f"/api/runs/{lab.policy_sweep}/hyperdrive/curves").json()
    assert curves["primary_metric"] == "accuracy"
    assert curves["x_label"] == "index"  # the trials log without steps
    assert curves["x"] == list(range(30))
    lengths = {t["run_id"]: sum(v is not None for v in t["y"]) for t in curves["trials"]}
    for trial in curves["trials"]:
        if trial["early_terminated"]:
            assert lengths[trial["run_id"]] < 30
        else:
            assert lengths[trial["run_id"]] == 30
            assert trial["y"][0] == pytest.approx(0.9)
    assert sum(t["early_terminated"] for t in curves["trials"]) == 2
    few = client.get(
        f"/api/runs/{lab.policy_sweep}/hyperdrive/curves", params={"max_points": 10}
    ).json()
    assert len(few["x"]) <= 11
    assert few["x"][-1] == 29


def test_models_and_datasets_name_the_runs_that_made_or_used_them(
    client: TestClient, lab: Lab
) -> None:
    models = client.get("/api/models").json()
    assert [(m["name"], m["version"], m["run_id"]) for m in models] == [("tiny", 1, lab.tracking)]
    versions = client.get(f"/api/datasets/{lab.dataset}").json()
    assert [v["version"] for v in versions] == [1]
    assert [r["id"] for r in versions[0]["used_by"]] == [lab.tracking]
    assert versions[0]["made_by"] == []
    graph = client.get(f"/api/runs/{lab.pipeline}/graph").json()
    prep = next(n["run_id"] for n in graph["nodes"] if n["id"] == "prep")
    made = client.get("/api/datasets/prep-summary").json()
    assert [r["id"] for r in made[0]["made_by"]] == [prep]  # not the run that reused it
    assert f"/runs/{prep}" in client.get("/datasets/prep-summary").text


def test_every_page_renders(client: TestClient, lab: Lab) -> None:
    for path in (
        "/",
        "/experiments/tracking",
        "/experiments/tracking?order=-duration&status=Completed&limit=25",
        f"/runs/{lab.tracking}",
        f"/runs/{lab.failed}",
        f"/runs/{lab.pipeline}",
        f"/runs/{lab.pipeline_again}",
        f"/runs/{lab.sweep}",
        "/models",
        "/datasets",
        f"/datasets/{lab.dataset}",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")


def test_an_unknown_run_page_is_a_404_page(client: TestClient) -> None:
    response = client.get("/runs/ghost")
    assert response.status_code == 404
    assert "no run with id" in response.text


def test_compare_puts_runs_side_by_side_with_parameters_metrics_and_curves(
    client: TestClient, lab: Lab
) -> None:
    sweep = client.get(f"/api/runs/{lab.sweep}/hyperdrive").json()
    trials = [t["run_id"] for t in sweep["trials"][:2]]
    view = client.get("/api/compare", params={"run": [*trials, lab.tracking]}).json()
    assert [r["id"] for r in view["runs"]] == [*trials, lab.tracking]
    assert {"lr", "layers", "epochs"} <= set(view["parameters"])
    assert view["values"][lab.tracking]["epochs"] == "3"  # from its --epochs 3 argument
    assert view["values"][trials[0]]["lr"] in (0.01, 0.1)  # a trial's sampled value
    assert {"accuracy", "loss"} <= set(view["metrics"])
    curves = {s["name"]: s for s in view["series"]}
    assert set(curves) == {"accuracy", "loss"}  # logged more than once by some run
    assert [line["run_id"] for line in curves["accuracy"]["runs"]] == [*trials, lab.tracking]
    tracking_loss = next(r for r in curves["loss"]["runs"] if r["run_id"] == lab.tracking)
    assert tracking_loss["y"][:2] == [1.0, 0.5]
    page = client.get("/compare", params={"run": [*trials, lab.tracking]})
    assert page.status_code == 200
    assert 'data-metric="accuracy"' in page.text


def test_compare_refuses_too_many_or_unknown_runs(client: TestClient, lab: Lab) -> None:
    too_many = client.get("/api/compare", params={"run": [f"r{i}" for i in range(21)]})
    assert too_many.status_code == 400
    assert "1 to 20" in too_many.json()["detail"]
    assert client.get("/api/compare", params={"run": ["ghost"]}).status_code == 404


def test_a_runs_state_changes_when_a_child_logs_a_value(client: TestClient, lab: Lab) -> None:
    from hyperpipe.store import NewPoint, RunStatus

    store = lab.ws._store  # a parent and child of their own, so other tests see no change
    parent = store.create_run(
        experiment_name="state", run_id="state_parent", run_type="run", status=RunStatus.RUNNING
    )
    child = store.create_run(
        experiment_name="state", run_id="state_child", run_type="run", parent_id=parent.id
    )
    before = client.get(f"/api/runs/{parent.id}/state").json()
    assert client.get(f"/api/runs/{parent.id}/state").json() == before  # stable when idle
    store.log_metrics(child.key, [NewPoint("loss", "scalar", 1.0, None, 0.0)])
    after = client.get(f"/api/runs/{parent.id}/state").json()
    assert after["version"] != before["version"]
