"""``hyperpipe schedules``: make, list, show, enable and disable schedules."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hyperpipe.cli._common import Markup, Table, console, esc, show_status, when, workspace
from hyperpipe.cli._published import ParameterOption, parse_parameters
from hyperpipe.exceptions import HyperpipeError

app = typer.Typer(
    help="Schedules: submit published pipelines on a recurrence or when data changes.",
    no_args_is_help=True,
)

ScheduleArgument = Annotated[str, typer.Argument(help="The schedule's id.")]
_OUTCOME_STYLE = {"Submitted": "green", "Failed": "red", "Skipped": "yellow", "Claimed": "cyan"}


def _outcome(value: str) -> Markup:
    return Markup(f"[{_OUTCOME_STYLE.get(value, 'white')}]{esc(value)}[/]")


def _trigger(schedule: Any) -> str:
    recurrence = schedule.recurrence
    if recurrence is not None:
        text = f"every {recurrence.interval} {recurrence.frequency}"
        for name in ("start_time", "hours", "minutes", "week_days", "time_of_day"):
            value = getattr(recurrence, name)
            if value:
                text += f" {name}={value}"
        return text
    path = schedule.path_on_datastore or "(root)"
    return (
        f"changes in {schedule.datastore_name}/{path}, checked every "
        f"{schedule.polling_interval} min"
    )


def _next(schedule: Any) -> str:
    due = schedule.next_due_time()
    return due.astimezone().strftime("%Y-%m-%d %H:%M:%S") if due else "-"


@app.command("list")
def schedules_list(
    all_: Annotated[bool, typer.Option("--all", help="Also list disabled schedules.")] = False,
) -> None:
    """List schedules: what they submit, their trigger, next due time and last fire."""
    from hyperpipe.pipeline.core import Schedule

    schedules = Schedule.list(workspace(), active_only=not all_)
    table = Table("Name", "Id", "Status", "Submits", "Trigger", "Next due", "Last fire", box=None)
    for s in schedules:
        last = s.get_fires(limit=1)
        table.add_row(
            s.name,
            s.id,
            show_status(s.status),
            s.pipeline_id or f"endpoint {s.pipeline_endpoint_id}",
            _trigger(s),
            _next(s),
            Markup(f"{_outcome(last[0].outcome)} {when(last[0].claimed_at)}") if last else "-",
        )
    console.print(table if schedules else "No schedules yet (hyperpipe schedules create).")


@app.command("show")
def schedules_show(
    schedule_id: ScheduleArgument,
    limit: Annotated[int, typer.Option(help="How many fires to show, latest first.")] = 20,
) -> None:
    """Show a schedule: trigger, next due time, and its fires (runs, failures, skipped times)."""
    from hyperpipe.pipeline.core import Schedule

    s = Schedule.get(workspace(), schedule_id)
    console.print(f"[bold]{esc(s.name)}[/] {esc(s.id)}  {show_status(s.status)}")
    submits = s.pipeline_id or f"endpoint {s.pipeline_endpoint_id}"
    console.print(f"  submits      {esc(submits)}")
    console.print(f"  experiment   {esc(s.experiment_name)}")
    console.print(f"  trigger      {esc(_trigger(s))}")
    console.print(f"  parameters   {esc(s.pipeline_parameters or '-')}")
    console.print(f"  next due     {_next(s)}")
    table = Table("Due", "Outcome", "Run", "Reason", box=None)
    for fire in s.get_fires(limit=limit):
        table.add_row(
            when(fire.due_at),
            _outcome(fire.outcome),
            fire.run_id or "-",
            fire.reason or (fire.details.get("path") or ""),
        )
    console.print(table)


@app.command("create")
def schedules_create(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="Experiment its runs are recorded in.")
    ],
    pipeline_id: Annotated[
        str | None, typer.Option("--pipeline-id", help="The published pipeline to submit.")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(help="A pipeline endpoint (name or id): its default version at fire time."),
    ] = None,
    frequency: Annotated[
        str | None, typer.Option(help="Minute, Hour, Day, Week or Month (a recurrence).")
    ] = None,
    interval: Annotated[int, typer.Option(help="Every INTERVAL frequency units.")] = 1,
    start_time: Annotated[
        str | None, typer.Option(help="First due time, YYYY-MM-DDThh:mm:ss in --time-zone.")
    ] = None,
    time_zone: Annotated[
        str | None, typer.Option(help="SDK v1 TimeZone name or an IANA zone (default UTC).")
    ] = None,
    hours: Annotated[
        str | None, typer.Option(help="Hours of the day, e.g. 9,17 (Day/Week).")
    ] = None,
    minutes: Annotated[str | None, typer.Option(help="Minutes, e.g. 0,30 (Day/Week).")] = None,
    week_days: Annotated[str | None, typer.Option(help="Days, e.g. Monday,Friday (Week).")] = None,
    time_of_day: Annotated[str | None, typer.Option(help="hh:mm (Day/Week).")] = None,
    datastore: Annotated[
        str | None, typer.Option(help="Fire when files change in this datastore instead.")
    ] = None,
    path_on_datastore: Annotated[
        str | None, typer.Option(help="Only files under this path of the datastore.")
    ] = None,
    polling_interval: Annotated[
        int, typer.Option(help="Minutes between checks of the datastore.")
    ] = 5,
    data_path_parameter_name: Annotated[
        str | None, typer.Option(help="Pipeline parameter that receives the changed file.")
    ] = None,
    parameter: ParameterOption = None,
    description: Annotated[str | None, typer.Option(help="What the schedule is for.")] = None,
) -> None:
    """Create a schedule of a published pipeline or endpoint: --frequency for a recurrence, or
    --datastore to fire on new or changed files."""
    from hyperpipe.pipeline.core import (
        PipelineEndpoint,
        PublishedPipeline,
        Schedule,
        ScheduleRecurrence,
        TimeZone,
    )

    ws = workspace()
    if (pipeline_id is None) == (endpoint is None):
        raise HyperpipeError("give --pipeline-id ID or --endpoint NAME (one of them)")
    target = None
    if endpoint is not None:
        found = ws._store.get_pipeline_endpoint(name=endpoint)
        target = PipelineEndpoint(ws, found) if found else PipelineEndpoint.get(ws, id=endpoint)
        pipeline = target.get_pipeline()
    else:
        pipeline = PublishedPipeline.get(ws, pipeline_id)  # type: ignore[arg-type]
    parameters = pipeline._check_parameters(parse_parameters(parameter), from_text=True)
    recurrence = None
    if frequency is not None:
        zone: Any = time_zone
        if time_zone is not None:
            zone = next((z for z in TimeZone if time_zone in (z.name, z.value)), time_zone)
        recurrence = ScheduleRecurrence(
            frequency,
            interval,
            start_time=start_time,
            time_zone=zone,
            hours=_numbers(hours, "--hours"),
            minutes=_numbers(minutes, "--minutes"),
            week_days=[d.strip() for d in week_days.split(",")] if week_days else None,
            time_of_day=time_of_day,
        )
    options: dict[str, Any] = {
        "recurrence": recurrence,
        "description": description,
        "pipeline_parameters": parameters,
        "datastore": ws._datastore(datastore) if datastore else None,
        "polling_interval": polling_interval,
        "data_path_parameter_name": data_path_parameter_name,
        "path_on_datastore": path_on_datastore,
    }
    if target is not None:
        schedule = Schedule.create_for_pipeline_endpoint(ws, name, target.id, experiment, **options)
    else:
        schedule = Schedule.create(ws, name, pipeline.id, experiment, **options)
    console.print(f"Schedule {esc(schedule.name)} {esc(schedule.id)}: {esc(_trigger(schedule))}")
    console.print(f"  next due {_next(schedule)}; fired by `hyperpipe scheduler`")


@app.command("enable")
def schedules_enable(schedule_id: ScheduleArgument) -> None:
    """Fire a schedule again, from now on."""
    from hyperpipe.pipeline.core import Schedule

    s = Schedule.get(workspace(), schedule_id)
    s.enable()
    console.print(
        f"Schedule {esc(s.name)} {esc(s.id)}: {show_status(s.status)}, next due {_next(s)}"
    )


@app.command("disable")
def schedules_disable(schedule_id: ScheduleArgument) -> None:
    """Stop a schedule from firing (its history stays)."""
    from hyperpipe.pipeline.core import Schedule

    s = Schedule.get(workspace(), schedule_id)
    s.disable()
    console.print(f"Schedule {esc(s.name)} {esc(s.id)}: {show_status(s.status)}")


def _numbers(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise HyperpipeError(
            f"{option} {text!r} is not a list of whole numbers; write e.g. {option} 9,17"
        ) from None
