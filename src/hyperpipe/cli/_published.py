"""``hyperpipe published``: list, show, enable, disable and submit published pipelines."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hyperpipe.cli._common import Table, console, errors, esc, show_status, when, workspace
from hyperpipe.exceptions import HyperpipeError

app = typer.Typer(
    help="Published pipelines: list, show, enable, disable and submit them.", no_args_is_help=True
)

ParameterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--parameter",
        "-p",
        help="A pipeline parameter as NAME=VALUE (repeat for more); a DataPath as "
        "NAME=DATASTORE:PATH, a dataset as NAME=DATASET[:VERSION] or NAME=DATASET_ID.",
    ),
]
WaitOption = Annotated[
    bool, typer.Option(help="Show the steps and wait for the pipeline run to end.")
]


def parse_parameters(values: list[str] | None) -> dict[str, Any]:
    """``["a=1", "b=x"]`` as ``{"a": "1", "b": "x"}`` (typed later, against the pipeline)."""
    parsed: dict[str, Any] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise HyperpipeError(
                f"--parameter {item!r} is not NAME=VALUE; write e.g. --parameter seed=3"
            )
        parsed[name.strip()] = value
    return parsed


def follow(run: Any, wait: bool) -> None:
    """With ``wait`` follow the run; the last line on stdout is its id. Exit 1 unless it
    finished (when waiting)."""
    errors.print(
        f"Submitted pipeline run [bold]{esc(run.id)}[/] (experiment {esc(run.experiment.name)})"
    )
    status = None
    if wait:
        status = run.wait_for_completion(show_output=True, raise_on_error=False)
        errors.print(f"Pipeline run {esc(run.id)}: {show_status(status)}")
    console.print(esc(run.id))
    if status not in (None, "Finished"):
        raise typer.Exit(1)


@app.command("list")
def published_list(
    all_: Annotated[bool, typer.Option("--all", help="Also list disabled pipelines.")] = False,
) -> None:
    """List published pipelines, newest first."""
    from hyperpipe.pipeline.core import PublishedPipeline

    pipelines = PublishedPipeline.list(workspace(), active_only=not all_)
    table = Table("Id", "Name", "Version", "Status", "Steps", "Parameters", "Published", box=None)
    for p in pipelines:
        table.add_row(
            p.id,
            p.name,
            p.version or "-",
            show_status(p.status),
            str(p.total_run_steps),
            ", ".join(f"{k}={v}" for k, v in p.parameters.items()) or "-",
            when(p._record.created_at),
        )
    console.print(table if pipelines else "No published pipelines yet (pipeline.publish(name)).")


@app.command("show")
def published_show(
    pipeline_id: Annotated[str, typer.Argument(help="The published pipeline's id.")],
) -> None:
    """Show a published pipeline: its steps, parameters, REST endpoint and schedules."""
    from hyperpipe.pipeline.core import PipelineRun, PublishedPipeline, Schedule

    ws = workspace()
    p = PublishedPipeline.get(ws, pipeline_id)
    console.print(f"[bold]{esc(p.name)}[/] {esc(p.id)}  {show_status(p.status)}")
    console.print(f"  version      {esc(p.version or '-')}")
    console.print(f"  description  {esc(p.description or '-')}")
    console.print(f"  graph id     {p.graph_id}")
    console.print(f"  endpoint     POST {esc(p.endpoint)}")
    console.print(f"  steps        {esc(', '.join(p.get_step_names()))}")
    for name, declared in p.get_graph()["parameters"].items():
        console.print(
            f"  parameter    {esc(name)} ({declared['type']}) = {esc(repr(declared['default']))}"
        )
    for schedule in Schedule.get_schedules_for_pipeline_id(ws, p.id):
        console.print(
            f"  schedule     {esc(schedule.name)} {esc(schedule.id)} {show_status(schedule.status)}"
        )
    runs = PipelineRun.get_pipeline_runs(ws, p.id)[:10]
    for run in runs:
        console.print(f"  run          {esc(run.id)} {show_status(run.get_status())}")


@app.command("disable")
def published_disable(
    pipeline_id: Annotated[str, typer.Argument(help="The published pipeline's id.")],
) -> None:
    """Refuse submissions of a published pipeline (schedules on it record failed fires)."""
    from hyperpipe.pipeline.core import PublishedPipeline

    p = PublishedPipeline.get(workspace(), pipeline_id)
    p.disable()
    console.print(f"Published pipeline {esc(p.id)}: {show_status(p.status)}")


@app.command("enable")
def published_enable(
    pipeline_id: Annotated[str, typer.Argument(help="The published pipeline's id.")],
) -> None:
    """Accept submissions of a published pipeline again."""
    from hyperpipe.pipeline.core import PublishedPipeline

    p = PublishedPipeline.get(workspace(), pipeline_id)
    p.enable()
    console.print(f"Published pipeline {esc(p.id)}: {show_status(p.status)}")


@app.command("submit")
def published_submit(
    pipeline_id: Annotated[str, typer.Argument(help="The published pipeline's id.")],
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="Experiment to record the run in.")
    ],
    parameter: ParameterOption = None,
    wait: WaitOption = True,
) -> None:
    """Submit a published pipeline with parameters; prints the pipeline run's id."""
    from hyperpipe.compat import enable_azureml_alias
    from hyperpipe.core import Experiment
    from hyperpipe.pipeline.core import PublishedPipeline

    ws = workspace()
    enable_azureml_alias()
    p = PublishedPipeline.get(ws, pipeline_id)
    run = Experiment(ws, experiment).submit(
        p, pipeline_parameters=parse_parameters(parameter), _from_text=True
    )
    follow(run, wait)
