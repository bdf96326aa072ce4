"""The portal in a real headless Chromium, on a workspace where the lab pipeline has run (small).

Drives Debian's /usr/bin/chromium with Playwright (never ``playwright install``): the pipeline
graph, the HyperDrive page with its parallel coordinates, a drawn metric chart and a live run's
log tail. Screenshots of each page land in tests/output/portal/. Without Chromium these tests
skip, except under CI (CI=true), where they fail.
"""

from __future__ import annotations

import re
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page
from tests.portal.conftest import Served, serving

from hyperpipe.core import Experiment, ScriptRunConfig, Workspace
from hyperpipe.core.compute import AmlCompute, ComputeTarget
from hyperpipe.examples.newsgroups.prepare import prepare

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT.parent / "shared/data/20news-bydate.tar.gz"
SHOTS = ROOT / "tests/output/portal"
TERMINAL = ("Completed", "Finished", "Failed", "Canceled", "Crashed")
PARAMETERS = ["learning_rate", "num_epochs", "batch_size", "hidden_size"]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"no archive at {ARCHIVE}"),
]

# Pixels of a canvas close to one colour: proof that a series was drawn, not only the axes.
COLOURED_PIXELS = """(el, rgb) => {
  const c = el.querySelector("canvas");
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1]) + Math.abs(d[i + 2] - rgb[2]) < 60) n++;
  return n;
}"""

# The last "line N" in the log pane; with an argument, whether it reached that N. A function,
# never a bare expression: the portal's CSP (rightly) forbids the eval a bare one would need.
LAST_LINE = """(atLeast) => {
  const text = document.getElementById("log").textContent;
  const last = Math.max(0, ...[...text.matchAll(/^line (\\d+)$/gm)].map((m) => Number(m[1])));
  return atLeast === undefined ? last : last >= atLeast;
}"""

SLOW = """
import time
from hyperpipe.core import Run

run = Run.get_context()
for i in range(1, 51):
    print(f"line {i}", flush=True)
    run.log("progress", i)
    time.sleep(0.3)
print("done", flush=True)
"""


@dataclass
class LabRun:
    """The lab pipeline, run once with small settings."""

    ws: Workspace
    pipeline_id: str
    steps: dict[str, str]
    loss_count: int


@dataclass
class Tab:
    page: Page
    portal: Served
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        response = self.page.goto(self.portal.url + path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / name), full_page=True)


@pytest.fixture(scope="module", autouse=True)
def _browser_first(browser: Browser) -> None:
    """Skip (or fail under CI) before building the lab when there is no browser."""


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabRun]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("HYPERPIPE_STORE_URL", raising=False)
        mp.delenv("AZUREML_RUN_ID", raising=False)
        ws = Workspace.create("lab", path=tmp_path_factory.mktemp("lab"))
        for name, nodes in (("hypercomputegpu", 2), ("fullcomputegpu", 1)):
            ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=nodes))
        prepare(ws, ARCHIVE)
        mp.syspath_prepend(str(ROOT / "examples/newsgroups/code/pipelines"))
        from pipeline_retrain import SPACES, build_pipeline

        pipeline = build_pipeline(ws, SPACES["quick"], 3, 2)
        run = Experiment(ws, "re-train").submit(pipeline)
        run.wait_for_completion(show_output=False)
        assert run.get_status() == "Finished"
        steps = {s.name: s for s in run.get_steps()}
        loss = steps["fullmodel"].get_metrics()["loss"]
        yield LabRun(ws, run.id, {name: s.id for name, s in steps.items()}, len(loss))


@pytest.fixture(scope="module")
def portal(lab_run: LabRun) -> Iterator[Served]:
    with serving(lab_run.ws) as served:
        yield served


@pytest.fixture
def tab(browser: Browser, portal: Served) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    opened = Tab(page, portal)
    page.on("pageerror", lambda exc: opened.errors.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda m: (
            opened.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        ),
    )
    yield opened
    context.close()
    assert not opened.errors, "\n".join(opened.errors) + f"\nportal log:\n{portal.log()}"


def coloured(tab: Tab, selector: str, rgb: tuple[int, int, int]) -> int:
    """How many pixels of the chart's canvas are drawn in (about) ``rgb``."""
    chart = tab.page.locator(selector)
    size = chart.locator("canvas").bounding_box()
    assert size is not None and size["width"] > 100 and size["height"] > 100, size
    return int(chart.evaluate(COLOURED_PIXELS, list(rgb)))


def trial_metrics(tab: Tab) -> list[float]:
    cells = tab.page.locator("#trials tbody tr td:nth-child(4)")
    return [float(v) for v in cells.evaluate_all("cs => cs.map(c => c.dataset.value)")]


def test_pipeline_graph_shows_both_steps_finished_and_links_to_them(
    tab: Tab, lab_run: LabRun
) -> None:
    tab.open(f"/runs/{lab_run.pipeline_id}")
    graph = tab.page.locator("#pipeline-graph")
    for step in ("hypertrain", "fullmodel"):
        node = graph.locator(f"g.node-step[data-step={step}]")
        assert node.get_attribute("data-status") == "Finished"
        assert node.locator(".node-status").text_content() == "Finished"
        assert node.is_visible()
    tab.shot("pipeline.png")
    graph.locator("g.node-step[data-step=fullmodel]").click()
    tab.page.wait_for_url(f"**/runs/{lab_run.steps['fullmodel']}")
    assert tab.page.locator("h1").inner_text().startswith("step 2 fullmodel")


def test_hyperdrive_page_shows_trials_parallel_coordinates_and_sorts(
    tab: Tab, lab_run: LabRun
) -> None:
    tab.open(f"/runs/{lab_run.steps['hypertrain']}")
    tab.page.locator("#hyperdrive-region h2 a").click()
    tab.page.wait_for_url("**/runs/HD_*")
    page = tab.page
    assert page.locator("#trials tbody tr").count() == 3
    scored = len(trial_metrics(tab))  # every trial has an accuracy (float("") would fail)
    chart = page.locator(".parallel[data-drawn=true]")
    chart.locator("svg.pcoords").wait_for()
    assert chart.get_attribute("data-lines") == str(scored)
    assert chart.locator("svg.pcoords polyline").count() == scored
    labels = chart.locator("g.axis > text:not(.tick)").all_text_contents()
    assert [label.removesuffix(" (log)") for label in labels] == [*PARAMETERS, "accuracy"]
    page.locator(".best-so-far[data-drawn=true] canvas").wait_for()
    # The lab's trials log accuracy once, at the end: no per-trial curves to draw.
    page.locator(".trial-curves[data-drawn=skipped]").wait_for(state="attached")
    assert not page.locator(".trial-curves").is_visible()
    assert coloured(tab, ".best-so-far", (31, 138, 76)) > 50  # the green best-so-far line
    tab.shot("hyperdrive.png")

    header = page.locator("#trials th.primary")
    assert header.inner_text() == "accuracy"
    header.click()
    ascending = trial_metrics(tab)
    assert ascending == sorted(ascending) and len(ascending) == 3
    header.click()
    assert trial_metrics(tab) == sorted(ascending, reverse=True)


def test_metric_chart_of_the_full_model_is_drawn(tab: Tab, lab_run: LabRun) -> None:
    tab.open(f"/runs/{lab_run.steps['fullmodel']}")
    chart = tab.page.locator('.metric-chart[data-name="loss"]')
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-drawn") == "true"
    assert chart.get_attribute("data-points") == str(lab_run.loss_count)
    blank = chart.evaluate(
        "e => { const c = e.querySelector('canvas'), b = document.createElement('canvas');"
        " b.width = c.width; b.height = c.height; return c.toDataURL() === b.toDataURL(); }"
    )
    assert not blank
    assert coloured(tab, '.metric-chart[data-name="loss"]', (47, 111, 222)) > 50  # the loss line
    tab.shot("metric-chart.png")


def test_live_run_log_tail_and_status_update_without_reload(
    tab: Tab, lab_run: LabRun, tmp_path: Path
) -> None:
    (tmp_path / "slow.py").write_text(textwrap.dedent(SLOW))
    run = Experiment(lab_run.ws, "live").submit(ScriptRunConfig(str(tmp_path), "slow.py"))
    try:
        deadline = time.monotonic() + 60
        while (status := run.get_status()) != "Running":
            assert status in ("NotStarted", "Queued", "Preparing"), status
            assert time.monotonic() < deadline, f"the run never started: {status}"
            time.sleep(0.1)
        tab.open(f"/runs/{run.id}")
        page = tab.page
        assert page.locator("#log").get_attribute("data-follow") == "true"
        page.evaluate("() => { window.__noReload = 42; }")
        first = page.evaluate(LAST_LINE)
        page.wait_for_function(LAST_LINE, arg=first + 3, timeout=20_000)
        assert page.evaluate("() => window.__noReload") == 42
        tab.shot("live-log.png")

        status = page.locator("#header-region h1 .status")
        status.filter(has_text="Completed").wait_for(timeout=45_000)
        page.locator("#log[data-follow=ended]").wait_for(timeout=15_000)
        assert page.evaluate("() => window.__noReload") == 42
        log = page.locator("#log").text_content() or ""
        assert re.findall(r"^line (\d+)$", log, re.M) == [str(i) for i in range(1, 51)]
        assert log.rstrip().endswith("done")
        page.locator('.metric-chart[data-name="progress"][data-drawn=true]').wait_for()
        tab.shot("live-log-ended.png")
    finally:
        if run.get_status() not in TERMINAL:
            run.cancel()
        run.wait_for_completion(raise_on_error=False)


def test_experiments_and_runs_pages_lead_to_the_pipeline_run(tab: Tab, lab_run: LabRun) -> None:
    tab.open("/")
    tab.page.locator("#experiments a", has_text="re-train").click()
    tab.page.wait_for_url("**/experiments/re-train")
    row = tab.page.locator("#runs tbody tr").filter(
        has=tab.page.locator(f'a.run-link[href="/runs/{lab_run.pipeline_id}"]')
    )
    assert row.count() == 1
    assert "pipeline" in row.inner_text() and "Finished" in row.inner_text()
    row.locator("a.run-link").click()
    tab.page.wait_for_url(f"**/runs/{lab_run.pipeline_id}")
    tab.page.locator("#pipeline-graph").wait_for()
