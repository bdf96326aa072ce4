"""REST submission of published pipelines and endpoints, and what the portal shows of published
pipelines, endpoints and schedules: the token always, cross-site posts refused, SDK v1's names."""

from __future__ import annotations

import json
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from tests.portal.conftest import serving

from hyperpipe.core import Run, Workspace
from hyperpipe.core.authentication import (
    InteractiveLoginAuthentication,
    ServicePrincipalAuthentication,
)
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.pipeline._daemon import SchedulerDaemon
from hyperpipe.pipeline.core import (
    Pipeline,
    PipelineEndpoint,
    PipelineParameter,
    PublishedPipeline,
    Schedule,
    ScheduleRecurrence,
)
from hyperpipe.pipeline.steps import PythonScriptStep

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi.testclient import TestClient

T0 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
STEP = """
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--n", type=int)
print("N", parser.parse_args().n)
"""


@dataclass
class Automation:
    ws: Workspace
    auth: InteractiveLoginAuthentication
    published: PublishedPipeline
    other: PublishedPipeline
    endpoint: PipelineEndpoint
    schedule: Schedule

    @property
    def header(self) -> dict[str, str]:
        return self.auth.get_authentication_header()


@pytest.fixture(scope="module")
def auto(tmp_path_factory: pytest.TempPathFactory) -> Automation:
    root = tmp_path_factory.mktemp("rest")
    auth = InteractiveLoginAuthentication()
    ws = Workspace.create("rest", path=root / "ws", auth=auth)
    ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2))
    source = root / "src"
    source.mkdir()
    (source / "step.py").write_text(textwrap.dedent(STEP))
    n = PipelineParameter("n", default_value=1)
    step = PythonScriptStep(
        "step.py", source_directory=source, arguments=["--n", n], compute_target="cpu"
    )
    published = Pipeline(ws, [step]).publish("counter", description="counts", version="1")
    other = Pipeline(ws, [step]).publish("counter-2")
    endpoint = PipelineEndpoint.publish(ws, "counting", "the counter", published)
    endpoint.add(other)
    schedule = Schedule.create(
        ws,
        "every-minute",
        published.id,
        "scheduled",
        recurrence=ScheduleRecurrence("Minute", 1, start_time="2030-01-01T00:00:00"),
        pipeline_parameters={"n": 3},
    )
    clock = [T0]
    SchedulerDaemon(ws, clock=lambda: clock[0]).run_once()
    clock[0] = T0 + 4 * 60 + 5  # three due times missed
    SchedulerDaemon(ws, clock=lambda: clock[0]).run_once()
    for fire in schedule.get_fires():
        if fire.run_id:
            Run.get(ws, fire.run_id).wait_for_completion(show_output=False)
    return Automation(ws, auth, published, other, endpoint, schedule)


@pytest.fixture(scope="module")
def api(auto: Automation) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    from hyperpipe.portal import create_app

    with TestClient(create_app(auto.ws), base_url="http://127.0.0.1:8765") as client:
        yield client


def _url(pipeline: PublishedPipeline) -> str:
    return f"/api/v1.0/PipelineRuns/PipelineSubmit/{pipeline.id}"


BODY = {"ExperimentName": "rest", "ParameterAssignments": {"n": 5}}


# -- who may submit ---------------------------------------------------------------------------


def test_submitting_needs_the_bearer_token_even_on_loopback(
    auto: Automation, api: TestClient
) -> None:
    missing = api.post(_url(auto.published), json=BODY)
    assert missing.status_code == 401
    assert "Authorization: Bearer" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = api.post(_url(auto.published), json=BODY, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    api.cookies.set("hyperpipe_portal_token", auto.header["Authorization"][7:])
    try:  # the cookie a browser keeps never authenticates a change
        assert api.post(_url(auto.published), json=BODY).status_code == 401
    finally:
        api.cookies.clear()
    assert auto.ws._store.list_runs(experiment_name="rest") == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cross_site_form_post_is_refused(
    auto: Automation, api: TestClient, headers: dict[str, str]
) -> None:
    response = api.post(
        _url(auto.published), data={"ExperimentName": "rest"}, headers={**headers, **auto.header}
    )
    assert response.status_code == 403
    assert "cross-site" in response.text


def test_a_form_post_from_nowhere_is_refused_as_not_json(auto: Automation, api: TestClient) -> None:
    response = api.post(_url(auto.published), data={"ExperimentName": "rest"}, headers=auto.header)
    assert response.status_code == 400
    assert "Content-Type: application/json" in response.json()["detail"]


def test_unknown_ids_are_404(auto: Automation, api: TestClient) -> None:
    for url in (
        "/api/v1.0/PipelineRuns/PipelineSubmit/nope",
        "/api/v1.0/PipelineRuns/PipelineEndpointSubmit/Id/nope",
    ):
        response = api.post(url, json=BODY, headers=auto.header)
        assert response.status_code == 404
        assert "'nope'" in response.json()["error"]["message"]


def test_an_unknown_parameter_is_a_clear_400_naming_it(auto: Automation, api: TestClient) -> None:
    response = api.post(
        _url(auto.published),
        json={"ExperimentName": "rest", "ParameterAssignments": {"learning_rate": 0.1}},
        headers=auto.header,
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "UserError",
        "message": "pipeline parameter 'learning_rate' does not exist in this pipeline; its "
        "parameters: n",
    }
    bad_value = api.post(
        _url(auto.published),
        json={"ExperimentName": "rest", "ParameterAssignments": {"n": "five"}},
        headers=auto.header,
    )
    assert bad_value.status_code == 400 and "'n' takes a int" in bad_value.text


# -- what a submission answers ----------------------------------------------------------------


def test_a_submission_answers_sdk_v1_fields_and_its_id_is_a_run_that_finishes(
    auto: Automation, api: TestClient
) -> None:
    response = api.post(
        _url(auto.published),
        json={"ExperimentName": "rest", "ParameterAssignments": {"n": "5"}},
        headers=auto.header,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["PipelineId"] == auto.published.id
    assert answer["RunHistoryExperimentName"] == "rest"
    assert answer["ParameterAssignments"] == {"n": "5"}
    assert answer["GraphId"] == auto.published.graph_id
    assert (answer["IsSubmitted"], answer["TotalRunSteps"], answer["RunSource"]) == (
        True,
        1,
        "REST",
    )
    assert answer["RunUrl"].endswith(f"/runs/{answer['Id']}")
    run = Run.get(auto.ws, answer["Id"])
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert "N 5" in run.find_step_run("step.py")[0].get_job_log()
    assert run.properties["azureml.runSource"] == "REST"


def test_an_endpoint_submits_its_default_or_the_version_asked_for(
    auto: Automation, api: TestClient
) -> None:
    url = f"/api/v1.0/PipelineRuns/PipelineEndpointSubmit/Id/{auto.endpoint.id}"
    default = api.post(url, json=BODY, headers=auto.header).json()
    assert (default["PipelineId"], default["PipelineVersion"]) == (auto.published.id, "0")
    chosen = api.post(url, json={**BODY, "PipelineVersion": "1"}, headers=auto.header).json()
    assert (chosen["PipelineId"], chosen["PipelineEndpointId"]) == (
        auto.other.id,
        auto.endpoint.id,
    )
    missing = api.post(url, json={**BODY, "PipelineVersion": "7"}, headers=auto.header)
    assert missing.status_code == 400 and "has no version '7'" in missing.text
    for answer in (default, chosen):
        assert Run.get(auto.ws, answer["Id"]).wait_for_completion(show_output=False) == "Finished"


def test_the_auth_classes_give_the_header_the_portal_takes(
    auto: Automation, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = (auto.ws.root / ".hyperpipe" / "portal-token").read_text().strip()
    assert auto.header == {"Authorization": f"Bearer {token}"}
    assert (auto.ws.root / ".hyperpipe" / "portal-token").stat().st_mode & 0o077 == 0
    monkeypatch.chdir(auto.ws.root)  # no workspace given: the one found from here
    assert ServicePrincipalAuthentication("t", "id", "secret").get_authentication_header() == (
        auto.header
    )
    monkeypatch.setenv("HYPERPIPE_PORTAL_TOKEN", "given-token-123")
    assert InteractiveLoginAuthentication().get_authentication_header() == {
        "Authorization": "Bearer given-token-123"
    }


def test_a_portal_with_a_token_takes_it_and_refuses_cross_site_posts(auto: Automation) -> None:
    from fastapi.testclient import TestClient

    from hyperpipe.portal import create_app

    token = "portal-token-for-tests"
    with TestClient(create_app(auto.ws, token=token), base_url="http://10.0.0.5:8765") as client:
        assert client.post(_url(auto.published), json=BODY).status_code == 401
        cross = client.post(
            _url(auto.published),
            data={"ExperimentName": "x"},
            headers={"Origin": "http://evil.example", "Cookie": f"hyperpipe_portal_token={token}"},
        )
        assert cross.status_code == 403
        ok = client.post(
            _url(auto.published), json=BODY, headers={"Authorization": f"Bearer {token}"}
        )
        assert ok.status_code == 200, ok.text
        run = Run.get(auto.ws, ok.json()["Id"])
        assert run.wait_for_completion(show_output=False) == "Finished"


def test_the_openapi_schema_has_the_rest_routes_with_sdk_v1_names(api: TestClient) -> None:
    from openapi_spec_validator import validate

    schema = api.get("/openapi.json").json()
    validate(schema)
    post = schema["paths"]["/api/v1.0/PipelineRuns/PipelineSubmit/{pipeline_id}"]["post"]
    assert {"400", "401", "403", "404"} <= set(post["responses"])
    request = schema["components"]["schemas"]["SubmitRequest"]["properties"]
    assert {"ExperimentName", "ParameterAssignments", "DataPathAssignments"} <= set(request)
    endpoint = schema["components"]["schemas"]["SubmitEndpointRequest"]["properties"]
    assert "PipelineVersion" in endpoint
    answer = schema["components"]["schemas"]["PipelineRunSubmitted"]["properties"]
    assert {"Id", "Status", "PipelineId", "RunHistoryExperimentName"} <= set(answer)
    assert "/api/v1.0/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}" in schema["paths"]
    assert "/api/schedules/{schedule_id}" in schema["paths"]


def test_a_run_submitted_over_rest_finishes_after_the_server_is_gone(
    auto: Automation, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(auto.ws) as served:
        monkeypatch.setenv("HYPERPIPE_PORTAL_URL", served.url)
        endpoint = PublishedPipeline.get(auto.ws, auto.published.id).endpoint
        assert endpoint.startswith(served.url)
        request = urllib.request.Request(
            endpoint,
            data=json.dumps({"ExperimentName": "rest", "ParameterAssignments": {"n": 9}}).encode(),
            headers={**auto.header, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                urllib.request.Request(
                    endpoint,
                    data=b"ExperimentName=rest",
                    headers={"Origin": "http://evil.example"},
                    method="POST",
                ),
                timeout=30,
            )
        assert refused.value.code == 403
    run = Run.get(auto.ws, answer["Id"])  # the server has stopped; the run goes on
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert "N 9" in run.find_step_run("step.py")[0].get_job_log()


# -- what the portal shows --------------------------------------------------------------------


def test_the_api_lists_published_pipelines_endpoints_and_schedules(
    auto: Automation, api: TestClient
) -> None:
    published = {p["id"]: p for p in api.get("/api/published").json()}
    assert published[auto.published.id]["parameters"] == [
        {"name": "n", "type": "int", "default": 1}
    ]
    detail = api.get(f"/api/published/{auto.published.id}").json()
    assert detail["steps"] == ["step.py"] and detail["schedules"][0]["id"] == auto.schedule.id
    (endpoint,) = api.get("/api/endpoints").json()
    assert [(v["version"], v["default"]) for v in endpoint["versions"]] == [
        ("0", True),
        ("1", False),
    ]
    schedule = api.get(f"/api/schedules/{auto.schedule.id}").json()
    assert [(f["outcome"], f["due_at"] - T0) for f in schedule["fires"]] == [
        ("Submitted", 240.0),
        ("Skipped", 180.0),
        ("Skipped", 120.0),
        ("Skipped", 60.0),
        ("Submitted", 0.0),
    ]
    assert schedule["skipped_count"] == 3
    assert schedule["fires"][0]["run_status"] == "Finished"
    assert schedule["trigger"].startswith("every 1 Minute")
    assert schedule["next_due_at"] is not None
    assert api.get("/api/schedules/nope").status_code == 404


def test_pages_show_versions_next_due_times_fires_and_skipped_reasons(
    auto: Automation, api: TestClient
) -> None:
    page = api.get(f"/schedules/{auto.schedule.id}").text
    assert "missed while no scheduler ran" in page
    assert page.count('class="fire fire-skipped"') == 3
    run_id = auto.schedule.get_last_pipeline_run().id
    assert f'href="/runs/{run_id}"' in page
    listing = api.get("/schedules").text
    assert "every-minute" in listing and "No scheduler is running" in listing
    endpoint = api.get(f"/endpoints/{auto.endpoint.id}").text
    assert 'id="default-version">0<' in endpoint and auto.other.id in endpoint
    published = api.get(f"/published/{auto.published.id}").text
    assert f"POST {auto.published.endpoint}" in published
    assert api.get("/published").status_code == api.get("/endpoints").status_code == 200
    assert api.get("/published/nope").status_code == 404
