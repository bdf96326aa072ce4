"""``hyperpipe compute``: declare the compute targets runs execute on."""

from __future__ import annotations

from typing import Annotated

import typer

from hyperpipe.cli._common import Table, console, esc, workspace
from hyperpipe.exceptions import HyperpipeError

app = typer.Typer(help="Declare the compute targets runs execute on.", no_args_is_help=True)


@app.command("add")
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
        workspace(), name, LocalCompute.provisioning_configuration(max_concurrency, gpu_list)
    )
    console.print(
        f"Compute target [bold]{esc(target.name)}[/]: local, {target.max_concurrency} at once, "
        f"GPUs {list(target.gpus) or 'none'}"
    )


@app.command("list")
def compute_list() -> None:
    """List compute targets (``local`` always exists)."""
    table = Table("Target", "Type", "Max concurrency", "GPUs", box=None)
    for target in workspace().compute_targets.values():
        table.add_row(
            target.name,
            target.type,
            str(target.max_concurrency),
            ",".join(map(str, target.gpus)) or "-",
        )
    console.print(table)


@app.command("remove")
def compute_remove(name: Annotated[str, typer.Argument(help="Target name.")]) -> None:
    """Remove a compute target from the workspace config."""
    from hyperpipe.core.compute import ComputeTarget

    ComputeTarget(workspace(), name).delete()
    console.print(f"Removed compute target {esc(name)}")
