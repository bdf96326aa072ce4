"""Two real ``hyperpipe scheduler`` processes on one store (SQLite, PostgreSQL), on a test clock
read from a file: every due time fires exactly once; after the schedulers were down for five due
times, the latest fires once and four are recorded as skipped; a datastore schedule fires once for
an added file, passing its path, and not again while nothing changes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from tests.pipeline.conftest import wait_for

from hyperpipe.core import Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.pipeline._daemon import CLOCK_ENV, stop_schedulers
from hyperpipe.pipeline.core import Pipeline, PipelineParameter, Schedule, ScheduleRecurrence
from hyperpipe.pipeline.steps import PythonScriptStep
from hyperpipe.testing.faults import stop_unfinished_runs

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

T0 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_ws(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("new_postgres_database")("hp_sched")
    ws = Workspace.create("sched", path=tmp_path / "ws", store_url=url)
    ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2))
    yield ws
    stop_unfinished_runs(ws)


class Schedulers:
    """Scheduler daemon processes reading the time from one file."""

    def __init__(self, ws: Workspace, clock: Path) -> None:
        self.ws = ws
        self.clock = clock
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def set_time(self, ts: float) -> None:
        temp = self.clock.with_suffix(".tmp")
        temp.write_text(repr(ts))
        os.replace(temp, self.clock)

    def start(self, count: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("HYPERPIPE_STORE_URL",)}
        env[CLOCK_ENV] = f"file:{self.clock}"
        before = {r.id for r in self.ws._store.list_schedulers()}
        for _ in range(count):
            log = self.clock.parent / f"scheduler-{len(self.logs)}.log"
            self.logs.append(log)
            with open(log, "wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "hyperpipe",
                            "-w",
                            str(self.ws.root),
                            "scheduler",
                            "--poll-interval",
                            "0.05",
                        ],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        wait_for(
            lambda: (
                len(
                    [
                        r
                        for r in self.ws._store.list_schedulers(running_only=True)
                        if r.id not in before
                    ]
                )
                == count
            ),
            timeout=60,
        )

    def stop(self) -> None:
        """Stop them the way a person does: identity-checked SIGTERM, then wait."""
        stop_schedulers(self.ws)
        for process in self.processes:
            process.wait(timeout=30)
        self.processes.clear()

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-2000:] for log in self.logs)

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _fires(schedule: Schedule) -> dict[float, list[str]]:
    found: dict[float, list[str]] = {}
    for fire in schedule.get_fires(limit=None):
        found.setdefault(fire.due_at - T0, []).append(fire.outcome)
    return found


def test_two_schedulers_fire_each_due_time_once_and_skip_what_they_missed(
    store_ws: Workspace, tmp_path: Path
) -> None:
    ws = store_ws
    source = tmp_path / "step"
    source.mkdir()
    (source / "tick.py").write_text("import sys\nprint('tick', sys.argv[1:])\n")
    n = PipelineParameter("n", default_value=1)
    path = PipelineParameter("path", default_value="none")
    step = PythonScriptStep(
        "tick.py",
        source_directory=source,
        arguments=["--n", n, "--path", path],
        compute_target="cpu",
    )
    published = Pipeline(ws, [step]).publish("tick")
    schedule = Schedule.create(
        ws,
        "every-minute",
        published.id,
        "ticks",
        recurrence=ScheduleRecurrence("Minute", 1, start_time="2030-01-01T00:00:00"),
    )
    incoming = ws.get_default_datastore()._local_path("incoming")
    incoming.mkdir(parents=True)
    on_data = Schedule.create(
        ws,
        "on-data",
        published.id,
        "ticks",
        datastore=ws.get_default_datastore(),
        path_on_datastore="incoming",
        polling_interval=1,
        data_path_parameter_name="path",
    )
    schedulers = Schedulers(ws, tmp_path / "clock")
    schedulers.set_time(T0 - 1)
    try:
        schedulers.start(2)
        for minute in range(3):
            schedulers.set_time(T0 + 60 * minute + 1)
            wait_for(lambda m=minute: _fires(schedule).get(60.0 * m) == ["Submitted"], timeout=60)
            time.sleep(0.5)  # the other scheduler has had ten looks at the same due time
            if minute == 0:
                (incoming / "a.csv").write_text("new rows\n")  # seen at the next minute's poll
        assert _fires(schedule) == {0.0: ["Submitted"], 60.0: ["Submitted"], 120.0: ["Submitted"]}

        schedulers.stop()
        assert ws._store.list_schedulers(running_only=True) == []
        schedulers.set_time(T0 + 120 + 5 * 60 + 1)  # five due times pass with no scheduler
        schedulers.start(2)
        wait_for(lambda: _fires(schedule).get(420.0) == ["Submitted"], timeout=60)
        time.sleep(0.5)
        fires = _fires(schedule)
        assert fires == {
            0.0: ["Submitted"],
            60.0: ["Submitted"],
            120.0: ["Submitted"],
            180.0: ["Skipped"],
            240.0: ["Skipped"],
            300.0: ["Skipped"],
            360.0: ["Skipped"],
            420.0: ["Submitted"],
        }, schedulers.output()
        skipped = schedule.get_fires(limit=None)
        assert all(
            "missed while no scheduler ran" in f.reason for f in skipped if f.outcome == "Skipped"
        )
        (data_fire,) = on_data.get_fires()
        assert (data_fire.outcome, data_fire.details) == ("Submitted", {"path": "incoming/a.csv"})
        data_run = on_data.get_last_pipeline_run()
        assert data_run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        assert "'--path', 'incoming/a.csv'" in data_run.find_step_run("tick.py")[0].get_job_log()
        runs = schedule.get_pipeline_runs()
        assert len(runs) == 4 and len({r.id for r in runs}) == 4
        dues = sorted(r.properties["azureml.scheduleDueTime"] for r in runs)
        assert dues == [
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:01:00Z",
            "2030-01-01T00:02:00Z",
            "2030-01-01T00:07:00Z",
        ]
        for run in runs:
            assert run.properties["azureml.scheduleId"] == schedule.id
            assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        schedulers.stop()
    finally:
        schedulers.kill()
    records = ws._store.list_schedulers()
    assert len(records) == 4 and all(r.stopped_at is not None for r in records)
