"""``hyperpipe example``: set up the examples that ship with hyperpipe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hyperpipe.cli._common import Table, console, errors, workspace
from hyperpipe.exceptions import HyperpipeError

app = typer.Typer(help="Set up the examples that ship with hyperpipe.", no_args_is_help=True)
newsgroups_app = typer.Typer(help="The 20 Newsgroups lab.", no_args_is_help=True)
app.add_typer(newsgroups_app, name="newsgroups")


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
            workspace(),
            source,
            train_fraction=train_fraction,
            validation_fraction=validation_fraction,
            seed=seed,
            progress=lambda message: errors.print(message, highlight=False, markup=False),
        )
    except NewsgroupsDataError as exc:
        raise HyperpipeError(str(exc)) from exc
    table = Table("Dataset", "Version", "Documents", "Categories", box=None)
    for item in prepared:
        table.add_row(item.name, str(item.version), f"{item.documents:,}", str(item.categories))
    console.print(table)
