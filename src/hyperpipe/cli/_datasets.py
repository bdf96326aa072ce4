"""``hyperpipe datasets``: list registered datasets and their versions."""

from __future__ import annotations

from typing import Annotated

import typer

from hyperpipe.cli._common import Table, console, when, workspace
from hyperpipe.exceptions import HyperpipeError

app = typer.Typer(help="List registered datasets and their versions.", no_args_is_help=True)


@app.command("list")
def datasets_list(
    name: Annotated[str | None, typer.Option(help="Show every version of this dataset.")] = None,
) -> None:
    """List registered datasets (latest versions, or every version of --name)."""
    ws = workspace()
    records = ws._store.list_datasets(name=name, latest=name is None)
    if name is not None and not records:
        known = sorted({r.name for r in ws._store.list_datasets(latest=True) if r.name})
        raise HyperpipeError(
            f"no dataset named {name!r}; registered: {', '.join(known) or 'none yet'}"
        )
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
            when(r.created_at),
        )
    console.print(table if records else "No datasets registered yet.")
