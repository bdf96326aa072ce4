"""``hyperpipe models``: list registered models."""

from __future__ import annotations

from typing import Annotated

import typer

from hyperpipe.cli._common import Table, console, when, workspace

app = typer.Typer(help="List registered models.", no_args_is_help=True)


@app.command("list")
def models_list(
    name: Annotated[str | None, typer.Option(help="Only versions of this model.")] = None,
) -> None:
    """List registered models, newest version first."""
    ws = workspace()
    table = Table("Model", "Version", "Run", "Tags", "Registered", box=None)
    for record in ws._store.list_models(name=name):
        table.add_row(
            record.name,
            str(record.version),
            record.run_id or "-",
            str(record.tags or ""),
            when(record.created_at),
        )
    console.print(table)
