"""``hyperpipe init``: create a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hyperpipe.cli._common import console, esc
from hyperpipe.exceptions import HyperpipeError


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
    if root.exists() and not root.is_dir():
        raise HyperpipeError(f"{root} is a file; pass a folder to create the workspace in")
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace.create(name or root.name, path=root, store_url=store_url, exist_ok=True)
    console.print(f"Workspace [bold]{esc(ws.name)}[/] ready at {esc(ws.root)}")
    console.print(f"  config     {esc(ws.config_path)}\n  store      {esc(ws.store_url)}")
    console.print(f"  datastore  {esc(ws.get_default_datastore().url)}")
