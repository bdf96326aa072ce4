"""The data drift pages: monitors listed, one monitor's checks charted and tabled with what
moved and the retrain its alarm started."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from tests.datadrift.conftest import DAY0, datasets, ws  # noqa: F401 (fixtures)

from hyperpipe.datadrift import DataDriftDetector
from hyperpipe.portal import create_app


def test_a_monitor_page_charts_its_checks_and_names_what_moved(ws, datasets) -> None:  # noqa: F811
    baseline, target = datasets
    detector = DataDriftDetector.create_from_datasets(ws, "posts", baseline, target)
    detector.backfill(DAY0, DAY0 + timedelta(days=3))
    client = TestClient(create_app(ws), base_url="http://127.0.0.1:8765")

    listing = client.get("/datadrift")
    assert listing.status_code == 200
    assert 'href="/datadrift/posts"' in listing.text and "<td>2</td>" in listing.text  # 2 alarms

    page = client.get("/datadrift/posts")
    assert page.status_code == 200
    assert page.text.count('class="drift-row"') == 2
    assert "hockey" in page.text or "puck" in page.text or "goalie" in page.text
    assert 'data-src="/api/datadrift/posts/series/p_value"' in page.text

    series = client.get("/api/datadrift/posts/series/datadrift_coefficient").json()
    assert series["x"] == [1, 2, 3, 4] and len(series["y"]) == 4
    assert series["y"][3] > series["y"][0]
    assert client.get("/datadrift/missing").status_code == 404
    assert client.get("/api/datadrift/posts/series/other").status_code == 404
