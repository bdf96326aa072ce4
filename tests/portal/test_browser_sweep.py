"""A sweep whose policy stopped trials, in a real browser: curves cut short, dashed lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.portal.conftest import SHOTS, watched_tab

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page
    from tests.portal.conftest import Lab


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_tab(browser, 1400, 1000) as tab:
        yield tab


def test_early_terminated_trials_show_as_short_dashed_curves(
    lab: Lab, base: str, page: Page
) -> None:
    page.goto(f"{base}/runs/{lab.policy_sweep}")
    curves = page.locator(".trial-curves[data-drawn=true]")
    curves.locator("canvas").wait_for()
    assert curves.get_attribute("data-trials") == "4"
    assert curves.is_visible()
    parallel = page.locator(".parallel[data-drawn=true]")
    parallel.locator("svg.pcoords").wait_for()
    assert parallel.locator("polyline.early").count() == 2  # drawn dashed
    assert page.locator("#trials .early-badge").count() == 2
    page.screenshot(path=str(SHOTS / "sweep-policy.png"), full_page=True)


def test_runs_ticked_in_a_list_are_compared_on_shared_charts(
    lab: Lab, base: str, page: Page
) -> None:
    page.goto(f"{base}/experiments/sweep?children=true&q={lab.policy_sweep}_")
    boxes = page.locator("#runs input[name=run]")
    assert boxes.count() == 4  # the policy sweep's trials
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url("**/compare?run=*")
    chart = page.locator('.compare-chart[data-metric="accuracy"][data-drawn=true]')
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-lines") == "2"
    assert page.locator("#compare tbody tr").count() == 2
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)
