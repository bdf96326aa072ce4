"""The root command: assembles the command groups and turns hyperpipe errors into one line."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from hyperpipe import __version__
from hyperpipe.cli import (
    _compute,
    _datasets,
    _endpoints,
    _examples,
    _experiments,
    _models,
    _pipelines,
    _portal,
    _published,
    _runs,
    _scheduler,
    _schedules,
    _workspace,
)
from hyperpipe.cli._common import WorkspaceOption, console, errors, esc, state
from hyperpipe.exceptions import HyperpipeError

__all__ = ["app", "command", "main"]

app = typer.Typer(
    name="hyperpipe",
    help="ML pipelines, HyperDrive sweeps and run tracking, the Azure ML SDK v1 way, locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # The root's help is plain text: Rich's help renderer (and the Markdown and Pygments it
    # loads) would triple the start-up of `hyperpipe --help`. Command groups keep Rich's.
    rich_markup_mode=None,
)
app.command()(_workspace.init)
app.command(context_settings=_runs.RUN_CONTEXT)(_runs.run)
app.add_typer(_runs.app, name="runs")
app.add_typer(_experiments.app, name="experiments")
app.add_typer(_models.app, name="models")
app.add_typer(_compute.app, name="compute")
app.add_typer(_pipelines.app, name="pipelines")
app.add_typer(_published.app, name="published")
app.add_typer(_endpoints.app, name="endpoints")
app.add_typer(_schedules.app, name="schedules")
app.add_typer(_scheduler.app, name="scheduler")
app.add_typer(_datasets.app, name="datasets")
app.add_typer(_examples.app, name="example")
app.command()(_portal.portal)


def _version(value: bool) -> None:
    if value:
        console.print(f"hyperpipe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    workspace: WorkspaceOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    state["workspace"] = workspace


def command() -> click.Command:
    """The root command as Click runs it, with help text made for a terminal: flags show no
    ``<bool>`` type, and the reStructuredText quotes of the docstrings (double backticks, single
    ones around commands) are dropped or become plain quotes."""
    root = typer.main.get_command(app)
    _plain_help(root)
    return root


def _plain_help(cmd: click.Command) -> None:
    for text_field in ("help", "short_help"):
        text = getattr(cmd, text_field, None)
        if text:
            setattr(cmd, text_field, text.replace("``", "").replace("`", "'"))
    helper = cmd.get_help_option(click.Context(cmd))  # Click keeps this one option per command
    for param in [*cmd.params, *([helper] if helper is not None else [])]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
        if getattr(param, "help", None):
            param.help = param.help.replace("``", "").replace("`", "'")
    for sub in getattr(cmd, "commands", {}).values():
        _plain_help(sub)


def main() -> None:
    """Entry point: hyperpipe errors print as one line naming the fix, without a traceback."""
    try:
        command()(prog_name="hyperpipe")
    except HyperpipeError as exc:
        errors.print(f"[red]Error:[/] {esc(exc)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
