"""``hyperpipe pipelines publish``, ``published``, ``endpoints``, ``schedules`` and ``scheduler``
as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.pipeline.conftest import wait_for

from hyperpipe.compute._process import start_time
from hyperpipe.core import Run
from hyperpipe.pipeline._daemon import CLOCK_ENV, stop_schedulers
from hyperpipe.pipeline.core import PipelineEndpoint, PublishedPipeline, Schedule

if TYPE_CHECKING:
    from pathlib import Path

    from hyperpipe.core import Workspace

pytestmark = pytest.mark.timeout(300)

SCRIPT = """
from hyperpipe.pipeline.core import Pipeline, PipelineParameter
from hyperpipe.pipeline.steps import PythonScriptStep

HERE = __file__.rsplit("/", 1)[0]


def build_pipeline(workspace):
    rows = PipelineParameter("rows", default_value=2)
    step = PythonScriptStep(
        "echo.py", source_directory=HERE + "/step", arguments=["--rows", rows], compute_target="cpu"
    )
    return Pipeline(workspace, [step], description="echo rows")


if __name__ == "__main__":
    raise SystemExit("importing for publish must not run this")
"""


def hyperpipe(ws: Workspace, *args: str, check: bool = True, env: dict | None = None):
    result = subprocess.run(
        [sys.executable, "-m", "hyperpipe", "-w", str(ws.root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def script(tmp_path: Path, target: str) -> Path:
    folder = tmp_path / "proj"
    (folder / "step").mkdir(parents=True)
    (folder / "step" / "echo.py").write_text("import sys\nprint('ROWS', sys.argv[2])\n")
    (folder / "build.py").write_text(textwrap.dedent(SCRIPT))
    return folder / "build.py"


def test_publish_a_script_then_list_show_submit_disable_and_enable(
    ws: Workspace, script: Path
) -> None:
    published = hyperpipe(
        ws, "pipelines", "publish", str(script), "--name", "echo", "--version", "3"
    )
    pipeline_id = published.stdout.strip()
    assert PublishedPipeline.get(ws, pipeline_id).version == "3"
    assert "hyperpipe published submit" in published.stderr

    listing = hyperpipe(ws, "published", "list").stdout
    assert pipeline_id in listing and "rows=2" in listing
    shown = hyperpipe(ws, "published", "show", pipeline_id).stdout
    assert f"/api/v1.0/PipelineRuns/PipelineSubmit/{pipeline_id}" in shown
    assert "rows (int) = 2" in shown

    submitted = hyperpipe(ws, "published", "submit", pipeline_id, "-e", "cli", "-p", "rows=7")
    run = Run.get(ws, submitted.stdout.strip().splitlines()[-1])
    assert run.get_status() == "Finished"
    assert "ROWS 7" in run.find_step_run("echo.py")[0].get_job_log()

    bad = hyperpipe(ws, "published", "submit", pipeline_id, "-e", "cli", "-p", "row=7", check=False)
    assert bad.returncode == 1
    assert "pipeline parameter 'row' does not exist in this pipeline; its parameters: rows" in (
        bad.stderr
    )
    assert len(bad.stderr.strip().splitlines()) == 1
    hyperpipe(ws, "published", "disable", pipeline_id)
    refused = hyperpipe(ws, "published", "submit", pipeline_id, "-e", "cli", check=False)
    assert refused.returncode == 1 and f"hyperpipe published enable {pipeline_id}" in refused.stderr
    assert pipeline_id not in hyperpipe(ws, "published", "list").stdout
    hyperpipe(ws, "published", "enable", pipeline_id)

    from_run = hyperpipe(ws, "pipelines", "publish", run.id, "--name", "again").stdout.strip()
    assert PublishedPipeline.get(ws, from_run)._record.source_run_id == run.id


def test_endpoints_from_the_command_line(ws: Workspace, script: Path) -> None:
    first = hyperpipe(ws, "pipelines", "publish", str(script), "-n", "a").stdout.strip()
    second = hyperpipe(ws, "pipelines", "publish", str(script), "-n", "b").stdout.strip()
    hyperpipe(ws, "endpoints", "create", "echo", first, "--description", "echo endpoint")
    hyperpipe(ws, "endpoints", "add", "echo", second)
    listing = hyperpipe(ws, "endpoints", "list").stdout
    assert "echo" in listing
    hyperpipe(ws, "endpoints", "set-default", "echo", "1")
    assert PipelineEndpoint.get(ws, name="echo").default_version == "1"
    shown = hyperpipe(ws, "endpoints", "show", "echo").stdout
    assert first in shown and second in shown
    missing = hyperpipe(ws, "endpoints", "set-default", "echo", "9", check=False)
    assert missing.returncode == 1 and "cannot set version '9'" in missing.stderr
    run_id = hyperpipe(ws, "endpoints", "submit", "echo", "-e", "cli", "-p", "rows=4").stdout
    run = Run.get(ws, run_id.strip().splitlines()[-1])
    assert run.properties["azureml.pipelineid"] == second


def test_schedules_and_the_scheduler_from_the_command_line(
    ws: Workspace, script: Path, tmp_path: Path
) -> None:
    pipeline_id = hyperpipe(ws, "pipelines", "publish", str(script), "-n", "echo").stdout.strip()
    bad = hyperpipe(
        ws,
        "schedules",
        "create",
        "bad",
        "--pipeline-id",
        pipeline_id,
        "-e",
        "cli",
        "--frequency",
        "Minute",
        "--hours",
        "9",
        check=False,
    )
    assert bad.returncode == 1
    assert "hours=[9] can only be given with frequency 'Day' or 'Week'" in bad.stderr
    made = hyperpipe(
        ws,
        "schedules",
        "create",
        "every-minute",
        "--pipeline-id",
        pipeline_id,
        "-e",
        "cli",
        "--frequency",
        "Minute",
        "--start-time",
        "2030-01-01T00:00:00",
        "-p",
        "rows=3",
    ).stdout
    (schedule,) = Schedule.list(ws)
    assert schedule.id in made and schedule.pipeline_parameters == {"rows": 3}
    assert "2030-01-01" in hyperpipe(ws, "schedules", "list").stdout

    clock = tmp_path / "clock"
    clock.write_text(repr(datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC).timestamp()))
    once = hyperpipe(ws, "scheduler", "--once", env={CLOCK_ENV: f"file:{clock}"})
    assert "Submitted" in once.stdout and "1 fire(s)" in once.stderr
    run = schedule.get_last_pipeline_run()
    assert run.wait_for_completion(show_output=False) == "Finished"
    shown = hyperpipe(ws, "schedules", "show", schedule.id).stdout
    assert "Submitted" in shown and run.id in shown

    hyperpipe(ws, "schedules", "disable", schedule.id)
    assert Schedule.get(ws, schedule.id).status == "Disabled"
    hyperpipe(ws, "schedules", "enable", schedule.id)
    assert Schedule.get(ws, schedule.id).status == "Active"

    scheduler_id = hyperpipe(ws, "scheduler", "--detach").stdout.strip()
    record = ws._store.get_scheduler(scheduler_id)
    process = psutil.Process(record.pid)
    assert record.pid_started_at == start_time(record.pid)
    assert scheduler_id in hyperpipe(ws, "scheduler", "status").stdout
    stopped = hyperpipe(ws, "scheduler", "stop", scheduler_id).stdout
    assert scheduler_id in stopped
    process.wait(timeout=30)
    wait_for(lambda: ws._store.get_scheduler(scheduler_id).stopped_at is not None)
    assert "No scheduler running" in hyperpipe(ws, "scheduler", "status").stdout


def test_a_detached_scheduler_stopped_while_it_starts_up_still_records_its_stop(
    ws: Workspace,
) -> None:
    scheduler_id = hyperpipe(ws, "scheduler", "--detach").stdout.strip()
    record = ws._store.get_scheduler(scheduler_id)
    process = psutil.Process(record.pid)
    # At once: the new process has not yet got as far as handling a stop.
    assert stop_schedulers(ws, scheduler_id) == [scheduler_id]

    process.wait(timeout=60)
    # It handled the signal, rather than died of it: it recorded its own stop before exiting.
    assert ws._store.get_scheduler(scheduler_id).stopped_at is not None


def test_names_that_look_like_markup_are_shown_as_written(ws: Workspace, script: Path) -> None:
    name = "echo[/]x [bold]y"
    pipeline_id = hyperpipe(ws, "pipelines", "publish", str(script), "-n", name).stdout.strip()
    published = hyperpipe(ws, "published", "list").stdout
    assert name in published
    assert f"{name} {pipeline_id}" in hyperpipe(ws, "published", "show", pipeline_id).stdout
    hyperpipe(ws, "endpoints", "create", "ep[/]", pipeline_id, "--description", "[red]d[/]")
    shown = hyperpipe(ws, "endpoints", "show", "ep[/]").stdout
    assert "ep[/]" in shown and "[red]d[/]" in shown and name in shown
    hyperpipe(
        ws,
        "schedules",
        "create",
        "nightly[/]",
        "--pipeline-id",
        pipeline_id,
        "-e",
        "cli",
        "--frequency",
        "Day",
    )
    (schedule,) = Schedule.list(ws)
    assert "nightly[/]" in hyperpipe(ws, "schedules", "list").stdout
    assert "nightly[/]" in hyperpipe(ws, "schedules", "show", schedule.id).stdout
