"""``hyperpipe pipelines``: inspect pipeline runs, explain step reuse, resume, cancel, publish."""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hyperpipe.cli._common import (
    Markup,
    Table,
    console,
    duration,
    errors,
    esc,
    show_status,
    when,
    workspace,
)
from hyperpipe.exceptions import HyperpipeError

app = typer.Typer(
    help="Inspect pipeline runs, explain step reuse, resume, cancel and publish.",
    no_args_is_help=True,
)

PIPELINE_RUN = "azureml.PipelineRun"


def _pipeline_run(run_id: str):  # type: ignore[no-untyped-def]
    from hyperpipe.core import Run

    the_run = Run.get(workspace(), run_id)
    if the_run.type != PIPELINE_RUN:
        raise HyperpipeError(
            f"run {run_id!r} is a {the_run.type} run, not a pipeline run; list pipeline runs "
            "with `hyperpipe pipelines list`"
        )
    return the_run


@app.command("list")
def pipelines_list(
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Only this experiment.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many pipeline runs, newest first.")] = 20,
) -> None:
    """List pipeline runs with how many steps finished and how many were reused."""
    from hyperpipe.core import _lifecycle

    ws = workspace()
    records = ws._store.list_runs(experiment_name=experiment, run_type=PIPELINE_RUN, limit=limit)
    table = Table(
        "Pipeline run",
        "Experiment",
        "Status",
        "Steps done",
        "Reused",
        "Started",
        "Duration",
        box=None,
    )
    for record in records:
        record = _lifecycle.reconcile(ws._store, record, ws.root)
        steps = ws._store.list_runs(parent_id=record.id)
        total = len(record.definition.get("steps", []))
        done = len({s.display_name for s in steps if s.status.value == "Finished"})
        reused = sum(1 for s in steps if s.definition.get("reuse", {}).get("reused"))
        table.add_row(
            record.id,
            record.experiment_name,
            show_status(record.status.value),
            f"{done}/{total}",
            str(reused),
            when(record.started_at or record.created_at),
            duration(record.started_at, record.ended_at),
        )
    console.print(table if records else "No pipeline runs yet.")


@app.command("show")
def pipelines_show(run_id: Annotated[str, typer.Argument(help="The pipeline run's id.")]) -> None:
    """Show a pipeline run's steps: status, reuse, duration, outputs."""
    the_run = _pipeline_run(run_id)
    details = the_run.get_details()
    console.print(
        f"[bold]{esc(the_run.id)}[/]  {show_status(details['status'])}  "
        f"experiment {esc(the_run.experiment.name)}"
    )
    error = details.get("error", {}).get("error")
    if error:
        console.print(f"  [red]error[/] {esc(error.get('message'))}")
    latest = {s.name: s for s in the_run.get_steps()}
    table = Table("Step", "Status", "Reuse", "Duration", "Step run id", "Waits for", box=None)
    for spec in the_run._record.definition.get("steps", []):
        step = latest.get(spec["name"])
        if step is None:
            table.add_row(
                spec["name"],
                Markup("[dim]not started[/]"),
                "-",
                "-",
                "-",
                ", ".join(spec["depends_on"]) or "-",
            )
            continue
        record = step._refresh()
        reuse = "reused" if step._is_reused else "ran"
        table.add_row(
            spec["name"],
            show_status(record.status.value),
            reuse,
            duration(record.started_at, record.ended_at),
            record.id,
            ", ".join(spec["depends_on"]) or "-",
        )
    console.print(table)
    console.print("Why a step ran or was reused: hyperpipe pipelines why STEP_RUN_ID")


@app.command("why")
def pipelines_why(step_run_id: Annotated[str, typer.Argument(help="A step run's id.")]) -> None:
    """Say why a step run was reused, or which part of its key changed since the last run."""
    from hyperpipe.core import Run

    step = Run.get(workspace(), step_run_id)
    decision = step._record.definition.get("reuse")
    if step.type != "azureml.StepRun" or decision is None:
        raise HyperpipeError(f"run {step_run_id!r} is not a pipeline step run")
    verdict = "[green]reused[/]" if decision.get("reused") else "[yellow]ran[/]"
    console.print(f"Step [bold]{esc(step.display_name)}[/] ({esc(step.id)}): {verdict}")
    for reason in decision.get("reasons", []):
        for line in _diff_lines(reason):
            console.print(line)
    if decision.get("key"):
        console.print(f"  reuse key {decision['key'][:16]}…")


_CHANGE = re.compile(r"^(?P<key>\S+) changed: (?P<old>.*) -> (?P<new>.*)$")


def _diff_lines(reason: str) -> list[str]:
    """A reuse reason as diff lines: ``- key: old`` and ``+ key: new`` for a changed setting
    (only the entry that changed), a plain ``~`` line for anything else."""
    change = _CHANGE.match(reason)
    if change is None:
        return [f"  ~ {esc(reason)}"]
    key = esc(change["key"])
    return [
        f"  [red]- {key}: {esc(change['old'])}[/]",
        f"  [green]+ {key}: {esc(change['new'])}[/]",
    ]


@app.command("resume")
def pipelines_resume(
    run_id: Annotated[str, typer.Argument(help="The pipeline run's id.")],
    wait: Annotated[
        bool, typer.Option(help="Show the steps and wait for the pipeline to end.")
    ] = True,
) -> None:
    """Continue a failed, cancelled or crashed pipeline run; finished steps are not run again."""
    from hyperpipe.compat import enable_azureml_alias

    enable_azureml_alias()  # steps written for SDK v1 keep their azureml imports working
    the_run = _pipeline_run(run_id).resume()
    errors.print(
        f"Resumed pipeline run [bold]{esc(run_id)}[/]: finished steps are kept, the others run "
        "the code as it was submitted (the run's snapshot). Edited code needs a new submission: "
        "submit the pipeline again (unchanged steps are reused)."
    )
    if wait:
        status = the_run.wait_for_completion(show_output=True, raise_on_error=False)
        if status != "Finished":
            raise typer.Exit(1)


@app.command("cancel")
def pipelines_cancel(run_id: Annotated[str, typer.Argument(help="The pipeline run's id.")]) -> None:
    """Cancel a pipeline run: running steps are stopped, the rest never start."""
    the_run = _pipeline_run(run_id)
    the_run.cancel()
    console.print(f"Cancel requested for {esc(run_id)}: {the_run.get_status()}")


@app.command("publish")
def pipelines_publish(
    script_or_run: Annotated[
        str,
        typer.Argument(help="A Python script that builds the pipeline, or a pipeline run's id."),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The published pipeline's name.")],
    description: Annotated[str | None, typer.Option(help="What the pipeline does.")] = None,
    version: Annotated[str | None, typer.Option(help="A version label of your choice.")] = None,
    continue_on_step_failure: Annotated[
        bool | None,
        typer.Option(help="Let independent steps go on when one fails (the default for runs)."),
    ] = None,
    attribute: Annotated[
        str | None,
        typer.Option(
            help="In the script: the function (given the workspace) or Pipeline variable to "
            "publish. Default: build_pipeline, else the one Pipeline the script defines."
        ),
    ] = None,
) -> None:
    """Publish a pipeline, from the script that builds it or from a pipeline run; prints its id.

    The script is imported, not run as __main__: it builds the pipeline in a function
    (build_pipeline(workspace) by default) or at module level, and keeps its own submission
    under `if __name__ == "__main__":`.
    """
    from hyperpipe.compat import enable_azureml_alias

    enable_azureml_alias()  # scripts written for SDK v1 import azureml
    ws = workspace()
    path = Path(script_or_run)
    if path.suffix == ".py" or path.is_file():
        pipeline = _pipeline_from_script(path, ws, attribute)
        published = pipeline.publish(
            name=name,
            description=description,
            version=version,
            continue_on_step_failure=continue_on_step_failure,
        )
    else:
        published = _pipeline_run(script_or_run).publish_pipeline(
            name, description, version, continue_on_step_failure
        )
    console.print(esc(published.id))
    errors.print(
        f"Published pipeline [bold]{esc(published.name)}[/] {esc(published.id)}: "
        f"{published.total_run_steps} step(s); submit it with `hyperpipe published submit "
        f"{esc(published.id)} -e EXPERIMENT` or POST {esc(published.endpoint)}"
    )


def _pipeline_from_script(path: Path, ws: Any, attribute: str | None) -> Any:
    from hyperpipe.pipeline.core import Pipeline

    if not path.is_file():
        raise HyperpipeError(f"no script at {path}; give a Python file or a pipeline run id")
    spec = importlib.util.spec_from_file_location("_hyperpipe_published_script", path.resolve())
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.path.remove(str(path.resolve().parent))
    if attribute is not None:
        if not hasattr(module, attribute):
            raise HyperpipeError(f"{path} has no {attribute!r}; check --attribute")
        found = getattr(module, attribute)
    elif hasattr(module, "build_pipeline"):
        found = module.build_pipeline
    else:
        pipelines = [v for v in vars(module).values() if isinstance(v, Pipeline)]
        if len(pipelines) != 1:
            raise HyperpipeError(
                f"{path} defines {len(pipelines)} Pipeline objects and no build_pipeline "
                "function; name the one to publish with --attribute"
            )
        found = pipelines[0]
    if callable(found) and not isinstance(found, Pipeline):
        found = found(ws) if inspect.signature(found).parameters else found()
    if not isinstance(found, Pipeline):
        raise HyperpipeError(
            f"{path}: {attribute or 'build_pipeline'} gave a {type(found).__name__}, not a Pipeline"
        )
    return found
