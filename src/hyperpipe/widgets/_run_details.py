"""``RunDetails``: a text (or, in Jupyter, HTML) stand-in for SDK v1's notebook run widget."""

from __future__ import annotations

import html
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hyperpipe._surface import SdkV1Surface

if TYPE_CHECKING:
    from hyperpipe.core._run import Run

__all__ = ["RunDetails", "Snapshot", "snapshot"]

REFRESH_S = 0.5
_STYLE = {
    "Finished": "green",
    "Completed": "green",
    "Failed": "red",
    "Crashed": "red",
    "Canceled": "yellow",
    "Running": "cyan",
}


@dataclass
class Snapshot:
    """What the widget shows at one moment: a title, the portal address, a table."""

    title: str
    url: str
    columns: list[str]
    rows: list[list[str]]
    done: bool


def snapshot(run: Run) -> Snapshot:
    """The run's state now: its steps (pipeline), trials (HyperDrive) or children."""
    from hyperpipe.pipeline.core._pipeline_run import PipelineRun
    from hyperpipe.train.hyperdrive._run import HyperDriveRun

    record = run._refresh()
    title = f"{type(run).__name__} {run.id}: {record.status.value}"
    url = run.get_portal_url()
    done = record.status.is_terminal()
    if isinstance(run, PipelineRun):
        columns, rows = _steps(run, record)
    elif isinstance(run, HyperDriveRun):
        columns, rows = _trials(run)
        title += f" (primary metric {run.primary_metric_name})"
    else:
        columns, rows = _children(run, record)
    return Snapshot(title, url, columns, rows, done)


def _duration(start: float | None, end: float | None) -> str:
    return f"{(end or time.time()) - start:.1f}s" if start else "-"


def _steps(run: Any, record: Any) -> tuple[list[str], list[list[str]]]:
    children = run._store.list_runs(parent_id=run.id, newest_first=False)
    latest = {c.display_name: c for c in children}
    rows = []
    for spec in record.definition.get("steps", []):
        step = latest.get(spec["name"])
        if step is None:
            rows.append([spec["name"], "Waiting", "-", "-"])
            continue
        status = step.status.value
        if step.definition.get("reuse", {}).get("reused"):
            status += " (reused)"
        rows.append([spec["name"], status, _duration(step.started_at, step.ended_at), step.id])
    return ["Step", "Status", "Duration", "Run id"], rows


def _trials(run: Any) -> tuple[list[str], list[list[str]]]:
    rows = []
    for trial in run.get_children_sorted_by_primary_metric():
        value = trial["best_primary_metric"]
        rows.append(
            [
                trial["run_id"],
                trial["status"],
                "-" if value is None else f"{value:.6g}",
                trial["hyperparameters"] or "-",
            ]
        )
    return ["Trial", "Status", "Best metric", "Hyperparameters"], rows


def _children(run: Any, record: Any) -> tuple[list[str], list[list[str]]]:
    rows = [[run.id, record.status.value, _duration(record.started_at, record.ended_at)]]
    for child in run._store.list_runs(parent_id=run.id, newest_first=False):
        rows.append(
            [f"  {child.id}", child.status.value, _duration(child.started_at, child.ended_at)]
        )
    return ["Run", "Status", "Duration"], rows


class RunDetails(SdkV1Surface):
    """``RunDetails(run).show()``: the run's steps or trials and its portal address.

    In a terminal the table updates in place until the run ends, then ``show`` returns; in a
    non-interactive session (output piped to a file or a log) it prints the table once and
    returns at once, as SDK v1's widget does there; in Jupyter it shows an HTML table that keeps
    updating in the background while ``show`` returns.
    """

    def __init__(self, run_instance: Run) -> None:
        self.run_instance = run_instance

    def show(self, render_lib: Any = None, widget_settings: dict[str, Any] | None = None) -> None:
        if _in_jupyter():
            self._show_html()
        elif sys.stdout.isatty():
            self._show_live()
        else:
            self._print(snapshot(self.run_instance))

    def get_widget_data(self, widget_settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data the widget shows, as a dict (title, portal URL, columns, rows)."""
        state = snapshot(self.run_instance)
        return {
            "title": state.title,
            "url": state.url,
            "columns": state.columns,
            "rows": state.rows,
            "done": state.done,
        }

    # -- text ---------------------------------------------------------------------------------

    @staticmethod
    def _table(state: Snapshot) -> Any:
        """The title, the portal address (never wrapped: it is copied) and the table."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(*state.columns, box=None)
        for row in state.rows:
            style = _STYLE.get(row[1].split(" ", 1)[0], "white")
            table.add_row(row[0], f"[{style}]{row[1]}[/]", *row[2:])
        return Group(
            Text(state.title, style="bold", no_wrap=True, overflow="ignore"),
            Text(f"Portal: {state.url}", no_wrap=True, overflow="ignore"),
            table,
        )

    def _print(self, state: Snapshot) -> None:
        from rich.console import Console

        Console(file=sys.stdout, width=max(100, _width())).print(self._table(state))
        sys.stdout.flush()

    def _show_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=sys.stdout)
        state = snapshot(self.run_instance)
        try:
            with Live(self._table(state), console=console, refresh_per_second=4) as live:
                while not state.done:
                    time.sleep(REFRESH_S)
                    state = snapshot(self.run_instance)
                    live.update(self._table(state))
        except KeyboardInterrupt:  # stop watching; the run goes on
            return

    # -- Jupyter ------------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        return _html(snapshot(self.run_instance))

    def _show_html(self) -> None:
        from IPython.display import HTML, display

        state = snapshot(self.run_instance)
        handle = display(HTML(_html(state)), display_id=True)
        if state.done:
            return

        def follow() -> None:
            current = state
            while not current.done:
                time.sleep(REFRESH_S)
                current = snapshot(self.run_instance)
                handle.update(HTML(_html(current)))

        threading.Thread(
            target=follow, name=f"RunDetails-{self.run_instance.id}", daemon=True
        ).start()


def _html(state: Snapshot) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in state.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in state.rows
    )
    url = html.escape(state.url)
    return (
        f"<div><b>{html.escape(state.title)}</b> "
        f'<a href="{url}" target="_blank">{url}</a>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if get_ipython else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns
