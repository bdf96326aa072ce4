"""``hyperpipe portal --scheduler`` in a real Chromium: the portal's own scheduler loop fires a
schedule on a test clock, and the pages show its next due time, its fires with their runs, the
skipped due times with the reason, and an endpoint's versions with the default marked."""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, expect
from tests.portal.conftest import serving

from hyperpipe.core import Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.pipeline._daemon import CLOCK_ENV
from hyperpipe.pipeline.core import (
    Pipeline,
    PipelineEndpoint,
    PipelineParameter,
    Schedule,
    ScheduleRecurrence,
)
from hyperpipe.pipeline.steps import PythonScriptStep

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests/output/portal"
T0 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
pytestmark = [pytest.mark.timeout(300)]


def _set_time(clock: Path, ts: float) -> None:
    temp = clock.with_suffix(".tmp")
    temp.write_text(repr(ts))
    os.replace(temp, clock)


def _wait_for(predicate, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def scheduled(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, Schedule, PipelineEndpoint, str]]:
    root = tmp_path_factory.mktemp("scheduled")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("HYPERPIPE_STORE_URL", raising=False)
        ws = Workspace.create("scheduled", path=root / "ws")
        ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2))
        (root / "src").mkdir()
        (root / "src" / "tick.py").write_text(
            textwrap.dedent("import sys\nprint('tick', sys.argv[1:])\n")
        )
        n = PipelineParameter("n", default_value=1)
        step = PythonScriptStep(
            "tick.py", source_directory=root / "src", arguments=["--n", n], compute_target="cpu"
        )
        published = Pipeline(ws, [step]).publish("ticker", version="1")
        endpoint = PipelineEndpoint.publish(ws, "ticking", "ticks", published)
        endpoint.add_default(Pipeline(ws, [step]).publish("ticker", version="2"))
        schedule = Schedule.create(
            ws,
            "every-minute",
            published.id,
            "ticks",
            recurrence=ScheduleRecurrence("Minute", 1, start_time="2030-01-01T00:00:00"),
        )
        clock = root / "clock"
        _set_time(clock, T0 + 1)
        with serving(ws, "--scheduler", env={CLOCK_ENV: f"file:{clock}"}) as served:
            _wait_for(lambda: schedule.get_last_pipeline_run() is not None)
            _set_time(clock, T0 + 4 * 60 + 1)  # three due times pass unfired: the clock jumped
            _wait_for(lambda: len(schedule.get_fires()) == 5)
            for run in schedule.get_pipeline_runs():
                run.wait_for_completion(show_output=False)
            yield ws, schedule, endpoint, served.url


def test_the_schedule_pages_show_next_due_fires_runs_and_skipped_reasons(
    browser: Browser, scheduled: tuple[Workspace, Schedule, PipelineEndpoint, str]
) -> None:
    _ws, schedule, endpoint, url = scheduled
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/schedules")
    row = page.locator(f"#schedule-{schedule.id}")
    expect(row).to_contain_text("every-minute")
    expect(row).to_contain_text("every 1 Minute")
    expect(row.locator(".next-due")).not_to_have_text("-")
    expect(row.locator(".fire-submitted")).to_have_text("Submitted")
    expect(page.locator("#schedulers")).to_contain_text("yes")  # the portal's own loop
    row.get_by_role("link", name="every-minute").click()

    expect(page.locator("h1")).to_contain_text("every-minute")
    fires = page.locator("#fires tbody tr")
    expect(fires).to_have_count(5)
    skipped = page.locator("tr.fire-skipped")
    expect(skipped).to_have_count(3)
    expect(skipped.first.locator(".reason")).to_contain_text("missed while no scheduler ran")
    expect(page.locator("#skipped-count")).to_have_text("3")
    expect(page.locator("#next-due")).not_to_have_text("-")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "schedule.png"), full_page=True)

    last = schedule.get_last_pipeline_run()
    page.locator(f'a[href="/runs/{last.id}"]').click()
    # Named by its steps, the id second (under the title).
    expect(page.locator("#header-region")).to_contain_text(last.id)

    page.goto(url + f"/endpoints/{endpoint.id}")
    expect(page.locator("#default-version")).to_have_text("1")
    expect(page.locator("#versions tr.default")).to_contain_text("default")
    page.goto(url + "/published")
    expect(page.locator("#published tbody tr")).to_have_count(2)
    assert errors == []
    page.close()
