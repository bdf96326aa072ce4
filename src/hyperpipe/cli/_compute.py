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
    type_: Annotated[
        str, typer.Option("--type", help="local (this machine) or ray (a Ray cluster).")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="ray: the cluster head's HOST:PORT, or auto.", show_default=False),
    ] = None,
    num_cpus: Annotated[float, typer.Option(help="ray: CPUs each run asks of a node.")] = 1,
    num_gpus: Annotated[float, typer.Option(help="ray: GPUs each run asks of a node.")] = 0,
    memory: Annotated[
        int | None, typer.Option(help="ray: bytes of memory each run asks.", show_default=False)
    ] = None,
    resources: Annotated[
        str,
        typer.Option(help="ray: custom resources each run asks, as JSON, e.g. '{\"node_b\": 1}'."),
    ] = "",
    max_retries: Annotated[
        int, typer.Option(help="ray: how often a run whose node died starts again elsewhere.")
    ] = 1,
) -> None:
    """Declare (or change) a compute target: local processes, or a Ray cluster (--type ray).

    A run on it sees only the GPU it is given (CUDA_VISIBLE_DEVICES); on a target without
    --gpus, none. Example: --gpus 0 --trials-per-gpu 4 runs four trials at once on GPU 0;
    --type ray --address 10.0.0.5:6379 --max-concurrency 8 runs eight at once on that cluster.
    """
    from hyperpipe.core.compute import ComputeTarget, LocalCompute

    if type_ == "ray":
        _add_ray(name, address, max_concurrency, num_cpus, num_gpus, memory, resources, max_retries)
        return
    if type_ != "local":
        raise HyperpipeError(f"--type must be local or ray; got {type_!r}")
    if address is not None:
        raise HyperpipeError(f"--address {address} is for --type ray; add --type ray")

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


def _add_ray(
    name: str,
    address: str | None,
    max_concurrency: int | None,
    num_cpus: float,
    num_gpus: float,
    memory: int | None,
    resources: str,
    max_retries: int,
) -> None:
    import json

    from hyperpipe.core.compute import ComputeTarget, RayCompute

    if not address:
        raise HyperpipeError(
            "--type ray needs --address: the Ray head's HOST:PORT (what `ray start --head` "
            "prints), or auto"
        )
    try:
        custom = json.loads(resources) if resources.strip() else {}
    except ValueError:
        raise HyperpipeError(
            f"--resources must be JSON like '{{\"node_b\": 1}}'; got {resources!r}"
        ) from None
    config = RayCompute.provisioning_configuration(
        address=address,
        max_concurrency=max_concurrency,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        memory=memory,
        resources=custom,
        max_retries=max_retries,
    )
    target = ComputeTarget.create(workspace(), name, config)
    console.print(
        f"Compute target [bold]{esc(target.name)}[/]: Ray cluster at {esc(address)}, "
        f"{target.max_concurrency} at once, each run asking {esc(str(target.resources))}"
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


@app.command("stop")
def compute_stop(name: Annotated[str, typer.Argument(help="Target name (a ray target).")]) -> None:
    """End a ray target's warm runners on its cluster (those running a task are left: cancel
    their runs first). They also end on their own after ten idle minutes, or with the cluster."""
    from hyperpipe.compute._ray import stop_runners
    from hyperpipe.core._compute_config import RAY_TARGET

    target = workspace()._target_spec(name)
    if target.type != RAY_TARGET:
        raise HyperpipeError(
            f"{name!r} is a {target.type} target; only ray targets have runners to stop"
        )
    ended, busy = stop_runners(target.ray["address"], target.name)  # type: ignore[index]
    for info in ended:
        console.print(f"ended runner pid {info['pid']} on node {esc(info['node'])}")
    for info in busy:
        console.print(
            f"left runner pid {info['pid']} on node {esc(info['node'])}: it runs "
            f"{esc(str(info['task']))} (cancel that run, then stop again)"
        )
    console.print(f"{len(ended)} runner(s) of {esc(name)} ended, {len(busy)} busy")
