"""Metric charts in Chromium: a log/linear y scale and an x axis by step or by time, and the
colour scale of the parallel-coordinates chart, read from what the page draws."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from tests.portal.conftest import SHOTS

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from playwright.sync_api import Page
    from tests.portal.conftest import Lab


def test_a_metric_chart_switches_to_a_log_scale_and_to_time(
    lab: Lab, base: str, page: Page, client: TestClient
) -> None:
    series = client.get(f"/api/runs/{quote(lab.tracking)}/metrics/loss").json()
    assert len(series["t"]) == 50 and series["t"] == sorted(series["t"]) and series["t"][0] >= 0
    page.goto(f"{base}/runs/{quote(lab.tracking)}")
    chart = page.locator('.metric-chart[data-name="loss"]')
    chart.locator("canvas").wait_for()
    figure = page.locator("figure", has=chart)
    assert chart.get_attribute("data-y-scale") == "linear"
    assert chart.get_attribute("data-x-label") == "step"
    assert float(chart.get_attribute("data-x-max") or 0) == 49
    linear = chart.locator("canvas").screenshot()

    figure.locator("input.log-scale").check()
    assert chart.get_attribute("data-y-scale") == "log"
    assert chart.locator("canvas").screenshot() != linear  # the line is redrawn, not relabelled

    figure.locator("select.x-axis").select_option("time")
    assert chart.get_attribute("data-x-label") == "seconds since the run started"
    assert float(chart.get_attribute("data-x-max") or 0) == pytest.approx(series["t"][-1], abs=0.01)
    assert chart.get_attribute("data-y-scale") == "log"  # the other choice stays as it was
    page.screenshot(path=str(SHOTS / "metric-log-time-1280.png"), full_page=True)

    figure.locator("input.log-scale").uncheck()
    figure.locator("select.x-axis").select_option("step")
    assert (chart.get_attribute("data-y-scale"), chart.get_attribute("data-x-label")) == (
        "linear",
        "step",
    )


def test_trial_curves_and_compare_charts_have_the_log_toggle(
    lab: Lab, base: str, page: Page
) -> None:
    page.goto(f"{base}/runs/{quote(lab.policy_sweep)}")
    curves = page.locator(".trial-curves")
    curves.locator("canvas").wait_for()
    page.locator("figure", has=curves).locator("input.log-scale").check()
    assert curves.get_attribute("data-y-scale") == "log"
    page.goto(f"{base}/compare?run={quote(lab.policy_sweep)}_0&run={quote(lab.policy_sweep)}_1")
    chart = page.locator(".compare-chart").first
    chart.locator("canvas").wait_for()
    page.locator("figure", has=chart).locator("input.log-scale").check()
    assert chart.get_attribute("data-y-scale") == "log"


@pytest.mark.parametrize("width", [1280, 1920])
def test_parallel_coordinates_have_a_colour_scale_of_the_primary_metric(
    lab: Lab, base: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/runs/{quote(lab.sweep)}")
    chart = page.locator(".parallel svg.pcoords")
    chart.wait_for()
    scale = chart.locator(".colour-scale")
    # accuracy = 0.5 + lr * layers + 0.01 * epoch, best of 3 epochs: 0.53 to 0.72.
    assert float(scale.get_attribute("data-best") or 0) == pytest.approx(0.72)
    assert float(scale.get_attribute("data-worst") or 0) == pytest.approx(0.53)
    assert scale.locator(".scale-best").inner_html() == "0.72 best"
    assert scale.locator(".scale-worst").inner_html() == "0.53"
    assert scale.locator(".scale-title").inner_html() == "accuracy"
    stops = scale.evaluate(
        """g => Array.from(g.ownerSVGElement.querySelectorAll('linearGradient stop'))
                 .map(s => s.getAttribute('stop-color'))"""
    )
    # The bar's top is the best line's colour, its bottom the worst line's.
    lines = chart.locator("polyline.line")
    colours = {
        round(float(m), 2): lines.nth(i).get_attribute("stroke")
        for i, m in enumerate(
            lines.evaluate_all(
                """ls => ls.map(l => l.querySelector('title').textContent
                     .split('\\n').pop().split(' = ')[1])"""
            )
        )
    }
    assert colours[0.72] == stops[-1] and colours[0.53] == stops[0]
    assert stops[0] != stops[-1]
    # The bar and its labels sit inside the chart, right of the metric axis and its ticks.
    box = chart.bounding_box()
    bar = scale.bounding_box()
    ticks = chart.locator(".axis").last.bounding_box()
    assert box and bar and ticks
    assert ticks["x"] + ticks["width"] < bar["x"]
    assert bar["x"] + bar["width"] <= box["x"] + box["width"]
    page.locator(".parallel").screenshot(path=str(SHOTS / f"parallel-scale-{width}.png"))
