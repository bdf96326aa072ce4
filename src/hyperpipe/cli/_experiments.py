"""``hyperpipe experiments``: list experiments."""

from __future__ import annotations

import typer

from hyperpipe.cli._common import Table, console, when, workspace

app = typer.Typer(help="List experiments.", no_args_is_help=True)


@app.command("list")
def experiments_list() -> None:
    """List experiments with their number of runs."""
    ws = workspace()
    table = Table("Experiment", "Runs", "Created", box=None)
    for record in ws._store.list_experiments():
        count = len(ws._store.list_runs(experiment_name=record.name, top_level_only=True))
        table.add_row(record.name, str(count), when(record.created_at))
    console.print(table)
