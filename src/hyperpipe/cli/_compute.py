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
    max_concurrency: Annotated[
        int | None,
        typer.Option(
            help="How many runs execute at once. Default: GPUs x --trials-per-gpu, else 1.",
            min=1,
            show_default=False,
        ),
    ] = None,
    gpus: Annotated[
        str, typer.Option(help="Comma-separated GPU indices handed one per run, e.g. 0,1.")
    ] = "",
    trials_per_gpu: Annotated[
        int | None,
        typer.Option(
            help="How many concurrent runs share each GPU (for models too small to fill one).",
            min=1,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Declare (or change) a local compute target.

    A run on it sees only the GPU it is given (CUDA_VISIBLE_DEVICES); on a target without
    --gpus, none. Example: --gpus 0 --trials-per-gpu 4 runs four trials at once on GPU 0.
    """
    from hyperpipe.core.compute import ComputeTarget, LocalCompute

    try:
        gpu_list = [int(g) for g in gpus.split(",") if g.strip()]
    except ValueError:
        raise HyperpipeError(
            f"--gpus must be comma-separated integers like 0,1; got {gpus!r}"
        ) from None
    if trials_per_gpu is not None and not gpu_list:
        raise HyperpipeError(
            f"--trials-per-gpu {trials_per_gpu} needs --gpus (the GPUs to share), e.g. "
            f"--gpus 0 --trials-per-gpu {trials_per_gpu}"
        )
    config = LocalCompute.provisioning_configuration(
        max_concurrency, gpu_list, trials_per_gpu=trials_per_gpu
    )
    target = ComputeTarget.create(workspace(), name, config)
    sharing = f", up to {target.trials_per_gpu} runs per GPU" if target.gpus else ""
    console.print(
        f"Compute target [bold]{esc(target.name)}[/]: local, {target.max_concurrency} at once, "
        f"GPUs {list(target.gpus) or 'none'}{sharing}"
    )


@app.command("list")
def compute_list() -> None:
    """List compute targets (``local`` always exists)."""
    table = Table("Target", "Type", "Max concurrency", "GPUs", "Runs per GPU", box=None)
    for target in workspace().compute_targets.values():
        table.add_row(
            target.name,
            target.type,
            str(target.max_concurrency),
            ",".join(map(str, target.gpus)) or "-",
            str(target.trials_per_gpu) if target.gpus else "-",
        )
    console.print(table)


@app.command("remove")
def compute_remove(name: Annotated[str, typer.Argument(help="Target name.")]) -> None:
    """Remove a compute target from the workspace config."""
    from hyperpipe.core.compute import ComputeTarget

    ComputeTarget(workspace(), name).delete()
    console.print(f"Removed compute target {esc(name)}")
