"""What every command group shares: the consoles, the workspace option and value formatting."""

from __future__ import annotations

import functools
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

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


class _Console:
    """A Rich console made on first use, so that commands which print nothing through Rich
    (``--help``) never load it. Output read by programs (a pipe, a file) is not cut to 80
    columns."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            stream = sys.stderr if self._stderr else sys.stdout
            width = None if stream.isatty() else 200
            self._console = Console(stderr=self._stderr, width=width)
        return getattr(self._console, name)


console: Any = _Console(stderr=False)
errors: Any = _Console(stderr=True)
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
    from rich.markup import escape

    return escape(str(value))


def Table(*columns: Any, **kwargs: Any) -> Any:
    """A Rich table whose string cells are literal text unless they are :class:`Markup`."""
    return _table_class()(*columns, **kwargs)


@functools.cache
def _table_class() -> type:
    from rich import table as rich_table
    from rich.text import Text

    def cell(value: Any) -> Any:
        if isinstance(value, Markup):
            return Text.from_markup(value)
        return Text(value) if isinstance(value, str) else value

    class LiteralTable(rich_table.Table):
        def add_row(self, *cells: Any, **kwargs: Any) -> None:
            super().add_row(*(cell(c) for c in cells), **kwargs)

    return LiteralTable


def show_status(value: str) -> Markup:
    return Markup(f"[{_STATUS_STYLE.get(value, 'white')}]{esc(value)}[/]")
