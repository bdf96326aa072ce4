"""What every command group shares: the consoles, the workspace option and value formatting."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import table as rich_table
from rich.console import Console
from rich.markup import escape
from rich.text import Text

__all__ = [
    "Markup",
    "Table",
    "WorkspaceOption",
    "console",
    "duration",
    "errors",
    "esc",
    "show_status",
    "state",
    "when",
    "workspace",
]

# Output read by programs (a pipe, a file) is not cut to 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=200)
errors = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)
state: dict[str, Any] = {"workspace": None}

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (or a folder below it). Default: found from the current folder.",
        show_default=False,
    ),
]


def workspace():  # type: ignore[no-untyped-def]
    """The workspace named by ``-w``, else the one found from the current folder."""
    from hyperpipe.core import Workspace

    return Workspace.from_config(path=state["workspace"])


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def duration(start: float | None, end: float | None) -> str:
    if not start:
        return "-"
    seconds = (end or time.time()) - start
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


_STATUS_STYLE = {
    "Completed": "green",
    "Finished": "green",
    "Failed": "red",
    "Crashed": "red",
    "Canceled": "yellow",
    "Running": "cyan",
}


class Markup(str):
    """Text meant as Rich markup; any other string is shown as it is (a run id like ``a[/]``
    or a hint like ``pip install 'hyperpipe[postgres]'`` must not be read as markup)."""


def esc(value: object) -> str:
    """``value`` as text that Rich markup shows literally."""
    return escape(str(value))


class Table(rich_table.Table):
    """A Rich table whose string cells are literal text unless they are :class:`Markup`."""

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(_cell(c) for c in cells), **kwargs)


def _cell(value: Any) -> Any:
    if isinstance(value, Markup):
        return Text.from_markup(value)
    return Text(value) if isinstance(value, str) else value


def show_status(value: str) -> Markup:
    return Markup(f"[{_STATUS_STYLE.get(value, 'white')}]{esc(value)}[/]")
