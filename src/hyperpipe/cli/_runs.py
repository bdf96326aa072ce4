"""``hyperpipe run`` and ``hyperpipe runs``: submit a script, inspect, follow and cancel runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hyperpipe.cli._common import (
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

app = typer.Typer(help="Inspect, follow and cancel runs.", no_args_is_help=True)

# `hyperpipe run SCRIPT ARGS...`: everything after SCRIPT goes to the script untouched.
RUN_CONTEXT = {
    "allow_extra_args": True,
    "ignore_unknown_options": True,
    "allow_interspersed_args": False,
}


def run(
    ctx: typer.Context,
    script: Annotated[
        Path, typer.Argument(help="The Python script to run; its arguments follow it.")
    ],
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="Experiment to record the run in.")
    ] = "default",
    target: Annotated[str, typer.Option("--target", "-t", help="Compute target name.")] = "local",
    source_directory: Annotated[
        Path | None,
        typer.Option(
            "--source-directory",
            "-s",
            help="Folder snapshotted for the run (default: the script's folder).",
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option(help="Stream the output and wait for the run to end.")
    ] = True,
) -> None:
    """Submit SCRIPT as a run and stream its output. Arguments after SCRIPT go to the script.

    Scripts written for Azure ML SDK v1 run unchanged: their ``azureml.*`` imports resolve to
    hyperpipe (unless the real SDK is installed).
    """
    from hyperpipe.compat import enable_azureml_alias
    from hyperpipe.core import Experiment, ScriptRunConfig

    ws = workspace()
    source = (source_directory or script.resolve().parent).resolve()
    script_path = script.resolve()
    try:
        relative = script_path.relative_to(source)
    except ValueError:
        raise HyperpipeError(
            f"script {script_path} is not inside source directory {source}"
        ) from None
    config = ScriptRunConfig(
        source_directory=source,
        script=str(relative),
        arguments=list(ctx.args),
        compute_target=target,
    )
    enable_azureml_alias()
    submitted = Experiment(ws, experiment).submit(config)
    errors.print(
        f"Submitted run [bold]{esc(submitted.id)}[/] (experiment {esc(experiment)}, "
        f"target {esc(target)})"
    )
    if not wait:
        console.print(submitted.id, markup=False)
        return
    details = submitted.wait_for_completion(show_output=True, raise_on_error=False)
    errors.print(
        f"Run {esc(submitted.id)}: {show_status(details['status'])}. "
        f"Details: hyperpipe runs show {esc(submitted.id)}"
    )
    if details["status"] not in ("Completed", "Finished"):
        message = details.get("error", {}).get("error", {}).get("message")
        if message:
            errors.print(f"[red]Error:[/] {esc(message)}")
        raise typer.Exit(1)


@app.command("list")
def runs_list(
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Only this experiment.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Only runs with this status (e.g. Failed).")
    ] = None,
    children: Annotated[bool, typer.Option("--children", help="Include child runs.")] = False,
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 20,
) -> None:
    """List runs, newest first."""
    from hyperpipe.core import _lifecycle
    from hyperpipe.core._naming import run_label, run_title
    from hyperpipe.store import RunStatus

    ws = workspace()
    known = [s.value for s in RunStatus]
    if status and status not in known:
        raise HyperpipeError(f"unknown status {status!r}; use one of: {', '.join(known)}")
    statuses = [RunStatus(status)] if status else None
    records = ws._store.list_runs(
        experiment_name=experiment, statuses=statuses, top_level_only=not children, limit=limit
    )
    table = Table(
        "#", "Run", "Experiment", "Status", "Target", "Started", "Duration", "Run id", box=None
    )
    positions = ws._store.run_positions([r.key for r in records])
    for record in records:
        record = _lifecycle.reconcile(ws._store, record, ws.root)
        table.add_row(
            run_label(record, positions.get(record.key)),
            run_title(record),
            record.experiment_name,
            show_status(record.status.value),
            record.target or "-",
            when(record.started_at),
            duration(record.started_at, record.ended_at),
            record.id,
        )
    console.print(table if records else "No runs yet. Submit one with `hyperpipe run SCRIPT`.")


@app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument(help="The run's id.")]) -> None:
    """Show a run: status, definition, error, metrics, files and children.

    A HyperDrive run shows the sweep's summary and its best trials, sorted by the primary metric.
    """
    from hyperpipe.core import Run

    the_run = Run.get(workspace(), run_id)
    details = the_run.get_details()
    console.print(
        f"[bold]{esc(the_run.id)}[/]  {show_status(details['status'])}  "
        f"experiment {esc(the_run.experiment.name)} #{the_run.number}"
    )
    definition = details["runDefinition"]
    if definition.get("script"):
        arguments = " ".join(str(a) for a in definition.get("arguments") or [])
        console.print(f"  script     {esc(definition['script'])} {esc(_short(arguments, 160))}")
    console.print(f"  target     {esc(details['target'])}")
    environment = definition.get("environment")
    if isinstance(environment, dict) and environment.get("name"):
        console.print(f"  environment {esc(environment['name'])}")
    for warning in details.get("warnings", []):
        console.print(f"  [yellow]note[/]       {esc(warning['message'])}")
    console.print(
        f"  started    {details['startTimeUtc'] or '-'}\n"
        f"  ended      {details['endTimeUtc'] or '-'}"
    )
    sweep = the_run.type == "hyperdrive"
    for label, values in (("tags", details["tags"]), ("properties", details["properties"])):
        shown = _brief_mapping(values, skip_system=sweep)
        if shown:
            console.print(f"  {label:<10} {esc(shown)}")
    error = details.get("error", {}).get("error")
    if error:
        console.print(f"  [red]error[/]      {esc(error.get('message'))}")
    if sweep:
        _show_sweep(the_run)
    else:
        _show_metrics(the_run)
        children = list(the_run.get_children())
        if children:
            console.print(
                "Children:\n" + "\n".join(f"  {c.id}  {c.get_status()}" for c in children),
                markup=False,
            )
    files = the_run.get_file_names()
    if files:
        listed = [f"  {f}" for f in files[:SHOWN_ROWS]]
        if len(files) > SHOWN_ROWS:
            listed.append(f"  ... {len(files) - SHOWN_ROWS} more")
        console.print("Files:\n" + "\n".join(listed), markup=False)
    for name, path in details["logFiles"].items():
        console.print(f"Log: {esc(name)} ({esc(path)})  -> hyperpipe runs logs {esc(the_run.id)}")


# At most this many trials, metrics or files in `runs show`; the portal lists them all.
SHOWN_ROWS = 20


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _brief_mapping(values: dict[str, Any], *, skip_system: bool) -> str:
    """``key=value`` pairs with long values cut; a sweep's bookkeeping (the ``_aml_system_*``
    per-trial records SDK v1 keeps in its tags) is left to the portal."""
    pairs = []
    for key, value in values.items():
        if skip_system and str(key).startswith("_"):
            continue
        pairs.append(f"{key}={_short(str(value), 60)}")
    return _short(", ".join(pairs), 240)


def _show_metrics(the_run: Any) -> None:
    metrics = the_run.get_metrics()
    if not metrics:
        return
    table = Table("Metric", "Value", box=None, title="Metrics", title_justify="left")
    for name, value in list(metrics.items())[:SHOWN_ROWS]:
        shown = f"{value[-1]!r}  (last of {len(value)})" if isinstance(value, list) else repr(value)
        table.add_row(name, _short(shown, 100))
    console.print(table)
    if len(metrics) > SHOWN_ROWS:
        console.print(f"  ... {len(metrics) - SHOWN_ROWS} more metrics (the portal shows all)")


def _show_sweep(sweep: Any) -> None:
    """The sweep's summary line and its trials, best first, cut to ``SHOWN_ROWS``."""
    import json
    from collections import Counter

    rows = sweep.get_children_sorted_by_primary_metric()
    counts = Counter(row["status"] for row in rows)
    settings = sweep._sweep
    console.print(
        f"  sweep      {len(rows)} trials ({esc(', '.join(f'{n} {s}' for s, n in counts.items()))}"
        f"), max {settings.get('max_total_runs')}; primary metric "
        f"{esc(sweep.primary_metric_name)} ({esc(settings.get('primary_metric_goal'))})"
    )
    table = Table("Trial", "Status", sweep.primary_metric_name, "Hyperparameters", box=None)
    for row in rows[:SHOWN_ROWS]:
        value = row["best_primary_metric"]
        try:
            params = json.loads(row["hyperparameters"] or "{}")
            shown = " ".join(f"{k}={_number(v)}" for k, v in params.items())
        except (TypeError, ValueError):
            shown = str(row["hyperparameters"])
        table.add_row(
            row["run_id"],
            show_status(row["status"]),
            "-" if value is None else f"{value:.4g}",
            _short(shown, 90),
        )
    console.print(table)
    if len(rows) > SHOWN_ROWS:
        console.print(
            f"  ... {len(rows) - SHOWN_ROWS} more trials: hyperpipe runs list --children "
            f"-e {esc(sweep.experiment.name)}, or the sweep's page in the portal"
        )


def _number(value: Any) -> str:
    """A hyperparameter as a person writes it: 64, not 64.0; 0.001 with 4 significant digits."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    return str(value)


@app.command("logs")
def runs_logs(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing output until the run ends.")
    ] = False,
) -> None:
    """Print a run's output (stdout and stderr, interleaved)."""
    from hyperpipe.core import Run, _lifecycle

    ws = workspace()
    the_run = Run.get(ws, run_id)
    offset = 0
    while True:
        record = _lifecycle.reconcile(ws._store, ws._store.get_run(run_id), ws.root)
        path = _lifecycle.driver_log_path(record)
        if path is not None and path.is_file():
            with open(path, "rb") as log:
                log.seek(offset)
                chunk = log.read()
            offset += len(chunk)
            sys.stdout.write(chunk.decode("utf-8", errors="replace"))
            sys.stdout.flush()
        if not follow or record.status.is_terminal():
            break
        time.sleep(0.2)
    if follow:
        errors.print(f"Run {esc(the_run.id)}: {show_status(record.status.value)}")


@app.command("cancel")
def runs_cancel(run_id: Annotated[str, typer.Argument(help="The run's id.")]) -> None:
    """Cancel a run: its processes are stopped and it ends Canceled."""
    from hyperpipe.core import Run

    the_run = Run.get(workspace(), run_id)
    the_run.cancel()
    console.print(f"Cancel requested for {esc(run_id)}: {the_run.get_status()}")
