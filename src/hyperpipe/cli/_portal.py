"""``hyperpipe portal``: the web portal over the workspace's store."""

from __future__ import annotations

from typing import Annotated

import typer

from hyperpipe.cli._common import workspace


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
    scheduler: Annotated[
        bool,
        typer.Option(help="Also fire due schedules while serving (the scheduler daemon's loop)."),
    ] = False,
) -> None:
    """Open the portal: experiments, runs, metrics, pipelines, sweeps and schedules."""
    from hyperpipe.portal import serve

    serve(workspace(), host=host, port=port, token=token, scheduler=scheduler)
