"""``hyperpipe.pipeline.core.schedule``: schedules that submit published pipelines by themselves
(SDK v1's ``azureml.pipeline.core.schedule``).

A schedule fires on a recurrence (``ScheduleRecurrence``) or when files under a datastore path are
added or changed. Schedules are rows in the store; the scheduler daemon (``hyperpipe scheduler``,
or ``hyperpipe portal --scheduler``) fires them, exactly once per due time however many
schedulers run. Differences from SDK v1: any datastore can trigger (not only Azure Blob), and
changes in sub-folders are seen too; a change is a file whose content changed, not only its time.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_str
from hyperpipe._surface import SdkV1Surface
from hyperpipe.core._experiment import Experiment
from hyperpipe.data._manifest import Source, build_manifest
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline import _triggers
from hyperpipe.pipeline._template import plain_values
from hyperpipe.pipeline.core._published import PipelineEndpoint, PublishedPipeline
from hyperpipe.pipeline.core._timezones import IANA_ZONES, TimeZone

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.pipeline.core._pipeline_run import PipelineRun
    from hyperpipe.store import ScheduleFireRecord, ScheduleRecord

__all__ = ["Schedule", "ScheduleRecurrence", "TimeZone"]

SCHEDULE_ID_PROPERTY = "azureml.scheduleId"
DUE_TIME_PROPERTY = "azureml.scheduleDueTime"
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_START_FORMAT = "%Y-%m-%dT%H:%M:%S"


class ScheduleRecurrence(SdkV1Surface):
    """How often a schedule fires: every ``interval`` ``frequency`` units (Minute, Hour, Day,
    Week, Month), optionally from ``start_time`` in ``time_zone`` (UTC by default), at ``hours``
    and ``minutes`` or ``time_of_day`` ("hh:mm", Day and Week only), on ``week_days`` (Week only).

    With no start time the first fire is at once; a start time in the past moves the first fire
    to the next time the recurrence computes.
    """

    def __init__(
        self,
        frequency: str,
        interval: int,
        start_time: datetime | str | None = None,
        time_zone: TimeZone | str | None = None,
        hours: list[int] | None = None,
        minutes: list[int] | None = None,
        week_days: list[str] | None = None,
        time_of_day: str | None = None,
    ) -> None:
        self.frequency = frequency
        self.interval = interval
        self.start_time = _start_time(start_time)
        if self.start_time is not None and time_zone is None:
            time_zone = TimeZone.UTC
        self.time_zone = time_zone
        self.hours = hours
        self.minutes = minutes
        self.week_days = week_days
        self.time_of_day = time_of_day
        self.validate()

    def validate(self) -> None:
        """Check the recurrence as SDK v1 does; each problem is one line saying the fix."""
        if self.frequency not in _triggers.FREQUENCIES:
            raise UserErrorException(
                f"ScheduleRecurrence frequency {self.frequency!r} is invalid; use one of "
                f"{', '.join(_triggers.FREQUENCIES)}"
            )
        if isinstance(self.interval, bool) or not isinstance(self.interval, int):
            raise UserErrorException(
                f"ScheduleRecurrence interval must be an integer of 1 or more, got "
                f"{self.interval!r}"
            )
        if self.interval < 1:
            raise UserErrorException(
                f"ScheduleRecurrence interval must be 1 or more, got {self.interval}"
            )
        for what, value in (("hours", self.hours), ("minutes", self.minutes)):
            if value is not None and self.frequency not in ("Day", "Week"):
                raise UserErrorException(
                    f"ScheduleRecurrence {what}={value!r} can only be given with frequency "
                    f"'Day' or 'Week', not {self.frequency!r}; drop {what} or change the "
                    "frequency"
                )
        if self.week_days is not None and self.frequency != "Week":
            raise UserErrorException(
                f"ScheduleRecurrence week_days can only be given with frequency 'Week', not "
                f"{self.frequency!r}; drop week_days or use frequency='Week'"
            )
        _check_numbers("hours", self.hours, 23)
        _check_numbers("minutes", self.minutes, 59)
        if self.week_days is not None:
            bad = [d for d in self.week_days if d not in _triggers.WEEK_DAYS]
            if not isinstance(self.week_days, list) or bad or not self.week_days:
                raise UserErrorException(
                    f"ScheduleRecurrence week_days {self.week_days!r} is invalid; give a list of "
                    f"{', '.join(_triggers.WEEK_DAYS)}"
                )
        if self.time_of_day is not None:
            if self.frequency not in ("Day", "Week"):
                raise UserErrorException(
                    f"ScheduleRecurrence time_of_day can only be given with frequency 'Day' or "
                    f"'Week', not {self.frequency!r}"
                )
            if self.hours is not None or self.minutes is not None:
                raise UserErrorException(
                    "ScheduleRecurrence time_of_day cannot be combined with hours or minutes; "
                    "give one or the other"
                )
            if not isinstance(self.time_of_day, str) or not _TIME_OF_DAY.match(self.time_of_day):
                raise UserErrorException(
                    f"ScheduleRecurrence time_of_day {self.time_of_day!r} is invalid; write it "
                    "as 'hh:mm', e.g. '17:30'"
                )
        if self.time_zone is not None:
            _zone_name(self.time_zone)

    def __repr__(self) -> str:
        parts = [f"frequency={self.frequency!r}", f"interval={self.interval!r}"]
        for name in ("start_time", "time_zone", "hours", "minutes", "week_days", "time_of_day"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"ScheduleRecurrence({', '.join(parts)})"

    def _to_json(self) -> dict[str, Any]:
        return {
            "frequency": self.frequency,
            "interval": self.interval,
            "start_time": self.start_time,
            "time_zone": None if self.time_zone is None else _zone_name(self.time_zone),
            "hours": self.hours,
            "minutes": self.minutes,
            "week_days": self.week_days,
            "time_of_day": self.time_of_day,
        }

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> ScheduleRecurrence:
        zone = data.get("time_zone")
        member = next((z for z in TimeZone if z.value == zone), None)
        return cls(
            frequency=data["frequency"],
            interval=data["interval"],
            start_time=data.get("start_time"),
            time_zone=member or zone,
            hours=data.get("hours"),
            minutes=data.get("minutes"),
            week_days=data.get("week_days"),
            time_of_day=data.get("time_of_day"),
        )


class Schedule(SdkV1Surface):
    """A schedule of a published pipeline or of a pipeline endpoint (its default version at fire
    time). Make one with ``Schedule.create`` or ``Schedule.create_for_pipeline_endpoint``."""

    def __init__(self, workspace: Workspace, record: ScheduleRecord) -> None:
        self._workspace = workspace
        self._record = record

    # -- properties -----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def status(self) -> str:
        """``Active`` or ``Disabled``."""
        return self._record.status

    @property
    def pipeline_id(self) -> str | None:
        return self._record.pipeline_id

    @property
    def pipeline_endpoint_id(self) -> str | None:
        return self._record.pipeline_endpoint_id

    @property
    def experiment_name(self) -> str:
        return self._record.experiment_name

    @property
    def pipeline_parameters(self) -> dict[str, Any]:
        return dict(self._record.pipeline_parameters)

    @property
    def recurrence(self) -> ScheduleRecurrence | None:
        data = self._record.trigger.get("recurrence")
        return None if data is None else ScheduleRecurrence._from_json(data)

    @property
    def datastore_name(self) -> str | None:
        return self._record.trigger.get("datastore", {}).get("name")

    @property
    def path_on_datastore(self) -> str | None:
        return self._record.trigger.get("datastore", {}).get("path") or None

    @property
    def polling_interval(self) -> int | None:
        return self._record.trigger.get("datastore", {}).get("polling_interval")

    @property
    def data_path_parameter_name(self) -> str | None:
        return self._record.trigger.get("datastore", {}).get("data_path_parameter_name")

    @property
    def continue_on_step_failure(self) -> bool | None:
        return self._record.continue_on_step_failure

    def __repr__(self) -> str:
        return (
            f"Schedule(Name: {self.name}, Id: {self.id}, Status: {self.status}, "
            f"Pipeline Id: {self.pipeline_id or self.pipeline_endpoint_id})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # -- making ---------------------------------------------------------------------------------

    @staticmethod
    def create(
        workspace: Workspace,
        name: str,
        pipeline_id: str,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: int = 5,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        **kwargs: Any,
    ) -> Schedule:
        """Schedule the published pipeline ``pipeline_id`` into ``experiment_name``: on
        ``recurrence``, or (``datastore``) when files under ``path_on_datastore`` are added or
        changed, checked every ``polling_interval`` minutes."""
        pipeline = PublishedPipeline.get(workspace, pipeline_id)
        pipeline._check_active()
        return Schedule._create(
            workspace,
            pipeline,
            name=name,
            experiment_name=experiment_name,
            recurrence=recurrence,
            description=description,
            pipeline_parameters=pipeline_parameters,
            datastore=datastore,
            polling_interval=polling_interval,
            data_path_parameter_name=data_path_parameter_name,
            continue_on_step_failure=continue_on_step_failure,
            path_on_datastore=path_on_datastore,
            target={"pipeline_id": pipeline.id},
        )

    @staticmethod
    def create_for_pipeline_endpoint(
        workspace: Workspace,
        name: str,
        pipeline_endpoint_id: str,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: int = 5,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        **kwargs: Any,
    ) -> Schedule:
        """As ``create``, for a pipeline endpoint: each fire runs its default version then."""
        endpoint = PipelineEndpoint.get(workspace, id=pipeline_endpoint_id)
        _version, pipeline = endpoint._resolve(None)
        pipeline._check_active()
        return Schedule._create(
            workspace,
            pipeline,
            name=name,
            experiment_name=experiment_name,
            recurrence=recurrence,
            description=description,
            pipeline_parameters=pipeline_parameters,
            datastore=datastore,
            polling_interval=polling_interval,
            data_path_parameter_name=data_path_parameter_name,
            continue_on_step_failure=continue_on_step_failure,
            path_on_datastore=path_on_datastore,
            target={"pipeline_endpoint_id": endpoint.id},
        )

    @staticmethod
    def _create(
        workspace: Workspace,
        pipeline: PublishedPipeline,
        *,
        name: str,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None,
        description: str | None,
        pipeline_parameters: dict[str, Any] | None,
        datastore: Any,
        polling_interval: int,
        data_path_parameter_name: str | None,
        continue_on_step_failure: bool | None,
        path_on_datastore: str | None,
        target: dict[str, str],
    ) -> Schedule:
        if not isinstance(name, str) or not name.strip():
            raise UserErrorException(f"a schedule needs a name (a string), got {name!r}")
        Experiment(workspace, experiment_name)  # checks the name
        # Kept as JSON (a DataPath by datastore name); each fire submits them as text.
        parameters = plain_values(pipeline._check_parameters(pipeline_parameters), workspace)
        now = float(math.floor(time.time()))
        trigger, state = _trigger(
            workspace,
            pipeline,
            recurrence,
            datastore,
            polling_interval,
            data_path_parameter_name,
            path_on_datastore,
            now,
        )
        record = workspace._store.create_schedule(
            schedule_id=uuid4_str(),
            name=name,
            experiment_name=experiment_name,
            trigger=trigger,
            description=description,
            pipeline_parameters=parameters,
            continue_on_step_failure=continue_on_step_failure,
            not_before=now,
            state=state,
            **target,
        )
        return Schedule(workspace, record)

    # -- finding --------------------------------------------------------------------------------

    @staticmethod
    def get(workspace: Workspace, id: str, **kwargs: Any) -> Schedule:
        record = workspace._store.get_schedule(id)
        if record is None:
            raise UserErrorException(
                f"no schedule with id {id!r} in workspace {workspace.name!r}; list them with "
                "Schedule.list(ws, active_only=False) or `hyperpipe schedules list --all`"
            )
        return Schedule(workspace, record)

    @staticmethod
    def list(
        workspace: Workspace,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
        **kwargs: Any,
    ) -> list[Schedule]:
        records = workspace._store.list_schedules(
            active_only=active_only,
            pipeline_id=pipeline_id,
            pipeline_endpoint_id=pipeline_endpoint_id,
        )
        return [Schedule(workspace, r) for r in records]

    get_all = list

    @staticmethod
    def get_schedules_for_pipeline_id(
        workspace: Workspace, pipeline_id: str, **kwargs: Any
    ) -> list[Schedule]:
        return Schedule.list(workspace, active_only=False, pipeline_id=pipeline_id)

    @staticmethod
    def get_schedules_for_pipeline_endpoint_id(
        workspace: Workspace, pipeline_endpoint_id: str, **kwargs: Any
    ) -> list[Schedule]:
        return Schedule.list(
            workspace, active_only=False, pipeline_endpoint_id=pipeline_endpoint_id
        )

    # -- changing -------------------------------------------------------------------------------

    def enable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        """Fire again from now on (due times while it was disabled do not fire)."""
        self._record = self._workspace._store.update_schedule(
            self.id, status="Active", not_before=float(math.floor(time.time()))
        )

    activate = enable

    def disable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        self._record = self._workspace._store.update_schedule(self.id, status="Disabled")

    def update(
        self,
        name: str | None = None,
        description: str | None = None,
        recurrence: ScheduleRecurrence | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        status: str | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: int | None = None,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
    ) -> None:
        """Change what is given; the rest stays. A new trigger counts from now."""
        if status is not None and status not in ("Active", "Disabled"):
            raise UserErrorException(f"status must be 'Active' or 'Disabled', got {status!r}")
        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = name
        if description is not None:
            fields["description"] = description
        if status is not None:
            fields["status"] = status
        if continue_on_step_failure is not None:
            fields["continue_on_step_failure"] = continue_on_step_failure
        pipeline = self._pipeline()
        if pipeline_parameters is not None:
            checked = pipeline._check_parameters(pipeline_parameters)
            fields["pipeline_parameters"] = plain_values(checked, self._workspace)
        trigger_changed = any(
            v is not None
            for v in (
                recurrence,
                datastore,
                polling_interval,
                data_path_parameter_name,
                path_on_datastore,
            )
        )
        now = float(math.floor(time.time()))
        if trigger_changed:
            old = self._record.trigger.get("datastore", {})
            if recurrence is None and datastore is None:
                if old:
                    datastore = self._workspace._datastore(old["name"])
                else:
                    recurrence = self.recurrence
            if datastore is not None:
                if polling_interval is None:
                    polling_interval = old.get("polling_interval", 5)
                if path_on_datastore is None:
                    path_on_datastore = old.get("path")
                data_path_parameter_name = data_path_parameter_name or old.get(
                    "data_path_parameter_name"
                )
            trigger, _state = _trigger(
                self._workspace,
                pipeline,
                recurrence,
                datastore,
                polling_interval or 5,
                data_path_parameter_name,
                path_on_datastore,
                now,
            )
            fields["trigger"] = trigger
        if trigger_changed or status == "Active":
            fields["not_before"] = now
        if fields:
            self._record = self._workspace._store.update_schedule(self.id, **fields)

    def _pipeline(self) -> PublishedPipeline:
        if self.pipeline_id is not None:
            return PublishedPipeline.get(self._workspace, self.pipeline_id)
        endpoint = PipelineEndpoint.get(self._workspace, id=self.pipeline_endpoint_id)
        return endpoint.get_pipeline()

    # -- what it did ----------------------------------------------------------------------------

    def get_fires(self, limit: int | None = 100) -> list[ScheduleFireRecord]:
        """The schedule's fires, latest due time first: submitted, failed (with the reason) and
        skipped (missed while no scheduler ran)."""
        return self._workspace._store.list_schedule_fires(self.id, limit=limit)

    def get_pipeline_runs(self) -> list[PipelineRun]:
        """The pipeline runs this schedule submitted, newest first."""
        fires = self._workspace._store.list_schedule_fires(self.id, outcomes=["Submitted"])
        return [_pipeline_run(self._workspace, f.run_id) for f in fires if f.run_id]

    def get_last_pipeline_run(self) -> PipelineRun | None:
        """The latest run this schedule submitted; None before its first."""
        runs = self._workspace._store.list_schedule_fires(self.id, outcomes=["Submitted"], limit=1)
        return _pipeline_run(self._workspace, runs[0].run_id) if runs else None

    def next_due_time(self, now: float | None = None) -> datetime | None:
        """When the recurrence fires next (UTC); None for a datastore schedule or when
        disabled."""
        if self.status != "Active" or "recurrence" not in self._record.trigger:
            return None
        due = next_due_of(self._workspace, self._record, time.time() if now is None else now)
        return None if due is None else datetime.fromtimestamp(due, UTC)


def next_due_of(workspace: Workspace, record: ScheduleRecord, now: float) -> float | None:
    """The next due time of a recurrence schedule after ``now``."""
    recurrence = record.trigger["recurrence"]
    last = workspace._store.last_due_times([record.id]).get(record.id)
    return _triggers.next_due(
        recurrence,
        anchor=_triggers.anchor_of(recurrence, record.trigger.get("anchor", record.created_at)),
        not_before=record.not_before,
        last_due=last,
        now=now,
    )


def _pipeline_run(workspace: Workspace, run_id: str) -> PipelineRun:
    from hyperpipe.core._run import Run

    return Run.get(workspace, run_id)  # type: ignore[return-value]


def _start_time(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise UserErrorException(
                f"ScheduleRecurrence start_time {value!r} has a tzinfo; pass a naive datetime "
                "and say the zone with time_zone="
            )
        return value.replace(microsecond=0).strftime(_START_FORMAT)
    if isinstance(value, str):
        try:
            return datetime.strptime(value, _START_FORMAT).strftime(_START_FORMAT)
        except ValueError:
            pass
    raise UserErrorException(
        f"ScheduleRecurrence start_time {value!r} is invalid; pass a naive datetime or a string "
        "'YYYY-MM-DDThh:mm:ss'"
    )


def _zone_name(zone: TimeZone | str) -> str:
    if isinstance(zone, TimeZone):
        return zone.value
    if isinstance(zone, str):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if zone in IANA_ZONES:
            return zone
        try:
            ZoneInfo(zone)
            return zone
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise UserErrorException(
        f"ScheduleRecurrence time_zone {zone!r} is not a time zone; pass a TimeZone member "
        "(e.g. TimeZone.UTC) or an IANA name such as 'Europe/Paris'"
    )


def _check_numbers(what: str, values: Any, top: int) -> None:
    if values is None:
        return
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= top for v in values)
    ):
        raise UserErrorException(
            f"ScheduleRecurrence {what} {values!r} is invalid; give a list of integers from 0 to "
            f"{top}"
        )


def _trigger(
    workspace: Workspace,
    pipeline: PublishedPipeline,
    recurrence: ScheduleRecurrence | None,
    datastore: Any,
    polling_interval: int,
    data_path_parameter_name: str | None,
    path_on_datastore: str | None,
    now: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trigger as stored, and its starting state (a datastore's files as they are now)."""
    if recurrence is not None and datastore is not None:
        raise UserErrorException(
            "a schedule fires on a recurrence or on datastore changes, not both; pass "
            "recurrence= or datastore="
        )
    if datastore is None:
        if data_path_parameter_name is not None or path_on_datastore is not None:
            raise UserErrorException(
                "data_path_parameter_name and path_on_datastore go with a datastore schedule; "
                "pass datastore= too, or drop them"
            )
        if recurrence is None:
            raise UserErrorException(
                "a schedule needs recurrence=ScheduleRecurrence(...) (fire on time) or "
                "datastore=... (fire on new or changed files)"
            )
        if not isinstance(recurrence, ScheduleRecurrence):
            raise UserErrorException(
                f"recurrence must be a ScheduleRecurrence, got {type(recurrence).__name__}"
            )
        recurrence.validate()
        return {"recurrence": recurrence._to_json(), "anchor": now}, {}
    name = datastore if isinstance(datastore, str) else getattr(datastore, "name", None)
    store = workspace._datastore(name)  # raises for an unknown datastore
    if (
        isinstance(polling_interval, bool)
        or not isinstance(polling_interval, int)
        or polling_interval < 1
    ):
        raise UserErrorException(
            f"polling_interval is in whole minutes, 1 or more; got {polling_interval!r}"
        )
    if data_path_parameter_name is not None:
        declared = pipeline.get_graph()["parameters"].get(data_path_parameter_name)
        if declared is None or declared["type"] not in ("datapath", "string"):
            kinds = ", ".join(
                n
                for n, d in pipeline.get_graph()["parameters"].items()
                if d["type"] in ("datapath", "string")
            )
            raise UserErrorException(
                f"data_path_parameter_name {data_path_parameter_name!r} is not a DataPath or "
                f"string parameter of pipeline {pipeline.name!r}; its DataPath/string parameters: "
                f"{kinds or 'none'}"
            )
    path = (path_on_datastore or "").strip("/")
    seen = {e.path: e.sha256 for e in _files(workspace, store.name, path)}
    trigger = {
        "datastore": {
            "name": store.name,
            "path": path,
            "polling_interval": polling_interval,
            "data_path_parameter_name": data_path_parameter_name,
        },
        "anchor": now,
    }
    return trigger, {"seen": seen}


def _files(workspace: Workspace, datastore: str, path: str) -> list[Any]:
    return build_manifest(
        [Source(datastore, path)], {datastore: workspace._datastore(datastore)}, validate=False
    )
