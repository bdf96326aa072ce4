"""``hyperpipe endpoints``: versioned pipeline endpoints and their default versions."""

from __future__ import annotations

from typing import Annotated

import typer

from hyperpipe.cli._common import Table, console, esc, show_status, when, workspace
from hyperpipe.cli._published import ParameterOption, WaitOption, follow, parse_parameters

app = typer.Typer(
    help="Pipeline endpoints: versions of published pipelines behind one name.",
    no_args_is_help=True,
)

EndpointArgument = Annotated[str, typer.Argument(help="The endpoint's name or id.")]


def _endpoint(name_or_id: str):  # type: ignore[no-untyped-def]
    from hyperpipe.pipeline.core import PipelineEndpoint

    ws = workspace()
    found = ws._store.get_pipeline_endpoint(name=name_or_id)
    if found is not None:
        return PipelineEndpoint(ws, found)
    return PipelineEndpoint.get(ws, id=name_or_id)


@app.command("list")
def endpoints_list(
    all_: Annotated[bool, typer.Option("--all", help="Also list disabled endpoints.")] = False,
) -> None:
    """List pipeline endpoints with their default version."""
    from hyperpipe.pipeline.core import PipelineEndpoint

    endpoints = PipelineEndpoint.list(workspace(), active_only=not all_)
    table = Table("Name", "Id", "Status", "Default", "Versions", "Updated", box=None)
    for e in endpoints:
        table.add_row(
            e.name,
            e.id,
            show_status(e.status),
            e.default_version,
            str(len(e.pipeline_version_list)),
            when(e._record.updated_at),
        )
    console.print(table if endpoints else "No pipeline endpoints yet (PipelineEndpoint.publish).")


@app.command("show")
def endpoints_show(endpoint: EndpointArgument) -> None:
    """Show an endpoint: its REST URL and every version, the default marked."""
    e = _endpoint(endpoint)
    console.print(f"[bold]{esc(e.name)}[/] {esc(e.id)}  {show_status(e.status)}")
    console.print(f"  description  {esc(e.description or '-')}")
    console.print(f"  endpoint     POST {esc(e.endpoint)}")
    table = Table("Version", "Default", "Published pipeline", "Name", "Status", box=None)
    for version in e.list_versions():
        p = version.pipeline
        mark = "*" if version.version == e.default_version else ""
        table.add_row(version.version, mark, p.id, p.name, show_status(p.status))
    console.print(table)


@app.command("set-default")
def endpoints_set_default(
    endpoint: EndpointArgument,
    version: Annotated[str, typer.Argument(help='The version to make the default ("0", "1"...).')],
) -> None:
    """Make VERSION the endpoint's default version (what it and its schedules run)."""
    e = _endpoint(endpoint)
    e.set_default_version(version)
    console.print(f"Pipeline endpoint {esc(e.name)}: default version {esc(e.default_version)}")


@app.command("create")
def endpoints_create(
    name: Annotated[str, typer.Argument(help="The new endpoint's name.")],
    pipeline_id: Annotated[str, typer.Argument(help="The published pipeline of version 0.")],
    description: Annotated[str | None, typer.Option(help="What the endpoint is for.")] = None,
) -> None:
    """Create an endpoint whose version 0 (its default) is a published pipeline."""
    from hyperpipe.pipeline.core import PipelineEndpoint, PublishedPipeline

    ws = workspace()
    e = PipelineEndpoint.publish(ws, name, description, PublishedPipeline.get(ws, pipeline_id))
    console.print(f"Pipeline endpoint {esc(e.name)} {esc(e.id)}: POST {esc(e.endpoint)}")


@app.command("add")
def endpoints_add(
    endpoint: EndpointArgument,
    pipeline_id: Annotated[str, typer.Argument(help="The published pipeline to add.")],
    default: Annotated[bool, typer.Option(help="Also make it the default version.")] = False,
) -> None:
    """Add a published pipeline as the endpoint's next version."""
    from hyperpipe.pipeline.core import PublishedPipeline

    e = _endpoint(endpoint)
    pipeline = PublishedPipeline.get(e._workspace, pipeline_id)
    if default:
        e.add_default(pipeline)
    else:
        e.add(pipeline)
    version = e.pipeline_version_list[-1].version
    console.print(
        f"Pipeline endpoint {esc(e.name)}: version {esc(version)}, default {esc(e.default_version)}"
    )


@app.command("submit")
def endpoints_submit(
    endpoint: EndpointArgument,
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="Experiment to record the run in.")
    ],
    version: Annotated[
        str | None, typer.Option("--version", help="Version to run (default: the default).")
    ] = None,
    parameter: ParameterOption = None,
    wait: WaitOption = True,
) -> None:
    """Submit an endpoint's default (or given) version; prints the pipeline run's id."""
    from hyperpipe.compat import enable_azureml_alias
    from hyperpipe.core import Experiment

    e = _endpoint(endpoint)
    enable_azureml_alias()
    run = Experiment(e._workspace, experiment).submit(
        e,
        pipeline_parameters=parse_parameters(parameter),
        pipeline_version=version,
        _from_text=True,
    )
    follow(run, wait)
