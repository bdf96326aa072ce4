"""Schedules and the scheduler daemon in this process, on a test clock: due times fire once,
failures are recorded with their reason and not retried, datastore changes fire by content."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from hyperpipe.core import Datastore
from hyperpipe.data.datapath import DataPath, DataPathComputeBinding
from hyperpipe.exceptions import AzureMLNotSupportedError, UserErrorException
from hyperpipe.pipeline._daemon import SchedulerDaemon
from hyperpipe.pipeline.core import (
    Pipeline,
    PipelineEndpoint,
    PipelineParameter,
    PublishedPipeline,
    Schedule,
    ScheduleRecurrence,
    TimeZone,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from hyperpipe.core import Workspace
    from hyperpipe.pipeline.steps import PythonScriptStep

T0 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
START = "2030-01-01T00:00:00"

COUNT = """
import argparse, json
parser = argparse.ArgumentParser()
parser.add_argument("--n", type=int)
print("FACTS " + json.dumps({"n": parser.parse_args().n}))
"""

READ = """
import argparse, json
parser = argparse.ArgumentParser()
parser.add_argument("--data")
path = parser.parse_args().data
print("FACTS " + json.dumps({"path": path, "text": open(path).read()}))
"""


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def published(ws: Workspace, make_step: Callable[..., PythonScriptStep]) -> PublishedPipeline:
    n = PipelineParameter("n", default_value=1)
    return Pipeline(ws, [make_step("count", COUNT, arguments=["--n", n])]).publish("count")


def _minutely(**kwargs) -> ScheduleRecurrence:
    return ScheduleRecurrence("Minute", 1, start_time=START, **kwargs)


def _daemon(ws: Workspace, clock: Clock) -> SchedulerDaemon:
    return SchedulerDaemon(ws, clock=clock, poll_interval=0.01)


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"frequency": "Minute", "hours": [9]},
            r"hours=\[9\] can only be given with frequency 'Day' or 'Week', not 'Minute'; drop hours or change the frequency",
        ),
        ({"frequency": "Hour", "minutes": [5]}, "minutes=.* can only be given with frequency"),
        (
            {"frequency": "Day", "week_days": ["Monday"]},
            "week_days can only be given with frequency 'Week'",
        ),
        (
            {"frequency": "Second"},
            "frequency 'Second' is invalid; use one of Minute, Hour, Day, Week, Month",
        ),
        ({"frequency": "Day", "interval": 0}, "interval must be 1 or more, got 0"),
        (
            {"frequency": "Day", "time_of_day": "9:75"},
            "time_of_day '9:75' is invalid; write it as 'hh:mm'",
        ),
        (
            {"frequency": "Day", "time_of_day": "09:00", "hours": [9]},
            "time_of_day cannot be combined with hours or minutes",
        ),
        (
            {"frequency": "Week", "week_days": ["Funday"]},
            "week_days .* is invalid; give a list of Monday",
        ),
        (
            {"frequency": "Day", "hours": [24]},
            r"hours \[24\] is invalid; give a list of integers from 0 to 23",
        ),
        (
            {"frequency": "Day", "start_time": "tomorrow"},
            "start_time 'tomorrow' is invalid; pass a naive datetime or a string 'YYYY-MM-DDThh:mm:ss'",
        ),
        (
            {"frequency": "Day", "start_time": datetime(2030, 1, 1, tzinfo=UTC)},
            "has a tzinfo; pass a naive datetime and say the zone with time_zone=",
        ),
        (
            {"frequency": "Day", "time_zone": "Mars/Olympus"},
            "time_zone 'Mars/Olympus' is not a time zone",
        ),
    ],
)
def test_a_bad_recurrence_is_one_line_naming_the_fix(kwargs: dict, message: str) -> None:
    kwargs.setdefault("interval", 1)
    with pytest.raises(UserErrorException, match=message) as info:
        ScheduleRecurrence(**kwargs)
    assert "\n" not in str(info.value)


def test_sdk_v1_schedule_names_hyperpipe_lacks_raise_one_line_naming_them() -> None:
    with pytest.raises(
        AzureMLNotSupportedError, match=r"^not supported in hyperpipe: Schedule\.load_yaml; "
    ):
        Schedule.load_yaml  # noqa: B018
    with pytest.raises(
        AzureMLNotSupportedError,
        match=r"^not supported in hyperpipe: ScheduleRecurrence\.validat; did you mean "
        r"ScheduleRecurrence\.validate\?",
    ):
        ScheduleRecurrence("Day", 1).validat()


def test_bad_schedules_are_refused_with_the_fix(
    ws: Workspace, published: PublishedPipeline
) -> None:
    with pytest.raises(
        UserErrorException, match=r"no published pipeline with id 'nope'.*list them"
    ):
        Schedule.create(ws, "s", "nope", "exp", recurrence=_minutely())
    with pytest.raises(
        UserErrorException,
        match=r"pipeline parameter 'm' does not exist in this pipeline; its parameters: n",
    ):
        Schedule.create(
            ws, "s", published.id, "exp", recurrence=_minutely(), pipeline_parameters={"m": 1}
        )
    with pytest.raises(UserErrorException, match="recurrence or on datastore changes, not both"):
        Schedule.create(
            ws,
            "s",
            published.id,
            "exp",
            recurrence=_minutely(),
            datastore=ws.get_default_datastore(),
        )
    with pytest.raises(UserErrorException, match="go with a datastore schedule; pass datastore="):
        Schedule.create(
            ws, "s", published.id, "exp", recurrence=_minutely(), path_on_datastore="in"
        )
    with pytest.raises(UserErrorException, match=r"needs recurrence=ScheduleRecurrence\(...\)"):
        Schedule.create(ws, "s", published.id, "exp")
    with pytest.raises(UserErrorException, match="'n' is not a DataPath or string parameter"):
        Schedule.create(
            ws,
            "s",
            published.id,
            "exp",
            datastore=ws.get_default_datastore(),
            data_path_parameter_name="n",
        )
    published.disable()
    with pytest.raises(
        UserErrorException,
        match=r"is Disabled; enable it with PublishedPipeline.get\(ws, .*\).enable\(\)",
    ):
        Schedule.create(ws, "s", published.id, "exp", recurrence=_minutely())
    assert Schedule.list(ws, active_only=False) == []


# -- recurrences ------------------------------------------------------------------------------


def test_a_recurrence_fires_once_per_due_time_with_the_schedule_on_its_run(
    ws: Workspace, published: PublishedPipeline, facts
) -> None:
    schedule = Schedule.create(
        ws,
        "every-minute",
        published.id,
        "sched",
        recurrence=_minutely(),
        pipeline_parameters={"n": 7},
    )
    assert schedule.next_due_time(now=T0 - 30) == datetime(2030, 1, 1, tzinfo=UTC)
    clock = Clock(T0 - 1)
    daemon = _daemon(ws, clock)
    assert daemon.run_once() == []
    clock.now = T0 + 1
    (fire,) = _daemon(ws, clock).run_once()
    assert (fire.outcome, fire.due_at) == ("Submitted", T0)
    assert _daemon(ws, clock).run_once() == []  # the same due time never fires again
    run = schedule.get_last_pipeline_run()
    assert run.id == fire.run_id
    assert run.properties["azureml.scheduleId"] == schedule.id
    assert run.properties["azureml.scheduleDueTime"] == "2030-01-01T00:00:00Z"
    assert run.properties["azureml.pipelineid"] == published.id
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert facts(run.find_step_run("count")[0]) == {"n": 7}
    clock.now = T0 + 61
    (second,) = _daemon(ws, clock).run_once()
    assert second.due_at == T0 + 60
    assert [r.id for r in schedule.get_pipeline_runs()] == [second.run_id, fire.run_id]
    assert schedule.next_due_time(now=clock.now) == datetime(2030, 1, 1, 0, 2, tzinfo=UTC)


def test_missed_due_times_fire_once_and_are_recorded_as_skipped(
    ws: Workspace, published: PublishedPipeline
) -> None:
    schedule = Schedule.create(ws, "every-minute", published.id, "sched", recurrence=_minutely())
    clock = Clock(T0)
    _daemon(ws, clock).run_once()
    clock.now = T0 + 5 * 60 + 10  # the schedulers were down for five due times
    fires = _daemon(ws, clock).run_once()
    assert [(f.due_at - T0, f.outcome) for f in fires] == [
        (300, "Submitted"),
        (60, "Skipped"),
        (120, "Skipped"),
        (180, "Skipped"),
        (240, "Skipped"),
    ]
    assert "missed while no scheduler ran" in fires[1].reason
    assert fires[0].details == {"skipped": 4}
    assert len(schedule.get_fires()) == 6


def test_a_fire_that_cannot_submit_is_recorded_and_not_retried(
    ws: Workspace, published: PublishedPipeline
) -> None:
    schedule = Schedule.create(ws, "every-minute", published.id, "sched", recurrence=_minutely())
    published.disable()
    clock = Clock(T0)
    daemon = _daemon(ws, clock)
    (fire,) = daemon.run_once()
    assert fire.outcome == "Failed"
    assert "is Disabled; enable it" in fire.reason
    for _ in range(3):
        assert daemon.tick() <= 0.01
    assert [f.outcome for f in schedule.get_fires()] == ["Failed"]
    assert ws._store.list_runs(run_type="azureml.PipelineRun") == []


def test_an_endpoint_schedule_runs_the_default_version_of_fire_time(
    ws: Workspace, published: PublishedPipeline, make_step: Callable[..., PythonScriptStep]
) -> None:
    endpoint = PipelineEndpoint.publish(ws, "counting", None, published)
    schedule = Schedule.create_for_pipeline_endpoint(
        ws, "nightly", endpoint.id, "sched", recurrence=_minutely(), pipeline_parameters={"n": 2}
    )
    other = Pipeline(ws, [make_step("plain", COUNT, arguments=["--n", 3])]).publish("plain")
    endpoint.add_default(other)  # has no parameter n: the next fire fails, saying so
    (fire,) = _daemon(ws, Clock(T0)).run_once()
    assert fire.outcome == "Failed"
    assert "pipeline parameter 'n' does not exist in this pipeline" in fire.reason
    endpoint.set_default(published)
    (fire,) = _daemon(ws, Clock(T0 + 60)).run_once()
    run = schedule.get_last_pipeline_run()
    assert fire.outcome == "Submitted" and run.id == fire.run_id
    assert run.properties["azureml.pipelineEndpointId"] == endpoint.id
    assert Schedule.get_schedules_for_pipeline_endpoint_id(ws, endpoint.id) == [schedule]
    assert run.wait_for_completion(show_output=False) == "Finished"


def test_schedules_are_listed_enabled_disabled_and_updated(
    ws: Workspace, published: PublishedPipeline
) -> None:
    schedule = Schedule.create(ws, "s", published.id, "sched", recurrence=_minutely())
    assert Schedule.get(ws, schedule.id).recurrence._to_json() == _minutely()._to_json()
    schedule.disable()
    assert Schedule.list(ws) == [] and Schedule.list(ws, active_only=False) == [schedule]
    assert _daemon(ws, Clock(T0)).run_once() == []
    schedule.update(
        name="daily",
        recurrence=ScheduleRecurrence("Day", 1, time_of_day="06:00", time_zone=TimeZone.UTC),
        status="Active",
    )
    fresh = Schedule.get(ws, schedule.id)
    assert (fresh.name, fresh.status, fresh.recurrence.frequency) == ("daily", "Active", "Day")
    assert Schedule.get_schedules_for_pipeline_id(ws, published.id) == [schedule]
    with pytest.raises(UserErrorException, match="no schedule with id 'nope'"):
        Schedule.get(ws, "nope")


# -- datastore changes ------------------------------------------------------------------------


@pytest.fixture
def reading(ws: Workspace, make_step: Callable[..., PythonScriptStep]) -> PublishedPipeline:
    store = Datastore.get(ws, "workspaceblobstore")
    data = PipelineParameter("input_data", default_value=DataPath(store, "incoming/first.txt"))
    bound = (data, DataPathComputeBinding(mode="mount"))
    step = make_step("read", READ, arguments=["--data", bound], inputs=[bound])
    return Pipeline(ws, [step]).publish("reader")


def test_a_datastore_schedule_fires_once_per_changed_file_and_passes_its_path(
    ws: Workspace, reading: PublishedPipeline, facts
) -> None:
    folder = ws.get_default_datastore()._local_path("incoming")
    folder.mkdir(parents=True)
    (folder / "first.txt").write_text("there before the schedule")
    schedule = Schedule.create(
        ws,
        "on-new-data",
        reading.id,
        "sched",
        datastore=Datastore.get(ws, "workspaceblobstore"),
        path_on_datastore="incoming",
        polling_interval=1,
        data_path_parameter_name="input_data",
    )
    clock = Clock(T0)
    daemon = _daemon(ws, clock)
    assert daemon.run_once() == []  # files there at creation are not changes
    (folder / "new.txt").write_text("fresh rows")
    clock.now += 30
    assert daemon.tick() <= 0.01 and schedule.get_fires() == []  # not polled again yet
    clock.now += 31
    (fire,) = _daemon(ws, clock).run_once()
    assert fire.outcome == "Submitted" and fire.details == {"path": "incoming/new.txt"}
    run = schedule.get_last_pipeline_run()
    assert run.wait_for_completion(show_output=False) == "Finished"
    seen = facts(run.find_step_run("read")[0])
    assert seen["text"] == "fresh rows" and seen["path"].endswith("incoming/new.txt")
    assert run.get_details()["properties"]["azureml.scheduleId"] == schedule.id

    clock.now += 120
    assert _daemon(ws, clock).run_once() == []  # nothing changed
    later = time.time() + 100
    os.utime(folder / "new.txt", (later, later))  # touched, same content
    clock.now += 120
    assert _daemon(ws, clock).run_once() == []
    (folder / "new.txt").write_text("fresh rows, corrected")
    clock.now += 120
    (changed,) = _daemon(ws, clock).run_once()
    assert changed.details == {"path": "incoming/new.txt"}
    assert [f.outcome for f in schedule.get_fires()] == ["Submitted", "Submitted"]
