"""Out-of-range and oversized input is a 400 naming the limit, never a server error; the token
login never redirects off the portal; tokens a browser cannot carry are refused at start."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperpipe.exceptions import ConfigError
from hyperpipe.portal import create_app
from hyperpipe.portal._security import check_binding


def test_an_out_of_range_offset_is_a_400_naming_the_limit(client: TestClient, lab) -> None:
    response = client.get("/api/experiments/tracking/runs?offset=9223372036854775808")
    assert response.status_code == 400
    assert "offset" in response.json()["detail"] and "9007199254740992" in response.json()["detail"]
    response = client.get(f"/api/runs/{lab.tracking}/log?offset=-9223372036854775808")
    assert response.status_code == 400


def test_a_huge_search_is_a_400_with_the_limit_on_pages_and_api(client: TestClient) -> None:
    for path in ("/api/experiments/tracking/runs", "/experiments/tracking"):
        response = client.get(path, params={"q": "x" * 50_000})
        assert response.status_code == 400
        assert "at most 1000 characters" in response.text


@pytest.mark.parametrize("path", ["//other.host/x", "/\\\\other.host/x", "///other.host"])
def test_the_token_login_redirects_only_within_the_portal(lab, path: str) -> None:
    token = "s3cret-token-for-tests"
    with TestClient(create_app(lab.ws, token=token), base_url="http://127.0.0.1:8765") as client:
        response = client.get(f"{path}?token={token}", follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.parametrize("token", ["has;semicolon", "has a space", "naïve-token-x", 'quote"token'])
def test_a_token_a_browser_cannot_send_back_is_refused_at_start(token: str) -> None:
    with pytest.raises(ConfigError, match="characters a browser cannot send back"):
        check_binding("0.0.0.0", token)


def test_no_portal_operation_answers_a_server_error(lab) -> None:
    """A bounded Schemathesis run: every operation of the OpenAPI schema, generated input."""
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(lab.ws), headers={"host": "127.0.0.1"}
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16

    # Generated ids find nothing: half the cases look at the workspace's real runs instead.
    known = {
        "run_id": [lab.tracking, lab.hostile, lab.pipeline, lab.sweep, lab.policy_sweep],
        "name": ["tracking", lab.dataset],
    }
    for operation in operations:

        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy(), data=st.data())
        def call(case, data) -> None:
            for key, choices in known.items():
                if (
                    case.path_parameters
                    and key in case.path_parameters
                    and data.draw(st.booleans())
                ):
                    case.path_parameters[key] = data.draw(st.sampled_from(choices))
            response = case.call(headers={"host": "127.0.0.1"})
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} {case.query}: {response.text[:300]}"
            )

        call()
