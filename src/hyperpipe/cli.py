"""The ``hyperpipe`` command line: workspaces, script runs, experiments, models, compute targets."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hyperpipe import __version__
from hyperpipe.exceptions import HyperpipeError

app = typer.Typer(
    name="hyperpipe",
    help="ML pipelines, HyperDrive sweeps and run tracking, the Azure ML SDK v1 way, locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Inspect, follow and cancel runs.", no_args_is_help=True)
experiments_app = typer.Typer(help="List experiments.", no_args_is_help=True)
models_app = typer.Typer(help="List registered models.", no_args_is_help=True)
compute_app = typer.Typer(help="Declare the compute targets runs execute on.", no_args_is_help=True)
pipelines_app = typer.Typer(
    help="Inspect pipeline runs, explain step reuse, resume and cancel.", no_args_is_help=True
)
datasets_app = typer.Typer(
    help="List registered datasets and their versions.", no_args_is_help=True
)
example_app = typer.Typer(
    help="Set up the examples that ship with hyperpipe.", no_args_is_help=True
)
newsgroups_app = typer.Typer(help="The 20 Newsgroups lab.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(experiments_app, name="experiments")
app.add_typer(models_app, name="models")
app.add_typer(compute_app, name="compute")
app.add_typer(pipelines_app, name="pipelines")
app.add_typer(datasets_app, name="datasets")
app.add_typer(example_app, name="example")
example_app.add_typer(newsgroups_app, name="newsgroups")

# Output read by programs (a pipe, a file) is not cut to 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=200)
errors = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)
_state: dict[str, Any] = {"workspace": None}

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (or a folder below it). Default: found from the current folder.",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        console.print(f"hyperpipe {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    workspace: WorkspaceOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    _state["workspace"] = workspace


def _workspace():  # type: ignore[no-untyped-def]
    from hyperpipe.core import Workspace

    return Workspace.from_config(path=_state["workspace"])


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _duration(start: float | None, end: float | None) -> str:
    if not start:
        return "-"
    seconds = (end or time.time()) - start
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


_STATUS_STYLE = {
    "Completed": "green",
    "Finished": "green",
    "Failed": "red",
    "Crashed": "red",
    "Canceled": "yellow",
    "Running": "cyan",
}


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE.get(status, 'white')}]{status}[/]"


# -- workspace ------------------------------------------------------------------------------------


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")] = Path("."),
    name: Annotated[
        str | None, typer.Option(help="Workspace name (default: the folder's name).")
    ] = None,
    store_url: Annotated[
        str | None,
        typer.Option(
            help="Metadata store URL, e.g. postgresql+psycopg://user@host/db (default: SQLite)."
        ),
    ] = None,
) -> None:
    """Create a workspace: config in .azureml/, a SQLite store and a local default datastore."""
    from hyperpipe.core import Workspace

    root = path.resolve()
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace.create(name or root.name, path=root, store_url=store_url, exist_ok=True)
    console.print(f"Workspace [bold]{ws.name}[/] ready at {ws.root}")
    console.print(f"  config     {ws.config_path}\n  store      {ws.store_url}")
    console.print(f"  datastore  {ws.get_default_datastore().url}")


# -- runs -----------------------------------------------------------------------------------------


@app.command(
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
    }
)
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

    ws = _workspace()
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
        f"Submitted run [bold]{submitted.id}[/] (experiment {experiment}, target {target})"
    )
    if not wait:
        console.print(submitted.id)
        return
    details = submitted.wait_for_completion(show_output=True, raise_on_error=False)
    errors.print(
        f"Run {submitted.id}: {_status(details['status'])}. "
        f"Details: hyperpipe runs show {submitted.id}"
    )
    if details["status"] not in ("Completed", "Finished"):
        message = details.get("error", {}).get("error", {}).get("message")
        if message:
            errors.print(f"[red]Error:[/] {message}")
        raise typer.Exit(1)


@runs_app.command("list")
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
    from hyperpipe.store import RunStatus

    ws = _workspace()
    known = [s.value for s in RunStatus]
    if status and status not in known:
        raise HyperpipeError(f"unknown status {status!r}; use one of: {', '.join(known)}")
    statuses = [RunStatus(status)] if status else None
    records = ws._store.list_runs(
        experiment_name=experiment, statuses=statuses, top_level_only=not children, limit=limit
    )
    table = Table("Run id", "Experiment", "#", "Status", "Target", "Started", "Duration", box=None)
    for record in records:
        record = _lifecycle.reconcile(ws._store, record, ws.root)
        table.add_row(
            record.id,
            record.experiment_name,
            str(record.number),
            _status(record.status.value),
            record.target or "-",
            _when(record.started_at),
            _duration(record.started_at, record.ended_at),
        )
    console.print(table if records else "No runs yet. Submit one with `hyperpipe run SCRIPT`.")


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument(help="The run's id.")]) -> None:
    """Show a run: status, definition, error, metrics, files and children."""
    from hyperpipe.core import Run

    the_run = Run.get(_workspace(), run_id)
    details = the_run.get_details()
    console.print(
        f"[bold]{the_run.id}[/]  {_status(details['status'])}  "
        f"experiment {the_run.experiment.name} #{the_run.number}"
    )
    definition = details["runDefinition"]
    if definition.get("script"):
        console.print(
            f"  script     {definition['script']} {' '.join(definition.get('arguments', []))}"
        )
    console.print(f"  target     {details['target']}")
    console.print(
        f"  started    {details['startTimeUtc'] or '-'}\n"
        f"  ended      {details['endTimeUtc'] or '-'}"
    )
    if details["tags"]:
        console.print(f"  tags       {details['tags']}")
    if details["properties"]:
        console.print(f"  properties {details['properties']}")
    error = details.get("error", {}).get("error")
    if error:
        console.print(f"  [red]error[/]      {error.get('message')}")
    metrics = the_run.get_metrics()
    if metrics:
        table = Table("Metric", "Value", box=None, title="Metrics", title_justify="left")
        for name, value in metrics.items():
            shown = (
                f"{value[-1]!r}  (last of {len(value)})" if isinstance(value, list) else repr(value)
            )
            table.add_row(name, shown)
        console.print(table)
    files = the_run.get_file_names()
    if files:
        console.print("Files:\n" + "\n".join(f"  {f}" for f in files))
    children = list(the_run.get_children())
    if children:
        console.print("Children:\n" + "\n".join(f"  {c.id}  {c.get_status()}" for c in children))
    for name, path in details["logFiles"].items():
        console.print(f"Log: {name} ({path})  -> hyperpipe runs logs {the_run.id}")


@runs_app.command("logs")
def runs_logs(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing output until the run ends.")
    ] = False,
) -> None:
    """Print a run's output (stdout and stderr, interleaved)."""
    from hyperpipe.core import Run, _lifecycle

    ws = _workspace()
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
        errors.print(f"Run {the_run.id}: {_status(record.status.value)}")


@runs_app.command("cancel")
def runs_cancel(run_id: Annotated[str, typer.Argument(help="The run's id.")]) -> None:
    """Cancel a run: its processes are stopped and it ends Canceled."""
    from hyperpipe.core import Run

    the_run = Run.get(_workspace(), run_id)
    the_run.cancel()
    console.print(f"Cancel requested for {run_id}: {the_run.get_status()}")


# -- experiments, models --------------------------------------------------------------------------


@experiments_app.command("list")
def experiments_list() -> None:
    """List experiments with their number of runs."""
    ws = _workspace()
    table = Table("Experiment", "Runs", "Created", box=None)
    for record in ws._store.list_experiments():
        count = len(ws._store.list_runs(experiment_name=record.name, top_level_only=True))
        table.add_row(record.name, str(count), _when(record.created_at))
    console.print(table)


@models_app.command("list")
def models_list(
    name: Annotated[str | None, typer.Option(help="Only versions of this model.")] = None,
) -> None:
    """List registered models, newest version first."""
    ws = _workspace()
    table = Table("Model", "Version", "Run", "Tags", "Registered", box=None)
    for record in ws._store.list_models(name=name):
        table.add_row(
            record.name,
            str(record.version),
            record.run_id or "-",
            str(record.tags or ""),
            _when(record.created_at),
        )
    console.print(table)


# -- compute --------------------------------------------------------------------------------------


@compute_app.command("add")
def compute_add(
    name: Annotated[str, typer.Argument(help="Target name, as steps and configs refer to it.")],
    max_concurrency: Annotated[int, typer.Option(help="How many runs execute at once.", min=1)] = 1,
    gpus: Annotated[
        str, typer.Option(help="Comma-separated GPU indices handed one per run, e.g. 0,1.")
    ] = "",
) -> None:
    """Declare (or change) a local compute target."""
    from hyperpipe.core.compute import ComputeTarget, LocalCompute

    try:
        gpu_list = [int(g) for g in gpus.split(",") if g.strip()]
    except ValueError:
        raise HyperpipeError(
            f"--gpus must be comma-separated integers like 0,1; got {gpus!r}"
        ) from None
    target = ComputeTarget.create(
        _workspace(), name, LocalCompute.provisioning_configuration(max_concurrency, gpu_list)
    )
    console.print(
        f"Compute target [bold]{target.name}[/]: local, {target.max_concurrency} at once, "
        f"GPUs {list(target.gpus) or 'none'}"
    )


@compute_app.command("list")
def compute_list() -> None:
    """List compute targets (``local`` always exists)."""
    table = Table("Target", "Type", "Max concurrency", "GPUs", box=None)
    for target in _workspace().compute_targets.values():
        table.add_row(
            target.name,
            target.type,
            str(target.max_concurrency),
            ",".join(map(str, target.gpus)) or "-",
        )
    console.print(table)


@compute_app.command("remove")
def compute_remove(name: Annotated[str, typer.Argument(help="Target name.")]) -> None:
    """Remove a compute target from the workspace config."""
    from hyperpipe.core.compute import ComputeTarget

    ComputeTarget(_workspace(), name).delete()
    console.print(f"Removed compute target {name}")


# -- pipelines ------------------------------------------------------------------------------------

PIPELINE_RUN = "azureml.PipelineRun"


def _pipeline_run(run_id: str):  # type: ignore[no-untyped-def]
    from hyperpipe.core import Run

    the_run = Run.get(_workspace(), run_id)
    if the_run.type != PIPELINE_RUN:
        raise HyperpipeError(
            f"run {run_id!r} is a {the_run.type} run, not a pipeline run; list pipeline runs "
            "with `hyperpipe pipelines list`"
        )
    return the_run


@pipelines_app.command("list")
def pipelines_list(
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Only this experiment.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many pipeline runs, newest first.")] = 20,
) -> None:
    """List pipeline runs with how many steps finished and how many were reused."""
    from hyperpipe.core import _lifecycle

    ws = _workspace()
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
            _status(record.status.value),
            f"{done}/{total}",
            str(reused),
            _when(record.started_at or record.created_at),
            _duration(record.started_at, record.ended_at),
        )
    console.print(table if records else "No pipeline runs yet.")


@pipelines_app.command("show")
def pipelines_show(run_id: Annotated[str, typer.Argument(help="The pipeline run's id.")]) -> None:
    """Show a pipeline run's steps: status, reuse, duration, outputs."""
    the_run = _pipeline_run(run_id)
    details = the_run.get_details()
    console.print(
        f"[bold]{the_run.id}[/]  {_status(details['status'])}  experiment {the_run.experiment.name}"
    )
    error = details.get("error", {}).get("error")
    if error:
        console.print(f"  [red]error[/] {error.get('message')}")
    latest = {s.name: s for s in the_run.get_steps()}
    table = Table("Step", "Status", "Reuse", "Duration", "Step run id", "Waits for", box=None)
    for spec in the_run._record.definition.get("steps", []):
        step = latest.get(spec["name"])
        if step is None:
            table.add_row(
                spec["name"],
                "[dim]not started[/]",
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
            _status(record.status.value),
            reuse,
            _duration(record.started_at, record.ended_at),
            record.id,
            ", ".join(spec["depends_on"]) or "-",
        )
    console.print(table)
    console.print("Why a step ran or was reused: hyperpipe pipelines why STEP_RUN_ID")


@pipelines_app.command("why")
def pipelines_why(step_run_id: Annotated[str, typer.Argument(help="A step run's id.")]) -> None:
    """Say why a step run was reused, or which part of its key changed since the last run."""
    from hyperpipe.core import Run

    step = Run.get(_workspace(), step_run_id)
    decision = step._record.definition.get("reuse")
    if step.type != "azureml.StepRun" or decision is None:
        raise HyperpipeError(f"run {step_run_id!r} is not a pipeline step run")
    verdict = "[green]reused[/]" if decision.get("reused") else "[yellow]ran[/]"
    console.print(f"Step [bold]{step.display_name}[/] ({step.id}): {verdict}")
    for reason in decision.get("reasons", []):
        console.print(f"  - {reason}")
    if decision.get("key"):
        console.print(f"  reuse key {decision['key'][:16]}…")


@pipelines_app.command("resume")
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
    errors.print(f"Resumed pipeline run [bold]{run_id}[/]")
    if wait:
        status = the_run.wait_for_completion(show_output=True, raise_on_error=False)
        if status != "Finished":
            raise typer.Exit(1)


@pipelines_app.command("cancel")
def pipelines_cancel(run_id: Annotated[str, typer.Argument(help="The pipeline run's id.")]) -> None:
    """Cancel a pipeline run: running steps are stopped, the rest never start."""
    the_run = _pipeline_run(run_id)
    the_run.cancel()
    console.print(f"Cancel requested for {run_id}: {the_run.get_status()}")


# -- datasets -------------------------------------------------------------------------------------


@datasets_app.command("list")
def datasets_list(
    name: Annotated[str | None, typer.Option(help="Show every version of this dataset.")] = None,
) -> None:
    """List registered datasets (latest versions, or every version of --name)."""
    ws = _workspace()
    records = ws._store.list_datasets(name=name, latest=name is None)
    table = Table(
        "Dataset", "Version", "Kind", "Files", "Size", "Content hash", "Registered", box=None
    )
    for r in records:
        table.add_row(
            r.name or "-",
            str(r.version),
            r.kind,
            f"{r.file_count:,}",
            f"{r.total_size / 1e6:.1f} MB",
            r.content_hash[:12],
            _when(r.created_at),
        )
    console.print(table if records else "No datasets registered yet.")


# -- examples -------------------------------------------------------------------------------------


@newsgroups_app.command("prepare")
def newsgroups_prepare(
    source: Annotated[
        Path | None,
        typer.Option(
            help="The 20news-bydate archive or its extracted folder "
            "(default: $HYPERPIPE_NEWSGROUPS, else a checksummed download)."
        ),
    ] = None,
    train_fraction: Annotated[
        float, typer.Option(help="Share of each category in newsgroups_subset_train.")
    ] = 0.2,
    validation_fraction: Annotated[
        float, typer.Option(help="Share of each category in newsgroups_subset_test.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the stratified sampling.")] = 0,
) -> None:
    """Register newsgroups_train/_test and the stratified tuning subsets from the archive."""
    from hyperpipe.examples.newsgroups.data import NewsgroupsDataError
    from hyperpipe.examples.newsgroups.prepare import prepare

    try:
        prepared = prepare(
            _workspace(),
            source,
            train_fraction=train_fraction,
            validation_fraction=validation_fraction,
            seed=seed,
            progress=lambda message: errors.print(message, highlight=False),
        )
    except NewsgroupsDataError as exc:
        raise HyperpipeError(str(exc)) from exc
    table = Table("Dataset", "Version", "Documents", "Categories", box=None)
    for item in prepared:
        table.add_row(item.name, str(item.version), f"{item.documents:,}", str(item.categories))
    console.print(table)


@app.command()
def portal(
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="HYPERPIPE_PORTAL_TOKEN",
            help="Required on every page and API call (Bearer header, or ?token= once).",
        ),
    ] = None,
) -> None:
    """Open the portal: experiments, runs, metrics, pipelines and sweeps in the browser."""
    from hyperpipe.portal import serve

    serve(_workspace(), host=host, port=port, token=token)


def main() -> None:
    """Entry point: hyperpipe errors print as one line naming the fix, without a traceback."""
    try:
        app()
    except HyperpipeError as exc:
        errors.print(f"[red]Error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
