"""Runs named and numbered as a person reads them, in Chromium and in the API: "Run 2 ·
prep.py + 1 step" with the id beneath, trials and steps counted within their parent."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from playwright.sync_api import Page
    from tests.portal.conftest import Lab


def _column(page: Page, table: str, css: str) -> list[str]:
    return [t.strip() for t in page.locator(f"{table} tbody {css}").all_inner_texts()]


def test_the_api_names_and_numbers_runs_within_their_experiment(
    lab: Lab, client: TestClient
) -> None:
    runs = client.get("/api/experiments/pipes/runs", params={"order": "created"}).json()["runs"]
    assert [(r["label"], r["title"]) for r in runs] == [
        ("Run 1", "prep.py + 1 step"),
        ("Run 2", "prep.py + 1 step"),
    ]
    # The SDK's number counts the steps too; the label counts what the list shows.
    assert runs[1]["number"] == 4 and runs[1]["position"] == 2
    detail = client.get(f"/api/runs/{quote(lab.pipeline)}").json()
    assert [(c["label"], c["title"]) for c in detail["children"]] == [
        ("step 1", "prep"),
        ("step 2", "train"),
    ]
    sweep = client.get(f"/api/runs/{quote(lab.sweep)}").json()
    assert (sweep["label"], sweep["title"]) == ("Run 1", "sweep of trial.py")
    trials = client.get(f"/api/runs/{quote(lab.sweep)}").json()["children"]
    assert [t["label"] for t in trials] == ["trial 1", "trial 2", "trial 3", "trial 4"]
    assert {t["title"] for t in trials} == {"trial.py"}


def test_run_lists_show_names_and_numbers_with_the_id_beneath(
    lab: Lab, base: str, page: Page
) -> None:
    page.goto(f"{base}/experiments/sweep")
    # Two sweeps of four trials each: Run 1 and Run 2, not #1 and #6.
    assert _column(page, "#runs", "td.run-label") == ["Run 2", "Run 1"]
    assert _column(page, "#runs", "a.run-link") == ["sweep of alternate.py", "sweep of trial.py"]
    assert _column(page, "#runs", ".run-id") == [lab.policy_sweep, lab.sweep]
    page.goto(f"{base}/experiments/pipes")
    assert _column(page, "#runs", "a.run-link") == ["prep.py + 1 step"] * 2
    page.goto(f"{base}/runs/{quote(lab.pipeline)}")
    assert page.locator("h1").inner_text().startswith("Run 1 prep.py + 1 step")
    assert _column(page, "#children", "td.run-label") == ["step 1", "step 2"]
    assert _column(page, "#children", "a.run-link") == ["prep", "train"]
    page.goto(f"{base}/runs/{quote(lab.sweep)}")
    assert _column(page, "#trials", "a.run-link") == [f"trial {i}" for i in range(1, 5)]
    page.goto(f"{base}/runs/{quote(lab.sweep)}_1")
    assert page.locator("h1").inner_text().startswith("trial 2 trial.py")
    assert "of Run 1 (sweep of trial.py)" in page.locator("#header-region").inner_text()


def test_compare_names_its_runs_in_the_table_and_the_legends(
    lab: Lab, base: str, page: Page
) -> None:
    page.goto(f"{base}/compare?run={quote(lab.policy_sweep)}_0&run={quote(lab.policy_sweep)}_1")
    assert _column(page, "#compare", "td.run-label") == ["trial 1", "trial 2"]
    assert _column(page, "#compare", "a.run-link") == ["alternate.py"] * 2
    page.locator(".compare-chart canvas").first.wait_for()
    legend = page.locator(".compare-chart .u-legend .u-series th").all_inner_texts()
    assert "trial 1 alternate.py" in [t.strip() for t in legend]
